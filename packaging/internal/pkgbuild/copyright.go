package pkgbuild

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// copyrightHead opens every package's copyright file. The repository has no
// LICENSE file yet; the file says so rather than name a license nobody chose.
const copyrightHead = `This package was built from lvskit, https://github.com/lvskit/lvskit.

Copyright: the lvskit authors.
License: the lvskit repository does not state a license yet (it has no LICENSE
 file). Until it does, no license is granted for lvskit's own code.

The program is statically linked with the Go standard library and with the Go
modules below. Their copyright notices and licenses follow, as each module ships
them.
`

const lvskit = "github.com/lvskit/lvskit"

// Copyright returns the copyright file of a binary built from the module at root:
// lvskit's statement, then the license of the Go toolchain and of every module the
// binary's build information lists, read from the module cache.
func Copyright(ctx context.Context, root, bin string) ([]byte, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("pkgbuild: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(copyrightHead)
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("pkgbuild: go env GOROOT: %w", err)
	}
	goroot := strings.TrimSpace(string(out))
	if err := appendLicense(&b, "Go standard library "+bi.GoVersion, goroot); err != nil {
		return nil, err
	}
	for _, d := range bi.Deps {
		if d.Path == lvskit || strings.HasPrefix(d.Path, lvskit+"/") {
			continue // lvskit's own modules (the library, the examples): the head says it
		}
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", m.Path+"@"+m.Version)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("pkgbuild: go mod download %s@%s: %w", m.Path, m.Version, err)
		}
		dir := jsonField(out, "Dir")
		if dir == "" {
			return nil, fmt.Errorf("pkgbuild: no module directory for %s@%s", m.Path, m.Version)
		}
		if err := appendLicense(&b, m.Path+" "+m.Version, dir); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// appendLicense adds the section of one component: its name and its LICENSE file,
// indented as Debian's copyright files indent continuation lines.
func appendLicense(b *bytes.Buffer, name, dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("pkgbuild: %w", err)
	}
	var text []byte
	for _, e := range ents {
		n := strings.ToLower(e.Name())
		if e.Type().IsRegular() && (strings.HasPrefix(n, "license") || strings.HasPrefix(n, "copying")) {
			if text, err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("pkgbuild: %w", err)
			}
			break
		}
	}
	if text == nil {
		return fmt.Errorf("pkgbuild: no LICENSE file in %s (%s)", dir, name)
	}
	if isApache2(text) {
		// Debian policy 12.5: a license in /usr/share/common-licenses is referred
		// to, not copied (lintian: copyright-file-contains-full-apache-2-license).
		text = []byte("Licensed under the Apache License, Version 2.0.\n\n" +
			"On Debian systems, the complete text of the Apache License, Version 2.0\n" +
			"can be found in /usr/share/common-licenses/Apache-2.0.")
	}
	fmt.Fprintf(b, "\nFiles: %s\n", name)
	for _, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			b.WriteString(" .\n")
			continue
		}
		b.WriteString(" " + l + "\n")
	}
	return nil
}

// jsonField returns a string field of go mod download -json's output.
func jsonField(out []byte, name string) string {
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

// isApache2 reports whether a LICENSE file is the full text of the Apache License 2.0.
func isApache2(text []byte) bool {
	return bytes.Contains(text, []byte("Apache License")) && bytes.Contains(text, []byte("Version 2.0, January 2004")) &&
		bytes.Contains(text, []byte("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"))
}
