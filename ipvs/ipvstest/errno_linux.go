package ipvstest

// defaultErrnoMessages: on Linux, github.com/mdlayher/netlink reports an error reply's
// errno itself, so the fake's replies are the kernel's, without an extended
// acknowledgement.
const defaultErrnoMessages = false
