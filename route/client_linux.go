package route

import (
	"fmt"
	"os"

	"github.com/mdlayher/netlink"
)

// Dial checks cfg and opens an rtnetlink socket in cfg's namespace.
func Dial(cfg *Config) (*Client, error) {
	if _, _, err := cfg.check(); err != nil {
		return nil, err
	}
	nc := &netlink.Config{}
	if cfg.NetNS != "" {
		f, err := os.Open(cfg.NetNS)
		if err != nil {
			return nil, fmt.Errorf("route: open netns: %w", err)
		}
		defer f.Close()
		nc.NetNS = int(f.Fd())
	}
	conn, err := netlink.Dial(netlinkRoute, nc)
	if err != nil {
		return nil, fmt.Errorf("route: dial rtnetlink: %w", err)
	}
	// Kernel error messages make errors clearer, and strict checking lets the
	// kernel filter dumps by table; older kernels lack both and work without.
	_ = conn.SetOption(netlink.ExtendedAcknowledge, true)
	_ = conn.SetOption(netlink.GetStrictCheck, true)
	return NewClient(conn, cfg)
}
