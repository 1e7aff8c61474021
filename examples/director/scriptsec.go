package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// defaultScriptUser is the user keepalived runs scripts as when script_user is not
// set, if the system has it; otherwise scripts run as root (keepalived 2.2.7 notify.c).
const defaultScriptUser = "keepalived_script"

// scriptCred is the user and group a script runs as.
type scriptCred struct {
	UID, GID uint32
}

// scriptDecision is what the policy decided for one configured script.
type scriptDecision struct {
	// args is the command line as configured; a notify script's run appends to it.
	args []string
	// cred is nil to run as the director's own user.
	cred *scriptCred
	// refused is why the script may not run, nil when it may.
	refused error
}

// scriptPolicy decides, for every script a configuration names, who runs it and
// whether it runs at all: keepalived's script_user, per-script user and group, and
// enable_script_security.
type scriptPolicy struct {
	decisions []scriptDecision
}

// lookup returns the decision for argv: the configured script whose command line
// is argv or a prefix of it (the generic notify script gets four arguments
// appended). Two scripts with the same command line and different users resolve to
// the first. A command line the configuration does not name runs as the director.
func (p *scriptPolicy) lookup(argv []string) scriptDecision {
	if p != nil {
		for _, d := range p.decisions {
			if len(d.args) <= len(argv) && slices.Equal(d.args, argv[:len(d.args)]) {
				return d
			}
		}
	}
	return scriptDecision{args: argv}
}

// userDB resolves user and group names; tests replace it.
type userDB struct {
	user  func(name string) (uid, gid uint32, err error)
	group func(name string) (gid uint32, err error)
	// root reports whether the director runs as root and so can switch users.
	root func() bool
}

// systemUsers is the system's user database (os/user).
var systemUsers = userDB{
	user: func(name string) (uint32, uint32, error) {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, 0, err
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return 0, 0, err
		}
		gid, err := strconv.ParseUint(u.Gid, 10, 32)
		return uint32(uid), uint32(gid), err
	},
	group: func(name string) (uint32, error) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, err
		}
		gid, err := strconv.ParseUint(g.Gid, 10, 32)
		return uint32(gid), err
	},
	root: func() bool { return os.Geteuid() == 0 },
}

// namedScript is one script of a configuration with where it is written.
type namedScript struct {
	pos  kaconf.Pos
	what string
	cmd  *kaconf.Command
}

// configScripts lists every script cfg names, each with its block's position.
func configScripts(cfg *kaconf.Config) []namedScript {
	var out []namedScript
	add := func(pos kaconf.Pos, what string, c *kaconf.Command) {
		if c != nil && len(c.Args) > 0 {
			out = append(out, namedScript{pos, what, c})
		}
	}
	for i := range cfg.Scripts {
		s := &cfg.Scripts[i]
		add(s.Pos, "vrrp_script "+s.Name, &s.Command)
	}
	notify := func(pos kaconf.Pos, what string, n, m, b, f, s *kaconf.Command) {
		add(pos, what+" notify", n)
		add(pos, what+" notify_master", m)
		add(pos, what+" notify_backup", b)
		add(pos, what+" notify_fault", f)
		add(pos, what+" notify_stop", s)
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		notify(in.Pos, "vrrp_instance "+in.Name, in.Notify, in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop)
	}
	for i := range cfg.SyncGroups {
		g := &cfg.SyncGroups[i]
		notify(g.Pos, "vrrp_sync_group "+g.Name, g.Notify, g.NotifyMaster, g.NotifyBackup, g.NotifyFault, g.NotifyStop)
	}
	add(cfg.Global.NotifyFIFO.Pos, "notify_fifo_script", cfg.Global.NotifyFIFO.Script)
	add(cfg.Global.VRRPNotifyFIFO.Pos, "vrrp_notify_fifo_script", cfg.Global.VRRPNotifyFIFO.Script)
	add(cfg.Global.LVSNotifyFIFO.Pos, "lvs_notify_fifo_script", cfg.Global.LVSNotifyFIFO.Script)
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		add(vs.Pos, "virtual_server quorum_up", vs.QuorumUp)
		add(vs.Pos, "virtual_server quorum_down", vs.QuorumDown)
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			add(rs.Pos, "real_server notify_up", rs.NotifyUp)
			add(rs.Pos, "real_server notify_down", rs.NotifyDown)
			for k := range rs.Checks {
				add(rs.Checks[k].Pos, "MISC_CHECK misc_path", rs.Checks[k].Misc)
			}
		}
	}
	return out
}

// newScriptPolicy resolves every script of cfg. errs name file:line for what keepalived
// refuses (an unknown user or group; with enable_script_security, a script whose file or
// a directory above it a non-root user can write, or a script that cannot be found);
// warns are keepalived's warnings for what it runs anyway. The policy refuses the
// scripts errs name.
func newScriptPolicy(cfg *kaconf.Config, db userDB) (p *scriptPolicy, errs []error, warns []string) {
	p = &scriptPolicy{}
	scripts := configScripts(cfg)
	if len(scripts) == 0 {
		return p, nil, nil
	}
	g := cfg.Global
	var def *scriptCred
	var defErr error
	switch c, err := resolveCred(db, defaultScriptUser, ""); {
	case g.ScriptUser != "":
		def, defErr = resolveCred(db, g.ScriptUser, g.ScriptGroup)
		if defErr != nil {
			errs = append(errs, fmt.Errorf("%s: script_user: %w", g.Pos, defErr))
		}
	case !db.root():
		// keepalived always runs as root; a director that is not cannot switch to
		// keepalived_script, and runs scripts as itself (an explicit user fails).
	case err == nil:
		def = c
	case g.EnableScriptSecurity:
		// keepalived 2.2.7 (notify.c get_default_script_user) removes every script
		// without a user of its own when script security is on and keepalived_script
		// does not exist, rather than run it as root.
		defErr = fmt.Errorf("unable to set default user %s for script (enable_script_security is on): %w", defaultScriptUser, err)
		errs = append(errs, fmt.Errorf("%s: %w", g.Pos, defErr))
	default:
		warns = append(warns, fmt.Sprintf("%s: default user '%s' for script execution does not exist - please create; scripts run as root",
			g.Pos, defaultScriptUser))
	}
	insecure := false
	for _, s := range scripts {
		d := scriptDecision{args: s.cmd.Args, cred: def, refused: defErr}
		if s.cmd.User != "" {
			d.cred, d.refused = resolveCred(db, s.cmd.User, s.cmd.Group)
			if d.refused != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", s.pos, s.what, d.refused))
			}
		}
		if err := checkScriptSecure(s.cmd.Args[0]); err != nil {
			insecure = true
			if g.EnableScriptSecurity {
				if d.refused == nil { // a refused user stays the reason given
					d.refused = err
				}
				errs = append(errs, fmt.Errorf("%s: %s: %w - disabling", s.pos, s.what, err))
			} else if errors.Is(err, errScriptNotFound) {
				// keepalived 2.2.7 (notify.c SC_NOTFOUND) disables a script it cannot
				// find at start even without script security; the director still runs
				// it, and it fails (guide: enable_script_security).
				warns = append(warns, fmt.Sprintf("%s: %s: %v - keepalived 2.2.7 disables it (a MISC_CHECK is dropped, a vrrp_script no longer tracked); the director runs it and it fails", s.pos, s.what, err))
			} else {
				warns = append(warns, fmt.Sprintf("%s: %s: %v", s.pos, s.what, err))
			}
		}
		p.decisions = append(p.decisions, d)
	}
	if !g.EnableScriptSecurity {
		w := fmt.Sprintf("%s: SECURITY VIOLATION - scripts are being executed but script_security not enabled", g.Pos)
		if insecure {
			w += ". There are insecure scripts"
		}
		warns = append(warns, w)
	}
	return p, errs, warns
}

// resolveCred resolves USER [GROUP]; the group defaults to the user's primary group.
// root:root resolves to nil, the director's own user.
func resolveCred(db userDB, name, group string) (*scriptCred, error) {
	uid, gid, err := db.user(name)
	if err != nil {
		return nil, fmt.Errorf("unknown script user %s: %w", name, err)
	}
	if group != "" {
		if gid, err = db.group(group); err != nil {
			return nil, fmt.Errorf("unknown script group %s: %w", group, err)
		}
	}
	if uid == 0 && gid == 0 {
		return nil, nil
	}
	return &scriptCred{UID: uid, GID: gid}, nil
}

// errInsecureScript is what checkScriptSecure's errors wrap.
var errInsecureScript = errors.New("unsafe permissions")

// errScriptNotFound is what checkScriptSecure's errors wrap for a script, or an
// element of its path, that does not exist.
var errScriptNotFound = errors.New("could not find script")

// checkScriptSecure applies keepalived 2.2.7's check (notify.c check_security) to
// program, found on PATH when it has no slash, and to where its symbolic links lead:
// every directory from / down, and the file itself, must be owned by root and, unless
// it is a directory with the sticky bit, not writable by other users nor by a group
// other than root's. It also refuses a path it cannot stat and an element of the wrong
// type (a non-directory above the file, a file that is neither regular nor a link).
func checkScriptSecure(program string) error {
	path := program
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("%w %q: %w", errScriptNotFound, program, err)
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := checkPathSecure(abs); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("%w %q: %w", errScriptNotFound, program, err)
	}
	if real != abs {
		return checkPathSecure(real)
	}
	return nil
}

// checkPathSecure checks abs (an absolute, clean path) and every directory above it.
func checkPathSecure(abs string) error {
	elems := []string{"/"}
	for p := abs; p != "/"; p = filepath.Dir(p) {
		elems = append(elems, p)
	}
	slices.Reverse(elems[1:])
	for i, e := range elems {
		last := i == len(elems)-1
		// stat(2) as keepalived does: a symbolic link is judged by its target here,
		// and checkScriptSecure checks the resolved path as well.
		fi, err := os.Stat(e)
		if err != nil {
			return fmt.Errorf("%w %q: %w", errScriptNotFound, abs, err)
		}
		mode := fi.Mode()
		if !last && !mode.IsDir() {
			return fmt.Errorf("wrong file type found in script path %q: %s is not a directory", abs, e)
		}
		if last && !mode.IsRegular() {
			return fmt.Errorf("wrong file type found in script path %q", abs)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("cannot read the owner of %s", e)
		}
		if st.Uid != 0 {
			return fmt.Errorf("%w found for script %q: %s is owned by uid %d", errInsecureScript, abs, e, st.Uid)
		}
		sticky := mode.IsDir() && mode&fs.ModeSticky != 0
		if (mode.IsDir() && !sticky) || mode.IsRegular() {
			if st.Gid != 0 && mode.Perm()&0o020 != 0 {
				return fmt.Errorf("%w found for script %q: %s is writable by group %d", errInsecureScript, abs, e, st.Gid)
			}
			if mode.Perm()&0o002 != 0 {
				return fmt.Errorf("%w found for script %q: %s is writable by everyone", errInsecureScript, abs, e)
			}
		}
	}
	return nil
}

// scriptCredKey carries a script's credential from the runner to exec and probe.
type scriptCredKey struct{}

// withScriptCred returns ctx carrying the user a script runs as; nil means the
// director's own user.
func withScriptCred(ctx context.Context, c *scriptCred) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, scriptCredKey{}, c)
}

// scriptCredFrom returns the credential withScriptCred stored, or nil.
func scriptCredFrom(ctx context.Context) *scriptCred {
	c, _ := ctx.Value(scriptCredKey{}).(*scriptCred)
	return c
}
