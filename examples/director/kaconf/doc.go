// Package kaconf reads keepalived.conf files for examples/director, the keepalived
// replacement built on lvskit, so that an operator can point it at the file keepalived
// ran from.
//
// # Reading
//
// ReadFile (or Read on an fs.FS) returns a *Config with includes expanded, keepalived's
// defaults filled in, and every value typed: addresses are net/netip values, times are
// time.Duration. Every block and list entry keeps its Pos (file:line), so the daemon can
// point at the line that configured something when it fails later.
//
// Reading collects every problem in the file rather than stopping at the first, and
// returns them joined with errors.Join, each an *Error whose text starts with
// "kaconf: file:line: keyword:". On any error the Config is nil: nothing starts
// half-configured. Errors wrap ErrUnknownKeyword, ErrSyntax, ErrValue, ErrReference or
// ErrInclude (with the fs error, so errors.Is(err, fs.ErrNotExist) works for a missing
// include).
//
// # The subset
//
// Keywords lists what is supported, per block. In short: global_defs (router_id,
// notification email and SMTP settings, lvs_sync_daemon, lvs_flush, lvs_timeouts, vrrp_version,
// vrrp_mcast_group4/6, the vrrp_garp_* family, vrrp_min_garp, vrrp_strict and the other
// VRRP flags, script_user, enable_script_security); vrrp_script; vrrp_instance (state,
// interface, virtual_router_id, priority, advert_int with fractions, version, nopreempt,
// preempt_delay, accept/no_accept, authentication, virtual_ipaddress and
// virtual_ipaddress_excluded with brd/dev/scope/label/no_track, track_script with weight
// overrides, track_interface, unicast_src_ip, unicast_peer, mcast_src_ip, use_vmac and
// vmac_xmit_base, the notify scripts, smtp_alert, garp_*, virtual_routes,
// virtual_rules); static_ipaddress, static_routes and static_rules; vrrp_sync_group;
// virtual_server "IP PORT", "fwmark N"
// and "group NAME" with virtual_server_group
// with real_server and TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, DNS_CHECK, UDP_CHECK,
// PING_CHECK, SMTP_CHECK and FILE_CHECK (with track_file). Anything else
// (use_ipvlan, BFD_CHECK, ...) is an
// error naming the keyword, never silently ignored.
//
// Syntax follows keepalived.conf(5) and keepalived 2.2.7's lib/parser.c: comments start
// at an unquoted # or ! anywhere on a line; "..." and '...' quote (and glue to adjacent
// text); inside double quotes \" and \\ escape (the other C-style escapes are rejected
// rather than half-supported); a line ending in \ continues; a { may stand alone on the
// next line. Script lines (script, notify*, misc_path, quorum_up/down) take the command,
// quoted when it has arguments, then an optional user and group; the command is split
// on unquoted white space into Command.Args. "include PATH" (and includer, includem,
// includew, includeb, includea) works at any level: the rest of the line is the path,
// relative to the including file's directory, globbed as keepalived does (* ? [...] and
// {a,b} brace expansion; matching no file is a warning, a plain missing file an error).
// "@ID line" and "@^ID line" are read when ID is (is not) the short host name, as
// keepalived without -i. "$NAME=VALUE" defines a parameter and "$NAME" or "${NAME}"
// in later lines is replaced by it; multi-line definitions and ~SEQ/~LST are refused,
// and parameters with arguments (${NAME 1}) are left as written.
//
// # Limits
//
// Only regular, non-executable files are read (keepalived skips the others; the reader
// refuses them, naming the file and the including line, and never blocks opening a
// FIFO). A read refuses, with ErrLimit and file:line, lines over 1023 bytes (keepalived
// reads the rest as a new line), more than 16 MiB in all, 10,000 files, includes 1000
// deep, blocks 32 deep, 200,000 statements or 1,000,000 words, and stops after 100
// errors; messages are cut to a few hundred bytes. Together these keep a read under
// 256 MB of memory and well under a second for any input. ReadFileContext and
// ReadContext stop when their context ends.
//
// # Defaults
//
// Each field's comment names its default and where it comes from, mostly
// keepalived.conf(5) (delay_loop 60 s, connect_timeout 5 s, retry 1 (0 for MISC_CHECK),
// delay_before_retry 1 s (3 s for HTTP_GET and SSL_GET), warmup = delay_loop, weight 1,
// quorum 1, lb_kind NAT, protocol TCP, advert_int 1 s, vrrp_script interval 1 s, rise and
// fall 1, garp_master_delay 5 s, garp_master_repeat 5) and keepalived 2.2.7's source
// where the manual is silent or differs (lb_algo wlc; priority 255 for state MASTER
// without a priority, 100 otherwise; a vrrp_script's timeout is its interval; real
// servers inherit the virtual server's port). Checker timings are resolved through
// keepalived's chain (checker, real server, virtual server, type default), so each Check
// holds the values it will run with.
//
// # Warnings
//
// Where keepalived 2.2.7 would read a line differently from what its author evidently
// meant, or silently adjusts a value, the reader still accepts it and returns a Warning
// (with file:line) saying what keepalived would do and what the Config holds. The
// seeds' files trigger the main ones: nb_get_retry inside TCP_CHECK (unknown to 2.2.7,
// so its retry stays 1; read as retry), vrrp_garp_interval 0 / vrrp_gna_interval 0
// (rejected by 2.2.7; read as no delay, also 2.2.7's default), and a track_script naming
// a vrrp_script defined later in the file (ignored by 2.2.7; read as tracked). Others:
// nopreempt with state MASTER or priority 255 (keepalived clears nopreempt; so does the
// reader, rather than refusing a file keepalived runs), state MASTER without priority,
// a fractional advert_int with VRRPv2, an auth_pass over 8 characters, quorum and
// hysteresis adjustments, DR/TUN real server ports, sni_name (unknown to 2.2.7).
//
// Cross-checks that keepalived refuses are errors: a track_script naming no vrrp_script,
// a sync group naming no instance (or an instance in two groups), two instances with one
// VRID on one interface and address family (multicast), duplicate names, duplicate real
// servers or virtual servers.
//
// # Writing
//
// Format writes a Config back as a canonical keepalived.conf using keepalived 2.2.7's
// keyword names (retry for nb_get_retry, lvs_method in real_server), with the defaults
// spelled out below global_defs. Read(Format(c)) equals c apart from positions; the
// fuzz target FuzzRead checks that for every file it reads, and a test runs keepalived
// 2.2.7's own "keepalived -t" on the Format output.
//
// # Comparing
//
// Config holds only exported fields. Its net/netip values need
// cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{}) with go-cmp.
package kaconf
