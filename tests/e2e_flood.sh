#!/usr/bin/env bash
# e2e_flood.sh — one race repeated as fast as a target can (tests/progs/flood:
# 8 iterations held open, 2 writers serialized among themselves, N writes
# each), as root. Repeated races are counted in BPF: the summary must report
# exactly N × 2 × 8 iter-write occurrences, the 16 (writer, iterator) pairs
# as rows, no drop; the findings must add up to it; a recording (-o) keeps a
# record per occurrence and replays to the same count. Ends with
# `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

if [ "$(id -u)" != 0 ] || [ ! -x build/progs/flood ]; then
	echo "FAIL e2e_flood needs root and build/progs/flood"; echo "RESULT 0 1"; exit 1
fi

# A flood: before the races were counted in BPF, this run lost 88% of them.
for n in 1000 200000; do
	out=$tmp/f$n.out err=$tmp/f$n.err
	timeout -s KILL 300 "$MW" --json -- build/progs/flood "$n" >"$out" 2>"$err"
	rc=$?
	want=$((n * 16))
	got=$(jqs "$out" '[.alerts, .alerts_by_kind."iter-write", .alerts_by_kind."write-write", .alerts_by_kind."iter-grow", .rows, .drops] | map(tostring) | join(" ")')
	lines=$(grep -c '^{"type":"alert"' "$out")
	if [ "$rc" = 0 ] && grep -q "^flood ok .*expect=$want\$" "$out" && [ "$got" = "$want $want 0 0 16 0" ]; then
		ok "flood $n: exactly $want iter-write occurrences, 16 races, 0 drops ($lines alert lines)"
	else
		bad "flood $n: want '$want $want 0 0 16 0' (alerts, iter-write, write-write, iter-grow, rows, drops), got '${got:-none}' (exit $rc)" "$out" "$err"
	fi
	fsum=$(grep '^{"type":"finding"' "$out" | jq -s 'map(.count) | add')
	check "flood $n: the findings add up to $want" [ "${fsum:-0}" = "$want" ]
	nsum=$(grep '^{"type":"alert"' "$out" | jq -s 'map(.n // 1) | add')
	check "flood $n: the alert lines' n add up to $want" [ "${nsum:-0}" = "$want" ]
done

# Text: each distinct race once, the count at the end.
timeout -s KILL 120 "$MW" --plain -- build/progs/flood 5000 >"$tmp/p.out" 2>"$tmp/p.err"
if grep -q '^ *80000  iter-write  put (flood.c:[0-9]*) → iterator (flood.c:[0-9]*)$' "$tmp/p.out" &&
   grep -q '^mapwatch: 80000 alerts: iter-write 80000,' "$tmp/p.out"; then
	ok "plain: one finding of 80000, the summary's 80000 alerts"
else
	bad "plain: want one finding and 80000 alerts" "$tmp/p.out" "$tmp/p.err"
fi

# A recording holds a record per occurrence (no counting in BPF) and replays
# to the live count.
timeout -s KILL 120 "$MW" --json -o "$tmp/r.trace" -- build/progs/flood 500 >"$tmp/r.out" 2>"$tmp/r.err"
a=$(jqs "$tmp/r.out" .alerts)
ev=$(grep -c '"ev":"write".*"kind":"iter-write"' "$tmp/r.trace")
"$MW" analyze "$tmp/r.trace" --json >"$tmp/r.an" 2>"$tmp/r.anerr"
b=$(jqs "$tmp/r.an" .alerts)
if [ "$a" = 8000 ] && [ "$b" = 8000 ] && [ "$ev" = 8000 ]; then
	ok "-o: 8000 alerts live, 8000 iter-write records in the recording, 8000 replayed"
else
	bad "-o: want 8000 live/recorded/replayed, got ${a:-none}/$ev/${b:-none}" "$tmp/r.out" "$tmp/r.err" "$tmp/r.anerr"
fi
finish
