#!/usr/bin/env bash
# Builds healthbench and compares keepalived's TCP_CHECK with lvskit's health.Scheduler
# in one qemu guest boot (keepalived --check needs IPVS, which the host kernel lacks).
#
#   examples/healthbench/run.sh                     # 1,000 checks, 1 s interval, 30 s each
#   examples/healthbench/run.sh -n 500 -duration 20s
#
# Needs root (vmtest installs qemu and the kernel through apt) and keepalived on the
# host (apt-get install keepalived): it is copied into the guest with its libraries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$root"
CGO_ENABLED=0 go build -o "$out/healthbench" ./examples/healthbench
exec_line="mkdir -p /etc/keepalived /var/run /run; /bin/healthbench -keepalived keepalived"
[ $# -gt 0 ] && exec_line="$exec_line $*"
go run ./internal/cmd/vmtest -mem 2048 -timeout 30m -copy /usr/sbin/keepalived \
	-file "$out/healthbench:/bin/healthbench" -exec "$exec_line"
