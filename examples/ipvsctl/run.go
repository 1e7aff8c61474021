package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

// run executes one ipvsadm command line. dial is called once, when the command needs
// the kernel.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, dial func() (*ipvs.Client, error)) error {
	cmd, err := parseCommand(args)
	if err != nil {
		return err
	}
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.Close()
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	switch cmd.cmd {
	case "A":
		return c.CreateService(ctx, cmd.svc)
	case "E":
		return c.UpdateService(ctx, cmd.svc)
	case "D":
		return c.DeleteService(ctx, cmd.svc)
	case "a":
		return c.CreateDestination(ctx, cmd.svc, cmd.dst)
	case "e":
		return c.UpdateDestination(ctx, cmd.svc, cmd.dst)
	case "d":
		return c.DeleteDestination(ctx, cmd.svc, cmd.dst)
	case "C":
		return c.Flush(ctx)
	case "Z":
		if cmd.hasS {
			return c.ZeroService(ctx, cmd.svc)
		}
		return c.Zero(ctx)
	case "set":
		return c.SetTimeouts(ctx, cmd.timeouts)
	case "start-daemon":
		return c.StartDaemon(ctx, cmd.daemonV)
	case "stop-daemon":
		return c.StopDaemon(ctx, cmd.daemonV.State)
	case "R":
		return restore(ctx, c, stdin)
	case "S", "L":
		if err := list(ctx, c, w, cmd); err != nil {
			return &listError{err}
		}
		return nil
	}
	return fmt.Errorf("unsupported command -%s", cmd.cmd)
}

// list runs -S and -L.
func list(ctx context.Context, c *ipvs.Client, w io.Writer, cmd *command) error {
	switch cmd.cmd {
	case "S":
		snap, err := c.Snapshot(ctx)
		if err != nil {
			return err
		}
		writeSave(w, snap, !cmd.nosort)
		return nil
	case "L":
		if cmd.conns {
			return listConns(w, cmd.persistentConn)
		}
		if cmd.timeout {
			t, err := c.Timeouts(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n", int(t.TCP/time.Second), int(t.TCPFin/time.Second), int(t.UDP/time.Second))
			return nil
		}
		if cmd.daemon {
			ds, err := c.Daemons(ctx)
			if err != nil {
				return err
			}
			writeDaemons(w, ds)
			return nil
		}
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		var snap []ipvs.ServiceStatus
		if cmd.hasS {
			s, err := c.Service(ctx, cmd.svc)
			if err != nil {
				return err
			}
			if s.Destinations, err = c.Destinations(ctx, cmd.svc); err != nil {
				return err
			}
			snap = []ipvs.ServiceStatus{s}
		} else if snap, err = c.Snapshot(ctx); err != nil {
			return err
		}
		writeList(w, info, snap, listFormat(cmd), !cmd.nosort, !cmd.hasS)
		return nil
	}
	return fmt.Errorf("unsupported command -%s", cmd.cmd)
}

// restore reads ipvsadm rules, one command line per line, and applies them in one
// pipelined batch (a -C line flushes at its position).
func restore(ctx context.Context, c *ipvs.Client, stdin io.Reader) error {
	var ops []ipvs.Op
	sc := bufio.NewScanner(stdin)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "#") {
			continue // ipvsadm -R refuses comments; ipvsctl skips them
		}
		// Like ipvsadm, drop the word ipvsadm anywhere on the line, and skip a line with
		// nothing else.
		fields := slices.DeleteFunc(strings.Fields(text), func(f string) bool { return f == "ipvsadm" })
		if len(fields) == 0 {
			continue
		}
		cmd, err := parseCommand(fields)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		switch cmd.cmd {
		case "A":
			ops = append(ops, ipvs.Op{Kind: ipvs.OpCreateService, Service: cmd.svc})
		case "E":
			ops = append(ops, ipvs.Op{Kind: ipvs.OpUpdateService, Service: cmd.svc})
		case "D":
			ops = append(ops, ipvs.Op{Kind: ipvs.OpDeleteService, Service: cmd.svc})
		case "a":
			ops = append(ops, ipvs.Op{Kind: ipvs.OpCreateDestination, Service: cmd.svc, Destination: cmd.dst})
		case "e":
			ops = append(ops, ipvs.Op{Kind: ipvs.OpUpdateDestination, Service: cmd.svc, Destination: cmd.dst})
		case "d":
			ops = append(ops, ipvs.Op{Kind: ipvs.OpDeleteDestination, Service: cmd.svc, Destination: cmd.dst})
		case "C":
			if err := c.Apply(ctx, ops); err != nil {
				return err
			}
			ops = nil
			if err := c.Flush(ctx); err != nil {
				return err
			}
		default:
			return badSyntax("line %d: -%s cannot be restored", line, cmd.cmd)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return c.Apply(ctx, ops)
}
