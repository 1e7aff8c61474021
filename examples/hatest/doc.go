// Package hatest is a small LVS director built the way lvskit means its packages to be
// composed, and the test of its high-availability logic that a user would write: VRRP
// (package vrrp) decides which host is Master, health checks (package health) decide
// which real servers are up, and the Master's IPVS table (package ipvs) is reconciled
// from those two states, scoped to the one service the director owns.
//
// Its tests run two Directors on vrrptest's in-memory network, with healthtest's
// controllable checkers and one ipvstest kernel per host, all on one vrrptest.Clock:
// master election, a real server's removal and return, and failover with the table,
// deterministic with or without testing/synctest.
//
// # Driving effects from state
//
// The Director never edits the table in response to an event. Whenever something may
// have changed (a VRRP event, a health transition, or the periodic resync on the
// Clock) it computes the table that should exist (the service with its healthy real
// servers while Master, nothing otherwise) and calls ipvs.Client.ReconcileOwned. A lost,
// repeated or reordered event cannot leave a rule behind, and the resync on the shared
// Clock makes the outcome of a fake-clock test independent of goroutine scheduling.
package hatest
