package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"

	lvsnetns "github.com/lvskit/lvskit/internal/netns"
)

// netns is a named network namespace (/run/netns/NAME) that the lab created.
type netns string

func (n netns) path() string { return "/run/netns/" + string(n) }

// do runs fn on an OS thread switched into the namespace. Sockets fn opens stay in
// the namespace after do returns.
func (n netns) do(fn func() error) error {
	runtime.LockOSThread()
	return lvsnetns.DoLocked("lab", n.path(), fn)
}

// dial opens a TCP connection from inside the namespace.
func (n netns) dial(ctx context.Context, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp4", addr)
		return err
	})
	return c, err
}

// listen opens a TCP listener inside the namespace.
func (n netns) listen(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.do(func() error {
		var err error
		l, err = net.Listen("tcp4", addr)
		return err
	})
	return l, err
}

// ip runs iproute2's ip inside the namespace ("ip -n NAME args").
func (n netns) ip(args ...string) (string, error) {
	return command("ip", append([]string{"-n", string(n)}, args...)...)
}

// command runs a program and returns its output; a failure includes the output.
func command(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
