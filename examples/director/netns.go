package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// netnsEnv marks a director that net_namespace already moved into its namespace:
// its value is the namespace's name.
const netnsEnv = "LVSKIT_DIRECTOR_NETNS"

// netnsDir holds the namespaces ip netns names, as keepalived 2.2.7 looks for them.
const netnsDir = "/var/run/netns/"

// followNetNamespace runs the director in the network namespace the file names
// (net_namespace), as keepalived 2.2.7 does: the process enters it before it opens
// anything, for -t too (so that interfaces are looked for there). Go cannot move a
// running process into a namespace (setns moves one thread), so the director
// re-executes itself from a thread that entered it, as the same process (execve
// keeps the PID); it returns only on failure, or with nil when there is nothing to
// do. A file that cannot be read is left for the caller to report.
func followNetNamespace(ctx context.Context, file, configID string) error {
	cfg, _, err := kaconf.ReadFileConfigID(ctx, file, configID)
	if err != nil {
		return nil
	}
	ns := cfg.NetNamespace
	in := os.Getenv(netnsEnv)
	switch {
	case ns.Name == "" && in == "":
		return nil
	case ns.Name == in:
		return nil
	case in != "":
		return fmt.Errorf("%s: net_namespace %s: the director already runs in namespace %s; restart it to change", ns.Pos, ns.Name, in)
	}
	if err := execInNetns(netnsDir+ns.Name, netnsEnv+"="+ns.Name); err != nil {
		return fmt.Errorf("%s: net_namespace %s: %w", ns.Pos, ns.Name, err)
	}
	return nil
}
