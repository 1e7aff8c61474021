//go:build !linux

package main

import (
	"context"
	"log/slog"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// startRTPriority logs that realtime scheduling is Linux only.
func startRTPriority(_ context.Context, log *slog.Logger, r kaconf.RTPriority) {
	if r.VRRP != 0 || r.MaxAuto > 0 {
		log.Warn("vrrp_rt_priority and max_auto_priority need Linux; ignored")
	}
}
