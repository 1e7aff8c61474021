package vrrp_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// TestRouterOnLowerPriorityAdvert: a Master that receives an advert of lower priority
// reports it once per advert and stays Master; a Backup receiving the same does not.
func TestRouterOnLowerPriorityAdvert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		ep := nw.Attach(addrA)
		var mu sync.Mutex
		var got []string
		r, err := vrrp.NewRouter(&vrrp.RouterConfig{
			Instances: []vrrp.Config{inst("a", 51, 200, addrA, nil), inst("b", 52, 100, addrA, nil)},
			Transport: ep,
			OnLowerPriorityAdvert: func(name string) {
				mu.Lock()
				got = append(got, name)
				mu.Unlock()
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		time.Sleep(time.Second)
		for _, s := range r.Snapshot() {
			if s.State != vrrp.StateMaster {
				t.Fatalf("%s is %v, want MASTER", s.Name, s.State)
			}
		}
		// A peer's advert for VRID 51 at priority 100, crafted from one of a's own.
		sent := ep.Sent()
		var adv vrrp.Advert
		var p vrrptest.Packet
		for _, p = range sent {
			if err := vrrp.Parse(p.Data, p.Src, p.Dst, &adv); err == nil && adv.VRID == 51 {
				break
			}
		}
		if adv.VRID != 51 {
			t.Fatal("no advert of VRID 51 sent")
		}
		inject := func(prio uint8) {
			a := adv
			a.Priority = prio
			b, err := a.Append(nil, addrB, p.Dst)
			if err != nil {
				t.Fatal(err)
			}
			ep.Inject(vrrptest.Packet{Data: b, Src: addrB, Dst: p.Dst, TTL: 255})
			synctest.Wait()
		}
		inject(100)
		inject(0) // resigning: not a lower priority advert
		inject(150)
		mu.Lock()
		if len(got) != 2 || got[0] != "a" || got[1] != "a" {
			t.Errorf("OnLowerPriorityAdvert calls %q, want a twice", got)
		}
		mu.Unlock()
		if s := r.Snapshot()[0]; s.State != vrrp.StateMaster {
			t.Errorf("a is %v after lower adverts, want MASTER", s.State)
		}
		// A higher priority advert makes a Backup, which reports nothing.
		inject(250)
		inject(100)
		mu.Lock()
		if len(got) != 2 {
			t.Errorf("OnLowerPriorityAdvert calls %q after a became BACKUP, want still two", got)
		}
		mu.Unlock()
		if s := r.Snapshot()[0]; s.State != vrrp.StateBackup {
			t.Errorf("a is %v after a higher advert, want BACKUP", s.State)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
