package pkgbuild

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"

	"github.com/lvskit/lvskit/packaging/internal/manpage"
)

// Config says what Build builds and where.
type Config struct {
	// Root is the repository's top directory (holding go.mod of
	// github.com/lvskit/lvskit, examples/ and packaging/); empty means the current
	// directory.
	Root string
	// Out is the directory the .deb files are written to; it is created if missing.
	// Empty means Root/packaging/dist.
	Out string
	// Version is the upstream version of the packages; empty means "0.1.0".
	Version string
	// GOARCH is the architecture to build for; empty means the one Build runs on.
	GOARCH string
	// Log receives one line per step; nil means none.
	Log func(format string, args ...any)
}

// Program is one program that becomes a package.
type Program struct {
	Name    string // binary and manual page name
	Package string // Debian package name
	Dir     string // its directory under the repository root
}

// Programs are the programs Build packs, each into a package of its own.
var Programs = []Program{
	{"director", "lvskit-director", "examples/director"},
	{"realserver", "lvskit-realserver", "examples/realserver"},
	{"ipvsctl", "lvskit-ipvsctl", "examples/ipvsctl"},
}

// Build builds the programs and their packages and returns the paths of the .deb
// files, in the order of Programs.
func Build(ctx context.Context, c Config) ([]string, error) {
	if c.Root == "" {
		c.Root = "."
	}
	root, err := filepath.Abs(c.Root)
	if err != nil {
		return nil, fmt.Errorf("pkgbuild: %w", err)
	}
	if c.Out == "" {
		c.Out = filepath.Join(root, "packaging", "dist")
	}
	if c.Version == "" {
		c.Version = "0.1.0"
	}
	if c.GOARCH == "" {
		c.GOARCH = runtime.GOARCH
	}
	logf := c.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	stage, err := os.MkdirTemp("", "lvskit-pkg-")
	if err != nil {
		return nil, fmt.Errorf("pkgbuild: %w", err)
	}
	defer os.RemoveAll(stage)

	bin := filepath.Join(stage, "usr", "sbin")
	logf("building %d programs (CGO_ENABLED=0, GOARCH=%s) into the staging tree", len(Programs), c.GOARCH)
	args := []string{"build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bin + string(filepath.Separator)}
	for _, p := range Programs {
		args = append(args, "./"+p.Dir)
	}
	if err := goCmd(ctx, root, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+c.GOARCH), args...); err != nil {
		return nil, err
	}
	for _, p := range Programs {
		logf("man page and copyright of %s", p.Name)
		page, err := Page(ctx, p, filepath.Join(bin, p.Name), root, c.Version)
		if err != nil {
			return nil, err
		}
		if err := writeGzip(filepath.Join(stage, "usr", "share", "man", "man8", p.Name+".8.gz"), page); err != nil {
			return nil, err
		}
		cp, err := Copyright(ctx, root, filepath.Join(bin, p.Name))
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(stage, "copyright", p.Name), cp); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, fmt.Errorf("pkgbuild: %w", err)
	}
	vars := map[string]string{
		"STAGE":   stage,
		"PKG":     filepath.Join(root, "packaging"),
		"VERSION": c.Version,
		"GOARCH":  c.GOARCH,
	}
	var debs []string
	for _, p := range Programs {
		path, err := pack(filepath.Join(root, "packaging", "nfpm", p.Name+".yaml"), vars, c.Out)
		if err != nil {
			return nil, err
		}
		logf("wrote %s", path)
		debs = append(debs, path)
	}
	return debs, nil
}

// pack builds the .deb that the nfpm configuration file describes.
func pack(conf string, vars map[string]string, out string) (string, error) {
	cfg, err := nfpm.ParseFileWithEnvMapping(conf, func(k string) string { return vars[k] })
	if err != nil {
		return "", fmt.Errorf("pkgbuild: %s: %w", conf, err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return "", fmt.Errorf("pkgbuild: %s: %w", conf, err)
	}
	if info.Changelog != "" && !filepath.IsAbs(info.Changelog) {
		info.Changelog = filepath.Join(vars["PKG"], info.Changelog)
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return "", fmt.Errorf("pkgbuild: %s: %w", conf, err)
	}
	path := filepath.Join(out, deb.Default.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("pkgbuild: %w", err)
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("pkgbuild: %s: %w", conf, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("pkgbuild: %w", err)
	}
	return path, nil
}

// Page writes the manual page of program p, whose built binary is bin: the
// options are what the binary prints for -h (for ipvsctl, which has no -h, the
// option tables of its parser), the rest comes from its package comment.
func Page(ctx context.Context, p Program, bin, root, version string) ([]byte, error) {
	page := &manpage.Page{Name: p.Name, Source: "lvskit " + version}
	if err := manpage.FromDoc(page, filepath.Join(root, p.Dir)); err != nil {
		return nil, fmt.Errorf("pkgbuild: %w", err)
	}
	switch p.Name {
	case "ipvsctl":
		opts, err := ipvsctlOptions(filepath.Join(root, p.Dir, "parse.go"))
		if err != nil {
			return nil, err
		}
		page.Options = opts
		page.OptionsNote = "ipvsctl takes ipvsadm's options and gives them ipvsadm's meaning; " +
			"ipvsadm(8) describes each. The list above is read from ipvsctl's option parser."
		page.SeeAlso = []string{"ipvsadm(8)", "director(8)"}
	default:
		// flag.ContinueOnError programs print the usage and exit non-zero for -h.
		out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
		opts, err := manpage.ParseUsage(string(out))
		if err != nil {
			return nil, fmt.Errorf("pkgbuild: %s -h: %w", p.Name, err)
		}
		page.Options = opts
		if p.Name == "director" {
			page.SeeAlso = []string{"keepalived.conf(5)", "ipvsctl(8)", "realserver(8)"}
		} else {
			page.SeeAlso = []string{"director(8)"}
		}
	}
	var b bytes.Buffer
	if err := page.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func goCmd(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pkgbuild: go %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return nil
}

// writeGzip writes data gzip-compressed at the best level with no name and no
// time in the header, as Debian wants manual pages (reproducible, lintian-clean).
func writeGzip(path string, data []byte) error {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("pkgbuild: %w", err)
	}
	if _, err := zw.Write(data); err != nil {
		return fmt.Errorf("pkgbuild: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pkgbuild: %w", err)
	}
	return writeFile(path, b.Bytes())
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pkgbuild: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("pkgbuild: %w", err)
	}
	return nil
}
