package vrrp

import (
	"testing"
	"time"
)

// FuzzMachine drives a Machine with random inputs and checks that it never panics and
// that its invariants hold after every input: the effective priority is in range, the
// timers armed match the state (Master: Adver_Timer only; Backup: Master_Down_Timer
// only; otherwise none), state-change actions chain, and only a Master advertises
// (except the priority-0 advert that leaves Master).
func FuzzMachine(f *testing.F) {
	f.Add(uint8(3), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(uint8(2), []byte{1, 200, 1, 1, 0, 0, 2, 2, 5, 0, 1, 100})
	f.Add(uint8(3), []byte{9, 9, 9, 1, 255, 1, 0, 0, 0, 3, 1, 7, 0, 7, 1})
	f.Fuzz(func(t *testing.T, version uint8, ops []byte) {
		c := cfg3(func(c *Config) {
			c.Version = 2 + int(version%2)
			c.Priority = 1 + version%255
			c.Trackers = []TrackerConfig{{Weight: -50, Fall: 2}, {Weight: 0}, {Weight: 30, Rise: 2}}
			c.PreemptDelay = time.Duration(version%3) * time.Second
		})
		m := newM(t, c)
		var armed [2]uint64 // generation armed per timer, 0 for none
		now := t0
		next := func() byte {
			if len(ops) == 0 {
				return 0
			}
			b := ops[0]
			ops = ops[1:]
			return b
		}
		apply := func(what string, acts []Action, startState State) {
			st := startState
			for _, a := range acts {
				switch a.Kind {
				case ActArm:
					armed[a.Timer] = a.Gen
				case ActStop:
					armed[a.Timer] = 0
				case ActState:
					if a.From != st {
						t.Fatalf("%s: change from %v while in %v", what, a.From, st)
					}
					st = a.To
				case ActSend:
					// becomeMaster sends before its state-change action, so a non-zero
					// advert is fine if the list ends in Master.
					if a.Priority != 0 && st != StateMaster && m.State() != StateMaster {
						t.Fatalf("%s: advert at priority %d from %v", what, a.Priority, st)
					}
				}
			}
			if st != m.State() {
				t.Fatalf("%s: actions end in %v, machine in %v", what, st, m.State())
			}
			p := m.Priority()
			if m.BasePriority() == 255 && p != 255 || m.BasePriority() != 255 && (p < 1 || p > 254) {
				t.Fatalf("%s: priority %d with base %d", what, p, m.BasePriority())
			}
			wantAdver, wantDown := m.State() == StateMaster, m.State() == StateBackup
			if (armed[TimerAdver] != 0) != wantAdver || (armed[TimerMasterDown] != 0) != wantDown {
				t.Fatalf("%s: in %v with timers adver=%d down=%d", what, m.State(), armed[TimerAdver], armed[TimerMasterDown])
			}
		}
		apply("new", nil, StateInit)
		for steps := 0; len(ops) > 0 && steps < 1000; steps++ {
			now = now.Add(time.Duration(next()) * 10 * time.Millisecond)
			before := m.State()
			switch op := next() % 10; op {
			case 0:
				apply("start", m.Start(now, nil), before)
			case 1, 2, 3:
				a := &Advert{}
				m.Advert(next(), a)
				if b := next(); b%4 == 0 {
					a.Interval = uint16(b) * 10
				}
				src := peerL
				if next()%2 == 0 {
					src = peerH
				}
				ttl := uint8(255)
				if next()%8 == 0 {
					ttl = 1
				}
				acts, _ := m.Receive(now, &Received{Src: src, Dst: MulticastIPv4, TTL: ttl, Advert: a}, nil)
				apply("receive", acts, before)
			case 4:
				tm := Timer(next() % 2)
				gen := armed[tm]
				if next()%3 == 0 {
					gen = uint64(next()) // most likely stale
				}
				if gen == armed[tm] && gen != 0 {
					armed[tm] = 0 // the timer fired
				}
				apply("expire", m.Expire(now, tm, gen, nil), before)
			case 5:
				apply("priority", m.SetPriority(now, next(), nil), before)
			case 6:
				apply("track", m.Track(now, int(next()%4), next()%2 == 0, nil), before)
			case 7:
				apply("interface", m.SetInterfaceUp(now, next()%4 != 0, nil), before)
			case 8:
				if next()%2 == 0 {
					apply("shutdown", m.Shutdown(now, nil), before)
				} else {
					apply("sync fault", m.SetSyncFault(now, next()%2 == 0, nil), before)
				}
			case 9:
				apply("sync", m.SyncTo(now, State(next()%4), nil), before)
			}
		}
	})
}
