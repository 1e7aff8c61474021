package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// In the qemu guest the lab's story goes to the serial console, where the kernel
// prints its messages too: vmtest boots with "loglevel=1 quiet", and quiet, parsed
// after loglevel, sets the console level back to Debian's CONSOLE_LOGLEVEL_QUIET
// (4), so every error-level message (the IPVS sync daemon's "ip_vs_send_async error
// -101" when a director's link is cut) lands in the middle of a story line.

// quietConsole stops kernel messages below KERN_EMERG from reaching the console
// (console_loglevel 1 in /proc/sys/kernel/printk), and returns a function that
// reports the messages of KERN_ERR or worse logged since, read from /dev/kmsg, so
// that they are shown after the story instead of inside it, and puts the console
// level back.
func quietConsole() (report func(w io.Writer), err error) {
	// A raw descriptor, read with read(2): an *os.File of a character device would
	// wait in the runtime poller at the end of the log instead of returning EAGAIN.
	kmsg, kerr := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if kerr == nil {
		// Only what is logged from now on.
		if _, err := syscall.Seek(kmsg, 0, io.SeekEnd); err != nil {
			syscall.Close(kmsg)
			kmsg = -1
		}
	} else {
		kmsg = -1
	}
	const printk = "/proc/sys/kernel/printk"
	old, err := os.ReadFile(printk)
	if err == nil {
		err = os.WriteFile(printk, []byte("1"), 0)
	}
	if err != nil {
		if kmsg >= 0 {
			syscall.Close(kmsg)
		}
		return nil, fmt.Errorf("quiet the kernel console: %w", err)
	}
	return func(w io.Writer) {
		// Restore the levels: the story is over.
		os.WriteFile(printk, old, 0)
		if kmsg < 0 {
			return
		}
		defer syscall.Close(kmsg)
		var lines []string
		b := make([]byte, 8192)
		for {
			n, err := syscall.Read(kmsg, b)
			if err == syscall.EPIPE { // records overwritten: read on
				continue
			}
			if err != nil || n <= 0 { // EAGAIN: the end of the log
				break
			}
			if msg, ok := kmsgError(string(b[:n])); ok {
				lines = append(lines, msg)
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "kernel messages of error level or worse during the story (kept off the console):\n  %s\n", strings.Join(lines, "\n  "))
		}
	}, nil
}

// kmsgError decodes one /dev/kmsg record ("prio,seq,usec,flags;text\n", with
// continuation lines after) and reports its text when its level is KERN_ERR (3) or
// more severe: the messages the console would have shown at the level quiet sets.
func kmsgError(rec string) (string, bool) {
	head, text, ok := strings.Cut(rec, ";")
	if !ok {
		return "", false
	}
	fields := strings.Split(head, ",")
	if len(fields) < 3 {
		return "", false
	}
	prio, err := strconv.Atoi(fields[0])
	if err != nil || prio&7 > 3 {
		return "", false
	}
	text, _, _ = strings.Cut(text, "\n")
	usec, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return text, true
	}
	return fmt.Sprintf("[%d.%06d] %s", usec/1e6, usec%1e6, text), true
}
