package arpctl_test

import (
	"fmt"
	"log"

	"github.com/lvskit/lvskit/arpctl"
)

// A real server applies the DR profile at start and puts everything back on exit.
func ExampleClient_Apply() {
	c, err := arpctl.New(nil) // this namespace's /proc/sys
	if err != nil {
		log.Fatal(err)
	}
	snap, err := c.Apply(arpctl.DRRealServer())
	if err != nil {
		log.Fatal(err) // nothing was left half applied
	}
	defer snap.Restore()
	for _, ch := range snap.Changes() {
		fmt.Printf("%s: %d -> %d\n", ch.Setting, ch.Old, ch.New)
	}
	// ... serve ...
}

// Ask the question that matters instead of reading two files.
func ExampleClient_Effective() {
	c, err := arpctl.New(&arpctl.Config{NetNS: "/run/netns/rs1"})
	if err != nil {
		log.Fatal(err)
	}
	v, err := c.Effective("eth0", arpctl.ARPIgnore)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("eth0 answers ARP for addresses on lo:", v == 0)
}

func ExampleProfile_SysctlD() {
	fmt.Print(arpctl.Director("eth0").SysctlD())
	// Output:
	// # LVS director on eth0 (written by lvskit arpctl)
	// net.ipv4.ip_forward = 1
	// net.ipv4.conf.all.send_redirects = 0
	// net.ipv4.conf.default.send_redirects = 0
	// net.ipv4.conf.eth0.send_redirects = 0
}
