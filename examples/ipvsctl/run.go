package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

// run executes one ipvsadm command line. dial is called once, when the command needs
// the kernel.
//
// tableFile is the kernel's text listing of the table (/proc/net/ip_vs), which -S and
// -L read destinations from (see listTable); empty for none.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, dial func() (*ipvs.Client, error), tableFile string) error {
	cmd, err := parseCommand(args)
	if err != nil {
		return err
	}
	switch cmd.cmd {
	case "h":
		_, err := io.WriteString(stdout, usage)
		return err
	case "v":
		_, err := io.WriteString(stdout, version)
		return err
	}
	cl, err := dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	c := &kernel{Client: cl, tableFile: tableFile}
	w := bufio.NewWriterSize(stdout, 64<<10)
	defer w.Flush()
	if cmd.cmd == "R" {
		return restore(ctx, c, stdin, w, os.Stderr)
	}
	return execute(ctx, c, w, cmd)
}

// version is what -v prints.
const version = "ipvsctl (lvskit): the commands, options, output and exit statuses of ipvsadm v1.31\n"

// usage is what -h prints.
const usage = `usage: ipvsctl COMMAND [OPTIONS]   (ipvsadm's command line; addresses are numeric)

Commands (the first option):
  -A|--add-service  -E|--edit-service  -D|--delete-service  SERVICE [SERVICE OPTIONS]
  -a|--add-server   -e|--edit-server   -d|--delete-server   SERVICE -r ADDR[:PORT] [SERVER OPTIONS]
  -C|--clear        -Z|--zero [SERVICE]     -R|--restore (rules on stdin)   -S|--save [-n]
  -L|-l|--list [SERVICE|-c|--timeout|--daemon] [LIST OPTIONS]
  --set TCP TCPFIN UDP      --start-daemon master|backup [DAEMON OPTIONS]
  --stop-daemon master|backup [--syncid ID]      -h|--help      -v|--version
SERVICE:
  -t|--tcp-service ADDR[:PORT]  -u|--udp-service ADDR[:PORT]  --sctp-service ADDR[:PORT]
  -f|--fwmark-service MARK [-6|--ipv6]
SERVICE OPTIONS:
  -s|--scheduler NAME  -p|--persistent [SECONDS]  -M|--netmask MASK  -o|--ops  --pe NAME
  -b|--sched-flags FLAG[,FLAG]...
SERVER OPTIONS:
  -g|--gatewaying  -i|--ipip  -m|--masquerading  -w|--weight N  -x|--u-threshold N
  -y|--l-threshold N  --tun-type ipip|gue|gre  --tun-port PORT
  --tun-nocsum|--tun-csum|--tun-remcsum
LIST OPTIONS:
  -n|--numeric  --stats  --rate  --thresholds  --persistent-conn  --tun-info
  -X|--exact  --nosort  --sort
DAEMON OPTIONS:
  --mcast-interface IF  --syncid ID  --sync-maxlen N  --mcast-group ADDR
  --mcast-port PORT  --mcast-ttl TTL
`

// kernel is the client of a run and where the kernel lists its table as text.
type kernel struct {
	*ipvs.Client
	tableFile string // see run
}

// execute runs one parsed command but -R.
func execute(ctx context.Context, c *kernel, w io.Writer, cmd *command) error {
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
	case "S", "L":
		if err := list(ctx, c, w, cmd); err != nil {
			return &listError{err}
		}
		return nil
	}
	return fmt.Errorf("unsupported command -%s", cmd.cmd)
}

var opKinds = map[string]ipvs.OpKind{"A": ipvs.OpCreateService, "E": ipvs.OpUpdateService, "D": ipvs.OpDeleteService,
	"a": ipvs.OpCreateDestination, "e": ipvs.OpUpdateDestination, "d": ipvs.OpDeleteDestination}

// op returns the table change cmd makes, for the commands that make one (-A, -E, -D,
// -a, -e, -d).
func (cmd *command) op() (ipvs.Op, bool) {
	kind, ok := opKinds[cmd.cmd]
	if !ok {
		return ipvs.Op{}, false
	}
	op := ipvs.Op{Kind: kind, Service: cmd.svc}
	if kind == ipvs.OpCreateDestination || kind == ipvs.OpUpdateDestination || kind == ipvs.OpDeleteDestination {
		op.Destination = cmd.dst
	}
	return op, true
}

// list runs -S and -L.
func list(ctx context.Context, c *kernel, w io.Writer, cmd *command) error {
	switch cmd.cmd {
	case "S":
		snap, err := listTable(ctx, c)
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
		} else if o := listFormat(cmd); o.f == fmtDefault {
			if snap, err = listTable(ctx, c); err != nil {
				return err
			}
		} else if snap, err = c.Snapshot(ctx); err != nil {
			return err
		}
		writeList(w, info, snap, listFormat(cmd), !cmd.nosort, !cmd.hasS)
		return nil
	}
	return fmt.Errorf("unsupported command -%s", cmd.cmd)
}

// restore runs ipvsadm command lines read from stdin, one a line, as ipvsadm -R does:
// words are separated by spaces, tabs and carriage returns, the word ipvsadm is dropped
// wherever it is and a line with no other word is skipped ('#' starts no comment: ipvsadm
// refuses such a line, and so does ipvsctl). The table changes (-A, -E, -D, -a, -e, -d)
// of consecutive lines go to the kernel in pipelined Apply calls of applyChunk; any other command runs in
// its turn, after the changes before it.
//
// Like ipvsadm, a line that cannot be parsed ends the restore with the lines before it
// applied, except for an unknown option or a missing value after the command (popt's
// errors), which fail that line only; a change the kernel refuses is reported on errw and
// the others still run; and the exit status is the last line's: a failed earlier line
// alone does not fail the restore.
func restore(ctx context.Context, c *kernel, stdin io.Reader, w io.Writer, errw io.Writer) error {
	// Changes go to the kernel in batches of applyChunk, applied by a goroutine while
	// the next batch is read and parsed: the kernel does its work in Apply's system
	// calls, so the parsing runs beside it on another CPU. One batch applies at a time,
	// in order; flush waits for all of them before anything else runs.
	type batch struct {
		ops   []ipvs.Op
		lines []int // the line of each op
		err   error
	}
	var (
		ops      = make([]ipvs.Op, 0, applyChunk)
		opLines  = make([]int, 0, applyChunk)
		p        parser
		fields   []string
		lastErr  error // the outcome of the last line run
		lastLine int   // the line lastErr belongs to
		todo     = make(chan batch)
		applied  = make(chan batch)
		inflight int
		spare    []batch
	)
	go func() {
		for b := range todo {
			b.err = c.Apply(ctx, b.ops)
			applied <- b
		}
	}()
	defer close(todo)
	// reap takes the outcome of the batch being applied and reports the changes the
	// kernel refused.
	reap := func() {
		b := <-applied
		inflight--
		lastErr = nil
		var ae *ipvs.ApplyError
		switch {
		case errors.As(b.err, &ae):
			for _, oe := range ae.Errors {
				fmt.Fprintf(errw, "ipvsctl: line %d: %v\n", b.lines[oe.Index], oe.Err)
				if oe.Index == len(b.ops)-1 {
					lastErr = oe.Err
				}
			}
		case b.err != nil:
			lastErr = b.err
		}
		lastLine = b.lines[len(b.lines)-1]
		spare = append(spare, batch{ops: b.ops[:0], lines: b.lines[:0]})
	}
	// send hands the pending changes to the applier once the batch before is done.
	send := func() {
		if len(ops) == 0 {
			return
		}
		if inflight > 0 {
			reap()
		}
		todo <- batch{ops: ops, lines: opLines}
		inflight++
		if n := len(spare); n > 0 {
			ops, opLines, spare = spare[n-1].ops, spare[n-1].lines, spare[:n-1]
		} else {
			ops, opLines = make([]ipvs.Op, 0, applyChunk), make([]int, 0, applyChunk)
		}
	}
	// flush applies every pending change.
	flush := func() {
		send()
		for inflight > 0 {
			reap()
		}
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		fields = splitWords(fields[:0], sc.Text())
		if len(fields) == 0 {
			continue
		}
		cmd, err := p.parse(fields)
		if err == nil && cmd.cmd == "R" {
			err = badSyntax("-R cannot be restored")
		}
		if err == nil && (cmd.cmd == "h" || cmd.cmd == "v") {
			// ipvsadm prints its help or version and exits with status 0.
			flush()
			text := usage
			if cmd.cmd == "v" {
				text = version
			}
			_, err := io.WriteString(w, text)
			return err
		}
		if u := (*usageError)(nil); errors.As(err, &u) && u.inLine {
			flush()
			fmt.Fprintf(errw, "ipvsctl: line %d: %v\n", line, err)
			lastErr, lastLine = err, line
			continue
		}
		if err != nil {
			flush()
			return fmt.Errorf("line %d: %w", line, err)
		}
		if op, ok := cmd.op(); ok {
			ops = append(ops, op)
			opLines = append(opLines, line)
			if len(ops) == applyChunk {
				send()
			}
			continue
		}
		flush()
		lastErr, lastLine = execute(ctx, c, w, cmd), line
		var le *listError
		if errors.As(lastErr, &le) {
			return fmt.Errorf("line %d: %w", line, lastErr) // ipvsadm exits at a failed listing
		}
		if lastErr != nil {
			fmt.Fprintf(errw, "ipvsctl: line %d: %v\n", line, lastErr)
		}
	}
	if err := sc.Err(); err != nil {
		flush()
		return err
	}
	flush()
	if lastErr != nil {
		return &restoreError{line: lastLine, err: lastErr}
	}
	return nil
}

// applyChunk is how many table changes restore gives Apply at once. Growing one slice to
// the whole file was a fifth of -R's CPU profile (runtime.growslice copying) on the
// benchmark's 10,000 rules under emulation; a reused slice of this size costs nothing.
const applyChunk = 1024

// restoreError is a restore whose last line failed; that line's error has been
// reported already.
type restoreError struct {
	line int
	err  error
}

func (e *restoreError) Error() string {
	return fmt.Sprintf("the last line (%d) failed: %v", e.line, e.err)
}
func (e *restoreError) Unwrap() error { return e.err }

// splitWords appends the words of line to dst: text between spaces, tabs and carriage
// returns, leaving out the word ipvsadm.
func splitWords(dst []string, line string) []string {
	for len(line) > 0 {
		i := strings.IndexFunc(line, func(r rune) bool { return r != ' ' && r != '\t' && r != '\r' })
		if i < 0 {
			break
		}
		line = line[i:]
		j := strings.IndexAny(line, " \t\r")
		if j < 0 {
			j = len(line)
		}
		if w := line[:j]; w != "ipvsadm" {
			dst = append(dst, w)
		}
		line = line[j:]
	}
	return dst
}
