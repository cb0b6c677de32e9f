#!/usr/bin/env bash
# e2e_mapsvc.sh — end-to-end checks of the demo service build/mapsvc and its
# libgomap.so twin build/mapsvc-dyn: every mode runs and reports, unsafe mode
# races (counted, or fatal with status 2), the locked modes never race, bad
# options fail with status 2 and a message, SIGTERM/SIGINT exit cleanly.
# Run from the repo root after `make test-build`; ends with `RESULT <p> <f>`.
# The long runs go in parallel so the whole script takes about 15 s.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
pids=()

# run NAME TIMEOUT [env args...] BIN ARGS...: in the background; NAME.out/.err/.rc
run() {
	local name=$1 to=$2; shift 2
	( timeout -s KILL "$to" env "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	  echo $? >"$tmp/$name.rc" ) &
	pids+=($!)
}
rc() { cat "$tmp/$1.rc" 2>/dev/null || echo none; }
races() { sed -n 's/^mapsvc: done in .* races \([0-9][0-9]*\)$/\1/p' "$tmp/$1.out"; }

# A finished run: exit 0, the start line with the map address, stats lines, the summary.
check_run() {
	local name=$1 min_stats=$2 o="$tmp/$1.out"
	if [ "$(rc "$name")" = 0 ] &&
	   grep -Eq '^mapsvc: pid [0-9]+ mode [a-z]+ map 0x[0-9a-f]+ writers [0-9]+ iterators [0-9]+ readers [0-9]+ keys [0-9]+$' "$o" &&
	   [ "$(grep -c 'writes .*/s iterations .*/s lookups .*/s size [0-9]* B [0-9]* grows [0-9]* races' "$o")" -ge "$min_stats" ] &&
	   grep -Eq '^mapsvc: done in [0-9.]+ s: [0-9]+ ops, [0-9]+ ops/s, races [0-9]+$' "$o"; then
		ok "$name runs, prints stats and a summary"
	else
		bad "$name runs, prints stats and a summary (exit $(rc "$name"))" "$o" "$tmp/$name.err"
	fi
}

bins=(build/mapsvc build/mapsvc-dyn)
need_built "${bins[@]}"

# ---- the long runs, all at once --------------------------------------------
for b in "${bins[@]}"; do
	n=$(basename "$b")
	for m in mutex rwlock cow; do
		run "$n-$m" 30 GOMAP_ONRACE=count "$b" --mode "$m" --writers 2 --iterators 2 --readers 2 --duration 5
	done
	run "$n-unsafe" 30 GOMAP_ONRACE=count "$b" --mode unsafe --duration 4
done
run fatal-static 20 -u GOMAP_ONRACE build/mapsvc --duration 10
run fatal-dyn 20 -u GOMAP_ONRACE build/mapsvc-dyn --mode unsafe --writers 1 --duration 10
# Runs until a signal; a real work load and a throttle, to exercise those too.
run term 30 GOMAP_ONRACE=count build/mapsvc --mode rwlock --work 5 --rate 20000
run int 30 GOMAP_ONRACE=count build/mapsvc-dyn --mode cow --keys 5000

# ---- option errors, while those run ------------------------------------------
opt_case() {
	local want_rc=$1 pattern=$2; shift 2
	local out rc
	out=$(build/mapsvc "$@" 2>&1 </dev/null); rc=$?
	if [ "$rc" = "$want_rc" ] && grep -q -- "$pattern" <<<"$out"; then
		ok "mapsvc $* exits $want_rc with '$pattern'"
	else
		bad "mapsvc $* exits $want_rc with '$pattern' (got $rc: $out)"
	fi
}
opt_case 2 "mapsvc: --writers: expected a number, got 'x'" --writers x
opt_case 2 "mapsvc: --mode: expected unsafe, mutex, rwlock or cow, got 'fast'" --mode fast
opt_case 2 "mapsvc: unknown option '--frobnicate'" --frobnicate
opt_case 2 "mapsvc: --keys: expected a number between" --keys 0
opt_case 2 "mapsvc: --duration: expected a positive number" --duration -1
opt_case 2 "mapsvc: unexpected argument 'extra'" extra
opt_case 2 "mapsvc: --readers: missing argument" --readers
opt_case 0 "Usage: mapsvc" --help

# ---- signals: wait for a stats line, look at the threads, then signal --------
wait_stats() {
	for _ in $(seq 1 100); do
		grep -q 'races' "$tmp/$1.out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
svc_pid() { sed -n 's/^mapsvc: pid \([0-9]*\) .*/\1/p' "$tmp/$1.out"; }

wait_stats term; wait_stats int
p=$(svc_pid term)
names=$(cat /proc/"$p"/task/*/comm 2>/dev/null | sort | tr '\n' ' ')
if [ -n "$p" ] && [[ "$names" == *"iter-0 "* && "$names" == *"reader-0 "* && "$names" == *"writer-0 "* ]]; then
	ok "worker threads are named writer-0, iter-0, reader-0"
else
	bad "worker threads are named writer-0, iter-0, reader-0 (pid '$p': $names)"
fi
[ -n "$p" ] && kill -TERM "$p"
p=$(svc_pid int)
[ -n "$p" ] && kill -INT "$p"

wait "${pids[@]}" 2>/dev/null
pids=()

# ---- verdicts ------------------------------------------------------------------
for b in "${bins[@]}"; do
	n=$(basename "$b")
	for m in mutex rwlock cow; do
		check_run "$n-$m" 3
		r=$(races "$n-$m")
		if [ "$r" = 0 ]; then
			ok "$n-$m: 2 writers, 2 iterators, 2 readers for 5 s: 0 races"
		else
			bad "$n-$m: 2 writers, 2 iterators, 2 readers for 5 s: 0 races (got '$r')" "$tmp/$n-$m.out"
		fi
	done
	check_run "$n-unsafe" 2
	r=$(races "$n-unsafe")
	if [ -n "$r" ] && [ "$r" -gt 0 ]; then
		ok "$n-unsafe with GOMAP_ONRACE=count: $r races detected by the runtime"
	else
		bad "$n-unsafe with GOMAP_ONRACE=count: races detected by the runtime (got '$r')" "$tmp/$n-unsafe.out" "$tmp/$n-unsafe.err"
	fi
done

for f in fatal-static fatal-dyn; do
	if [ "$(rc $f)" = 2 ] && grep -q 'fatal error: concurrent map' "$tmp/$f.err" "$tmp/$f.out"; then
		ok "$f: unsafe without count mode dies with 'fatal error: concurrent map', status 2"
	else
		bad "$f: unsafe without count mode dies with 'fatal error: concurrent map', status 2 (exit $(rc $f))" "$tmp/$f.out" "$tmp/$f.err"
	fi
done

for s in term int; do
	sig=$(tr a-z A-Z <<<"$s")
	if [ "$(rc $s)" = 0 ] && grep -Eq '^mapsvc: done in .* ops/s, races 0$' "$tmp/$s.out"; then
		ok "SIG$sig: clean exit 0 with the summary"
	else
		bad "SIG$sig: clean exit 0 with the summary (exit $(rc $s))" "$tmp/$s.out" "$tmp/$s.err"
	fi
done

finish
