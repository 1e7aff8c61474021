// Command vrrpfloor is the least a VRRP router must do in the directorbench
// topology, for finding out how much of a router's CPU the kernel's per-packet work
// takes: it reads the benchmark's generated keepalived.conf, and then the host of
// priority 150 sends every instance's VRRPv3 advert once per advert_int (all at once,
// with vrrp.IPTransport, the socket setup the director uses: one raw socket per
// interface) and the host of priority 100 reads and checks every advert and does
// nothing else. No state machine, no timers per instance, no VIPs: any real VRRP
// implementation does at least this much work per packet, so its CPU bounds from
// below what the director (and keepalived) can cost at that load.
//
//	sudo go run ./examples/directorbench -director $(go build -o /tmp/vrrpfloor ./examples/directorbench/vrrpfloor && echo /tmp/vrrpfloor)
//
// It accepts the director's command line (-f CONF -status-file F) so the benchmark
// can run it in the director's place; it reads only the lines the benchmark writes.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

type inst struct {
	iface string
	vrid  int
	prio  int
	vip   netip.Addr
	every time.Duration
}

func main() {
	conf := flag.String("f", "", "the benchmark's keepalived.conf")
	flag.String("status-file", "", "ignored (the director's flag)")
	flag.Parse()
	insts, err := readConf(*conf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vrrpfloor:", err)
		os.Exit(1)
	}
	if err := run(insts); err != nil {
		fmt.Fprintln(os.Stderr, "vrrpfloor:", err)
		os.Exit(1)
	}
}

// readConf reads the instances of a file written by directorbench's keepalivedConf.
func readConf(path string) ([]inst, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []inst
	var cur *inst
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		w := strings.Fields(sc.Text())
		if len(w) == 0 {
			continue
		}
		bad := func(err error) error { return fmt.Errorf("%s:%d: %q: %w", path, line, sc.Text(), err) }
		switch {
		case w[0] == "vrrp_instance":
			out = append(out, inst{every: time.Second})
			cur = &out[len(out)-1]
		case cur == nil:
		case w[0] == "interface" && len(w) == 2:
			cur.iface = w[1]
		case w[0] == "virtual_router_id" && len(w) == 2:
			if cur.vrid, err = strconv.Atoi(w[1]); err != nil {
				return nil, bad(err)
			}
		case w[0] == "priority" && len(w) == 2:
			if cur.prio, err = strconv.Atoi(w[1]); err != nil {
				return nil, bad(err)
			}
		case w[0] == "advert_int" && len(w) == 2:
			s, err := strconv.ParseFloat(w[1], 64)
			if err != nil {
				return nil, bad(err)
			}
			cur.every = time.Duration(s * float64(time.Second))
		case strings.Contains(w[0], "/"):
			p, err := netip.ParsePrefix(w[0])
			if err != nil {
				return nil, bad(err)
			}
			cur.vip = p.Addr()
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i, in := range out {
		if in.iface == "" || in.vrid < 1 || in.vrid > 255 || !in.vip.Is4() || in.prio < 1 {
			return nil, fmt.Errorf("%s: instance %d incomplete: %+v", path, i+1, in)
		}
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no vrrp_instance")
	}
	return out, nil
}

func run(insts []inst) error {
	byIf := map[string][]inst{}
	for _, in := range insts {
		byIf[in.iface] = append(byIf[in.iface], in)
	}
	names := make([]string, 0, len(byIf))
	for n := range byIf {
		names = append(names, n)
	}
	sort.Strings(names)
	group := netip.MustParseAddr("224.0.0.18")
	type link struct {
		t   *vrrp.IPTransport
		src netip.Addr
		ads [][]byte
	}
	var links []link
	for _, n := range names {
		t, err := vrrp.ListenIP(&vrrp.TransportConfig{Interface: n})
		if err != nil {
			return err
		}
		src, err := vrrp.InterfaceAddr(n, false)
		if err != nil {
			return err
		}
		l := link{t: t, src: src}
		for _, in := range byIf[n] {
			a := vrrp.Advert{Version: 3, Type: 1, VRID: uint8(in.vrid), Priority: uint8(in.prio),
				Interval: uint16(in.every / (10 * time.Millisecond)), Addrs: []netip.Addr{in.vip}}
			b, err := a.Append(nil, src, group)
			if err != nil {
				return err
			}
			l.ads = append(l.ads, b)
		}
		links = append(links, l)
	}
	// The priority-150 host sends; the other only receives.
	master := insts[0].prio == 150
	for _, l := range links {
		go func() {
			buf := make([]byte, 1500)
			var a vrrp.Advert
			a.Addrs = make([]netip.Addr, 0, 16)
			for {
				n, info, err := l.t.ReadFrom(buf)
				if err != nil {
					fmt.Fprintln(os.Stderr, "vrrpfloor: read:", err)
					return
				}
				_ = vrrp.Parse(buf[:n], info.Src, info.Dst, &a)
			}
		}()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	if !master {
		<-stop
		return nil
	}
	tick := time.NewTicker(insts[0].every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		for _, l := range links {
			for _, b := range l.ads {
				if err := l.t.WriteTo(b, l.src, group); err != nil {
					fmt.Fprintln(os.Stderr, "vrrpfloor: send:", err)
				}
			}
		}
	}
}
