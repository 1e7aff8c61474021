package kaconf

import (
	"fmt"
	"strconv"
	"time"
)

// ParamMatch is how a vrrp_track_process compares a process's arguments with the
// words after its process name.
type ParamMatch string

// Parameter matches, as keepalived 2.2.7 (track_process.c).
const (
	// ParamMatchNone ignores the arguments.
	ParamMatchNone ParamMatch = ""
	// ParamMatchExact needs the arguments to be exactly the words.
	ParamMatchExact ParamMatch = "exact"
	// ParamMatchPartial needs the arguments to start with the words (more may follow).
	ParamMatchPartial ParamMatch = "partial"
	// ParamMatchInitial is partial, but the last word need only begin its argument.
	ParamMatchInitial ParamMatch = "initial"
)

// QuorumUnlimited is TrackProcess.QuorumMax's default: no upper bound.
const QuorumUnlimited = -1

// TrackProcess is a top-level vrrp_track_process: processes counted by name. The
// tracked process is up while the number running is within Quorum..QuorumMax, as
// keepalived 2.2.7 (track_process.c).
type TrackProcess struct {
	Pos  Pos
	Name string
	// Process is process's first word: the name in /proc/PID/comm, or with
	// FullCommand argv[0] in /proc/PID/cmdline. Required.
	Process string
	// Params are process's further words; giving them sets FullCommand and, unless
	// param_match says otherwise, ParamMatchExact.
	Params     []string
	ParamMatch ParamMatch
	// FullCommand is full_command (or implied by Params or param_match): match
	// the command line instead of comm.
	FullCommand bool
	// Weight is weight, -254..254, default 0 (down means FAULT); Reverse is
	// "weight N reverse".
	Weight  int
	Reverse bool
	// Quorum is quorum, 1..65535, default 1; quorum_max 0 makes it 0 (up while no
	// process runs). QuorumMax is quorum_max, 0..65535, default QuorumUnlimited.
	Quorum    int
	QuorumMax int
	// ForkDelay and TerminateDelay are fork_delay and terminate_delay (delay sets
	// both): how long a gained or lost quorum must last before it counts. Default 0.
	ForkDelay      time.Duration
	TerminateDelay time.Duration
}

// TrackProcessRef is one line of a vrrp_instance's or vrrp_sync_group's
// track_process block. Weight and Reverse are the line's, or the
// vrrp_track_process's when the line has none.
type TrackProcessRef struct {
	Pos     Pos
	Name    string
	Weight  int
	Reverse bool
}

// TrackProcess returns the vrrp_track_process called name, or nil.
func (c *Config) TrackProcess(name string) *TrackProcess {
	for i := range c.TrackProcesses {
		if c.TrackProcesses[i].Name == name {
			return &c.TrackProcesses[i]
		}
	}
	return nil
}

const maxProcessDelay = 3600 * time.Second

func trackProcTable() table[TrackProcess] {
	delay := func(set func(*TrackProcess, time.Duration)) entry[TrackProcess] {
		return secEntry(time.Microsecond, maxProcessDelay, set)
	}
	return table[TrackProcess]{
		"process": {min: 1, max: -1, fn: func(d *decoder, n *node, t *TrackProcess) {
			if t.Process != "" {
				d.warn(n, fmt.Sprintf("process is already set for vrrp_track_process %s: keepalived 2.2.7 ignores this line (read the same way)", t.Name))
				return
			}
			t.Process = n.arg(0)
			for _, a := range n.args[1:] {
				t.Params = append(t.Params, a.text)
			}
			if len(t.Params) > 0 {
				t.FullCommand = true
				if t.ParamMatch == ParamMatchNone {
					t.ParamMatch = ParamMatchExact
				}
			}
		}},
		"param_match": {max: 1, fn: func(d *decoder, n *node, t *TrackProcess) {
			switch n.arg(0) {
			case "":
				t.ParamMatch = ParamMatchExact
			case "initial":
				t.ParamMatch = ParamMatchInitial
			case "partial":
				t.ParamMatch = ParamMatchPartial
			default:
				d.errf(n, ErrValue, "param_match %q is not initial or partial", n.arg(0))
				return
			}
			t.FullCommand = true
		}},
		"weight": {min: 1, max: 2, fn: func(d *decoder, n *node, t *TrackProcess) {
			w, ok := d.integer(n, n.arg(0), -254, 254)
			if !ok {
				return
			}
			if len(n.args) == 2 {
				if n.arg(1) != "reverse" {
					d.errf(n, ErrValue, "%q is not reverse", n.arg(1))
					return
				}
				t.Reverse = true
			}
			t.Weight = w
		}},
		"quorum":          intEntry(1, 65535, func(t *TrackProcess, v int) { t.Quorum = v }),
		"quorum_max":      intEntry(0, 65535, func(t *TrackProcess, v int) { t.QuorumMax = v }),
		"fork_delay":      delay(func(t *TrackProcess, v time.Duration) { t.ForkDelay = v }),
		"terminate_delay": delay(func(t *TrackProcess, v time.Duration) { t.TerminateDelay = v }),
		"delay":           delay(func(t *TrackProcess, v time.Duration) { t.ForkDelay, t.TerminateDelay = v, v }),
		"full_command":    bareEntry(func(t *TrackProcess) { t.FullCommand = true }),
	}
}

// readTrackProcess reads a vrrp_track_process block.
func readTrackProcess(d *decoder, n *node) (TrackProcess, bool) {
	tp := TrackProcess{Pos: n.pos, Name: n.arg(0), Quorum: 1, QuorumMax: QuorumUnlimited}
	s := decode(d, n.key, n.children, &tp, cachedTable(d, "vrrp_track_process", trackProcTable))
	if _, ok := s["process"]; !ok {
		d.errf(n, ErrValue, "vrrp_track_process %s without process", tp.Name)
		return tp, false
	}
	if mn, ok := s["quorum_max"]; ok {
		switch {
		case tp.QuorumMax == 0 && tp.Quorum <= 1:
			tp.Quorum = 0
		case tp.QuorumMax < tp.Quorum:
			d.errf(mn, ErrValue, "quorum_max %d is less than quorum %d", tp.QuorumMax, tp.Quorum)
			return tp, false
		}
	}
	return tp, true
}

func trackProcEntry(d *decoder, n *node, st *state) {
	if tp, ok := readTrackProcess(d, n); ok {
		st.tprocs = append(st.tprocs, tp)
	}
}

// trackProcLine reads one line of a track_process block: NAME [weight N
// [reverse|noreverse]].
func trackProcLine(d *decoder, n *node, refs *[]TrackProcessRef, raw *[]trackRef) {
	ref := TrackProcessRef{Pos: n.pos, Name: n.key}
	args := n.args
	set := false
	if len(args) > 0 {
		if args[0].text != "weight" || len(args) < 2 || len(args) > 3 {
			d.errf(n, ErrSyntax, "expected %s [weight N [reverse|noreverse]] in track_process", n.key)
			return
		}
		w, ok := d.integer(n, args[1].text, -254, 254)
		if !ok {
			return
		}
		ref.Weight, set = w, true
		if len(args) == 3 {
			switch args[2].text {
			case "reverse":
				ref.Reverse = true
			case "noreverse":
			default:
				d.errf(n, ErrValue, "%q is not reverse or noreverse", args[2].text)
				return
			}
		}
	}
	*refs = append(*refs, ref)
	*raw = append(*raw, trackRef{n: n, weightSet: set})
}

// resolveTrackProcs collects the vrrp_track_process blocks into cfg and checks the
// track_process lines of instances and sync groups against them. A sync group with
// a member of priority 255 has its weights set to 0, as keepalived 2.2.7 (vrrp.c).
func resolveTrackProcs(d *decoder, st *state, cfg *Config) {
	byName := map[string]*TrackProcess{}
	for i := range st.tprocs {
		tp := &st.tprocs[i]
		if prev := byName[tp.Name]; prev != nil {
			d.add(&Error{Pos: tp.Pos, Keyword: "vrrp_track_process", Err: fmt.Errorf("%w: vrrp_track_process %s is already defined at %s", ErrReference, tp.Name, prev.Pos)})
			continue
		}
		byName[tp.Name] = tp
		cfg.TrackProcesses = append(cfg.TrackProcesses, *tp)
	}
	resolve := func(owner string, refs []TrackProcessRef, raw []trackRef) []TrackProcessRef {
		return resolveWeightRefs(d, "track_process", "vrrp_track_process", owner, refs, raw, func(name string) (int, bool, bool) {
			tp := byName[name]
			if tp == nil {
				return 0, false, false
			}
			return tp.Weight, tp.Reverse, true
		})
	}
	prio := map[string]int{}
	for i, r := range st.insts {
		if i < len(cfg.Instances) {
			prio[r.in.Name] = cfg.Instances[i].Priority
			in := &cfg.Instances[i]
			in.TrackProcesses = resolve("vrrp_instance "+in.Name, in.TrackProcesses, r.tprocs)
		}
	}
	for j, g := range st.groups {
		if j >= len(cfg.SyncGroups) {
			break
		}
		owner := false
		for _, n := range g.names {
			owner = owner || prio[n.key] == 255
		}
		sg := &cfg.SyncGroups[j]
		sg.TrackProcesses = resolve("vrrp_sync_group "+sg.Name, sg.TrackProcesses, g.tprocs)
		for k := range sg.TrackProcesses {
			if t := &sg.TrackProcesses[k]; owner && t.Weight != 0 {
				d.warn(&node{pos: t.Pos, key: t.Name}, fmt.Sprintf("vrrp_sync_group %s has a member with priority 255: weight %d of track_process %s read as 0, as keepalived 2.2.7", sg.Name, t.Weight, t.Name))
				t.Weight = 0
			}
		}
	}
}

func formatTrackProcess(w *writer, t *TrackProcess) {
	w.open("vrrp_track_process", word(t.Name))
	parts := []string{word(t.Process)}
	for _, p := range t.Params {
		parts = append(parts, word(p))
	}
	w.line(append([]string{"process"}, parts...)...)
	switch t.ParamMatch {
	case ParamMatchExact:
		w.line("param_match")
	case ParamMatchInitial, ParamMatchPartial:
		w.line("param_match", string(t.ParamMatch))
	}
	if t.FullCommand {
		w.line("full_command")
	}
	if t.Reverse {
		w.line("weight", strconv.Itoa(t.Weight), "reverse")
	} else {
		w.line("weight", strconv.Itoa(t.Weight))
	}
	if t.QuorumMax != QuorumUnlimited {
		w.line("quorum_max", strconv.Itoa(t.QuorumMax))
	}
	if t.Quorum > 0 {
		w.line("quorum", strconv.Itoa(t.Quorum))
	}
	if t.ForkDelay > 0 {
		w.line("fork_delay", fmtSeconds(t.ForkDelay))
	}
	if t.TerminateDelay > 0 {
		w.line("terminate_delay", fmtSeconds(t.TerminateDelay))
	}
	w.close()
}

func formatTrackProcessRefs(w *writer, refs []TrackProcessRef) {
	if len(refs) == 0 {
		return
	}
	w.open("track_process")
	for _, t := range refs {
		parts := []string{word(t.Name), "weight", strconv.Itoa(t.Weight)}
		if t.Reverse {
			parts = append(parts, "reverse")
		}
		w.line(parts...)
	}
	w.close()
}
