#!/usr/bin/env bash
# e2e_agent.sh — the host-wide mode, `mapwatch --all`, as root.
#
# Other suites may run processes on this machine at the same time, so every
# run but one filters with --include on this suite's own copies of the test
# programs (under its temporary directory); the unfiltered run only checks
# that it starts, finds a process of ours and ends clean.
#   - usage and capabilities: --include without --all; a capability dropped
#     (setpriv) is named in one line, exit 1
#   - found at start, found at exec, dropped at exit; two processes of one
#     binary share one attachment; their findings are one finding with counts
#     per process (JSON and plain); exit statuses untouched
#   - a container without an engine: unshare --mount --pid --fork, the binary
#     on a tmpfs only that mount namespace has, in a cgroup of its own: found,
#     its races named with host pid, ns pid 1 and the cgroup
#   - filters: --exclude, --cgroup, the user.mapwatch.ignore xattr
#   - Prometheus scraping an --all run: races by binary match the summary
#   - the sampled mode is --all's default (the summary's "mode"), and a race
#     is flagged in it; the checks that count races exactly run --exact
#   - soak: waitrace and gosvc started and stopped in a loop (SOAK_SEC, 40 s
#     by default), in the default (sampled) mode: every one picked up, every
#     one exits normally, mapwatch's RSS and open files flat
#     (SOAK_SEC=3600 for a longer one)
# Ends with `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
bg=()
cg=""
cleanup() {
	for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	kill_tree $$
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

need_root e2e_agent
GOSVC=build/go/1.23/gosvc
need_built build/progs/waitrace "$GOSVC" "$MW" 
cp build/progs/waitrace "$tmp/waitrace"
cp build/progs/waitrace "$tmp/svc2"
cp "$GOSVC" "$tmp/gosvc"
INC="$tmp/*"
nlines() { local n; n=$(grep -c "$2" "$1" 2>/dev/null); echo "${n:-0}"; }
watching() { [ "$(nlines "$1" '"event":"watch"')" -ge "$2" ]; }
has_summary() { grep -qs '^{"type":"summary"' "$1"; }
# (jq -e is not used: jq 1.6 exits 4 when the last input selects nothing)
# stop_mw PID: SIGTERM, then its exit status
stop_mw() { kill -TERM "$1" 2>/dev/null; wait "$1"; }

# ---- usage, capabilities -----------------------------------------------------------
"$MW" --include 'x*' -d 1 >"$tmp/u.out" 2>&1
rc=$?
check "--include without --all: usage error, exit 2 ($rc)" [ "$rc" = 2 ]
check "--help names --all, --include, --exclude, --cgroup" \
	bash -c "'$MW' --help | grep -q -- '--all ' && '$MW' --help | grep -q -- '--include GLOB' &&
		 '$MW' --help | grep -q -- '--exclude GLOB' && '$MW' --help | grep -q -- '--cgroup PREFIX'"
for c in sys_ptrace sys_admin dac_read_search; do
	C=$(echo "$c" | tr a-z A-Z)
	setpriv --inh-caps=-all --bounding-set=-"$c" -- "$MW" --all -d 1 >"$tmp/c.out" 2>"$tmp/c.err"
	rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/c.err")" = 1 ] && grep -q "^mapwatch: --all needs CAP_$C " "$tmp/c.err"; then
		ok "without CAP_$C: one line naming it, exit 1"
	else
		bad "without CAP_$C: want one line naming it and exit 1 (exit $rc)" "$tmp/c.err"
	fi
done

# The unit's capability set (dist/mapwatch.service), and nothing else, suffices.
set_=$(sed -n 's/^CapabilityBoundingSet=//p' dist/mapwatch.service | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd, -)
"$tmp/waitrace" - 0 20000 0 >/dev/null & c1=$!; bg+=("$c1")
wait_until 10 bash -c "grep -q waitrace /proc/$c1/comm"
setpriv --inh-caps=-all --bounding-set=-all,"$set_" -- "$MW" --all --include "$INC" --json -d 2 >"$tmp/c.out" 2>"$tmp/c.err"
rc=$?
if [ "$rc" = 0 ] && grep '"event":"watch"' "$tmp/c.out" | jq -r .pid | grep -qx "$c1"; then
	ok "with only the unit's capabilities ($set_): pid $c1 watched"
else
	bad "with only the unit's capabilities ($set_): want pid $c1 watched (exit $rc)" "$tmp/c.err" "$tmp/c.out"
fi
kill "$c1"; wait "$c1" 2>/dev/null

# ---- found at start, at exec, dropped at exit; one attachment; per-process counts -----
rm -f "$tmp/go"
"$tmp/waitrace" "$tmp/go" 5 200 7 >"$tmp/w1.out" & p1=$!; bg+=("$p1")
"$tmp/waitrace" "$tmp/go" 5 200 7 >"$tmp/w2.out" & p2=$!; bg+=("$p2")
wait_until 10 bash -c "grep -q waitrace /proc/$p1/comm && grep -q waitrace /proc/$p2/comm"
"$MW" --all --exact --include "$INC" --json >"$tmp/a.out" 2>"$tmp/a.err" & mw=$!; bg+=("$mw")
wait_until 30 watching "$tmp/a.out" 2
"$tmp/waitrace" "$tmp/go" 3 300 7 >"$tmp/w3.out" & p3=$!; bg+=("$p3")	# waits: go is not there yet
wait_until 30 watching "$tmp/a.out" 3
touch "$tmp/go"
wait "$p1"; r1=$?; wait "$p2"; r2=$?; wait "$p3"; r3=$?
exits() { [ "$(nlines "$tmp/a.out" '"event":"exit"')" -ge 3 ]; }
wait_until 20 exits
stop_mw "$mw"; rc=$?
w=$(grep '"event":"watch"' "$tmp/a.out")
atstart=$(echo "$w" | jq -r "select(.found == \"start\") | .pid" | sort -n | tr '\n' ' ')
atexec=$(echo "$w" | jq -r "select(.found == \"exec\") | .pid")
want="$(printf '%s\n' "$p1" "$p2" | sort -n | tr '\n' ' ')"
check "found at start: pids $want($atstart)" [ "$atstart" = "$want" ]
check "found at exec: pid $p3 (${atexec:-none})" [ "$atexec" = "$p3" ]
natt=$(echo "$w" | jq -r .attachment | sort -u | wc -l)
check "one attachment for 3 processes of one binary: summary attachments $(jqs "$tmp/a.out" .attachments), $natt distinct ids" \
	[ "$(jqs "$tmp/a.out" .attachments)" = 1 -a "$natt" = 1 ]
ex=$(grep '"event":"exit"' "$tmp/a.out" | jq -r '"\(.pid):\(.alerts)"' | sort | tr '\n' ' ')
wantex=$(printf '%s\n' "$p1:5" "$p2:5" "$p3:3" | sort | tr '\n' ' ')
check "dropped at exit, each with its own alerts ($ex)" [ "$ex" = "$wantex" ]
check "watching none at the end ($(jqs "$tmp/a.out" .watching)), 3 watched" \
	[ "$(jqs "$tmp/a.out" .watching)" = 0 -a "$(jqs "$tmp/a.out" .processes)" = 3 ]
check "exit statuses untouched: 7 7 7 ($r1 $r2 $r3), mapwatch $rc" \
	[ "$r1$r2$r3" = 777 -a "$rc" = 0 ]
check "--exact: the summary's mode is exact ($(jqs "$tmp/a.out" .mode))" [ "$(jqs "$tmp/a.out" .mode)" = exact ]
f=$(grep '^{"type":"finding"' "$tmp/a.out")
per=$(echo "$f" | jq -r '.processes[] | "\(.pid):\(.count)"' | sort | tr '\n' ' ')
if [ "$(echo "$f" | wc -l)" = 1 ] && [ "$(echo "$f" | jq -r .count)" = 13 ] && [ "$per" = "$wantex" ] &&
   [ "$(jqs "$tmp/a.out" .alerts)" = 13 ]; then
	ok "one finding for the binary: 13 = 5 + 5 + 3 by process ($per)"
else
	bad "want one finding of 13 with counts per process $wantex (got: $per)" "$tmp/a.out"
fi
alerts_named=$(grep '^{"type":"alert"' "$tmp/a.out" | jq -r '"\(.pid) \(.binary)"' | sort -u | wc -l)
check "every alert names its process and binary ($alerts_named distinct)" [ "$alerts_named" = 3 ]

# The same in plain text: the finding line with its counts per process.
rm -f "$tmp/go"
"$tmp/waitrace" "$tmp/go" 2 300 0 >/dev/null & p1=$!; bg+=("$p1")
"$tmp/waitrace" "$tmp/go" 4 300 0 >/dev/null & p2=$!; bg+=("$p2")
wait_until 10 bash -c "grep -q waitrace /proc/$p1/comm && grep -q waitrace /proc/$p2/comm"
"$MW" --all --exact --include "$INC" --plain >"$tmp/p.out" 2>"$tmp/p.err" & mw=$!; bg+=("$mw")
wait_until 30 bash -c "[ \$(grep -c '^mapwatch: watching pid' '$tmp/p.out') -ge 2 ]"
touch "$tmp/go"; wait "$p1" "$p2"
wait_until 20 bash -c "[ \$(grep -c ') exited$' '$tmp/p.out') -ge 2 ]"
stop_mw "$mw"
line=$(grep -E '^ +6  iter-write  put \(waitrace.c:[0-9]+\) → iterate \(waitrace.c:[0-9]+\)  \[' "$tmp/p.out")
if echo "$line" | grep -q "pid $p1: 2" && echo "$line" | grep -q "pid $p2: 4" &&
   grep -q '^mapwatch: 6 alerts: iter-write 6' "$tmp/p.out" && grep -q "\[pid $p2 waitrace\]$" "$tmp/p.out"; then
	ok "plain: one finding line, 6 = pid $p1: 2 + pid $p2: 4; alert lines name the process"
else
	bad "plain: want one finding line of 6 split 2 + 4" "$tmp/p.out"
fi

# ---- the default mode: sampled, the budget per process -------------------------------
# No --exact, no --budget: the default budget (2% of each process's CPU).
# waitrace idles until go appears, so its probes spend nothing and the
# window the sampler opens at start stays open: its races are flagged.
rm -f "$tmp/go"
"$tmp/waitrace" "$tmp/go" 3 300 0 >/dev/null & d1=$!; bg+=("$d1")
"$tmp/waitrace" "$tmp/go" 2 300 0 >/dev/null & d2=$!; bg+=("$d2")
wait_until 10 bash -c "grep -q waitrace /proc/$d1/comm && grep -q waitrace /proc/$d2/comm"
"$MW" --all --include "$INC" --json >"$tmp/d.out" 2>"$tmp/d.err" & mw=$!; bg+=("$mw")
wait_until 30 watching "$tmp/d.out" 2
touch "$tmp/go"; wait "$d1" "$d2"
wait_until 20 bash -c "[ \$(grep -c '\"event\":\"exit\"' '$tmp/d.out') -ge 2 ]"
stop_mw "$mw"; rc=$?
dmode=$(jqs "$tmp/d.out" .mode) dbud=$(jqs "$tmp/d.out" .budget) dal=$(jqs "$tmp/d.out" .alerts)
dwin=$(jqs "$tmp/d.out" .windows)
check "default mode: sampled, budget $dbud (0.02) per process, $dwin windows (>= 1), mapwatch exit $rc" \
	[ "$dmode" = sampled -a "$dbud" = 0.02 -a "${dwin:-0}" -ge 1 -a "$rc" = 0 ]
if [ "${dal:-0}" -ge 1 ] && grep -q '^{"type":"alert".*"kind":"iter-write"' "$tmp/d.out"; then
	ok "default (sampled) mode: the races are flagged ($dal of 5)"
else
	bad "default (sampled) mode: want the iter-write races flagged (alerts ${dal:-none})" "$tmp/d.out" "$tmp/d.err"
fi

# ---- a container without an engine ---------------------------------------------------
rm -f "$tmp/go"
mkdir "$tmp/ctr"
cg=/sys/fs/cgroup/unified/mapwatch-e2e-$$
[ -d /sys/fs/cgroup/unified ] || cg=/sys/fs/cgroup/mapwatch-e2e-$$
mkdir "$cg" 2>/dev/null || cg=""
(
	[ -n "$cg" ] && echo 0 >"$cg/cgroup.procs"
	exec unshare --mount --pid --fork sh -c \
		"mount -t tmpfs none '$tmp/ctr' && cp '$tmp/svc2' '$tmp/ctr/ctrsvc' && exec '$tmp/ctr/ctrsvc' '$tmp/go' 4 0 0"
) >"$tmp/ctr.out" 2>&1 & cp1=$!; bg+=("$cp1")
"$MW" --all --exact --include "$INC" --json >"$tmp/k.out" 2>"$tmp/k.err" & mw=$!; bg+=("$mw")
wait_until 30 watching "$tmp/k.out" 1
touch "$tmp/go"
wait "$cp1"; crc=$?
wait_until 20 bash -c "grep -q '\"event\":\"exit\"' '$tmp/k.out'"
stop_mw "$mw"
cw=$(grep '"event":"watch"' "$tmp/k.out" | head -1)
hpid=$(echo "$cw" | jq -r .pid) nspid=$(echo "$cw" | jq -r .nspid) cpath=$(echo "$cw" | jq -r .path)
ccg=$(echo "$cw" | jq -r .cgroup)
acg=$(grep '^{"type":"alert"' "$tmp/k.out" | jq -r '"\(.pid)/\(.nspid)/\(.cgroup)"' | sort -u)
wantcg=${cg:+/${cg##*/}}
if [ "$nspid" = 1 ] && [ "$hpid" != 1 ] && [ "$cpath" = "$tmp/ctr/ctrsvc" ] && [ ! -e "$cpath" ] &&
   [ "$(jqs "$tmp/k.out" .alerts)" = 4 -a "$acg" = "$hpid/1/${wantcg:-$ccg}" -a "$crc" = 0 ]; then
	ok "container: $cpath (not on the host) found, host pid $hpid ns pid 1 cgroup ${wantcg:-$ccg}, its 4 races named so"
else
	bad "container: want ns pid 1, a path only the namespace has, 4 alerts named pid/nspid/cgroup (got $hpid/$nspid $cpath, alerts as $acg, exit $crc)" \
		"$tmp/k.out" "$tmp/k.err" "$tmp/ctr.out"
fi

# ---- filters ----------------------------------------------------------------------------
rm -f "$tmp/go"
cp build/progs/waitrace "$tmp/optout"
optout=0
if python3 -c "import os,sys; os.setxattr(sys.argv[1], 'user.mapwatch.ignore', b'1')" "$tmp/optout" 2>/dev/null; then
	optout=1
fi
"$tmp/waitrace" "$tmp/go" 1 0 0 >/dev/null & f1=$!; bg+=("$f1")
"$tmp/svc2" "$tmp/go" 1 0 0 >/dev/null & f2=$!; bg+=("$f2")
"$tmp/optout" "$tmp/go" 1 0 0 >/dev/null & f3=$!; bg+=("$f3")
wait_until 10 bash -c "grep -q optout /proc/$f3/comm"
"$MW" --all --include "$INC" --exclude '*/svc2' --json -d 4 >"$tmp/f.out" 2>"$tmp/f.err"
fw=$(grep '"event":"watch"' "$tmp/f.out" | jq -r .binary | sort | tr '\n' ' ')
if [ "$optout" = 1 ]; then
	check "--exclude '*/svc2' and the opt-out xattr: only waitrace watched ($fw), 1 opted out" \
		[ "$fw" = "waitrace " -a "$(jqs "$tmp/f.out" .opted_out)" = 1 ]
else
	check "--exclude '*/svc2': waitrace and optout watched ($fw) (no user xattrs on this file system)" \
		[ "$fw" = "optout waitrace " ]
fi
if [ -n "$cg" ]; then
	(echo 0 >"$cg/cgroup.procs"; exec "$tmp/svc2" "$tmp/go" 1 0 0) >/dev/null & f4=$!; bg+=("$f4")
	wait_until 10 bash -c "grep -q svc2 /proc/$f4/comm"
	"$MW" --all --include "$INC" --cgroup "/${cg##*/}" --json -d 3 >"$tmp/g.out" 2>"$tmp/g.err"
	gw=$(grep '"event":"watch"' "$tmp/g.out" | jq -r .pid | tr '\n' ' ')
	check "--cgroup /${cg##*/}: only pid $f4 ($gw)" [ "$gw" = "$f4 " ]
fi
touch "$tmp/go"
wait "$f1" "$f2" "$f3" ${f4:+"$f4"} 2>/dev/null

# ---- unfiltered: it starts, finds ours, ends clean -----------------------------------------
rm -f "$tmp/go"
"$tmp/waitrace" "$tmp/go" 1 0 0 >/dev/null & u1=$!; bg+=("$u1")
wait_until 10 bash -c "grep -q waitrace /proc/$u1/comm"
"$MW" --all --json -d 3 >"$tmp/all.out" 2>"$tmp/all.err"
rc=$?
if [ "$rc" = 0 ] && grep '"event":"watch"' "$tmp/all.out" | jq -r .pid | grep -qx "$u1" &&
   has_summary "$tmp/all.out" && [ ! -s "$tmp/all.err" ]; then
	ok "unfiltered --all: exit 0, found our pid $u1 among $(jqs "$tmp/all.out" .processes) watched, nothing on stderr"
else
	grep "\"pid\":$u1," "$tmp/all.out" | grep -v '"type":"alert"' >"$tmp/all.ours"
	bad "unfiltered --all: want exit 0 and pid $u1 found (exit $rc)" "$tmp/all.err" "$tmp/all.ours"
fi
touch "$tmp/go"; wait "$u1"

# ---- Prometheus scraping an --all run ------------------------------------------------------
if command -v prometheus >/dev/null && command -v curl >/dev/null; then
	rm -f "$tmp/go"
	mport=$(pick_port) pport=$(pick_port)
	while [ "$pport" = "$mport" ]; do pport=$(pick_port); done
	mkdir -p "$tmp/prom"
	printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: mapwatch\n    static_configs:\n      - targets: [%s]\n' \
		"'127.0.0.1:$mport'" >"$tmp/prom.yml"
	prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/prom" \
		--web.listen-address="127.0.0.1:$pport" --log.level=warn >"$tmp/prom.log" 2>&1 & prom=$!; bg+=("$prom")
	prom_q() { curl -s --max-time 2 -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
		   jq -r '.data.result[0].value[1] // empty' 2>/dev/null; }
	"$tmp/waitrace" "$tmp/go" 3 0 0 >/dev/null & m1=$!; bg+=("$m1")
	"$tmp/waitrace" "$tmp/go" 2 0 0 >/dev/null & m2=$!; bg+=("$m2")
	"$tmp/svc2" "$tmp/go" 4 0 0 >/dev/null & m3=$!; bg+=("$m3")
	wait_until 10 bash -c "grep -q svc2 /proc/$m3/comm"
	"$MW" --all --exact --include "$INC" --metrics "127.0.0.1:$mport" --metrics-linger 30 --json \
		>"$tmp/m.out" 2>"$tmp/m.err" & mw=$!; bg+=("$mw")
	wait_until 30 watching "$tmp/m.out" 3
	touch "$tmp/go"; wait "$m1" "$m2" "$m3"
	wait_until 20 bash -c "[ \$(grep -c '\"event\":\"exit\"' '$tmp/m.out') -ge 3 ]"
	kill -TERM "$mw"
	wait_until 20 has_summary "$tmp/m.out"
	sa=$(jqs "$tmp/m.out" .alerts)
	prom_done() { [ "$(prom_q 'sum(mapwatch_races_total)')" = "$sa" ] &&
		      [ "$(prom_q 'sum(mapwatch_races_total{binary="svc2"})')" = 4 ]; }
	if [ "$sa" = 9 ] && wait_until 25 prom_done; then
		ok "prometheus: sum(mapwatch_races_total) = $sa = summary; binary=\"waitrace\" $(prom_q 'sum(mapwatch_races_total{binary="waitrace"})'), binary=\"svc2\" 4"
	else
		bad "prometheus: want races $sa (9) in all, 4 for svc2 (got $(prom_q 'sum(mapwatch_races_total)'), $(prom_q 'sum(mapwatch_races_total{binary="svc2"})'))" \
			"$tmp/m.out" "$tmp/prom.log"
	fi
	curl -s --max-time 2 "http://127.0.0.1:$mport/metrics" >"$tmp/m.prom"
	if grep -q '^mapwatch_races_total{kind="iter-write",binary="waitrace",site="waitrace.c:[0-9]*"} 5$' "$tmp/m.prom" &&
	   grep -q '^mapwatch_attachments_total 2$' "$tmp/m.prom" &&
	   grep -q '^process_resident_memory_bytes [1-9]' "$tmp/m.prom" &&
	   grep -q '^# HELP process_cpu_seconds_total ' "$tmp/m.prom" &&
	   grep -q '^mapwatch_attach_failures_total{reason="unsupported"} 0$' "$tmp/m.prom"; then
		ok "the exposition: races by kind, binary and site, attachments_total 2, own CPU and RSS"
	else
		bad "the exposition: want site=\"waitrace.c:N\" 5, attachments_total 2, process_* series" "$tmp/m.prom"
	fi
	kill -TERM "$mw"; wait "$mw"
else
	bad "prometheus or curl is not installed (make deps)"
fi

# ---- soak -------------------------------------------------------------------------------------
SOAK_SEC=${SOAK_SEC:-40}
# The release build: its RSS is the service's (ASan's allocator and
# quarantine swing it by 10 MiB and more).
SMW=${SOAK_MW:-build/mapwatch}
[ -x "$SMW" ] || SMW=$MW
sport=$(pick_port)
"$SMW" --all --include "$INC" --json --metrics "127.0.0.1:$sport" >"$tmp/s.out" 2>"$tmp/s.err" &
mw=$!; bg+=("$mw")
wait_until 20 bash -c "grep -q . /proc/$mw/status"
# A warm-up round, not counted: the first process of each binary waits for
# its probes to be loaded (seconds), longer than these processes live.
warmup=()
for b in waitrace svc2; do "$tmp/$b" - 1 3000 0 >/dev/null & warmup+=($!); done
"$tmp/gosvc" -m rwlock -R 200 -d 3 >/dev/null & warmup+=($!)
wait "${warmup[@]}"
wait_until 20 bash -c "[ \$(grep -c '\"event\":\"exit\"' '$tmp/s.out') -ge 3 ]"
warm=$(nlines "$tmp/s.out" '"event":"watch"')
# heap in use (mallinfo2: exactly what a leak grows) : RssAnon : VmRSS :
# open files. VmRSS also counts the BPF ring buffers' mapped pages, which
# fill once (4 MiB a binary) and then stay.
heap_kib() { curl -s --max-time 2 "http://127.0.0.1:$sport/metrics" | awk '/^mapwatch_heap_inuse_bytes / { print int($2 / 1024) }'; }
mem_fds() {
	printf '%s:' "$(heap_kib)"
	awk '/^RssAnon/ { a = $2 } /^VmRSS/ { r = $2 } END { printf "%s:%s:", a, r }' "/proc/$1/status"
	ls "/proc/$1/fd" | wc -l
}
field() { echo "$1" | cut -d: -f"$2"; }
soak_round() {	# four processes, each about a second: two racy, one of a second binary, one Go
	pids=()
	for _ in 1 2; do "$tmp/waitrace" - 3 1000 5 >/dev/null & pids+=($!); done
	"$tmp/svc2" - 1 1000 6 >/dev/null & pids+=($!)
	"$tmp/gosvc" -m rwlock -R 200 -d 1 >/dev/null & pids+=($!)
	want=(5 5 6 0)
	printf '%s\n' "${pids[@]}" >>"$tmp/s.pids"
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}"; r=$?
		[ "$r" = "${want[$i]}" ] || badexit=$((badexit + 1))
		started=$((started + 1))
	done
}
all_gone() { [ "$(nlines "$tmp/s.out" '"event":"exit"')" -ge $((started + warm)) ]; }
started=0 badexit=0 samples=()
# The reference: once each racy binary has had a race reported (what the
# first race of a binary keeps: its symbols, read once and cached for the
# next process of that file, and its finding) and all those processes are
# gone. A race can be missed (it happens at once, maybe before the process
# is watched), so up to ten rounds.
raced() { grep -q "\"type\":\"alert\".*\"binary\":\"$1\"" "$tmp/s.out"; }
for _ in $(seq 10); do
	soak_round
	raced waitrace && raced svc2 && break
done
wait_until 20 all_gone
ref=$(mem_fds "$mw")
end=$((SECONDS + SOAK_SEC)) next_sample=$((SECONDS + 10))
while [ "$SECONDS" -lt "$end" ]; do
	soak_round
	if [ "$SECONDS" -ge "$next_sample" ]; then
		samples+=("$SECONDS:$(mem_fds "$mw")")
		next_sample=$((SECONDS + 10))
	fi
done
wait_until 20 all_gone
h0=$(field "$ref" 1) r0=$(field "$ref" 2) v0=$(field "$ref" 3) f0=$(field "$ref" 4)
# Once the churn stops, memory comes back to the reference: heap in use
# within 256 KiB (a leak of a few hundred bytes a process shows), RSS within
# 4 MiB (freed pages are given back within a second).
back() {
	last=$(mem_fds "$mw")
	h1=$(field "$last" 1) r1=$(field "$last" 2) v1=$(field "$last" 3) f1=$(field "$last" 4)
	[ "${h1:-999999999}" -le $((${h0:-0} + 256)) -a "$r1" -le $((r0 + 4096)) -a "$f1" -le "$f0" ]
}
wait_until 5 back
stop_mw "$mw"; rc=$?
picked=$(($(nlines "$tmp/s.out" '"event":"watch"') - warm))
echo "soak ($SMW): $started processes in ${SOAK_SEC}s after a warm-up of $warm; reference heap:RssAnon:VmRSS:fds (KiB) $ref; during (s:heap:RssAnon:VmRSS:fds) ${samples[*]}; after $last"
if [ "$picked" = "$started" -a "$badexit" = 0 -a "$rc" = 0 -a "$started" -gt 4 ]; then
	ok "soak: all $started started processes picked up ($picked), all exited normally, mapwatch exit $rc"
else
	# which: the soak's processes not watched, and what was watched besides them and the warm-up
	grep '"event":"watch"' "$tmp/s.out" | jq -r .pid | sort >"$tmp/s.watched"
	sort "$tmp/s.pids" >"$tmp/s.started"
	{ echo "not watched: $(comm -23 "$tmp/s.started" "$tmp/s.watched" | head -20 | tr '\n' ' ')"
	  comm -13 "$tmp/s.started" "$tmp/s.watched" | while read -r x; do grep "\"event\":\"watch\",\"pid\":$x," "$tmp/s.out"; done
	} >"$tmp/s.diff"
	bad "soak: all $started started processes picked up ($picked), all exited normally ($badexit not), mapwatch exit $rc" \
		"$tmp/s.diff" "$tmp/s.err"
fi
check "soak: heap in use back to the reference: $h1 KiB <= $h0 KiB + 256 KiB" [ "${h1:-999999999}" -le $((${h0:-0} + 256)) ]
check "soak: RSS back to the reference: RssAnon $r1 KiB <= $r0 KiB + 4 MiB; VmRSS $v1 <= $v0 KiB + 4 MiB + the 3 rings" \
	[ "$r1" -le $((r0 + 4096)) -a "$v1" -le $((v0 + 4096 + 3 * 4096)) ]
check "soak: open files flat: last $f1 <= reference $f0" [ "$f1" -le "$f0" ]
check "soak: the summary counts them: processes $(jqs "$tmp/s.out" .processes), watching $(jqs "$tmp/s.out" .watching)" \
	[ "$(jqs "$tmp/s.out" .processes)" = $((started + warm)) -a "$(jqs "$tmp/s.out" .watching)" = 0 ]

finish
