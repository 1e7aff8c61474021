// Package pkgbuild builds lvskit's Debian packages: it builds the director,
// realserver and ipvsctl programs statically from the repository's examples/,
// writes their manual pages (package manpage) and copyright files, and packs the
// three .deb files with nfpm from the configurations in packaging/nfpm.
//
// # Checks
//
// The package's integration test lints the packages with lintian, verifies the
// systemd units with systemd-analyze against a scratch root holding the unpacked
// packages, and runs the unpacked director's -t on the seeds' keepalived.conf files
// and on the one the package ships.
package pkgbuild
