package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// gotMail is one message a test SMTP server received.
type gotMail struct {
	Helo, From string
	To         []string
	Header     map[string]string
	Body       string
}

// smtpServer is a minimal SMTP server on loopback, written for the tests: it
// answers like a mail relay ("ok"), never answers ("hang"), or rejects the sender
// with 550 ("reject").
type smtpServer struct {
	t    *testing.T
	ln   net.Listener
	mode string
	mu   sync.Mutex
	conn int
	got  []gotMail
	wg   sync.WaitGroup
	quit chan struct{}
}

func newSMTPServer(t *testing.T, mode string) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, ln: ln, mode: mode, quit: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conn++
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		close(s.quit)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) addr() string { return s.ln.Addr().String() }

func (s *smtpServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

func (s *smtpServer) mails() []gotMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gotMail(nil), s.got...)
}

func (s *smtpServer) serve(c net.Conn) {
	if s.mode == "hang" {
		// Accept and say nothing until the client gives up or the test ends.
		done := make(chan struct{})
		go func() { io.Copy(io.Discard, c); close(done) }()
		select {
		case <-done:
		case <-s.quit:
		}
		return
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	reply := func(l string) { fmt.Fprintf(c, "%s\r\n", l) }
	reply("220 test.example ESMTP")
	var m gotMail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		arg := strings.TrimSpace(strings.TrimPrefix(line, strings.SplitN(line, " ", 2)[0]))
		switch verb {
		case "EHLO", "HELO":
			m.Helo = arg
			reply("250 test.example")
		case "MAIL":
			if s.mode == "reject" {
				reply("550 5.7.1 sender rejected")
				continue
			}
			m.From = strings.Trim(strings.TrimPrefix(arg, "FROM:"), "<>")
			reply("250 ok")
		case "RCPT":
			m.To = append(m.To, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
			reply("250 ok")
		case "DATA":
			reply("354 go ahead")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			head, body, _ := strings.Cut(data.String(), "\r\n\r\n")
			m.Header = map[string]string{}
			for _, h := range strings.Split(strings.ReplaceAll(head, "\r\n ", " "), "\r\n") {
				k, v, _ := strings.Cut(h, ": ")
				m.Header[k] = v
			}
			m.Body = body
			s.mu.Lock()
			s.got = append(s.got, m)
			s.mu.Unlock()
			m = gotMail{Helo: m.Helo}
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		case "RSET", "NOOP":
			reply("250 ok")
		default:
			reply("502 not implemented")
		}
	}
}

// syncBuffer is a log sink the tests read while the daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMailAlerts runs the daemon with keepalived's email settings against an SMTP
// server on loopback: the instance's transition mails, a real server's DOWN mail
// (checker), the sync group's and the virtual server's quorum mails arrive with
// keepalived's subjects and bodies, the configured From, To, HELO name and envelope,
// and the counters show them.
func TestMailAlerts(t *testing.T) {
	srv := newSMTPServer(t, "ok")
	down := closedPort(t)
	conf := fmt.Sprintf(`
global_defs {
    router_id dir1
    notification_email {
        ops@example.com
        oncall@example.com
    }
    notification_email_from director@example.com
    smtp_server %s
    smtp_helo_name dir1.example
    smtp_connect_timeout 5
}
vrrp_sync_group G {
    group {
        VI_1
    }
    smtp_alert
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority 150
    smtp_alert
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 0.2
    lb_kind NAT
    smtp_alert
    real_server %s {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`, srv.addr(), hostPort(down))
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			h.d.stop()
		}
	}()
	rsSubject := fmt.Sprintf("[dir1] Realserver [127.0.0.1]:tcp:%s of virtual server [192.0.2.10]:tcp:80 - DOWN", strings.Split(down, ":")[1])
	find := func(subject string) (gotMail, bool) {
		for _, m := range srv.mails() {
			if m.Header["Subject"] == subject {
				return m, true
			}
		}
		return gotMail{}, false
	}
	waitFor(t, "the MASTER and real server mails", func() bool {
		_, a := find("[dir1] VRRP Instance VI_1 - Entering MASTER state")
		_, b := find(rsSubject)
		return a && b
	})
	type fields struct {
		Helo, From, HFrom, HTo, Mailer string
		To                             []string
		Body                           string
	}
	of := func(m gotMail) fields {
		return fields{m.Helo, m.From, m.Header["From"], m.Header["To"], m.Header["X-Mailer"], m.To, m.Body}
	}
	base := fields{Helo: "dir1.example", From: "director@example.com", HFrom: "director@example.com",
		HTo: "ops@example.com, oncall@example.com", Mailer: "lvskit director (keepalived compatible)",
		To: []string{"ops@example.com", "oncall@example.com"}}
	m, _ := find("[dir1] VRRP Instance VI_1 - Entering MASTER state")
	want := base
	want.Body = "=> VRRP Instance is now owning VRRP VIPs <=\r\n"
	if diff := cmp.Diff(want, of(m)); diff != "" {
		t.Errorf("transition mail (-want +got):\n%s", diff)
	}
	if _, err := time.Parse(time.RFC1123Z, m.Header["Date"]); err != nil {
		t.Errorf("Date header %q: %v", m.Header["Date"], err)
	}
	m, _ = find(rsSubject)
	want.Body = "=> TCP CHECK failed on service <=\r\n"
	if diff := cmp.Diff(want, of(m)); diff != "" {
		t.Errorf("checker mail (-want +got):\n%s", diff)
	}
	if _, ok := find("[dir1] VRRP Instance VI_1 - Entering BACKUP state"); !ok {
		t.Error("no mail for the start in BACKUP")
	}
	waitFor(t, "the sync group's and the virtual server's mails", func() bool {
		_, a := find("[dir1] VRRP Group G - Entering MASTER state")
		_, b := find("[dir1] Virtualserver [192.0.2.10]:tcp:80 - DOWN")
		return a && b
	})
	m, _ = find("[dir1] VRRP Group G - Entering MASTER state")
	want.Body = "=> All VRRP group instances are now in MASTER state <=\r\n"
	if diff := cmp.Diff(want, of(m)); diff != "" {
		t.Errorf("sync group mail (-want +got):\n%s", diff)
	}
	m, _ = find("[dir1] Virtualserver [192.0.2.10]:tcp:80 - DOWN")
	want.Body = "=> Lost quorum 1+0=1 <= 0 <=\r\n"
	if diff := cmp.Diff(want, of(m)); diff != "" {
		t.Errorf("quorum mail (-want +got):\n%s", diff)
	}
	var metrics bytes.Buffer
	h.d.writeMetrics(&metrics)
	for _, l := range []string{`director_smtp_mails_total{result="failed"} 0`, `director_smtp_mails_total{result="dropped"} 0`,
		"director_smtp_attempt_errors_total 0", "# TYPE director_smtp_queue_length gauge"} {
		if !strings.Contains(metrics.String(), l+"\n") {
			t.Errorf("metrics lack %q", l)
		}
	}
	if !strings.Contains(metrics.String(), `director_smtp_mails_total{result="sent"} `) || h.d.status().Mail == nil {
		t.Error("no sent counter in the metrics or no mail in the status")
	}

	// A graceful stop mails "Stopping" before the daemon returns.
	h.d.stop()
	stopped = true
	if m, ok := find("[dir1] VRRP Instance VI_1 - Stopping"); !ok || m.Body != "=> VRRP Instance stopping <=\r\n" {
		t.Errorf("stop mail: %+v (found %v); mails %v", m, ok, srv.mails())
	}
	st := h.d.mail.stats()
	if st.Sent < 4 || st.Failed != 0 || st.Dropped != 0 || st.AttemptErrors != 0 {
		t.Errorf("mail stats %+v", st)
	}
}

// TestMailServerFailures: a server that hangs and one that rejects are each tried
// a bounded number of times, every failure is logged and counted, and the mail is
// then logged as lost; while the sender is stuck, queuing never blocks, and what
// does not fit in the queue is dropped with a log and a count.
func TestMailServerFailures(t *testing.T) {
	for _, mode := range []string{"hang", "reject"} {
		t.Run(mode, func(t *testing.T) {
			srv := newSMTPServer(t, mode)
			var logs syncBuffer
			m := newMailer(slog.New(slog.NewTextHandler(&logs, nil)), nil)
			m.backoff = 50 * time.Millisecond
			m.grace = 10 * time.Second
			m.cfg = &mailConfig{server: srv.addr(), from: "d@example.com", to: []string{"ops@example.com"},
				helo: "d", timeout: 300 * time.Millisecond, routerID: "d"}
			m.start()
			m.send("[d] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <=")
			waitFor(t, "the mail given up", func() bool { return m.stats().Failed == 1 })
			st := m.stats()
			if st.AttemptErrors != mailAttempts || st.Sent != 0 || srv.connections() != mailAttempts {
				t.Errorf("stats %+v, connections %d; want %d failed attempts on as many connections",
					st, srv.connections(), mailAttempts)
			}
			l := logs.String()
			wantErr := map[string]string{"hang": "no answer within smtp_connect_timeout", "reject": `MAIL FROM: 550 \"5.7.1 sender rejected\"`}[mode]
			for _, s := range []string{"alert mail attempt failed", "attempt=3", wantErr,
				`level=ERROR msg="alert mail lost: the SMTP server did not take it" subject="[d] VRRP Instance VI_1 - Entering MASTER state"`} {
				if !strings.Contains(l, s) {
					t.Errorf("log lacks %q:\n%s", s, l)
				}
			}
			if mode != "hang" {
				m.close()
				return
			}
			// The sender is stuck on a hanging server: queuing stays instant, and the
			// overflow is dropped and counted.
			start := time.Now()
			for i := range 100 {
				m.send(fmt.Sprintf("mail %d", i), "body")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("queuing 100 mails took %v", d)
			}
			st = m.stats()
			if st.Queued+st.Dropped != 101 || st.Dropped < 100-mailQueueLen-1 {
				t.Errorf("stats after 100 more mails: %+v", st)
			}
			if !strings.Contains(logs.String(), "alert mail dropped: the mail queue is full") {
				t.Error("no log for the dropped mails")
			}
			// Stopping gives up the rest within the grace period, with a log each:
			// every queued mail ends sent, failed or dropped.
			full := st.Dropped
			m.grace = 100 * time.Millisecond
			m.close()
			st = m.stats()
			if st.Pending != 0 || st.Queued != st.Sent+st.Failed+st.Dropped-full {
				t.Errorf("mails unaccounted for after close: %+v (%d dropped for a full queue)", st, full)
			}
			if !strings.Contains(logs.String(), "the director stopped before the SMTP server took it") {
				t.Error("no log for the mails abandoned at stop")
			}
		})
	}
}

// TestMailSubjects pins keepalived's subject and body formats.
func TestMailSubjects(t *testing.T) {
	cfg := readConf(t, `
virtual_server 192.0.2.10 80 {
    protocol TCP
    protocol UDP
    quorum 2
    hysteresis 1
    real_server 192.0.2.20 53 {
        weight 3
        MISC_CHECK {
            misc_path /bin/true
        }
    }
}
virtual_server fwmark 7 {
    real_server 2001:db8::20 443 {
        SSL_GET {
            url {
                path /
            }
        }
    }
}
`)
	vs, fw := &cfg.VirtualServers[0], &cfg.VirtualServers[1]
	var got []string
	add := func(s, b string) { got = append(got, s+" | "+b) }
	add(vrrpMail("r", "VI_1", false, "BACKUP"))
	add(vrrpMail("r", "VI_1", false, "FAULT"))
	add(vrrpMail("r", "G", true, "MASTER"))
	add(vrrpMail("r", "G", true, "STOP"))
	add(checkerMail("r", vs, &vs.RealServers[0], "MISC_CHECK", true, true))
	add(checkerMail("r", fw, &fw.RealServers[0], "SSL_GET", false, false))
	add(quorumMail("r", vs, false, 1, 0))
	want := []string{
		"[r] VRRP Instance VI_1 - Entering BACKUP state | => VRRP Instance is no longer owning VRRP VIPs <=",
		"[r] VRRP Instance VI_1 - Entering FAULT state | => VRRP Instance is no longer owning VRRP VIPs <=",
		"[r] VRRP Group G - Entering MASTER state | => All VRRP group instances are now in MASTER state <=",
		"[r] VRRP Group G - Stopping | => All VRRP group instances are now stopping <=",
		"[r] Realserver [192.0.2.20]:udp:53 of virtual server [192.0.2.10]:udp:80 - UP | => MISC CHECK succeed on service <=",
		"[r] Realserver [2001:db8::20]:tcp:443 of virtual server FWM 7 - DOWN | => CHECK failed on service : HTTP/SSL request failed <=",
		"[r] Virtualserver [192.0.2.10]:udp:80 - DOWN | => Lost quorum 2+1=1 <= 0 <=",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMailDoesNotDelayFailover measures, on vrrptest's simulated network inside
// testing/synctest (so time is exact), how long the backup takes to become MASTER
// after the master is cut off: without mail, with an SMTP server that answers, and
// with one that accepts connections and never answers. Both directors mail every
// transition (smtp_alert). The takeover time must be identical in all three: the
// VRRP path never waits for the mail sender.
func TestMailDoesNotDelayFailover(t *testing.T) {
	const mailConf = `
global_defs {
    router_id ROUTER
    notification_email {
        ops@example.com
    }
    smtp_server 192.0.2.25
}
`
	const inst = `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority PRIO
    smtp_alert
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`
	takeover := func(t *testing.T, server string) (took time.Duration, ms MailStats) {
		synctest.Test(t, func(t *testing.T) {
			n := vrrptest.NewNetwork()
			a, b := newHost(t, n, "192.0.2.1"), newHost(t, n, "192.0.2.2")
			for _, h := range []*host{a, b} {
				h.d.mail = newMailer(slog.New(slog.NewTextHandler(io.Discard, nil)), func(context.Context, string) (net.Conn, error) {
					c, s := net.Pipe()
					go func() {
						defer s.Close()
						(&smtpServer{mode: server, quit: make(chan struct{})}).serve(s)
					}()
					return c, nil
				})
			}
			conf := func(name, prio string) string {
				text := strings.NewReplacer("PRIO", prio).Replace(inst)
				if server != "" {
					text = strings.Replace(mailConf, "ROUTER", name, 1) + text
				}
				return text
			}
			ctx := context.Background()
			if err := b.d.start(ctx, readConf(t, conf("b", "100"))); err != nil {
				t.Fatal(err)
			}
			if err := a.d.start(ctx, readConf(t, conf("a", "150"))); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Second)
			synctest.Wait()
			if a.instance("VI_1").State != "MASTER" || b.instance("VI_1").State != "BACKUP" {
				t.Fatalf("before the crash: a %+v, b %+v", a.instance("VI_1"), b.instance("VI_1"))
			}
			start := time.Now()
			a.crash()
			for i := 0; i < 5000 && b.instance("VI_1").State != "MASTER"; i++ {
				time.Sleep(time.Millisecond)
			}
			took = time.Since(start)
			ms = b.d.mail.stats()
			a.d.stop()
			b.d.stop()
		})
		return took, ms
	}
	base, _ := takeover(t, "")
	// RFC 5798: Master_Down_Interval = 3*advert + skew (skew = (256-100)*advert/256);
	// the crash falls somewhere in the last advert interval.
	if base < 300*time.Millisecond || base > 500*time.Millisecond {
		t.Errorf("takeover without mail took %v, want about 3.6 advert intervals", base)
	}
	for _, server := range []string{"ok", "hang"} {
		took, ms := takeover(t, server)
		t.Logf("mail server %q: takeover %v (without mail %v), backup's mail stats %+v", server, took, base, ms)
		if took != base {
			t.Errorf("takeover with a mail server that does %q took %v, without mail %v", server, took, base)
		}
		switch server {
		case "ok":
			if ms.Sent < 2 { // BACKUP, MASTER (and Stopping, within the grace period)
				t.Errorf("answering server: %+v", ms)
			}
		case "hang":
			if ms.Queued < 2 || ms.Sent != 0 {
				t.Errorf("hanging server: %+v", ms)
			}
		}
	}
}

// TestMailNoEmailFaults: with no_email_faults entering FAULT sends no mail; leaving
// it goes through BACKUP to MASTER, and those are mailed as usual.
func TestMailNoEmailFaults(t *testing.T) {
	srv := newSMTPServer(t, "ok")
	conf := fmt.Sprintf(`
global_defs {
    router_id dir1
    notification_email {
        ops@example.com
    }
    smtp_server %s
    no_email_faults
}
`, srv.addr()) + strings.Replace(linkConf, "    notify \"/notify\"\n", "    smtp_alert\n", 1)
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	subjects := func() []string {
		var out []string
		for _, m := range srv.mails() {
			out = append(out, m.Header["Subject"])
		}
		return out
	}
	settled := func() bool { st := h.d.mail.stats(); return st.Pending == 0 && st.Sent == st.Queued }
	waitFor(t, "MASTER", func() bool { return h.instance("VI_1").State == "MASTER" && settled() && len(srv.mails()) == 2 })
	h.setLink(t, "eth9", false)
	waitFor(t, "FAULT", func() bool { return h.instance("VI_1").State == "FAULT" })
	h.setLink(t, "eth9", true)
	waitFor(t, "MASTER again", func() bool { return h.instance("VI_1").State == "MASTER" && settled() && len(srv.mails()) == 4 })
	want := []string{"[dir1] VRRP Instance VI_1 - Entering BACKUP state", "[dir1] VRRP Instance VI_1 - Entering MASTER state",
		"[dir1] VRRP Instance VI_1 - Entering BACKUP state", "[dir1] VRRP Instance VI_1 - Entering MASTER state"}
	if diff := cmp.Diff(want, subjects()); diff != "" {
		t.Errorf("mails (-want +got):\n%s", diff)
	}
}
