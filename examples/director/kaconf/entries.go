package kaconf

import (
	"fmt"
	"net/netip"
	"time"
)

// Helpers that build table entries for the common shapes of keyword.

func strEntry[T any](set func(*T, string)) entry[T] {
	return entry[T]{min: 1, max: 1, fn: func(_ *decoder, n *node, t *T) { set(t, n.arg(0)) }}
}

// flagEntry is a bare keyword, possibly with an optional <BOOL>.
func flagEntry[T any](set func(*T, bool)) entry[T] {
	return entry[T]{min: 0, max: 1, fn: func(d *decoder, n *node, t *T) {
		if v, ok := d.optBool(n); ok {
			set(t, v)
		}
	}}
}

// ignoredArgs is a flag keyword keepalived 2.2.7 reads without looking at its
// arguments ("nopreempt 1", "enable_script_security 0" mean the flag is set): they are
// accepted with a warning saying so.
func ignoredArgs[T any](set func(*T)) entry[T] {
	return entry[T]{max: -1, fn: func(d *decoder, n *node, t *T) {
		if len(n.args) > 0 {
			d.warn(n, fmt.Sprintf("keepalived 2.2.7 ignores %q after %s and sets it (read the same way)", n.arg(0), n.key))
		}
		set(t)
	}}
}

// bareEntry is a keyword that takes no argument at all.
func bareEntry[T any](set func(*T)) entry[T] {
	return entry[T]{fn: func(_ *decoder, _ *node, t *T) { set(t) }}
}

func intEntry[T any](lo, hi int, set func(*T, int)) entry[T] {
	return entry[T]{min: 1, max: 1, fn: func(d *decoder, n *node, t *T) {
		if v, ok := d.integer(n, n.arg(0), lo, hi); ok {
			set(t, v)
		}
	}}
}

func secEntry[T any](lo, hi time.Duration, set func(*T, time.Duration)) entry[T] {
	return entry[T]{min: 1, max: 1, fn: func(d *decoder, n *node, t *T) {
		if v, ok := d.seconds(n, n.arg(0), lo, hi); ok {
			set(t, v)
		}
	}}
}

func wholeSecEntry[T any](lo, hi int, set func(*T, time.Duration)) entry[T] {
	return entry[T]{min: 1, max: 1, fn: func(d *decoder, n *node, t *T) {
		if v, ok := d.wholeSeconds(n, n.arg(0), lo, hi); ok {
			set(t, v)
		}
	}}
}

func addrEntry[T any](set func(*T, netip.Addr)) entry[T] {
	return entry[T]{min: 1, max: 1, fn: func(d *decoder, n *node, t *T) {
		if v, ok := d.addr(n, n.arg(0)); ok {
			set(t, v)
		}
	}}
}

func portEntry[T any](set func(*T, uint16)) entry[T] {
	return entry[T]{min: 1, max: 1, fn: func(d *decoder, n *node, t *T) {
		if v, ok := d.port(n, n.arg(0)); ok {
			set(t, v)
		}
	}}
}

func cmdEntry[T any](set func(*T, *Command)) entry[T] {
	return entry[T]{min: 1, max: 3, fn: func(d *decoder, n *node, t *T) {
		if c, ok := d.command(n, n.args); ok {
			set(t, c)
		}
	}}
}

// listEntry is a block whose lines are single words (notification_email, group,
// unicast_peer): each line is handed to add.
func listEntry[T any](add func(d *decoder, n *node, t *T)) entry[T] {
	return entry[T]{block: true, fn: func(d *decoder, n *node, t *T) {
		for _, c := range n.children {
			if c.hasBlock {
				d.errf(c, ErrSyntax, "takes no { } block inside %s", n.key)
				continue
			}
			add(d, c, t)
		}
	}}
}

type optDur struct {
	v   time.Duration
	set bool
}

type optInt struct {
	v   int
	set bool
}

func (o optDur) or(def time.Duration) time.Duration {
	if o.set {
		return o.v
	}
	return def
}

func (o optInt) or(def int) int {
	if o.set {
		return o.v
	}
	return def
}

func boolPtr(b bool) *bool { return &b }
