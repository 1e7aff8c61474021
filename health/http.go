package health

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// defaultMaxBody caps how much of an HTTP body is read.
const defaultMaxBody = 1 << 20

// HTTPChecker sends one HTTP request (keepalived's HTTP_GET, or SSL_GET when TLS is
// set) on a fresh connection and checks the status, body and digest. The whole exchange
// (connect, handshake, request, headers and body) shares one deadline, so a server that
// trickles its body fails on time.
type HTTPChecker struct {
	// Address is host:port to connect to. Required.
	Address string
	// Dial binds the socket (source, interface, fwmark).
	Dial DialConfig
	// TLS, when non-nil, makes the check HTTPS with these settings; nil means plain HTTP.
	TLS *TLSConfig
	// Method is the request method; empty means GET.
	Method string
	// Path is the request target; empty means "/".
	Path string
	// Host is the Host header (keepalived's virtualhost); empty means TLS.ServerName
	// when that is set, else Address.
	Host string
	// Header holds extra request headers; nil adds none.
	Header http.Header
	// HTTP10 sends HTTP/1.0 instead of HTTP/1.1.
	HTTP10 bool
	// Status lists the accepted status codes; nil means 200-299.
	Status StatusRanges
	// Regexp, when non-nil, must match the body (or must not, with RegexpNoMatch).
	Regexp *regexp.Regexp
	// RegexpNoMatch inverts Regexp (keepalived's regex_no_match).
	RegexpNoMatch bool
	// MD5 is the expected hex MD5 digest of the body (keepalived's digest); empty
	// checks none.
	MD5 string
	// SHA256 is the expected hex SHA-256 digest of the body; empty checks none.
	SHA256 string
	// MaxBody caps how many body bytes are read; zero means 1 MiB. The regexp and
	// digests see only those bytes, and a longer body is not itself an error.
	MaxBody int64
}

// Check implements Checker.
func (c *HTTPChecker) Check(ctx context.Context) (Result, error) {
	ctx, cancel, deadline := withDeadline(ctx)
	defer cancel()
	name := "http " + c.Address
	if c.TLS != nil {
		name = "https " + c.Address
	}
	res, err := c.check(ctx, deadline)
	if err != nil {
		return Result{}, wrapErr(ctx, name, err)
	}
	return res, nil
}

func (c *HTTPChecker) request() ([]byte, string, error) {
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	host := c.Host
	if host == "" && c.TLS != nil {
		host = c.TLS.ServerName
	}
	if host == "" {
		host = c.Address
	}
	proto := "HTTP/1.1"
	if c.HTTP10 {
		proto = "HTTP/1.0"
	}
	for _, s := range []string{method, path, host} {
		if strings.ContainsAny(s, " \r\n") || s == "" {
			return nil, "", fmt.Errorf("invalid request field %q", s)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %s\r\nHost: %s\r\nUser-Agent: lvskit-health\r\nConnection: close\r\n", method, path, proto, host)
	for k, vs := range c.Header {
		for _, v := range vs {
			if strings.ContainsAny(k+v, "\r\n") || strings.ContainsAny(k, ": ") {
				return nil, "", fmt.Errorf("invalid header %q", k)
			}
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return b.Bytes(), method, nil
}

func (c *HTTPChecker) check(ctx context.Context, deadline time.Time) (Result, error) {
	req, method, err := c.request()
	if err != nil {
		return Result{}, err
	}
	raw, err := c.Dial.dial(ctx, "tcp", c.Address, deadline)
	if err != nil {
		return Result{}, err
	}
	defer raw.Close()
	defer closeOnDone(ctx, raw)()
	var conn net.Conn = raw
	if c.TLS != nil {
		if conn, err = tlsHandshake(ctx, raw, c.TLS.config(c.Address), deadline); err != nil {
			return Result{}, err
		}
	}
	if _, err := conn.Write(req); err != nil {
		return Result{}, fmt.Errorf("send request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return Result{}, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	status := c.Status
	if status == nil {
		status = defaultStatus
	}
	if !status.Contains(resp.StatusCode) {
		return Result{}, mismatch("status %d, want %s", resp.StatusCode, status)
	}
	res := Result{Detail: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	if c.Regexp == nil && c.MD5 == "" && c.SHA256 == "" {
		return res, nil
	}
	max := c.MaxBody
	if max <= 0 {
		max = defaultMaxBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		return Result{}, fmt.Errorf("read body: %w", err)
	}
	if c.Regexp != nil && c.Regexp.Match(body) == c.RegexpNoMatch {
		if c.RegexpNoMatch {
			return Result{}, mismatch("body matches %q", c.Regexp)
		}
		return Result{}, mismatch("body does not match %q", c.Regexp)
	}
	if c.MD5 != "" {
		sum := md5.Sum(body)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, c.MD5) {
			return Result{}, mismatch("body MD5 %s, want %s", got, c.MD5)
		}
	}
	if c.SHA256 != "" {
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, c.SHA256) {
			return Result{}, mismatch("body SHA-256 %s, want %s", got, c.SHA256)
		}
	}
	return res, nil
}
