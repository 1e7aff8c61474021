package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// topology is one isolated copy of the lab: a hub namespace holding one bridge per
// segment, and three host namespaces (A, B, observer), each with one veth per
// segment (ethS in the host, <host>S in the hub, enslaved to brS). Nothing in it is
// connected to the machine's own interfaces.
type topology struct {
	prefix string // namespace name prefix, unique per run and implementation
	segs   int
	hub    string
	hosts  [3]string // namespace names, indexed by host
}

// cmdTimeout bounds every ip command.
const cmdTimeout = 20 * time.Second

// ip runs iproute2's ip with a timeout and returns its combined output.
func ip(ctx context.Context, args ...string) (string, error) {
	return ipBatch(ctx, "", args...)
}

// ipBatch runs ip with stdin (for -batch -) and a timeout.
func ipBatch(ctx context.Context, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// newTopology creates the namespaces and links. On error it removes what it made.
func newTopology(ctx context.Context, prefix string, segs int) (t *topology, err error) {
	t = &topology{prefix: prefix, segs: segs, hub: prefix + "-hub"}
	for h := range t.hosts {
		t.hosts[h] = prefix + "-" + host(h).String()
	}
	defer func() {
		if err != nil {
			t.remove()
		}
	}()
	for _, ns := range append([]string{t.hub}, t.hosts[:]...) {
		if _, err := ip(ctx, "netns", "add", ns); err != nil {
			return t, err
		}
	}
	var hub strings.Builder
	hub.WriteString("link set lo up\n")
	for s := range segs {
		// Snooping off: every advert reaches every port, as on a plain switch.
		fmt.Fprintf(&hub, "link add br%d type bridge stp_state 0 mcast_snooping 0\nlink set br%d up\n", s, s)
		for h := range t.hosts {
			fmt.Fprintf(&hub, "link add %s%d type veth peer name %s netns %s\n", host(h), s, ifName(s), t.hosts[h])
			fmt.Fprintf(&hub, "link set %s%d master br%d up\n", host(h), s, s)
		}
	}
	if _, err := ipBatch(ctx, hub.String(), "-n", t.hub, "-batch", "-"); err != nil {
		return t, err
	}
	for h, ns := range t.hosts {
		var b strings.Builder
		b.WriteString("link set lo up\n")
		for s := range segs {
			fmt.Fprintf(&b, "addr add %s/29 dev %s\nlink set %s up\n", hostAddr(s, host(h)), ifName(s), ifName(s))
		}
		if _, err := ipBatch(ctx, b.String(), "-n", ns, "-batch", "-"); err != nil {
			return t, err
		}
	}
	return t, nil
}

// nsPath is the file of a namespace the topology made.
func nsPath(name string) string { return "/run/netns/" + name }

// cutA sets A's veths down on the hub side: A's carrier drops and nothing it sends
// reaches the bridge.
func (t *topology) cutA(ctx context.Context) error {
	var b strings.Builder
	for s := range t.segs {
		fmt.Fprintf(&b, "link set %s%d down\n", hostA, s)
	}
	_, err := ipBatch(ctx, b.String(), "-n", t.hub, "-batch", "-")
	return err
}

// remove deletes the namespaces (their veths and bridges go with them). It is safe
// to call more than once and on a partly built topology.
func (t *topology) remove() {
	for _, ns := range append(t.hosts[:], t.hub) {
		// A fresh context: removal must run even when the run was cancelled.
		ip(context.Background(), "netns", "del", ns) //nolint:errcheck // missing is fine
	}
}
