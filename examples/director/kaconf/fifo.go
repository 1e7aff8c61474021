package kaconf

import "fmt"

// NotifyFIFO is one of global_defs' notify FIFOs: notify_fifo (VRRP and LVS lines),
// vrrp_notify_fifo (VRRP lines only) or lvs_notify_fifo (LVS lines only), with its
// *_notify_fifo_script. Path is empty when the FIFO is not configured.
type NotifyFIFO struct {
	// Pos is where the FIFO's path was given.
	Pos Pos
	// Path is the FIFO's file name; the director creates it when it does not exist.
	Path string
	// User and Group are the optional owner words after the path (notify_fifo PATH
	// [USER [GROUP]]); empty means script_user.
	User, Group string
	// Script is the *_notify_fifo_script, started with Path as its last argument;
	// nil when not given.
	Script *Command
}

// fifoPath reads "<prefix>notify_fifo PATH [USER [GROUP]]". As in keepalived, a
// second line for the same FIFO is ignored with a warning: the first one counts.
func fifoPath(pick func(*Global) *NotifyFIFO) entry[globalRaw] {
	return entry[globalRaw]{min: 1, max: 3, fn: func(d *decoder, n *node, t *globalRaw) {
		f := pick(&t.g)
		if f.Path != "" {
			d.warn(n, fmt.Sprintf("%s already given at %s; %q ignored (keepalived keeps the first)", n.key, f.Pos, n.arg(0)))
			return
		}
		if n.arg(0) == "" {
			d.errf(n, ErrValue, "%s needs a file name", n.key)
			return
		}
		f.Pos, f.Path = n.pos, n.arg(0)
		if len(n.args) > 1 {
			f.User = n.arg(1)
		}
		if len(n.args) > 2 {
			f.Group = n.arg(2)
		}
	}}
}

// fifoScript reads "<prefix>notify_fifo_script COMMAND [USER [GROUP]]".
func fifoScript(pick func(*Global) *NotifyFIFO) entry[globalRaw] {
	return entry[globalRaw]{min: 1, max: 3, fn: func(d *decoder, n *node, t *globalRaw) {
		f := pick(&t.g)
		if f.Script != nil {
			d.warn(n, fmt.Sprintf("%s given twice; the later line is ignored (keepalived keeps the first)", n.key))
			return
		}
		if c, ok := d.command(n, n.args); ok {
			f.Script = c
		}
	}}
}

// The FIFO each keyword fills.
func fifoAll(g *Global) *NotifyFIFO  { return &g.NotifyFIFO }
func fifoVRRP(g *Global) *NotifyFIFO { return &g.VRRPNotifyFIFO }
func fifoLVS(g *Global) *NotifyFIFO  { return &g.LVSNotifyFIFO }

// formatFIFOs writes the notify FIFO lines of g.
func formatFIFOs(w *writer, g *Global) {
	for _, f := range []struct {
		prefix string
		f      *NotifyFIFO
	}{{"", &g.NotifyFIFO}, {"vrrp_", &g.VRRPNotifyFIFO}, {"lvs_", &g.LVSNotifyFIFO}} {
		if f.f.Path != "" {
			parts := []string{f.prefix + "notify_fifo", word(f.f.Path)}
			if f.f.User != "" {
				parts = append(parts, word(f.f.User))
				if f.f.Group != "" {
					parts = append(parts, word(f.f.Group))
				}
			}
			w.line(parts...)
		}
		w.cmd(f.prefix+"notify_fifo_script", f.f.Script)
	}
}
