package main

import "time"

// monitorConfig holds the counting rules of a monitor.
type monitorConfig struct {
	// Fall is how many consecutive failed checks (after the restart, if any) mark the
	// service down. Values below 1 mean 1.
	Fall int
	// Rise is how many consecutive good checks mark a down service up. Values below 1
	// mean 1.
	Rise int
	// Restart says that a restart command exists.
	Restart bool
	// RestartBackoff is the time between restarts while the service is down. Zero
	// means no restart while down (only the one at the start of an outage).
	RestartBackoff time.Duration
}

// decision is what a monitor asks for after one check result.
type decision struct {
	// Restart asks the caller to run the restart command now.
	Restart bool
	// Up is the service's state after the result.
	Up bool
	// Changed reports that Up changed with this result.
	Changed bool
}

// monitor turns check results into the service's up/down state and restart requests,
// the logic of nginx_check.sh made explicit: the first failure of an outage restarts the
// service, and only Fall further consecutive failures mark it down. It is pure: the
// caller passes the time with every result, so tests drive it without a clock.
type monitor struct {
	cfg monitorConfig
	up  bool
	// fails and oks count consecutive results against the current state.
	fails, oks int
	// restarted says that this outage's restart ran; it is cleared by a good check.
	restarted   bool
	lastRestart time.Time
}

// newMonitor returns a monitor whose service starts up.
func newMonitor(cfg monitorConfig) *monitor {
	cfg.Fall = max(cfg.Fall, 1)
	cfg.Rise = max(cfg.Rise, 1)
	return &monitor{cfg: cfg, up: true}
}

// Up reports the service's current state.
func (m *monitor) Up() bool { return m.up }

// observe feeds the result of one check made at now.
func (m *monitor) observe(now time.Time, ok bool) decision {
	if ok {
		m.fails = 0
		if m.up {
			m.restarted = false
			return decision{Up: true}
		}
		m.oks++
		if m.oks < m.cfg.Rise {
			return decision{}
		}
		m.up, m.oks, m.restarted = true, 0, false
		return decision{Up: true, Changed: true}
	}
	m.oks = 0
	if !m.up {
		if m.cfg.Restart && m.cfg.RestartBackoff > 0 && now.Sub(m.lastRestart) >= m.cfg.RestartBackoff {
			m.lastRestart = now
			return decision{Restart: true}
		}
		return decision{}
	}
	if m.cfg.Restart && !m.restarted {
		// The first failure of an outage: restart instead of counting, as
		// nginx_check.sh does. Failures count from here.
		m.restarted, m.lastRestart, m.fails = true, now, 0
		return decision{Restart: true, Up: true}
	}
	m.fails++
	if m.fails < m.cfg.Fall {
		return decision{Up: true}
	}
	m.up, m.fails = false, 0
	return decision{Changed: true}
}
