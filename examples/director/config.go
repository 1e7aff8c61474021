package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/ipvs"
)

// checkFile is -t: it reads the file, prints every warning and error (each starting
// with file:line) and reports whether the file is valid. Reading stops when ctx ends.
func checkFile(ctx context.Context, name, configID string, stdout, stderr io.Writer) error {
	cfg, warns, err := kaconf.ReadFileConfigID(ctx, name, configID)
	for _, w := range warns {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if err == nil {
		err = validate(cfg)
	}
	if err == nil {
		for _, w := range missingInterfaces(cfg, interfaceExists) {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		// keepalived -t fails on a script it would refuse (its exit code for a
		// security error); the daemon only logs and skips it, as keepalived does.
		_, serrs, swarns := newScriptPolicy(cfg, systemUsers)
		for _, w := range swarns {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		err = errors.Join(serrs...)
	}
	if err != nil {
		for _, e := range splitErrors(err) {
			fmt.Fprintln(stderr, e)
		}
		return usageError{errors.New("configuration invalid")}
	}
	fmt.Fprintf(stdout, "%s: configuration OK (%d vrrp_instance, %d virtual_server)\n",
		name, len(cfg.Instances), len(cfg.VirtualServers))
	return nil
}

// loadConfig reads and validates the file, logging the reader's warnings. Reading
// stops when ctx ends.
func loadConfig(ctx context.Context, name, configID string, log *slog.Logger) (*kaconf.Config, error) {
	return loadConfigUsers(ctx, name, configID, log, systemUsers)
}

// loadConfigUsers is loadConfig with the user database that scripts' users resolve in.
func loadConfigUsers(ctx context.Context, name, configID string, log *slog.Logger, users userDB) (*kaconf.Config, error) {
	cfg, warns, err := kaconf.ReadFileConfigID(ctx, name, configID)
	for _, w := range warns {
		log.Warn("configuration", "warning", w.String())
	}
	if err == nil {
		err = validate(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("director: %s: invalid configuration:\n%w", name, err)
	}
	// Scripts refused by enable_script_security or with an unknown user are not run
	// (scripts.go), and said so here, as keepalived starts without them.
	policy, serrs, swarns := newScriptPolicy(cfg, users)
	for _, w := range swarns {
		log.Warn("script security", "warning", w)
	}
	for _, e := range serrs {
		log.Warn("script security", "refused", e.Error())
	}
	dropRefusedScripts(cfg, policy)
	return cfg, nil
}

// dropRefusedScripts removes the vrrp_scripts that policy refuses, as keepalived 2.2.7
// removes them at start ("Unable to set default user for vrrp script X - removing"):
// the track_script lines that name them then track nothing ("track script X not
// found, ignoring"), where a tracker that is never fed would hold its initial state
// for good (a positive weight added, or FAULT with init_fail).
func dropRefusedScripts(cfg *kaconf.Config, policy *scriptPolicy) {
	cfg.Scripts = slices.DeleteFunc(cfg.Scripts, func(s kaconf.Script) bool {
		return len(s.Command.Args) > 0 && policy.lookup(s.Command.Args).refused != nil
	})
}

// splitErrors flattens an errors.Join tree into its leaves.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// validate checks what the reader accepts but the director cannot run, naming file:line:
// every instance must build a valid vrrp.Config, and sync group members must have
// distinct VRIDs (they share one vrrp.Router). It first names the macvlans that
// use_vmac leaves unnamed (nameVMACs), as keepalived does when it reads the file.
func validate(cfg *kaconf.Config) error {
	nameVMACs(cfg)
	var errs []error
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if _, err := vrrpConfig(cfg, in, netipZeroPrimary(in)); err != nil {
			errs = append(errs, fmt.Errorf("%s: vrrp_instance %s: %w", in.Pos, in.Name, err))
		}
		if cfg.Global.VRRPMcastGroup4.IsValid() && cfg.Global.VRRPMcastGroup4 != mcast4 {
			errs = append(errs, fmt.Errorf("%s: vrrp_mcast_group4: only %v is supported", cfg.Global.Pos, mcast4))
		}
		if cfg.Global.VRRPMcastGroup6.IsValid() && cfg.Global.VRRPMcastGroup6 != mcast6 {
			errs = append(errs, fmt.Errorf("%s: vrrp_mcast_group6: only %v is supported", cfg.Global.Pos, mcast6))
		}
	}
	for _, g := range cfg.SyncGroups {
		seen := map[int]string{}
		for _, name := range g.Group {
			in := cfg.Instance(name)
			if in == nil {
				continue
			}
			if o, ok := seen[in.VRID]; ok {
				errs = append(errs, fmt.Errorf("%s: vrrp_sync_group %s: instances %s and %s share virtual_router_id %d, which the director cannot run in one group", g.Pos, g.Name, o, name, in.VRID))
			}
			seen[in.VRID] = name
		}
	}
	return errors.Join(errs...)
}

// interfaceExists reports whether this network namespace has a link named name.
func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// missingInterfaces lists, as keepalived's -t does, each interface the file names that
// does not exist here: an instance's interface, its track_interface lines and the
// dev of its virtual addresses, and lvs_sync_daemon's interface. keepalived 2.2.7
// reports them as warnings ("interface X for vrrp_instance Y doesn't exist") and so
// does -t. At start the director still needs an instance's interface (for its
// primary address and socket) and fails with an error naming the instance when it is
// missing; -t warns because the file may be checked on another machine.
func missingInterfaces(cfg *kaconf.Config, exists func(string) bool) []string {
	var out []string
	seen := map[string]bool{}
	check := func(pos kaconf.Pos, name, what string) {
		if name == "" || seen[name] || exists(name) {
			return
		}
		seen[name] = true
		out = append(out, fmt.Sprintf("%s: interface %s for %s does not exist", pos, name, what))
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		what := "vrrp_instance " + in.Name
		check(in.Pos, in.Interface, what)
		for _, t := range in.TrackInterfaces {
			check(t.Pos, t.Name, what+" track_interface")
		}
		for _, v := range in.VIPs {
			check(v.Pos, v.Dev, what+" virtual_ipaddress")
		}
	}
	if sd := cfg.Global.LVSSyncDaemon; sd != nil {
		check(cfg.Global.Pos, sd.Interface, "lvs_sync_daemon")
	}
	return out
}

// applyLVSTimeouts sets global_defs lvs_timeouts on IPVS, as keepalived does once at
// start; a zero field leaves the kernel's value, and a file without lvs_timeouts
// changes nothing. Not yet called by the daemon: the LVS runtime's start (daemon.go
// applyLVS) is where it belongs, right after IPVS is opened.
func applyLVSTimeouts(ctx context.Context, c *ipvs.Client, t kaconf.LVSTimeouts) error {
	if t == (kaconf.LVSTimeouts{}) {
		return nil
	}
	if err := c.SetTimeouts(ctx, ipvs.Timeouts{TCP: t.TCP, TCPFin: t.TCPFin, UDP: t.UDP}); err != nil {
		return fmt.Errorf("director: lvs_timeouts: %w", err)
	}
	return nil
}
