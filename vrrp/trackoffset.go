package vrrp

import (
	"fmt"
	"time"
)

// SetTrackerOffset sets a number that tracker i adds to the priority besides its
// Weight, for trackers whose effect is a value rather than up or down (keepalived's
// track_file adds the file's value times its weight). The offset is clamped to
// -MaxWeight..MaxWeight; the effective priority stays within 1..254 and the owner's
// 255 never changes. An out-of-range i is ignored.
func (m *Machine) SetTrackerOffset(now time.Time, i, offset int, out []Action) []Action {
	if i < 0 || i >= len(m.trackers) {
		return out
	}
	m.trackers[i].offset = min(max(offset, -MaxWeight), MaxWeight)
	return m.repriority(out)
}

// TrackerOffset returns tracker i's offset (SetTrackerOffset).
func (m *Machine) TrackerOffset(i int) int { return m.trackers[i].offset }

// SetTrackerOffset sets tracker i's priority offset of an instance
// (Machine.SetTrackerOffset).
func (r *Router) SetTrackerOffset(instance string, i, offset int) error {
	return r.do(instance, func(m *Machine, now time.Time, out []Action) ([]Action, error) {
		if i < 0 || i >= len(m.trackers) {
			return out, fmt.Errorf("vrrp: %s has no tracker %d", instance, i)
		}
		return m.SetTrackerOffset(now, i, offset, out), nil
	})
}
