package ipvs

import (
	"context"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// TestFakeMatchesRecordedKernel applies to ipvstest the sequence the recording applied to
// Debian's 6.1 kernel (Reconcile of recordedTable on an empty table), dumps it the same
// way, and compares message by message with the kernel's recorded replies: the decoded
// values in order (services, destinations newest first), the raw flags with the
// kernel-owned HASHED bit, and which attributes each message carries.
func TestFakeMatchesRecordedKernel(t *testing.T) {
	kernel := map[string][]byte{}
	names, err := filepath.Glob(filepath.Join("testdata", "kernel-6.1", "*.hex"))
	if err != nil || len(names) == 0 {
		t.Fatalf("recorded messages: %v, %v", names, err)
	}
	for _, n := range names {
		text, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(strings.TrimSpace(string(text)))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		kernel[strings.TrimSuffix(filepath.Base(n), ".hex")] = b
	}

	srv := ipvstest.New(nil)
	c, err := NewClient(srv.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Reconcile(context.Background(), recordedTable); err != nil {
		t.Fatal(err)
	}
	fake := dumpRaw(t, genetlink.NewConn(srv.Dial()))

	if diff := cmp.Diff(slices.Sorted(mapKeys(kernel)), slices.Sorted(mapKeys(fake))); diff != "" {
		t.Fatalf("messages of the dumps (-kernel +fake):\n%s", diff)
	}
	for name, kb := range kernel {
		fb := fake[name]
		if strings.Contains(name, "-dest-") {
			svc, err := decodeServiceMessage(kernel[name[:strings.Index(name, "-dest-")]])
			if err != nil {
				t.Fatal(err)
			}
			kd, kerr := decodeDestMessage(kb, svc.Service.Family)
			fd, ferr := decodeDestMessage(fb, svc.Service.Family)
			if kerr != nil || ferr != nil {
				t.Fatalf("%s: decode: kernel %v, fake %v", name, kerr, ferr)
			}
			if diff := cmp.Diff(kd, fd, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("%s (-kernel +fake):\n%s", name, diff)
			}
		} else {
			ks, kerr := decodeServiceMessage(kb)
			fs, ferr := decodeServiceMessage(fb)
			if kerr != nil || ferr != nil {
				t.Fatalf("%s: decode: kernel %v, fake %v", name, kerr, ferr)
			}
			if diff := cmp.Diff(ks, fs, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("%s (-kernel +fake):\n%s", name, diff)
			}
			if k, f := rawAttr(t, kb, 1, 7), rawAttr(t, fb, 1, 7); !slices.Equal(k, f) {
				t.Errorf("%s: raw flags and mask %x, kernel's %x", name, f, k)
			}
		}
		if diff := cmp.Diff(attrTypes(t, kb), attrTypes(t, fb)); diff != "" {
			t.Errorf("%s: attributes (-kernel +fake):\n%s", name, diff)
		}
	}
}

// dumpRaw dumps services and their destinations as the recording does, naming each
// message as testdata/kernel-6.1 does.
func dumpRaw(t *testing.T, g *genetlink.Conn) map[string][]byte {
	t.Helper()
	defer g.Close()
	fam, err := g.GetFamily(familyName)
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
	out := map[string][]byte{}
	for i, b := range dump(cmdGetService, nil) {
		out["service-"+strconv.Itoa(i)] = b
		st, err := decodeServiceMessage(b)
		if err != nil {
			t.Fatal(err)
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
		for j, d := range dump(cmdGetDest, req) {
			out["service-"+strconv.Itoa(i)+"-dest-"+strconv.Itoa(j)] = d
		}
	}
	return out
}

func mapKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// rawAttr returns the bytes of attribute typ inside the top-level nest.
func rawAttr(t *testing.T, b []byte, nest, typ uint16) []byte {
	t.Helper()
	var out []byte
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatal(err)
	}
	for ad.Next() {
		if ad.Type() != nest {
			continue
		}
		ad.Nested(func(n *netlink.AttributeDecoder) error {
			for n.Next() {
				if n.Type() == typ {
					out = n.Bytes()
				}
			}
			return nil
		})
	}
	return out
}

// attrTypes lists the attribute types of a message and of its nests, sorted, as
// "1", "1.7", "1.10.3".
func attrTypes(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	var walk func(prefix string, b []byte, depth int)
	walk = func(prefix string, b []byte, depth int) {
		ad, err := netlink.NewAttributeDecoder(b)
		if err != nil {
			return
		}
		for ad.Next() {
			name := prefix + strconv.Itoa(int(ad.Type()))
			out = append(out, name)
			// The service and destination nests, and their statistics nests.
			if depth == 0 || (depth == 1 && (ad.Type() == 10 || ad.Type() == 12)) {
				walk(name+".", ad.Bytes(), depth+1)
			}
		}
	}
	walk("", b, 0)
	slices.Sort(out)
	return out
}
