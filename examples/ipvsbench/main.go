// Command ipvsbench compares lvskit's ipvs package with ipvsadm and github.com/moby/ipvs
// on a real kernel: it applies a table of services with DR destinations from empty, and
// lists the full table, several rounds each, and prints the medians and ratios.
//
// It runs inside the qemu guest (it needs IPVS, root, ipvsadm and ipvsctl on PATH or
// given by flag); run.sh builds it and boots the guest:
//
//	examples/ipvsbench/run.sh
//
// Contenders, each timed with the wall clock around the whole operation (including
// process start for the commands):
//
//	apply: lvskit Apply (library), ipvsctl -R < rules, ipvsadm -R < rules, moby/ipvs
//	       NewService and NewDestination for each rule
//	list:  lvskit Snapshot (library, with its default sockets, with one, and on a new
//	       Client each time, Dial included), ipvsctl -Sn,
//	       ipvsadm -Sn, ipvsctl -Ln, ipvsadm -Ln, moby/ipvs GetServices and
//	       GetDestinations for each service, and a lower bound: the same dumps on one
//	       blocking socket with golang.org/x/sys/unix, counting messages without
//	       decoding them
//
// Every apply starts in a new network namespace (the commands run under ip netns exec,
// whose cost is printed), because a flushed table leaves the kernel's destination trash
// full for minutes and would slow whichever contender ran next. The list contenders run
// twice: before the apply rounds, with their table alone in the kernel, and after them,
// beside the tables the apply namespaces still hold (rounds x 4 more tables of the same
// size), because the kernel keeps the services of every namespace in one hash table that
// each lookup and each listing walks.
//
// After every apply the table is read back and counted, and every list result is
// counted, so a contender that silently did less fails the run instead of winning it.
// The order of the contenders rotates each round.
// It is a separate module so that moby/ipvs never becomes a dependency of lvskit.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	var cfg config
	flag.IntVar(&cfg.services, "services", 2000, "number of TCP services")
	flag.IntVar(&cfg.dests, "dests", 4, "DR destinations per service")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds per contender")
	flag.StringVar(&cfg.ipvsadm, "ipvsadm", "ipvsadm", "ipvsadm program")
	flag.StringVar(&cfg.ipvsctl, "ipvsctl", "ipvsctl", "ipvsctl program (examples/ipvsctl)")
	flag.IntVar(&cfg.window, "window", 0, "ipvs.Config.Window for the library (0: default)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ipvsbench:", err)
		os.Exit(1)
	}
}
