package kaconf

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReadSMTPHosts reads SMTP_CHECK host blocks as keepalived 2.2.7 runs them: a
// check per host, the SMTP_CHECK's own only when it sets a connection line, the
// host-level retry lines applying to the SMTP_CHECK, and warnings at the lines
// where keepalived reads something else.
func TestReadSMTPHosts(t *testing.T) {
	const conf = `virtual_server 192.0.2.10 25 {
    protocol TCP
    real_server 192.0.2.21 25 {
        SMTP_CHECK {
            helo_name mx.example.com
            host {
                connect_ip 192.0.2.21
                connect_timeout 4
            }
            host {
                connect_ip 198.51.100.7
                connect_port 587
                bindto 192.0.2.1
                bind_port 40000
                connect_timeout 6
                retry 4
            }
        }
    }
    real_server 192.0.2.22 25 {
        SMTP_CHECK {
            connect_timeout 10
            delay_before_retry 7
            host {
                connect_ip 203.0.113.9
            }
        }
    }
}
`
	c, warns, err := readString(conf)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	base := func(line int, rs string) Check {
		return Check{Pos: at("k.conf", line), Type: CheckSMTP, ConnectIP: ip(rs), ConnectPort: 25,
			ConnectTimeout: 5 * time.Second, Retry: 4, DelayBeforeRetry: time.Second,
			DelayLoop: time.Minute, Warmup: time.Minute, HeloName: "mx.example.com"}
	}
	// First real server: no connection line in SMTP_CHECK, so the two hosts are
	// the checks; the second host's retry 4 is the SMTP_CHECK's, so both have it.
	h1 := base(6, "192.0.2.21")
	h1.ConnectTimeout = 4 * time.Second
	h2 := base(10, "198.51.100.7")
	h2.ConnectPort, h2.BindTo, h2.BindPort, h2.ConnectTimeout = 587, ip("192.0.2.1"), 40000, 6*time.Second
	if diff := cmp.Diff([]Check{h1, h2}, c.VirtualServers[0].RealServers[0].Checks, eqNetip); diff != "" {
		t.Errorf("hosts only (-want +got):\n%s", diff)
	}
	// Second: connect_timeout makes the SMTP_CHECK a check of its own; the host
	// connects to its address on the real server's port with the SMTP_CHECK's timeout.
	own := base(21, "192.0.2.22")
	own.ConnectTimeout, own.Retry, own.DelayBeforeRetry, own.HeloName = 10*time.Second, 1, 7*time.Second, "smtpchecker.keepalived.org"
	h3 := own
	h3.Pos, h3.ConnectIP = at("k.conf", 24), ip("203.0.113.9")
	if diff := cmp.Diff([]Check{own, h3}, c.VirtualServers[0].RealServers[1].Checks, eqNetip); diff != "" {
		t.Errorf("own connection and a host (-want +got):\n%s", diff)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.Pos.String()+": "+w.Message[:min(len(w.Message), 40)])
	}
	want := []string{
		"k.conf:4: SMTP_CHECK host blocks are deprecated in",
		"k.conf:21: SMTP_CHECK host blocks are deprecated in",
		"k.conf:24: host without connect_timeout: keepalived",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	// Format writes the checks out one SMTP_CHECK each, which read back the same.
	again, _, err := readString(string(Format(c)))
	if err != nil {
		t.Fatalf("reading Format's output: %v", err)
	}
	if diff := cmp.Diff(c, again, eqNetip, ignorePos); diff != "" {
		t.Errorf("round trip (-first +again):\n%s", diff)
	}
}

func TestReadSMTPHostErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"helo_name in host", "host {\n helo_name x\n}", "k.conf:6: helo_name: unknown or unsupported keyword: not a keyword of host"},
		{"nested host", "host {\n host {\n}\n}", "k.conf:6: host: unknown or unsupported keyword: not a keyword of host"},
		{"bindto of another family", "host {\n connect_ip 192.0.2.9\n bindto 2001:db8::1\n}", "k.conf:5: host: bad value: host: bindto 2001:db8::1 is not of connect_ip 192.0.2.9's family"},
		{"port 0", "host {\n connect_port 0\n}", "k.conf:5: host: bad value: host has no port to connect to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := "virtual_server 192.0.2.10 25 {\nprotocol TCP\nreal_server 192.0.2.21 25 {\nSMTP_CHECK {\n" + tc.body + "\n}\n}\n}\n"
			_, _, err := readString(conf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
