//go:build linux

package ipvs

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// TestIntegrationRecordKernelMessages builds recordedTable in the guest's kernel, dumps
// the services and destinations with plain generic netlink, checks that the codec
// decodes the kernel's own bytes into the table, and logs them (run with -v to refresh
// ipvs/testdata/kernel-6.1 from the lines starting "RECORD").
func TestIntegrationRecordKernelMessages(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNetNS(t)
	ctx := context.Background()
	c, err := Dial(&Config{NetNS: ns.Path()})
	if errors.Is(err, ErrUnavailable) {
		testenv.SkipOrFail(t, "kernel without IPVS: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Reconcile(ctx, recordedTable); err != nil {
		t.Fatal(err)
	}

	g, err := genetlink.Dial(&netlink.Config{NetNS: netnsFD(t, ns.Path())})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	fam, err := g.GetFamily("IPVS")
	if err != nil {
		t.Fatal(err)
	}
	dump := func(cmd uint8, data []byte) [][]byte {
		msgs, err := g.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: fam.Version}, Data: data},
			fam.ID, netlink.Request|netlink.Dump)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for _, m := range msgs {
			out = append(out, m.Data)
		}
		return out
	}
	svcs := dump(cmdGetService, nil)
	if len(svcs) != len(recordedTable) {
		t.Fatalf("service dump has %d messages, want %d", len(svcs), len(recordedTable))
	}
	var got []VirtualServer
	for i, b := range svcs {
		t.Logf("RECORD service-%d %s", i, hex.EncodeToString(b))
		st, err := decodeServiceMessage(b)
		if err != nil {
			t.Fatalf("decode the kernel's service %d: %v", i, err)
		}
		ae := netlink.NewAttributeEncoder()
		encodeServiceID(ae, st.Service)
		id, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ae = netlink.NewAttributeEncoder()
		ae.Bytes(attrService, id)
		req, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		vs := VirtualServer{Service: st.Service}
		for j, d := range dump(cmdGetDest, req) {
			t.Logf("RECORD service-%d-dest-%d %s", i, j, hex.EncodeToString(d))
			ds, err := decodeDestMessage(d, st.Service.Family)
			if err != nil {
				t.Fatalf("decode the kernel's destination %d of service %d: %v", j, i, err)
			}
			vs.Destinations = append(vs.Destinations, ds.Destination)
		}
		got = append(got, vs)
	}
	if ops := Diff(recordedTable, got); len(ops) != 0 {
		t.Errorf("the kernel's bytes decode to a different table: %v\n%s", ops, cmp.Diff(recordedTable, got))
	}
}

// netnsFD opens a network namespace file for netlink.Config.NetNS.
func netnsFD(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}
