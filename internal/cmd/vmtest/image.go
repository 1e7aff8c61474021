package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// image is the guest's root file system, written out as a gzipped cpio (newc) archive,
// the format the kernel unpacks an initramfs from.
type image struct {
	entries map[string]entry // guest path -> entry
}

type entry struct {
	mode    fs.FileMode
	data    []byte // regular files
	host    string // regular files read from the host at write time
	symlink string
}

func newImage() *image { return &image{entries: map[string]entry{}} }

func (im *image) addDir(p string) {
	for p != "/" && p != "." {
		if _, ok := im.entries[p]; !ok {
			im.entries[p] = entry{mode: fs.ModeDir | 0o755}
		}
		p = path.Dir(p)
	}
}

func (im *image) addFile(p string, data []byte, perm fs.FileMode) {
	im.addDir(path.Dir(p))
	im.entries[p] = entry{mode: perm, data: data}
}

// addHostFile adds a host file (following symlinks) at the guest path.
func (im *image) addHostFile(host, guest string) error {
	st, err := os.Stat(host)
	if err != nil {
		return fmt.Errorf("add %s to the guest: %w", host, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("add %s to the guest: not a regular file", host)
	}
	im.addDir(path.Dir(guest))
	im.entries[guest] = entry{mode: st.Mode().Perm(), host: host}
	return nil
}

// addTree adds a host directory tree, if it exists.
func (im *image) addTree(host, guest string) error {
	if _, err := os.Stat(host); err != nil {
		return nil
	}
	return filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(host, p)
		g := path.Join(guest, filepath.ToSlash(rel))
		if d.IsDir() {
			im.addDir(g)
			return nil
		}
		return im.addHostFile(p, g)
	})
}

func (im *image) addBusybox() error {
	if err := im.addHostFile("/bin/busybox", "/bin/busybox"); err != nil {
		return err
	}
	im.entries["/bin/sh"] = entry{mode: fs.ModeSymlink | 0o777, symlink: "busybox"}
	for _, d := range []string{"/proc", "/sys", "/dev", "/tmp", "/run", "/sbin", "/usr/bin", "/usr/sbin", "/etc", "/var"} {
		im.addDir(d)
	}
	im.addFile("/etc/passwd", []byte("root:x:0:0:root:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644)
	im.addFile("/etc/group", []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644)
	im.addFile("/etc/hosts", []byte("127.0.0.1 localhost\n::1 localhost\n"), 0o644)
	return nil
}

var lddLine = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x`)

// addProgram adds a dynamically or statically linked host program to /bin, with every
// shared library ldd lists at its host path.
func (im *image) addProgram(ctx context.Context, prog string) error {
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return fmt.Errorf("copy %s into the guest: %w", prog, err)
		}
		prog = p
	}
	if err := im.addHostFile(prog, "/bin/"+filepath.Base(prog)); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "ldd", prog).Output()
	if err != nil {
		return nil // statically linked: ldd says so and fails
	}
	for _, m := range lddLine.FindAllStringSubmatch(string(out), -1) {
		if err := im.addHostFile(m[1], m[1]); err != nil {
			return err
		}
	}
	return nil
}

// write writes the archive, entries sorted so that directories precede their contents.
func (im *image) write(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(im.entries))
	for n := range im.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	cw := &cpioWriter{w: zw}
	for _, n := range names {
		e := im.entries[n]
		data := e.data
		if e.host != "" {
			if data, err = os.ReadFile(e.host); err != nil {
				return err
			}
		}
		if e.mode&fs.ModeSymlink != 0 {
			data = []byte(e.symlink)
		}
		if err := cw.add(strings.TrimPrefix(n, "/"), e.mode, data); err != nil {
			return err
		}
	}
	if err := cw.add("TRAILER!!!", 0, nil); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// cpioWriter writes the "newc" cpio format: a 110-byte ASCII header, the NUL-terminated
// name and the data, each padded to four bytes.
type cpioWriter struct {
	w     io.Writer
	off   int64
	inode int
}

func (c *cpioWriter) add(name string, mode fs.FileMode, data []byte) error {
	c.inode++
	var m uint32 = uint32(mode.Perm())
	switch {
	case mode&fs.ModeDir != 0:
		m |= 0o040000
	case mode&fs.ModeSymlink != 0:
		m |= 0o120000
	case name != "TRAILER!!!":
		m |= 0o100000
	}
	nlink := 1
	if mode&fs.ModeDir != 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.inode, m, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	if err := c.write([]byte(hdr)); err != nil {
		return err
	}
	if err := c.write(append([]byte(name), 0)); err != nil {
		return err
	}
	if err := c.pad(); err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.off += int64(n)
	return err
}

func (c *cpioWriter) pad() error {
	if r := c.off % 4; r != 0 {
		return c.write(make([]byte, 4-r))
	}
	return nil
}
