#!/usr/bin/env bash
# e2e_probe.sh — mapwatch end to end, as root: real uprobes on real processes.
#
# Forced interleavings (build/progs/races, 100 rounds each under one attach)
# must give exact alert counts: 100 for the racy scenarios, 0 for the same
# sequences serialized, done by one thread, or on different maps. mapsvc
# (static and libgomap.so builds) raises alerts in unsafe mode and none in the
# locked modes. Every error path is checked by message and exit status.
# Uses build/asan/mapwatch when built (MW=... overrides). Ends with
# `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
MW=${MW:-build/asan/mapwatch}
[ -x "$MW" ] || MW=build/mapwatch
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
pass=0 fail=0
tmp=$(mktemp -d)
bg=()	# background jobs; cleanup (kill_tree) ends them and all else left running
# kill_tree PID: kills PID's descendants (and PID, unless it is this shell),
# each stopped before its children are listed so that none forks any more.
# At exit it reaches what a failed check or a signal left running: background
# jobs, an interrupted foreground command, and what those started.
tree_of() {
	local c
	for c in $(pgrep -P "$1"); do
		[ "$c" = "$BASHPID" ] && continue
		kill -STOP "$c" 2>/dev/null
		echo "$c"
		tree_of "$c"
	done
}
kill_tree() {
	local p
	[ "$1" != $$ ] && kill -STOP "$1" 2>/dev/null
	for p in $(tree_of "$1") $([ "$1" != $$ ] && echo "$1"); do kill -KILL "$p" 2>/dev/null; done
}
cleanup() {
	kill_tree $$
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   $1 [${SECONDS}s]"; }
bad() {
	fail=$((fail + 1)); echo "FAIL $1 [${SECONDS}s]"; shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/  | /' "$f" | tail -12; done
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
summary() { grep '^{' "$1" | tail -1; }
# wait_until SECONDS CMD...: runs CMD every 0.05 s until it succeeds or
# SECONDS pass (status 1). Signals below wait for their moment this way,
# never a fixed time.
wait_until() {
	local end=$((${EPOCHREALTIME/./} / 1000 + $1 * 1000)); shift
	until "$@"; do
		[ $((${EPOCHREALTIME/./} / 1000)) -gt "$end" ] && return 1
		sleep 0.05
	done
}
# PID has taken SIGINT off its pending set: its handler has run.
int_taken() {
	local v; v=$(awk '/^ShdPnd:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -n "$v" ] && (( (16#$v & 2) == 0 ))
}
jqs() { summary "$1" | jq -r "$2" 2>/dev/null; }

for b in build/progs/races build/mapsvc build/mapsvc-dyn "$MW"; do
	if [ ! -x "$b" ]; then
		echo "FAIL $b is not built (run make test-build)"; echo "RESULT 0 1"; exit 1
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "FAIL e2e_probe needs root"; echo "RESULT 0 1"; exit 1
fi

# ---- forced interleavings: exact counts ---------------------------------------
# scenario  iter-write iter-grow write-write
expect=(
	"iterwrite 100 0 0"
	"itergrow 100 200 0"
	"writewrite 0 0 100"
	"iterwrite-lock 0 0 0"
	"iterwrite-self 0 0 0"
	"iterwrite-other 0 0 0"
	"writewrite-lock 0 0 0"
	"writewrite-self 0 0 0"
	"writewrite-other 0 0 0"
)
# --every: an alert line per occurrence (repeats of one race are not
# counted in BPF), so that the n-th alert goes with round n below.
for e in "${expect[@]}"; do
	set -- $e
	m=$1
	timeout -s KILL 60 "$MW" --json --every -- build/progs/races "$m" 100 >"$tmp/$m.out" 2>"$tmp/$m.err"
	echo $? >"$tmp/$m.rc"
done
for e in "${expect[@]}"; do
	set -- $e
	m=$1 iw=$2 ig=$3 ww=$4
	got=$(jqs "$tmp/$m.out" '[.alerts_by_kind["iter-write"], .alerts_by_kind["iter-grow"], .alerts_by_kind["write-write"], .drops, .type] | @tsv')
	want=$(printf '%s\t%s\t%s\t0\tsummary' "$iw" "$ig" "$ww")
	if [ "$(cat "$tmp/$m.rc")" = 0 ] && [ "$got" = "$want" ] && [ -z "$(grep -v '^{' "$tmp/$m.out" | grep -v '^round\|^races:')" ] &&
	   tail -1 "$tmp/$m.out" | grep -q '"type":"summary"'; then
		ok "races $m: iter-write $iw, iter-grow $ig, write-write $ww, no drops, summary last"
	else
		bad "races $m: want '$want' got '$got' (exit $(cat "$tmp/$m.rc"))" "$tmp/$m.out" "$tmp/$m.err"
	fi
done

# The alerts name the right map, threads and the reader's bucket: one alert
# per round, raised in round order, so the n-th alert goes with round n.
zip_check() { # FILE FIELDS
	paste <(grep '^round ' "$1" | awk '{print $4 "\t" $6 "\t" $8 "\t" $10}') \
	      <(grep '"type":"alert"' "$1" | jq -r "$2") |
		awk -F'\t' '$1 == $5 && $2 == $6 && $3 == $7 && ($4 == $8 || $8 == "-") { n++ } END { print n + 0 }'
}
good=$(zip_check "$tmp/iterwrite.out" '[.map, .iter_tid, .writer_tid, .bucket] | @tsv')
check "iter-write alerts name the map, both threads and R's bucket pointer ($good/100)" [ "$good" = 100 ]
good=$(zip_check "$tmp/writewrite.out" '[.map, .iter_tid, .writer_tid, "-"] | @tsv')
check "write-write alerts name the map, the writer in flight and the second writer ($good/100)" [ "$good" = 100 ]
a=$(grep '"type":"alert"' "$tmp/itergrow.out" | jq -r 'select(.bucket2 != "0x0") | .confidence' | sort -u)
check "iter-grow evacuations of the iterator's bucket carry the bucket ($a)" [ "$a" = bucket ]

# Writes that meet no foreign iteration cost no record: hits vs records.
hits=$(jqs "$tmp/writewrite-self.out" .probe_hits) recs=$(jqs "$tmp/writewrite-self.out" .bpf_records)
check "uncontended writes produce no record ($hits hits, $recs records)" [ "${hits:-0}" -ge 300 -a "${recs:-1}" = 0 ]

# --fail-on-race, and the exit status of the command.
"$MW" --plain --fail-on-race -- build/progs/races iterwrite 3 >"$tmp/f.out" 2>&1
check "--fail-on-race exits 3 after a race" [ $? = 3 ]
"$MW" --plain --fail-on-race -- build/progs/races iterwrite-lock 3 >"$tmp/f.out" 2>&1
check "--fail-on-race exits 0 without one" [ $? = 0 ]
"$MW" --plain -- build/progs/races nosuchmode >"$tmp/f.out" 2>&1
check "the command's exit status is mapwatch's (2)" [ $? = 2 ]

# ---- mapsvc: attach with -p ---------------------------------------------------
start_svc() { # NAME BIN ARGS... → pid in $svc
	GOMAP_ONRACE=count "$@" >"$tmp/svc.out" 2>&1 </dev/null &
	svc=$!; bg+=("$svc")
	for _ in $(seq 1 50); do grep -q '^mapsvc: pid' "$tmp/svc.out" && break; sleep 0.05; done
}
for b in build/mapsvc build/mapsvc-dyn; do
	n=$(basename "$b")
	start_svc "$b" --mode unsafe --duration 20
	"$MW" --json -d 2 -p "$svc" >"$tmp/$n-u.out" 2>"$tmp/$n-u.err"
	rc=$?
	map=$(sed -n 's/^mapsvc: pid [0-9]* mode [a-z]* map \(0x[0-9a-f]*\).*/\1/p' "$tmp/svc.out")
	al=$(jqs "$tmp/$n-u.out" .alerts)
	onmap=$(grep '"type":"alert"' "$tmp/$n-u.out" | jq -r .map | sort -u)
	if [ "$rc" = 0 ] && [ "${al:-0}" -gt 0 ] && [ "$onmap" = "$map" ] &&
	   [ "$(grep -c '"type":"stats"' "$tmp/$n-u.out")" -ge 1 ]; then
		ok "$n unsafe: -p raises $al alerts within 2 s, all on map $map, stats lines"
	else
		bad "$n unsafe: -p alerts within 2 s (exit $rc, alerts '$al', maps '$onmap' vs '$map')" "$tmp/$n-u.out" "$tmp/$n-u.err"
	fi
	kill -KILL "$svc" 2>/dev/null; wait "$svc" 2>/dev/null
done
# The locked modes, both builds at once, 10 s each.
for m in mutex rwlock cow; do
	for b in build/mapsvc build/mapsvc-dyn; do
		n=$(basename "$b")
		GOMAP_ONRACE=count "$MW" --json -- "$b" --mode "$m" --writers 2 --iterators 2 --duration 10 \
			>"$tmp/$n-$m.out" 2>"$tmp/$n-$m.err" &
		bg+=($!)
	done
	wait
	for b in build/mapsvc build/mapsvc-dyn; do
		n=$(basename "$b")
		got=$(jqs "$tmp/$n-$m.out" '[.alerts, .drops, .exit_status] | @tsv')
		ev=$(jqs "$tmp/$n-$m.out" .events)
		if [ "$got" = "$(printf '0\t0\t0')" ] && [ "${ev:-0}" -gt 10 ]; then
			ok "$n $m: 10 s, $ev events, no alerts, no drops"
		else
			bad "$n $m: want no alerts (got '$got')" "$tmp/$n-$m.out" "$tmp/$n-$m.err"
		fi
	done
done
bg=()

# Default abort policy: the alert is reported, then the service's own fatal error.
# No reader threads: a lookup racing a write ("concurrent map read and map
# write") is a race class mapwatch does not probe (no mapaccess probes).
for b in build/mapsvc build/mapsvc-dyn; do
	n=$(basename "$b")
	env -u GOMAP_ONRACE timeout -s KILL 30 "$MW" --plain -- "$b" --mode unsafe --readers 0 >"$tmp/$n-f.out" 2>"$tmp/$n-f.err"
	rc=$?
	if [ "$rc" = 2 ] && grep -q '^ALERT #1 ' "$tmp/$n-f.out" && grep -q 'fatal error: concurrent map' "$tmp/$n-f.err" &&
	   grep -q "exited with status 2" "$tmp/$n-f.out"; then
		ok "$n under the abort policy: ALERT reported, then the service's fatal error, exit 2"
	else
		bad "$n under the abort policy (exit $rc)" "$tmp/$n-f.out" "$tmp/$n-f.err"
	fi
done

# ---- the target goes away; signals -----------------------------------------------
start_svc build/mapsvc --mode mutex --duration 30
# Killed once mapwatch is attached and looping: its first stats line is out.
( wait_until 15 grep -q '"type":"stats"' "$tmp/gone.out"; kill -KILL "$svc" ) &
timeout -s KILL 20 "$MW" --json -p "$svc" >"$tmp/gone.out" 2>"$tmp/gone.err"
rc=$?
check "traced process killed: summary printed, exit 0 (got $rc)" [ "$rc" = 0 -a "$(jqs "$tmp/gone.out" .type)" = summary ]
wait "$svc" 2>/dev/null

"$MW" --plain -- build/progs/races iterwrite 1000000 >"$tmp/k.out" 2>&1 &
mwp=$!
# Killed once it runs under the probes: its first round is out.
wait_until 15 grep -q '^round ' "$tmp/k.out" || kill -KILL "$mwp"
pkill -KILL -P "$mwp" -x races
wait "$mwp"
rc=$?
killed_reported() { [ "$rc" = 137 ] && grep -q 'killed by SIGKILL' "$tmp/k.out"; }
check "command killed by SIGKILL: reported, exit 137 (got $rc)" killed_reported

start_svc build/mapsvc --mode unsafe --duration 30
"$MW" --json -p "$svc" -o "$tmp/t.trace" >"$tmp/int.out" 2>"$tmp/int.err" &
mwp=$!
# Interrupted once it has seen events: its first alert is out.
wait_until 15 grep -q '"type":"alert"' "$tmp/int.out"
kill -INT "$mwp"
wait "$mwp"
rc=$?
ev=$(jqs "$tmp/int.out" .events)
tr=$(tail -1 "$tmp/t.trace" | jq -r .events 2>/dev/null)
check "SIGINT: summary last (events $ev), trace flushed with the same summary ($tr), exit 0 ($rc)" \
	[ "$rc" = 0 -a "${ev:-0}" -gt 0 -a "$ev" = "$tr" ]
an=$("$MW" analyze "$tmp/t.trace" --json 2>/dev/null | tail -1 | jq -r .alerts)
check "analyze of the recorded trace finds the live alerts ($an vs $(jqs "$tmp/int.out" .alerts))" [ "$an" = "$(jqs "$tmp/int.out" .alerts)" ]
kill -KILL "$svc" 2>/dev/null; wait "$svc" 2>/dev/null

"$MW" --plain -- build/progs/races iterwrite 1000000 >"$tmp/i2.out" 2>&1 &
mwp=$!
# The first Ctrl-C once the command runs; the second once the first is
# taken (two pending SIGINTs would merge into one).
wait_until 15 grep -q '^round ' "$tmp/i2.out"
kill -INT "$mwp"; wait_until 5 int_taken "$mwp"; kill -INT "$mwp"
wait "$mwp"
check "a second Ctrl-C exits at once (130)" [ $? = 130 ]

# ---- errors ---------------------------------------------------------------------
err_case() { # NAME WANT_RC PATTERN CMD...
	local name=$1 want=$2 pat=$3; shift 3
	local out rc
	out=$("$@" 2>&1 </dev/null); rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pat" <<<"$out"; then
		ok "$name: exit $want, '$pat'"
	else
		fail=$((fail + 1)); echo "FAIL $name: want $want '$pat', got $rc: $out"
	fi
}
nopid=4242
while kill -0 "$nopid" 2>/dev/null; do nopid=$((nopid + 1)); done
err_case "no such pid" 1 "^mapwatch: cannot attach to pid $nopid: no such process$" "$MW" -p "$nopid"
sleep 30 & sp=$!; bg+=("$sp")
err_case "no runtime in /bin/sleep" 1 "cannot attach to pid $sp: not a Go program, and libgomap symbols not found: mapiterinit, mapiterdone, mapassign, mapdelete, mapclear, hashGrow, evacuate, mapfatal (looked in .*sleep.*libc" "$MW" -p "$sp"
kill "$sp"
cp build/progs/races "$tmp/races-stripped" && strip "$tmp/races-stripped"
err_case "stripped program" 1 "cannot trace $tmp/races-stripped: not a Go program, and libgomap symbols not found: .*mapassign.*(looked in $tmp/races-stripped" "$MW" -- "$tmp/races-stripped" iterwrite 1
err_case "no such command" 1 "mapwatch: cannot run /nonexistent/x: No such file or directory" "$MW" -- /nonexistent/x
err_case "nothing to trace" 2 "nothing to trace" "$MW" --plain
err_case "bad pid" 2 "^mapwatch: invalid pid 'abc': not a number$" "$MW" -p abc
cp "$MW" "$tmp/mw" && chmod 755 "$tmp" "$tmp/mw"
err_case "not root" 1 "^mapwatch: permission denied: .*needs root (or CAP_BPF and CAP_PERFMON); run it with sudo$" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$tmp/mw" -p 1
err_case "--help shows usage and examples" 0 "EXAMPLES:" "$MW" --help
err_case "--version" 0 "^mapwatch [0-9]" "$MW" --version
err_case "-v says where each probe landed" 0 "probe mapassign .*push %rbp — emulated: push %rbp, after the 5-byte nop" "$MW" -v --plain -- build/progs/races iterwrite 1
err_case "shared library attach: -v names libgomap.so" 0 "probes on .*libgomap.so (shared library)" \
	env GOMAP_ONRACE=count "$MW" -v --plain -- build/mapsvc-dyn --mode mutex --duration 1

echo "RESULT $pass $fail"
[ "$fail" = 0 ]
