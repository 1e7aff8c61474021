package ipvs

import (
	"context"
	"fmt"

	"github.com/mdlayher/netlink"
)

// Services lists every virtual service with its statistics (Destinations is nil). An
// empty table is an empty slice, not an error.
func (c *Client) Services(ctx context.Context) ([]ServiceStatus, error) {
	var out []ServiceStatus
	err := c.do(ctx, func() error {
		var err error
		out, err = c.services(ctx)
		return err
	})
	if err != nil {
		return nil, newError("list services", "", objOther, err)
	}
	return out, nil
}

func (c *Client) services(ctx context.Context) ([]ServiceStatus, error) {
	if ds := c.dumpers(ctx, 1); len(ds) > 0 {
		out, err := ds[0].dumpServices()
		c.dropDumpers([]error{err})
		return out, err
	}
	bodies, err := c.exec(cmdGetService, true, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ServiceStatus, 0, len(bodies))
	for _, b := range bodies {
		s, err := decodeServiceMessage(b)
		if err != nil {
			return nil, fmt.Errorf("decode service: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Service reads one service (identified by s's Family and FWMark, or Protocol, Address
// and Port). A missing service is an error matching ErrServiceNotFound.
func (c *Client) Service(ctx context.Context, s Service) (ServiceStatus, error) {
	if err := s.checkID(); err != nil {
		return ServiceStatus{}, newError("get service", s.String(), objService, err)
	}
	var out ServiceStatus
	err := c.do(ctx, func() error {
		bodies, err := c.exec(cmdGetService, false, func(ae *netlink.AttributeEncoder) {
			encodeService(ae, s, false)
		})
		if err != nil {
			return err
		}
		if len(bodies) == 0 {
			return fmt.Errorf("no reply")
		}
		out, err = decodeServiceMessage(bodies[0])
		return err
	})
	if err != nil {
		return ServiceStatus{}, newError("get service", s.String(), objService, err)
	}
	return out, nil
}

// Destinations lists the destinations of service s with their counters. The kernel
// answers an empty list, not an error, for a service that does not exist.
func (c *Client) Destinations(ctx context.Context, s Service) ([]DestinationStatus, error) {
	var out []DestinationStatus
	err := c.do(ctx, func() error {
		var err error
		out, err = c.destinations(ctx, s)
		return err
	})
	if err != nil {
		return nil, newError("list destinations of", s.String(), objService, err)
	}
	return out, nil
}

func (c *Client) destinations(ctx context.Context, s Service) ([]DestinationStatus, error) {
	if ds := c.dumpers(ctx, 1); len(ds) > 0 {
		out, err := ds[0].dumpDests(s, &destArena{})
		c.dropDumpers([]error{err})
		return out, err
	}
	return c.destinationsOn(c.conn, s)
}

func (c *Client) destinationsOn(conn *netlink.Conn, s Service) ([]DestinationStatus, error) {
	bodies, err := c.execOn(conn, cmdGetDest, true, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, false)
	})
	if err != nil {
		return nil, err
	}
	out := make([]DestinationStatus, 0, len(bodies))
	for _, b := range bodies {
		d, err := decodeDestMessage(b, s.family())
		if err != nil {
			return nil, fmt.Errorf("decode destination: %w", err)
		}
		out = append(out, d)
	}
	return out, nil
}

// simple runs a command that answers nothing. When svc is non-nil, its identity is
// checked first, client-side.
func (c *Client) simple(ctx context.Context, op, object string, kind objKind, cmd uint8, svc *Service, build func(*netlink.AttributeEncoder)) error {
	if svc != nil {
		if err := svc.checkID(); err != nil {
			return newError(op, object, kind, err)
		}
	}
	err := c.do(ctx, func() error {
		_, err := c.exec(cmd, false, build)
		return err
	})
	if err != nil {
		return newError(op, object, kind, err)
	}
	return nil
}

// CreateService adds service s. It fails with ErrExists if it exists.
func (c *Client) CreateService(ctx context.Context, s Service) error {
	return c.simple(ctx, "create service", s.String(), objService, cmdNewService, &s, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, true)
	})
}

// UpdateService replaces the configuration of service s (every field is sent; zero
// fields mean their defaults). It fails with ErrServiceNotFound if s does not exist.
func (c *Client) UpdateService(ctx context.Context, s Service) error {
	return c.simple(ctx, "update service", s.String(), objService, cmdSetService, &s, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, true)
	})
}

// DeleteService removes service s and its destinations.
func (c *Client) DeleteService(ctx context.Context, s Service) error {
	return c.simple(ctx, "delete service", s.String(), objService, cmdDelService, &s, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, false)
	})
}

// CreateDestination adds d to service s: ErrServiceNotFound if s is missing, ErrExists
// if d is already there.
func (c *Client) CreateDestination(ctx context.Context, s Service, d Destination) error {
	return c.simple(ctx, "create destination", destObject(s, d), objDest, cmdNewDest, &s, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, false)
		encodeDest(ae, d, true)
	})
}

// UpdateDestination replaces the configuration of destination d of service s:
// ErrDestinationNotFound if d is not in s.
func (c *Client) UpdateDestination(ctx context.Context, s Service, d Destination) error {
	return c.simple(ctx, "update destination", destObject(s, d), objDest, cmdSetDest, &s, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, false)
		encodeDest(ae, d, true)
	})
}

// DeleteDestination removes destination d (by Address and Port) from service s.
func (c *Client) DeleteDestination(ctx context.Context, s Service, d Destination) error {
	return c.simple(ctx, "delete destination", destObject(s, d), objDest, cmdDelDest, &s, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, false)
		encodeDest(ae, d, false)
	})
}

// Flush removes every service of the namespace.
func (c *Client) Flush(ctx context.Context) error {
	return c.simple(ctx, "flush", "", objOther, cmdFlush, nil, nil)
}

// Zero resets the counters of every service and destination.
func (c *Client) Zero(ctx context.Context) error {
	return c.simple(ctx, "zero counters", "", objOther, cmdZero, nil, nil)
}

// ZeroService resets the counters of service s and of its destinations.
func (c *Client) ZeroService(ctx context.Context, s Service) error {
	return c.simple(ctx, "zero counters of", s.String(), objService, cmdZero, &s, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, false)
	})
}

// Timeouts reads the connection timeouts.
func (c *Client) Timeouts(ctx context.Context) (Timeouts, error) {
	var t Timeouts
	err := c.do(ctx, func() error {
		bodies, err := c.exec(cmdGetConfig, false, nil)
		if err != nil {
			return err
		}
		if len(bodies) == 0 {
			return fmt.Errorf("no reply")
		}
		t, err = decodeTimeouts(bodies[0])
		return err
	})
	if err != nil {
		return Timeouts{}, newError("get timeouts", "", objOther, err)
	}
	return t, nil
}

// SetTimeouts sets the connection timeouts; zero fields are left unchanged.
func (c *Client) SetTimeouts(ctx context.Context, t Timeouts) error {
	return c.simple(ctx, "set timeouts", "", objOther, cmdSetConfig, nil, func(ae *netlink.AttributeEncoder) {
		encodeTimeouts(ae, t)
	})
}

// Daemons lists the running sync daemons (at most one master and one backup).
func (c *Client) Daemons(ctx context.Context) ([]Daemon, error) {
	var out []Daemon
	err := c.do(ctx, func() error {
		bodies, err := c.exec(cmdGetDaemon, true, nil)
		if err != nil {
			return err
		}
		for _, b := range bodies {
			d, err := decodeDaemonMessage(b)
			if err != nil {
				return fmt.Errorf("decode daemon: %w", err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, newError("list sync daemons", "", objOther, err)
	}
	return out, nil
}

// StartDaemon starts a sync daemon; State, Interface and SyncID are required.
func (c *Client) StartDaemon(ctx context.Context, d Daemon) error {
	return c.simple(ctx, "start sync daemon", d.State.String(), objOther, cmdNewDaemon, nil, func(ae *netlink.AttributeEncoder) {
		encodeDaemon(ae, d, true)
	})
}

// StopDaemon stops the sync daemon in the given state.
func (c *Client) StopDaemon(ctx context.Context, state DaemonState) error {
	return c.simple(ctx, "stop sync daemon", state.String(), objOther, cmdDelDaemon, nil, func(ae *netlink.AttributeEncoder) {
		encodeDaemon(ae, Daemon{State: state}, false)
	})
}

// Info reads the IPVS version and connection table size.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var in Info
	err := c.do(ctx, func() error {
		bodies, err := c.exec(cmdGetInfo, false, nil)
		if err != nil {
			return err
		}
		if len(bodies) == 0 {
			return fmt.Errorf("no reply")
		}
		in, err = decodeInfo(bodies[0])
		return err
	})
	if err != nil {
		return Info{}, newError("get info", "", objOther, err)
	}
	return in, nil
}
