package ipvs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
)

// Snapshot reads the whole table: every service with its statistics and destinations.
//
// The kernel has no combined dump, so Snapshot sends one service dump and then one
// destination dump per service, without the per-request socket and family lookup that
// ipvsadm pays. A netlink socket runs one dump at a time (the kernel answers EBUSY to a
// dump request sent while another is unfinished), so a Client made by Dial spreads the
// destination dumps of a large table over Config.SnapshotConns sockets, which overlaps
// the decoding of one reply with the kernel's work on the next. The kernel's dumps are
// not atomic: a table changed meanwhile can show a service whose destinations are
// already gone.
func (c *Client) Snapshot(ctx context.Context) ([]ServiceStatus, error) {
	var out []ServiceStatus
	err := c.do(ctx, func() error {
		var err error
		if out, err = c.services(ctx); err != nil {
			return err
		}
		return c.snapshotDests(ctx, out)
	})
	if err != nil {
		return nil, newError("snapshot", "", objOther, err)
	}
	return out, nil
}

// parallelMin is the smallest table whose destinations Snapshot dumps on several sockets.
const parallelMin = 32

// snapshotDests fills in the destinations of svcs. It runs under c.mu, inside do.
func (c *Client) snapshotDests(ctx context.Context, svcs []ServiceStatus) error {
	n := 1
	if c.snapConns > 1 && len(svcs) >= parallelMin {
		n = c.snapConns
	}
	if ds := c.dumpers(ctx, n); len(ds) > 0 {
		errs := make([]error, len(ds))
		parallel(len(ds), svcs, errs, func(w int, a *destArena, s *ServiceStatus) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return destsErr(s, func() ([]DestinationStatus, error) { return ds[w].dumpDests(s.Service, a) })
		})
		c.dropDumpers(errs)
		return errors.Join(errs...)
	}
	conns := []*netlink.Conn{c.conn}
	if n > 1 && c.redial != nil {
		for len(c.extra) < n-1 {
			x, err := c.redial()
			if err != nil {
				break // fewer sockets: slower, not wrong
			}
			c.extra = append(c.extra, x)
		}
		conns = append(conns, c.extra...)
	}
	// The extra sockets get the deadline and cancellation that do gave c.conn.
	deadline, ok := ctx.Deadline()
	if !ok && c.timeout > 0 {
		deadline = time.Now().Add(c.timeout)
	}
	for _, x := range conns[1:] {
		_ = x.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() {
		for _, x := range conns[1:] {
			_ = x.SetDeadline(time.Unix(1, 0))
		}
	})
	defer stop()
	errs := make([]error, len(conns))
	parallel(len(conns), svcs, errs, func(w int, _ *destArena, s *ServiceStatus) error {
		return destsErr(s, func() ([]DestinationStatus, error) { return c.destinationsOn(conns[w], s.Service) })
	})
	// An extra socket that failed other than with a kernel error may hold unread
	// replies: drop it (c.conn is handled by do).
	keep := c.extra[:0]
	for w, x := range c.extra {
		if err := errs[w+1]; err != nil {
			if _, ok := kernelErrno(err); !ok {
				x.Close()
				continue
			}
		}
		_ = x.SetDeadline(time.Time{})
		keep = append(keep, x)
	}
	clear(c.extra[len(keep):])
	c.extra = keep
	return errors.Join(errs...)
}

// parallel runs fn for every service on workers goroutines (the caller's alone when
// there is one worker), each with its own arena; a worker's first error goes to
// errs[w] and stops the others early.
func parallel(workers int, svcs []ServiceStatus, errs []error, fn func(w int, a *destArena, s *ServiceStatus) error) {
	if workers == 1 {
		a := destArena{chunkSize: destChunk}
		for i := range svcs {
			if err := fn(0, &a, &svcs[i]); err != nil {
				errs[0] = err
				return
			}
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := destArena{chunkSize: destChunk}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(svcs) {
					return
				}
				if err := fn(w, &a, &svcs[i]); err != nil {
					errs[w] = err
					next.Store(int64(len(svcs))) // stop the others early
					return
				}
			}
		}()
	}
	wg.Wait()
}

// destsErr stores the destinations read stores into s, naming the service on error.
func destsErr(s *ServiceStatus, read func() ([]DestinationStatus, error)) error {
	ds, err := read()
	if err != nil {
		return fmt.Errorf("destinations of %s: %w", s.Service, err)
	}
	s.Destinations = ds
	return nil
}

// Table strips statistics and counters from a snapshot, giving the configuration in the
// form Reconcile and Diff take.
func Table(snap []ServiceStatus) []VirtualServer {
	out := make([]VirtualServer, len(snap))
	for i, s := range snap {
		out[i].Service = s.Service
		if len(s.Destinations) > 0 {
			out[i].Destinations = make([]Destination, len(s.Destinations))
			for j, d := range s.Destinations {
				out[i].Destinations[j] = d.Destination
			}
		}
	}
	return out
}

// OpKind is what an Op does.
type OpKind uint8

// Operation kinds.
const (
	OpCreateService OpKind = iota + 1
	OpUpdateService
	OpDeleteService
	OpCreateDestination
	OpUpdateDestination
	OpDeleteDestination
)

// String returns e.g. "create service".
func (k OpKind) String() string {
	switch k {
	case OpCreateService:
		return "create service"
	case OpUpdateService:
		return "update service"
	case OpDeleteService:
		return "delete service"
	case OpCreateDestination:
		return "create destination"
	case OpUpdateDestination:
		return "update destination"
	case OpDeleteDestination:
		return "delete destination"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

func (k OpKind) dest() bool { return k >= OpCreateDestination }

func (k OpKind) object() objKind {
	if k.dest() {
		return objDest
	}
	return objService
}

// Op is one change of the table. Destination is used by the destination kinds only.
type Op struct {
	// Kind is what the operation does: create, update or delete a service or a
	// destination.
	Kind OpKind
	// Service is the service operated on, or the service of the destination.
	Service Service
	// Destination is the destination operated on; zero for the service kinds.
	Destination Destination
}

// String returns e.g. "create destination TCP 192.0.2.1:80 -> 198.51.100.10:80".
func (o Op) String() string { return o.Kind.String() + " " + o.object() }

func (o Op) object() string {
	if o.Kind.dest() {
		return destObject(o.Service, o.Destination)
	}
	return o.Service.String()
}

func (o Op) command() (uint8, bool) {
	switch o.Kind {
	case OpCreateService:
		return cmdNewService, true
	case OpUpdateService:
		return cmdSetService, true
	case OpDeleteService:
		return cmdDelService, false
	case OpCreateDestination:
		return cmdNewDest, true
	case OpUpdateDestination:
		return cmdSetDest, true
	case OpDeleteDestination:
		return cmdDelDest, false
	}
	return 0, false
}

// OpError is the failure of one operation of an Apply.
type OpError struct {
	// Index is the operation's position in the slice given to Apply.
	Index int
	// Op is the operation that failed.
	Op Op
	// Err is an *Error: errors.Is works with the sentinels and errnos.
	Err error
}

// Error returns "operation INDEX: CAUSE".
func (e *OpError) Error() string { return fmt.Sprintf("operation %d: %v", e.Index, e.Err) }

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// ApplyError lists the operations of an Apply that failed; the others took effect.
type ApplyError struct {
	// Errors are the failed operations in the order Apply gave them.
	Errors []*OpError
}

// Error returns "ipvs: N operation(s) failed" followed by the first few failures.
func (e *ApplyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ipvs: %d operation(s) failed", len(e.Errors))
	for i, oe := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, "; ...")
			break
		}
		fmt.Fprintf(&b, "; %v", oe)
	}
	return b.String()
}

// Unwrap returns the failures, so errors.Is(err, ErrExists) asks "did any fail because
// something existed".
func (e *ApplyError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, oe := range e.Errors {
		out[i] = oe
	}
	return out
}

// Apply performs ops in order. It sends them pipelined: a window of requests is written
// at once and only the last one of each window asks for an acknowledgement, so a large
// change costs a few system calls instead of a round trip per rule. The kernel performs
// each operation independently: a failed one does not stop the others. When some fail,
// Apply returns an *ApplyError naming each failed operation by index.
func (c *Client) Apply(ctx context.Context, ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	for _, o := range ops {
		if err := o.Service.checkID(); err != nil {
			return newError(o.Kind.String(), o.object(), o.Kind.object(), err)
		}
	}
	msgs := make([]netlink.Message, len(ops))
	for i, o := range ops {
		cmd, full := o.command()
		if cmd == 0 {
			return fmt.Errorf("ipvs: operation %d: unknown kind %v", i, o.Kind)
		}
		m, err := c.message(cmd, 0, func(ae *netlink.AttributeEncoder) {
			if o.Kind.dest() {
				encodeService(ae, o.Service, false)
				encodeDest(ae, o.Destination, full)
			} else {
				encodeService(ae, o.Service, full)
			}
		})
		if err != nil {
			return fmt.Errorf("ipvs: operation %d: %w", i, err)
		}
		msgs[i] = m
	}
	var errs []error
	err := c.do(ctx, func() error {
		var err error
		errs, err = c.pipeline(msgs)
		return err
	})
	if err != nil {
		return fmt.Errorf("ipvs: apply: %w", err)
	}
	var ae ApplyError
	for i, e := range errs {
		if e != nil {
			ae.Errors = append(ae.Errors, &OpError{Index: i, Op: ops[i],
				Err: newError(ops[i].Kind.String(), ops[i].object(), ops[i].Kind.object(), e)})
		}
	}
	if len(ae.Errors) > 0 {
		return &ae
	}
	return nil
}

// Diff returns the operations that turn the current table into the desired one: new
// services and destinations are created, changed ones updated, and those not desired
// deleted (a deleted service takes its destinations with it). Values are compared after
// resolving defaults, so a desired service with an empty Scheduler equals a current
// "wlc" one, and kernel-only state (the HASHED flag, statistics) never shows as a change.
// Operations come in a safe order: services are created before their destinations, and
// deletions of services come last.
func Diff(desired, current []VirtualServer) []Op {
	type cur struct {
		svc   Service
		dests map[destKey]Destination
		order []Destination
	}
	curBy := make(map[serviceKey]*cur, len(current))
	for _, vs := range current {
		s := vs.Service.normalized()
		c := &cur{svc: s, dests: make(map[destKey]Destination, len(vs.Destinations))}
		for _, d := range vs.Destinations {
			d = normalizeDest(d)
			c.dests[d.key()] = d
			c.order = append(c.order, d)
		}
		curBy[s.key()] = c
	}
	var ops []Op
	wanted := make(map[serviceKey]bool, len(desired))
	for _, vs := range desired {
		s := vs.Service.normalized()
		k := s.key()
		if wanted[k] {
			continue // a duplicate: the first one wins
		}
		wanted[k] = true
		c, ok := curBy[k]
		switch {
		case !ok:
			ops = append(ops, Op{Kind: OpCreateService, Service: s})
		case c.svc != s:
			ops = append(ops, Op{Kind: OpUpdateService, Service: s})
		}
		want := make(map[destKey]bool, len(vs.Destinations))
		var creates []Op
		for _, d := range vs.Destinations {
			d = normalizeDest(d)
			dk := d.key()
			if want[dk] {
				continue
			}
			want[dk] = true
			if !ok {
				creates = append(creates, Op{Kind: OpCreateDestination, Service: s, Destination: d})
				continue
			}
			old, exists := c.dests[dk]
			switch {
			case !exists:
				creates = append(creates, Op{Kind: OpCreateDestination, Service: s, Destination: d})
			case old != d:
				creates = append(creates, Op{Kind: OpUpdateDestination, Service: s, Destination: d})
			}
		}
		if ok {
			// Deletions first, in the order the kernel listed them, so that thresholds
			// and weights of the remaining servers apply to the final set.
			for _, cd := range c.order {
				if !want[cd.key()] {
					ops = append(ops, Op{Kind: OpDeleteDestination, Service: s, Destination: cd})
					want[cd.key()] = true // delete once even if listed twice
				}
			}
		}
		ops = append(ops, creates...)
	}
	for _, vs := range current {
		s := vs.Service.normalized()
		if !wanted[s.key()] {
			wanted[s.key()] = true
			ops = append(ops, Op{Kind: OpDeleteService, Service: s})
		}
	}
	return ops
}

func normalizeDest(d Destination) Destination {
	d = d.normalized()
	if d.Forward != Tunnel {
		d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
	}
	return d
}

// Reconcile makes the kernel's whole table equal to desired: it takes a Snapshot,
// computes the Diff and Applies it, returning the operations it performed. On an
// *ApplyError some of them took effect; calling Reconcile again retries the rest.
//
// Reconcile deletes every service of the namespace that is not in desired, including
// those of other programs on the host (kube-proxy, another director, an operator's
// ipvsadm). A program that shares the table uses ReconcileOwned instead.
func (c *Client) Reconcile(ctx context.Context, desired []VirtualServer) ([]Op, error) {
	return c.ReconcileOwned(ctx, desired, nil)
}

// ReconcileOwned is Reconcile limited to the services the caller owns: a service of
// the kernel's table for which owns returns false, and that is not in desired, is left
// alone with its destinations, never updated or deleted. Services in desired are owned
// by definition: they are created or updated, and their destinations made equal to
// the desired ones. A nil owns owns every service (Reconcile). owns sees the service
// as the kernel lists it (defaults resolved, HASHED flag cleared); a typical predicate
// matches the daemon's VIPs or firewall marks.
func (c *Client) ReconcileOwned(ctx context.Context, desired []VirtualServer, owns func(Service) bool) ([]Op, error) {
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	current := Table(snap)
	if owns != nil {
		want := make(map[serviceKey]bool, len(desired))
		for _, vs := range desired {
			want[vs.Service.normalized().key()] = true
		}
		current = slices.DeleteFunc(current, func(vs VirtualServer) bool {
			s := vs.Service.normalized()
			return !want[s.key()] && !owns(s)
		})
	}
	ops := Diff(desired, current)
	if err := c.Apply(ctx, ops); err != nil {
		return ops, err
	}
	return ops, nil
}
