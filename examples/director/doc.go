// Command director is a keepalived-compatible LVS director composed from lvskit's
// packages: it reads the keepalived.conf that keepalived ran from (through
// examples/director/kaconf) and runs it with vrrp, vip, ipvs and health.
//
//	director -f /etc/keepalived/keepalived.conf [-t] [-status-file F] [-metrics ADDR] [-keep-ipvs]
//	         [-ecmp-table N [-ecmp-drain 5s]]
//
// # Checking
//
// -t reads and checks the file, prints warnings and errors (each starting with
// file:line) and exits 0 when it is valid and 1 when not, like keepalived -t.
//
// # VRRP
//
// Each vrrp_instance runs on the Linux VRRP transport (multicast, or unicast to
// unicast_peer from unicast_src_ip), with its version, advert_int, priority,
// preemption settings, accept and PASS authentication. The instances of a
// vrrp_sync_group share one vrrp.Router, which moves them together; a group may span
// interfaces (members need distinct VRIDs). However many instances and groups run,
// the director opens exactly one VRRP socket per interface and address family,
// shared by every Router on it through a vrrp.Mux that hands each advert to the
// Router of its VRID (and, for unicast, of its source); the socket joins the VRRP
// multicast group even when its first user is unicast. It is closed when the last
// instance on that interface stops.
// vrrp_script and track_interface become the engine's trackers (weight, reverse,
// rise, fall, init_fail); a weight of 0 means FAULT on failure, as in keepalived.
// Scripts run without a shell: keepalived splits the script line on white space
// (with quotes) and executes it directly, and so does the director.
//
// On MASTER the instance's virtual_ipaddress and virtual_ipaddress_excluded are added
// (with dev, label and scope) and announced with gratuitous ARP / unsolicited
// neighbour advertisements following garp_master_delay, garp_master_repeat,
// garp_master_refresh and vrrp_garp_interval / vrrp_gna_interval; in any other
// state they are removed. notify_master, notify_backup, notify_fault, notify_stop
// and notify (with keepalived's arguments: INSTANCE|GROUP name state priority) run
// for every transition on a per-instance queue, never holding up VRRP. At start the
// VIPs a crashed run left behind (marked with IFA_PROTO by package vip) are removed.
//
// # Convergence
//
// The VIPs, the IPVS table and the sync daemon follow state, not events. Any change
// (a VRRP event, a link going up or down, a health transition, a reload, a report
// of the kernel's address watcher) marks the director dirty, and one reconcile
// goroutine computes what should be from the current states (each Router's
// Snapshot, the configured addresses, the health results) and fixes only the
// difference with what is: what it added itself, less what the watcher reported
// gone. A burst of changes is one reconcile. The same goroutine also re-reads the
// Routers' states every advert interval (the shortest configured, between 20 ms and
// 1 s), so an event that is lost, repeated or reordered never leaves a VIP, a row or
// a sync daemon behind; events only drive notify scripts and mails, which are about
// transitions, as in keepalived.
//
// A VIP deleted from outside while its instance is MASTER (ip addr del) is put back
// at once on the watcher's report, well within one advert interval, and logged at
// WARN with its address and interface. When the kernel dropped notifications
// (watcher overrun) the addresses are listed again and converged. Every 10 seconds
// (the drift check) the kernel's addresses and IPVS table are re-read, to find
// changes no notification reported; otherwise the IPVS table is read only at start
// and after an error, never on each health transition. Each rtnetlink call is
// bounded by 5 s and each IPVS convergence by 30 s, and no lock is held across
// them, so a hung kernel call delays the VIPs but never VRRP or the status.
//
// # IPVS
//
// A file with virtual_server blocks (or lvs_sync_daemon) needs IPVS; a VRRP-only
// file never opens it. Each virtual_server becomes an IPVS service, reconciled
// declaratively: the director computes the table it wants and applies only the
// difference, touching only the services it manages. TCP_CHECK, HTTP_GET, SSL_GET
// and MISC_CHECK run in a health.Scheduler with keepalived's delay_loop,
// connect_timeout, retry and delay_before_retry; a real server is alive when all its
// checkers pass. A dead real server is removed, or kept with weight 0 under
// inhibit_on_failure. alpha starts checks down.
//
// Quorum follows keepalived's ipwrapper.c: a virtual server has quorum while the
// weight of its live real servers stays at or above quorum-hysteresis (and above 0),
// and regains it at quorum+hysteresis; it starts with quorum when the live weight is
// at least quorum+hysteresis. Losing quorum runs quorum_down and, when a
// sorry_server is configured, puts the sorry server in the table instead of the
// live real servers, not beside them (real servers with inhibit_on_failure stay at
// weight 0); regaining it runs quorum_up, removes the sorry server (or sets it to
// weight 0 with sorry_server_inhibit) and puts the live real servers back. Without a
// sorry server, losing quorum changes nothing in the table. Starting without quorum
// runs quorum_down only when a sorry server is configured, as keepalived does. omega
// runs, on shutdown, the notify_down of live real servers and then quorum_down.
// With lvs_sync_daemon the kernel's sync daemon runs as master while its instance
// is MASTER and as backup otherwise.
//
// # Scale-out
//
// With -ecmp-table N the director is one of several active directors behind a
// router's ECMP (issue 16, docs/scale-out.md). There is no VRRP for its VIPs: the
// file's virtual_server addresses are the VIPs, each held on lo (package vip) while
// the mode runs, and the director tells its BGP daemon that it can serve a VIP by
// keeping the VIP's blackhole /32 (/128) route, protocol 108, in routing table N,
// which BIRD learns (protocol kernel { kernel table N; learn; }) and announces. The
// file must have no vrrp_instance (the mode owns the addresses on lo) and no fwmark
// virtual_server (it has no address to announce); a scheduler other than mh is
// accepted with a warning, since only mh keeps moved connections alive.
//
// The routes follow state in the one reconcile loop, after the IPVS convergence of
// the same pass: a VIP is announced iff it is on lo, the scale-out sysctls are
// applied, and every virtual_server of the address had quorum and had its IPVS
// operations applied without error by the last convergence. So a failed
// convergence withdraws the route in the same pass and the next successful one
// (retried every second) announces it again; losing quorum withdraws it, regaining
// it announces it. The table is reconciled as a whole (route.Client.Reconcile), only
// when the wanted set changes, after an error, and at each drift check, so a route
// deleted from outside comes back and a lost or repeated event changes nothing. At
// start the routes and addresses a crashed run left are removed first.
//
// arpctl.ScaleOutDirector (sloppy_tcp and sloppy_sctp so that a flow moved by ECMP is
// scheduled without its SYN, conntrack 0, expire_nodest_conn,
// expire_quiescent_template) is applied once IPVS is open (which loads ip_vs) and put
// back at stop; a kernel without the IPVS sysctls fails the start with an error that
// says so.
//
// Every director must pick the same real server for a flow, so their mh (Maglev)
// tables must be equal. ip_vs_mh fills its table by walking the destinations in the
// order they were added, skipping weight-0 ones. The director therefore adds a
// service's destinations in ipvs.CanonicalDestinations order (by address, then
// port), and takes a failed real server out with weight 0 instead of deleting it, as
// if every real server had inhibit_on_failure: weight 0 is skipped identically on
// every director, while a deleted and re-added destination goes to the head of the
// kernel's list and changes that director's table alone. mh services also get
// mh-port (hashing the port as well as the address), which kaconf does not read.
//
// SIGTERM (and SIGINT) first withdraw every route, then wait -ecmp-drain (default
// 5 s) with IPVS still forwarding while the router moves the flows to the other
// directors, then stop as usual: the services go (unless -keep-ipvs), the VIPs leave
// lo and the sysctls are restored. stop alone also withdraws the routes before it
// touches IPVS.
//
// # Email alerts
//
// With global_defs notification_email and smtp_server set, the director mails what
// keepalived mails, with keepalived's subjects and bodies: VRRP instances and sync
// groups with smtp_alert on each state entered ("[router_id] VRRP Instance VI_1 -
// Entering MASTER state"), real servers with smtp_alert on each checker change
// ("[router_id] Realserver [IP]:tcp:PORT of virtual server [VIP]:tcp:PORT - DOWN"),
// virtual servers with smtp_alert on quorum changes. Mails go through a bounded queue
// to one sender goroutine, so VRRP and the checks never wait for the mail server; a
// server that is down, slow (smtp_connect_timeout bounds each session) or rejects is
// logged and counted, each mail is tried three times with a backoff, and a mail given
// up is logged at ERROR with its subject. The counters are in the status dump and the
// metrics (director_smtp_*).
//
// docs/migrating-from-keepalived.md lists every keyword the director reads, what it
// refuses, how its behaviour differs from keepalived's and why, and a systemd unit
// that runs it with CAP_NET_ADMIN and CAP_NET_RAW instead of root.
//
// # Signals
//
// SIGTERM and SIGINT stop gracefully: MASTERs resign (priority 0), VIPs are removed,
// and the IPVS services the director manages are deleted unless -keep-ipvs. SIGHUP
// re-reads the file; a file with errors is logged (file:line) and the running
// configuration stays. Otherwise only the difference is applied: an instance whose
// VRRP settings are unchanged keeps running (a new priority or address list is
// applied in place), and real servers whose checks did not change keep their state
// and their IPVS entries. SIGUSR1 writes the JSON status to -status-file.
//
// # Metrics
//
// With -metrics ADDR an HTTP server serves /status (the same JSON) and /metrics in
// the Prometheus text format: VRRP state, priority and transitions per instance,
// adverts sent, received and dropped by reason per router, script runs, real server
// up and weight, quorum, and IPVS operations.
package main
