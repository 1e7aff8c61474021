#!/usr/bin/env bash
# lvskit's whole test suite, the one command the README gives and CI runs.
#
#   sudo scripts/test.sh          # everything
#   scripts/test.sh -quick        # static checks and unit tests only, any user
#
# Steps: install what is missing (Debian packages from .ci/packages.txt, staticcheck),
# gofmt, go vet, cross-OS vet and test builds (Windows, macOS), staticcheck, go mod tidy,
# go test -race (as root the namespace tests run
# for real), go test as the unprivileged user nobody (privileged tests must skip, not
# fail), and the kernel tests inside a qemu guest booting Debian's kernel (vmtest).
set -uo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "-quick" ] && quick=1
staticcheck_version=v0.8.2
# Packages whose TestIntegration tests need the guest's kernel (IPVS) or run there too.
kernel_packages=(./ipvs/... ./examples/ipvsctl ./examples/minidirector ./examples/lab ./internal/...)
# Host programs the kernel tests use inside the guest.
guest_programs=(ipvsadm bird birdc)

passed=0 failed=0 failures=()
step() {
	local name=$1; shift
	echo "=== step: $name"
	local start=$SECONDS
	if "$@"; then
		passed=$((passed + 1)); echo "--- step ok: $name ($((SECONDS - start))s)"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "--- step FAILED: $name ($((SECONDS - start))s)"
	fi
}

install_packages() {
	local missing=()
	while read -r pkg; do
		case "$pkg" in ''|'#'*) continue ;; esac
		# Only "install ok installed" counts: a removed package whose configuration
		# files remain is still known to dpkg -s.
		[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing+=("$pkg")
	done < .ci/packages.txt
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages (tests that need them will skip): ${missing[*]}"
		return 0
	fi
	echo "installing ${missing[*]}"
	apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

staticcheck_bin() { echo "$(go env GOPATH)/bin/staticcheck"; }
install_staticcheck() {
	[ -x "$(staticcheck_bin)" ] && "$(staticcheck_bin)" -version | grep -q "${staticcheck_version#v}" && return 0
	GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
}

# Every Go module in the tree: the library, the examples module and the ones nested in it,
# all listed in the root go.work (go mod tidy ignores it and checks each go.mod alone).
# A package pattern such as ./... stays inside one module, so each step runs in each.
modules() { git ls-files -co --exclude-standard -- '*go.mod' | xargs -n1 dirname; }
in_modules() { local rc=0 m; for m in $(modules); do (cd "$m" && "$@") || rc=1; done; return $rc; }

check_gofmt() {
	local bad
	bad=$(git ls-files -co --exclude-standard -- '*.go' | xargs gofmt -l)
	[ -z "$bad" ] || { echo "gofmt needed:"; echo "$bad"; return 1; }
}
check_tidy() { go mod tidy -diff; }
run_staticcheck() { "$(staticcheck_bin)" ./...; }

test_race() { go test -race -count=1 ./...; }

# Users write and unit-test their code on Windows and macOS too: every package must vet
# there, and the packages that have a fake (with the example that composes the fakes)
# must build their tests. Nothing is skipped: a package that does not build on one of
# these is a bug to fix, not to hide.
cross_os_pairs=(windows/amd64 windows/arm64 darwin/amd64 darwin/arm64)
cross_os_test_packages=(./ipvs ./ipvs/ipvstest ./health ./health/healthtest ./vrrp ./vrrp/vrrptest
	./arpctl ./route ./examples/hatest)
cross_os() {
	local rc=0 pair pkg
	for pair in "${cross_os_pairs[@]}"; do
		echo "--- $pair"
		# The library module (GOWORK=off keeps ./... to it): the programs under
		# examples/ are Linux daemons and tools, built for Linux only.
		GOWORK=off GOOS=${pair%/*} GOARCH=${pair#*/} go vet ./... || rc=1
		for pkg in "${cross_os_test_packages[@]}"; do
			# The root go.work joins the modules, so ./examples/hatest resolves from here.
			GOOS=${pair%/*} GOARCH=${pair#*/} go test -c -o /dev/null "$pkg" || { echo "test build failed: $pair $pkg"; rc=1; }
		done
	done
	return $rc
}

# As nobody, from a copy nobody can read, with its own caches: privileged tests must skip.
test_unprivileged() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "not root: the run above already was unprivileged"
		return 0
	fi
	local dir=/tmp/lvskit-nobody mods
	mods=$(modules | tr '\n' ' ')
	rm -rf "$dir" && mkdir -p "$dir/src" && cp -r . "$dir/src" && rm -rf "$dir/src/.git"
	chown -R nobody:nogroup "$dir"
	runuser -u nobody -- env -i PATH="$PATH" HOME="$dir" GOCACHE="$dir/cache" GOMODCACHE="$dir/mod" \
		GOFLAGS=-modcacherw GOTOOLCHAIN=local bash -c \
		"rc=0; for m in $mods; do (cd $dir/src/\$m && go test -count=1 ./...) || rc=1; done; exit \$rc"
}

# The .deb packages (packaging/build.sh), linted, verified and unpacked into a scratch
# root by packaging's integration test; it skips when not root.
test_packages() { (cd packaging && go test -count=1 -v -run '^TestIntegrationPackages$' ./internal/pkgbuild); }

# The end-to-end tests in examples/lab run these programs in the guest, which has no Go
# toolchain: they are built here, statically, and copied in.
guest_binaries=(./examples/director ./examples/realserver)

test_kernel() {
	local copies=() p bin
	for p in "${guest_programs[@]}"; do copies+=(-copy "$p"); done
	bin=$(mktemp -d)
	CGO_ENABLED=0 go build -o "$bin/" "${guest_binaries[@]}" || return 1
	for p in "$bin"/*; do copies+=(-file "$p:/bin/$(basename "$p")"); done
	go run ./internal/cmd/vmtest -v -mem 2048 "${copies[@]}" -run Integration "${kernel_packages[@]}"
	local rc=$?
	rm -rf "$bin"
	return $rc
}

# The keepalived.conf corpus the reader's tests compare with keepalived 2.2.7
# (TestIntegrationCorpus, TestIntegrationCorpusMeaning*): $KACONF_CORPUS when set,
# else shared/keepalived-corpus beside the repository (the development machines'
# layout, ../shared), else /work/shared/keepalived-corpus, where those machines keep it
# for clones made elsewhere. Without it those tests skip, saying so.
find_corpus() {
	local d
	for d in "${KACONF_CORPUS:-}" "$(pwd)/../shared/keepalived-corpus" /work/shared/keepalived-corpus; do
		if [ -n "$d" ] && [ -d "$d" ]; then (cd "$d" && pwd); return 0; fi
	done
	return 1
}
if corpus=$(find_corpus); then
	export KACONF_CORPUS=$corpus
	echo "keepalived.conf corpus: $KACONF_CORPUS"
else
	echo "no keepalived.conf corpus found (set KACONF_CORPUS): the corpus tests will skip"
fi

step "install packages" install_packages
step "install staticcheck" install_staticcheck
step "gofmt" check_gofmt
step "go vet" in_modules go vet ./...
step "cross-OS vet and test builds" cross_os
step "staticcheck" in_modules run_staticcheck
step "go mod tidy" in_modules check_tidy
step "go test -race" in_modules test_race
if [ $quick -eq 0 ]; then
	step "debian packages" test_packages
	step "go test as nobody" test_unprivileged
	if [ "$(id -u)" -eq 0 ]; then
		step "kernel tests in the qemu guest" test_kernel
	else
		echo "=== step skipped: kernel tests in the qemu guest need root (apt, the kernel cache)"
	fi
fi

for f in "${failures[@]}"; do echo "FAILED step: $f"; done
echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
