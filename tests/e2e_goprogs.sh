#!/usr/bin/env bash
# e2e_goprogs.sh — the Go test programs and gosvc, without mapwatch: for every
# toolchain in mk/go.mk's GO_VERSIONS (and 1.24-noswiss) whose build exists,
# every legal mode of build/go/V/mapraces and every forced racy mode (their
# interleaving leaves Go's own check nothing to see) exits 0 with its
# `rounds=N mode=M ok` line, iter-grow grows and stackgrow copies the stack in
# every round, and build/go/V/gosvc --mode mutex runs 1 s and
# prints its summary. Builds nothing (make test-build does). Ends with
# `RESULT <passed> <failed>`; non-zero exit on any failure.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
pids=()

legal="own-write break-then-write return-then-write stackgrow mutex rwmutex syncmap cow different-maps many-goroutines"
forced="iter-write iter-delete iter-clear iter-grow"
rounds=50

versions=()
for v in $(sed -n 's/^GO_VERSIONS *:= *//p' mk/go.mk) $(sed -n 's/^GO_NOSWISS *:= *//p' mk/go.mk); do
	if [ -x "build/go/$v/mapraces" ] && [ -x "build/go/$v/gosvc" ]; then
		versions+=("$v")
	else
		echo "skip $v: build/go/$v/mapraces or gosvc is not built"
	fi
done
if [ ${#versions[@]} = 0 ]; then
	abort "no Go program is built (run make go)"
fi

# ---- gosvc --mode mutex for 1 s, every version at once, in the background -----
for v in "${versions[@]}"; do
	( timeout -s KILL 20 "build/go/$v/gosvc" --mode mutex --duration 1 >"$tmp/svc-$v.out" 2>"$tmp/svc-$v.err" </dev/null
	  echo $? >"$tmp/svc-$v.rc" ) &
	pids+=($!)
done

# ---- mapraces: legal and forced modes -----------------------------------------
for v in "${versions[@]}"; do
	for m in $legal $forced; do
		o="$tmp/$v-$m.out" e="$tmp/$v-$m.err"
		timeout -s KILL 20 "build/go/$v/mapraces" "$m" "$rounds" >"$o" 2>"$e"
		rc=$?
		if [ "$rc" = 0 ] && grep -Eq "^rounds=$rounds mode=$m ok( |\$)" "$o"; then
			ok "$v mapraces $m: exit 0, ok line"
		else
			bad "$v mapraces $m: exit $rc, want 0 and 'rounds=$rounds mode=$m ok'" "$o" "$e"
		fi
	done
	# iter-grow must really grow the map under the iterator (classic maps).
	g=$(sed -n 's/.* grew=\([0-9n/a]*\) growing=\([0-9n/a]*\).*/\1 \2/p' "$tmp/$v-iter-grow.out")
	if [ "$g" = "$rounds $rounds" ] || [ "$g" = "n/a n/a" ]; then
		ok "$v mapraces iter-grow: a grow in progress in every round ($g)"
	else
		bad "$v mapraces iter-grow: grew/growing '$g', want '$rounds $rounds' (or n/a on Swiss maps)" "$tmp/$v-iter-grow.out"
	fi
	# stackgrow must really copy the stack under the loop.
	mv=$(sed -n 's/.* moved=\([0-9]*\).*/\1/p' "$tmp/$v-stackgrow.out")
	if [ "$mv" = "$rounds" ]; then
		ok "$v mapraces stackgrow: the stack moved under the loop in every round"
	else
		bad "$v mapraces stackgrow: moved '$mv', want $rounds" "$tmp/$v-stackgrow.out"
	fi
done

# ---- gosvc results ------------------------------------------------------------
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
pids=()
for v in "${versions[@]}"; do
	o="$tmp/svc-$v.out"
	rc=$(cat "$tmp/svc-$v.rc" 2>/dev/null || echo none)
	secs=$(sed -n 's/^gosvc: done in \([0-9.]*\) s: .*/\1/p' "$o")
	if [ "$rc" = 0 ] &&
	   grep -Eq '^gosvc: pid [0-9]+ mode mutex map 0x[0-9a-f]+ writers 1 iterators 1 readers 1 keys 1000$' "$o" &&
	   grep -Eq '^gosvc: writes [1-9][0-9]* iterations [1-9][0-9]* \([0-9]+ entries copied, 0 cut short\) lookups [1-9][0-9]* grows [0-9]+ clears [0-9]+$' "$o" &&
	   grep -Eq '^gosvc: done in [0-9.]+ s: [0-9]+ ops, [0-9]+ ops/s, races 0$' "$o" &&
	   awk -v s="$secs" 'BEGIN { exit !(s >= 0.9 && s < 5) }'; then
		ok "$v gosvc --mode mutex: ran ${secs} s, exit 0, start line and summary"
	else
		bad "$v gosvc --mode mutex: exit $rc, ${secs:-no} summary" "$o" "$tmp/svc-$v.err"
	fi
done

finish
