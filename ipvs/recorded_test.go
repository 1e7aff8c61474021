package ipvs

import (
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDecodeRecordedKernelMessages decodes the replies a real kernel sent for
// recordedTable (see testdata/kernel-6.1/README.md) and expects that table back.
// recordedTable is the table whose kernel messages ipvs/testdata/kernel-6.1 holds:
// TestIntegrationRecordKernelMessages creates it in a real kernel and prints the raw
// replies, and TestDecodeRecordedKernelMessages decodes the recorded copies.
var recordedTable = []VirtualServer{
	{
		Service: Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.100"), Port: 80, Scheduler: WeightedRoundRobin,
			Flags: FlagPersistent, Timeout: 300 * time.Second, Netmask: 24},
		Destinations: []Destination{
			{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Forward: DirectRoute, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
			{Address: netip.MustParseAddr("198.51.100.7"), Port: 6080, Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum},
		},
	},
	{
		Service: Service{Family: IPv6, FWMark: 7, Scheduler: SourceHashing, Flags: FlagSHFallback | FlagSHPort},
		Destinations: []Destination{
			{Address: netip.MustParseAddr("2001:db8::11"), Forward: Masquerade, Weight: 2},
		},
	},
}

func TestDecodeRecordedKernelMessages(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		text, err := os.ReadFile(filepath.Join("testdata", "kernel-6.1", name+".hex"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(strings.TrimSpace(string(text)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	var got []VirtualServer
	for i := range recordedTable {
		st, err := decodeServiceMessage(read("service-" + strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("service %d: %v", i, err)
		}
		if st.Service.Flags&0x2 != 0 {
			t.Errorf("service %d: the kernel's HASHED flag leaked into %v", i, st.Service)
		}
		vs := VirtualServer{Service: st.Service}
		for j := 0; ; j++ {
			name := "service-" + strconv.Itoa(i) + "-dest-" + strconv.Itoa(j)
			if _, err := os.Stat(filepath.Join("testdata", "kernel-6.1", name+".hex")); err != nil {
				break
			}
			ds, err := decodeDestMessage(read(name), st.Service.Family)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			vs.Destinations = append(vs.Destinations, ds.Destination)
		}
		got = append(got, vs)
	}
	if ops := Diff(recordedTable, got); len(ops) != 0 {
		t.Errorf("recorded kernel messages decode to a different table: %v\ngot %+v", ops, got)
	}
	if n := len(got[0].Destinations) + len(got[1].Destinations); n != 3 {
		t.Errorf("decoded %d destinations, want 3", n)
	}
}
