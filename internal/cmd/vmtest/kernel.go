package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// kernel is an unpacked linux-image package in the cache.
type kernel struct {
	root    string // where the package was unpacked
	version string // e.g. 6.1.0-56-amd64
	vmlinuz string
	deps    map[string][]string // module path -> dependency paths, from modules.dep
	byName  map[string]string   // module name -> path relative to root
}

// module is one kernel module to load.
type module struct{ name, path string }

// ensureKernel returns the cached kernel, downloading and unpacking the package that
// linux-image-amd64 depends on when the cache does not hold it yet.
func ensureKernel(ctx context.Context, cache string) (*kernel, error) {
	if cache == "" {
		cache = os.Getenv("LVSKIT_VMTEST_CACHE")
	}
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory: set LVSKIT_VMTEST_CACHE: %w", err)
		}
		cache = filepath.Join(dir, "lvskit-vmtest")
	}
	pkg, err := kernelPackage(ctx)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(cache, pkg)
	if _, err := os.Stat(filepath.Join(root, ".complete")); err != nil {
		if err := unpackKernel(ctx, pkg, root); err != nil {
			return nil, err
		}
	}
	return openKernel(root)
}

// kernelPackage names the versioned image package, e.g. linux-image-6.1.0-56-amd64.
func kernelPackage(ctx context.Context) (string, error) {
	if p := os.Getenv("LVSKIT_VMTEST_KERNEL"); p != "" {
		return p, nil
	}
	for attempt := 0; attempt < 2; attempt++ {
		out, _ := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
		for _, line := range strings.Split(string(out), "\n") {
			if dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(dep, "linux-image-") {
				return dep, nil
			}
		}
		if attempt == 0 {
			if err := aptUpdate(ctx); err != nil {
				return "", err
			}
		}
	}
	return "", errors.New("apt-cache knows no linux-image-amd64: is this Debian with its package lists?")
}

func unpackKernel(ctx context.Context, pkg, root string) error {
	fmt.Fprintln(os.Stderr, "vmtest: fetching", pkg)
	dl, err := os.MkdirTemp("", "lvskit-kernel-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dl)
	// apt-get download drops privileges to _apt, which must be able to write here.
	if err := os.Chmod(dl, 0o777); err != nil {
		return err
	}
	if err := command(ctx, dl, "apt-get", "download", "-q", pkg).Run(); err != nil {
		if err := aptUpdate(ctx); err != nil {
			return err
		}
		if err := command(ctx, dl, "apt-get", "download", "-q", pkg).Run(); err != nil {
			return fmt.Errorf("apt-get download %s: %w", pkg, err)
		}
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s left %d packages", pkg, len(debs))
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := command(ctx, "", "dpkg", "-x", debs[0], root).Run(); err != nil {
		return fmt.Errorf("dpkg -x %s: %w", debs[0], err)
	}
	version, err := moduleVersion(root)
	if err != nil {
		return err
	}
	// The package ships no modules.dep.
	if err := command(ctx, "", "depmod", "-b", root, version).Run(); err != nil {
		return fmt.Errorf("depmod: %w", err)
	}
	return os.WriteFile(filepath.Join(root, ".complete"), nil, 0o644)
}

func moduleVersion(root string) (string, error) {
	dirs, _ := filepath.Glob(filepath.Join(root, "lib/modules/*"))
	if len(dirs) != 1 {
		return "", fmt.Errorf("%s: want one lib/modules version, found %d", root, len(dirs))
	}
	return filepath.Base(dirs[0]), nil
}

func openKernel(root string) (*kernel, error) {
	version, err := moduleVersion(root)
	if err != nil {
		return nil, err
	}
	k := &kernel{
		root:    root,
		version: version,
		vmlinuz: filepath.Join(root, "boot", "vmlinuz-"+version),
		deps:    map[string][]string{},
		byName:  map[string]string{},
	}
	if _, err := os.Stat(k.vmlinuz); err != nil {
		return nil, fmt.Errorf("kernel cache %s: %w", root, err)
	}
	modDir := filepath.Join("lib/modules", version)
	f, err := os.Open(filepath.Join(root, modDir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("kernel cache %s: %w", root, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		mod, deps, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		path := filepath.Join(modDir, mod)
		for _, d := range strings.Fields(deps) {
			k.deps[path] = append(k.deps[path], filepath.Join(modDir, d))
		}
		k.byName[moduleName(mod)] = path
	}
	return k, sc.Err()
}

// moduleName turns kernel/net/netfilter/ipvs/ip_vs_rr.ko into ip_vs_rr.
func moduleName(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// softDeps are load-order needs that modules.dep does not record (modprobe's softdep).
var softDeps = map[string][]string{"libcrc32c": {"crc32c_generic"}}

// loadOrder returns the named modules and everything they depend on, dependencies first.
func (k *kernel) loadOrder(names []string) ([]module, error) {
	var order []module
	seen := map[string]bool{}
	var visit func(path string)
	visit = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		name := moduleName(path)
		for _, s := range softDeps[name] {
			if p, ok := k.byName[s]; ok {
				visit(p)
			}
		}
		for _, d := range k.deps[path] {
			visit(d)
		}
		order = append(order, module{name: name, path: path})
	}
	for _, n := range names {
		p, ok := k.byName[strings.ReplaceAll(n, "-", "_")]
		if !ok {
			return nil, fmt.Errorf("kernel %s has no module %s", k.version, n)
		}
		visit(p)
	}
	return order, nil
}
