#!/usr/bin/env bash
# Builds the Go fixture programs under tests/go/<name>/ with every Go
# toolchain that is installed, into build/go/<ver>/:
#   <name>           plain (symbols and DWARF)
#   <name>-stripped  -ldflags='-s -w'
#   <name>-pie       -buildmode=pie
#   <name>-cgo       CGO_ENABLED=1, linked by the host linker (skipped without gcc)
#   <name>-cgopie    the same as a PIE: GNU ld folds .gopclntab into .data.rel.ro
#   <name>-lldpie, <name>-lldpie-stripped
#                    a PIE linked by lld (skipped without ld.lld), which leaves
#                    pointers as 0 in the file and only in RELA relocations
#   <name>-noswiss   Go 1.24+ only: GOEXPERIMENT=noswissmap, the classic map
# and build/go/<ver>/GOVERSION, the toolchain's `go env GOVERSION`.
# A stopgap until a generic Makefile rule builds tests/go/*; the variant
# names are the ones that rule will use.
#
#   tests/go/build-fixtures.sh [NAME...]     default: every tests/go/*/
# Toolchains: /usr/lib/go-<ver>/bin/go (Debian's golang-<ver>-go), Go 1.24
# from $GO124_DIR (default build/go-1.24, as scripts/deps.sh unpacks it);
# GO_<maj>_<min>=/path/to/go overrides one, e.g. GO_1_22=$HOME/sdk/go/bin/go.
set -eu
cd "$(dirname "$0")/../.."
out=${OUTPUT:-build}/go
work=$(mktemp -d "${TMPDIR:-/tmp}/mw-gofix.XXXXXX")
trap 'rm -rf "$work"' EXIT
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for d in tests/go/*/; do names+=("$(basename "$d")"); done
fi

toolchain() {
	local v=$1 var="GO_${1//./_}"
	if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
	case $v in
	1.24) echo "${GO124_DIR:-build/go-1.24}/usr/lib/go-1.24/bin/go" ;;
	*) echo "/usr/lib/go-$v/bin/go" ;;
	esac
}

export GO111MODULE=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
# The build cache stays under build/ so a rebuild after a change is quick.
export GOPATH=$work/gopath GOCACHE=${GOCACHE_FIXTURES:-$(mkdir -p "$out" && cd "$out" && pwd)/.gocache}
built=0
for v in 1.19 1.21 1.22 1.23 1.24; do
	go=$(toolchain "$v")
	if [ ! -x "$go" ]; then
		echo "build-fixtures: no Go $v ($go), skipped" >&2
		continue
	fi
	go=$(cd "$(dirname "$go")" && pwd)/$(basename "$go")
	mkdir -p "$out/$v"
	"$go" env GOVERSION > "$out/$v/GOVERSION"
	for n in "${names[@]}"; do
		src=tests/go/$n
		dst=$(cd "$out/$v" && pwd)
		b() {	# b VARIANT-SUFFIX ENV... -- GO-BUILD-ARGS...
			local suf=$1; shift
			local envs=()
			while [ "$1" != -- ]; do envs+=("$1"); shift; done
			shift
			(cd "$src" && env CGO_ENABLED=0 "${envs[@]}" "$go" build "$@" -o "$work/bin" .) \
				&& mv "$work/bin" "$dst/$n$suf"
		}
		b "" -- 
		b -stripped -- -ldflags='-s -w'
		b -pie -- -buildmode=pie
		if command -v gcc >/dev/null; then
			b -cgo CGO_ENABLED=1 -- -ldflags=-linkmode=external
			b -cgopie CGO_ENABLED=1 -- -buildmode=pie -ldflags=-linkmode=external
		fi
		if command -v gcc >/dev/null && command -v ld.lld >/dev/null; then
			lld='-linkmode=external -extldflags=-fuse-ld=lld'
			b -lldpie CGO_ENABLED=1 -- -buildmode=pie -ldflags="$lld"
			b -lldpie-stripped CGO_ENABLED=1 -- -buildmode=pie -ldflags="-s -w $lld"
		fi
		case $v in 1.19|1.2[0-3]) ;; *)
			b -noswiss GOEXPERIMENT=noswissmap -- ;;
		esac
		built=$((built + 1))
	done
done
[ "$built" -gt 0 ] || { echo "build-fixtures: no Go toolchain found" >&2; exit 1; }
