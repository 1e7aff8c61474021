package ipvs

import (
	"bytes"
	"testing"

	"github.com/mdlayher/netlink"
)

// FuzzAttrReader checks that attrReader yields the same attributes, and fails on the
// same inputs, as netlink.AttributeDecoder, which it replaces on the decoding path.
func FuzzAttrReader(f *testing.F) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint16(1, 2)
	ae.String(6, "wlc")
	ae.Nested(10, func(n *netlink.AttributeEncoder) error { n.Uint64(1, 7); return nil })
	good, _ := ae.Encode()
	for _, seed := range [][]byte{good, nil, {0, 0, 1, 0}, {3, 0, 1, 0}, {8, 0, 1, 0, 1}, {5, 0, 1, 0, 9, 4, 0, 2, 0}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newAttrReader(b)
		ad, err := netlink.NewAttributeDecoder(b)
		if err != nil {
			// AttributeDecoder checks the whole buffer up front: attrReader must fail
			// by the end.
			for r.next() {
			}
			if r.err == nil {
				t.Fatalf("attrReader accepted what AttributeDecoder rejects: %v", err)
			}
			return
		}
		i := 0
		for ad.Next() {
			if !r.next() {
				t.Fatalf("attribute %d: attrReader stopped (%v), AttributeDecoder did not", i, r.err)
			}
			if r.typ != ad.Type() || !bytes.Equal(r.val, ad.Bytes()) {
				t.Fatalf("attribute %d: got type %d %x, want type %d %x", i, r.typ, r.val, ad.Type(), ad.Bytes())
			}
			i++
		}
		if r.next() {
			t.Fatalf("attrReader has attribute %d, AttributeDecoder does not", i)
		}
		if (r.err != nil) != (ad.Err() != nil) {
			t.Fatalf("errors differ: attrReader %v, AttributeDecoder %v", r.err, ad.Err())
		}
	})
}
