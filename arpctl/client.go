package arpctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Config configures a Client. A nil *Config means every default.
type Config struct {
	// Root is the directory that stands for /proc/sys. Empty means "/proc/sys". Tests
	// point it at a fake tree, such as one built in t.TempDir().
	Root string

	// NetNS is the path of a network namespace file (/run/netns/NAME, or
	// /proc/PID/ns/net) whose sysctls the Client reads and writes. Every operation
	// opens its files on an OS thread switched into that namespace, since the kernel
	// picks the namespace of net/ sysctls when a file is opened. Empty means the
	// namespace of the thread that calls each method, which is the process's namespace
	// unless the caller switched threads itself. Entering a namespace needs
	// CAP_SYS_ADMIN. NetNS is Linux-only.
	NetNS string
}

// Client reads and writes the IPv4 ARP and forwarding sysctls of one network
// namespace. It is safe for concurrent use, though concurrent writers of one setting
// race as they would with the sysctl command.
type Client struct {
	root  string
	netns string
}

// New returns a Client for cfg. It checks that the root holds net/ipv4/conf, so that
// a wrong Root or a kernel without IPv4 is reported at once.
func New(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c := &Client{root: cfg.Root, netns: cfg.NetNS}
	if c.root == "" {
		c.root = "/proc/sys"
	}
	err := c.do(func() error {
		_, err := os.Stat(filepath.Join(c.root, "net/ipv4/conf/all"))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("arpctl: no IPv4 sysctls under %s: %w", c.root, err)
	}
	return c, nil
}

// Get reads one setting.
func (c *Client) Get(s Setting) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var v int
	err := c.do(func() (err error) {
		v, err = c.read(s)
		return err
	})
	return v, err
}

// Set writes one setting after checking its range (ErrOutOfRange). Writing a missing
// interface's setting fails with ErrUnknownInterface, and a missing privilege with an
// error that matches os.ErrPermission.
func (c *Client) Set(s Setting, v int) error {
	if err := s.Validate(v); err != nil {
		return err
	}
	return c.do(func() error { return c.write(s, v) })
}

// Interfaces lists the interfaces that have IPv4 sysctls, sorted by name.
func (c *Client) Interfaces() ([]string, error) {
	var names []string
	err := c.do(func() (err error) {
		names, err = c.interfacesLocked()
		return err
	})
	slices.Sort(names)
	return names, err
}

// Effective returns the value of k that the kernel applies on interface iface,
// combining the all and interface values as the kernel does: the maximum for
// arp_ignore, arp_announce, arp_notify and rp_filter; a logical OR for arp_filter and
// send_redirects; for accept_redirects an AND when the interface forwards and an OR
// when it does not; the interface's own value for forwarding. For IPForward, iface is
// ignored and the global value is returned.
func (c *Client) Effective(iface string, k Key) (int, error) {
	if k.Global() {
		return c.Get(Setting{Key: k})
	}
	is := Setting{Scope: Scope(iface), Key: k}
	if err := is.check(); err != nil {
		return 0, err
	}
	if !is.Scope.IsInterface() {
		return 0, fmt.Errorf("arpctl: effective value needs an interface, got %q", iface)
	}
	var v int
	err := c.do(func() error {
		all, err := c.read(Setting{Scope: All, Key: k})
		if err != nil {
			return err
		}
		own, err := c.read(is)
		if err != nil {
			return err
		}
		fwd := 0
		if k == AcceptRedirects {
			if fwd, err = c.read(Setting{Scope: Scope(iface), Key: Forwarding}); err != nil {
				return err
			}
		}
		v = combine(k, all, own, fwd)
		return nil
	})
	return v, err
}

// readDir lists the directory names under root/net/ipv4/conf.
func readDir(root string) ([]string, error) {
	des, err := os.ReadDir(filepath.Join(root, "net/ipv4/conf"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		if de.IsDir() {
			names = append(names, de.Name())
		}
	}
	return names, nil
}

// read reads s; it runs inside do.
func (c *Client) read(s Setting) (int, error) {
	b, err := os.ReadFile(filepath.Join(c.root, s.path()))
	if err != nil {
		return 0, c.fileErr("read", s, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("arpctl: read %s: %w", s, err)
	}
	return v, nil
}

// write writes s; it runs inside do.
func (c *Client) write(s Setting, v int) error {
	f, err := os.OpenFile(filepath.Join(c.root, s.path()), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return c.fileErr("write", s, err)
	}
	_, err = f.WriteString(strconv.Itoa(v) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return c.fileErr("write", s, err)
	}
	return nil
}

// fileErr wraps a file error, telling a missing interface from a missing file.
func (c *Client) fileErr(op string, s Setting, err error) error {
	if errors.Is(err, fs.ErrNotExist) && s.Key.ipvs() {
		if _, serr := os.Stat(filepath.Join(c.root, "net/ipv4/vs")); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("arpctl: %s %s: %w: %w", op, s, ErrNoIPVS, err)
		}
	}
	if errors.Is(err, fs.ErrNotExist) && s.Scope.IsInterface() {
		if _, serr := os.Stat(filepath.Join(c.root, "net/ipv4/conf", string(s.Scope))); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("arpctl: %s %s: %w %q: %w", op, s, ErrUnknownInterface, string(s.Scope), err)
		}
	}
	return fmt.Errorf("arpctl: %s %s: %w", op, s, err)
}
