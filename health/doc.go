// Package health probes real servers the way keepalived's checkers do, and turns the
// results into up/down decisions with a scheduler that scales to thousands of checks.
//
// It does not import lvskit's ipvs or vrrp packages: a program reads the Scheduler's
// transitions and adds, removes or re-weights IPVS destinations, or adjusts a VRRP
// priority (see examples/).
//
// # Probes
//
// Every probe is a Checker: Check(ctx) returns a nil error when the target is healthy.
//
//   - TCPChecker: connect (TCP_CHECK), optionally send bytes and expect a reply (exact,
//     prefix or regexp). Connections close with SO_LINGER 0, so probing leaves no
//     TIME_WAIT entries on the director. On Linux a connect-only check of an IP
//     literal skips net.Dialer: a non-blocking socket, connect, and a zero-timeout
//     poll when the handshake finished inside connect (targets on the same host), or
//     a wait in the Go netpoller otherwise; no goroutine, resolver or extra calls.
//   - HTTPChecker: HTTP or HTTPS request (HTTP_GET, SSL_GET) with method, path, Host
//     header, accepted status ranges, body regexp (or its negation), MD5 and SHA-256
//     body digests, a body size cap and HTTP/1.0 or 1.1.
//   - TLSHandshakeChecker: TLS handshake only.
//   - DNSChecker: a UDP query for a name and type, with optional expected answers.
//   - UDPChecker: send a datagram; an ICMP port unreachable means down.
//   - ICMPChecker: echo request through an unprivileged ping socket, or a raw socket.
//   - SMTPChecker: 220 banner and HELO.
//   - ExecChecker: run a program without a shell (MISC_CHECK, vrrp_script).
//
// # Deadlines and cancellation
//
// A probe has one deadline for the whole check: the deadline of the ctx passed to Check,
// or DefaultTimeout when ctx has none. Connect, TLS handshake, request and every byte of
// the reply count against it, so a server that trickles its body fails on time (see
// keepalived issue #1822). Cancelling ctx closes the socket at once. A probe returns
// shortly after its deadline (an ExecChecker waits at most 250 ms more for its output
// pipes) and leaves no goroutine, socket or process behind. Failures wrap ErrTimeout, ErrMismatch or the underlying cause
// (errors.Is(err, syscall.ECONNREFUSED) works).
//
// # Binding: source, interface and fwmark
//
// Every probe has a DialConfig: a source address, an interface (SO_BINDTODEVICE) and a
// firewall mark (SO_MARK). With a mark that selects a policy route or an fwmark IPVS
// service, a director checks a direct-routing real server through the VIP, proving that
// the server accepts traffic for the VIP (the approach seesaw takes).
//
// # TLS
//
// Certificates are verified by default, against the system roots or TLSConfig.RootCAs;
// InsecureSkipVerify opts out (keepalived never verifies). TLSConfig.ServerName is the
// SNI and verification name, independent of the dial address; for an IP literal address
// and no ServerName, no SNI is sent and the certificate must carry the IP.
//
// # ICMP permissions
//
// ICMPChecker first opens a ping socket (SOCK_DGRAM, IPPROTO_ICMP), which Linux allows
// when the process's group is inside net.ipv4.ping_group_range of its network namespace
// (the default "1 0" allows nobody). It then tries a raw socket, which needs CAP_NET_RAW.
// When neither works the error wraps ErrICMPPermission and os.ErrPermission and names the
// sysctl, its current value and the namespace. Prefer ping sockets for many ICMP checks:
// every raw ICMP socket receives every ICMP packet the host gets, ping sockets only their
// own replies.
//
// # External commands
//
// ExecChecker runs Argv directly (no shell, no quoting issues) in a new process group.
// On timeout or cancellation the whole group gets SIGKILL, so a script that ignores
// SIGTERM or leaves children behind still ends on time. Exit status 0 is up, 1 is down;
// with Dynamic, 2..255 is up with weight status-2 (keepalived's misc_dynamic).
//
// # Scheduler
//
// A Scheduler runs many Checks from one queue ordered by due time (one goroutine, one
// timer), on at most SchedulerConfig.MaxConcurrent worker goroutines that are started
// as needed and reused, so an attempt allocates no goroutine, timer or (for a
// connect-only TCPChecker) context. A check never overlaps itself: its
// next attempt is scheduled only when the previous one ends. Each Check has an interval,
// a timeout, rise and fall counts (consecutive), retries with a delay (keepalived's
// retry and delay_before_retry), a fast interval while a count is in progress, a down
// interval, a random warmup before the first attempt, per-interval jitter and a choice
// of starting down (keepalived's alpha). keepalived's
//
//	TCP_CHECK { connect_timeout 3 retry 3 delay_before_retry 3 }  # delay_loop 6
//
// is Check{Interval: 6s, Timeout: 3s, Retry: 3, RetryDelay: 3s}; HAProxy's
// "inter 2s fastinter 500ms downinter 5s rise 2 fall 3" is Check{Interval: 2s,
// FastInterval: 500ms, DownInterval: 5s, Rise: 2, Fall: 3}.
//
// Checks can be added, updated and removed while the scheduler runs; Status and Statuses
// return each check's state and counters, including the lateness of its last attempt.
//
// # Transitions and slow consumers
//
// Transitions (up, down, weight change, with the reason and last error) go through one
// delivery goroutine to SchedulerConfig.OnTransition or the Transitions channel. Checks
// never wait for the consumer: while a check's transition is undelivered, a newer one
// replaces it (latest state wins) and Scheduler.Coalesced counts the replacement. The
// consumer always ends up with every check's current state but may miss short flaps.
//
// # Testing
//
// The Scheduler uses the time package directly and is tested inside testing/synctest
// bubbles, where time is virtual; programs that embed it can do the same, with
// healthtest.Checker as a Checker whose outcome the test sets. Probes are
// tested against real servers on loopback; tests that need root (network namespaces,
// fwmark routing) are named TestIntegration... and skip without privileges.
package health
