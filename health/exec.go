package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ExecChecker runs a program (keepalived's MISC_CHECK, or a vrrp_script) without a shell.
// Exit status 0 means up and 1 (or any failure to run) means down. With Dynamic set
// (keepalived's misc_dynamic), exit status 2..255 means up with weight status-2.
//
// The program runs in its own process group. When the deadline passes or ctx is
// cancelled, the whole group gets SIGKILL, so a script that ignores SIGTERM or leaves
// children behind still ends on time.
type ExecChecker struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH when it has
	// no slash. Required.
	Argv []string
	// Env is the environment; nil means the current process's.
	Env []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Dynamic enables keepalived's misc_dynamic exit codes.
	Dynamic bool
	// User, when set, runs the program as that user and group with no
	// supplementary groups (keepalived's script_user, or a MISC_CHECK's user). It
	// needs root (or CAP_SETUID and CAP_SETGID); on other systems than Linux a set
	// User fails every attempt (as exec checks do there). Nil runs it as the current user.
	User *ExecUser
}

// ExecUser is the user and group ExecChecker runs its program as.
type ExecUser struct {
	// UID is the numeric user ID the program runs as.
	UID uint32
	// GID is its numeric group ID; the program gets no supplementary groups.
	GID uint32
}

// execWaitDelay bounds how long Check waits for output pipes after the program exits or
// is killed.
const execWaitDelay = 250 * time.Millisecond

// Check implements Checker.
func (c *ExecChecker) Check(ctx context.Context) (Result, error) {
	ctx, cancel, _ := withDeadline(ctx)
	defer cancel()
	res, err := c.check(ctx)
	if err != nil {
		name := "exec"
		if len(c.Argv) > 0 {
			name = "exec " + c.Argv[0]
		}
		return Result{}, wrapErr(ctx, name, err)
	}
	return res, nil
}

// limitedBuffer keeps the first n bytes written to it and discards the rest.
type limitedBuffer struct {
	bytes.Buffer
	n int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.n - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *ExecChecker) check(ctx context.Context) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{}, errors.New("empty argv")
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	out := &limitedBuffer{n: 512}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = execWaitDelay
	if err := setProcessGroup(cmd); err != nil {
		return Result{}, err
	}
	if c.User != nil {
		if err := setUser(cmd, c.User); err != nil {
			return Result{}, err
		}
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		return Result{}, fmt.Errorf("killed process group: %w", ctx.Err())
	}
	st := cmd.ProcessState
	if st == nil || (err != nil && !errors.Is(err, exec.ErrWaitDelay) && !isExitError(err)) {
		return Result{}, err
	}
	code := st.ExitCode()
	switch {
	case code == 0:
		return Result{Detail: "exit status 0"}, nil
	case code < 0:
		return Result{}, fmt.Errorf("%v", st)
	case c.Dynamic && code >= 2:
		return Result{Weight: code - 2, WeightSet: true, Detail: fmt.Sprintf("exit status %d", code)}, nil
	}
	msg := strings.TrimSpace(out.String())
	return Result{}, mismatch("exit status %d: %s", code, msg)
}

func isExitError(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
