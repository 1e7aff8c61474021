// Command build builds lvskit's Debian packages (lvskit-director, lvskit-realserver,
// lvskit-ipvsctl) with nfpm: static binaries from examples/, man pages generated from
// the programs' flags, systemd units and /etc/lvskit defaults.
//
//	packaging/build.sh [-o DIR] [-version V] [-arch GOARCH]
//
// Run from anywhere inside the repository; DIR defaults to packaging/dist.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/lvskit/lvskit/packaging/internal/pkgbuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	out := fs.String("o", "", "directory the .deb files are written to (default packaging/dist in the repository)")
	version := fs.String("version", "0.1.0", "upstream version of the packages")
	arch := fs.String("arch", "", "GOARCH to build for (default the host's)")
	root := fs.String("root", "", "the repository's top directory (default: found with git from the current directory)")
	cwd := fs.String("cwd", "", "directory a relative -o is relative to (default the current directory; build.sh passes its caller's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *root == "" {
		top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			return fmt.Errorf("finding the repository (give -root): %w", err)
		}
		*root = strings.TrimSpace(string(top))
	}
	if *out != "" && !filepath.IsAbs(*out) {
		if *cwd == "" {
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			*cwd = wd
		}
		*out = filepath.Join(*cwd, *out)
	}
	debs, err := pkgbuild.Build(ctx, pkgbuild.Config{
		Root: *root, Out: *out, Version: *version, GOARCH: *arch,
		Log: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "build: "+format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	for _, d := range debs {
		fmt.Println(d)
	}
	return nil
}
