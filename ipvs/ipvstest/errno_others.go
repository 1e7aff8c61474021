//go:build !linux

package ipvstest

// defaultErrnoMessages: outside Linux, github.com/mdlayher/netlink turns every error
// reply into one generic error, so the fake always names the errno in an extended
// acknowledgement for the client to read back.
const defaultErrnoMessages = true
