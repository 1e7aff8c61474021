package main

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// staticView is a vrrpView source a test sets.
type staticView struct {
	mu sync.Mutex
	v  vrrpView
}

func (s *staticView) view() vrrpView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v
}

func (s *staticView) set(states map[string]vrrp.State, insts ...instView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.v = vrrpView{byName: states}
	for _, iv := range insts {
		iv.state = states[iv.name]
		s.v.insts = append(s.v.insts, iv)
	}
}

// announceLog is a fake VIP backend that records every announcement.
type announceLog struct {
	fakeVIPs
	amu  sync.Mutex
	anns []string
	pols []vip.Policy
}

func (a *announceLog) Announce(_ context.Context, iface string, p vip.Policy, addrs []netip.Addr) error {
	a.amu.Lock()
	defer a.amu.Unlock()
	for _, x := range addrs {
		a.anns = append(a.anns, iface+" "+x.String())
	}
	a.pols = append(a.pols, p)
	return nil
}

func (a *announceLog) take() ([]string, []vip.Policy) {
	a.amu.Lock()
	defer a.amu.Unlock()
	s, p := a.anns, a.pols
	a.anns, a.pols = nil, nil
	slices.Sort(s)
	return s, p
}

// TestLowerPrioGARP: an instance that receives a lower priority advert as MASTER
// announces its VIPs again with garp_lower_prio_repeat rounds now and as many after
// garp_lower_prio_delay (with its garp_interval); one with repeat 0, or no longer
// MASTER, announces nothing.
func TestLowerPrioGARP(t *testing.T) {
	master := vip.Policy{Count: 5, Interval: 10 * time.Millisecond, RepeatDelay: 5 * time.Second, RepeatCount: 5}
	a := instView{name: "A", vips: []vip.Address{{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.100/24")}},
		garp4: master, garp6: master, lower: lowerPrioGARP{repeat: 3, delay: 2 * time.Second}}
	b := instView{name: "B", vips: []vip.Address{{Interface: "eth1", Prefix: netip.MustParsePrefix("198.51.100.1/24")}},
		garp4: master, garp6: master, lower: lowerPrioGARP{repeat: 0, delay: 2 * time.Second}}
	src := &staticView{}
	src.set(map[string]vrrp.State{"A": vrrp.StateMaster, "B": vrrp.StateMaster}, a, b)
	vb := &announceLog{}
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, vb)
	ctx := context.Background()
	step := func() {
		t.Helper()
		if _, err := r.reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		r.bg.Wait()
	}
	step()
	anns, pols := vb.take()
	if want := []string{"eth0 192.0.2.100", "eth1 198.51.100.1"}; !cmp.Equal(want, anns) || len(pols) != 2 || pols[0] != master {
		t.Fatalf("becoming MASTER announced %v with %v, want %v with the master policy", anns, pols, want)
	}

	r.lowerPrioAdvert("A")
	r.lowerPrioAdvert("B")
	r.lowerPrioAdvert("A") // two before a reconcile are one burst
	select {
	case <-r.kick:
	default:
		t.Error("a lower priority advert did not mark the director dirty")
	}
	step()
	anns, pols = vb.take()
	want := vip.Policy{Count: 3, Interval: 10 * time.Millisecond, RepeatDelay: 2 * time.Second, RepeatCount: 3}
	if !cmp.Equal([]string{"eth0 192.0.2.100"}, anns) || !cmp.Equal([]vip.Policy{want}, pols) {
		t.Errorf("after lower priority adverts: announced %v with %+v, want A's VIP with %+v", anns, pols, want)
	}
	step()
	if anns, _ := vb.take(); len(anns) != 0 {
		t.Errorf("a reconcile without a new lower priority advert announced %v", anns)
	}

	// No longer MASTER: nothing is announced, and the burst is stopped.
	r.lowerPrioAdvert("A")
	src.set(map[string]vrrp.State{"A": vrrp.StateBackup, "B": vrrp.StateMaster}, a, b)
	step()
	if anns, _ := vb.take(); len(anns) != 0 {
		t.Errorf("a BACKUP announced %v", anns)
	}
	if len(r.lower.running) != 0 {
		t.Errorf("bursts still running for %v", r.lower.running)
	}
	r.stopAnnouncing()
}

// TestLowerPrioGARPSyncGroup: as keepalived 2.2.7 does, a lower priority advert
// to one member of a sync group also starts the bursts of the group's other
// MASTER members, each with its own repeat and delay; a member with repeat 0, a
// member that is not MASTER and an instance of another group announce nothing.
func TestLowerPrioGARPSyncGroup(t *testing.T) {
	master := vip.Policy{Count: 5, Interval: 10 * time.Millisecond, RepeatDelay: 5 * time.Second, RepeatCount: 5}
	mk := func(name, group, addr string, repeat int, delay time.Duration) instView {
		return instView{name: name, group: group, vips: []vip.Address{{Interface: "eth0", Prefix: netip.MustParsePrefix(addr)}},
			garp4: master, garp6: master, lower: lowerPrioGARP{repeat: repeat, delay: delay}}
	}
	a := mk("A", "G", "192.0.2.1/24", 3, 2*time.Second)
	b := mk("B", "G", "192.0.2.2/24", 2, time.Second)
	c := mk("C", "G", "192.0.2.3/24", 0, time.Second)
	d := mk("D", "G", "192.0.2.4/24", 4, time.Second)
	e := mk("E", "H", "192.0.2.5/24", 4, time.Second)
	src := &staticView{}
	src.set(map[string]vrrp.State{"A": vrrp.StateMaster, "B": vrrp.StateMaster, "C": vrrp.StateMaster,
		"D": vrrp.StateBackup, "E": vrrp.StateMaster}, a, b, c, d, e)
	vb := &announceLog{}
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, vb)
	ctx := context.Background()
	if _, err := r.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	r.bg.Wait()
	vb.take()

	r.lowerPrioAdvert("A")
	if _, err := r.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	r.bg.Wait()
	anns, pols := vb.take()
	if want := []string{"eth0 192.0.2.1", "eth0 192.0.2.2"}; !cmp.Equal(want, anns) {
		t.Errorf("announced %v, want A's and B's VIPs only", anns)
	}
	slices.SortFunc(pols, func(x, y vip.Policy) int { return x.Count - y.Count })
	want := []vip.Policy{
		{Count: 2, Interval: 10 * time.Millisecond, RepeatDelay: time.Second, RepeatCount: 2},
		{Count: 3, Interval: 10 * time.Millisecond, RepeatDelay: 2 * time.Second, RepeatCount: 3},
	}
	if !cmp.Equal(want, pols) {
		t.Errorf("policies %+v, want each member's own %+v", pols, want)
	}
	r.stopAnnouncing()
}
