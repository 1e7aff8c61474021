package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	peerL = netip.MustParseAddr("192.0.2.0") // below src4
	peerH = netip.MustParseAddr("192.0.2.9") // above src4
)

func cfg3(mod func(*Config)) *Config {
	c := &Config{VRID: 51, Primary: src4, Addrs: []netip.Addr{vip4}}
	if mod != nil {
		mod(c)
	}
	return c
}

func cfg2(mod func(*Config)) *Config {
	return cfg3(func(c *Config) {
		c.Version = 2
		if mod != nil {
			mod(c)
		}
	})
}

func newM(t *testing.T, c *Config) *Machine {
	t.Helper()
	m, err := NewMachine(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// started returns a Machine after Start, and the Start actions.
func started(t *testing.T, c *Config) (*Machine, []Action) {
	t.Helper()
	m := newM(t, c)
	return m, m.Start(t0, nil)
}

// advert builds a received advert matching m's configuration.
func advert(m *Machine, src netip.Addr, prio uint8) *Received {
	a := &Advert{}
	m.Advert(prio, a)
	return &Received{Src: src, Dst: MulticastIPv4, TTL: 255, Advert: a}
}

func recv(t *testing.T, m *Machine, rx *Received) []Action {
	t.Helper()
	out, err := m.Receive(t0, rx, nil)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return out
}

func diffActions(t *testing.T, what string, want, got []Action) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s actions (-want +got):\n%s", what, diff)
	}
}

// expire fires the latest arming of timer tm found in acts.
func expire(t *testing.T, m *Machine, tm Timer, acts []Action) []Action {
	t.Helper()
	for i := len(acts) - 1; i >= 0; i-- {
		if acts[i].Kind == ActArm && acts[i].Timer == tm {
			return m.Expire(t0, tm, acts[i].Gen, nil)
		}
	}
	t.Fatalf("no %v timer armed in %+v", tm, acts)
	return nil
}

func stateOf(acts []Action) (State, Reason, bool) {
	for _, a := range acts {
		if a.Kind == ActState {
			return a.To, a.Reason, true
		}
	}
	return 0, 0, false
}

// toMaster drives a Backup to Master by its down timer.
func toMaster(t *testing.T, m *Machine, acts []Action) []Action {
	t.Helper()
	out := expire(t, m, TimerMasterDown, acts)
	if m.State() != StateMaster {
		t.Fatalf("state after down timer = %v, want MASTER", m.State())
	}
	return out
}

func TestConformance01RxTTL(t *testing.T) {
	for _, ttl := range []uint8{0, 1, 64, 254} {
		m, _ := started(t, cfg3(nil))
		rx := advert(m, peerH, 200)
		rx.TTL = ttl
		out, err := m.Receive(t0, rx, nil)
		if !errors.Is(err, DropTTL) || len(out) != 0 {
			t.Errorf("TTL %d: err %v, actions %v; want %v and none", ttl, err, out, DropTTL)
		}
	}
	m, _ := started(t, cfg3(nil))
	if _, err := m.Receive(t0, advert(m, peerH, 200), nil); err != nil {
		t.Errorf("TTL 255: %v", err)
	}
}

// receiveBytes runs raw bytes through Parse and Machine.Receive as a Router does.
func receiveBytes(m *Machine, b []byte, src, dst netip.Addr) ([]Action, error) {
	var a Advert
	if err := Parse(b, src, dst, &a); err != nil {
		return nil, err
	}
	return m.Receive(t0, &Received{Src: src, Dst: dst, TTL: 255, Advert: &a}, nil)
}

func TestConformance02RxDiscards(t *testing.T) {
	good := func(mod func(*Advert)) []byte {
		a := Advert{Version: 3, VRID: 51, Priority: 200, Interval: 100, Addrs: []netip.Addr{vip4}}
		if mod != nil {
			mod(&a)
		}
		b, err := a.Append(nil, peerH, MulticastIPv4)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withByte := func(b []byte, i int, v byte) []byte {
		b[i] = v
		b[6], b[7] = 0, 0
		s := checksum(pseudoSum(peerH, MulticastIPv4, len(b)), b)
		b[6], b[7] = byte(s>>8), byte(s)
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want DropReason
	}{
		{"wrong version for the instance", good(func(a *Advert) { a.Version = 2 }), DropVersion},
		{"unknown version", withByte(good(nil), 0, 0x51), DropVersion},
		{"type not 1", withByte(good(nil), 0, 0x32), DropType},
		{"truncated", good(nil)[:10], DropTruncated},
		{"bad checksum", withByte(good(nil), 2, 201)[:12], DropChecksum},
		{"unknown VRID", good(func(a *Advert) { a.VRID = 52 }), DropVRID},
		{"count 0", withByte(good(nil)[:8], 3, 0), DropCountZero},
		{"interval 0", withByte(good(nil), 5, 0), DropIntervalZero},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, start := started(t, cfg3(nil))
			if tt.name == "bad checksum" {
				tt.b[7]++
			}
			out, err := receiveBytes(m, tt.b, peerH, MulticastIPv4)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if len(out) != 0 {
				t.Errorf("dropped packet produced actions %v", out)
			}
			// The down timer from Start is still the live one: the packet changed nothing.
			if got := expire(t, m, TimerMasterDown, start); len(got) == 0 || m.State() != StateMaster {
				t.Errorf("dropped packet disturbed the down timer")
			}
		})
	}
	m, _ := started(t, cfg3(nil))
	if _, err := receiveBytes(m, good(nil), peerH, MulticastIPv4); err != nil {
		t.Errorf("valid advert: %v", err)
	}
}

func TestConformance03ChecksumForms(t *testing.T) { TestChecksumForms(t) }

func TestConformance04V2Auth(t *testing.T) {
	tests := []struct {
		name string
		ours string
		mod  func(*Advert)
		want DropReason
	}{
		{"no auth received, PASS expected", "1111", func(a *Advert) { a.AuthType, a.AuthData = AuthNone, [8]byte{} }, DropAuthType},
		{"PASS received, none expected", "", func(a *Advert) { a.AuthType, a.AuthData = AuthSimple, [8]byte{'1'} }, DropAuthType},
		{"wrong password", "1111", func(a *Advert) { a.AuthData = [8]byte{'2', '2', '2', '2'} }, DropAuthPassword},
		{"password prefix only", "1111", func(a *Advert) { a.AuthData = [8]byte{'1', '1', '1'} }, DropAuthPassword},
		{"right password", "1111", nil, DropNone},
		{"no auth both sides", "", nil, DropNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := started(t, cfg2(func(c *Config) { c.AuthPass = tt.ours }))
			rx := advert(m, peerH, 200)
			if tt.mod != nil {
				tt.mod(rx.Advert)
			}
			// Through the codec, so the auth data is part of the checksum and length.
			b, err := rx.Advert.Append(nil, peerH, MulticastIPv4)
			if err != nil {
				t.Fatal(err)
			}
			_, err = receiveBytes(m, b, peerH, MulticastIPv4)
			if got := ReasonOf(err); got != tt.want {
				t.Errorf("reason = %v (err %v), want %v", got, err, tt.want)
			}
			// The auth data is counted in the length: without it the packet is truncated.
			if _, err := receiveBytes(m, b[:len(b)-AuthDataLen], peerH, MulticastIPv4); !errors.Is(err, DropTruncated) {
				t.Errorf("without auth data: %v, want %v", err, DropTruncated)
			}
		})
	}
}

func TestConformance05IntervalMismatch(t *testing.T) {
	t.Run("v2 drops", func(t *testing.T) {
		m, _ := started(t, cfg2(nil))
		rx := advert(m, peerH, 200)
		rx.Advert.Interval = 200
		if _, err := m.Receive(t0, rx, nil); !errors.Is(err, DropIntervalMismatch) {
			t.Errorf("err = %v, want %v", err, DropIntervalMismatch)
		}
	})
	t.Run("v3 backup adopts", func(t *testing.T) {
		m, _ := started(t, cfg3(nil))
		rx := advert(m, peerH, 200)
		rx.Advert.Interval = 10
		got := recv(t, m, rx)
		if m.MasterAdverInterval() != 100*time.Millisecond {
			t.Errorf("Master_Adver_Interval = %v, want 100ms", m.MasterAdverInterval())
		}
		diffActions(t, "adopt", []Action{{Kind: ActArm, Timer: TimerMasterDown, Gen: 2, After: MasterDownInterval(3, 100, 100*time.Millisecond)}}, got)
		if m.MasterAddr() != peerH {
			t.Errorf("MasterAddr = %v, want %v", m.MasterAddr(), peerH)
		}
	})
}

func TestConformance06SkewAndMasterDown(t *testing.T) {
	tests := []struct {
		name      string
		version   int
		prio      uint8
		mai       time.Duration
		skew, mdi time.Duration
	}{
		// v2: (256-p)/256 s, whatever the interval.
		{"v2 prio 100 int 1s", 2, 100, time.Second, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{"v2 prio 100 int 5s", 2, 100, 5 * time.Second, 609375 * time.Microsecond, 15609375 * time.Microsecond},
		{"v2 prio 254", 2, 254, time.Second, 7812 * time.Microsecond, 3007812 * time.Microsecond}, // 7812.5 truncated
		{"v2 prio 1", 2, 1, time.Second, 996093 * time.Microsecond, 3996093 * time.Microsecond},   // 996093.75 truncated
		// v3: (256-p) * Master_Adver_Interval / 256.
		{"v3 prio 100 int 1s", 3, 100, time.Second, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{"v3 prio 90 int 100ms", 3, 90, 100 * time.Millisecond, 64843 * time.Microsecond, 364843 * time.Microsecond},
		{"v3 prio 90 int 10ms", 3, 90, 10 * time.Millisecond, 6484 * time.Microsecond, 36484 * time.Microsecond},
		{"v3 prio 255 int 10ms", 3, 255, 10 * time.Millisecond, 39 * time.Microsecond, 30039 * time.Microsecond},
		{"v3 prio 1 int 40.95s", 3, 1, 40950 * time.Millisecond, 40790039 * time.Microsecond, 163640039 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SkewTime(tt.version, tt.prio, tt.mai); got != tt.skew {
				t.Errorf("SkewTime = %v, want %v", got, tt.skew)
			}
			if got := MasterDownInterval(tt.version, tt.prio, tt.mai); got != tt.mdi {
				t.Errorf("MasterDownInterval = %v, want %v", got, tt.mdi)
			}
			if tt.prio == 255 {
				return
			}
			// The Backup arms exactly that interval at startup.
			_, acts := started(t, cfg3(func(c *Config) {
				c.Version, c.Priority, c.AdvertInterval = tt.version, tt.prio, tt.mai
			}))
			diffActions(t, "start", []Action{
				{Kind: ActArm, Timer: TimerMasterDown, Gen: 1, After: tt.mdi},
				{Kind: ActState, From: StateInit, To: StateBackup, Reason: ReasonStartup},
			}, acts)
		})
	}
}

func TestConformance07Startup(t *testing.T) {
	t.Run("owner", func(t *testing.T) {
		m, acts := started(t, cfg3(func(c *Config) { c.Priority = 255 }))
		diffActions(t, "start", []Action{
			{Kind: ActSend, Priority: 255},
			{Kind: ActAnnounce},
			{Kind: ActArm, Timer: TimerAdver, Gen: 1, After: time.Second},
			{Kind: ActState, From: StateInit, To: StateMaster, Reason: ReasonOwner},
		}, acts)
		if !m.Accepting() {
			t.Error("owner Master does not accept packets for its addresses")
		}
	})
	t.Run("backup", func(t *testing.T) {
		m, acts := started(t, cfg3(func(c *Config) { c.Priority = 254 }))
		diffActions(t, "start", []Action{
			{Kind: ActArm, Timer: TimerMasterDown, Gen: 1, After: MasterDownInterval(3, 254, time.Second)},
			{Kind: ActState, From: StateInit, To: StateBackup, Reason: ReasonStartup},
		}, acts)
		if m.Accepting() {
			t.Error("Backup accepts packets for the virtual addresses")
		}
	})
	t.Run("start as master", func(t *testing.T) {
		m, _ := started(t, cfg3(func(c *Config) { c.StartAsMaster = true }))
		if m.State() != StateMaster {
			t.Errorf("state = %v, want MASTER", m.State())
		}
	})
}

func TestConformance08BackupPriorityZero(t *testing.T) {
	m, _ := started(t, cfg3(nil))
	recv(t, m, advert(m, peerH, 200))
	got := recv(t, m, advert(m, peerH, 0))
	diffActions(t, "priority 0", []Action{{Kind: ActArm, Timer: TimerMasterDown, Gen: 3, After: SkewTime(3, 100, time.Second)}}, got)
	out := expire(t, m, TimerMasterDown, got)
	if s, r, _ := stateOf(out); s != StateMaster || r != ReasonPeerResigned {
		t.Errorf("after skew: %v (%v), want MASTER (%v)", s, r, ReasonPeerResigned)
	}
}

func TestConformance09BackupPreemptsLower(t *testing.T) {
	m, start := started(t, cfg3(func(c *Config) { c.Priority = 200 }))
	got := recv(t, m, advert(m, peerH, 100))
	if len(got) != 0 {
		t.Errorf("lower advert was not discarded: %v", got)
	}
	// The down timer from Start keeps running and makes us Master.
	out := expire(t, m, TimerMasterDown, start)
	if s, r, _ := stateOf(out); s != StateMaster || r != ReasonTimeout {
		t.Errorf("got %v (%v), want MASTER (timeout)", s, r)
	}
}

func TestConformance10NoPreempt(t *testing.T) {
	m, start := started(t, cfg3(func(c *Config) { c.Priority = 200; c.NoPreempt = true }))
	got := recv(t, m, advert(m, peerH, 100))
	diffActions(t, "lower advert", []Action{{Kind: ActArm, Timer: TimerMasterDown, Gen: 2, After: MasterDownInterval(3, 200, time.Second)}}, got)
	// The Start timer is stale now: it does nothing.
	if out := expire(t, m, TimerMasterDown, start); len(out) != 0 || m.State() != StateBackup {
		t.Errorf("stale expiry: %v, state %v", out, m.State())
	}
}

func TestPreemptDelay(t *testing.T) {
	m, _ := started(t, cfg3(func(c *Config) { c.Priority = 200; c.PreemptDelay = 10 * time.Second }))
	at := func(d time.Duration) []Action {
		out, err := m.Receive(t0.Add(d), advert(m, peerH, 100), nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, d := range []time.Duration{0, 3 * time.Second, 9 * time.Second} {
		if got := at(d); len(got) != 1 || got[0].Kind != ActArm {
			t.Errorf("at %v: %v, want the down timer re-armed (following the lower Master)", d, got)
		}
	}
	last := at(9 * time.Second)
	if got := at(10 * time.Second); len(got) != 0 {
		t.Errorf("after the delay: %v, want the advert discarded", got)
	}
	if out := expire(t, m, TimerMasterDown, last); m.State() != StateMaster {
		t.Errorf("after the delay the Backup did not preempt: %v", out)
	}
}

func TestConformance11MasterPriorityZero(t *testing.T) {
	m, acts := started(t, cfg3(nil))
	toMaster(t, m, acts)
	got := recv(t, m, advert(m, peerH, 0))
	diffActions(t, "priority 0", []Action{
		{Kind: ActSend, Priority: 100},
		{Kind: ActArm, Timer: TimerAdver, Gen: 2, After: time.Second},
	}, got)
}

func TestConformance12MasterStepsDown(t *testing.T) {
	m, acts := started(t, cfg3(nil))
	toMaster(t, m, acts)
	rx := advert(m, peerL, 101)
	rx.Advert.Interval = 50
	got := recv(t, m, rx)
	diffActions(t, "higher", []Action{
		{Kind: ActStop, Timer: TimerAdver, Gen: 2},
		{Kind: ActArm, Timer: TimerMasterDown, Gen: 2, After: MasterDownInterval(3, 100, 500*time.Millisecond)}, // 1 was Start's
		{Kind: ActState, From: StateMaster, To: StateBackup, Reason: ReasonPreempted},
	}, got)
	if m.MasterAddr() != peerL {
		t.Errorf("MasterAddr = %v, want %v", m.MasterAddr(), peerL)
	}
}

func TestConformance13EqualPriorityTieBreak(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, tt := range []struct {
			name     string
			peer     netip.Addr
			stepDown bool
		}{
			{"greater sender wins", peerH, true},
			{"lesser sender loses", peerL, false},
		} {
			name := tt.name
			c := cfg3(nil)
			peer := tt.peer
			if v6 {
				name += " v6"
				c = cfg3(func(c *Config) { c.Primary = src6; c.Addrs = []netip.Addr{vip6} })
				peer = netip.MustParseAddr("fe80::2")
				if !tt.stepDown {
					peer = netip.MustParseAddr("fe80::")
				}
			}
			t.Run(name, func(t *testing.T) {
				m, acts := started(t, c)
				toMaster(t, m, acts)
				rx := advert(m, peer, 100)
				if v6 {
					rx.Dst = MulticastIPv6
				}
				recv(t, m, rx)
				want := StateMaster
				if tt.stepDown {
					want = StateBackup
				}
				if m.State() != want {
					t.Errorf("state = %v, want %v", m.State(), want)
				}
			})
		}
	}
}

func TestConformance14LowerReAdvert(t *testing.T) {
	for _, off := range []bool{false, true} {
		m, acts := started(t, cfg3(func(c *Config) { c.NoLowerPriorityAdvert = off }))
		toMaster(t, m, acts)
		got := recv(t, m, advert(m, peerH, 99))
		var want []Action
		if !off {
			want = []Action{{Kind: ActSend, Priority: 100}}
		}
		want = append(want, Action{Kind: ActLowerPriority, Priority: 99})
		diffActions(t, "lower advert", want, got)
		if m.State() != StateMaster {
			t.Errorf("state = %v, want MASTER", m.State())
		}
	}
}

func TestConformance15ShutdownPriorityZero(t *testing.T) {
	m, acts := started(t, cfg3(nil))
	toMaster(t, m, acts)
	got := m.Shutdown(t0, nil)
	diffActions(t, "shutdown", []Action{
		{Kind: ActStop, Timer: TimerAdver, Gen: 2},
		{Kind: ActSend, Priority: 0},
		{Kind: ActState, From: StateMaster, To: StateInit, Reason: ReasonShutdown},
	}, got)
	b, _ := started(t, cfg3(nil))
	for _, a := range b.Shutdown(t0, nil) {
		if a.Kind == ActSend {
			t.Errorf("a Backup sent %v on shutdown", a)
		}
	}
}

func TestConformance17TrackingClamp(t *testing.T) {
	trk := []TrackerConfig{{Name: "up", Weight: 100}, {Name: "down", Weight: -253}}
	tests := []struct {
		name   string
		base   uint8
		upOK   bool
		downOK bool
		want   uint8
	}{
		{"healthy adds positive weight, clamped to 254", 200, true, true, 254},
		{"failed negative weight, clamped to 1", 100, false, false, 1},
		{"both", 100, true, false, 1},
		{"positive only", 100, true, true, 200},
		{"owner immune", 255, false, false, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := started(t, cfg3(func(c *Config) { c.Priority = tt.base; c.Trackers = trk }))
			m.Track(t0, 0, tt.upOK, nil)
			m.Track(t0, 1, tt.downOK, nil)
			if m.Priority() != tt.want {
				t.Errorf("Priority = %d, want %d", m.Priority(), tt.want)
			}
		})
	}
}

func TestTrackerRiseFallAndFault(t *testing.T) {
	m, acts := started(t, cfg3(func(c *Config) {
		c.Trackers = []TrackerConfig{{Name: "chk", Weight: -20, Rise: 2, Fall: 3}, {Name: "must", Weight: 0}}
	}))
	toMaster(t, m, acts)
	var got []Action
	for i := 0; i < 2; i++ {
		if got = m.Track(t0, 0, false, nil); len(got) != 0 || m.Priority() != 100 {
			t.Fatalf("fall %d of 3 changed something: %v prio %d", i+1, got, m.Priority())
		}
	}
	got = m.Track(t0, 0, false, nil)
	diffActions(t, "third failure", []Action{{Kind: ActSend, Priority: 80}}, got)
	m.Track(t0, 0, true, nil)
	m.Track(t0, 0, false, nil) // breaks the rise streak
	m.Track(t0, 0, true, nil)
	if m.Priority() != 80 {
		t.Errorf("interrupted rise brought the tracker up")
	}
	m.Track(t0, 0, true, nil)
	if m.Priority() != 100 {
		t.Errorf("Priority after rise = %d, want 100", m.Priority())
	}
	got = m.Track(t0, 1, false, nil)
	diffActions(t, "weight 0 down", []Action{
		{Kind: ActStop, Timer: TimerAdver, Gen: 2},
		{Kind: ActSend},
		{Kind: ActState, From: StateMaster, To: StateFault, Reason: ReasonTracker},
	}, got)
	if _, err := m.Receive(t0, advert(m, peerH, 200), nil); !errors.Is(err, DropNotRunning) {
		t.Errorf("FAULT received an advert: %v", err)
	}
	got = m.Track(t0, 1, true, nil)
	if s, r, _ := stateOf(got); s != StateBackup || r != ReasonTracker {
		t.Errorf("recovery: %v (%v), want BACKUP (tracker)", s, r)
	}
}

func TestInterfaceDownFault(t *testing.T) {
	m, acts := started(t, cfg3(nil))
	toMaster(t, m, acts)
	got := m.SetInterfaceUp(t0, false, nil)
	diffActions(t, "down", []Action{
		{Kind: ActStop, Timer: TimerAdver, Gen: 2},
		{Kind: ActState, From: StateMaster, To: StateFault, Reason: ReasonInterface},
	}, got)
	got = m.SetInterfaceUp(t0, true, nil)
	if s, _, _ := stateOf(got); s != StateBackup {
		t.Errorf("up: %v, want BACKUP", got)
	}
	// Down before Start: starts in FAULT.
	n := newM(t, cfg3(nil))
	n.SetInterfaceUp(t0, false, nil)
	if n.Start(t0, nil); n.State() != StateFault {
		t.Errorf("started with the interface down in %v", n.State())
	}
}

func TestConformance18AcceptMode(t *testing.T) {
	m := newM(t, cfg3(nil))
	if m.Config().AcceptMode {
		t.Error("AcceptMode defaults to true")
	}
	if err := cfg2(func(c *Config) { c.AcceptMode = true }).Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("v2 with accept mode: %v", err)
	}
	a, acts := started(t, cfg3(func(c *Config) { c.AcceptMode = true }))
	toMaster(t, a, acts)
	if !a.Accepting() {
		t.Error("Master with AcceptMode does not accept")
	}
	toMaster(t, m, m.Start(t0, nil))
	if m.Accepting() {
		t.Error("non-owner Master without AcceptMode accepts")
	}
}

func TestConformance19StaleTimers(t *testing.T) {
	m, start := started(t, cfg3(nil))
	recv(t, m, advert(m, peerH, 200)) // re-arms: the Start arming is stale
	if out := expire(t, m, TimerMasterDown, start); len(out) != 0 || m.State() != StateBackup {
		t.Errorf("stale down timer acted: %v", out)
	}
	if out := m.Expire(t0, TimerAdver, 1, nil); len(out) != 0 {
		t.Errorf("never-armed adver timer acted: %v", out)
	}
	if out := m.Expire(t0, Timer(7), 1, nil); len(out) != 0 {
		t.Errorf("unknown timer acted: %v", out)
	}
	// A stopped timer's expiry is stale too.
	n, acts := started(t, cfg3(nil))
	ma := toMaster(t, n, acts)
	n.Shutdown(t0, nil)
	if out := expire(t, n, TimerAdver, ma); len(out) != 0 {
		t.Errorf("stopped adver timer acted: %v", out)
	}
}

func TestRuntimeChanges(t *testing.T) {
	m, acts := started(t, cfg3(nil))
	toMaster(t, m, acts)
	diffActions(t, "SetPriority", []Action{{Kind: ActSend, Priority: 150}}, m.SetPriority(t0, 150, nil))
	if m.BasePriority() != 150 || m.Priority() != 150 {
		t.Errorf("priority %d/%d, want 150", m.BasePriority(), m.Priority())
	}
	newVIP := netip.MustParseAddr("192.0.2.101")
	got, err := m.SetAddresses(t0, []netip.Addr{vip4, newVIP}, nil)
	if err != nil {
		t.Fatal(err)
	}
	diffActions(t, "SetAddresses", []Action{{Kind: ActSend, Priority: 150}, {Kind: ActAnnounce}}, got)
	var a Advert
	m.Advert(150, &a)
	if len(a.Addrs) != 2 || a.Addrs[1] != newVIP {
		t.Errorf("advert addresses = %v", a.Addrs)
	}
	if _, err := m.SetAddresses(t0, nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("SetAddresses(nil) = %v, want ErrInvalidConfig", err)
	}
}

func TestReceiveFilters(t *testing.T) {
	tests := []struct {
		name string
		cfg  *Config
		rx   func(m *Machine) *Received
		want DropReason
	}{
		{"own advert", cfg3(nil), func(m *Machine) *Received { return advert(m, src4, 200) }, DropOwnAdvert},
		{"unknown unicast peer", cfg3(func(c *Config) { c.Peers = []netip.Addr{peerL} }), func(m *Machine) *Received { return advert(m, peerH, 200) }, DropUnknownPeer},
		{"known unicast peer", cfg3(func(c *Config) { c.Peers = []netip.Addr{peerH} }), func(m *Machine) *Received { return advert(m, peerH, 200) }, DropNone},
		{"IPv6 sender to IPv4 instance", cfg3(nil), func(m *Machine) *Received { return advert(m, src6, 200) }, DropFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := started(t, tt.cfg)
			_, err := m.Receive(t0, tt.rx(m), nil)
			if got := ReasonOf(err); got != tt.want {
				t.Errorf("reason = %v, want %v", got, tt.want)
			}
		})
	}
	m := newM(t, cfg3(nil))
	if _, err := m.Receive(t0, advert(m, peerH, 200), nil); !errors.Is(err, DropNotRunning) {
		t.Errorf("not started: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  *Config
		ok   bool
	}{
		{"defaults", cfg3(nil), true},
		{"v2 defaults", cfg2(nil), true},
		{"VRID 0", cfg3(func(c *Config) { c.VRID = 0 }), false},
		{"version 4", cfg3(func(c *Config) { c.Version = 4 }), false},
		{"v2 fractional interval", cfg2(func(c *Config) { c.AdvertInterval = 1500 * time.Millisecond }), false},
		{"v2 256s", cfg2(func(c *Config) { c.AdvertInterval = 256 * time.Second }), false},
		{"v3 10ms", cfg3(func(c *Config) { c.AdvertInterval = 10 * time.Millisecond }), true},
		{"v3 5ms", cfg3(func(c *Config) { c.AdvertInterval = 5 * time.Millisecond }), false},
		{"v3 15ms", cfg3(func(c *Config) { c.AdvertInterval = 15 * time.Millisecond }), false},
		{"v3 40.95s", cfg3(func(c *Config) { c.AdvertInterval = 40950 * time.Millisecond }), true},
		{"v3 41s", cfg3(func(c *Config) { c.AdvertInterval = 41 * time.Second }), false},
		{"no primary", cfg3(func(c *Config) { c.Primary = netip.Addr{} }), false},
		{"no addresses", cfg3(func(c *Config) { c.Addrs = nil }), false},
		{"v2 no addresses", cfg2(func(c *Config) { c.Addrs = nil }), true},
		{"mixed families", cfg3(func(c *Config) { c.Addrs = append(c.Addrs, vip6) }), false},
		{"v2 IPv6", cfg2(func(c *Config) { c.Primary = src6; c.Addrs = []netip.Addr{vip6} }), false},
		{"v3 IPv6 global primary", cfg3(func(c *Config) { c.Primary = vip6; c.Addrs = []netip.Addr{vip6} }), false},
		{"v3 IPv6", cfg3(func(c *Config) { c.Primary = src6; c.Addrs = []netip.Addr{vip6} }), true},
		{"nopreempt with start as master", cfg3(func(c *Config) { c.NoPreempt = true; c.StartAsMaster = true }), false},
		{"preempt delay 1001s", cfg3(func(c *Config) { c.PreemptDelay = 1001 * time.Second }), false},
		{"preempt delay with nopreempt", cfg3(func(c *Config) { c.PreemptDelay = time.Second; c.NoPreempt = true }), false},
		{"accept mode v2", cfg2(func(c *Config) { c.AcceptMode = true }), false},
		{"password v3", cfg3(func(c *Config) { c.AuthPass = "x" }), false},
		{"password 9 bytes", cfg2(func(c *Config) { c.AuthPass = "123456789" }), false},
		{"password 8 bytes", cfg2(func(c *Config) { c.AuthPass = "12345678" }), true},
		{"weight 254", cfg3(func(c *Config) { c.Trackers = []TrackerConfig{{Weight: 254}} }), false},
		{"weight -253", cfg3(func(c *Config) { c.Trackers = []TrackerConfig{{Weight: -253}} }), true},
		{"negative fall", cfg3(func(c *Config) { c.Trackers = []TrackerConfig{{Fall: -1}} }), false},
		{"multicast peer", cfg3(func(c *Config) { c.Peers = []netip.Addr{MulticastIPv4} }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if _, nerr := NewMachine(tt.cfg); (nerr == nil) != (err == nil) {
				t.Errorf("NewMachine disagrees with Validate: %v", nerr)
			}
		})
	}
}

// BenchmarkMachine measures the per-advert work of the state machine: a Backup
// accepting an advert and a Master's Adver_Timer firing. Both allocate nothing when
// the caller reuses its action slice.
func BenchmarkMachine(b *testing.B) {
	b.Run("backup-receive", func(b *testing.B) {
		m, err := NewMachine(cfg3(nil))
		if err != nil {
			b.Fatal(err)
		}
		out := m.Start(t0, make([]Action, 0, 8))
		rx := advert(m, peerH, 200)
		b.ReportAllocs()
		for b.Loop() {
			out, _ = m.Receive(t0, rx, out[:0])
		}
	})
	b.Run("master-adver-timer", func(b *testing.B) {
		m, err := NewMachine(cfg3(func(c *Config) { c.Priority = 255 }))
		if err != nil {
			b.Fatal(err)
		}
		out := m.Start(t0, make([]Action, 0, 8))
		gen := out[2].Gen
		b.ReportAllocs()
		for b.Loop() {
			out = m.Expire(t0, TimerAdver, gen, out[:0])
			gen = out[1].Gen
		}
	})
}
