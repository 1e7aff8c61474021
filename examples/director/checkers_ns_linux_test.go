package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// checkersChildEnv names, in the child run of TestIntegrationPingAndSMTPCheckers,
// the namespace of the pinged real server.
const checkersChildEnv = "LVSKIT_TEST_CHECKERS_PEER"

// TestIntegrationPingAndSMTPCheckers: a PING_CHECK and an SMTP_CHECK with two host
// blocks take their real servers out of the (fake) IPVS table and put them back: the
// pinged address goes from its namespace and comes back, and one of the two SMTP
// servers stops and starts again. The director runs in-process with fakes but its
// probes are real, so the test runs itself again inside a namespace (a Go process
// cannot move its threads into one), where the pinged host is a veth away.
func TestIntegrationPingAndSMTPCheckers(t *testing.T) {
	if peer := os.Getenv(checkersChildEnv); peer != "" {
		pingAndSMTPChild(t, peer)
		return
	}
	if testenv.InGuest() {
		t.Skip("runs on the host")
	}
	testenv.RequireRoot(t)
	a, b := pair(t)
	cmd := exec.Command("ip", "netns", "exec", a.Name, os.Args[0], "-test.run", "^TestIntegrationPingAndSMTPCheckers$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), checkersChildEnv+"="+b.Name)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestIntegrationPingAndSMTPCheckers") {
		t.Fatalf("the run inside namespace %s: %v\n%s", a.Name, err, out)
	}
}

func pingAndSMTPChild(t *testing.T, peer string) {
	var dialogue smtpDialogue
	s1, s2 := newServing(t, dialogue.serve), newServing(t, dialogue.serve)
	port := func(s *switchable) string { _, p, _ := net.SplitHostPort(s.addr); return p }
	conf := `
virtual_server 192.0.2.10 25 {
    protocol TCP
    delay_loop 0.2
    real_server 192.0.2.2 25 {
        PING_CHECK {
            connect_timeout 0.5
            retry 0
        }
    }
    real_server 192.0.2.3 25 {
        SMTP_CHECK {
            retry 0
            helo_name test.example
            host {
                connect_ip 127.0.0.1
                connect_port ` + port(s1) + `
                connect_timeout 0.5
            }
            host {
                connect_ip 127.0.0.1
                connect_port ` + port(s2) + `
                connect_timeout 0.5
            }
        }
    }
}
`
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(t.Context(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	const ping, smtp = "TCP 192.0.2.10:25 -> 192.0.2.2:25 w1", "TCP 192.0.2.10:25 -> 192.0.2.3:25 w1"
	settle := func(what string, want []string) {
		t.Helper()
		waitFor(t, what, func() bool { return cmp.Equal(want, dests(t, h)) })
	}
	settle("both up", []string{ping, smtp})
	time.Sleep(time.Second) // five rounds of checks: up because they pass
	settle("both up after checking", []string{ping, smtp})
	testenv.MustRun(t, "ip", "-n", peer, "addr", "del", "192.0.2.2/24", "dev", "eth0")
	settle("the unpingable real server out", []string{smtp})
	s2.off()
	settle("the SMTP real server out with one of its two hosts down", nil)
	testenv.MustRun(t, "ip", "-n", peer, "addr", "add", "192.0.2.2/24", "dev", "eth0")
	settle("the pingable real server back", []string{ping})
	s2.on()
	settle("the SMTP real server back", []string{ping, smtp})
	if got := dialogue.lines(); !strings.Contains(got, "HELO test.example") {
		t.Errorf("SMTP server saw %q, want HELO test.example", got)
	}
}

// smtpDialogue answers SMTP_CHECK's banner/HELO/QUIT dialogue on a connection and
// records the lines it was sent.
type smtpDialogue struct {
	mu   sync.Mutex
	seen []string
}

func (s *smtpDialogue) serve(c net.Conn) {
	r := bufio.NewReader(c)
	c.Write([]byte("220 test ESMTP\r\n"))
	for i := 0; i < 2; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		s.mu.Lock()
		s.seen = append(s.seen, strings.TrimSpace(line))
		s.mu.Unlock()
		if strings.HasPrefix(line, "QUIT") {
			c.Write([]byte("221 bye\r\n"))
			return
		}
		c.Write([]byte("250 hello " + strconv.Itoa(i) + "\r\n"))
	}
}

func (s *smtpDialogue) lines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.seen, "|")
}
