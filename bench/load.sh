#!/usr/bin/env bash
# bench/load.sh — what mapwatch costs a service at a fixed load, and how soon
# it flags a race of a known rate.
#
#   1. Cost at a fixed load. mapsvc (libgomap, C) and gosvc (Go 1.23) in rwlock
#      mode, 2 writers, 2 iterators, 4 readers on a 1000-key map, 20 µs of CPU
#      work per operation, 250 operations/s per thread (2000/s in all, a few
#      percent of what they make flat out): unprobed; empty uprobes on the
#      sites mapwatch probes; mapwatch (exact); mapwatch --sampled at its
#      default budget (when this build has it); bpftrace (bench/track.bt, and
#      bench/track-go.bt for Go); a -fsanitize=thread build of mapsvc and a
#      -race build of gosvc. Each run starts stopped at its exec
#      (runstat -S), the tool attaches, then SIGCONT: the whole run is under
#      the tool. Reported: the target's own CPU time (wait4 of the target)
#      per million operations, as a ratio to the unprobed run of the same
#      round, and p50/p99 operation latency (the service's --latency
#      histogram). ROUNDS rounds, every configuration once per round, the
#      order rotating from round to round; medians and ranges.
#   2. Detection at a known race rate. mapsvc --race-rate R (an
#      iteration-write race R times a second, on schedule, in an otherwise
#      locked service) under mapwatch exact and sampled, R = 1, 10, 1000:
#      runs flagged within 60 s, time from the target's start (probes already
#      attached) to the first alert. False alerts: locked modes (mutex,
#      rwlock, cow) flat out. Attach: `mapwatch -p` on a service that races
#      1000 times a second: time from mapwatch's start to "watching" (probes
#      attached), to the "probes armed" line of -v when it prints one, and to
#      its first alert.
#
# Raw results go to bench/results/load/; the tables go to stdout and into
# README.md between <!-- bench-load:start --> and <!-- bench-load:end -->.
#
#   bench/load.sh                  full run (5 rounds of 10 s, 20 detection runs per row; ~25 min)
#   BENCH_ROUNDS=2 bench/load.sh   quick: 2 rounds of 5 s, 5 detection runs per row (~6 min)
#                                  (BENCH_QUICK=1 is the same)
#   BENCH_DET_RUNS=N               detection runs per row
#   BENCH_DET_SLOW_RUNS=N          runs for the 1 race/s rows (default: as the others)
#   BENCH_NO_README=1              print the tables, leave README.md alone
#   BENCH_REPORT_ONLY=1            the tables again from the last run's raw results
#   BENCH_RESULTS=DIR              raw results under DIR/load instead of bench/results/load
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# One compound command: bash reads all of it before running any, so editing
# this file during a run cannot derail the run.
{

B=build/bench
RES=${BENCH_RESULTS:-bench/results}/load
# shellcheck disable=SC2034 # used by bench/lib.sh
LOG_TAG=bench-load
# shellcheck source=bench/lib.sh
. bench/lib.sh
mkdir -p "$B" "$RES"
REPORT_ONLY=${BENCH_REPORT_ONLY:-0}
ROUNDS=${BENCH_ROUNDS:-5}
[ "${BENCH_QUICK:-0}" = 1 ] && ROUNDS=2
if [ "$ROUNDS" -le 2 ]; then
	DUR=5 DET_RUNS=5 LOCK_RUNS=1 LOCK_DUR=4 ATTACH_RUNS=3
else
	DUR=10 DET_RUNS=20 LOCK_RUNS=2 LOCK_DUR=8 ATTACH_RUNS=10
fi
DET_RUNS=${BENCH_DET_RUNS:-$DET_RUNS}
DET_SLOW_RUNS=${BENCH_DET_SLOW_RUNS:-$DET_RUNS}
DET_MAX=60
RATE=250
LOAD_ARGS=(--mode rwlock --writers 2 --iterators 2 --readers 4 --keys 1000 --work 20)
FIX_ARGS=("${LOAD_ARGS[@]}" --rate "$RATE" --latency)
NTHREADS=8
RACE_RATES=(1 10 1000)
GO_VER=1.23
export GOMAP_ONRACE=count
T_START=$(date +%s)

if [ "$REPORT_ONLY" != 1 ]; then
rm -f "$RES"/*.txt "$RES"/*.out 2>/dev/null
if [ "$(id -u)" != 0 ]; then log "needs root"; exit 1; fi

# ---- build -------------------------------------------------------------------
log "building into $B/"
build_runstat || { log "runstat did not build"; exit 1; }
EMPTY_OK=0
build_empty_uprobe && EMPTY_OK=1
CFL=(-O2 -g -fno-omit-frame-pointer -fcf-protection=none -D_GNU_SOURCE -Wall -Wextra
     -Wno-unused-parameter -Wno-unused-function -Itarget)
LIBS=(-lxxhash -lpthread -lm)
C_OK=0 TSAN_OK=0
if mapsvc_fw_src "$B/mapsvc-fw.c" &&
   clang "${CFL[@]}" "$B/mapsvc-fw.c" target/gomap.c -o "$B/mapsvc-load" "${LIBS[@]}"; then
	C_OK=1
	clang "${CFL[@]}" -fsanitize=thread "$B/mapsvc-fw.c" target/gomap.c -o "$B/mapsvc-load-tsan" "${LIBS[@]}" && TSAN_OK=1
else
	log "mapsvc did not build (or its work-rate patch did not apply)"
fi
GO_ENV=(env -u GOROOT -u GOOS -u GOARCH -u GOAMD64 GO111MODULE=off GOFLAGS=-buildvcs=false
	GOTOOLCHAIN=local GOENV=off GOPATH="$PWD/build/gopath" GOCACHE="$PWD/build/gocache")
GO_TOOL=/usr/lib/go-$GO_VER/bin/go
GO_OK=0 RACE_OK=0
if [ -x "$GO_TOOL" ] && gosvc_fw_src "$B/gosvc-load-src"; then
	(cd "$B/gosvc-load-src" && "${GO_ENV[@]}" CGO_ENABLED=0 "$GO_TOOL" build -o ../gosvc-load ./gosvc) && GO_OK=1
	(cd "$B/gosvc-load-src" && "${GO_ENV[@]}" CGO_ENABLED=1 "$GO_TOOL" build -race -o ../gosvc-load-race ./gosvc) \
		>"$RES/race-build.out" 2>&1 && RACE_OK=1
else
	log "gosvc did not build (no Go $GO_VER at $GO_TOOL, or its work-rate patch did not apply)"
fi
MW="$PWD/build/mapwatch"
[ -x "$MW" ] || { log "build/mapwatch is not built (run make)"; exit 1; }
HAVE_SAMPLED=0
# The help read whole first: `--help | grep -q` under pipefail fails when grep
# quits at its match and mapwatch's next write meets the closed pipe (SIGPIPE).
MW_HELP=$("$MW" --help 2>&1)
grep -q -- '--sampled' <<<"$MW_HELP" && HAVE_SAMPLED=1
# the exact mode by name where the build has a name for it (it is the default)
EXACT_OPT=""
grep -q -- '--exact' <<<"$MW_HELP" && EXACT_OPT=--exact
HAVE_BT=0
command -v bpftrace >/dev/null && HAVE_BT=1
CSVC="$PWD/$B/mapsvc-load"
GSVC="$PWD/$B/gosvc-load"
declare -A BIN=([c]="$CSVC" [go]="$GSVC")

# the native work rates, and how far below saturation the fixed rate is
RPU_C="" RPU_GO="" FLAT_C="" FLAT_GO=""
flat() { # CMD... — ops/s flat out, the best of two
	for _ in 1 2; do "$@" "${LOAD_ARGS[@]}" --duration 3 2>&1 |
		awk '/: done in/ { for (i = 1; i <= NF; i++) if ($i == "ops/s,") print $(i - 1) }'; done | sort -g | tail -1
}
if [ "$C_OK" = 1 ]; then
	RPU_C=$(native_rpu 3 "$CSVC" --work 10 --writers 1 --iterators 0 --readers 0 --duration 0.1)
	FLAT_C=$(BENCH_WORK_RPU=$RPU_C flat "$CSVC")
fi
if [ "$GO_OK" = 1 ]; then
	RPU_GO=$(native_rpu 3 "$GSVC" --mode mutex --work 10 --writers 1 --iterators 0 --readers 0 --duration 0.1)
	FLAT_GO=$(BENCH_WORK_RPU=$RPU_GO flat "$GSVC")
fi
declare -A RPU=([c]="$RPU_C" [go]="$RPU_GO")
# the sites mapwatch probes, for the empty-uprobe rows
SITES_C="" SITES_GO=""
if [ "$EMPTY_OK" = 1 ]; then
	[ "$C_OK" = 1 ] && SITES_C=$(BENCH_WORK_RPU=$RPU_C probe_sites "$MW" "$CSVC" "${FIX_ARGS[@]}" --duration 0.3)
	[ "$GO_OK" = 1 ] && SITES_GO=$(BENCH_WORK_RPU=$RPU_GO probe_sites "$MW" "$GSVC" "${FIX_ARGS[@]}" --duration 0.3)
fi
declare -A SITES=([c]="$SITES_C" [go]="$SITES_GO")
NSITES_C=$(tr ',' '\n' <<<"$SITES_C" | grep -c .)
NSITES_GO=$(tr ',' '\n' <<<"$SITES_GO" | grep -c .)
log "available: mapsvc=$C_OK tsan=$TSAN_OK gosvc=$GO_OK race=$RACE_OK empty-uprobe=$EMPTY_OK bpftrace=$HAVE_BT sampled=$HAVE_SAMPLED;" \
	"work rate C ${RPU_C:-?} Go ${RPU_GO:-?} rounds/µs; flat out C ${FLAT_C:-?} Go ${FLAT_GO:-?} ops/s"
{
	for v in ROUNDS DUR DET_RUNS DET_SLOW_RUNS LOCK_RUNS LOCK_DUR ATTACH_RUNS C_OK TSAN_OK GO_OK RACE_OK EMPTY_OK \
		HAVE_BT HAVE_SAMPLED EXACT_OPT RPU_C RPU_GO FLAT_C FLAT_GO NSITES_C NSITES_GO; do
		printf '%s=%q\n' "$v" "${!v}"
	done
	echo "LOAD_START=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
	echo "MW_VERSION=\"$(git log -1 --format='%h %cd' --date=format:'%Y-%m-%d %H:%M' 2>/dev/null)\""
} >"$RES/meta.env"

# ---- 1. cost at a fixed load ------------------------------------------------------
# cfgs_of SITES SANITIZER_OK — the configurations of a target
cfgs_of() {
	local c=(base)
	[ -n "$1" ] && c+=(empty)
	c+=(exact)
	[ "$HAVE_SAMPLED" = 1 ] && c+=(sampled)
	[ "$HAVE_BT" = 1 ] && c+=(bpftrace)
	[ "$2" = 1 ] && c+=(sanitizer)
	echo "${c[@]}"
}
CFGS_C=() CFGS_GO=()
[ "$C_OK" = 1 ] && read -ra CFGS_C <<<"$(cfgs_of "$SITES_C" "$TSAN_OK")"
[ "$GO_OK" = 1 ] && read -ra CFGS_GO <<<"$(cfgs_of "$SITES_GO" "$RACE_OK")"

# mw_mode MODE — mapwatch's option for the mode (exact or sampled)
mw_mode() { if [ "$1" = sampled ]; then echo --sampled; else echo "$EXACT_OPT"; fi; }

# load_run TARGET(c|go) CFG ROUND — one run; a line of load.txt:
# target cfg round ops cpu_s p50_us p99_us tool_cpu_s alerts armed_fraction probe_hits
load_run() {
	local t=$1 cfg=$2 r=$3 out="$RES/load-$1-$2-$3.out" tool="$RES/load-$1-$2-$3.tool.out"
	local bin=${BIN[$t]} tpid="" jpid p ok=1 ops p50 p99 cpu st tcpu=NA alerts=NA armed="" hits=""
	case $cfg in sanitizer) [ "$t" = c ] && bin="$PWD/$B/mapsvc-load-tsan" || bin="$PWD/$B/gosvc-load-race" ;; esac
	# bpftrace attaches by path before the target starts (it follows new
	# processes of that binary); the others attach to the stopped target
	if [ "$cfg" = bpftrace ]; then
		local script=bench/track.bt
		[ "$t" = go ] && script=bench/track-go.bt
		rs "$tool" -- bpftrace "$script" "$bin"; tpid=$RS
		wait_for "$tool" 'Attaching|^runstat: .* status' 30 || log "$t $cfg round $r: bpftrace not attached after 30 s"
	fi
	BENCH_WORK_RPU=${RPU[$t]} rs "$out" -S -- "$bin" "${FIX_ARGS[@]}" --duration "$DUR"; jpid=$RS
	if ! wait_for "$out" '^runstat: pid [0-9]+ start [0-9.]+ stopped' 10; then
		log "$t $cfg round $r: the service did not start"
		wait_pid "$jpid" 1 KILL
		[ -n "$tpid" ] && wait_pid "$tpid" 0 INT
		return
	fi
	p=$(child_pid "$out")
	case $cfg in
	exact|sampled)
		# shellcheck disable=SC2046 # the mode's option, or none
		rs "$tool" -- "$MW" $(mw_mode "$cfg") --json -p "$p"; tpid=$RS
		# --json prints nothing on attach: wait for the first stats record
		wait_for "$tool" '"type":"stats"|"type":"summary"|^runstat: .* status' 60 || log "$t $cfg round $r: mapwatch not attached after 60 s"
		grep -q '"type":"stats"' "$tool" || { ok=0; log "$t $cfg round $r: mapwatch did not attach: $(grep -v '^runstat' "$tool" | tail -1)"; }
		;;
	empty)
		rs "$tool" -- "$B/empty_uprobe" -c "$bin" "${SITES[$t]}" "$p"; tpid=$RS
		wait_for "$tool" 'empty_uprobe: attached|^runstat: .* status' 30 || log "$t $cfg round $r: empty_uprobe not attached after 30 s"
		grep -q 'empty_uprobe: attached' "$tool" || ok=0
		;;
	esac
	kill -CONT "$p"
	wait_pid "$jpid" $((DUR * 10 + 60))
	if [ -n "$tpid" ]; then
		case $cfg in exact|sampled) wait_pid "$tpid" 10 INT ;; *) wait_pid "$tpid" 0 INT ;; esac
		tcpu=$(rs_cpu "$tool")
	fi
	case $cfg in
	exact|sampled)
		alerts=$(grep -c '"type":"alert"' "$tool")
		# the sampled mode's summary: the fraction of the run its windows were open
		armed=$(grep -o '"armed_fraction":[0-9.e+-]*' "$tool" | tail -1 | cut -d: -f2)
		hits=$(grep '"type":"summary"' "$tool" | grep -o '"probe_hits":[0-9]*' | tail -1 | cut -d: -f2) ;;
	empty) hits=$(awk '/empty_uprobe: hits/ { print $NF }' "$tool" | tail -1) ;;
	bpftrace) alerts=$(awk '/@alerts\[/ { s += $NF } END { print s + 0 }' "$tool") ;;
	esac
	read -r ops p50 p99 < <(awk '/: latency ops / { for (i = 1; i < NF; i++) { if ($i == "ops") o = $(i + 1); if ($i == "p50_us") a = $(i + 1); if ($i == "p99_us") b = $(i + 1) } }
		END { print (o == "" ? "NA" : o), (a == "" ? "NA" : a), (b == "" ? "NA" : b) }' "$out")
	cpu=$(rs_cpu "$out") st=$(rs_field "$out" status)
	[ "$st" = 0 ] || { log "$t $cfg round $r: the service exited with status $st"; ok=0; }
	[ "$ok" = 1 ] || ops=NA
	echo "$t $cfg $r $ops ${cpu:-NA} $p50 $p99 ${tcpu:-NA} ${alerts:-NA} ${armed:-NA} ${hits:-NA}" >>"$RES/load.txt"
}
# rotate N WORDS... — WORDS rotated left by N
rotate() { local n=$1; shift; local a=("$@"); local k=$((n % ${#a[@]})); echo "${a[@]:k}" "${a[@]:0:k}"; }
log "1/2 fixed load: mapsvc ${CFGS_C[*]}; gosvc ${CFGS_GO[*]}; $ROUNDS rounds of $DUR s"
for r in $(seq 1 "$ROUNDS"); do
	[ "${#CFGS_C[@]}" -gt 0 ] && for cfg in $(rotate "$r" "${CFGS_C[@]}"); do load_run c "$cfg" "$r"; done
	[ "${#CFGS_GO[@]}" -gt 0 ] && for cfg in $(rotate "$r" "${CFGS_GO[@]}"); do load_run go "$cfg" "$r"; done
done

# ---- 2. detection --------------------------------------------------------------------
MODES=(exact)
[ "$HAVE_SAMPLED" = 1 ] && MODES+=(sampled)

# det_run MODE RATE RUN — mapsvc racing RATE times a second, started stopped,
# mapwatch attached, continued; stopped at the first alert or after DET_MAX s.
# A line of detect.txt: mode rate run t_first|NA races_made
det_run() {
	local m=$1 rate=$2 r=$3 out="$RES/det-$1-$2-$3.out" tool="$RES/det-$1-$2-$3.tool.out" jpid tpid p t0 tf made
	BENCH_WORK_RPU=$RPU_C rs "$out" -S -- "$CSVC" "${FIX_ARGS[@]}" --race-rate "$rate" --duration $((DET_MAX + 5)); jpid=$RS
	wait_for "$out" '^runstat: pid [0-9]+ start [0-9.]+ stopped' 10 || { wait_pid "$jpid" 1 KILL; return; }
	p=$(child_pid "$out")
	# shellcheck disable=SC2046 # the mode's option, or none
	rs "$tool" -- "$MW" $(mw_mode "$m") --json -p "$p"; tpid=$RS
	wait_for "$tool" '"type":"stats"|^runstat: .* status' 60
	kill -CONT "$p"
	wait_for "$tool" '"type":"alert"|^runstat: .* status' "$DET_MAX"
	kill -TERM "$jpid" 2>/dev/null
	wait_pid "$jpid" 10
	wait_pid "$tpid" 10 INT
	# from the service's first line, printed once it runs (runstat's stamps)
	t0=$(awk '$2 == "mapsvc:" && $3 == "pid" { print $1; exit }' "$out")
	tf=$(awk -v t0="$t0" '/"type":"alert"/ { printf "%.3f\n", $1 - t0; exit }' "$tool")
	[ -n "$t0" ] || tf=""
	[ -n "$tf" ] && awk -v t="$tf" -v m="$DET_MAX" 'BEGIN { exit !(t > m) }' && tf=""
	made=$(awk '/races made on purpose/ { print $(NF - 2) }' "$out")
	echo "$m $rate $r ${tf:-NA} ${made:-NA}" >>"$RES/detect.txt"
}
# lock_run MODE LOCKMODE RUN — a locked service flat out under mapwatch: every alert is false.
lock_run() {
	local m=$1 lm=$2 r=$3 out="$RES/lock-$1-$2-$3.out" tool="$RES/lock-$1-$2-$3.tool.out" jpid tpid p
	rs "$out" -S -- "$CSVC" --mode "$lm" --writers 2 --iterators 2 --readers 2 --keys 1000 --duration "$LOCK_DUR"; jpid=$RS
	wait_for "$out" '^runstat: pid [0-9]+ start [0-9.]+ stopped' 10 || { wait_pid "$jpid" 1 KILL; return; }
	p=$(child_pid "$out")
	# shellcheck disable=SC2046
	rs "$tool" -- "$MW" $(mw_mode "$m") --json -p "$p"; tpid=$RS
	wait_for "$tool" '"type":"stats"|^runstat: .* status' 60
	kill -CONT "$p"
	wait_pid "$jpid" $((LOCK_DUR * 10 + 30))
	wait_pid "$tpid" 10 INT
	echo "$m $lm $r $(grep -c '"type":"alert"' "$tool") $(grep -c '"type":"stats"' "$tool")" >>"$RES/lock.txt"
}
# attach_run MODE RUN — mapwatch -p on a service racing 1000 times a second,
# running for a second already. A line of attach.txt:
# mode run t_watching t_armed t_first_alert (s from mapwatch's start, NA if
# none) armed_ms (the time the "probes armed" line gives, if it gives one)
attach_run() {
	local m=$1 r=$2 out="$RES/attach-$1-$2.out" tool="$RES/attach-$1-$2.tool.out" jpid tpid t0 tw ta tf am
	BENCH_WORK_RPU=$RPU_C rs "$out" -- "$CSVC" "${FIX_ARGS[@]}" --race-rate 1000 --duration 30; jpid=$RS
	wait_for "$out" 'mapsvc: pid' 10 || { wait_pid "$jpid" 1 KILL; return; }
	sleep 1
	# shellcheck disable=SC2046
	rs "$tool" -- "$MW" $(mw_mode "$m") -v --plain -p "$(child_pid "$out")"; tpid=$RS
	wait_for "$tool" '^[0-9.]+ ALERT|^runstat: .* status' 20
	kill -TERM "$jpid" 2>/dev/null
	wait_pid "$jpid" 10
	wait_pid "$tpid" 10 INT
	t0=$(start_time "$tool")
	tw=$(awk -v t0="$t0" '/mapwatch: watching pid/ { printf "%.3f", $1 - t0; exit }' "$tool")
	ta=$(awk -v t0="$t0" '/probes armed/ { printf "%.3f", $1 - t0; exit }' "$tool")
	tf=$(awk -v t0="$t0" '$2 == "ALERT" || /"type":"alert"/ { printf "%.3f", $1 - t0; exit }' "$tool")
	am=$(sed -n 's/.*probes armed[^0-9]*\([0-9][0-9.]*\) *ms.*/\1/p' "$tool" | head -1)
	echo "$m $r ${tw:-NA} ${ta:-NA} ${tf:-NA} ${am:-NA}" >>"$RES/attach.txt"
}
if [ "$C_OK" = 1 ]; then
	log "2/2 detection: ${MODES[*]} at ${RACE_RATES[*]} races/s ($DET_RUNS runs, $DET_SLOW_RUNS at 1/s); locked modes; attach"
	for rate in "${RACE_RATES[@]}"; do
		n=$DET_RUNS
		[ "$rate" = 1 ] && n=$DET_SLOW_RUNS
		for r in $(seq 1 "$n"); do
			for m in $(rotate "$r" "${MODES[@]}"); do det_run "$m" "$rate" "$r"; done
		done
	done
	for r in $(seq 1 "$LOCK_RUNS"); do
		for lm in mutex rwlock cow; do
			for m in "${MODES[@]}"; do lock_run "$m" "$lm" "$r"; done
		done
	done
	for r in $(seq 1 "$ATTACH_RUNS"); do
		for m in $(rotate "$r" "${MODES[@]}"); do attach_run "$m" "$r"; done
	done
fi
meta_end "$RES/meta.env"
fi
[ -f "$RES/meta.env" ] || { log "no results in $RES"; exit 1; }
# shellcheck disable=SC1091
. "$RES/meta.env"

# ---- tables ----------------------------------------------------------------------
ok() { [ "$1" = 1 ] && echo met || echo MISSED; }
# load.txt: target cfg round ops cpu p50 p99 tool_cpu alerts
# col T CFG K — column K of the good runs
col() { awk -v t="$1" -v c="$2" -v k="$3" '$1 == t && $2 == c && $4 != "NA" && $k != "NA" { print $k }' "$RES/load.txt" 2>/dev/null; }
# CPU s per million ops, per run
cpm() { awk -v t="$1" -v c="$2" '$1 == t && $2 == c && $4 != "NA" && $4 > 0 && $5 != "NA" { print $5 / $4 * 1e6 }' "$RES/load.txt" 2>/dev/null; }
# per-round CPU/op of CFG as a ratio to (OP=ratio) or minus (OP=cost) the unprobed run of that round
per_round() {
	awk -v t="$1" -v c="$2" -v op="$3" '$1 == t && $4 != "NA" && $4 > 0 && $5 != "NA" {
		v = $5 / $4 * 1e6
		if ($2 == "base") b[$3] = v; else if ($2 == c) x[$3] = v }
		END { for (r in x) if (r in b && b[r] > 0) print (op == "ratio" ? x[r] / b[r] : x[r] - b[r]) }' "$RES/load.txt" 2>/dev/null
}
medr() { # FMT — "median (lo–hi)" of stdin, or —
	local v
	v=$(cat)
	[ -n "$v" ] || { echo "—"; return; }
	printf "$1 (%s)" "$(median <<<"$v")" "$(range "$1" <<<"$v")"
}
name_of() { # TARGET CFG
	case $2 in
	base) echo "unprobed" ;;
	empty) [ "$1" = c ] && echo "empty uprobes on mapwatch's ${NSITES_C:-?} sites" || echo "empty uprobes on mapwatch's ${NSITES_GO:-?} sites" ;;
	exact) echo "**mapwatch** \`-p PID\` (exact)" ;;
	sampled) echo "**mapwatch** \`--sampled -p PID\` (default budget)" ;;
	bpftrace) [ "$1" = c ] && echo "bpftrace \`bench/track.bt\`" || echo "bpftrace \`bench/track-go.bt\` (at +0)" ;;
	sanitizer) [ "$1" = c ] && echo "\`-fsanitize=thread\` build" || echo "\`go build -race\`" ;;
	esac
}
T1=$({
	echo "| target | configuration | CPU, s per M ops | × unprobed | p50 latency, µs | p99 latency, µs | ops per run | probe hits per op | tool CPU per run, s | target | runs |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
	for t in c go; do
		tname="mapsvc (C)"
		[ "$t" = go ] && tname="gosvc (Go $GO_VER)"
		ecost=$(per_round "$t" empty cost | median)
		for cfg in base empty exact sampled bpftrace sanitizer; do
			n=$(col "$t" "$cfg" 4 | wc -l)
			tgt=""
			if [ "$n" = 0 ]; then
				why="not measured"
				[ "$cfg" = sampled ] && [ "${HAVE_SAMPLED:-0}" != 1 ] && why="not available in this build (\`build/mapwatch --help\` names no \`--sampled\`)"
				[ "$cfg" = sampled ] && tgt="≤ 1.02×: not measured"
				echo "| $tname | $(name_of "$t" "$cfg") | — | — | — | — | — | — | — | $tgt | 0 ($why) |"
				continue
			fi
			x="1.00"
			[ "$cfg" != base ] && x=$(per_round "$t" "$cfg" ratio | medr %.2f)
			if [ "$cfg" = sampled ]; then
				tgt="≤ 1.02×: $(ok "$(per_round "$t" sampled ratio | median | awk '{ print ($1 <= 1.02) ? 1 : 0 }')")"
			elif [ "$cfg" = exact ] && [ -n "$ecost" ]; then
				tgt=$(awk -v c="$(per_round "$t" exact cost | median)" -v e="$ecost" -v x="$(cpm "$t" exact | median)" -v y="$(cpm "$t" empty | median)" 'BEGIN {
					if (e > 0 && c <= 0) printf "≤ 1.15× empty uprobes: met within the noise (its cost, %.1f s per M ops, is below it; theirs %.1f)", c, e
					else if (e > 0) printf "cost %.2f× that of empty uprobes (≤ 1.15×): %s", c / e, (c <= 1.15 * e) ? "met" : "MISSED"
					else printf "≤ 1.15× empty uprobes: undecided (their cost, %.1f s per M ops, is below the noise); CPU per op %.2f× theirs", e, x / y }')
			fi
			tc="—" al=""
			hpo=$(awk -v t="$t" -v c="$cfg" '$1 == t && $2 == c && $4 != "NA" && $4 > 0 && $11 != "" && $11 != "NA" { print $11 / $4 }' "$RES/load.txt" | median)
			[ -n "$hpo" ] && hpo=$(printf '%.2f' "$hpo") || hpo="—"
			[ "$cfg" != base ] && [ "$cfg" != sanitizer ] && tc=$(col "$t" "$cfg" 8 | medr %.2f)
			# the service is locked: every alert is false
			case $cfg in exact|sampled|bpftrace) al=" (false alerts: $(col "$t" "$cfg" 9 | awk '{ s += $1 } END { print s + 0 }')" ;; esac
			[ -n "$(col "$t" "$cfg" 10)" ] && al="$al; windows open $(col "$t" "$cfg" 10 | awk '{ print $1 * 100 }' | medr %.1f)% of the time"
			[ -n "$al" ] && al="$al)"
			echo "| $tname | $(name_of "$t" "$cfg")$al | $(cpm "$t" "$cfg" | medr %.1f) | $x | $(col "$t" "$cfg" 6 | medr %.1f) | $(col "$t" "$cfg" 7 | medr %.1f) | $(col "$t" "$cfg" 4 | median | xargs printf '%.0f') | $hpo | $tc | $tgt | $n |"
		done
	done
})

# detect.txt: mode rate run t_first races_made
T2=$({
	echo "| mode | races per second | runs flagged within ${DET_MAX} s | time to first alert, median (max) | races made per run, median | target |"
	echo "|---|---:|---:|---:|---:|---|"
	for m in exact sampled; do
		for rate in "${RACE_RATES[@]}"; do
			if ! grep -q "^$m $rate " "$RES/detect.txt" 2>/dev/null; then
				why="not measured"
				[ "$m" = sampled ] && [ "${HAVE_SAMPLED:-0}" != 1 ] && why="not available in this build"
				tgt=""
				[ "$m" = sampled ] && [ "$rate" -ge 10 ] && tgt="≥ 19/20: not measured"
				echo "| $m | $rate | — ($why) | — | — | $tgt |"
				continue
			fi
			awk -v m="$m" -v rate="$rate" '$1 == m && $2 == rate {
				n++; if ($5 != "NA") made[n] = $5
				if ($4 != "NA") { f++; tt[f] = $4; if ($4 > mx) mx = $4 } }
				function med(a, k,   i, j, x) {
					for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { x = a[j]; a[j] = a[j-1]; a[j-1] = x }
					return k % 2 ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2 }
				END {
					nm = 0; for (i in made) { nm++; mm[nm] = made[i] }
					tgt = ""
					if (m == "sampled" && rate >= 10) tgt = sprintf("≥ 19/20: %s", (f * 20 >= 19 * n) ? "met" : "MISSED")
					printf "| %s | %s | %d/%d | %s | %s | %s |\n", m, rate, f, n,
						f ? sprintf("%.2f s (%.2f s)", med(tt, f), mx) : "—", nm ? sprintf("%.0f", med(mm, nm)) : "—", tgt
				}' "$RES/detect.txt"
		done
	done
})
# lock.txt: mode lockmode run alerts stats_records
T3=$({
	echo "| mode | runs (mutex, rwlock, cow) | runs with a false alert | false alerts | target |"
	echo "|---|---:|---:|---:|---|"
	for m in exact sampled; do
		if ! grep -q "^$m " "$RES/lock.txt" 2>/dev/null; then
			why="not measured"
			[ "$m" = sampled ] && [ "${HAVE_SAMPLED:-0}" != 1 ] && why="not available in this build"
			echo "| $m | 0 ($why) | — | — | $([ "$m" = sampled ] && echo "0 false alerts: not measured") |"
			continue
		fi
		awk -v m="$m" '$1 == m { n++; a += $4; if ($4 > 0) f++ } END {
			printf "| %s | %d | %d | %d | %s |\n", m, n, f, a, "0 false alerts: " (a == 0 ? "met" : "MISSED") }' "$RES/lock.txt"
	done
})
# attach.txt: mode run t_watching t_armed t_first
acol() { awk -v m="$1" -v k="$2" '$1 == m && $k != "NA" && $k != "" { print (k == 6) ? $k : $k * 1000 }' "$RES/attach.txt" 2>/dev/null; }
T4=$({
	echo "| mode | runs | to \"watching\" (probes attached), ms | to \"probes armed\" (-v), ms | armed, as the line says, ms | to the first alert, ms | target |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	for m in exact sampled; do
		n=$(awk -v m="$m" '$1 == m' "$RES/attach.txt" 2>/dev/null | wc -l)
		if [ "$n" = 0 ]; then
			why="not measured"
			[ "$m" = sampled ] && [ "${HAVE_SAMPLED:-0}" != 1 ] && why="not available in this build"
			echo "| $m | 0 ($why) | — | — | — | — | |"
			continue
		fi
		armed=$(acol "$m" 4 | medr %.0f)
		[ "$armed" = "—" ] && armed="— (no such line in this build)"
		# the target: probes armed (seen from outside), or failing that the
		# first alert, under 300 ms from mapwatch's start
		best=$(acol "$m" 4 | median)
		[ -n "$best" ] || best=$(acol "$m" 5 | median)
		tgt="< 300 ms: $(ok "$(awk -v b="$best" 'BEGIN { print (b != "" && b < 300) ? 1 : 0 }')")"
		echo "| $m | $n | $(acol "$m" 3 | medr %.0f) | $armed | $(acol "$m" 6 | medr %.0f) | $(acol "$m" 5 | medr %.0f) | $tgt |"
	done
})

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MACHINE="Machine: ${cpu:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r), ${DATE_END:-?}; mapwatch at ${MW_VERSION:-?}. $([ "$ROUNDS" -le 2 ] && echo "Quick pass ($ROUNDS rounds): read with care." || echo "Full pass.") Measured in ${T_ELAPSED:-?} s; load average ${LOAD_START:-?} at the start, ${LOAD_END:-?} at the end (the machine is shared with other work)."
BLOCK=$(cat <<EOF
$MACHINE

#### Cost at a fixed load

\`${FIX_ARGS[*]} --duration $DUR\`: $NTHREADS threads (2 writers, 2 iterators copying the
map, 4 readers), 20 µs of CPU work per operation (as the work loop was calibrated at the start,
natively: on a loaded machine that calibration runs slow and the work comes out shorter; the
unprobed p50 shows what it came to), $RATE operations/s per thread:
$((RATE * NTHREADS)) ops/s, against ${FLAT_C:-?} ops/s (mapsvc) and ${FLAT_GO:-?} ops/s (gosvc) flat out in
this run. $ROUNDS rounds, every configuration once per round, in an order rotating from round to
round. Each run starts stopped at its exec (\`bench/runstat -S\`); mapwatch and the empty
uprobes attach with \`-p\` before it is continued (bpftrace attaches to the binary before
the start), so the whole run is under the tool. CPU = the target's own user + system
time (\`wait4\`) ÷ its operations; × unprobed = the median (range) of each round's ratio to
that round's unprobed run; latency = lock wait + map operation + work, per operation,
from the service's \`--latency\` histogram (3% buckets). The services take the work
loop's rate calibrated once, natively (${RPU_C:-?} and ${RPU_GO:-?} rounds/µs), so a TSan or \`-race\`
build does the same work per operation. Probe hits: mapwatch's summary, and for the empty
uprobes the kernel's BPF run count (\`bench/empty_uprobe -c\`, whose run statistics add
some tens of ns per hit). Medians (ranges). The exact mode's target compares
its cost (CPU per op − unprobed, per round) with that of empty uprobes on the same sites.
Go's bpftrace script probes at +0, the only place this bpftrace (0.17, built without
offset checking) attaches to, and treats an iteration as open for 1 ms (its end is not probed).

$T1

#### Detection at a known race rate

\`mapsvc ${FIX_ARGS[*]} --race-rate R\`: an otherwise locked service in which two extra
threads make an iteration-write race R times a second, on schedule (one holds an iteration
open under the read lock while the other updates a key in place). Started stopped, mapwatch
attached (its first stats record), then continued; time to first alert = from the continue to the alert's
arrival; a run ends at its first alert or after ${DET_MAX} s. $DET_RUNS runs per row ($DET_SLOW_RUNS at 1/s),
the modes interleaved. The sampled mode's share of time with its windows open is in the cost
table above, at the same load: where it is 100%, its budget covered every probe, and these
rows test that it loses nothing then, not how often its windows catch a race.

$T2

False alerts: \`mapsvc --mode M --writers 2 --iterators 2 --readers 2\` flat out for $LOCK_DUR s
under mapwatch, $LOCK_RUNS run(s) of each locked mode: every alert there is false.

$T3

Attach: \`mapwatch -v --plain -p PID\` started on a service already racing 1000 times a second;
times from mapwatch's start. $ATTACH_RUNS runs per mode.

$T4
EOF
)
printf '%s\n' "$BLOCK"
readme_block bench-load "$BLOCK"
log "done in $(($(date +%s) - T_START)) s"
exit 0
}
