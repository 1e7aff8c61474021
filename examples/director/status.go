package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/ipvs"
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

// writeMetrics writes the Prometheus text exposition format (version 0.0.4).
func (d *daemon) writeMetrics(w io.Writer) {
	st := d.status()
	var b bytes.Buffer
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, v any, labels ...string) {
		b.WriteString(name)
		if len(labels) > 0 {
			b.WriteByte('{')
			for i := 0; i+1 < len(labels); i += 2 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=\"%s\"", labels[i], escapeLabel(labels[i+1]))
			}
			b.WriteByte('}')
		}
		fmt.Fprintf(&b, " %v\n", v)
	}
	b01 := func(x bool) int {
		if x {
			return 1
		}
		return 0
	}

	family("director_vrrp_state", "gauge", "1 for the current VRRP state of each instance (INIT, BACKUP, MASTER, FAULT).")
	for _, in := range st.Instances {
		for _, s := range []vrrp.State{vrrp.StateInit, vrrp.StateBackup, vrrp.StateMaster, vrrp.StateFault} {
			sample("director_vrrp_state", b01(in.State == s.String()), "instance", in.Name, "state", s.String())
		}
	}
	family("director_vrrp_priority", "gauge", "Effective VRRP priority of each instance.")
	for _, in := range st.Instances {
		sample("director_vrrp_priority", in.Priority, "instance", in.Name)
	}
	family("director_vrrp_transitions_total", "counter", "VRRP state changes of each instance.")
	d.m.mu.Lock()
	for _, in := range st.Instances {
		sample("director_vrrp_transitions_total", d.m.trans[in.Name], "instance", in.Name)
	}
	d.m.mu.Unlock()
	family("director_vrrp_vips_held", "gauge", "Virtual addresses the instance holds.")
	for _, in := range st.Instances {
		sample("director_vrrp_vips_held", len(in.VIPs), "instance", in.Name)
	}
	family("director_vrrp_adverts_received_total", "counter", "Valid VRRP adverts received per router (sync group or instance).")
	for _, r := range st.Routers {
		sample("director_vrrp_adverts_received_total", r.RxAdverts, "router", r.Name)
	}
	family("director_vrrp_adverts_sent_total", "counter", "VRRP adverts sent per router.")
	for _, r := range st.Routers {
		sample("director_vrrp_adverts_sent_total", r.TxPackets, "router", r.Name)
	}
	family("director_vrrp_send_errors_total", "counter", "VRRP adverts that failed to send per router.")
	for _, r := range st.Routers {
		sample("director_vrrp_send_errors_total", r.TxErrors, "router", r.Name)
	}
	family("director_vrrp_packets_dropped_total", "counter", "VRRP packets dropped per router and reason.")
	for _, r := range st.Routers {
		var reasons []string
		for k := range r.Drops {
			reasons = append(reasons, k)
		}
		sort.Strings(reasons)
		for _, k := range reasons {
			sample("director_vrrp_packets_dropped_total", r.Drops[k], "router", r.Name, "reason", k)
		}
	}
	family("director_vrrp_script_runs_total", "counter", "vrrp_script runs by result.")
	d.m.mu.Lock()
	var sk [][2]string
	for k := range d.m.scripts {
		sk = append(sk, k)
	}
	slices.SortFunc(sk, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	for _, k := range sk {
		sample("director_vrrp_script_runs_total", d.m.scripts[k], "script", k[0], "result", k[1])
	}
	family("director_check_attempts_total", "counter", "Health check attempts by result.")
	sample("director_check_attempts_total", d.m.attempts[1], "result", "ok")
	sample("director_check_attempts_total", d.m.attempts[0], "result", "fail")
	family("director_vip_errors_total", "counter", "Failed VIP additions.")
	sample("director_vip_errors_total", d.m.vipErrs)
	d.m.mu.Unlock()
	family("director_realserver_up", "gauge", "1 when every health check of the real server passes.")
	for _, v := range st.VirtualServers {
		for _, r := range v.RealServers {
			sample("director_realserver_up", b01(r.Alive), "virtual_server", v.Service, "real_server", r.Addr)
		}
	}
	family("director_realserver_weight", "gauge", "Configured or dynamic weight of the real server.")
	for _, v := range st.VirtualServers {
		for _, r := range v.RealServers {
			sample("director_realserver_weight", r.Weight, "virtual_server", v.Service, "real_server", r.Addr)
		}
	}
	family("director_virtual_server_quorum_up", "gauge", "1 while the virtual server has quorum.")
	for _, v := range st.VirtualServers {
		sample("director_virtual_server_quorum_up", b01(v.QuorumUp), "virtual_server", v.Service)
	}
	family("director_ipvs_ops_total", "counter", "IPVS operations performed, by kind.")
	for _, k := range []ipvs.OpKind{ipvs.OpCreateService, ipvs.OpUpdateService, ipvs.OpDeleteService,
		ipvs.OpCreateDestination, ipvs.OpUpdateDestination, ipvs.OpDeleteDestination} {
		sample("director_ipvs_ops_total", st.IPVSOps[k.String()], "op", strings.ReplaceAll(k.String(), " ", "_"))
	}
	family("director_ipvs_op_errors_total", "counter", "IPVS operations that failed.")
	sample("director_ipvs_op_errors_total", st.IPVSOpErrors)
	ms := d.mail.stats()
	family("director_smtp_mails_total", "counter", "smtp_alert mails: queued, sent, failed (given up after the retries) and dropped (queue full or stopping).")
	sample("director_smtp_mails_total", ms.Queued, "result", "queued")
	sample("director_smtp_mails_total", ms.Sent, "result", "sent")
	sample("director_smtp_mails_total", ms.Failed, "result", "failed")
	sample("director_smtp_mails_total", ms.Dropped, "result", "dropped")
	family("director_smtp_attempt_errors_total", "counter", "SMTP deliveries that failed (server down, slow or rejecting); each mail is tried a bounded number of times.")
	sample("director_smtp_attempt_errors_total", ms.AttemptErrors)
	family("director_smtp_queue_length", "gauge", "smtp_alert mails waiting for the sender.")
	sample("director_smtp_queue_length", ms.Pending)
	w.Write(b.Bytes())
}

// escapeLabel escapes a label value as the text format requires.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// httpServer serves /metrics and /status.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

// statusSource is what the HTTP server serves: the daemon, or a fake.
type statusSource interface {
	status() Status
	writeMetrics(w io.Writer)
}

func startHTTP(addr string, d statusSource, log *slog.Logger) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("director: -metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		d.writeMetrics(w)
	})
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
