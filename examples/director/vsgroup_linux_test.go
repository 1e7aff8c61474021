package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// TestIntegrationVSGroupKernel: the kernel takes the table a virtual_server group
// asks for (port-0 NAT destinations, DR destinations at each service's port, a
// fwmark, persistence from a port-0 member), in a namespace of the test's own.
func TestIntegrationVSGroupKernel(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNetNS(t)
	c, err := ipvs.Dial(&ipvs.Config{NetNS: ns.Path()})
	if errors.Is(err, ipvs.ErrUnavailable) {
		testenv.SkipOrFail(t, "kernel without IPVS: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := readConf(t, `
virtual_server_group G {
    192.0.2.10-11 80
    192.0.2.12
    fwmark 3
}
virtual_server group G {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.1 8080 {
    }
    real_server 198.51.100.2 {
        lvs_method NAT
    }
}
`)
	noop := func(*kaconf.Command) {}
	l := newLVSRuntime(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), c, &metrics{},
		lvsHooks{changed: func() {}, runAsync: noop, runSync: noop, mail: func(string, string) {}}, false, false, false)
	defer l.shutdown()
	if err := l.configure(cfg); err != nil {
		t.Fatal(err)
	}
	if err := l.converge(context.Background(), nil, true); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range ipvs.Table(snap) {
		if v.Service.Flags&ipvs.FlagPersistent == 0 {
			t.Errorf("%s is not persistent (a member has port 0)", v.Service)
		}
		for _, d := range v.Destinations {
			got = append(got, fmt.Sprintf("%s -> %s %v", v.Service, netip.AddrPortFrom(d.Address, d.Port), d.Forward))
		}
	}
	slices.Sort(got)
	var want []string
	for _, s := range []struct{ svc, port string }{{"TCP 192.0.2.10:80", "80"}, {"TCP 192.0.2.11:80", "80"}, {"TCP 192.0.2.12:0", "0"}, {"FWM 3", "0"}} {
		want = append(want, s.svc+" -> 198.51.100.1:"+s.port+" "+ipvs.DirectRoute.String(), s.svc+" -> 198.51.100.2:0 "+ipvs.Masquerade.String())
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kernel table (-want +got):\n%s", diff)
	}
}
