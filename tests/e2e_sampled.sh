#!/usr/bin/env bash
# e2e_sampled.sh — the sampled mode (--sampled, --budget), as root: it flags
# a racy mapsvc and racy Go rounds, gives 0 alerts on the locked modes of
# mapsvc and on legal Go programs, says in the summary how it watched, and
# keeps the probes' cost, as it books it (probe hits × the per-hit cost
# calibrated at start, against the target's CPU time from /proc), within 3×
# the budget on a fixed load. Usage errors for a bad budget. Ends with
# `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

if [ "$(id -u)" != 0 ] || [ ! -x build/mapsvc ]; then
	echo "FAIL e2e_sampled needs root and build/mapsvc"; echo "RESULT 0 1"; exit 1
fi

# ---- options --------------------------------------------------------------------
for b in 0 101 -1 abc 1e999 ""; do
	"$MW" --budget "$b" -p 1 >/dev/null 2>"$tmp/u.err"
	rc=$?
	check "--budget '$b': usage error (exit $rc)" [ "$rc" = 2 ] && grep -q "invalid budget" "$tmp/u.err"
done
check "--help names --sampled and --budget" sh -c "'$MW' --help | grep -q -- '--sampled' && '$MW' --help | grep -q -- '--budget PCT'"

# ---- libgomap: a racy service is flagged, the locked ones never -------------------
GOMAP_ONRACE=count timeout -s KILL 120 "$MW" --json --sampled -- build/mapsvc -m unsafe -r 0 -R 20000 -d 12 >"$tmp/u.out" 2>"$tmp/u.err"
a=$(jqs "$tmp/u.out" .alerts) m=$(jqs "$tmp/u.out" .mode) f=$(jqs "$tmp/u.out" .armed_fraction) w=$(jqs "$tmp/u.out" .windows)
if [ "${a:-0}" -gt 0 ] && [ "$m" = sampled ] && [ "$(jqs "$tmp/u.out" '.armed_fraction < 1 and .windows > 0')" = true ]; then
	ok "mapsvc unsafe, sampled: $a alerts, writes watched ${f} of the time in $w windows"
else
	bad "mapsvc unsafe, sampled: want alerts, mode sampled, 0 < armed < 1; got ${a:-none} alerts, mode ${m:-none}, armed ${f:-?}, ${w:-?} windows" "$tmp/u.out" "$tmp/u.err"
fi
for mode in mutex rwlock cow; do
	out=$tmp/$mode.out
	timeout -s KILL 120 "$MW" --json --sampled -- build/mapsvc -m "$mode" -w 2 -i 2 -r 1 -R 20000 -d 6 >"$out" 2>"$tmp/$mode.err"
	a=$(jqs "$out" .alerts) w=$(jqs "$out" .windows)
	if [ "$a" = 0 ] && [ "${w:-0}" -gt 0 ]; then
		ok "mapsvc $mode, sampled: 0 alerts in $w windows (writes watched $(jqs "$out" .armed_fraction) of the time)"
	else
		bad "mapsvc $mode, sampled: want 0 alerts and windows, got ${a:-none} alerts, ${w:-?} windows" "$out" "$tmp/$mode.err"
	fi
done

# Windows opening and closing (a 5% budget): still never an alert, on
# libgomap and on Go (gosvc), with the iteration probes windowed too.
timeout -s KILL 120 "$MW" --json --budget 5 -- build/mapsvc -m rwlock -w 2 -i 2 -r 1 -R 20000 -d 6 >"$tmp/w5.out" 2>"$tmp/w5.err"
check "mapsvc rwlock, budget 5%: 0 alerts over $(jqs "$tmp/w5.out" .windows) windows" \
	[ "$(jqs "$tmp/w5.out" '.alerts == 0 and .windows >= 2')" = true ]
if [ -x build/gosvc ]; then
	# (gosvc uses less CPU than mapsvc at this rate: a 20% budget opens
	# and closes windows at the rate 5% does on mapsvc)
	GOMAXPROCS=2 timeout -s KILL 120 "$MW" --json --budget 20 -- build/gosvc -m rwlock -w 2 -i 2 -r 1 -R 5000 -d 6 >"$tmp/g5.out" 2>"$tmp/g5.err"
	check "gosvc rwlock, budget 20%: 0 alerts over $(jqs "$tmp/g5.out" .windows) windows" \
		[ "$(jqs "$tmp/g5.out" '.alerts == 0 and .windows >= 2')" = true ]
fi

# ---- the cost, as booked, on a fixed load -----------------------------------------
timeout -s KILL 120 "$MW" --json --sampled -- build/mapsvc -m rwlock -w 1 -i 1 -r 0 -R 20000 -d 8 >"$tmp/c.out" 2>"$tmp/c.err"
r=$(jqs "$tmp/c.out" '.probe_cost_ns / .target_cpu_ns')
if [ "$(jqs "$tmp/c.out" '.target_cpu_ns > 0 and .probe_cost_ns <= 3 * .budget * .target_cpu_ns')" = true ]; then
	ok "fixed load: probe cost $(jqs "$tmp/c.out" .probe_cost_ns) ns of $(jqs "$tmp/c.out" .target_cpu_ns) ns target CPU ($r, budget $(jqs "$tmp/c.out" .budget)), $(jqs "$tmp/c.out" .hit_ns) ns per hit"
else
	bad "fixed load: want probe cost <= 3 x budget x target CPU, got ratio ${r:-?}" "$tmp/c.out" "$tmp/c.err"
fi
# The plain summary says so too.
GOMAP_ONRACE=count timeout -s KILL 60 "$MW" --plain --budget 5 -- build/mapsvc -m rwlock -R 5000 -d 3 >"$tmp/p.out" 2>&1
check "--plain: the summary names the mode and the fraction watched" grep -q '^mapwatch: sampled mode, budget 5%: writes watched [0-9.]*% of the time' "$tmp/p.out"
"$MW" --json --exact --budget 5 -- build/mapsvc -m rwlock -R 5000 -d 1 >"$tmp/x.out" 2>&1
check "--exact wins over --budget: mode exact" [ "$(jqs "$tmp/x.out" .mode)" = exact ]

# ---- Go -------------------------------------------------------------------------
go=build/go/1.23/mapraces
[ -x "$go" ] || go=build/go/1.19/mapraces
if [ -x "$go" ]; then
	timeout -s KILL 120 "$MW" --json --sampled -- "$go" iter-write 50 >"$tmp/g.out" 2>"$tmp/g.err"
	a=$(jqs "$tmp/g.out" .alerts)
	if [ "${a:-0}" -gt 0 ] && grep -q '^rounds=50 ' "$tmp/g.out" && [ "$(jqs "$tmp/g.out" .mode)" = sampled ]; then
		ok "Go iter-write, sampled: $a alerts over 50 rounds ($(jqs "$tmp/g.out" .unconfirmed) unconfirmed)"
	else
		bad "Go iter-write, sampled: want alerts, got ${a:-none}" "$tmp/g.out" "$tmp/g.err"
	fi
	for mode in own-write break-then-write return-then-write mutex cow; do
		out=$tmp/g-$mode.out
		GOMAXPROCS=2 timeout -s KILL 120 "$MW" --json --sampled -- "$go" "$mode" 10 >"$out" 2>"$tmp/g-$mode.err"
		a=$(jqs "$out" .alerts)
		if [ "$a" = 0 ] && grep -q '^rounds=10 ' "$out"; then
			ok "Go $mode, sampled: 0 alerts"
		else
			bad "Go $mode, sampled: want 0 alerts, got ${a:-none}" "$out" "$tmp/g-$mode.err"
		fi
	done
else
	bad "no Go test program built (build/go/*/mapraces)"
fi
finish
