// Package viptest is an in-memory stand-in for the kernel that package vip talks to,
// for tests of code that adds and removes VIPs.
//
// A Kernel answers the rtnetlink requests of a real vip.Client: the link and address
// dumps behind List, Owned and Cleanup, and RTM_NEWADDR and RTM_DELADDR behind Add and
// Remove. The code under test keeps using vip.Client; only the socket is fake:
//
//	k := viptest.New(nil) // interfaces lo and eth0
//	c := vip.NewClient(k.Dial(), nil)
//
// # What the fake keeps
//
// Each address keeps its interface, prefix, label, scope, flags and IFA_PROTO mark,
// so Owned and Cleanup behave as on Linux 5.18 and later (Config.DropProto drops the
// mark, as older kernels do). Requests are checked the way Linux checks them: an
// unknown interface index is ENODEV; an IPv4 address is a duplicate (EEXIST) only with
// the same prefix length, an IPv6 address with any prefix length; deleting an address
// that is not there is EADDRNOTAVAIL. Dumps list IPv4 addresses before IPv6 ones, by
// interface; on an interface IPv4 addresses come oldest first and IPv6 addresses
// newest first, within their scope, as the kernel's lists do.
//
// # Inspecting and interfering
//
// Kernel.Addresses returns what is configured, without a second Client.
// Kernel.AddAddress and Kernel.DeleteAddress change addresses from outside any Client,
// as an administrator's `ip addr add` and `ip addr del` do. Kernel.FailNext makes the
// next request of a kind fail with an errno.
//
// # Limits
//
// vip.Client.NewWatcher opens its own rtnetlink socket rather than one the test can
// supply, so a Kernel cannot deliver notifications to a vip.Watcher. Outside Linux,
// github.com/mdlayher/netlink reports every error reply as one generic error, so the
// errno of a failed request (and the EADDRNOTAVAIL that vip.Client.Remove tolerates)
// can only be told apart on Linux. Errnos are Linux's numbers on every OS (see Errno).
package viptest
