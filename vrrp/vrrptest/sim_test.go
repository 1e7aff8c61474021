package vrrptest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// scenarios returns how many random scenarios TestRandomizedElection runs: 10,000, or
// 500 with -short and in the emulated kernel-test guest (the host runs the full set).
// On the development VM 10,000 take 1.5-5 s, and 10-17 s under the race detector.
func scenarios() int {
	if testing.Short() || inGuest() {
		return 500
	}
	return 10000
}

// scenario runs one seeded random scenario (v2 or v3, IPv4 or IPv6, multicast or
// unicast peers) and returns an error if, after the network
// heals and one Master_Down_Interval (plus the worst delivery delay) passes, there is
// not exactly one Master or it is not the one RFC 9568 elects.
func scenario(seed uint64, st *simStats) error {
	rng := rand.New(rand.NewPCG(seed, 42))
	n := 2 + rng.IntN(4)
	version := 2 + rng.IntN(2)
	interval := time.Second
	if version == 3 {
		interval = []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second}[rng.IntN(3)]
	}
	// Delays stay well below the interval, as on a LAN.
	maxDelay := interval / 10
	imp := Impairments{
		Delay:     time.Duration(rng.Int64N(int64(maxDelay/4) + 1)),
		Jitter:    time.Duration(rng.Int64N(int64(maxDelay/4) + 1)),
		Loss:      rng.Float64() * 0.3,
		Duplicate: rng.Float64() * 0.1,
		Reorder:   rng.Float64() * 0.1,
	}
	seg := NewSegment(SegmentConfig{Seed: seed, Impairments: imp})
	// Priorities: sometimes from a small set, so ties (and the address tie-break) are
	// common; sometimes one owner with 255.
	tied := rng.IntN(3) == 0
	prio := func() uint8 {
		if tied {
			return []uint8{100, 150}[rng.IntN(2)]
		}
		return uint8(1 + rng.IntN(254))
	}
	owner := -1
	if rng.IntN(8) == 0 {
		owner = rng.IntN(n)
	}
	pass := ""
	if version == 2 && rng.IntN(2) == 0 {
		pass = "secret"
	}
	// Some v3 scenarios run over IPv6, some scenarios use unicast peers (full mesh).
	v6 := version == 3 && rng.IntN(4) == 0
	unicast := rng.IntN(4) == 0
	addrs := rng.Perm(n)
	addrOf := func(i int) netip.Addr {
		if v6 {
			return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 15: byte(10 + addrs[i])})
		}
		return netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + addrs[i])})
	}
	vip := netip.MustParseAddr("203.0.113.7")
	if v6 {
		vip = netip.MustParseAddr("2001:db8::7")
	}
	for i := range n {
		p := prio()
		if i == owner {
			p = 255
		}
		c := vrrp.Config{
			Name:           fmt.Sprintf("r%d", i),
			Version:        version,
			VRID:           7,
			Priority:       p,
			AdvertInterval: interval,
			Primary:        addrOf(i),
			Addrs:          []netip.Addr{vip},
		}
		if unicast {
			for j := range n {
				if j != i {
					c.Peers = append(c.Peers, addrOf(j))
				}
			}
		}
		c.AuthPass = pass
		if _, err := seg.Add(&c); err != nil {
			return err
		}
	}
	nodes := seg.Nodes()
	// Start at random moments within one interval.
	for _, nd := range nodes {
		seg.Run(time.Duration(rng.Int64N(int64(interval))))
		nd.Start()
	}
	// Chaos: partitions, heals, loss changes and priority changes at random moments.
	steps := 5 + rng.IntN(15)
	for range steps {
		seg.Run(time.Duration(rng.Int64N(int64(3 * interval))))
		switch rng.IntN(5) {
		case 0:
			groups := make([][]*Node, 1+rng.IntN(n))
			for _, nd := range nodes {
				g := rng.IntN(len(groups))
				groups[g] = append(groups[g], nd)
			}
			seg.Partition(groups...)
		case 1:
			seg.Heal()
		case 2:
			imp.Loss = rng.Float64() * 0.5
			seg.SetImpairments(imp)
		default:
			i := rng.IntN(n)
			if i != owner {
				nodes[i].SetPriority(prio())
			}
		}
	}
	// Heal: everyone hears everyone, no loss (delay, jitter, duplicates and
	// reordering stay).
	seg.Heal()
	imp.Loss = 0
	seg.SetImpairments(imp)
	healed := seg.Now()
	top := uint8(0)
	for _, nd := range nodes {
		top = max(top, nd.Machine().Priority())
	}
	// Contenders: nodes with the top priority that are Master at the heal or become
	// Master after it.
	contender := make([]bool, n)
	for i, nd := range nodes {
		contender[i] = nd.State() == vrrp.StateMaster
	}
	mdi := vrrp.MasterDownInterval(version, 1, interval) // the longest any node waits
	seg.Run(mdi + 2*(imp.Delay+imp.Jitter) + 2*(2*imp.Delay+imp.Jitter))
	for i, nd := range nodes {
		for _, tr := range nd.Transitions {
			if !tr.Time.Before(healed) && tr.To == vrrp.StateMaster {
				contender[i] = true
			}
		}
	}
	st.sent += seg.Sent
	st.delivered += seg.Delivered
	for _, nd := range nodes {
		st.transitions += len(nd.Transitions)
	}
	m, err := seg.ExactlyOneMaster()
	if err != nil {
		return err
	}
	// RFC 9568: the highest priority wins; among equal priorities an existing Master
	// is kept, and Masters that meet keep the one with the greatest address.
	var want *Node
	for i, nd := range nodes {
		if nd.Machine().Priority() != top || !contender[i] {
			continue
		}
		if want == nil || nd.Addr().Compare(want.Addr()) > 0 {
			want = nd
		}
	}
	ties := 0
	for i, nd := range nodes {
		if contender[i] && nd.Machine().Priority() == top {
			ties++
		}
	}
	if ties > 1 {
		st.tieBreaks++
	}
	if m != want {
		wantName := "none"
		if want != nil {
			wantName = want.Name()
		}
		return fmt.Errorf("master %s, want %s (top priority %d): %s", m.Name(), wantName, top, seg)
	}
	if p := m.Machine().Priority(); p != top {
		return fmt.Errorf("master %s has priority %d, not the top %d", m.Name(), p, top)
	}
	return nil
}

type simStats struct {
	sent, delivered uint64
	transitions     int
	tieBreaks       int
}

func TestRandomizedElection(t *testing.T) {
	n := scenarios()
	start := time.Now()
	failed := 0
	var st simStats
	for seed := range uint64(n) {
		if err := scenario(seed, &st); err != nil {
			failed++
			t.Errorf("seed %d: %v", seed, err)
			if failed >= 10 {
				t.Fatal("giving up after 10 failures")
			}
		}
	}
	t.Logf("%d scenarios in %v: %d adverts sent, %d delivered, %d state changes, %d settled by the address tie-break",
		n, time.Since(start), st.sent, st.delivered, st.transitions, st.tieBreaks)
	// The scenarios must exercise the protocol, not pass vacuously.
	if st.tieBreaks < n/100 || st.transitions < 3*n {
		t.Errorf("scenarios too tame: %+v", st)
	}
}

// TestScenarioDeterministic checks that a seed fully determines a run.
func TestScenarioDeterministic(t *testing.T) {
	run := func() string {
		seg := NewSegment(SegmentConfig{Seed: 99, Impairments: Impairments{Delay: time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.2, Duplicate: 0.1, Reorder: 0.1}})
		for i := range 3 {
			seg.Add(&vrrp.Config{VRID: 1, Priority: uint8(100 + i), AdvertInterval: 100 * time.Millisecond,
				Primary: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.1")}})
		}
		var log []string
		seg.Trace = func(l string) { log = append(log, l) }
		seg.StartAll()
		seg.Run(5 * time.Second)
		return fmt.Sprint(log, seg.Sent, seg.Delivered)
	}
	if a, b := run(), run(); a != b {
		t.Errorf("two runs with one seed differ:\n%s\n%s", a, b)
	}
}
