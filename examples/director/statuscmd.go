package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The status subcommand asks a running director what it is doing:
//
//	director status [-addr HOST:PORT] [-file FILE] [-json]
//
// It reads GET /status from the director's -metrics listener: that is the live state,
// needs neither the director's PID nor a file both processes can see (the packaged
// service has a private /tmp), and needs no privilege to ask. -file reads a status
// file the director wrote on SIGUSR1 instead, for a director run without -metrics.

// defaultStatusAddr is where the status subcommand looks for the director's -metrics
// listener unless told otherwise; the guide and the packages' defaults use it.
const defaultStatusAddr = "127.0.0.1:9650"

// statusOptions are the status subcommand's flags.
type statusOptions struct {
	addr    string
	file    string
	json    bool
	timeout time.Duration
}

func parseStatusFlags(args []string, stderr io.Writer) (statusOptions, error) {
	var o statusOptions
	fs := flag.NewFlagSet("director status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", defaultStatusAddr, "HOST:PORT of the running director's -metrics listener, whose /status is read")
	fs.StringVar(&o.file, "file", "", "read this status file (written by the director on SIGUSR1) instead of asking -addr")
	fs.BoolVar(&o.json, "json", false, "print the status as JSON, for scripts, instead of tables")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the director's answer")
	if err := fs.Parse(args); err != nil {
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "director status: unexpected arguments %q\n", fs.Args())
		return o, usageError{errors.New("unexpected arguments")}
	}
	return o, nil
}

// runStatus is the status subcommand: read the status, print it.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseStatusFlags(args, stderr)
	if err != nil {
		return err
	}
	var st Status
	if o.file != "" {
		st, err = readStatusFile(o.file)
	} else {
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		st, err = fetchStatus(ctx, o.addr)
	}
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return printStatus(stdout, st)
}

// fetchStatus reads GET /status from the director listening on addr.
func fetchStatus(ctx context.Context, addr string) (Status, error) {
	var st Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/status", nil)
	if err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("status: is a director running with -metrics %s? %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return st, fmt.Errorf("status: %s answers %s: %s", addr, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("status: %s: not a director's status: %w", addr, err)
	}
	return st, nil
}

// readStatusFile reads a status file written on SIGUSR1.
func readStatusFile(name string) (Status, error) {
	var st Status
	b, err := os.ReadFile(name)
	if err != nil {
		return st, fmt.Errorf("status: %w (send the director SIGUSR1 to write it)", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("status: %s: not a director's status: %w", name, err)
	}
	return st, nil
}

// printStatus writes the status as aligned tables for a person: the VRRP instances,
// then each virtual server's real servers with their health and weights.
func printStatus(w io.Writer, st Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if !st.Time.IsZero() {
		fmt.Fprintf(tw, "director status at %s", st.Time.Format(time.RFC3339))
		if st.RouterID != "" {
			fmt.Fprintf(tw, ", router_id %s", st.RouterID)
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw)
	}
	if len(st.Instances) == 0 {
		fmt.Fprintln(tw, "no vrrp_instance")
	} else {
		fmt.Fprintln(tw, "INSTANCE\tSTATE\tPRIORITY\tINTERFACE\tVRID\tMASTER\tVIPS")
		for _, in := range st.Instances {
			prio := strconv.Itoa(in.Priority)
			if in.Priority != in.BasePriority {
				prio += " (base " + strconv.Itoa(in.BasePriority) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", in.Name, in.State, prio, in.Interface, in.VRID,
				dash(in.MasterAddr), dash(strings.Join(in.VIPs, ", ")))
		}
	}
	fmt.Fprintln(tw)
	if len(st.VirtualServers) == 0 {
		fmt.Fprintln(tw, "no virtual_server")
	} else {
		fmt.Fprintln(tw, "VIRTUAL SERVER\tQUORUM\tREAL SERVER\tHEALTH\tWEIGHT\tCHECKS")
		for _, vs := range st.VirtualServers {
			quorum := "down"
			if vs.QuorumUp {
				quorum = "up"
			}
			quorum += fmt.Sprintf(" (%d/%d)", vs.AliveWeight, vs.Quorum)
			if len(vs.RealServers) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\n", vs.Service, quorum)
			}
			for i, rs := range vs.RealServers {
				name, q := vs.Service, quorum
				if i > 0 {
					name, q = "", ""
				}
				health := "down"
				if rs.Alive {
					health = "up"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", name, q, rs.Addr, health, rs.Weight, checksSummary(rs.Checks))
			}
		}
	}
	return tw.Flush()
}

// checksSummary is "2/2 up", or which checks fail and why.
func checksSummary(cs []CheckStatus) string {
	if len(cs) == 0 {
		return "-"
	}
	up := 0
	var failing []string
	for _, c := range cs {
		if c.Up {
			up++
			continue
		}
		f := c.Name
		if c.LastError != "" {
			f += ": " + c.LastError
		}
		failing = append(failing, f)
	}
	s := fmt.Sprintf("%d/%d up", up, len(cs))
	if len(failing) > 0 {
		s += "; " + strings.Join(failing, "; ")
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
