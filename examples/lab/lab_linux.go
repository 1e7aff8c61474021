package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

// binaries are the programs the lab runs in the namespaces.
type binaries struct {
	director, realserver string
}

// host is one namespace of the lab with its address on eth0.
type host struct {
	name string
	ns   netns
	addr netip.Addr
	mac  net.HardwareAddr
}

// proc is a program running in a host's namespace.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// stop sends sig and waits up to within for the process to exit, then kills it and
// says so.
func (p *proc) stop(sig syscall.Signal, within time.Duration) error {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not exit within %v of %v; killed it. Its last lines:\n%s", p.name, within, sig, tail(p.log, 15))
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// lab is the running topology: five namespaces on a bridge, the processes in them and
// the web servers.
type lab struct {
	tag   string
	dir   string
	bins  binaries
	c     cluster
	hub   netns
	hosts map[string]*host

	mu        sync.Mutex
	directors map[string]*proc
	procs     []*proc
	webs      map[string]*webServer
}

// newLab builds the topology and starts the real servers (realserver and a web
// server each). The directors are started by startDirector. On error everything
// built so far is removed.
func newLab(bins binaries, c cluster) (_ *lab, err error) {
	var b [3]byte
	rand.Read(b[:])
	l := &lab{
		tag: "lab" + hex.EncodeToString(b[:]), bins: bins, c: c,
		hosts: map[string]*host{}, directors: map[string]*proc{}, webs: map[string]*webServer{},
	}
	if l.dir, err = os.MkdirTemp("", "lvskit-lab-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.close())
		}
	}()
	l.hub = netns(l.tag + "-hub")
	if err := l.addNS(l.hub); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"},
		{"link", "set", "br0", "up"},
	} {
		if _, err := l.hub.ip(args...); err != nil {
			return nil, err
		}
	}
	for _, name := range hostOrder {
		if _, err := l.addHost(name, hostAddrs[name]); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"rs1", "rs2"} {
		if err := l.startRealServer(l.hosts[name]); err != nil {
			return nil, err
		}
		if err := l.startWeb(name); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *lab) addNS(n netns) error {
	if _, err := command("ip", "netns", "add", string(n)); err != nil {
		return err
	}
	_, err := n.ip("link", "set", "lo", "up")
	return err
}

// namespaces lists the lab's namespaces that exist.
func (l *lab) namespaces() ([]string, error) {
	out, err := command("ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], l.tag+"-") {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// close stops every process (directors gracefully, so that they remove their VIP and
// IPVS services), closes the web servers and deletes the namespaces and the
// temporary directory. It is safe to call more than once.
func (l *lab) close() error {
	l.mu.Lock()
	webs := l.webs
	l.webs = map[string]*webServer{}
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	for _, w := range webs {
		w.close()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(procs))
	for i, p := range procs {
		if p.exited() {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.stop(syscall.SIGTERM, 10*time.Second) }()
	}
	wg.Wait()
	names, err := l.namespaces()
	errs = append(errs, err)
	for _, n := range names {
		// Anything still inside (nothing, normally) goes with the namespace.
		if out, err := command("ip", "netns", "pids", n); err == nil {
			for _, f := range strings.Fields(out) {
				var pid int
				if _, err := fmt.Sscan(f, &pid); err == nil && pid != os.Getpid() {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if _, err := command("ip", "netns", "del", n); err != nil {
			errs = append(errs, err)
		}
	}
	if l.dir != "" {
		errs = append(errs, os.RemoveAll(l.dir))
	}
	return errors.Join(errs...)
}

// start runs bin in h's namespace with its output in a log file.
func (l *lab) start(h *host, what, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(l.dir, fmt.Sprintf("%s-%s-%d.log", h.name, what, time.Now().UnixNano()))
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &proc{name: h.name + " " + what, log: logPath, done: make(chan struct{})}
	// ip netns exec switches namespace and execs bin: the process is bin itself.
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", string(h.ns), bin}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	// Its own process group: a Ctrl-C in the terminal reaches the lab only, which
	// stops the processes in order.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); out.Close(); close(p.done) }()
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p, nil
}

// waitLog waits until the process's log contains s.
func waitLog(p *proc, s string, within time.Duration) error {
	return poll(context.Background(), within, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("%s exited: %s", p.name, tail(p.log, 10))
		}
		b, err := os.ReadFile(p.log)
		return strings.Contains(string(b), s), err
	})
}

func (l *lab) startRealServer(h *host) error {
	var args []string
	for _, vip := range l.c.vips() {
		args = append(args, "-vip", vip.String())
	}
	p, err := l.start(h, "realserver", l.bins.realserver, append(args, "-mode", "dr")...)
	if err != nil {
		return err
	}
	return waitLog(p, "ready", 30*time.Second)
}

// startDirector writes h's keepalived.conf and starts the director on it.
func (l *lab) startDirector(h *host, priority int) (*proc, error) {
	conf := filepath.Join(l.dir, h.name+".conf")
	if err := os.WriteFile(conf, []byte(directorConf(l.c, h.name, priority)), 0o644); err != nil {
		return nil, err
	}
	p, err := l.start(h, "director", l.bins.director, "-f", conf, "-status-file", filepath.Join(l.dir, h.name+".json"))
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.directors[h.name] = p
	l.mu.Unlock()
	if err := waitLog(p, "starting VRRP", 30*time.Second); err != nil {
		return nil, err
	}
	return p, nil
}

func (l *lab) director(name string) *proc {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.directors[name]
}

// crash kills the director on h with SIGKILL and cuts h's link, as when the machine
// dies: a killed keepalived alone leaves the VIP and the IPVS rules in the kernel,
// which go on forwarding.
func (l *lab) crash(name string) error {
	if p := l.director(name); p != nil {
		_ = p.stop(syscall.SIGKILL, 5*time.Second)
	}
	_, err := l.hosts[name].ns.ip("link", "set", "eth0", "down")
	return err
}

// revive brings h's link back up (the director, started again, removes the VIP its
// killed predecessor left).
func (l *lab) revive(name string) error {
	_, err := l.hosts[name].ns.ip("link", "set", "eth0", "up")
	return err
}

// owners returns the names of the directors that hold the VIP on an eth0 that is up.
func (l *lab) owners() ([]string, error) { return l.ownersOf(l.c.VIP) }

// ownersOf returns the names of the directors that hold vip on an eth0 that is up.
func (l *lab) ownersOf(vip netip.Addr) ([]string, error) {
	var names []string
	for _, name := range []string{"dir1", "dir2"} {
		h := l.hosts[name]
		out, err := h.ns.ip("-o", "-4", "addr", "show", "dev", "eth0")
		if err != nil {
			return nil, err
		}
		if !strings.Contains(out, " "+vip.String()+"/32 ") {
			continue
		}
		// A crashed director's link is down: the address it left there serves nobody.
		link, err := h.ns.ip("-o", "link", "show", "dev", "eth0")
		if err != nil {
			return nil, err
		}
		if _, flags, ok := strings.Cut(link, "<"); ok {
			flags, _, _ = strings.Cut(flags, ">")
			if slices.Contains(strings.Split(flags, ","), "UP") {
				names = append(names, name)
			}
		}
	}
	return names, nil
}

// waitOwner waits until name alone holds the VIP.
func (l *lab) waitOwner(ctx context.Context, name string, within time.Duration) error {
	return l.waitOwnerOf(ctx, l.c.VIP, name, within)
}

// waitOwnerOf waits until name alone holds vip.
func (l *lab) waitOwnerOf(ctx context.Context, vip netip.Addr, name string, within time.Duration) error {
	return poll(ctx, within, func() (bool, error) {
		o, err := l.ownersOf(vip)
		return len(o) == 1 && o[0] == name, err
	})
}

// neighbour returns the MAC address of the client's neighbour entry for the VIP.
func (l *lab) neighbour() (net.HardwareAddr, error) { return l.neighbourOf(l.c.VIP) }

// neighbourOf returns the MAC address of the client's neighbour entry for vip.
func (l *lab) neighbourOf(vip netip.Addr) (net.HardwareAddr, error) {
	out, err := l.hosts["client"].ns.ip("-j", "neigh", "show", vip.String(), "dev", "eth0")
	if err != nil {
		return nil, err
	}
	var entries []struct {
		LLAddr string `json:"lladdr"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		return nil, fmt.Errorf("ip neigh: %w", err)
	}
	if len(entries) == 0 || entries[0].LLAddr == "" {
		return nil, fmt.Errorf("the client has no neighbour entry for %s", vip)
	}
	return net.ParseMAC(entries[0].LLAddr)
}

// hostByMAC names the host with MAC mac.
func (l *lab) hostByMAC(mac net.HardwareAddr) string {
	for _, h := range l.hosts {
		if h.mac.String() == mac.String() {
			return h.name
		}
	}
	return mac.String()
}

func linkMAC(n netns, ifname string) (net.HardwareAddr, error) {
	out, err := n.ip("-j", "link", "show", ifname)
	if err != nil {
		return nil, err
	}
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		return nil, fmt.Errorf("ip link show %s: unexpected output %q", ifname, out)
	}
	return net.ParseMAC(links[0].Address)
}

// pool returns the real servers and their weights in the IPVS table of director
// name's namespace, for the VIP.
func (l *lab) pool(ctx context.Context, name string) (map[string]int, error) {
	return l.poolOf(ctx, name, l.c.VIP)
}

// poolOf returns the real servers and their weights of vip:80 in the IPVS table of
// director name's namespace; nil when there is no such service.
func (l *lab) poolOf(ctx context.Context, name string, vip netip.Addr) (map[string]int, error) {
	c, err := ipvs.Dial(&ipvs.Config{NetNS: l.hosts[name].ns.path()})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	svcs, err := c.Services(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range svcs {
		if s.Service.Address == vip && s.Service.Port == 80 && s.Service.Protocol == ipvs.TCP {
			dests, err := c.Destinations(ctx, s.Service)
			if err != nil {
				return nil, err
			}
			pool := map[string]int{}
			for _, d := range dests {
				pool[l.nameOf(d.Destination.Address)] = int(d.Destination.Weight)
			}
			return pool, nil
		}
	}
	return nil, nil
}

func (l *lab) nameOf(a netip.Addr) string {
	for name, h := range l.hosts {
		if h.addr == a {
			return name
		}
	}
	return a.String()
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// poll calls cond every 20 ms until it returns true, an error, or within passes.
func poll(ctx context.Context, within time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// webServer is the HTTP server of a real server: it answers with its name and what
// it saw of the connection, and /healthz with 200.
type webServer struct {
	srv *http.Server
	ln  net.Listener
}

// startWeb starts rs's web server on port 80 of its namespace.
func (l *lab) startWeb(name string) error {
	ln, err := l.hosts[name].ns.listen(":80")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			io.WriteString(w, "ok\n")
			return
		}
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		fmt.Fprintf(w, "%s %s %s\n", name, r.RemoteAddr, local)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	l.mu.Lock()
	l.webs[name] = &webServer{srv: srv, ln: ln}
	l.mu.Unlock()
	return nil
}

// stopWeb makes rs's web server stop accepting: health checks and new requests are
// refused, connections already open are served to their end.
func (l *lab) stopWeb(name string) {
	l.mu.Lock()
	w := l.webs[name]
	l.mu.Unlock()
	if w != nil {
		w.ln.Close()
	}
}

func (w *webServer) close() { w.srv.Close() }

// reply is what a real server answered.
type reply struct {
	server string         // rs1 or rs2
	remote netip.AddrPort // the client as the real server saw it
	local  netip.AddrPort // the address the real server answered on (the VIP)
	peer   netip.AddrPort // the address the client's connection was to
}

// getVIP makes one request to vip:80 from the client's namespace, on a new
// connection.
func (l *lab) getVIP(ctx context.Context, vip netip.Addr, timeout time.Duration) (reply, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := l.hosts["client"].ns.dial(ctx, netip.AddrPortFrom(vip, 80).String())
	if err != nil {
		return reply{}, err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	return exchange(conn)
}

// exchange sends one HTTP/1.1 request on conn (which stays open) and parses the reply.
func exchange(conn net.Conn) (reply, error) {
	return exchangeBuffered(conn, bufio.NewReader(conn))
}

func exchangeBuffered(conn net.Conn, br *bufio.Reader) (reply, error) {
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: lab\r\n\r\n"); err != nil {
		return reply{}, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return reply{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return reply{}, err
	}
	f := strings.Fields(string(body))
	if resp.StatusCode != 200 || len(f) != 3 {
		return reply{}, fmt.Errorf("unexpected reply %s %q", resp.Status, body)
	}
	r := reply{server: f[0]}
	r.remote, _ = netip.ParseAddrPort(f[1])
	r.local, _ = netip.ParseAddrPort(f[2])
	r.peer, _ = netip.ParseAddrPort(conn.RemoteAddr().String())
	return r, nil
}

// directorStatus asks the named director for its status file (SIGUSR1) and returns
// what `director status -file` prints of it: the table an operator reads.
func (l *lab) directorStatus(ctx context.Context, name string) (string, error) {
	p := l.directors[name]
	if p == nil || p.exited() {
		return "", fmt.Errorf("%s is not running", name)
	}
	file := filepath.Join(l.dir, name+".json")
	_ = os.Remove(file)
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return "", err
	}
	if err := poll(ctx, 10*time.Second, func() (bool, error) {
		_, err := os.Stat(file) // written to a temporary file and renamed
		return err == nil, nil
	}); err != nil {
		return "", fmt.Errorf("%s wrote no status file after SIGUSR1: %w", name, err)
	}
	out, err := exec.CommandContext(ctx, l.bins.director, "status", "-file", file).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("director status -file %s: %w: %s", file, err, out)
	}
	return strings.TrimRight(string(out), "\n"), nil
}

// addHost creates namespace name with eth0 on the hub's bridge, addressed addr/24.
func (l *lab) addHost(name string, addr netip.Addr) (*host, error) {
	h := &host{name: name, ns: netns(l.tag + "-" + name), addr: addr}
	if err := l.addNS(h.ns); err != nil {
		return nil, err
	}
	l.hosts[name] = h
	if _, err := command("ip", "link", "add", "eth0", "netns", string(h.ns), "type", "veth",
		"peer", "name", name, "netns", string(l.hub)); err != nil {
		return nil, err
	}
	for _, step := range []struct {
		ns   netns
		args []string
	}{
		{l.hub, []string{"link", "set", name, "master", "br0"}},
		{l.hub, []string{"link", "set", name, "up"}},
		{h.ns, []string{"addr", "add", addr.String() + "/24", "dev", "eth0"}},
		{h.ns, []string{"link", "set", "eth0", "up"}},
	} {
		if _, err := step.ns.ip(step.args...); err != nil {
			return nil, err
		}
	}
	var err error
	h.mac, err = linkMAC(h.ns, "eth0")
	return h, err
}
