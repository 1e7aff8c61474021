package main

import "github.com/lvskit/lvskit/examples/director/kaconf"

// rsInitNotify returns what rs_init_notifies does for a real server that starts
// alive, to run once l.mu is released: keepalived 2.2.7 (ipwrapper.c
// init_service_rs, do_rs_notifies) runs its notify_up and writes its notify FIFO
// line, at start and for a real server a reload adds. Its checkers' smtp_alert mails
// are not sent: keepalived sends those from the checkers, on transitions only.
func (l *lvsRuntime) rsInitNotify(vs *kaconf.VirtualServer, rs *kaconf.RealServer) func() {
	cmd, line := rs.NotifyUp, fifoRSLine(vs, rs, true)
	return func() {
		l.h.runAsync(cmd)
		if l.h.fifo != nil {
			l.h.fifo(line)
		}
	}
}
