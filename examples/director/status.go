package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// metrics are counters the daemon keeps besides the routers' and scheduler's own.
type metrics struct {
	mu       sync.Mutex
	trans    map[string]uint64 // instance -> state changes
	scripts  map[[2]string]uint64
	attempts [2]uint64 // failed, passed
	vipErrs  uint64
}

func (m *metrics) transitions(instance string, _ vrrp.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.trans == nil {
		m.trans = map[string]uint64{}
	}
	m.trans[instance]++
}

func (m *metrics) scriptRuns(name string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.scripts == nil {
		m.scripts = map[[2]string]uint64{}
	}
	r := "fail"
	if ok {
		r = "ok"
	}
	m.scripts[[2]string{name, r}]++
}

func (m *metrics) checkAttempt(ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ok {
		m.attempts[1]++
	} else {
		m.attempts[0]++
	}
}

func (m *metrics) vipError() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vipErrs++
}

// Status is the JSON status dump (SIGUSR1, GET /status), like keepalived's data file.
type Status struct {
	Time           time.Time         `json:"time"`
	RouterID       string            `json:"router_id,omitempty"`
	Instances      []InstanceStatus  `json:"vrrp_instances"`
	Routers        []RouterStatus    `json:"vrrp_routers"`
	VirtualServers []VSStatus        `json:"virtual_servers"`
	IPVSOps        map[string]uint64 `json:"ipvs_ops,omitempty"`
	IPVSOpErrors   uint64            `json:"ipvs_op_errors"`
	SyncDaemons    []string          `json:"ipvs_sync_daemons,omitempty"`
	// Mail counts smtp_alert mails; nil when mail is not configured.
	Mail *MailStats `json:"mail,omitempty"`
}

// InstanceStatus is one vrrp_instance.
type InstanceStatus struct {
	Name         string          `json:"name"`
	Interface    string          `json:"interface"`
	VRID         int             `json:"virtual_router_id"`
	Version      int             `json:"version"`
	State        string          `json:"state"`
	Priority     int             `json:"priority"`
	BasePriority int             `json:"base_priority"`
	MasterAddr   string          `json:"master_addr,omitempty"`
	SyncGroup    string          `json:"sync_group,omitempty"`
	VIPs         []string        `json:"vips_held"`
	Trackers     []TrackerStatus `json:"trackers,omitempty"`
	Transitions  uint64          `json:"transitions"`
	Since        time.Time       `json:"since"`
	VMAC         string          `json:"vmac,omitempty"` // use_vmac's macvlan, which holds the VIPs
}

// TrackerStatus is one track_script or track_interface line.
type TrackerStatus struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	Up     bool   `json:"up"`
}

// RouterStatus holds the packet counters of one vrrp.Router (a sync group or a
// single instance).
type RouterStatus struct {
	Name      string            `json:"name"`
	RxPackets uint64            `json:"rx_packets"`
	RxAdverts uint64            `json:"rx_adverts"`
	TxPackets uint64            `json:"tx_packets"`
	TxErrors  uint64            `json:"tx_errors"`
	Drops     map[string]uint64 `json:"dropped,omitempty"`
}

// VSStatus is one virtual_server.
type VSStatus struct {
	Service     string     `json:"service"`
	QuorumUp    bool       `json:"quorum_up"`
	AliveWeight int        `json:"alive_weight"`
	Quorum      int        `json:"quorum"`
	RealServers []RSStatus `json:"real_servers"`
}

// RSStatus is one real_server.
type RSStatus struct {
	Addr   string        `json:"addr"`
	Alive  bool          `json:"alive"`
	Weight int           `json:"weight"`
	Checks []CheckStatus `json:"checks,omitempty"`
}

// CheckStatus is one health checker.
type CheckStatus struct {
	Name      string `json:"name"`
	Up        bool   `json:"up"`
	Attempts  uint64 `json:"attempts"`
	Failures  uint64 `json:"failures"`
	LastError string `json:"last_error,omitempty"`
}

// status takes a snapshot of everything. It asks each owner for a copy of its part
// (each under its own lock, one at a time) and never waits for a kernel call: the
// VIPs held are those the reconciler last published.
func (d *daemon) status() Status {
	st := Status{Time: time.Now()}
	d.mu.Lock()
	cfg, l := d.cfg, d.lvs
	d.mu.Unlock()
	if cfg != nil {
		st.RouterID = cfg.Global.RouterID
		if mailConfigOf(&cfg.Global) != nil {
			ms := d.mail.stats()
			st.Mail = &ms
		}
	}
	if d.vr != nil {
		vs := d.vr.status()
		held, _ := d.rec.heldVIPs()
		st.Routers = vs.routers
		for _, in := range vs.insts {
			if h := held[in.Name]; len(h) > 0 {
				in.VIPs = append(in.VIPs, h...)
			}
			if cfg != nil {
				if ic := cfg.Instance(in.Name); ic != nil && ic.VMAC != nil {
					in.VMAC = vmacName(ic)
				}
			}
			st.Instances = append(st.Instances, in)
		}
	}
	if l != nil {
		ls := l.status()
		st.VirtualServers, st.IPVSOps, st.IPVSOpErrors, st.SyncDaemons = ls.vss, ls.ops, ls.opErrs, ls.syncSt
	}
	return st
}

// writeStatusFile writes the status as JSON, atomically (temporary file and rename).
func writeStatusFile(name string, st Status) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".director-status-*")
	if err != nil {
		return fmt.Errorf("director: status file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("director: status file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("director: status file: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("director: status file: %w", err)
	}
	return nil
}

// httpServer serves /metrics and /status.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

// statusSource is what the HTTP server serves: the daemon, or a fake.
type statusSource interface {
	status() Status
	counters() counterSnapshot
}

func startHTTP(addr string, d statusSource, log *slog.Logger) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("director: -metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(newRegistry(d), log))
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(d.status())
	})
	s := &httpServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("serving /metrics and /status", "addr", ln.Addr().String())
	return s, nil
}

func (s *httpServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}
