package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp"
)

// notifyFIFOs writes keepalived's notify FIFO lines: notify_fifo gets the VRRP
// and the LVS lines, vrrp_notify_fifo the VRRP lines only, lvs_notify_fifo the LVS
// lines only. A line is written with one non-blocking write to a descriptor opened
// O_WRONLY|O_NONBLOCK and kept open across lines; with no reader, or a full pipe,
// the line is dropped (logged once per outage) and the FIFO is reopened on the next
// line. Nothing here ever waits for a reader.
type notifyFIFOs struct {
	log *slog.Logger
	// start runs a *_notify_fifo_script until its context ends; set by the daemon.
	start func(ctx context.Context, argv []string)
	// users resolves the owner of a FIFO the director creates (fifoOwner).
	users userDB

	// mu guards outs. It is a leaf lock, held only across mkfifo, stat, the
	// non-blocking open and write, and close: none of them waits for a reader.
	mu      sync.Mutex
	outs    [3]*fifoOut // notify_fifo, vrrp_notify_fifo, lvs_notify_fifo
	pending []func()    // scripts configure wants started
	wg      sync.WaitGroup
}

// The indices of notifyFIFOs.outs.
const (
	fifoIdxAll = iota
	fifoIdxVRRP
	fifoIdxLVS
)

// fifoOut is one configured FIFO.
type fifoOut struct {
	cfg     kaconf.NotifyFIFO
	what    string // the keyword, for logs
	fd      int    // -1 when not open
	created bool   // the director made it: removed when no longer used
	refused bool   // the path is not a FIFO: never written
	dropped bool   // a line was dropped since the last one written (logs once)
	cancel  context.CancelFunc
}

func newNotifyFIFOs(log *slog.Logger) *notifyFIFOs {
	return &notifyFIFOs{log: log, users: systemUsers}
}

// fifoOwner is who owns a FIFO the director creates, as keepalived 2.2.7 decides
// (global_parser.c notify_fifo, notify.c fifo_open): the USER [GROUP] after the
// path, else the default script user (script_user, else keepalived_script when
// the system has it and the director runs as root). nil means the director's own
// user, and so no chown; an unknown user is an error, and the FIFO is then not
// created (keepalived ignores the line).
func fifoOwner(db userDB, g *kaconf.Global, f *kaconf.NotifyFIFO) (*scriptCred, error) {
	switch {
	case f.User != "":
		return resolveCred(db, f.User, f.Group)
	case g.ScriptUser != "":
		return resolveCred(db, g.ScriptUser, g.ScriptGroup)
	case !db.root():
		return nil, nil
	}
	c, err := resolveCred(db, defaultScriptUser, "")
	if err != nil {
		return nil, nil // keepalived then uses its own user
	}
	return c, nil
}

// sameFIFO reports whether a and b describe the same FIFO and script.
func sameFIFO(a, b *kaconf.NotifyFIFO) bool {
	if a.Path != b.Path || a.User != b.User || a.Group != b.Group || (a.Script == nil) != (b.Script == nil) {
		return false
	}
	return a.Script == nil || (slices.Equal(a.Script.Args, b.Script.Args) &&
		a.Script.User == b.Script.User && a.Script.Group == b.Script.Group)
}

// configure brings the FIFOs to g's: a FIFO whose line is unchanged keeps its
// descriptor and script; others are closed (and removed if the director made
// them), and new ones created; startScripts then starts their scripts. A FIFO is
// opened at its first line.
func (n *notifyFIFOs) configure(ctx context.Context, g *kaconf.Global) {
	want := [3]kaconf.NotifyFIFO{g.NotifyFIFO, g.VRRPNotifyFIFO, g.LVSNotifyFIFO}
	names := [3]string{"notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo"}
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range n.outs {
		if o := n.outs[i]; o != nil && sameFIFO(&o.cfg, &want[i]) {
			continue
		}
		n.closeLocked(i)
		if want[i].Path == "" {
			if want[i].Script != nil {
				n.log.Warn(names[i]+"_script without "+names[i]+": not run", "at", g.Pos.String())
			}
			continue
		}
		o := &fifoOut{cfg: want[i], what: names[i], fd: -1}
		n.outs[i] = o
		owner, err := fifoOwner(n.users, g, &o.cfg)
		if err != nil {
			o.refused = true
			n.log.Error(o.what+": owner: "+err.Error()+"; the FIFO is not used", "path", o.cfg.Path, "at", o.cfg.Pos.String())
			continue
		}
		n.prepare(o, owner)
		if o.refused || o.cfg.Script == nil || n.start == nil {
			continue
		}
		sctx, cancel := context.WithCancel(ctx)
		o.cancel = cancel
		argv := append(slices.Clone(o.cfg.Script.Args), o.cfg.Path)
		n.pending = append(n.pending, func() {
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				n.start(sctx, argv)
			}()
		})
	}
}

// startScripts starts the scripts of the FIFOs the last configure set up.
func (n *notifyFIFOs) startScripts() {
	n.mu.Lock()
	p := n.pending
	n.pending = nil
	n.mu.Unlock()
	for _, f := range p {
		f()
	}
}

// prepare creates o's FIFO (mode 0644, as keepalived) unless something exists at
// the path, giving it to owner (nil: left the director's), and refuses a path
// that is not a FIFO. A FIFO that exists keeps its owner, as in keepalived. n.mu
// is held.
func (n *notifyFIFOs) prepare(o *fifoOut, owner *scriptCred) {
	err := syscall.Mkfifo(o.cfg.Path, 0o644)
	switch {
	case err == nil:
		o.created = true
		if owner != nil {
			// keepalived logs a failed chown and uses the FIFO anyway.
			if err := os.Lchown(o.cfg.Path, int(owner.UID), int(owner.GID)); err != nil {
				n.log.Warn(o.what+": cannot give the FIFO to its user", "path", o.cfg.Path, "uid", owner.UID, "gid", owner.GID, "err", err)
			}
		}
	case errors.Is(err, syscall.EEXIST):
		fi, serr := os.Lstat(o.cfg.Path)
		if serr != nil || fi.Mode().Type() != fs.ModeNamedPipe {
			o.refused = true
			n.log.Error(o.what+": not a FIFO; nothing is written to it", "path", o.cfg.Path, "at", o.cfg.Pos.String())
		}
	default:
		o.refused = true
		n.log.Error(o.what+": cannot create the FIFO; nothing is written to it", "path", o.cfg.Path,
			"at", o.cfg.Pos.String(), "err", err)
	}
}

// closeLocked stops FIFO i's script, closes its descriptor and removes the FIFO
// if the director made it. n.mu is held.
func (n *notifyFIFOs) closeLocked(i int) {
	o := n.outs[i]
	if o == nil {
		return
	}
	n.outs[i] = nil
	if o.cancel != nil {
		o.cancel()
	}
	// Removed first, as keepalived does, so a reader that reopens on EOF finds nothing.
	if o.created {
		if err := os.Remove(o.cfg.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			n.log.Warn(o.what+": removing the FIFO", "path", o.cfg.Path, "err", err)
		}
	}
	if o.fd >= 0 {
		syscall.Close(o.fd)
		o.fd = -1
	}
}

// close closes every FIFO and waits for their scripts to end.
func (n *notifyFIFOs) close() {
	n.mu.Lock()
	for i := range n.outs {
		n.closeLocked(i)
	}
	n.mu.Unlock()
	n.wg.Wait()
}

// vrrp writes a VRRP line to notify_fifo and vrrp_notify_fifo.
func (n *notifyFIFOs) vrrp(line string) { n.write(line, fifoIdxAll, fifoIdxVRRP) }

// lvs writes an LVS line to notify_fifo and lvs_notify_fifo.
func (n *notifyFIFOs) lvs(line string) { n.write(line, fifoIdxAll, fifoIdxLVS) }

func (n *notifyFIFOs) write(line string, idx ...int) {
	if n == nil {
		return
	}
	b := []byte(line)
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, i := range idx {
		if o := n.outs[i]; o != nil && !o.refused {
			n.writeOne(o, b)
		}
	}
}

// writeOne writes b to o with one non-blocking write, opening o first if needed.
// n.mu is held.
func (n *notifyFIFOs) writeOne(o *fifoOut, b []byte) {
	if o.fd < 0 {
		fd, err := syscall.Open(o.cfg.Path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err != nil {
			n.drop(o, b, "opening", err)
			return
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
			syscall.Close(fd)
			o.refused = true
			n.log.Error(o.what+": not a FIFO; nothing is written to it", "path", o.cfg.Path)
			return
		}
		o.fd = fd
	}
	// Lines are far shorter than PIPE_BUF, so a write is all or nothing.
	_, err := syscall.Write(o.fd, b)
	if err == nil {
		if o.dropped {
			n.log.Info(o.what+": writing again", "path", o.cfg.Path)
		}
		o.dropped = false
		return
	}
	if !errors.Is(err, syscall.EAGAIN) {
		// EPIPE: the reader went away; reopen on the next line.
		syscall.Close(o.fd)
		o.fd = -1
	}
	n.drop(o, b, "writing", err)
}

// drop logs a dropped line, once until a line is written again. n.mu is held.
func (n *notifyFIFOs) drop(o *fifoOut, b []byte, op string, err error) {
	if o.dropped {
		return
	}
	o.dropped = true
	why := err.Error()
	if errors.Is(err, syscall.ENXIO) {
		why = "no reader"
	} else if errors.Is(err, syscall.EAGAIN) {
		why = "the reader is not keeping up"
	}
	n.log.Warn(o.what+": line dropped, "+why+" (later lines are dropped silently until one is written)",
		"path", o.cfg.Path, "op", op, "line", strings.TrimSuffix(string(b), "\n"))
}

// fifoVRRPLine is keepalived's VRRP FIFO line: INSTANCE|GROUP "name" STATE prio
// (prio 0 for a group).
func fifoVRRPLine(kind, name, state string, prio uint8) string {
	return kind + " \"" + name + "\" " + state + " " + strconv.Itoa(int(prio)) + "\n"
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

// fifoVSLine is "VS <vs> UP|DOWN" (vs as keepalived's format_vs: vsName), written when a virtual server's quorum changes.
func fifoVSLine(vs *kaconf.VirtualServer, up bool) string {
	return "VS " + vsName(vs) + " " + upDown(up) + "\n"
}

// fifoRSLine is "RS <rs> <vs> UP|DOWN", written when a real server goes up or down.
func fifoRSLine(vs *kaconf.VirtualServer, rs *kaconf.RealServer, up bool) string {
	return "RS " + trio(rs.Addr.Addr().String(), rs.Addr.Port(), vs.Protocol) + " " +
		vsName(vs) + " " + upDown(up) + "\n"
}

// runFIFOScript runs a *_notify_fifo_script as the configuration says (script_user
// or its own user; refused ones are not run) until ctx ends: it is not bounded by
// scriptTimeout, as keepalived lets these run for its lifetime.
func (s *scriptRunner) runFIFOScript(ctx context.Context, argv []string) {
	d := s.decide(argv)
	if d.refused != nil {
		s.log.Warn("notify FIFO script not run", "script", argv, "err", d.refused)
		return
	}
	if err := s.exec(withScriptCred(ctx, d.cred), argv); err != nil && ctx.Err() == nil {
		s.log.Warn("notify FIFO script ended", "script", argv, "err", err)
		return
	}
	if ctx.Err() == nil {
		s.log.Info("notify FIFO script ended", "script", argv)
	}
}

// writeFIFOStates writes every sync group's and instance's current state line to
// the VRRP notify FIFOs: fifo_write_vrrp_states_on_reload, after a reload. Groups
// come first, then instances, each in the configuration's order, as keepalived
// writes them (vrrp_scheduler.c, vrrp_init_state). An instance whose Router has
// not reported a state yet (one the reload added) is left out: its first
// transition writes its line. keepalived 2.2.7 leaves out an instance that stays
// MASTER across the reload as well; the director writes it, so that a reader
// resynchronising on these lines learns every state.
func (v *vrrpRuntime) writeFIFOStates() {
	if v.h.fifo == nil {
		return
	}
	v.mu.Lock()
	cfg := v.cfg
	var groups []string
	var rs []*vrrp.Router
	seen := map[*vrrp.Router]bool{}
	if cfg != nil {
		for _, g := range cfg.SyncGroups {
			if s := v.groupState[g.Name]; s != "" {
				groups = append(groups, fifoVRRPLine("GROUP", g.Name, s, 0))
			}
		}
		for i := range cfg.Instances {
			if in := v.insts[cfg.Instances[i].Name]; in != nil && in.rr != nil && !seen[in.rr.r] {
				seen[in.rr.r] = true
				rs = append(rs, in.rr.r)
			}
		}
	}
	v.mu.Unlock()
	if cfg == nil {
		return
	}
	// The Routers' current states and priorities, read outside v.mu.
	now := map[string]vrrp.Status{}
	for _, r := range rs {
		for _, s := range r.Snapshot() {
			now[s.Name] = s
		}
	}
	lines := groups
	for i := range cfg.Instances {
		s, ok := now[cfg.Instances[i].Name]
		if !ok || s.State == vrrp.StateInit {
			continue
		}
		lines = append(lines, fifoVRRPLine("INSTANCE", s.Name, notifyState(s.State), s.Priority))
	}
	for _, l := range lines {
		v.h.fifo(l)
	}
}
