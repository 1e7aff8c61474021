package main

import (
	"fmt"
	"time"
)

// The monitor is nginx_check.sh's logic: the first failure restarts the service, and
// only fall further failures give the VIP up.
func Example_monitor() {
	m := newMonitor(monitorConfig{Fall: 2, Rise: 2, Restart: true})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ok := range []bool{true, false, false, false, true, true} {
		d := m.observe(now, ok)
		fmt.Printf("check ok=%v: restart=%v up=%v changed=%v\n", ok, d.Restart, d.Up, d.Changed)
		now = now.Add(2 * time.Second)
	}
	// Output:
	// check ok=true: restart=false up=true changed=false
	// check ok=false: restart=true up=true changed=false
	// check ok=false: restart=false up=true changed=false
	// check ok=false: restart=false up=false changed=true
	// check ok=true: restart=false up=false changed=false
	// check ok=true: restart=false up=true changed=true
}
