// Command director is a keepalived-compatible LVS director built on lvskit: it reads a
// keepalived.conf and runs its VRRP instances, virtual IP addresses, IPVS virtual
// servers and health checks. See doc.go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if !errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "director:", err)
		}
		os.Exit(1)
	}
}

// usageError is an error flag parsing already reported.
type usageError struct{ error }

// options are the command-line flags.
type options struct {
	file       string
	configID   string
	check      bool
	statusFile string
	metrics    string
	keepIPVS   bool
	logLevel   string
	procs      int
	ecmp       ecmpOptions
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("director", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.file, "f", "/etc/keepalived/keepalived.conf", "keepalived.conf to run")
	fs.BoolVar(&o.check, "t", false, "check the configuration file and exit (0 valid, 1 not)")
	fs.StringVar(&o.configID, "i", "", "config ID selecting the file's \"@ID\" lines, as keepalived's -i; empty means the host name up to its first dot")
	fs.StringVar(&o.statusFile, "status-file", "/tmp/director.json", "file the JSON status is written to on SIGUSR1")
	fs.StringVar(&o.metrics, "metrics", "", "listen address of the HTTP server for /metrics and /status; empty means none")
	fs.BoolVar(&o.keepIPVS, "keep-ipvs", false, "leave the IPVS services in place on exit")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&o.procs, "procs", 0, "CPUs that run the director's Go code at once (GOMAXPROCS); 0 means 1, or $GOMAXPROCS when set (see daemonProcs)")
	var table uint64
	fs.Uint64Var(&table, "ecmp-table", 0, "scale-out mode: announce each servable virtual_server address as a route in this routing table (for BIRD); 0 means off")
	fs.DurationVar(&o.ecmp.drain, "ecmp-drain", defaultDrain, "scale-out mode: on SIGTERM, how long to wait after withdrawing the routes before stopping")
	if err := fs.Parse(args); err != nil {
		return o, usageError{err}
	}
	if o.procs < 0 {
		fmt.Fprintf(stderr, "director: -procs %d: want 0 or more\n", o.procs)
		return o, usageError{errors.New("bad -procs")}
	}
	if table > math.MaxUint32 || o.ecmp.drain < 0 {
		fmt.Fprintf(stderr, "director: -ecmp-table must be a routing table (0 to %d) and -ecmp-drain not negative\n", uint32(math.MaxUint32))
		return o, usageError{errors.New("bad -ecmp-table or -ecmp-drain")}
	}
	o.ecmp.table = uint32(table)
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "director: unexpected arguments %q\n", fs.Args())
		return o, usageError{errors.New("unexpected arguments")}
	}
	return o, nil
}

// daemonProcs is the GOMAXPROCS the daemon runs with: -procs when given, else the
// GOMAXPROCS environment variable when set, else 1.
//
// One, because the director's work is timers and packets, not computation: like
// keepalived's single-threaded VRRP process it needs one CPU at a time, and with more
// Ps the Go scheduler hands each of the thousands of timer expiries and packets a second
// to another thread, waking it with a futex. Measured with examples/directorbench at
// 1,000 VRRPv3 instances at 0.1 s on 2 CPUs (docs/benchmarks/director.md), the pair used
// 3.03 s of CPU in 10 s with GOMAXPROCS 2 and 2.56 s with 1, in one run. Blocking system
// calls (rtnetlink, IPVS, scripts) still run on threads of their own, so they do not
// stall VRRP. Raise it for many TLS checks (SSL_GET), whose handshakes are computation.
func daemonProcs(flag int, env string) int {
	if flag > 0 {
		return flag
	}
	if n, err := strconv.Atoi(env); err == nil && n > 0 {
		return n
	}
	return 1
}

// readTimeout bounds reading the configuration, for -t, at start and on SIGHUP; the
// reader's own limits make a read take well under a second.
const readTimeout = 30 * time.Second

// readConfig is loadConfig bounded by readTimeout and by ctx (SIGINT, SIGTERM).
func readConfig(ctx context.Context, name, configID string, log *slog.Logger) (*kaconf.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	return loadConfig(ctx, name, configID, log)
}

// run is the whole program: it returns when ctx ends (SIGTERM, SIGINT) after a
// graceful stop, or at once with -t.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "status" {
		// director status: ask the running director (statuscmd.go).
		return runStatus(ctx, args[1:], stdout, stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// net_namespace: move into the namespace (netns.go) before anything is opened.
	if err := func() error {
		ctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		return followNetNamespace(ctx, o.file, o.configID)
	}(); err != nil {
		return err
	}
	if o.check {
		// ctx ends on SIGINT and SIGTERM (main); the deadline bounds the rest.
		ctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		return checkFile(ctx, o.file, o.configID, stdout, stderr)
	}
	// Take SIGHUP and SIGUSR1 before anything else: their default action kills.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sig)
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	runtime.GOMAXPROCS(daemonProcs(o.procs, os.Getenv("GOMAXPROCS")))
	cfg, err := readConfig(ctx, o.file, o.configID, log)
	if err != nil {
		return err
	}
	d := newDaemon(log, linuxDeps(), o.keepIPVS)
	d.ecmpOpt = o.ecmp
	if err := d.start(ctx, cfg); err != nil {
		d.stop()
		return err
	}
	// vrrp_rt_priority, max_auto_priority (rtprio_linux.go), once the daemon's
	// threads exist; a keeper sets the later ones.
	startRTPriority(ctx, log, cfg.Global.RTPriority)
	var srv *httpServer
	if o.metrics != "" {
		srv, err = startHTTP(o.metrics, d, log)
		if err != nil {
			d.stop()
			return err
		}
		defer srv.close()
	}
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping")
			d.drain() // scale-out: routes withdrawn, then the drain wait
			d.stop()
			log.Info("stopped")
			return nil
		case s := <-sig:
			switch s {
			case syscall.SIGHUP:
				cfg, err := readConfig(ctx, o.file, o.configID, log)
				if err != nil {
					log.Error("reload failed, keeping the running configuration", "err", err)
					continue
				}
				if ns := cfg.NetNamespace; ns.Name != os.Getenv(netnsEnv) {
					log.Error("reload failed, keeping the running configuration: net_namespace cannot change while running; restart the director",
						"at", ns.Pos.String(), "file", ns.Name, "running", os.Getenv(netnsEnv))
					continue
				}
				if err := d.reload(ctx, cfg); err != nil {
					log.Error("reload", "err", err)
				}
			case syscall.SIGUSR1:
				if err := writeStatusFile(o.statusFile, d.status()); err != nil {
					log.Error("status dump", "err", err)
				} else {
					log.Info("status written", "file", o.statusFile)
				}
			}
		}
	}
}
