package main

import (
	"os"
	"testing"
)

// TestMain runs the test binary as ipvsctl itself when IPVSCTL_TEST_MAIN=1, so that the
// guest tests run ipvsctl as a process (under ip netns exec, with its exit status) the
// way they run ipvsadm.
func TestMain(m *testing.M) {
	if os.Getenv("IPVSCTL_TEST_MAIN") == "1" {
		os.Args = append([]string{"ipvsctl"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
