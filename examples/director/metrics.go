package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// The director's metrics are read at scrape time: a collector asks the owners for the
// same snapshots the status dump uses (status and counters), so no metric is kept in
// two places and a scrape never waits for a kernel call. Names follow Prometheus's
// conventions: a director_ prefix, _total on counters, base units (seconds).

// counterSnapshot is a copy of the counters the daemon keeps besides the routers' and
// scheduler's own (type metrics in status.go) and of the mailer's.
type counterSnapshot struct {
	trans    map[string]uint64    // instance -> state changes
	scripts  map[[2]string]uint64 // (script, "ok"|"fail") -> runs
	attempts [2]uint64            // health check attempts: failed, passed
	vipErrs  uint64
	mail     MailStats
}

// counters copies the daemon's counters, each owner under its own lock.
func (d *daemon) counters() counterSnapshot {
	d.m.mu.Lock()
	c := counterSnapshot{
		trans:    make(map[string]uint64, len(d.m.trans)),
		scripts:  make(map[[2]string]uint64, len(d.m.scripts)),
		attempts: d.m.attempts,
		vipErrs:  d.m.vipErrs,
	}
	for k, v := range d.m.trans {
		c.trans[k] = v
	}
	for k, v := range d.m.scripts {
		c.scripts[k] = v
	}
	d.m.mu.Unlock()
	c.mail = d.mail.stats()
	return c
}

// vrrpStates are the states director_vrrp_state reports, one series each.
var vrrpStates = []vrrp.State{vrrp.StateInit, vrrp.StateBackup, vrrp.StateMaster, vrrp.StateFault}

// ipvsOps are the operations director_ipvs_ops_total reports, zero or not.
var ipvsOps = []ipvs.OpKind{ipvs.OpCreateService, ipvs.OpUpdateService, ipvs.OpDeleteService,
	ipvs.OpCreateDestination, ipvs.OpUpdateDestination, ipvs.OpDeleteDestination}

// collector is a prometheus.Collector over a statusSource.
type collector struct {
	src statusSource

	vrrpState, vrrpPriority, vrrpTransitions, vrrpVIPs, vrrpSince  *prometheus.Desc
	advertsRx, advertsTx, sendErrors, dropped, scriptRuns          *prometheus.Desc
	checkAttempts, vipErrors, rsUp, rsWeight, quorumUp, checkUp    *prometheus.Desc
	ipvsOpsDesc, ipvsOpErrors, mails, mailAttemptErrors, mailQueue *prometheus.Desc
}

func newCollector(src statusSource) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("director_"+name, help, labels, nil)
	}
	return &collector{
		src:             src,
		vrrpState:       d("vrrp_state", "1 for the current VRRP state of each instance (INIT, BACKUP, MASTER, FAULT), 0 for the others.", "instance", "state"),
		vrrpPriority:    d("vrrp_priority", "Effective VRRP priority of each instance.", "instance"),
		vrrpTransitions: d("vrrp_transitions_total", "VRRP state changes of each instance.", "instance"),
		vrrpVIPs:        d("vrrp_vips_held", "Virtual addresses the instance holds.", "instance"),
		vrrpSince:       d("vrrp_state_change_timestamp_seconds", "Unix time of the instance's last state change.", "instance"),
		advertsRx:       d("vrrp_adverts_received_total", "Valid VRRP adverts received per router (sync group or instance).", "router"),
		advertsTx:       d("vrrp_adverts_sent_total", "VRRP adverts sent per router.", "router"),
		sendErrors:      d("vrrp_send_errors_total", "VRRP adverts that failed to send per router.", "router"),
		dropped:         d("vrrp_packets_dropped_total", "VRRP packets dropped per router and reason.", "router", "reason"),
		scriptRuns:      d("vrrp_script_runs_total", "vrrp_script runs by result (ok, fail).", "script", "result"),
		checkAttempts:   d("check_attempts_total", "Health check attempts by result (ok, fail).", "result"),
		vipErrors:       d("vip_errors_total", "Failed VIP additions."),
		rsUp:            d("realserver_up", "1 when every health check of the real server passes.", "virtual_server", "real_server"),
		rsWeight:        d("realserver_weight", "Configured or dynamic weight of the real server.", "virtual_server", "real_server"),
		checkUp:         d("check_up", "1 when the health check passes, per real server and check.", "virtual_server", "real_server", "check"),
		quorumUp:        d("virtual_server_quorum_up", "1 while the virtual server has quorum.", "virtual_server"),
		ipvsOpsDesc:     d("ipvs_ops_total", "IPVS operations performed, by kind.", "op"),
		ipvsOpErrors:    d("ipvs_op_errors_total", "IPVS operations that failed."),
		mails:           d("smtp_mails_total", "smtp_alert mails: queued, sent, failed (given up after the retries) and dropped (queue full or stopping).", "result"),
		mailAttemptErrors: d("smtp_attempt_errors_total",
			"SMTP deliveries that failed (server down, slow or rejecting); each mail is tried a bounded number of times."),
		mailQueue: d("smtp_queue_length", "smtp_alert mails waiting for the sender."),
	}
}

// Describe sends every descriptor the collector can emit.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.vrrpState, c.vrrpPriority, c.vrrpTransitions, c.vrrpVIPs, c.vrrpSince,
		c.advertsRx, c.advertsTx, c.sendErrors, c.dropped, c.scriptRuns,
		c.checkAttempts, c.vipErrors, c.rsUp, c.rsWeight, c.checkUp, c.quorumUp,
		c.ipvsOpsDesc, c.ipvsOpErrors, c.mails, c.mailAttemptErrors, c.mailQueue} {
		ch <- d
	}
}

// Collect reads the owners' snapshots and sends one metric per series.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st, cs := c.src.status(), c.src.counters()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, in := range st.Instances {
		for _, s := range vrrpStates {
			gauge(c.vrrpState, b01(in.State == s.String()), in.Name, s.String())
		}
		gauge(c.vrrpPriority, float64(in.Priority), in.Name)
		counter(c.vrrpTransitions, cs.trans[in.Name], in.Name)
		gauge(c.vrrpVIPs, float64(len(in.VIPs)), in.Name)
		if !in.Since.IsZero() {
			gauge(c.vrrpSince, float64(in.Since.UnixNano())/1e9, in.Name)
		}
	}
	for _, r := range st.Routers {
		counter(c.advertsRx, r.RxAdverts, r.Name)
		counter(c.advertsTx, r.TxPackets, r.Name)
		counter(c.sendErrors, r.TxErrors, r.Name)
		for reason, n := range r.Drops {
			counter(c.dropped, n, r.Name, reason)
		}
	}
	for k, n := range cs.scripts {
		counter(c.scriptRuns, n, k[0], k[1])
	}
	counter(c.checkAttempts, cs.attempts[1], "ok")
	counter(c.checkAttempts, cs.attempts[0], "fail")
	counter(c.vipErrors, cs.vipErrs)
	for _, v := range st.VirtualServers {
		gauge(c.quorumUp, b01(v.QuorumUp), v.Service)
		for _, r := range v.RealServers {
			gauge(c.rsUp, b01(r.Alive), v.Service, r.Addr)
			gauge(c.rsWeight, float64(r.Weight), v.Service, r.Addr)
			for _, ch := range r.Checks {
				gauge(c.checkUp, b01(ch.Up), v.Service, r.Addr, ch.Name)
			}
		}
	}
	for _, k := range ipvsOps {
		counter(c.ipvsOpsDesc, st.IPVSOps[k.String()], strings.ReplaceAll(k.String(), " ", "_"))
	}
	counter(c.ipvsOpErrors, st.IPVSOpErrors)
	for _, m := range []struct {
		result string
		n      uint64
	}{{"queued", cs.mail.Queued}, {"sent", cs.mail.Sent}, {"failed", cs.mail.Failed}, {"dropped", cs.mail.Dropped}} {
		counter(c.mails, m.n, m.result)
	}
	counter(c.mailAttemptErrors, cs.mail.AttemptErrors)
	gauge(c.mailQueue, float64(cs.mail.Pending))
}

func b01(x bool) float64 {
	if x {
		return 1
	}
	return 0
}

// newRegistry is the registry /metrics serves: the director's collector, and the
// process (CPU, memory, file descriptors, start time) and Go runtime collectors.
func newRegistry(src statusSource) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(src), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return reg
}

// metricsHandler serves reg with content negotiation: the text format by default,
// OpenMetrics when the scraper asks for it, gzip when accepted. A series that fails
// (two with the same labels) is logged and left out; the rest is served.
func metricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{log},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// slogPrinter is promhttp's error log on a slog.Logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Error("metrics", "err", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// writeMetrics writes the director's own families (not the process and Go ones) in
// the Prometheus text format, as /metrics serves them.
func (d *daemon) writeMetrics(w io.Writer) error {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(newCollector(d))
	mfs, err := reg.Gather()
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return err
}
