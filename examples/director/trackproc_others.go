//go:build !linux

package main

import (
	"context"
	"errors"
)

// procEvents is Linux's process event connector; elsewhere rescans do.
func procEvents(context.Context, func()) error {
	return errors.New("director: process events need Linux")
}
