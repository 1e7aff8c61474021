package kaconf

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ReadFile reads the keepalived.conf at name from the operating system's file system.
// Includes are resolved relative to the including file's directory, absolute include
// paths as they are.
//
// On any error it returns a nil Config and all the errors found, joined with
// errors.Join; each is an *Error naming file:line and the keyword. The warnings are
// returned either way.
func ReadFile(name string) (*Config, []Warning, error) {
	return ReadFileContext(context.Background(), name)
}

// ReadFileContext is ReadFile that stops when ctx is done (it checks between files
// and every few thousand statements); the error then wraps ctx.Err().
func ReadFileContext(ctx context.Context, name string) (*Config, []Warning, error) {
	return read(ctx, osSource{}, name, hostConfigID())
}

// ReadFileConfigID is ReadFileContext with keepalived's -i (--config-id): configID
// selects the "@ID" conditional lines that are read. Empty means keepalived's default,
// the host name up to its first dot.
func ReadFileConfigID(ctx context.Context, name, configID string) (*Config, []Warning, error) {
	if configID == "" {
		configID = hostConfigID()
	}
	return read(ctx, osSource{}, name, configID)
}

// Read is ReadFile on fsys: name and relative include paths are fs.FS paths ("a/b.conf",
// no leading slash), and an absolute include path such as /etc/keepalived/x.conf names
// etc/keepalived/x.conf in fsys (so os.DirFS("/") behaves like ReadFile).
func Read(fsys fs.FS, name string) (*Config, []Warning, error) {
	return ReadContext(context.Background(), fsys, name)
}

// ReadContext is Read that stops when ctx is done, as ReadFileContext.
func ReadContext(ctx context.Context, fsys fs.FS, name string) (*Config, []Warning, error) {
	return read(ctx, fsSource{fsys}, path.Clean(name), hostConfigID())
}

// hostConfigID is keepalived's default config ID, which selects the "@ID line"
// conditional lines: the host name up to its first dot (keepalived 2.2.7 without -i).
func hostConfigID() string {
	h, _ := os.Hostname()
	h, _, _ = strings.Cut(h, ".")
	return h
}

// readOSFile reads a regular file without ever blocking in open(2): it opens with
// O_NONBLOCK (a FIFO then opens at once) and checks what it opened with fstat before
// reading. The Lstat-free os.Stat before it only makes the message for a socket (which
// open refuses with ENXIO) name the kind of file.
func readOSFile(name string, limit int64) ([]byte, error) {
	if fi, err := os.Stat(name); err == nil {
		if err := checkFileInfo(name, fi, limit); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(name, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkFileInfo(name, fi, limit); err != nil {
		return nil, err
	}
	return readLimited(name, f, limit)
}

// state is the whole file while it is read.
type state struct {
	global  globalRaw
	gseen   seen
	gnode   *node
	scripts []*scriptRaw
	insts   []*instRaw
	groups  []*groupRaw
	vss     []*vsRaw
	vsgs    []vsgRaw
	tfiles  []TrackFile
	tprocs  []TrackProcess
	sroutes []Route
	srules  []Rule
	saddrs  []VIP
	netns   NetNamespace
}

func topTable() table[state] {
	return auditTop(table[state]{
		"global_defs": {block: true, fn: func(d *decoder, n *node, st *state) {
			if st.gnode == nil {
				st.gnode = n
				st.global.g.Pos = n.pos
			}
			// Several global_defs blocks merge, as in keepalived.
			for k, v := range decode(d, "global_defs", n.children, &st.global, cachedTable(d, "global_defs", globalTable)) {
				st.gseen[k] = v
			}
		}},
		"vrrp_script": {min: 1, max: 1, block: true, fn: func(d *decoder, n *node, st *state) {
			r := &scriptRaw{s: Script{Pos: n.pos, Name: n.arg(0)}, seq: n.seq}
			r.seen = decode(d, "vrrp_script", n.children, r, cachedTable(d, "vrrp_script", scriptTable))
			if resolveScript(d, n, r) {
				st.scripts = append(st.scripts, r)
			}
		}},
		"vrrp_instance": {min: 1, max: 1, block: true, fn: func(d *decoder, n *node, st *state) {
			r := &instRaw{in: Instance{Pos: n.pos, Name: n.arg(0)}, node: n}
			r.seen = decode(d, "vrrp_instance", n.children, r, cachedTable(d, "vrrp_instance", instanceTable))
			st.insts = append(st.insts, r)
		}},
		"vrrp_sync_group": {min: 1, max: 1, block: true, fn: func(d *decoder, n *node, st *state) {
			r := &groupRaw{g: SyncGroup{Pos: n.pos, Name: n.arg(0)}, node: n}
			r.seen = decode(d, "vrrp_sync_group", n.children, r, cachedTable(d, "vrrp_sync_group", syncGroupTable))
			st.groups = append(st.groups, r)
		}},
		"virtual_server_group": {min: 1, max: 1, block: true, fn: vsGroupEntry},
		"track_file":           {min: 1, max: 1, block: true, fn: trackFileEntry},
		"vrrp_track_file":      {min: 1, max: 1, block: true, fn: trackFileEntry},
		"vrrp_track_process":   {min: 1, max: 1, block: true, fn: trackProcEntry},
		"static_routes":        {block: true, fn: staticRoutesEntry},
		"net_namespace":        {min: 1, max: 1, fn: netNamespaceEntry},
		"static_rules":         {block: true, fn: staticRulesEntry},
		"static_ipaddress":     {block: true, fn: staticAddressesEntry},
		"virtual_server": {min: 1, max: 2, block: true, fn: func(d *decoder, n *node, st *state) {
			r := &vsRaw{vs: VirtualServer{Pos: n.pos}, node: n}
			switch n.arg(0) {
			case "fwmark":
				if len(n.args) != 2 {
					d.errf(n, ErrSyntax, "fwmark needs a mark")
					return
				}
				m, err := strconv.ParseUint(n.arg(1), 0, 32)
				if err != nil || m == 0 {
					d.errf(n, ErrValue, "fwmark %q is not a number in 1..4294967295", n.arg(1))
					return
				}
				r.vs.FWMark = uint32(m)
			case "group":
				if len(n.args) != 2 {
					d.errf(n, ErrSyntax, "group needs a virtual_server_group name")
					return
				}
				r.vs.Group = n.arg(1)
			default:
				ap, ok := addrPort(d, n, n.args)
				if !ok {
					return
				}
				r.vs.Addr = ap
			}
			r.seen = decode(d, "virtual_server", n.children, r, cachedTable(d, "virtual_server", vsTable))
			st.vss = append(st.vss, r)
		}},
	})
}

func read(ctx context.Context, src source, name, configID string) (*Config, []Warning, error) {
	d := &decoder{}
	t := &tree{ctx: ctx, src: src, d: d, configID: configID, defs: map[string]string{}}
	nodes := t.file(name, nil)
	if t.stopped() {
		// What was read is incomplete: decoding it would only add errors that
		// are not in the file.
		warns, err := d.finish()
		return nil, warns, err
	}
	st := &state{gseen: seen{}}
	decode(d, "the top level", nodes, st, cachedTable(d, "the top level", topTable))

	cfg := &Config{NetNamespace: st.netns}
	resolveGlobal(&st.global.g, st.gseen)
	cfg.Global = st.global.g
	// A vrrp_script defined twice is its last definition (warned about in
	// crossCheckVRRP), at the place of the first.
	at := map[string]int{}
	for _, r := range st.scripts {
		if i, dup := at[r.s.Name]; dup {
			cfg.Scripts[i] = r.s
			continue
		}
		at[r.s.Name] = len(cfg.Scripts)
		cfg.Scripts = append(cfg.Scripts, r.s)
	}
	for _, r := range st.insts {
		resolveInstance(d, &cfg.Global, r)
	}
	// keepalived 1.x's lvs_sync_daemon_interface in an instance is the sync daemon on
	// that interface following that instance, unless one is already set (keepalived
	// 2.2.7 vrrp_parser.c: the first wins, the others are ignored with a warning).
	for _, r := range st.insts {
		if r.syncd == nil {
			continue
		}
		if sd := cfg.Global.LVSSyncDaemon; sd != nil {
			d.warn(r.syncd, "lvs_sync_daemon_interface has already been specified as "+sd.Interface+" - ignoring")
			continue
		}
		cfg.Global.LVSSyncDaemon = &SyncDaemon{Interface: r.syncd.arg(0), Instance: r.in.Name, SyncID: -1}
	}
	crossCheckVRRP(d, &cfg.Global, st.scripts, st.insts, st.groups)
	for _, r := range st.insts {
		cfg.Instances = append(cfg.Instances, r.in)
	}
	for _, r := range st.groups {
		cfg.SyncGroups = append(cfg.SyncGroups, r.g)
	}
	tfs := map[string]*TrackFile{}
	for i := range st.tfiles {
		tf := &st.tfiles[i]
		if prev := tfs[tf.Name]; prev != nil {
			d.add(&Error{Pos: tf.Pos, Keyword: "track_file", Err: fmt.Errorf("%w: track_file %s is already defined at %s", ErrReference, tf.Name, prev.Pos)})
			continue
		}
		tfs[tf.Name] = tf
		cfg.TrackFiles = append(cfg.TrackFiles, *tf)
	}
	resolveTrackFileRefs(d, tfs, st.insts, st.groups, cfg)
	resolveTrackProcs(d, st, cfg)
	cfg.VirtualServerGroups = resolveVSGroups(d, st.vsgs, st.vss)
	cfg.StaticRoutes = st.sroutes
	cfg.StaticRules = st.srules
	// A static address without dev is on default_interface, eth0 without it
	// (keepalived 2.2.7 vrrp_ipaddress.c, get_default_if).
	for i := range st.saddrs {
		if st.saddrs[i].Dev == "" {
			st.saddrs[i].Dev = orStr(cfg.Global.DefaultInterface, "eth0")
		}
	}
	cfg.StaticAddresses = st.saddrs
	for _, r := range st.vss {
		resolveVS(d, &cfg.Global, tfs, r)
		resolveAuditVS(d, r)
	}
	crossCheckLVS(d, st.vss)
	crossCheckVSGroups(d, st.vss)
	for _, r := range st.vss {
		cfg.VirtualServers = append(cfg.VirtualServers, r.vs)
	}
	warns, err := d.finish()
	if err != nil {
		return nil, warns, err
	}
	return cfg, warns, nil
}

// finish returns the warnings and the joined errors in file order, whatever stage
// found them, with the summaries of what the limits left out last.
func (d *decoder) finish() ([]Warning, error) {
	slices.SortStableFunc(d.warns, func(a, b Warning) int { return comparePos(a.Pos, b.Pos) })
	slices.SortStableFunc(d.errs, func(a, b error) int {
		var ea, eb *Error
		if errors.As(a, &ea) && errors.As(b, &eb) {
			return comparePos(ea.Pos, eb.Pos)
		}
		return 0
	})
	if d.more > 0 {
		d.warns = append(d.warns, Warning{Pos: d.warns[len(d.warns)-1].Pos, Keyword: "(file)",
			Message: fmt.Sprintf("%d more warnings not shown", d.more)})
	}
	if d.overflow != nil {
		d.errs = append(d.errs, d.overflow)
	}
	if len(d.errs) > 0 {
		return d.warns, errors.Join(d.errs...)
	}
	return d.warns, nil
}

func comparePos(a, b Pos) int {
	if c := strings.Compare(a.File, b.File); c != 0 {
		return c
	}
	return a.Line - b.Line
}

func trackFileEntry(d *decoder, n *node, st *state) {
	if tf, ok := readTrackFile(d, n); ok {
		st.tfiles = append(st.tfiles, tf)
	}
}
