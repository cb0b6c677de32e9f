#!/usr/bin/env bash
# bench/probe_site.sh — what one probed call costs at the old probe site (the
# 5-byte nop at a libgomap function's start, which the kernel turns into a
# call to a trampoline) and at the current one (the push %rbp after it, which
# the kernel emulates), side by side in one run.
#
# bench/probe_cost (mapassign in a loop, median ns per call) runs bare, under
# an empty uprobe at each site (bench/empty_uprobe: the kernel's cost alone),
# and under mapwatch at each site (build/mapwatch, and a copy linked with
# user/placement.c built with -DMW_BENCH_NOP5_SITE: the old placement),
# interleaved A B C D E A B C D E … and quoted as medians. Per-hit cost is
# (probed − bare). The table goes to stdout and into README.md between
# <!-- bench-site:start --> and <!-- bench-site:end -->.
#
#   bench/probe_site.sh                 7 rounds of 500000 calls (~1 min)
#   BENCH_QUICK=1 bench/probe_site.sh   3 rounds of 200000 calls
#   BENCH_NO_README=1                   print the table, leave README.md alone
#   BENCH_RESULTS=DIR                   raw results there instead of bench/results
set -uo pipefail
cd "$(dirname "$0")/.."
{

B=build/bench
RES=${BENCH_RESULTS:-bench/results}
mkdir -p "$B" "$RES"
if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=3 CALLS=200000; else ROUNDS=7 CALLS=500000; fi
log() { echo "bench-site: $*" >&2; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# wait_for FILE ERE SECONDS — until a line of FILE matches ERE.
wait_for() {
	local end=$((SECONDS + $3))
	until grep -qE -- "$2" "$1" 2>/dev/null; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.02
	done
}
ns_of() { awk '/ns_per_call/ { for (i = 1; i < NF; i++) if ($i == "ns_per_call") print $(i + 1) }' "$1"; }

if [ "$(id -u)" != 0 ]; then log "needs root"; exit 1; fi
for f in build/libgomap.a build/mapwatch; do
	[ -e "$f" ] || { log "$f is not built (run make)"; exit 1; }
done

# ---- build ------------------------------------------------------------------------
CFL=(-O2 -g -fno-omit-frame-pointer -fcf-protection=none -D_GNU_SOURCE -Wall -Wextra
     -Wno-unused-parameter -Itarget)
LIBBPF=$(pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
LIBTUI=$(pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
log "building into $B/"
clang "${CFL[@]}" bench/probe_cost.c build/libgomap.a -o "$B/probe_cost" -lxxhash -lpthread -lm || exit 1
clang -g -O2 -target bpf -I"/usr/include/$(clang -print-multiarch)" \
	-c bench/empty_uprobe.bpf.c -o "$B/empty_uprobe.tmp.o" &&
	bpftool gen object "$B/empty_uprobe.bpf.o" "$B/empty_uprobe.tmp.o" &&
	bpftool gen skeleton "$B/empty_uprobe.bpf.o" name empty_uprobe_bpf >"$B/empty_uprobe.skel.h" &&
	clang "${CFL[@]}" -I"$B" bench/empty_uprobe.c -o "$B/empty_uprobe" $LIBBPF || exit 1
rm -f "$B/empty_uprobe.tmp.o"
# mapwatch with the old placement: the release objects, placement.c rebuilt.
objs=()
for o in build/obj/user/*.o; do [ "$(basename "$o")" = placement.o ] || objs+=("$o"); done
clang "${CFL[@]}" -DMW_VERSION=\"bench\" -DMW_BENCH_NOP5_SITE -I. -Iuser -Ibpf -Ibuild \
	-c user/placement.c -o "$B/placement-nop5.o" &&
	clang "${CFL[@]}" "${objs[@]}" "$B/placement-nop5.o" -o "$B/mapwatch-nop5" \
		$LIBBPF $LIBTUI -ldw -lelf -lxxhash -lpthread -lm || exit 1
PC="$PWD/$B/probe_cost"

# Each mapwatch must say where its probe on mapassign landed.
site_of() { "$1" -v --plain -- "$PC" -n 1000 -r 1 2>&1 | sed -n 's/^mapwatch: probe mapassign *\(.*\)/\1/p' | head -1; }
SITE_OLD=$(site_of "$B/mapwatch-nop5") SITE_NEW=$(site_of build/mapwatch)
log "old: $SITE_OLD"
log "new: $SITE_NEW"
case "$SITE_OLD" in *"5-byte nop, trampoline"*) ;; *) log "the old build does not probe the nop"; exit 1 ;; esac
case "$SITE_NEW" in *"push %rbp"*) ;; *) log "build/mapwatch does not probe push %rbp"; exit 1 ;; esac

# ---- runs --------------------------------------------------------------------------
: >"$RES/probe_site.txt"
run() { # CFG ROUND
	local cfg=$1 out="$RES/site-$1-$2.out" tool="$RES/site-$1-$2.tool.out" tpid
	local args=(-n "$CALLS" -r 5)
	case $cfg in
	bare) "$PC" "${args[@]}" >"$out" 2>&1 ;;
	empty-nop5|empty-push)
		local sym=mapassign
		[ "$cfg" = empty-push ] && sym=mapassign+5
		"$B/empty_uprobe" "$PC" "$sym" >"$tool" 2>&1 &
		tpid=$!
		wait_for "$tool" attached 10 || log "empty_uprobe did not attach ($cfg)"
		"$PC" "${args[@]}" --wait-probe >"$out" 2>&1
		kill -INT "$tpid"; wait "$tpid" ;;
	mw-nop5) "$B/mapwatch-nop5" --json -- "$PC" "${args[@]}" --wait-probe >"$out" 2>&1 ;;
	mw-push) build/mapwatch --json -- "$PC" "${args[@]}" --wait-probe >"$out" 2>&1 ;;
	esac
	echo "$cfg $2 $(ns_of "$out")" >>"$RES/probe_site.txt"
}
CFGS=(bare empty-nop5 empty-push mw-nop5 mw-push)
log "${CFGS[*]} × $ROUNDS rounds of $CALLS calls"
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CFGS[@]}"; do run "$c" "$r"; done
done

# ---- table ---------------------------------------------------------------------------
med() { awk -v c="$1" '$1 == c && $3 != "" { print $3 }' "$RES/probe_site.txt" | median; }
range() { awk -v c="$1" '$1 == c && $3 != "" { print $3 }' "$RES/probe_site.txt" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }
BARE=$(med bare)
row() { # LABEL EMPTYCFG MWCFG
	local e m
	e=$(med "$2") m=$(med "$3")
	printf '| %s | %s | %.0f ns | %s | %.0f ns |\n' "$1" "$(range "$2")" "$(awk -v a="$e" -v b="$BARE" 'BEGIN { print a - b }')" \
		"$(range "$3")" "$(awk -v a="$m" -v b="$BARE" 'BEGIN { print a - b }')"
}
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" -v z="$BARE" 'BEGIN { printf "%.2f", (a - z) / (b - z) }'; }
BLOCK=$(
	echo "$ROUNDS interleaved rounds of \`bench/probe_cost\` ($CALLS \`mapassign\` calls each, median ns per call; bare: $(range bare) ns, median $BARE ns). Per hit = median − bare."
	echo
	echo "| probe site | empty uprobe, ns/call | per hit | mapwatch, ns/call | per hit |"
	echo "|---|---:|---:|---:|---:|"
	row "5-byte nop (old: trampoline)" empty-nop5 mw-nop5
	row "\`push %rbp\` after it (emulated)" empty-push mw-push
	echo
	echo "push site / nop site, per hit: $(ratio empty-push empty-nop5)× (empty uprobe), $(ratio mw-push mw-nop5)× (mapwatch)."
)
echo "$BLOCK"
if [ "${BENCH_NO_README:-0}" != 1 ] && grep -q '<!-- bench-site:start -->' README.md && grep -q '<!-- bench-site:end -->' README.md; then
	BLOCK="$BLOCK" awk '/<!-- bench-site:end -->/ { skip = 0 }
		/<!-- bench-site:start -->/ { print; print ENVIRON["BLOCK"]; skip = 1; next }
		!skip' README.md >README.md.tmp && mv README.md.tmp README.md
	log "table written into README.md"
fi
exit 0
}
