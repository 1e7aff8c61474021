package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// checkFile is -t: it reads the file, prints every warning and error (each starting
// with file:line) and reports whether the file is valid. Reading stops when ctx ends.
func checkFile(ctx context.Context, name string, stdout, stderr io.Writer) error {
	cfg, warns, err := kaconf.ReadFileContext(ctx, name)
	for _, w := range warns {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if err == nil {
		err = validate(cfg)
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
func loadConfig(ctx context.Context, name string, log *slog.Logger) (*kaconf.Config, error) {
	cfg, warns, err := kaconf.ReadFileContext(ctx, name)
	for _, w := range warns {
		log.Warn("configuration", "warning", w.String())
	}
	if err == nil {
		err = validate(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("director: %s: invalid configuration:\n%w", name, err)
	}
	return cfg, nil
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
// distinct VRIDs (they share one vrrp.Router).
func validate(cfg *kaconf.Config) error {
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
