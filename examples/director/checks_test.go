package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// hostPort splits a loopback listener address into "IP PORT" as keepalived.conf
// writes a real server.
func hostPort(addr string) string { return strings.Replace(addr, ":", " ", 1) }

// TestCheckerWiring runs HTTP_GET, SSL_GET and MISC_CHECK (with misc_dynamic)
// through the director's wiring against servers on loopback and a fake IPVS: passing
// checks put their real servers in the table (a misc_dynamic exit code sets the
// weight), failing ones (wrong status, wrong digest, a TLS server answering 500, a
// script exiting 1) keep them out.
func TestCheckerWiring(t *testing.T) {
	const body = "hello from the real server\n"
	sum := md5.Sum([]byte(body))
	digest := hex.EncodeToString(sum[:])
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)
	plainBad := httptest.NewServer(mux)
	t.Cleanup(plainBad.Close)
	digestBad := httptest.NewServer(mux)
	t.Cleanup(digestBad.Close)
	tlsOK := httptest.NewTLSServer(mux)
	t.Cleanup(tlsOK.Close)
	tlsBad := httptest.NewTLSServer(mux)
	t.Cleanup(tlsBad.Close)
	// MISC_CHECK connects nowhere: these only give the real servers distinct ports.
	miscDynAddr := miscDynAddrOf(t)
	miscFailAddr := miscDynAddrOf(t)

	addr := func(s *httptest.Server) string { return s.Listener.Addr().String() }
	conf := fmt.Sprintf(`
global_defs {
    router_id test
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 0.2
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server %s {
        weight 2
        HTTP_GET {
            url {
                path /ok
                digest %s
                status_code 200
            }
            connect_timeout 2
            retry 0
        }
    }
    real_server %s {
        HTTP_GET {
            url {
                path /fail
            }
            connect_timeout 2
            nb_get_retry 0
        }
    }
    real_server %s {
        HTTP_GET {
            url {
                path /ok
                digest 0123456789abcdef0123456789abcdef
            }
            connect_timeout 2
            retry 0
        }
    }
    real_server %s {
        weight 3
        SSL_GET {
            url {
                path /ok
                digest %s
            }
            connect_timeout 2
            retry 0
        }
    }
    real_server %s {
        SSL_GET {
            url {
                path /fail
            }
            connect_timeout 2
            retry 0
        }
    }
    real_server %s {
        weight 1
        MISC_CHECK {
            misc_path "/bin/sh -c 'exit 7'"
            misc_timeout 5
            misc_dynamic
        }
    }
    real_server %s {
        MISC_CHECK {
            misc_path "/bin/sh -c 'exit 1'"
            misc_timeout 5
        }
    }
}
`, hostPort(addr(plain)), digest, hostPort(addr(plainBad)), hostPort(addr(digestBad)),
		hostPort(addr(tlsOK)), digest, hostPort(addr(tlsBad)), hostPort(miscDynAddr), hostPort(miscFailAddr))

	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	svc := "TCP 192.0.2.10:80 -> "
	want := []string{
		svc + addr(plain) + " w2",
		svc + addr(tlsOK) + " w3",
		svc + miscDynAddr + " w5", // exit 7 under misc_dynamic: weight 7-2
	}
	slices.Sort(want)
	waitFor(t, "the checks settle", func() bool { return cmp.Equal(want, dests(t, h)) })
	if diff := cmp.Diff(want, dests(t, h)); diff != "" {
		t.Errorf("IPVS (-want +got):\n%s", diff)
	}
	// The status says why each real server is where it is.
	st := h.d.status()
	alive := map[string]bool{}
	for _, r := range st.VirtualServers[0].RealServers {
		alive[r.Addr] = r.Alive
	}
	wantAlive := map[string]bool{addr(plain): true, addr(plainBad): false, addr(digestBad): false,
		addr(tlsOK): true, addr(tlsBad): false, miscDynAddr: true, miscFailAddr: false}
	if diff := cmp.Diff(wantAlive, alive); diff != "" {
		t.Errorf("alive real servers (-want +got):\n%s", diff)
	}
}

// miscDynAddrOf returns a distinct loopback address:port for a real server whose
// only checker is a MISC_CHECK (nothing needs to listen there).
func miscDynAddrOf(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// switchable is a TCP listener on a fixed loopback port that a test turns off and
// on again, to make a TCP_CHECK fail and pass. serve, when set, talks to each
// connection (in its own goroutine) before it is closed.
type switchable struct {
	t     *testing.T
	addr  string
	serve func(net.Conn)
	mu    sync.Mutex
	ln    net.Listener
}

func newSwitchable(t *testing.T) *switchable { return newServing(t, nil) }

// newServing is newSwitchable with a server on each connection.
func newServing(t *testing.T, serve func(net.Conn)) *switchable {
	s := &switchable{t: t, serve: serve}
	s.on()
	s.addr = s.ln.Addr().String()
	t.Cleanup(s.off)
	return s
}

func (s *switchable) on() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return
	}
	a := s.addr
	if a == "" {
		a = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		s.t.Fatal(err)
	}
	s.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if s.serve == nil {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
}

func (s *switchable) off() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
}

// TestQuorumAlphaOmega follows keepalived's quorum logic step by step with real TCP
// checks on loopback: alpha starts every real server down, so the virtual server
// starts without quorum, with the sorry server instead of the real servers, and
// quorum_down runs; quorum comes at quorum+hysteresis (quorum_up runs and the sorry
// server goes); hysteresis keeps it while the live weight stays at or above
// quorum-hysteresis; it goes at 0 (quorum_down, the sorry server replaces the live
// real servers and an inhibit_on_failure one stays at weight 0); it does not come
// back below quorum+hysteresis. On stop, omega runs the notify_down of the live real
// servers and quorum_down.
func TestQuorumAlphaOmega(t *testing.T) {
	s1, s2, s3 := newSwitchable(t), newSwitchable(t), newSwitchable(t)
	rs := func(s *switchable, extra string) string {
		return fmt.Sprintf(`    real_server %s {
        weight 1
        notify_up "/rs up %s"
        notify_down "/rs down %s"
%s        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
`, hostPort(s.addr), s.addr, s.addr, extra)
	}
	conf := `
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 0.2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    alpha
    omega
    quorum 2
    hysteresis 1
    quorum_up "/quorum up"
    quorum_down "/quorum down"
    sorry_server 198.51.100.99 80
` + rs(s1, "") + rs(s2, "") + rs(s3, "        inhibit_on_failure\n") + "}\n"

	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	// With alpha every check starts down: the first reconcile must already hold the
	// sorry server alone. Stop the real servers until that is seen.
	s1.off()
	s2.off()
	s3.off()
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			h.d.stop()
		}
	}()
	svc := "TCP 192.0.2.10:80 -> "
	sorry := svc + "198.51.100.99:80 w1"
	d := func(s *switchable, w int) string { return fmt.Sprintf("%s%s w%d", svc, s.addr, w) }
	expect := func(what string, want ...string) {
		t.Helper()
		slices.Sort(want)
		waitFor(t, what+fmt.Sprintf(" (last %q)", dests(t, h)), func() bool { return cmp.Equal(want, dests(t, h)) })
	}
	quorum := func() bool { return h.d.status().VirtualServers[0].QuorumUp }
	ran := func(cmd string) bool { return slices.Contains(h.scripts(), cmd) }
	count := func(cmd string) int {
		n := 0
		for _, s := range h.scripts() {
			if s == cmd {
				n++
			}
		}
		return n
	}

	expect("alpha: the sorry server alone (inhibited s3 at 0)", sorry, d(s3, 0))
	waitFor(t, "quorum_down at start", func() bool { return ran("/quorum down") })
	if quorum() {
		t.Fatal("quorum up at start under alpha with every server down")
	}

	t.Log("two servers up: weight 2 < quorum+hysteresis 3, still no quorum")
	s1.on()
	s2.on()
	waitFor(t, "s1 and s2 alive", func() bool { return ran("/rs up "+s1.addr) && ran("/rs up "+s2.addr) })
	expect("still the sorry server", sorry, d(s3, 0))
	if quorum() || ran("/quorum up") {
		t.Fatal("quorum gained below quorum+hysteresis")
	}

	t.Log("the third: weight 3, quorum up, the sorry server goes")
	s3.on()
	expect("the real servers replace the sorry server", d(s1, 1), d(s2, 1), d(s3, 1))
	waitFor(t, "quorum_up ran", func() bool { return ran("/quorum up") })

	t.Log("one down: weight 2, quorum kept (hysteresis), inhibited s3 at 0")
	s3.off()
	expect("s3 inhibited", d(s1, 1), d(s2, 1), d(s3, 0))
	t.Log("two down: weight 1 = quorum-hysteresis, quorum still kept")
	s2.off()
	expect("s2 removed", d(s1, 1), d(s3, 0))
	if !quorum() || count("/quorum down") != 1 {
		t.Fatalf("quorum lost at quorum-hysteresis (quorum %v, scripts %q)", quorum(), h.scripts())
	}
	t.Log("all down: weight 0, quorum lost")
	s1.off()
	expect("sorry server back", sorry, d(s3, 0))
	waitFor(t, "quorum_down ran again", func() bool { return count("/quorum down") == 2 })

	t.Log("back up one by one")
	s1.on()
	s2.on()
	waitFor(t, "s1 and s2 alive again", func() bool {
		return count("/rs up "+s1.addr) == 2 && count("/rs up "+s2.addr) == 2
	})
	expect("still the sorry server at weight 2", sorry, d(s3, 0))
	if count("/quorum up") != 1 {
		t.Fatalf("quorum regained below quorum+hysteresis: %q", h.scripts())
	}
	s3.on()
	expect("real servers again", d(s1, 1), d(s2, 1), d(s3, 1))
	waitFor(t, "quorum_up again", func() bool { return count("/quorum up") == 2 })

	t.Log("omega: stop runs notify_down of the live servers and quorum_down")
	h.d.stop()
	stopped = true
	for _, s := range []*switchable{s1, s2, s3} {
		if got := count("/rs down " + s.addr); got < 2 {
			t.Errorf("notify_down of %s ran %d times, want 2 (the failure and omega's)", s.addr, got)
		}
	}
	if got := count("/quorum down"); got != 3 {
		t.Errorf("quorum_down ran %d times, want 3 (start, loss, omega): %q", got, h.scripts())
	}
}

// TestSorryServerInhibit: with sorry_server_inhibit the sorry server sits in the
// table at weight 0 while quorum holds and takes weight 1, instead of the real
// servers, when quorum is lost (keepalived's "Enabling sorry server").
func TestSorryServerInhibit(t *testing.T) {
	up := newSwitchable(t)
	conf := fmt.Sprintf(`
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 0.2
    lb_kind NAT
    quorum 1
    sorry_server 198.51.100.99 80
    sorry_server_inhibit
    quorum_down "/quorum down"
    real_server %s {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`, hostPort(up.addr))
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	svc := "TCP 192.0.2.10:80 -> "
	want := []string{svc + "127.0.0.1:" + strings.Split(up.addr, ":")[1] + " w1", svc + "198.51.100.99:80 w0"}
	slices.Sort(want)
	waitFor(t, "sorry server inhibited beside the real server", func() bool { return cmp.Equal(want, dests(t, h)) })
	up.off()
	want = []string{svc + "198.51.100.99:80 w1"}
	waitFor(t, "sorry server enabled instead of the real server", func() bool { return cmp.Equal(want, dests(t, h)) })
	waitFor(t, "quorum_down", func() bool { return slices.Contains(h.scripts(), "/quorum down") })
}
