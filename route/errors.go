package route

import "errors"

// Errors that callers branch on. Kernel errors stay wrapped, so errors.Is(err,
// os.ErrPermission) reports a missing CAP_NET_ADMIN and errors.Is(err, unix.EEXIST)
// and the like reach the errno.
var (
	// ErrReservedTable means Config.Table is 0 (unspecified) or one of the tables
	// the kernel gives a meaning: 252 (compat), 253 (default), 254 (main) or 255
	// (local).
	ErrReservedTable = errors.New("reserved routing table")
	// ErrReservedProtocol means Config.Protocol is one that the kernel, an
	// administrator's `ip route` or BIRD itself uses (1 to 4, 12), whose routes a
	// Client must not take for its own.
	ErrReservedProtocol = errors.New("reserved route protocol")
	// ErrInvalidPrefix means a prefix that is not valid, has bits set past its
	// length, is an IPv4-mapped IPv6 prefix, or has length 0 (a default route).
	ErrInvalidPrefix = errors.New("invalid prefix")
	// ErrConflict means the table already holds a route for the prefix that is not
	// the Client's (another protocol owns it). Announce leaves it alone.
	ErrConflict = errors.New("route owned by another protocol")
)
