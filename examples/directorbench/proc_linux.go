package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// proc is one router process (a director, or a keepalived parent with its
// children) started in a namespace, in a process group of its own so that one
// kill(2) reaches all of it.
type proc struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error // Wait's result, set before exited closes
}

// startProc runs argv inside namespace ns (ip netns exec replaces itself with the
// program, so the process started is the router), logging to logPath. The process
// dies with the benchmark (PR_SET_PDEATHSIG) should the benchmark die first.
func startProc(ns, logPath string, argv ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &proc{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// alive reports whether the process has not exited.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the whole process group at once.
func (p *proc) kill() { syscall.Kill(-p.pid(), syscall.SIGKILL) }

// stop asks the group to stop (SIGTERM), and kills it after grace.
func (p *proc) stop(grace time.Duration) {
	if !p.alive() {
		return
	}
	syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.kill()
		<-p.exited
	}
	// Children a parent left behind in the group.
	syscall.Kill(-p.pid(), syscall.SIGKILL)
}

// logTail is the end of the process's log, for error messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// allProcs reads /proc/*/stat. Processes that end while it reads are skipped.
func allProcs() ([]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := make([]procStat, 0, len(ents))
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p, err := parseProcStat(string(b))
		if err != nil {
			return nil, fmt.Errorf("/proc/%s/stat: %w", e.Name(), err)
		}
		out = append(out, p)
	}
	return out, nil
}
