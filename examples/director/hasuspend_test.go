package main

import (
	"context"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

const haSuspendConf = `
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority PRIO
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    ha_suspend
    real_server 192.0.2.21 80 {
        TCP_CHECK {
            connect_ip 127.0.0.1
            connect_port 9
            connect_timeout 1
        }
    }
}
virtual_server 192.0.2.200 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    ha_suspend
    real_server 192.0.2.22 80 {
        TCP_CHECK {
            connect_ip 127.0.0.1
            connect_port 9
            connect_timeout 1
        }
    }
}
virtual_server 192.0.2.100 443 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.23 443 {
        TCP_CHECK {
            connect_ip 127.0.0.1
            connect_port 9
            connect_timeout 1
        }
    }
}
virtual_server fwmark 7 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    ha_suspend
    real_server 192.0.2.24 80 {
        TCP_CHECK {
            connect_ip 127.0.0.1
            connect_port 9
            connect_timeout 1
        }
    }
}
`

// haSuspended is, per virtual server in configuration order, whether its first
// check is suspended in the health scheduler.
func haSuspended(t *testing.T, h *host) []bool {
	t.Helper()
	h.d.mu.Lock()
	l := h.d.lvs
	h.d.mu.Unlock()
	l.mu.Lock()
	var names []string
	for _, v := range l.vss {
		names = append(names, v.rss[0].names[0])
	}
	l.mu.Unlock()
	var out []bool
	for _, n := range names {
		st, ok := l.sched.Status(n)
		if !ok {
			t.Fatalf("no check %q", n)
		}
		out = append(out, st.Suspended)
	}
	return out
}

func sameBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestHASuspend: the checks of a virtual server with ha_suspend run only while a
// local MASTER holds its address: suspended from the start, resumed when the host
// becomes MASTER, suspended again when a higher priority peer takes over. A virtual
// server without ha_suspend, or with a fwmark (where keepalived ignores it), always
// runs its checks; one whose address no instance holds never does.
func TestHASuspend(t *testing.T) {
	n := vrrptest.NewNetwork()
	a, b := newHost(t, n, "192.0.2.1"), newHost(t, n, "192.0.2.2")
	ctx := context.Background()
	if err := b.d.start(ctx, readConf(t, strings.ReplaceAll(haSuspendConf, "PRIO", "100"))); err != nil {
		t.Fatal(err)
	}
	defer b.d.stop()
	// Before its instance is MASTER (it stays BACKUP for three advert intervals,
	// 3 s), B's ha_suspend checks are suspended.
	if got := haSuspended(t, b); !sameBools(got, []bool{true, true, false, false}) {
		t.Errorf("B at start: suspended %v", got)
	}
	waitFor(t, "B MASTER", func() bool { return b.instance("VI_1").State == "MASTER" })
	waitFor(t, "B resumes the checks of 192.0.2.100:80", func() bool {
		return sameBools(haSuspended(t, b), []bool{false, true, false, false})
	})

	if err := a.d.start(ctx, readConf(t, strings.ReplaceAll(haSuspendConf, "PRIO", "150"))); err != nil {
		t.Fatal(err)
	}
	defer a.d.stop()
	waitFor(t, "A MASTER, B BACKUP", func() bool {
		return a.instance("VI_1").State == "MASTER" && b.instance("VI_1").State == "BACKUP"
	})
	waitFor(t, "B suspends them again", func() bool {
		return sameBools(haSuspended(t, b), []bool{true, true, false, false})
	})
	waitFor(t, "A runs them", func() bool {
		return sameBools(haSuspended(t, a), []bool{false, true, false, false})
	})
	if !strings.Contains(a.logs.String(), "ha_suspend ignored on a virtual server with a fwmark") {
		t.Error("no warning about ha_suspend on the fwmark virtual server")
	}

	// A reload keeps the state; a reload without ha_suspend resumes the checks.
	if err := b.d.reload(ctx, readConf(t, strings.ReplaceAll(haSuspendConf, "PRIO", "100"))); err != nil {
		t.Fatal(err)
	}
	if got := haSuspended(t, b); !sameBools(got, []bool{true, true, false, false}) {
		t.Errorf("B after a reload: suspended %v", got)
	}
	plain := strings.ReplaceAll(strings.ReplaceAll(haSuspendConf, "PRIO", "100"), "    ha_suspend\n", "")
	if err := b.d.reload(ctx, readConf(t, plain)); err != nil {
		t.Fatal(err)
	}
	if got := haSuspended(t, b); !sameBools(got, []bool{false, false, false, false}) {
		t.Errorf("B after a reload without ha_suspend: suspended %v", got)
	}
}
