#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and demo mapwatch.
# Idempotent: does nothing when every package is already present.
#
# Go toolchains: 1.19 is Debian 12's golang-go; 1.21–1.23 come from the
# bookworm-backports suite (added here); 1.24 is Debian 13's golang-1.24-go,
# fetched from trixie through a one-off source list (the system's own sources
# stay Debian 12's) and unpacked into build/go-1.24 (the toolchain is static).
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libncurses-dev tmux
      libxxhash-dev libdw-dev pkg-config make gcc golang-go jq libclang-rt-14-dev
      bpftrace valgrind libcapstone-dev util-linux prometheus curl)
BPO_PKGS=(golang-1.21-go golang-1.22-go golang-1.23-go)
GO124_DIR=${GO124_DIR:-build/go-1.24}

missing=() missing_bpo=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
for p in "${BPO_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing_bpo+=("$p")
done
need124=0
[ -x "$GO124_DIR/usr/lib/go-1.24/bin/go" ] || need124=1
[ ${#missing[@]} -eq 0 ] && [ ${#missing_bpo[@]} -eq 0 ] && [ $need124 -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing: ${missing[*]} ${missing_bpo[*]} $([ $need124 = 1 ] && echo go-1.24); run as root (sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing_bpo[@]} -gt 0 ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/mapwatch-backports.list
fi
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_bpo[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]} ${missing_bpo[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[ ${#missing_bpo[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends -t bookworm-backports "${missing_bpo[@]}" >/dev/null
fi
if [ $need124 -eq 1 ]; then
	echo "deps: fetching Go 1.24 from Debian 13 (trixie) into $GO124_DIR"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
	echo 'deb http://deb.debian.org/debian trixie main' > "$tmp/trixie.list"
	aopts=(-o Dir::Etc::sourcelist="$tmp/trixie.list" -o Dir::Etc::sourceparts=- \
	       -o Dir::State::Lists="$tmp/lists" -o APT::Get::List-Cleanup=0 \
	       -o Dir::Cache::archives="$tmp/archives")
	apt-get "${aopts[@]}" update -qq
	(cd "$tmp" && apt-get "${aopts[@]}" download golang-1.24-go golang-1.24-src >/dev/null)
	mkdir -p "$GO124_DIR"
	for d in "$tmp"/golang-1.24-*.deb; do dpkg -x "$d" "$GO124_DIR"; done
	"$GO124_DIR/usr/lib/go-1.24/bin/go" version
fi
