package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// Mail delivery limits. keepalived sends each alert once and forgets it; the
// director retries a failed mail a bounded number of times and then logs it as lost.
const (
	mailQueueLen     = 64              // alerts waiting for the sender; beyond this they are dropped (logged, counted)
	mailAttempts     = 3               // tries per mail
	mailRetryBackoff = 5 * time.Second // before the second try, doubled before each further one
	mailFlushGrace   = 5 * time.Second // how long a stop waits for queued mails
)

// mailConfig is global_defs' email settings; nil when mail is off (keepalived sends
// only when notification_email and smtp_server are both set).
type mailConfig struct {
	server   string // host:port
	from     string
	to       []string
	helo     string
	timeout  time.Duration
	routerID string
}

// mailConfigOf builds the mail settings from global_defs, filling keepalived's
// defaults: router_id and smtp_helo_name the host name, notification_email_from
// keepalived@<host name>.
func mailConfigOf(g *kaconf.Global) *mailConfig {
	if len(g.NotificationEmail) == 0 || g.SMTPServer == "" {
		return nil
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	c := &mailConfig{server: net.JoinHostPort(g.SMTPServer, strconv.Itoa(int(g.SMTPPort))), from: g.NotificationEmailFrom,
		to: g.NotificationEmail, helo: g.SMTPHeloName, timeout: g.SMTPConnectTimeout}
	if c.from == "" {
		c.from = "keepalived@" + host
	}
	if c.helo == "" {
		c.helo = host
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	return c
}

// routerID is global_defs router_id, or the host name as in keepalived.
func routerID(g *kaconf.Global) string {
	if g.RouterID != "" {
		return g.RouterID
	}
	host, _ := os.Hostname()
	return host
}

// mailMsg is one queued alert.
type mailMsg struct {
	subject, body string
	cfg           *mailConfig
}

// MailStats counts alert mails (in the status dump and the metrics).
type MailStats struct {
	// Queued counts mails handed to the sender; Sent those the server accepted.
	Queued uint64 `json:"queued"`
	Sent   uint64 `json:"sent"`
	// AttemptErrors counts failed tries (a down, slow or rejecting server).
	AttemptErrors uint64 `json:"attempt_errors"`
	// Failed counts mails given up after every try; Dropped those never tried
	// because the queue was full or the director was stopping.
	Failed  uint64 `json:"failed"`
	Dropped uint64 `json:"dropped"`
	// Pending is the queue length now.
	Pending int `json:"pending"`
}

// mailer sends alert mails from one goroutine through a bounded queue, so that
// VRRP and the health checks never wait for a mail server.
type mailer struct {
	log  *slog.Logger
	dial func(ctx context.Context, addr string) (net.Conn, error)
	// attempts and backoff bound the retries; tests shorten them.
	attempts int
	backoff  time.Duration
	grace    time.Duration

	q      chan mailMsg
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	cfg    *mailConfig
	closed bool
	st     MailStats
}

func newMailer(log *slog.Logger, dial func(ctx context.Context, addr string) (net.Conn, error)) *mailer {
	if dial == nil {
		dial = func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	return &mailer{log: log, dial: dial, attempts: mailAttempts, backoff: mailRetryBackoff, grace: mailFlushGrace,
		q: make(chan mailMsg, mailQueueLen)}
}

// configure sets the mail settings of a (re)loaded file.
func (m *mailer) configure(g *kaconf.Global) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg = mailConfigOf(g)
}

// enabled reports whether alerts are mailed at all.
func (m *mailer) enabled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg != nil && !m.closed
}

// start runs the sender until close.
func (m *mailer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done = make(chan struct{})
	go m.run(ctx)
}

// send queues an alert without waiting; a full queue drops it with an error log.
func (m *mailer) send(subject, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg == nil {
		return
	}
	if m.closed {
		m.st.Dropped++
		m.log.Error("alert mail not sent: the director is stopping", "subject", subject)
		return
	}
	select {
	case m.q <- mailMsg{subject: subject, body: body, cfg: m.cfg}:
		m.st.Queued++
	default:
		m.st.Dropped++
		m.log.Error("alert mail dropped: the mail queue is full (is the SMTP server down or slow?)",
			"subject", subject, "queue", mailQueueLen)
	}
}

// close stops taking mails, waits up to the grace period for the queue to drain,
// then abandons what is left (logged and counted).
func (m *mailer) close() {
	m.mu.Lock()
	if m.closed || m.cancel == nil {
		m.closed = true
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.q)
	m.mu.Unlock()
	t := time.NewTimer(m.grace)
	defer t.Stop()
	select {
	case <-m.done:
	case <-t.C:
		m.cancel()
		<-m.done
	}
	m.cancel()
}

// stats returns the counters.
func (m *mailer) stats() MailStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	st.Pending = len(m.q)
	return st
}

func (m *mailer) count(f func(*MailStats)) {
	m.mu.Lock()
	f(&m.st)
	m.mu.Unlock()
}

// run is the sender: each mail is tried up to attempts times with a doubling
// backoff, then given up with an error log.
func (m *mailer) run(ctx context.Context) {
	defer close(m.done)
	for msg := range m.q {
		if ctx.Err() != nil {
			m.count(func(s *MailStats) { s.Dropped++ })
			m.log.Error("alert mail not sent: the director stopped before the SMTP server took it", "subject", msg.subject)
			continue
		}
		m.deliver(ctx, msg)
	}
}

func (m *mailer) deliver(ctx context.Context, msg mailMsg) {
	wait := m.backoff
	var err error
	for try := 1; try <= m.attempts; try++ {
		if err = m.session(ctx, msg); err == nil {
			m.count(func(s *MailStats) { s.Sent++ })
			m.log.Info("alert mail sent", "subject", msg.subject, "server", msg.cfg.server)
			return
		}
		m.count(func(s *MailStats) { s.AttemptErrors++ })
		m.log.Warn("alert mail attempt failed", "subject", msg.subject, "server", msg.cfg.server,
			"attempt", try, "of", m.attempts, "err", err)
		if try == m.attempts || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		wait *= 2
	}
	m.count(func(s *MailStats) { s.Failed++ })
	m.log.Error("alert mail lost: the SMTP server did not take it", "subject", msg.subject, "server", msg.cfg.server,
		"to", strings.Join(msg.cfg.to, ","), "attempts", m.attempts, "err", err)
}

// session delivers one mail in one SMTP conversation, the whole of it bounded by
// smtp_connect_timeout (keepalived applies it to each step).
func (m *mailer) session(ctx context.Context, msg mailMsg) error {
	cfg := msg.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	conn, err := m.dial(ctx, cfg.server)
	if err != nil {
		return fmt.Errorf("director: smtp: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(cfg.server)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return smtpErr(ctx, "greeting", err)
	}
	defer c.Close()
	if err := c.Hello(cfg.helo); err != nil {
		return smtpErr(ctx, "HELO", err)
	}
	if err := c.Mail(cfg.from); err != nil {
		return smtpErr(ctx, "MAIL FROM", err)
	}
	for _, to := range cfg.to {
		if err := c.Rcpt(to); err != nil {
			return smtpErr(ctx, "RCPT TO "+to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(ctx, "DATA", err)
	}
	if _, err := w.Write(mailText(cfg, msg, time.Now())); err != nil {
		return smtpErr(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(ctx, "end of DATA", err)
	}
	if err := c.Quit(); err != nil {
		return smtpErr(ctx, "QUIT", err)
	}
	return nil
}

// smtpErr names the step that failed, and says so when the time ran out.
func smtpErr(ctx context.Context, step string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("director: smtp: %s: no answer within smtp_connect_timeout: %w", step, err)
	}
	return fmt.Errorf("director: smtp: %s: %w", step, err)
}

// mailText is the message as keepalived writes it: Date, From, Subject, X-Mailer and
// To headers, a blank line, the body.
func mailText(cfg *mailConfig, msg mailMsg, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s\r\n", cfg.from)
	fmt.Fprintf(&b, "Subject: %s\r\n", oneLine(msg.subject))
	b.WriteString("X-Mailer: lvskit director (keepalived compatible)\r\n")
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(cfg.to, ",\r\n "))
	b.WriteString("\r\n")
	b.WriteString(msg.body)
	b.WriteString("\r\n")
	return []byte(b.String())
}

// oneLine keeps a header value on one line.
func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// The subjects and bodies below are keepalived's (core/smtp.c, vrrp/vrrp_notify.c,
// check/check_*.c, check/ipwrapper.c), so that mail filters written for keepalived
// keep working.

// vrrpMail is the alert of an instance's (group false) or sync group's state change.
func vrrpMail(rid, name string, group bool, state string) (subject, body string) {
	kind, who := "Instance", "VRRP Instance is"
	if group {
		kind, who = "Group", "All VRRP group instances are"
	}
	switch state {
	case "MASTER":
		subject = "Entering MASTER state"
		body = "=> VRRP Instance is now owning VRRP VIPs <="
		if group {
			body = "=> " + who + " now in MASTER state <="
		}
	case "BACKUP", "FAULT":
		subject = "Entering " + state + " state"
		body = "=> VRRP Instance is no longer owning VRRP VIPs <="
		if group {
			body = "=> " + who + " now in " + state + " state <="
		}
	default:
		subject = "Stopping"
		body = "=> VRRP Instance stopping <="
		if group {
			body = "=> " + who + " now stopping <="
		}
	}
	return fmt.Sprintf("[%s] VRRP %s %s - %s", rid, kind, name, subject), body
}

// trio formats an address as keepalived's inet_sockaddrtotrio: [addr]:proto:port.
func trio(addr string, port uint16, proto kaconf.Protocol) string {
	p := strings.ToLower(string(proto))
	if p == "" {
		p = "tcp"
	}
	return fmt.Sprintf("[%s]:%s:%d", addr, p, port)
}

// vsName formats a virtual server as keepalived's format_vs.
func vsName(vs *kaconf.VirtualServer) string {
	if vs.Group != "" {
		// keepalived's format_vs: the group's name and its own port, always 0.
		return "[" + vs.Group + "]:0"
	}
	if vs.FWMark != 0 {
		return "FWM " + strconv.FormatUint(uint64(vs.FWMark), 10)
	}
	return trio(vs.Addr.Addr().String(), vs.Addr.Port(), vs.Protocol)
}

// checkerMail is the alert of one checker of a real server changing state; alive is
// the real server's state after it.
func checkerMail(rid string, vs *kaconf.VirtualServer, rs *kaconf.RealServer, typ kaconf.CheckType, up, alive bool) (subject, body string) {
	state := "DOWN"
	if alive {
		state = "UP"
	}
	subject = fmt.Sprintf("[%s] Realserver %s of virtual server %s - %s", rid,
		trio(rs.Addr.Addr().String(), rs.Addr.Port(), vs.Protocol), vsName(vs), state)
	switch typ {
	case kaconf.CheckTCP:
		body = "=> TCP CHECK failed on service <="
		if up {
			body = "=> TCP CHECK succeed on service <="
		}
	case kaconf.CheckMisc:
		body = "=> MISC CHECK failed on service <="
		if up {
			body = "=> MISC CHECK succeed on service <="
		}
	default: // HTTP_GET, SSL_GET
		body = "=> CHECK failed on service : HTTP/SSL request failed <="
		if up {
			body = "=> CHECK succeed on service <="
		}
	}
	return subject, body
}

// quorumMail is the alert of a virtual server gaining or losing quorum.
func quorumMail(rid string, vs *kaconf.VirtualServer, up bool, threshold, weight int) (subject, body string) {
	state, what := "DOWN", "Lost quorum"
	if up {
		state, what = "UP", "Gained quorum"
	}
	return fmt.Sprintf("[%s] Virtualserver %s - %s", rid, vsName(vs), state),
		fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, vs.Quorum, vs.Hysteresis, threshold, weight)
}
