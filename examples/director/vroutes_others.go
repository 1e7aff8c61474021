//go:build !linux

package main

import (
	"errors"
	"runtime"
)

func dialKRoutes() (routeBackend, error) {
	return nil, errors.New("routes need rtnetlink, which " + runtime.GOOS + "/" + runtime.GOARCH + " does not have")
}
