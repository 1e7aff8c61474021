#!/usr/bin/env bash
# Builds ipvsbench and ipvsctl and runs the IPVS comparison in one qemu guest boot.
#
#   examples/ipvsbench/run.sh                 # 2,000 services x 4 destinations, 5 rounds
#   examples/ipvsbench/run.sh -rounds 3       # extra flags go to ipvsbench
#
# Needs root (vmtest installs qemu and the kernel through apt) and ipvsadm on the host
# (apt-get install ipvsadm): it is copied into the guest with its libraries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$here" && CGO_ENABLED=0 go build -o "$out/ipvsbench" .)
(cd "$root" && CGO_ENABLED=0 go build -o "$out/ipvsctl" ./examples/ipvsctl)
cd "$root"
exec_line="/bin/ipvsbench -ipvsadm ipvsadm -ipvsctl /bin/ipvsctl"
[ $# -gt 0 ] && exec_line="$exec_line $*"
go run ./internal/cmd/vmtest -mem 2048 -timeout 40m -copy /usr/sbin/ipvsadm \
	-file "$out/ipvsbench:/bin/ipvsbench" -file "$out/ipvsctl:/bin/ipvsctl" \
	-exec "$exec_line"
