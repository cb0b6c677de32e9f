#!/usr/bin/env bash
# e2e_go.sh — mapwatch on unmodified Go binaries, as root: real uprobes on
# tests/go/mapraces built by every installed Go toolchain (mk/go.mk), plain,
# stripped (-ldflags='-s -w') and PIE.
#
# Forced racy modes run 50 rounds, each on a fresh map, under one attach:
# every round's map must be flagged (50 of 50 distinct maps). Legal look-alikes
# (a goroutine writing inside its own range loop while it migrates threads,
# break/return then foreign writes, stack growth, locks, sync.Map,
# copy-on-write, other maps, many goroutines) must give 0 alerts. The tight
# race is flagged, with both goroutines' stacks at the marked source lines,
# before Go's runtime kills the program. Ends with `RESULT <passed> <failed>`.
#   GO_E2E_VERSIONS="1.19 1.23"   restrict the versions checked
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
# Distinct maps named by alert lines of the given kinds ("iter-write|iter-grow").
maps_flagged() { grep '^{"type":"alert"' "$1" | jq -r "select(.kind|test(\"^($2)\$\")) | .map" | sort -u | wc -l; }
mark_line() { grep -n "MARK:$1\$" tests/go/mapraces/*.go | head -1 | cut -d: -f2; }

if [ "$(id -u)" != 0 ]; then
	echo "FAIL e2e_go needs root"; echo "RESULT 0 1"; exit 1
fi
versions=${GO_E2E_VERSIONS:-}
if [ -z "$versions" ]; then
	for d in build/go/*/; do
		v=$(basename "$d")
		[ -x "$d/mapraces" ] && versions="$versions $v"
	done
fi
# Classic maps must be there for every toolchain deps.sh installs.
[ -n "${GO_E2E_VERSIONS:-}" ] || for v in 1.19 1.21 1.22 1.23; do
	case " $versions " in *" $v "*) ;; *) bad "Go $v: build/go/$v/mapraces is not built (make go)";; esac
done

for v in $versions; do
	[ "$v" = 1.24 ] && continue		# Swiss tables: the refusal is checked below
	for variant in "" -stripped -pie; do
		bin=build/go/$v/mapraces$variant
		if [ ! -x "$bin" ]; then
			[ "$v" = 1.24-noswiss ] && [ -n "$variant" ] && continue	# plain only
			bad "$bin is not built"; continue
		fi
		n="go$v$variant"
		for mode in iter-write iter-delete iter-clear iter-grow; do
			out=$tmp/$n-$mode.out err=$tmp/$n-$mode.err
			timeout -s KILL 120 "$MW" --json -- "$bin" "$mode" 50 >"$out" 2>"$err"
			rc=$?
			kinds="iter-write"
			[ "$mode" = iter-grow ] && kinds="iter-write|iter-grow"
			got=$(maps_flagged "$out" "$kinds")
			if [ "$rc" = 0 ] && [ "$got" = 50 ] && grep -q '^rounds=50 ' "$out"; then
				ok "$n $mode: 50 of 50 rounds flagged ($(jqs "$out" .alerts) alerts, $(jqs "$out" .unconfirmed) unconfirmed)"
			else
				bad "$n $mode: want 50 of 50 rounds flagged and exit 0, got $got, exit $rc" "$out" "$err"
			fi
		done
	done
	# Legal patterns: not a single alert. The liveness cases on every
	# version; the lock-based ones (no version-specific code in play) on the
	# oldest and newest classic layouts.
	legal="own-write break-then-write return-then-write stackgrow"
	case "$v" in 1.19|1.23) legal="$legal mutex rwmutex syncmap cow different-maps many-goroutines";; esac
	for mode in $legal; do
		bin=build/go/$v/mapraces
		out=$tmp/go$v-$mode.out err=$tmp/go$v-$mode.err
		GOMAXPROCS=2 timeout -s KILL 120 "$MW" --json -- "$bin" "$mode" 10 >"$out" 2>"$err"
		rc=$?
		a=$(jqs "$out" .alerts)
		if [ "$rc" = 0 ] && [ "$a" = 0 ] && grep -q '^rounds=10 ' "$out"; then
			ok "go$v $mode: 0 alerts ($(jqs "$out" .events) events, $(jqs "$out" .unconfirmed) held unconfirmed)"
		else
			bad "go$v $mode: want 0 alerts and exit 0, got ${a:-none}, exit $rc" "$out" "$err"
		fi
	done
	# The tight race: flagged with both stacks before the runtime's fatal error.
	bin=build/go/$v/mapraces-stripped
	[ -x "$bin" ] || bin=build/go/$v/mapraces
	out=$tmp/go$v-fatal.out err=$tmp/go$v-fatal.err
	wl=$(mark_line fatal-write) rl=$(mark_line fatal-range)
	# The runtime kills the program milliseconds after the race starts; in
	# a run where the first conflicting write was already in flight when
	# the iteration started, the writer's stack is the one of its run's
	# first write. Up to 3 runs (the attempts are reported).
	for attempt in 1 2 3; do
		timeout -s KILL 60 "$MW" --plain -- "$bin" fatal 50 >"$out" 2>"$err"
		rc=$?
		[ "$rc" = 2 ] && grep -q 'concurrent map iteration and map write' "$err" &&
		   grep -q '^ALERT #1 iter-write' "$out" &&
		   grep -Eq "writer +main\.writeLoop.*mapraces\.go:$wl|^ +main\.writeLoop.*mapraces\.go:$wl" "$out" &&
		   grep -Eq "main\.rangeLoop.*mapraces\.go:$rl" "$out" &&
		   grep -q 'exited with status 2' "$out" && break
		rc=fail
	done
	if [ "$rc" = 2 ]; then
		ok "go$v fatal (stripped): ALERT with main.writeLoop:$wl and main.rangeLoop:$rl before Go's fatal error, exit 2 (attempt $attempt)"
	else
		bad "go$v fatal (stripped): want an ALERT naming main.writeLoop:$wl and main.rangeLoop:$rl, then exit 2 (exit $rc)" "$out" "$err"
	fi
	# Tight races Go's runtime kills: flagged by mapwatch (reads with --reads).
	for t in "write-write write-write" "read-write read-write --reads" "clone-write clone-write"; do
		set -- $t
		mode=$1 kind=$2 opt=${3:-}
		[ "$mode" = clone-write ] && case "$v" in 1.19) continue;; esac	# maps.Clone is 1.21+
		out=$tmp/go$v-$mode.out err=$tmp/go$v-$mode.err
		timeout -s KILL 60 "$MW" --json $opt -- build/go/$v/mapraces "$mode" 50 >"$out" 2>"$err"
		rc=$?
		a=$(jqs "$out" ".alerts_by_kind[\"$kind\"]") rt=$(jqs "$out" ".runtime_caught[\"$kind\"]")
		# These races cannot be forced: the flag that shows a write in flight
		# is up for tens of ns, and the runtime samples it as often as the
		# probes do. Either mapwatch flags it, or it reports the runtime's
		# own catch of that kind (maps.Clone's end has no emulated site, so
		# a write that starts after the clone began is only seen that way).
		if [ "${a:-0}" -ge 1 ] || [ "${rt:-0}" -ge 1 ]; then
			ok "go$v $mode$opt: $a $kind alerts, runtime caught ${rt:-0} (exit $rc)"
		else
			bad "go$v $mode$opt: want $kind flagged (alerts ${a:-none}, runtime ${rt:-none}, exit $rc)" "$out" "$err"
		fi
	done
	# -v names the version, the layout and every site with its instruction and path.
	"$MW" -v --plain -d 0.2 -- build/go/$v/mapraces mutex 1 >"$tmp/v.out" 2>"$tmp/v.err"
	if grep -q "go${v%%-*}.*layout go1.*runtime.g from DWARF: goid at [0-9]" "$tmp/v.err" &&
	   grep -q 'probe runtime.mapiternext (iterdone) at +0x[0-9a-f]*, .*emulated' "$tmp/v.err" &&
	   ! grep 'probe ' "$tmp/v.err" | grep -v 'emulated' | grep -q .; then
		ok "go$v -v: version, layout and emulated sites ($(grep -c 'probe ' "$tmp/v.err") probes)"
	else
		bad "go$v -v: version, layout, sites" "$tmp/v.err"
	fi
done

# A version mapwatch does not support: one line naming it and what is supported.
if [ -x build/go/1.24/mapraces ]; then
	"$MW" --plain -- build/go/1.24/mapraces mutex 1 >"$tmp/u.out" 2>"$tmp/u.err"
	rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/u.err")" = 1 ] &&
	   grep -q 'go1\.24.*Swiss tables.*not supported yet (supported: Go 1.19, 1.21-1.22, 1.23' "$tmp/u.err"; then
		ok "go1.24 (Swiss tables): refused in one line: $(cat "$tmp/u.err")"
	else
		bad "go1.24 (Swiss tables): want one clear refusal, exit 1 (exit $rc)" "$tmp/u.err"
	fi
fi

finish
