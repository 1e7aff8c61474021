package arpctl

import "errors"

// Errors that callers branch on. Errors from the file system stay wrapped too, so
// errors.Is(err, os.ErrPermission) reports a missing privilege (EACCES or EPERM) and
// errors.Is(err, os.ErrNotExist) a missing file.
var (
	// ErrUnknownInterface means the named interface has no directory under
	// net/ipv4/conf in the target namespace (or the name cannot be an interface).
	ErrUnknownInterface = errors.New("unknown interface")
	// ErrOutOfRange means a value lies outside what the kernel documents for the key.
	ErrOutOfRange = errors.New("value out of range")
	// ErrUnknownKey means a Key that arpctl does not know.
	ErrUnknownKey = errors.New("unknown key")
	// ErrNoIPVS means an IPVS sysctl (net.ipv4.vs.*) does not exist because the
	// ip_vs module is not loaded in the kernel (or the kernel has no IPVS). Loading
	// it (modprobe ip_vs, or creating the first virtual service) creates them.
	ErrNoIPVS = errors.New("no IPVS sysctls (ip_vs module not loaded)")
)
