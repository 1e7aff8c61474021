package arpctl

import "github.com/lvskit/lvskit/internal/netns"

// do runs fn in the Client's namespace: with a NetNS, on a fresh goroutine whose OS
// thread is switched into the namespace and back (see internal/netns), so no other
// goroutine ever runs in the wrong namespace.
func (c *Client) do(fn func() error) error { return netns.Do("arpctl", c.netns, fn) }
