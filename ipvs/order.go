package ipvs

import (
	"cmp"
	"slices"
)

// CanonicalDestinations returns a copy of ds sorted into the one order in which every
// director of a scale-out cluster must add a service's destinations: by address family
// (IPv4 first), then address (an IPv4-mapped IPv6 address counts as the IPv4 address
// the kernel stores), then port. Destinations with the same family, address and port
// keep their relative order. ds is not modified.
//
// # Why the order matters
//
// Several active directors behind a router's ECMP only keep connections alive when
// they all send a flow to the same real server, whichever director the router picks.
// The mh scheduler (Maglev hashing) gives that, but its lookup table depends on more
// than the set of destinations: ip_vs_mh fills its slots by walking the service's
// destination list, and the kernel puts each destination it adds at the head of that
// list. Two directors that add the same real servers with the same weights in
// different orders build different tables (with 4 real servers about 0.2% of the slots
// differ, with 50 about 3%), and every flow that ECMP moves between them through a
// differing slot is reset.
//
// Adding in canonical order makes the list, and so the table, the same on every
// director that builds the service from empty. It cannot repair history: a destination
// deleted and added again goes back to the head of the list, wherever its address
// sorts. A scale-out director should therefore take a failed real server out with
// weight 0 (which ip_vs_mh skips, identically everywhere) rather than delete it, and
// rebuild a service (delete it, add it and its destinations in canonical order) when
// its destination set has to change order.
func CanonicalDestinations(ds []Destination) []Destination {
	out := slices.Clone(ds)
	slices.SortStableFunc(out, compareDestinations)
	return out
}

// compareDestinations orders destinations by family, address and port.
func compareDestinations(a, b Destination) int {
	if c := cmp.Compare(a.family(), b.family()); c != 0 {
		return c
	}
	if c := a.Address.Unmap().Compare(b.Address.Unmap()); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}
