package vrrp_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vrrp"
	"golang.org/x/sys/unix"
)

// These measurements take minutes and are not run by default: set LVSKIT_VRRP_BENCH=1.
// docs/benchmarks/vrrp.md records their results.
func requireBench(t *testing.T) {
	t.Helper()
	if os.Getenv("LVSKIT_VRRP_BENCH") == "" {
		t.Skip("set LVSKIT_VRRP_BENCH=1 to run the failover and CPU measurements (minutes)")
	}
	if testenv.InGuest() {
		t.Skip("measurements run on the host, not under emulation")
	}
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived", "ip")
}

type seen struct {
	at   time.Time
	src  netip.Addr
	prio uint8
}

// observe reads every advert on eth0 in ns with the kernel transport and reports it.
func observe(t *testing.T, ns *testenv.NetNS) chan seen {
	t.Helper()
	var tr *vrrp.IPTransport
	if err := ns.Do(func() (err error) {
		tr, err = vrrp.ListenIP(&vrrp.TransportConfig{Interface: "eth0"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ch := make(chan seen, 4096)
	go func() {
		buf := make([]byte, 1500)
		var a vrrp.Advert
		for {
			n, info, err := tr.ReadFrom(buf)
			if err != nil {
				return
			}
			at := time.Now()
			if vrrp.Parse(buf[:n], info.Src, info.Dst, &a) != nil {
				continue
			}
			select {
			case ch <- seen{at, info.Src, a.Priority}:
			default:
			}
		}
	}()
	t.Cleanup(func() { tr.Close() })
	return ch
}

// setLink sets the named link in ns up or down with one ioctl, so the moment is exact.
func setLink(t *testing.T, ns *testenv.NetNS, name string, up bool) time.Time {
	t.Helper()
	var at time.Time
	if err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return err
		}
		f := ifr.Uint16()
		if up {
			f |= unix.IFF_UP
		} else {
			f &^= unix.IFF_UP
		}
		ifr.SetUint16(f)
		at = time.Now()
		return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
	}); err != nil {
		t.Fatal(err)
	}
	return at
}

// waitAdvert returns the first advert from src with a non-zero priority, and the
// last advert seen from anyone else before it.
func waitAdvert(t *testing.T, ch chan seen, src netip.Addr, within time.Duration) (got, before seen) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case s := <-ch:
			if s.src == src && s.prio != 0 {
				return s, before
			}
			before = s
		case <-timeout:
			t.Fatalf("no advert from %v within %v", src, within)
		}
	}
}

func drain(ch chan seen) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func keepalivedConf(version int, interval string, instances int, prio int) string {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id bench\n}\n")
	for i := 1; i <= instances; i++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n    state BACKUP\n    interface eth0\n    virtual_router_id %d\n    version %d\n    priority %d\n    advert_int %s\n    virtual_ipaddress {\n        198.51.100.%d/24\n    }\n}\n",
			i, i, version, prio, interval, i)
	}
	return b.String()
}

func TestIntegrationBenchFailover(t *testing.T) {
	requireBench(t)
	runs := 20
	if n, err := strconv.Atoi(os.Getenv("LVSKIT_VRRP_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	settings := []struct {
		name     string
		version  int
		interval time.Duration
		kInt     string
	}{
		{"v2 1s", 2, time.Second, "1"},
		{"v3 100ms", 3, 100 * time.Millisecond, "0.1"},
		{"v3 10ms", 3, 10 * time.Millisecond, "0.01"},
	}
	for _, st := range settings {
		for _, impl := range []string{"lvskit", "keepalived"} {
			t.Run(st.name+" "+impl, func(t *testing.T) {
				t.Parallel()
				seg := testenv.NewSegment(t)
				nsM, nsB, nsO := testenv.NewNetNS(t), testenv.NewNetNS(t), testenv.NewNetNS(t)
				portM := seg.Attach(t, nsM, "eth0")
				seg.Attach(t, nsB, "eth0")
				seg.Attach(t, nsO, "eth0")
				addrM, addrB := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
				nsM.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
				nsB.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
				nsO.MustExec(t, "ip", "addr", "add", "192.0.2.3/24", "dev", "eth0")
				obs := observe(t, nsO)
				if impl == "lvskit" {
					tc := vrrp.TransportConfig{Interface: "eth0"}
					c := func(p uint8, a netip.Addr) vrrp.Config {
						return vrrp.Config{VRID: 1, Version: st.version, Priority: p, AdvertInterval: st.interval, Primary: a, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}}
					}
					startNS(t, nsM, tc, c(100, addrM))
					startNS(t, nsB, tc, c(90, addrB))
				} else {
					startKeepalived(t, nsM, keepalivedConf(st.version, st.kInt, 1, 100))
					startKeepalived(t, nsB, keepalivedConf(st.version, st.kInt, 1, 90))
				}
				limit := vrrp.MasterDownInterval(st.version, 90, st.interval)
				var fromCut, fromLast []time.Duration
				for range runs {
					// The master is established: its adverts and none from the backup.
					waitAdvert(t, obs, addrM, 30*time.Second)
					time.Sleep(2 * limit)
					drain(obs)
					lastM, _ := waitAdvert(t, obs, addrM, 10*time.Second)
					// Crash at a random moment within the interval after an advert.
					time.Sleep(time.Duration(rand.Int64N(int64(st.interval))))
					cut := setLink(t, seg.Hub(), portM, false)
					got, last := waitAdvert(t, obs, addrB, limit+10*time.Second)
					if last.src != addrM {
						last = lastM // no advert from the master between the two waits
					}
					fromCut = append(fromCut, got.at.Sub(cut))
					fromLast = append(fromLast, got.at.Sub(last.at))
					setLink(t, seg.Hub(), portM, true)
				}
				t.Logf("RESULT %s %s: limit %v; from the cut: %s; from the master's last advert: %s",
					st.name, impl, limit, stats(fromCut), stats(fromLast))
			})
		}
	}
}

func stats(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }
	return fmt.Sprintf("n=%d min %s median %s p90 %s max %s", len(s), ms(s[0]), ms(s[len(s)/2]), ms(s[len(s)*9/10]), ms(s[len(s)-1]))
}

// cpuTicks returns the user+system clock ticks of every process in ns.
func cpuTicks(t *testing.T, ns ...*testenv.NetNS) int64 {
	var total int64
	for _, n := range ns {
		out, _ := testenv.Run("ip", "netns", "pids", n.Name)
		for _, p := range strings.Fields(out) {
			b, err := os.ReadFile("/proc/" + p + "/stat")
			if err != nil {
				continue
			}
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			total += u + s
		}
	}
	return total
}

func selfCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestIntegrationBenchCPU(t *testing.T) {
	requireBench(t)
	const instances = 250
	const window = 10 * time.Second
	for _, impl := range []string{"lvskit", "keepalived"} {
		t.Run(impl, func(t *testing.T) {
			seg := testenv.NewSegment(t)
			nsM, nsB := testenv.NewNetNS(t), testenv.NewNetNS(t)
			seg.Attach(t, nsM, "eth0")
			seg.Attach(t, nsB, "eth0")
			nsM.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
			nsB.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
			var used time.Duration
			if impl == "lvskit" {
				mk := func(p uint8, a netip.Addr) []vrrp.Config {
					var cs []vrrp.Config
					for i := 1; i <= instances; i++ {
						cs = append(cs, vrrp.Config{VRID: uint8(i), Priority: p, AdvertInterval: 100 * time.Millisecond, Primary: a,
							Addrs: []netip.Addr{netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})}})
					}
					return cs
				}
				m := startNS(t, nsM, vrrp.TransportConfig{Interface: "eth0"}, mk(200, netip.MustParseAddr("192.0.2.1"))...)
				b := startNS(t, nsB, vrrp.TransportConfig{Interface: "eth0"}, mk(100, netip.MustParseAddr("192.0.2.2"))...)
				time.Sleep(3 * time.Second)
				for _, s := range m.r.Snapshot() {
					if s.State != vrrp.StateMaster {
						t.Fatalf("%s is %v", s.Name, s.State)
					}
				}
				c0, t0 := selfCPU(), time.Now()
				time.Sleep(window)
				used = selfCPU() - c0
				el := time.Since(t0)
				rx := b.r.Counters().RxAdverts
				t.Logf("RESULT lvskit %d instances at 0.1s: CPU %v over %v = %.1f%% of one core (backup accepted %d adverts)",
					instances, used.Round(time.Millisecond), el.Round(time.Millisecond), 100*float64(used)/float64(el), rx)
				return
			}
			startKeepalived(t, nsM, keepalivedConf(3, "0.1", instances, 200))
			startKeepalived(t, nsB, keepalivedConf(3, "0.1", instances, 100))
			time.Sleep(5 * time.Second)
			tick := int64(100) // USER_HZ on Linux
			c0, t0 := cpuTicks(t, nsM, nsB), time.Now()
			time.Sleep(window)
			ticks := cpuTicks(t, nsM, nsB) - c0
			el := time.Since(t0)
			used = time.Duration(ticks) * time.Second / time.Duration(tick)
			t.Logf("RESULT keepalived %d instances at 0.1s: CPU %v over %v = %.1f%% of one core",
				instances, used, el.Round(time.Millisecond), 100*float64(used)/float64(el))
		})
	}
}
