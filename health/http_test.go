package health

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

const helloBody = "hello, lvskit\n"

func hexMD5(s string) string    { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
func hexSHA256(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, helloBody) })
	mux.HandleFunc("/unavailable", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "maintenance\n")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "method=%s host=%s proto=%s x=%s\n", r.Method, r.Host, r.Proto, r.Header.Get("X-Probe"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("a", 10000)+"TAIL")
	})
	// /trickle sends headers at once, then one body byte every 50 ms for 10 s, stopping
	// when the client goes away.
	mux.HandleFunc("/trickle", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for range 200 {
			if _, err := io.WriteString(w, "x"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	return mux
}

func TestHTTPChecker(t *testing.T) {
	srv := httptest.NewServer(testMux())
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	refused := closedPort(t, "tcp")

	tests := []struct {
		name       string
		c          HTTPChecker
		timeout    time.Duration
		wantErr    error
		wantDetail string
	}{
		{name: "default 2xx", c: HTTPChecker{Path: "/ok"}, wantDetail: "HTTP 200"},
		{name: "404 is down", c: HTTPChecker{Path: "/missing"}, wantErr: ErrMismatch},
		{name: "wrong status", c: HTTPChecker{Path: "/unavailable"}, wantErr: ErrMismatch},
		{name: "status range accepts 503", c: HTTPChecker{Path: "/unavailable", Status: StatusRanges{{200, 299}, {500, 599}}}, wantDetail: "HTTP 503"},
		{name: "single status only", c: HTTPChecker{Path: "/ok", Status: StatusRanges{{204, 204}}}, wantErr: ErrMismatch},
		{name: "regexp", c: HTTPChecker{Path: "/ok", Regexp: regexp.MustCompile(`^hello, \w+`)}},
		{name: "regexp mismatch", c: HTTPChecker{Path: "/ok", Regexp: regexp.MustCompile(`goodbye`)}, wantErr: ErrMismatch},
		{name: "regexp no match ok", c: HTTPChecker{Path: "/ok", Regexp: regexp.MustCompile(`error`), RegexpNoMatch: true}},
		{name: "regexp no match fails", c: HTTPChecker{Path: "/ok", Regexp: regexp.MustCompile(`hello`), RegexpNoMatch: true}, wantErr: ErrMismatch},
		{name: "md5", c: HTTPChecker{Path: "/ok", MD5: hexMD5(helloBody)}},
		{name: "md5 upper case", c: HTTPChecker{Path: "/ok", MD5: strings.ToUpper(hexMD5(helloBody))}},
		{name: "wrong md5", c: HTTPChecker{Path: "/ok", MD5: hexMD5("something else")}, wantErr: ErrMismatch},
		{name: "sha256", c: HTTPChecker{Path: "/ok", SHA256: hexSHA256(helloBody)}},
		{name: "wrong sha256", c: HTTPChecker{Path: "/ok", SHA256: hexSHA256("x")}, wantErr: ErrMismatch},
		{name: "host header and method", c: HTTPChecker{Path: "/echo", Method: "POST", Host: "vhost.example", Header: http.Header{"X-Probe": {"1"}},
			Regexp: regexp.MustCompile(`^method=POST host=vhost.example proto=HTTP/1.1 x=1\n$`)}},
		{name: "http/1.0", c: HTTPChecker{Path: "/echo", HTTP10: true, Regexp: regexp.MustCompile(`proto=HTTP/1.0`)}},
		{name: "body cap hides the tail", c: HTTPChecker{Path: "/big", MaxBody: 1000, Regexp: regexp.MustCompile(`TAIL`)}, wantErr: ErrMismatch},
		{name: "body within cap", c: HTTPChecker{Path: "/big", MaxBody: 20000, Regexp: regexp.MustCompile(`TAIL`)}},
		{name: "trickling body fails on time", c: HTTPChecker{Path: "/trickle", MD5: hexMD5("x")}, timeout: 400 * time.Millisecond, wantErr: ErrTimeout},
		{name: "refused", c: HTTPChecker{Address: refused, Path: "/ok"}, wantErr: errRefused},
		{name: "bad request field", c: HTTPChecker{Path: "/ok\r\nX: y"}, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			c := tt.c
			if c.Address == "" {
				c.Address = addr
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			start := time.Now()
			res, err := checkErrLoose(t, &c, timeout, tt.wantErr)
			if tt.wantDetail != "" && res.Detail != tt.wantDetail {
				t.Errorf("Detail = %q, want %q", res.Detail, tt.wantDetail)
			}
			if errors.Is(err, ErrTimeout) && time.Since(start) > timeout+time.Second {
				t.Errorf("trickle: took %v with %v deadline", time.Since(start), timeout)
			}
		})
	}
}

func isUnknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua)
}

func isHostnameError(err error) bool {
	var h x509.HostnameError
	return errors.As(err, &h)
}

// isAlert reports whether err is a TLS alert sent by the peer.
func isAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// errRefused and errAny are markers for checkErrLoose.
var (
	errRefused = errors.New("connection refused")
	errAny     = errors.New("any error")
)

func checkErrLoose(t *testing.T, c Checker, timeout time.Duration, want error) (Result, error) {
	t.Helper()
	switch want {
	case errAny:
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		res, err := c.Check(ctx)
		if err == nil || !strings.HasPrefix(err.Error(), "health: ") {
			t.Errorf("Check: error %v, want a health: error", err)
		}
		return res, err
	case errRefused:
		want = errConnRefused
	}
	return checkErr(t, c, timeout, want)
}

func TestHTTPSChecker(t *testing.T) {
	ca := newTestCA(t)
	sawSNI := make(chan string, 16)
	srv := httptest.NewUnstartedServer(testMux())
	srv.TLS = &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			sawSNI <- h.ServerName
			if h.ServerName == "bad.example" {
				return nil, fmt.Errorf("unknown server name %q", h.ServerName)
			}
			return nil, nil
		},
		Certificates: []tls.Certificate{ca.leaf},
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	tests := []struct {
		name    string
		c       Checker
		wantErr error
		wantSNI string
		errAs   func(error) bool
	}{
		{name: "sni separate from dial address",
			c:       &HTTPChecker{Address: addr, Path: "/ok", TLS: &TLSConfig{ServerName: "good.example", RootCAs: ca.pool}, MD5: hexMD5(helloBody)},
			wantSNI: "good.example"},
		{name: "host header defaults to the sni name",
			c:       &HTTPChecker{Address: addr, Path: "/echo", TLS: &TLSConfig{ServerName: "good.example", RootCAs: ca.pool}, Regexp: regexp.MustCompile(`host=good.example proto`)},
			wantSNI: "good.example"},
		{name: "ip literal sends no sni and verifies the ip san",
			c:       &HTTPChecker{Address: addr, Path: "/ok", TLS: &TLSConfig{RootCAs: ca.pool}},
			wantSNI: ""},
		{name: "unknown ca fails by default",
			c:       &HTTPChecker{Address: addr, Path: "/ok", TLS: &TLSConfig{ServerName: "good.example"}},
			wantErr: errAny, wantSNI: "good.example", errAs: isUnknownAuthority},
		{name: "verification opt-out",
			c:       &HTTPChecker{Address: addr, Path: "/ok", TLS: &TLSConfig{ServerName: "good.example", InsecureSkipVerify: true}},
			wantSNI: "good.example"},
		{name: "wrong sni rejected by server",
			c:       &HTTPChecker{Address: addr, Path: "/ok", TLS: &TLSConfig{ServerName: "bad.example", InsecureSkipVerify: true}},
			wantErr: errAny, wantSNI: "bad.example", errAs: isAlert},
		{name: "name mismatch with trusted ca",
			c:       &TLSHandshakeChecker{Address: addr, TLS: &TLSConfig{ServerName: "other.example", RootCAs: ca.pool, InsecureSkipVerify: false}},
			wantErr: errAny, wantSNI: "other.example", errAs: isHostnameError},
		{name: "handshake only",
			c:       &TLSHandshakeChecker{Address: addr, TLS: &TLSConfig{ServerName: "good.example", RootCAs: ca.pool}},
			wantSNI: "good.example"},
		{name: "handshake bad cert",
			c:       &TLSHandshakeChecker{Address: addr, TLS: &TLSConfig{ServerName: "good.example"}},
			wantErr: errAny, wantSNI: "good.example", errAs: isUnknownAuthority},
		{name: "plain http to https port",
			c:       &HTTPChecker{Address: addr, Path: "/ok"},
			wantErr: ErrMismatch, wantSNI: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			_, err := checkErrLoose(t, tt.c, 5*time.Second, tt.wantErr)
			if tt.errAs != nil && !tt.errAs(err) {
				t.Errorf("error %v is not of the expected kind", err)
			}
			if tt.wantSNI == "-" {
				return
			}
			select {
			case got := <-sawSNI:
				if got != tt.wantSNI {
					t.Errorf("server saw SNI %q, want %q", got, tt.wantSNI)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("server saw no ClientHello")
			}
		})
	}
}
