package vip

import (
	"cmp"
	"slices"
)

func sortAddrs(as []Address) {
	slices.SortFunc(as, func(a, b Address) int {
		if c := cmp.Compare(a.Interface, b.Interface); c != 0 {
			return c
		}
		return a.Prefix.Addr().Compare(b.Prefix.Addr())
	})
}
