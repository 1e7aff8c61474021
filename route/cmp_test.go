package route

import (
	"net/netip"
	"slices"

	"github.com/google/go-cmp/cmp"
)

// comparePrefix lets cmp compare netip values, whose fields are unexported.
var comparePrefix = cmp.Options{
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

// sortedSet returns ps without duplicates, in List's order.
func sortedSet(ps []netip.Prefix) []netip.Prefix {
	out := slices.Clone(ps)
	slices.SortFunc(out, comparePrefixes)
	return slices.Compact(out)
}
