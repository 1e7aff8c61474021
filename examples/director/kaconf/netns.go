package kaconf

import (
	"fmt"
	"strings"
)

// NetNamespace is the top-level net_namespace line: the network namespace, named as
// by ip netns (a file in /var/run/netns), that keepalived runs in.
type NetNamespace struct {
	Pos  Pos
	Name string
}

// maxNetNamespaceLen bounds a namespace name as a file name is bounded.
const maxNetNamespaceLen = 255

// netNamespaceEntry reads net_namespace NAME. The first line counts; a later one is
// ignored with a warning, as keepalived 2.2.7 does ("Duplicate net_namespace
// definition").
func netNamespaceEntry(d *decoder, n *node, st *state) {
	name := n.arg(0)
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > maxNetNamespaceLen {
		d.errf(n, ErrValue, "net_namespace %q is not a namespace name (a file name in /var/run/netns)", clip(name, maxKeywordBytes))
		return
	}
	if st.netns.Name != "" {
		d.warn(n, fmt.Sprintf("duplicate net_namespace definition %s: keepalived 2.2.7 ignores it and runs in %s (read the same way)", name, st.netns.Name))
		return
	}
	st.netns = NetNamespace{Pos: n.pos, Name: name}
}
