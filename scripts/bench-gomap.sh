#!/usr/bin/env bash
# bench-gomap.sh — libgomap (maptype_u64) against Go 1.19's map[uint64]uint64.
#
# Builds bench/gomap_bench.c (against build/libgomap.a) and bench/go/ (Go's
# own map, offline, no dependencies), runs them in interleaved rounds (C, Go,
# C, Go, ...) so drift in the machine hits both alike, takes the median of each
# row, prints a markdown table and a line naming the machine, and writes both
# into README.md between <!-- bench-gomap:start --> and <!-- bench-gomap:end -->
# when those markers exist.
#   scripts/bench-gomap.sh [ROUNDS] [SECONDS_PER_MEASUREMENT]   (default 5 0.3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
per=${2:-0.3}
out=build/bench
mkdir -p "$out"

[ -f build/libgomap.a ] || make --no-print-directory build/libgomap.a
clang -O2 -g -fno-omit-frame-pointer -fcf-protection=none -D_GNU_SOURCE -Wall -Wextra -Itarget \
	bench/gomap_bench.c build/libgomap.a -o "$out/gomap_bench" -lxxhash -lpthread -lm
(cd bench/go && GOFLAGS=-mod=mod GO111MODULE=on GOPROXY=off GOTOOLCHAIN=local \
	GOCACHE="${GOCACHE:-$PWD/../../$out/go-cache}" go build -o "../../$out/gomapbench" .)

raw="$out/gomap-raw.txt"
: >"$raw"
for r in $(seq 1 "$rounds"); do
	echo "bench-gomap: round $r/$rounds" >&2
	"$out/gomap_bench" -t "$per" >>"$raw"
	"$out/gomapbench" -t "$per" >>"$raw"
done

# Median per (impl, op, keys); ratio = libgomap time per op / Go time per op.
table=$(awk '
	{ k = $1 SUBSEP $2 SUBSEP $3; v[k, ++n[k]] = $4
	  if (!(($2 SUBSEP $3) in seen)) { seen[$2 SUBSEP $3] = 1; order[++rows] = $2 SUBSEP $3 } }
	function median(k,   i, j, t, m, a) {
		m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]
		for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return m % 2 ? a[(m+1)/2] : (a[m/2] + a[m/2+1]) / 2
	}
	function keys(n) { return n >= 1000000 && n % 1000000 == 0 ? n/1000000 "M" : n >= 1000 && n % 1000 == 0 ? n/1000 "k" : n }
	END {
		print "| operation | keys | libgomap Mops/s | Go Mops/s | ratio Go/C time |"
		print "|---|---:|---:|---:|---:|"
		for (r = 1; r <= rows; r++) {
			split(order[r], p, SUBSEP)
			c = median("c" SUBSEP order[r]); g = median("go" SUBSEP order[r])
			printf "| %s | %s | %.1f | %.1f | %.2f%s |\n", p[1], keys(p[2]), c, g, g / c, (g / c > 1.5 ? " ✗" : "")
		}
	}' "$raw")

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
machine="Machine: ${cpu:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'); $(go version | cut -d' ' -f3), clang $(clang -dumpversion); median of $rounds interleaved rounds, ${per} s per measurement."
legend="Ratio = libgomap time per op ÷ Go time per op (> 1: libgomap is slower; target ≤ 1.5, ✗ marks a miss). Iterate counts one op per entry visited. Regenerate with \`scripts/bench-gomap.sh\`."

printf '%s\n\n%s\n\n%s\n' "$table" "$legend" "$machine"

if [ -f README.md ] && grep -q '<!-- bench-gomap:start -->' README.md && grep -q '<!-- bench-gomap:end -->' README.md; then
	block=$(printf '%s\n\n%s\n\n%s' "$table" "$legend" "$machine")
	BLOCK="$block" awk '
		/<!-- bench-gomap:start -->/ { print; print ENVIRON["BLOCK"]; skip = 1; next }
		/<!-- bench-gomap:end -->/ { skip = 0 }
		!skip' README.md >README.md.tmp && mv README.md.tmp README.md
	echo "bench-gomap: table written into README.md" >&2
fi
