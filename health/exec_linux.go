package health

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// setUser makes cmd run as u, without supplementary groups. It follows
// setProcessGroup, which creates cmd.SysProcAttr.
func setUser(cmd *exec.Cmd, u *ExecUser) error {
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID}
	return nil
}

// setProcessGroup starts cmd in a new process group and makes cancellation SIGKILL the
// whole group. The group id stays reserved while any member (or the unreaped leader)
// exists, which covers the case that matters: a script that outlives its deadline.
func setProcessGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		err := unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		if err == unix.ESRCH {
			return nil
		}
		return err
	}
	return nil
}
