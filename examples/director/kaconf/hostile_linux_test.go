package kaconf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readWithin runs ReadFile and fails the test instead of hanging when it does not
// return within 10 s (a FIFO opened without O_NONBLOCK blocks in open(2) forever).
func readWithin(t *testing.T, name string) error {
	t.Helper()
	type result struct {
		c   *Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, _, err := ReadFile(name)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.c != nil || r.err == nil {
			t.Fatalf("ReadFile(%s) returned a Config (%v) and error %v, want only an error", name, r.c != nil, r.err)
		}
		return r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("ReadFile(%s) did not return within 10 s", name)
		return nil
	}
}

// TestReadHostileFiles includes (or reads as the main file) what keepalived 2.2.7
// skips as "not a regular non-executable file": the reader must refuse each at once,
// naming the file and the line that included it.
func TestReadHostileFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock.conf")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	exe := filepath.Join(dir, "exe.conf")
	if err := os.WriteFile(exe, []byte("global_defs {\n}\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub.conf")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.conf")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 17 MiB of zeros that take no disk.
	if err := f.Truncate(17 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()

	tests := []struct {
		name    string
		include string // the include line's argument; empty: read target itself
		target  string
		want    string
	}{
		{"FIFO", fifo, "", "main.conf:3: include: include failed: " + fifo + " is not a regular file but a FIFO (keepalived 2.2.7 skips it)"},
		{"FIFO as the main file", "", fifo, "kaconf: " + fifo + ":0: (file): include failed: " + fifo + " is not a regular file but a FIFO"},
		{"socket", sock, "", "main.conf:3: include: include failed: " + sock + " is not a regular file but a socket"},
		{"device", "/dev/zero", "", "main.conf:3: include: include failed: /dev/zero is not a regular file but a character device"},
		{"glob matching devices", "/dev/zer[o]", "", "main.conf:3: include: include failed: /dev/zero is not a regular file but a character device"},
		{"directory", sub, "", "main.conf:3: include: include failed: " + sub + " is not a regular file but a directory"},
		{"executable", exe, "", "main.conf:3: include: include failed: " + exe + " is executable (keepalived 2.2.7 skips executable files)"},
		{"over 16 MiB", big, "", "main.conf:3: include: include failed: limit exceeded: " + big + ": 17825792 bytes would take the configuration over 16777216 bytes"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.target
			if name == "" {
				name = filepath.Join(dir, fmt.Sprintf("main%d", i), "main.conf")
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					t.Fatal(err)
				}
				src := "global_defs {\n}\ninclude " + tt.include + "\n"
				if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				tt.want = name[:len(name)-len("main.conf")] + tt.want
			}
			err := readWithin(t, name)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInclude) {
				t.Errorf("err = %v, want ErrInclude", err)
			}
		})
	}
}

// memInputs are hostile inputs under 10 MB for TestReadMemory.
var memInputs = map[string]func() string{
	"statements":       func() string { return strings.Repeat("a\n", 5_000_000) },
	"block statements": func() string { return "global_defs {\n" + strings.Repeat("router_id r\n", 800_000) + "}\n" },
	"words":            func() string { return strings.Repeat("a"+strings.Repeat(" b", 500)+"\n", 9_000) },
	"quoted words":     func() string { return strings.Repeat("a"+strings.Repeat(` "\b"`, 200)+"\n", 9_000) },
	"opens":            func() string { return strings.Repeat("{\n", 5_000_000) },
	"closes":           func() string { return strings.Repeat("}\n", 5_000_000) },
	"long line":        func() string { return strings.Repeat("{", 10_000_000) },
	// The largest valid files: as many real servers as the limits allow, and more.
	"real servers":          func() string { return realServers(2350) },
	"too many real servers": func() string { return realServers(1 << 20) },
}

// realServers is a file of n virtual servers (or as many as fit in 9.5 MB) of 20 real
// servers with a TCP_CHECK each: 81 statements each.
func realServers(n int) string {
	var b strings.Builder
	for i := 0; i < n && b.Len() < 9_500_000; i++ {
		fmt.Fprintf(&b, "virtual_server 192.0.2.%d %d {\n", i%250+1, i%60000+1)
		for j := range 20 {
			fmt.Fprintf(&b, " real_server 198.51.100.%d 80 {\n  weight 1\n  TCP_CHECK {\n   connect_timeout 3\n  }\n }\n", j+1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// TestReadMemory reads each hostile input in a child process and checks the child's
// peak resident memory stays under 256 MB.
func TestReadMemory(t *testing.T) {
	if name := os.Getenv("KACONF_MEM_INPUT"); name != "" {
		src := memInputs[name]()
		path := filepath.Join(os.Getenv("KACONF_MEM_DIR"), "k.conf")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		src = ""
		c, _, err := ReadFile(path)
		n := 0
		if c != nil {
			n = len(c.VirtualServers)
		}
		fmt.Printf("KACONF_MEM_RESULT %d errors, %d virtual servers\n", len(errorTexts(err)), n)
		return
	}
	if testing.Short() {
		t.Skip("starts a process per input")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory use; run without -race")
	}
	for name := range memInputs {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestReadMemory$", "-test.count=1")
			cmd.Env = append(os.Environ(), "KACONF_MEM_INPUT="+name, "KACONF_MEM_DIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "KACONF_MEM_RESULT") {
				t.Fatalf("child did not read:\n%s", out)
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
			t.Logf("peak RSS %d MB (%s)", rss>>20, strings.TrimSpace(string(out[strings.Index(string(out), "KACONF_MEM_RESULT"):])))
			if rss > 256<<20 {
				t.Errorf("peak RSS %d MB, want under 256 MB", rss>>20)
			}
		})
	}
}
