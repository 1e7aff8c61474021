package ipvs

import (
	"encoding/binary"
	"errors"
)

// errBadAttr is a netlink attribute whose length runs past its buffer.
var errBadAttr = errors.New("invalid netlink attribute")

// attrReader walks the netlink attributes of a buffer without copying them (unlike
// netlink.AttributeDecoder, which allocates each attribute's data): decoding a snapshot
// touches tens of thousands of attributes. It accepts exactly what AttributeDecoder
// accepts. Values alias the buffer, so they are copied before they outlive it.
type attrReader struct {
	b   []byte
	typ uint16
	val []byte
	err error
}

func newAttrReader(b []byte) *attrReader { return &attrReader{b: b} }

// next advances to the next attribute; it returns false at the end or on an error.
func (r *attrReader) next() bool {
	if r.err != nil || len(r.b) == 0 {
		return false
	}
	if len(r.b) < 4 {
		r.err = errBadAttr
		return false
	}
	n := int(binary.NativeEndian.Uint16(r.b))
	if n > len(r.b) || (n != 0 && n < 4) {
		r.err = errBadAttr
		return false
	}
	r.typ = binary.NativeEndian.Uint16(r.b[2:]) & 0x3fff // without NESTED and BYTEORDER
	if n == 0 {
		r.val = r.b[4:4]
		n = 4
	} else {
		r.val = r.b[4:n:n]
	}
	n = (n + 3) &^ 3
	if n > len(r.b) {
		n = len(r.b)
	}
	r.b = r.b[n:]
	return true
}
