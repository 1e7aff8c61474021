package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// testBinary is one package's compiled test.
type testBinary struct {
	importPath string
	dir        string // package directory on the host
	rel        string // directory relative to the module root
	binary     string
}

// buildTests compiles the test binary of every matched package that has tests, statically
// (CGO_ENABLED=0) so it runs in the guest without a C library.
func buildTests(ctx context.Context, work string, patterns []string) ([]testBinary, error) {
	// The library module's directory, also in workspace mode (go.work), where a bare
	// "go list -m" lists every module of the workspace.
	modRoot, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/lvskit/lvskit").Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m: %w", err)
	}
	root := strings.TrimSpace(string(modRoot))
	out, err := exec.CommandContext(ctx, "go", append([]string{"list", "-json=ImportPath,Dir,TestGoFiles,XTestGoFiles"}, patterns...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", strings.Join(patterns, " "), err)
	}
	var tests []testBinary
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			ImportPath, Dir           string
			TestGoFiles, XTestGoFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		if len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			return nil, err
		}
		bin := filepath.Join(work, strings.ReplaceAll(filepath.ToSlash(rel), "/", "_")+".test")
		cmd := command(ctx, "", "go", "test", "-c", "-o", bin, p.ImportPath)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build the test of %s: %w", p.ImportPath, err)
		}
		tests = append(tests, testBinary{importPath: p.ImportPath, dir: p.Dir, rel: filepath.ToSlash(rel), binary: bin})
	}
	return tests, nil
}
