package vrrp_test

import "github.com/lvskit/lvskit/internal/testenv"

// inGuest reports whether the tests run in the emulated kernel-test guest. (testenv
// builds on Linux only, so untagged tests call this instead.)
func inGuest() bool { return testenv.InGuest() }
