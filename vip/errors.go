package vip

import "errors"

// Errors that callers branch on. Kernel errors stay wrapped, so errors.Is(err,
// os.ErrPermission) reports a missing CAP_NET_ADMIN and errors.Is(err, syscall.ENODEV) a
// missing interface as well.
var (
	// ErrConflict means the address already exists on the interface with another
	// prefix length.
	ErrConflict = errors.New("address exists with different properties")
	// ErrInvalidLabel means an IPv4 label that does not start with the interface name or
	// is longer than 15 bytes.
	ErrInvalidLabel = errors.New("label must start with the interface name and be at most 15 bytes")
	// ErrLabelIPv6 means a label on an IPv6 address, which has none.
	ErrLabelIPv6 = errors.New("IPv6 addresses take no label")
	// ErrUnknownInterface means no interface of that name exists in the namespace.
	ErrUnknownInterface = errors.New("unknown interface")
)
