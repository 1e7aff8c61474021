package main

import "github.com/lvskit/lvskit/internal/testenv"

// inGuest reports whether the tests run in the kernel-test guest, whose image holds
// only this package's own files.
func inGuest() bool { return testenv.InGuest() }
