//go:build !linux

package main

import (
	"errors"
	"runtime"
)

func dialKRules() (ruleBackend, error) {
	return nil, errors.New("rules need rtnetlink, which " + runtime.GOOS + "/" + runtime.GOARCH + " does not have")
}
