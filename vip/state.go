package vip

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The state file holds one "INTERFACE PREFIX" line per owned address.

func (c *Client) readState() ([]Address, error) {
	if c.state == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.state)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vip: read state file: %w", err)
	}
	return parseState(b)
}

func parseState(b []byte) ([]Address, error) {
	var out []Address
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("vip: state file line %d: want INTERFACE PREFIX", n)
		}
		p, err := netip.ParsePrefix(f[1])
		if err != nil {
			return nil, fmt.Errorf("vip: state file line %d: %w", n, err)
		}
		out = append(out, Address{Interface: f[0], Prefix: p})
	}
	return out, sc.Err()
}

func formatState(as []Address) []byte {
	var b bytes.Buffer
	b.WriteString("# addresses added by lvskit vip; removed by Client.Cleanup\n")
	for _, a := range as {
		fmt.Fprintf(&b, "%s %s\n", a.Interface, a.Prefix)
	}
	return b.Bytes()
}

// recordState adds (or with add false, drops) a's line.
func (c *Client) recordState(a Address, add bool) error {
	cur, err := c.readState()
	if err != nil {
		return err
	}
	same := func(r Address) bool { return r.Interface == a.Interface && r.Prefix == a.Prefix }
	has := slices.ContainsFunc(cur, same)
	switch {
	case add && !has:
		cur = append(cur, Address{Interface: a.Interface, Prefix: a.Prefix})
	case !add && has:
		cur = slices.DeleteFunc(cur, same)
	default:
		return nil
	}
	return c.writeState(cur)
}

// writeState replaces the file atomically, so a crash never leaves half a file.
func (c *Client) writeState(as []Address) error {
	tmp, err := os.CreateTemp(filepath.Dir(c.state), ".vip-state-*")
	if err != nil {
		return fmt.Errorf("vip: write state file: %w", err)
	}
	_, err = tmp.Write(formatState(as))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.state)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("vip: write state file: %w", err)
	}
	return nil
}
