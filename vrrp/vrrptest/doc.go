// Package vrrptest helps test code built on package vrrp without root, sockets or
// sleeps, as nltest does for netlink.
//
// # Simulated segments
//
// Segment runs vrrp.Machines on one simulated link in simulated time, single-threaded
// and deterministic: the same Seed and the same calls give the same run. Adverts go
// through the real codec. Impairments add delay, jitter, loss, duplication and
// reordering; Partition and Heal split and join the link; Node.Crash stops a router
// without a word and Node.Stop resigns it. Run advances time; ExactlyOneMaster, Masters
// and Expected check the outcome.
//
// # Routers on an in-memory network
//
// Network hands out Endpoints, in-memory vrrp.Transports that deliver multicast to
// every other endpoint and unicast to the addressed one, record what they sent, and
// can be taken down or fed crafted packets (Inject). Run vrrp.Routers on them inside
// testing/synctest, whose fake time makes every timer exact, or with Clock, a fake
// vrrp.Clock that moves only when Advance is called.
//
// # One fake clock for a whole daemon
//
// Attach the Clock to the Network (Network.SetClock) and Advance waits, before each
// timer it fires, until every packet sent so far has been processed by its receiving
// Router: two Routers elect the same Master in every run, and a failover happens at
// the Master_Down_Interval to the microsecond, without synctest. Clock also satisfies
// health's Clock (health.Scheduler holds it while attempts are in flight), so VRRP and
// health checks share one fake time; Clock.Hold lets your own code join in. Wait for
// vrrp.Router.Started before the first Advance.
//
// # Randomized testing
//
// The package's own tests run 10,000 seeded scenarios of 2 to 5 routers with
// partitions, loss and priority changes, and check that after the network heals and
// one Master_Down_Interval passes there is exactly one Master and it is the one
// RFC 9568 elects. Users can build the same kind of test for their own failover logic.
package vrrptest
