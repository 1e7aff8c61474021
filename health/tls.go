package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"time"
)

// TLSConfig says how HTTPS and TLS probes handshake. The zero value verifies the
// server's certificate against the system roots for the dial address's host.
type TLSConfig struct {
	// ServerName is sent as SNI and verified against the certificate. Empty means the
	// host part of the probe's address (for an IP literal: no SNI is sent, and the
	// certificate must carry that IP). Go's crypto/tls never sends an IP as SNI.
	ServerName string
	// InsecureSkipVerify accepts any certificate (keepalived's behaviour); the
	// handshake itself must still succeed.
	InsecureSkipVerify bool
	// RootCAs verifies the server's certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// Certificates are client certificates offered when the server asks; nil offers none.
	Certificates []tls.Certificate
	// MinVersion is the lowest TLS version accepted; zero means crypto/tls's default.
	MinVersion uint16
}

func (t *TLSConfig) config(address string) *tls.Config {
	var tc TLSConfig
	if t != nil {
		tc = *t
	}
	name := tc.ServerName
	if name == "" {
		if h, _, err := net.SplitHostPort(address); err == nil {
			name = h
		}
	}
	return &tls.Config{
		ServerName:         name,
		InsecureSkipVerify: tc.InsecureSkipVerify,
		RootCAs:            tc.RootCAs,
		Certificates:       tc.Certificates,
		MinVersion:         tc.MinVersion,
	}
}

// tlsHandshake runs a client handshake on conn bounded by ctx and deadline.
func tlsHandshake(ctx context.Context, conn net.Conn, cfg *tls.Config, deadline time.Time) (*tls.Conn, error) {
	tc := tls.Client(conn, cfg)
	_ = tc.SetDeadline(deadline)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// TLSHandshakeChecker connects and completes a TLS handshake, then closes. It proves
// the listener is up and serves a valid certificate for the name.
type TLSHandshakeChecker struct {
	// Address is host:port to connect to. Required.
	Address string
	// Dial binds the socket (source, interface, fwmark).
	Dial DialConfig
	// TLS configures SNI and verification; nil verifies against system roots.
	TLS *TLSConfig
}

// Check implements Checker.
func (c *TLSHandshakeChecker) Check(ctx context.Context) (Result, error) {
	ctx, cancel, deadline := withDeadline(ctx)
	defer cancel()
	conn, err := c.Dial.dial(ctx, "tcp", c.Address, deadline)
	if err != nil {
		return Result{}, wrapErr(ctx, "tls "+c.Address, err)
	}
	defer conn.Close()
	defer closeOnDone(ctx, conn)()
	tc, err := tlsHandshake(ctx, conn, c.TLS.config(c.Address), deadline)
	if err != nil {
		return Result{}, wrapErr(ctx, "tls "+c.Address, err)
	}
	st := tc.ConnectionState()
	return Result{Detail: fmt.Sprintf("%s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))}, nil
}
