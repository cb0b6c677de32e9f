#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and demo mapwatch.
# Idempotent: does nothing when every package is already present.
set -euo pipefail
PKGS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libncurses-dev tmux
      libxxhash-dev libdw-dev pkg-config make gcc golang-go jq libclang-rt-14-dev
      bpftrace valgrind)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (sudo make deps)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
