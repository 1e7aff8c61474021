package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// fakeSource is a statusSource with a fixed state.
type fakeSource struct {
	st Status
	cs counterSnapshot
}

func (f fakeSource) status() Status            { return f.st }
func (f fakeSource) counters() counterSnapshot { return f.cs }

// knownState is a director that is MASTER of VI_1 (two VIPs) and BACKUP of VI_2,
// with one virtual server whose second real server is down.
func knownState() fakeSource {
	since := time.Unix(1700000000, 500_000_000)
	return fakeSource{
		st: Status{
			Instances: []InstanceStatus{
				{Name: "VI_1", State: "MASTER", Priority: 150, VIPs: []string{"192.0.2.10/32", "192.0.2.11/32"}, Since: since},
				{Name: "VI_2", State: "BACKUP", Priority: 100, VIPs: []string{}},
			},
			Routers: []RouterStatus{{Name: "G1", RxAdverts: 7, TxPackets: 40, TxErrors: 1, Drops: map[string]uint64{"bad TTL": 3}}},
			VirtualServers: []VSStatus{{Service: "tcp 192.0.2.10:80", QuorumUp: true, RealServers: []RSStatus{
				{Addr: "198.51.100.1:80", Alive: true, Weight: 3, Checks: []CheckStatus{{Name: "TCP_CHECK 198.51.100.1:80", Up: true}}},
				{Addr: "198.51.100.2:80", Alive: false, Weight: 0},
			}}},
			IPVSOps:      map[string]uint64{"create service": 1, "create destination": 2},
			IPVSOpErrors: 4,
		},
		cs: counterSnapshot{
			trans:    map[string]uint64{"VI_1": 2},
			scripts:  map[[2]string]uint64{{"chk_nginx", "ok"}: 9, {"chk_nginx", "fail"}: 1},
			attempts: [2]uint64{5, 20},
			vipErrs:  6,
			mail:     MailStats{Queued: 4, Sent: 3, Dropped: 1, AttemptErrors: 2, Pending: 1},
		},
	}
}

// series is one sample in a comparable form: name{labels} value.
type series struct {
	Type   string
	Labels string
	Value  float64
}

func flatten(mfs map[string]*dto.MetricFamily, prefix string) map[string][]series {
	out := map[string][]series{}
	for name, mf := range mfs {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			s := series{Type: mf.GetType().String(), Labels: strings.Join(ls, ",")}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.Value = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.Value = m.GetGauge().GetValue()
			}
			out[name] = append(out[name], s)
		}
		sort.Slice(out[name], func(i, j int) bool { return out[name][i].Labels < out[name][j].Labels })
	}
	return out
}

// TestMetricsScrape scrapes /metrics as Prometheus would and parses it with the
// client library's text parser: every family of the known state, with its type,
// labels and value, plus the process and Go runtime families.
func TestMetricsScrape(t *testing.T) {
	srv := httptest.NewServer(metricsHandler(newRegistry(knownState()), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q; want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the text parser rejects the exposition: %v", err)
	}
	const (
		g = "GAUGE"
		c = "COUNTER"
	)
	vs, rs1, rs2 := "virtual_server=tcp 192.0.2.10:80", "real_server=198.51.100.1:80", "real_server=198.51.100.2:80"
	want := map[string][]series{
		"director_vrrp_state": {
			{g, "instance=VI_1,state=BACKUP", 0}, {g, "instance=VI_1,state=FAULT", 0}, {g, "instance=VI_1,state=INIT", 0}, {g, "instance=VI_1,state=MASTER", 1},
			{g, "instance=VI_2,state=BACKUP", 1}, {g, "instance=VI_2,state=FAULT", 0}, {g, "instance=VI_2,state=INIT", 0}, {g, "instance=VI_2,state=MASTER", 0},
		},
		"director_vrrp_priority":                       {{g, "instance=VI_1", 150}, {g, "instance=VI_2", 100}},
		"director_vrrp_transitions_total":              {{c, "instance=VI_1", 2}, {c, "instance=VI_2", 0}},
		"director_vrrp_vips_held":                      {{g, "instance=VI_1", 2}, {g, "instance=VI_2", 0}},
		"director_vrrp_state_change_timestamp_seconds": {{g, "instance=VI_1", 1700000000.5}},
		"director_vrrp_adverts_received_total":         {{c, "router=G1", 7}},
		"director_vrrp_adverts_sent_total":             {{c, "router=G1", 40}},
		"director_vrrp_send_errors_total":              {{c, "router=G1", 1}},
		"director_vrrp_packets_dropped_total":          {{c, "reason=bad TTL,router=G1", 3}},
		"director_vrrp_script_runs_total":              {{c, "result=fail,script=chk_nginx", 1}, {c, "result=ok,script=chk_nginx", 9}},
		"director_check_attempts_total":                {{c, "result=fail", 5}, {c, "result=ok", 20}},
		"director_vip_errors_total":                    {{c, "", 6}},
		"director_realserver_up":                       {{g, rs1 + "," + vs, 1}, {g, rs2 + "," + vs, 0}},
		"director_realserver_weight":                   {{g, rs1 + "," + vs, 3}, {g, rs2 + "," + vs, 0}},
		"director_check_up":                            {{g, "check=TCP_CHECK 198.51.100.1:80," + rs1 + "," + vs, 1}},
		"director_virtual_server_quorum_up":            {{g, vs, 1}},
		"director_ipvs_ops_total": {
			{c, "op=create_destination", 2}, {c, "op=create_service", 1}, {c, "op=delete_destination", 0},
			{c, "op=delete_service", 0}, {c, "op=update_destination", 0}, {c, "op=update_service", 0},
		},
		"director_ipvs_op_errors_total":      {{c, "", 4}},
		"director_smtp_mails_total":          {{c, "result=dropped", 1}, {c, "result=failed", 0}, {c, "result=queued", 4}, {c, "result=sent", 3}},
		"director_smtp_attempt_errors_total": {{c, "", 2}},
		"director_smtp_queue_length":         {{g, "", 1}},
	}
	if diff := cmp.Diff(want, flatten(mfs, "director_")); diff != "" {
		t.Errorf("director families (-want +got):\n%s", diff)
	}
	runtimeFamilies := []string{"go_goroutines", "go_memstats_alloc_bytes", "go_gc_duration_seconds"}
	if runtime.GOOS == "linux" {
		runtimeFamilies = append(runtimeFamilies, "process_start_time_seconds", "process_cpu_seconds_total", "process_open_fds")
	}
	for _, name := range runtimeFamilies {
		if _, ok := mfs[name]; !ok {
			t.Errorf("no %s family", name)
		}
	}
	if got := mfs["process_cpu_seconds_total"].GetType(); runtime.GOOS == "linux" && got != dto.MetricType_COUNTER {
		t.Errorf("process_cpu_seconds_total is a %v", got)
	}
}

// TestMetricsOpenMetrics: a scraper that asks for OpenMetrics gets it, counters
// typed without their _total suffix and the body ending in # EOF.
func TestMetricsOpenMetrics(t *testing.T) {
	srv := httptest.NewServer(metricsHandler(newRegistry(knownState()), slog.New(slog.DiscardHandler)))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type = %q; want OpenMetrics", ct)
	}
	for _, line := range []string{
		"# TYPE director_vrrp_transitions counter\n",
		`director_vrrp_transitions_total{instance="VI_1"} 2.0` + "\n",
		`director_vrrp_state{instance="VI_1",state="MASTER"} 1.0` + "\n",
	} {
		if !strings.Contains(string(b), line) {
			t.Errorf("OpenMetrics body lacks %q", line)
		}
	}
	if !strings.HasSuffix(string(b), "# EOF\n") {
		t.Errorf("OpenMetrics body does not end with # EOF")
	}
}

// TestMetricsDuplicateSeries: two real servers reported with the same address (which
// the status never does, but a scrape must survive) are logged and left out, and the
// rest is still served.
func TestMetricsDuplicateSeries(t *testing.T) {
	src := knownState()
	vs := &src.st.VirtualServers[0]
	vs.RealServers = append(vs.RealServers, vs.RealServers[0])
	var logs strings.Builder
	srv := httptest.NewServer(metricsHandler(newRegistry(src), slog.New(slog.NewTextHandler(&logs, nil))))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || mfs["director_vrrp_priority"] == nil {
		t.Errorf("status %d, families %d: the rest of the scrape is lost", resp.StatusCode, len(mfs))
	}
	if !strings.Contains(logs.String(), "collected before with the same name and label values") {
		t.Errorf("duplicate not logged: %q", logs.String())
	}
}
