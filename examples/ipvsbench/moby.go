package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/lvskit/lvskit/ipvs"
	mobyipvs "github.com/moby/ipvs"
)

// moby drives github.com/moby/ipvs, the client Docker and Kubernetes' kube-proxy use.
type moby struct{ h *mobyipvs.Handle }

// newMoby opens a handle in the network namespace at path ("": the current one).
func newMoby(path string) (*moby, error) {
	h, err := mobyipvs.New(path)
	if err != nil {
		return nil, fmt.Errorf("moby/ipvs: %w", err)
	}
	return &moby{h}, nil
}

func (m *moby) Close() { m.h.Close() }

// create adds every service and destination, one request each, the way users of
// moby/ipvs do.
func (m *moby) create(ctx context.Context, table []ipvs.VirtualServer) error {
	for _, vs := range table {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := &mobyipvs.Service{
			AddressFamily: syscall.AF_INET,
			Protocol:      syscall.IPPROTO_TCP,
			Address:       net.IP(vs.Service.Address.AsSlice()),
			Port:          vs.Service.Port,
			SchedName:     string(vs.Service.Scheduler),
			Netmask:       0xffffffff,
		}
		if err := m.h.NewService(s); err != nil {
			return fmt.Errorf("create %s: %w", vs.Service, err)
		}
		for _, d := range vs.Destinations {
			err := m.h.NewDestination(s, &mobyipvs.Destination{
				AddressFamily:   syscall.AF_INET,
				Address:         net.IP(d.Address.AsSlice()),
				Port:            d.Port,
				Weight:          int(d.Weight),
				ConnectionFlags: mobyipvs.ConnectionFlagDirectRoute,
			})
			if err != nil {
				return fmt.Errorf("create %s -> %s: %w", vs.Service, d, err)
			}
		}
	}
	return nil
}

// list reads every service and then the destinations of each.
func (m *moby) list(ctx context.Context) (svcs, dests int, err error) {
	ss, err := m.h.GetServices()
	if err != nil {
		return 0, 0, err
	}
	for _, s := range ss {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		ds, err := m.h.GetDestinations(s)
		if err != nil {
			return 0, 0, err
		}
		dests += len(ds)
	}
	return len(ss), dests, nil
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
