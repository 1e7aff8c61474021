package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// connFile is the kernel's connection table of the caller's network namespace.
const connFile = "/proc/net/ip_vs_conn"

// listConns prints the connection table (-L -c) from connFile, numerically, as
// ipvsadm -Lnc does; persistent adds the persistence engine columns (--persistent-conn).
func listConns(w io.Writer, persistent bool) error {
	f, err := os.Open(connFile)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", connFile, err)
	}
	defer f.Close()
	return writeConns(w, f, persistent)
}

func writeConns(w io.Writer, r io.Reader, persistent bool) error {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%s is empty", connFile)
	}
	fmt.Fprintln(w, "IPVS connection entries")
	if persistent {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination")
	}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 {
			continue
		}
		port := func(s string) uint16 {
			n, _ := strconv.ParseUint(s, 16, 16)
			return uint16(n)
		}
		client, virtual, dest := connAddr(f[1], port(f[2])), connAddr(f[3], port(f[4])), connAddr(f[5], port(f[6]))
		expires, _ := strconv.Atoi(f[8])
		expire := fmt.Sprintf("%02d:%02d", expires/60, expires%60)
		if persistent && len(f) >= 11 {
			fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n", f[0], expire, f[7], client, virtual, dest, f[9], f[10])
		} else {
			fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %s\n", f[0], expire, f[7], client, virtual, dest)
		}
	}
	return sc.Err()
}

// connAddr turns an address of the connection file (IPv4 as 8 hex digits, IPv6 as
// text) and a port into "192.0.2.1:80" or "[2001:db8::1]:80".
func connAddr(s string, port uint16) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		v, _ := strconv.ParseUint(s, 16, 32)
		a = addr4(uint32(v))
	}
	return netip.AddrPortFrom(a, port).String()
}
