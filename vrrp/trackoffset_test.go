package vrrp

import "testing"

func TestTrackerOffset(t *testing.T) {
	m, acts := started(t, cfg3(func(c *Config) {
		c.Trackers = []TrackerConfig{{Name: "file", Weight: 0}, {Name: "chk", Weight: -20}}
	}))
	toMaster(t, m, acts)
	got := m.SetTrackerOffset(t0, 0, 30, nil)
	diffActions(t, "offset 30", []Action{{Kind: ActSend, Priority: 130}}, got)
	m.Track(t0, 1, false, nil)
	if m.Priority() != 110 {
		t.Errorf("offset 30 and a down -20 tracker: priority %d, want 110", m.Priority())
	}
	m.SetTrackerOffset(t0, 0, 1000, nil)
	if m.Priority() != 254 || m.TrackerOffset(0) != MaxWeight {
		t.Errorf("offset 1000: priority %d offset %d, want 254 and %d", m.Priority(), m.TrackerOffset(0), MaxWeight)
	}
	m.SetTrackerOffset(t0, 0, -200, nil)
	if m.Priority() != 1 {
		t.Errorf("offset -200: priority %d, want 1", m.Priority())
	}
	if got := m.SetTrackerOffset(t0, 5, 10, nil); len(got) != 0 {
		t.Errorf("out-of-range tracker did something: %v", got)
	}
	o, _ := started(t, cfg3(func(c *Config) { c.Priority = 255; c.Trackers = []TrackerConfig{{Name: "f"}} }))
	o.SetTrackerOffset(t0, 0, -50, nil)
	if o.Priority() != 255 {
		t.Errorf("owner priority %d, want 255", o.Priority())
	}
}
