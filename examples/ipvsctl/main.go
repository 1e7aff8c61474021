// Command ipvsctl is an ipvsadm-compatible front end to the ipvs package: the same
// options, the same -Ln and -Sn output, and -R restores a saved table with one pipelined
// bulk apply instead of one request per rule.
//
//	ipvsctl -A -t 192.0.2.1:80 -s rr
//	ipvsctl -a -t 192.0.2.1:80 -r 198.51.100.10:80 -g -w 1
//	ipvsctl -Ln
//	ipvsctl -Sn > rules; ipvsctl -C; ipvsctl -R < rules
//
// Addresses are numeric only (-n is implied). ipvsctl accepts and refuses the option
// values ipvsadm 1.31 does and exits with its statuses: 2 for a refused option or value,
// 255 when the line cannot be parsed or the kernel refuses the request, 1 when a listing
// fails. The messages, -h and -v are ipvsctl's own. -R reads lines as ipvsadm -R does
// and, like it, applies the lines before a bad one and exits with the last line's
// status; its table changes go to the kernel in pipelined batches. -S and -L's default
// format read the destinations from /proc/net/ip_vs where it gives them exactly (see
// listTable), and from netlink dumps otherwise.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/lvskit/lvskit/ipvs"
)

func main() {
	// A run is short and its heap small (a 10,000-rule table is a few MiB): collect
	// less often (the collector's stop-the-world and assists showed in -R's CPU profile
	// under emulation).
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, func() (*ipvs.Client, error) { return ipvs.Dial(nil) }, "/proc/net/ip_vs"); err != nil {
		fmt.Fprintln(os.Stderr, "ipvsctl:", err)
		os.Exit(exitCode(err))
	}
}
