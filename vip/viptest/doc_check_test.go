package viptest_test

import (
	"testing"

	"github.com/lvskit/lvskit/internal/doccheck"
)

// TestEverythingExportedIsDocumented keeps go doc complete: every exported identifier,
// method and struct field of the package has a comment.
func TestEverythingExportedIsDocumented(t *testing.T) {
	missing, err := doccheck.Missing(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing {
		t.Errorf("%s has no comment", m)
	}
}
