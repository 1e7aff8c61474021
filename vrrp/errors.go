package vrrp

import "errors"

// DropReason says why a received packet was discarded. It is an error, so the codec
// and the state machine return it directly (without allocating), errors.Is works on it,
// and counters can key on it: Counters.Drops is indexed by DropReason.
type DropReason uint8

// Reasons for discarding a packet. Each one is counted separately by the Router.
const (
	// DropNone is the zero value: the packet was not dropped.
	DropNone DropReason = iota
	// DropTruncated: shorter than the fixed header, or than its address list and auth data.
	DropTruncated
	// DropTrailing: longer than the header, addresses and auth data say.
	DropTrailing
	// DropVersion: the version is not 2 or 3, or not the instance's version.
	DropVersion
	// DropType: the type is not 1 (ADVERTISEMENT).
	DropType
	// DropChecksum: the checksum is wrong (for v3 over IPv4, in both accepted forms).
	DropChecksum
	// DropCountZero: a v3 advert lists no addresses.
	DropCountZero
	// DropIntervalZero: the advertisement interval is zero.
	DropIntervalZero
	// DropFamily: the source address family does not fit the version or the instance
	// (VRRPv2 is IPv4 only).
	DropFamily
	// DropTTL: the IPv4 TTL or IPv6 hop limit is not 255 (RFC 9568 5.1.1.3, 5.1.2.3).
	DropTTL
	// DropVRID: no instance has the advert's virtual router ID.
	DropVRID
	// DropAuthType: a v2 advert's authentication type is unknown or differs from ours.
	DropAuthType
	// DropAuthPassword: a v2 simple-password advert carries another password.
	DropAuthPassword
	// DropIntervalMismatch: a v2 advert's interval differs from ours (RFC 3768 7.1).
	DropIntervalMismatch
	// DropUnknownPeer: unicast peers are configured and the sender is not one of them.
	DropUnknownPeer
	// DropOwnAdvert: the advert comes from our own primary address (a looped-back copy).
	DropOwnAdvert
	// DropNotRunning: the instance is not running or is in FAULT and ignores adverts.
	DropNotRunning
	// DropAddrFamily: an address in the advert is not of the family the header implies.
	DropAddrFamily

	numDropReasons
)

// NumDropReasons is the number of DropReason values, the length of Counters.Drops.
const NumDropReasons = int(numDropReasons)

var dropNames = [...]string{
	DropNone:             "none",
	DropTruncated:        "truncated",
	DropTrailing:         "trailing data",
	DropVersion:          "wrong version",
	DropType:             "unknown type",
	DropChecksum:         "bad checksum",
	DropCountZero:        "no addresses",
	DropIntervalZero:     "zero interval",
	DropFamily:           "wrong address family",
	DropTTL:              "TTL or hop limit not 255",
	DropVRID:             "unknown VRID",
	DropAuthType:         "authentication type mismatch",
	DropAuthPassword:     "authentication password mismatch",
	DropIntervalMismatch: "advertisement interval mismatch",
	DropUnknownPeer:      "sender is not a configured peer",
	DropOwnAdvert:        "own advert",
	DropNotRunning:       "instance not running",
	DropAddrFamily:       "address of the wrong family",
}

// String returns a short lower-case description, such as "bad checksum".
func (r DropReason) String() string {
	if int(r) < len(dropNames) {
		return dropNames[r]
	}
	return "unknown reason"
}

// Error implements error: "vrrp: dropped: bad checksum".
func (r DropReason) Error() string { return "vrrp: dropped: " + r.String() }

// ReasonOf returns the DropReason inside err, or DropNone when err holds none.
func ReasonOf(err error) DropReason {
	var r DropReason
	if errors.As(err, &r) {
		return r
	}
	return DropNone
}
