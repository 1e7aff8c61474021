// Package vrrp is a VRRP engine (RFC 3768 version 2 and RFC 9568 version 3, IPv4 and
// IPv6) that interoperates with keepalived: the protocol that keeps a virtual address
// on exactly one of several routers or load balancers.
//
// It has three layers. Parse and Advert.Append are the wire codec; they allocate
// nothing and reject bad packets with a DropReason per rule broken. Machine is the
// protocol itself, a pure state machine: inputs are adverts, timer expiries, priority
// and tracker changes, each with the current time; outputs are Actions (send an
// advert, arm or stop a timer, change state, announce the addresses). Router runs
// Machines over a Clock and a Transport, reports state changes on a channel that a
// slow reader cannot stall, counts every packet, and moves sync groups together.
//
// # States
//
// An instance starts in INIT. Start moves the address owner (priority 255, or
// Config.StartAsMaster) to MASTER, which advertises every interval, and everyone
// else to BACKUP, which waits Master_Down_Interval for an advert. A BACKUP that hears
// none becomes MASTER (ReasonTimeout); one that hears priority 0 takes over after
// Skew_Time (ReasonPeerResigned). A preempting BACKUP (the default) ignores adverts of
// lower priority, so it takes over from a lower MASTER; with Config.NoPreempt it
// follows any MASTER; Config.PreemptDelay follows a lower one for a while first.
// A MASTER steps down on a higher priority, or an equal priority from a greater
// primary address (ReasonPreempted); a lower advert makes it re-advertise at once
// (RFC 9568; Config.NoLowerPriorityAdvert turns that off). Shutdown sends priority 0.
//
// FAULT, as in keepalived, holds an instance that cannot serve: its interface is down
// (SetInterfaceUp) or a tracker of weight 0 failed. Other trackers add their weight
// while up (positive weights) or while down (negative weights); the effective priority
// is clamped to 1..254 and the owner's 255 never changes. Trackers have rise and fall
// counts and are fed by the user from anything: a script, a health check, a file.
//
// # Timers
//
// Intervals travel in whole seconds in version 2 and in centiseconds in version 3
// (10 ms to 40.95 s); Config rejects intervals the version cannot carry instead of
// rounding them. Skew_Time is (256 - Priority) / 256 s for version 2 and
// (256 - Priority) * Master_Adver_Interval / 256 for version 3, and
// Master_Down_Interval is 3 * Master_Adver_Interval + Skew_Time; both are computed
// exactly and truncated to whole microseconds (SkewTime, MasterDownInterval). A
// version 3 BACKUP adopts the MASTER's interval; version 2 drops adverts whose interval
// differs. Every timer arming carries a generation number, and an expiry of an older
// generation is ignored, so a timer that fires late after being re-armed or stopped
// does no harm.
//
// # Transports
//
// ListenIP (Linux) opens a raw socket for IP protocol 112 on one interface; it reads
// and writes with recvmsg and sendmsg on the raw descriptor, reusing its message
// headers and control buffers, so neither direction allocates per packet. With no
// peers it joins 224.0.0.18 or ff02::12; with Config.Peers adverts go to each peer by
// unicast and other senders are dropped. It
// sends with TTL or hop limit 255 from the instance's primary address (link-local
// for IPv6) and the Router drops any advert received with another TTL. Sockets belong
// to the network namespace they are opened in. WatchLink follows the interface's state
// through rtnetlink, to feed Router.SetInterfaceUp (a down link means FAULT).
//
// Every raw socket on an interface receives every advert on it, so N Routers with a
// socket each do N times the work for each packet. Open one transport per interface
// and family instead, wrap it in a Mux, and give each Router an endpoint:
//
//	tr, err := vrrp.ListenIP(&vrrp.TransportConfig{Interface: "eth0"})
//	...
//	mux := vrrp.NewMux(tr) // owns tr; mux.Close closes it
//	ep, err := mux.Attach([]uint8{51, 52}, nil) // the VRIDs of one Router; peers for unicast
//	...
//	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: cfgs, Transport: ep})
//
// The Mux reads the socket on one goroutine, looks only at each packet's version and
// VRID (and source, for unicast endpoints), and queues it for the one endpoint that
// holds that VRID; the Router behind it parses and checks it once. An endpoint with
// peers receives that VRID's packets from those peers only; an endpoint without peers
// receives the rest. Two endpoints cannot hold the same VRID for multicast or the same
// VRID and peer. When a Router's Run returns it closes its endpoint, which frees its
// VRIDs and leaves the socket open for the others; Mux.Close ends them all. The
// receive path, from the socket through the Mux to the Router's timers, allocates
// nothing per packet, and an endpoint whose Router falls behind drops (counted in
// MuxCounters) without holding up the others. A Mux with unicast endpoints needs a
// transport without TransportConfig.Peers (which would filter sources itself) or with
// the union of all peers.
//
// Version 3 over IPv4 has two checksum
// forms in the field: both are accepted, and Config.Checksum picks the one sent
// (keepalived's pseudo-header form by default). Version 2's simple password
// (Config.AuthPass) exists for keepalived compatibility only: it is clear text and
// gives no security.
//
// # Testing
//
// Package vrrptest simulates whole networks: a Segment runs Machines in simulated
// time from a seed, with partitions, loss, delay, jitter, duplication and reordering,
// and checks such as ExactlyOneMaster; a Network of in-memory Transports and a fake
// Clock run real Routers, best inside testing/synctest. Use them to test your own
// failover logic without root, sockets or sleeps.
package vrrp
