//go:build linux

package ipvs_test

import (
	"errors"
	"os"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/mdlayher/genetlink"
)

// TestIntegrationIPVSFamilyResolves is the first kernel test: the generic netlink family
// "IPVS" resolves in the qemu guest's kernel. On a host kernel without IPVS (lvskit's
// build machines) the lookup fails with ENOENT and the test skips with that reason.
func TestIntegrationIPVSFamilyResolves(t *testing.T) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		testenv.SkipOrFail(t, "no generic netlink socket: %v", err)
	}
	defer c.Close()
	f, err := c.GetFamily("IPVS")
	if errors.Is(err, os.ErrNotExist) {
		testenv.SkipOrFail(t, "this kernel has no IPVS (generic netlink family lookup: %v); run kernel tests with `go run ./internal/cmd/vmtest`", err)
	}
	if err != nil {
		t.Fatalf("GetFamily(IPVS): %v", err)
	}
	if f.Name != "IPVS" || f.Version != 1 || f.ID == 0 {
		t.Fatalf("family = %+v, want name IPVS, version 1 and a non-zero ID", f)
	}
	t.Logf("IPVS family id %d version %d", f.ID, f.Version)
}
