package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// fifoReader reads the lines written to a FIFO it creates, until the test ends.
type fifoReader struct {
	mu    sync.Mutex
	lines []string
}

func readFIFO(t *testing.T, path string) *fifoReader {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// O_RDWR keeps the FIFO open for writing too, so the reader sees no EOF when the
	// director closes its end, and the open does not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &fifoReader{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() { f.Close(); <-done })
	return r
}

func (r *fifoReader) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

const fifoVRRPConf = `
vrrp_sync_group G {
    group {
        VI_1
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority 150
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

// TestNotifyFIFOLines drives a director on the fakes through VRRP (BACKUP, MASTER,
// STOP on a graceful stop) and LVS transitions (a real server's check fails, the
// quorum is lost) and checks the exact lines each FIFO gets: notify_fifo all of
// them, vrrp_notify_fifo only the VRRP lines, lvs_notify_fifo only the LVS lines;
// and that each *_notify_fifo_script is started with its FIFO's path.
func TestNotifyFIFOLines(t *testing.T) {
	dir := t.TempDir()
	all, vr, lv := filepath.Join(dir, "all"), filepath.Join(dir, "vrrp"), filepath.Join(dir, "lvs")
	rAll, rVRRP, rLVS := readFIFO(t, all), readFIFO(t, vr), readFIFO(t, lv)
	up, _ := listener(t)
	down := closedPort(t)
	text := "global_defs {\n notify_fifo " + all + "\n notify_fifo_script \"/reader -a\"\n vrrp_notify_fifo " + vr +
		"\n lvs_notify_fifo " + lv + "\n lvs_notify_fifo_script /lvs-reader\n}\n" + fifoVRRPConf + lvsText(up, down, "2", "")
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, text)); err != nil {
		t.Fatal(err)
	}
	wantVRRP := []string{`INSTANCE "VI_1" BACKUP 150`, `GROUP "G" BACKUP 0`, `INSTANCE "VI_1" MASTER 150`, `GROUP "G" MASTER 0`}
	downRS := strings.Replace(down, "127.0.0.1:", "[127.0.0.1]:tcp:", 1)
	wantLVS := []string{"RS " + downRS + " [192.0.2.10]:tcp:80 DOWN", "VS [192.0.2.10]:tcp:80 DOWN"}
	waitFor(t, "the MASTER and quorum lines", func() bool {
		return len(rVRRP.got()) >= len(wantVRRP) && len(rLVS.got()) >= len(wantLVS)
	})
	h.d.stop()
	wantVRRP = append(wantVRRP, `INSTANCE "VI_1" STOP 150`, `GROUP "G" STOP 0`)
	waitFor(t, "the STOP lines", func() bool { return len(rVRRP.got()) >= len(wantVRRP) })
	time.Sleep(50 * time.Millisecond) // nothing more may come
	if diff := cmp.Diff(wantVRRP, rVRRP.got()); diff != "" {
		t.Errorf("vrrp_notify_fifo (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLVS, rLVS.got()); diff != "" {
		t.Errorf("lvs_notify_fifo (-want +got):\n%s", diff)
	}
	wantAll := append(slices.Clone(wantVRRP), wantLVS...)
	gotAll := rAll.got()
	slices.Sort(wantAll)
	slices.Sort(gotAll)
	if diff := cmp.Diff(wantAll, gotAll); diff != "" {
		t.Errorf("notify_fifo (-want +got):\n%s", diff)
	}
	for _, s := range []string{"/reader -a " + all, "/lvs-reader " + lv} {
		if !slices.Contains(h.scripts(), s) {
			t.Errorf("script %q not run: %q", s, h.scripts())
		}
	}
	// FIFOs the director did not create stay.
	for _, p := range []string{all, vr, lv} {
		if fi, err := os.Lstat(p); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
			t.Errorf("%s after stop: %v %v", p, fi, err)
		}
	}
}

func testFIFOs(t *testing.T, path string) (*notifyFIFOs, *syncBuffer) {
	logs := &syncBuffer{}
	var w io.Writer = logs
	if testing.Verbose() {
		w = io.MultiWriter(logs, os.Stderr)
	}
	n := newNotifyFIFOs(slog.New(slog.NewTextHandler(w, nil)))
	n.configure(context.Background(), &kaconf.Global{NotifyFIFO: kaconf.NotifyFIFO{Path: path}})
	return n, logs
}

// TestNotifyFIFONeverBlocks: with no reader, and with a reader that does not read,
// writes return at once and lines are dropped with one log line per outage; a
// reader that comes later gets the lines written from then on; the director removes
// the FIFO it created when it stops.
func TestNotifyFIFONeverBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	n, logs := testFIFOs(t, path)
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeNamedPipe || fi.Mode().Perm() != 0o644&^umask() {
		t.Fatalf("created FIFO: %v %v", fi, err)
	}
	writeMany := func(what string, count int) {
		t.Helper()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range count {
				n.vrrp(fifoVRRPLine("INSTANCE", "VI_1", "MASTER", 100))
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: writes blocked", what)
		}
	}
	writeMany("no reader", 100)
	if c := strings.Count(logs.String(), "no reader"); c != 1 {
		t.Errorf("%d logs of a missing reader, want 1:\n%s", c, logs.String())
	}

	// A reader that never reads: the pipe fills, then lines are dropped.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeMany("full pipe", 10000)
	if !strings.Contains(logs.String(), "not keeping up") {
		t.Errorf("no log of a full pipe:\n%s", logs.String())
	}
	// What was written is whole lines.
	b, _ := io.ReadAll(io.LimitReader(nonBlockingReader{f}, 1<<20))
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 100 || strings.Count(string(b), "\n") != len(lines) {
		t.Fatalf("read %d bytes, %d lines", len(b), len(lines))
	}
	for _, l := range lines {
		if l != `INSTANCE "VI_1" MASTER 100` {
			t.Fatalf("line %q", l)
		}
	}
	// The pipe has room again: the next line goes through.
	n.lvs("VS FWM 1 UP\n")
	b, _ = io.ReadAll(nonBlockingReader{f})
	if string(b) != "VS FWM 1 UP\n" {
		t.Errorf("after draining: %q", b)
	}
	// The reader goes away (EPIPE), then another comes: it gets the next line.
	f.Close()
	n.lvs("VS FWM 1 DOWN\n")
	f, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n.lvs("VS FWM 2 DOWN\n")
	b, _ = io.ReadAll(nonBlockingReader{f})
	if string(b) != "VS FWM 2 DOWN\n" {
		t.Errorf("new reader got %q", b)
	}
	n.close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the FIFO the director created is still there: %v", err)
	}
}

// nonBlockingReader reads what is in a non-blocking FIFO now, then reports EOF.
type nonBlockingReader struct{ f *os.File }

func (r nonBlockingReader) Read(p []byte) (int, error) {
	n, err := syscall.Read(int(r.f.Fd()), p)
	if n <= 0 || err != nil {
		return 0, io.EOF
	}
	return n, nil
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// TestNotifyFIFONotAFIFO: a path that exists and is not a FIFO is never written.
func TestNotifyFIFONotAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, logs := testFIFOs(t, path)
	n.vrrp(fifoVRRPLine("GROUP", "G", "FAULT", 0))
	n.close()
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep\n" {
		t.Errorf("file after: %q %v", b, err)
	}
	if !strings.Contains(logs.String(), "not a FIFO") {
		t.Errorf("no log naming the problem:\n%s", logs.String())
	}
}

func TestNotifyFIFOLVSLineFormats(t *testing.T) {
	rs := &kaconf.RealServer{Addr: netip.MustParseAddrPort("[2001:db8::2]:8080")}
	tests := []struct {
		vs   kaconf.VirtualServer
		want string
	}{
		{kaconf.VirtualServer{Addr: netip.MustParseAddrPort("192.0.2.10:80"), Protocol: kaconf.ProtocolUDP},
			"RS [2001:db8::2]:udp:8080 [192.0.2.10]:udp:80 UP\nVS [192.0.2.10]:udp:80 UP\n"},
		{kaconf.VirtualServer{FWMark: 5, Protocol: kaconf.ProtocolTCP},
			"RS [2001:db8::2]:tcp:8080 FWM 5 UP\nVS FWM 5 UP\n"},
		{kaconf.VirtualServer{Group: "web", Protocol: kaconf.ProtocolTCP},
			"RS [2001:db8::2]:tcp:8080 [web]:0 UP\nVS [web]:0 UP\n"},
	}
	for _, tt := range tests {
		if got := fifoRSLine(&tt.vs, rs, true) + fifoVSLine(&tt.vs, true); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	if got := fifoVSLine(&tests[0].vs, false); got != "VS [192.0.2.10]:udp:80 DOWN\n" {
		t.Errorf("down: %q", got)
	}
}

// TestNotifyFIFOOmegaStop: with omega, a stop writes DOWN for each live real server,
// then for the virtual server, as keepalived; without omega it writes nothing.
func TestNotifyFIFOOmegaStop(t *testing.T) {
	up, _ := listener(t)
	for _, omega := range []bool{true, false} {
		t.Run(fmt.Sprint("omega=", omega), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lvs")
			r := readFIFO(t, path)
			lvs := strings.Replace(lvsConf, "    real_server DOWN {\n        weight 1\n        INHIBIT\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }\n", "", 1)
			if omega {
				lvs = strings.Replace(lvs, "lb_kind NAT", "lb_kind NAT\n    omega", 1)
			}
			lvs = strings.NewReplacer("UP", strings.Replace(up, ":", " ", 1), "QUORUM", "1").Replace(lvs)
			h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
			if err := h.d.start(context.Background(), readConf(t, "global_defs {\n lvs_notify_fifo "+path+"\n}\n"+lvs)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the real server in IPVS", func() bool { return len(dests(t, h)) == 1 })
			h.d.stop()
			var want []string
			if omega {
				want = []string{"RS " + strings.Replace(up, "127.0.0.1:", "[127.0.0.1]:tcp:", 1) + " [192.0.2.10]:tcp:80 DOWN",
					"VS [192.0.2.10]:tcp:80 DOWN"}
				waitFor(t, "the stop lines", func() bool { return len(r.got()) >= len(want) })
			}
			time.Sleep(50 * time.Millisecond)
			if diff := cmp.Diff(want, r.got()); diff != "" {
				t.Errorf("lvs_notify_fifo (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNotifyFIFOReload: a reload that keeps a FIFO's line keeps its descriptor and
// script; one that changes the path removes the FIFO the director made, creates the
// new one and restarts the script on it; a script without its FIFO is not run.
func TestNotifyFIFOReload(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	var mu sync.Mutex
	var started []string
	n := newNotifyFIFOs(slog.New(slog.NewTextHandler(io.Discard, nil)))
	n.start = func(ctx context.Context, argv []string) {
		mu.Lock()
		started = append(started, strings.Join(argv, " "))
		mu.Unlock()
		<-ctx.Done()
	}
	ran := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(started)
	}
	g := &kaconf.Global{LVSNotifyFIFO: kaconf.NotifyFIFO{Path: a, Script: &kaconf.Command{Args: []string{"/r"}}},
		VRRPNotifyFIFO: kaconf.NotifyFIFO{Script: &kaconf.Command{Args: []string{"/orphan"}}}}
	n.configure(context.Background(), g)
	n.startScripts()
	waitFor(t, "the script", func() bool { return len(ran()) == 1 })
	f, err := os.OpenFile(a, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n.lvs("VS FWM 1 UP\n")
	fd := n.outs[fifoIdxLVS].fd

	// Same line: same descriptor, no second script.
	n.configure(context.Background(), g)
	n.startScripts()
	if n.outs[fifoIdxLVS].fd != fd || fd < 0 {
		t.Errorf("descriptor %d, want %d kept", n.outs[fifoIdxLVS].fd, fd)
	}
	// New path: the old FIFO goes, the new one exists, the script runs on it.
	g2 := *g
	g2.LVSNotifyFIFO.Path = b
	n.configure(context.Background(), &g2)
	n.startScripts()
	waitFor(t, "the script on the new FIFO", func() bool { return len(ran()) == 2 })
	if _, err := os.Lstat(a); !os.IsNotExist(err) {
		t.Errorf("old FIFO still there: %v", err)
	}
	if fi, err := os.Lstat(b); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("new FIFO: %v %v", fi, err)
	}
	n.close()
	if diff := cmp.Diff([]string{"/r " + a, "/r " + b}, ran()); diff != "" {
		t.Errorf("scripts (-want +got):\n%s", diff)
	}
	if bs, _ := io.ReadAll(nonBlockingReader{f}); string(bs) != "VS FWM 1 UP\n" {
		t.Errorf("old reader got %q", bs)
	}
}

// TestNotifyFIFOStatesOnReload: with fifo_write_vrrp_states_on_reload, a reload
// writes every sync group's and instance's current state (groups first); without
// it, a reload that changes no state writes nothing.
func TestNotifyFIFOStatesOnReload(t *testing.T) {
	for _, on := range []bool{true, false} {
		dir := t.TempDir()
		path := filepath.Join(dir, "vrrp")
		r := readFIFO(t, path)
		flag := ""
		if on {
			flag = "\n fifo_write_vrrp_states_on_reload"
		}
		text := "global_defs {\n vrrp_notify_fifo " + path + flag + "\n}\n" + fifoVRRPConf
		h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
		if err := h.d.start(context.Background(), readConf(t, text)); err != nil {
			t.Fatal(err)
		}
		start := []string{`INSTANCE "VI_1" BACKUP 150`, `GROUP "G" BACKUP 0`, `INSTANCE "VI_1" MASTER 150`, `GROUP "G" MASTER 0`}
		waitFor(t, "the MASTER lines", func() bool { return len(r.got()) >= len(start) })
		if err := h.d.reload(context.Background(), readConf(t, text)); err != nil {
			t.Fatal(err)
		}
		want := start
		if on {
			want = append(want, `GROUP "G" MASTER 0`, `INSTANCE "VI_1" MASTER 150`)
			waitFor(t, "the reload's lines", func() bool { return len(r.got()) >= len(want) })
		}
		h.d.stop()
		want = append(want, `INSTANCE "VI_1" STOP 150`, `GROUP "G" STOP 0`)
		waitFor(t, "the STOP lines", func() bool { return len(r.got()) >= len(want) })
		if diff := cmp.Diff(want, r.got()); diff != "" {
			t.Errorf("fifo_write_vrrp_states_on_reload %v: lines (-want +got):\n%s", on, diff)
		}
	}
}
