#!/usr/bin/env bash
# bench/tools.sh — mapwatch against an empty uprobe, bpftrace, ThreadSanitizer
# and Valgrind (helgrind, drd).
#
# Three measurements, each run interleaved (A B C A B C …) and quoted as medians,
# because the machine is shared and noisy:
#   1. per probed call: bench/probe_cost (mapassign in a loop) bare, under an
#      empty uprobe (libbpf, bench/empty_uprobe.bpf.c), under an empty bpftrace
#      probe, under bench/track.bt, under mapwatch; then the record rate mapwatch
#      delivers with foreign iterations open (every write is a record), and a
#      run with no foreign iteration that must deliver no record;
#   2. mapsvc end to end (rwlock mode, flat out and with 10 µs of work per op):
#      unprobed, mapwatch, bpftrace, a -fsanitize=thread build, helgrind, drd;
#      throughput as a ratio to the unprobed runs of the same sweep, peak RSS of
#      the target and of the tool;
#   3. detection: runs of unsafe mode (stopped at the first report) and of the
#      locked modes (every report there is false).
# Raw outputs go to bench/results/ (ignored by git); the tables go to stdout and
# into README.md between <!-- bench-tools:start --> and <!-- bench-tools:end -->.
#
#   bench/tools.sh                 full run (~12 min)
#   BENCH_QUICK=1 bench/tools.sh   short pass for development (~3 min)
#   BENCH_NO_README=1              print the tables, leave README.md alone
#   BENCH_REPORT_ONLY=1            the tables again from the last run's raw results
#   BENCH_RESULTS=DIR              raw results there instead of bench/results
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# One compound command: bash reads all of it before running any, so editing
# this file during a run cannot derail the run.
{

QUICK=${BENCH_QUICK:-0}
[ "${BENCH_REPORT_ONLY:-0}" = 1 ] && [ -f "${BENCH_RESULTS:-bench/results}/meta.env" ] && QUICK=$(. "${BENCH_RESULTS:-bench/results}/meta.env"; echo "$QUICK")
B=build/bench
RES=${BENCH_RESULTS:-bench/results}
mkdir -p "$B" "$RES"
REPORT_ONLY=${BENCH_REPORT_ONLY:-0}
[ "$REPORT_ONLY" = 1 ] || rm -f "$RES"/*.txt "$RES"/*.out "$RES"/*.trace 2>/dev/null

if [ "$QUICK" = 1 ]; then
	PC_ROUNDS=3 PC_CALLS=200000 SW_ROUNDS=1 SW_DUR=3 VG_ROUNDS=1 VG_DUR=3
	DET_RUNS=4 DET_DUR=3 LOCK_RUNS=1 REC_CALLS=400000
else
	PC_ROUNDS=7 PC_CALLS=500000 SW_ROUNDS=3 SW_DUR=5 VG_ROUNDS=2 VG_DUR=4
	DET_RUNS=20 DET_DUR=3 LOCK_RUNS=2 REC_CALLS=1000000
fi
# mapsvc workload: one writer, one iterator, one reader on a 1000-key map
SVC_ARGS=(--writers 1 --iterators 1 --readers 1 --keys 1000)
export GOMAP_ONRACE=count

# shellcheck disable=SC2034 # used by bench/lib.sh
LOG_TAG=bench-tools
# shellcheck source=bench/lib.sh
. bench/lib.sh
T_START=$(date +%s)
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)

# ---- helpers (and those of bench/lib.sh) ----------------------------------------
# mapwatch's summary, one field
mw_sum() { grep '"type":"summary"' "$1" 2>/dev/null | tail -1 | sed 's/^[0-9.]* //' | jq -r "$2 // empty" 2>/dev/null; }
# steady-state ops/s (and writes/s) of a mapsvc run: mean of the stats lines
# from second 2 on, so a tool attached by -p is in place for every sample.
svc_rate() {
	awk -v what="$2" '/ mapsvc: +[0-9.]+s writes / {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^[0-9.]+s$/) t = $i + 0
			if ($i == "writes") w = $(i + 1) + 0
			if ($i == "iterations") it = $(i + 1) + 0
			if ($i == "lookups") l = $(i + 1) + 0
		}
		if (t >= 1.9) { n++; sw += w; si += it; so += w + it + l }
	} END { if (n) printf "%.0f\n", what == "writes" ? sw / n : what == "iters" ? si / n : so / n }' "$1"
}

pc_med() { awk -v c="$1" '$1 == c && $3 != "" { print $3 }' "$RES/probe_cost.txt" | median; }

if [ "$REPORT_ONLY" != 1 ]; then
# ---- build -------------------------------------------------------------------
# Valgrind 3.19 cannot read clang's default DWARF 5: -gdwarf-4 everywhere here.
CFL=(-O2 -gdwarf-4 -fno-omit-frame-pointer -fcf-protection=none -D_GNU_SOURCE -Wall -Wextra
     -Wno-unused-parameter -Itarget)
LIBS=(-lxxhash -lpthread -lm)
build() {
	log "building into $B/"
	clang "${CFL[@]}" bench/runstat.c -o "$B/runstat" || return 1
	clang "${CFL[@]}" bench/probe_cost.c build/libgomap.a -o "$B/probe_cost" "${LIBS[@]}" || return 1

	# The empty uprobe: clang -target bpf → bpftool gen object → skeleton → loader.
	EMPTY_OK=0
	build_empty_uprobe && EMPTY_OK=1

	# mapsvc's --work loop calibrates itself at start-up, inside the process:
	# under TSan or Valgrind that would shrink the work to match the slowed
	# clock. A copy takes the native rate from BENCH_WORK_RPU instead, so every
	# configuration does the same work per operation. Same code otherwise,
	# built from target/ with the release flags.
	FIXED_WORK=0
	mapsvc_fw_src "$B/mapsvc-fw.c" && FIXED_WORK=1
	[ "$FIXED_WORK" = 1 ] || log "warning: could not patch mapsvc's work calibration; work is calibrated under each tool"
	clang "${CFL[@]}" -Wno-unused-function "$B/mapsvc-fw.c" target/gomap.c -o "$B/mapsvc" "${LIBS[@]}" || return 1
	# Valgrind runs its own copy: it translates the code bytes it reads, and a
	# uprobe left on the shared binary by another tool would be an int3 to it.
	cp "$B/mapsvc" "$B/mapsvc-vg" || return 1
	TSAN_OK=0
	clang "${CFL[@]}" -Wno-unused-function -fsanitize=thread "$B/mapsvc-fw.c" target/gomap.c \
		-o "$B/mapsvc-tsan" "${LIBS[@]}" && TSAN_OK=1
	return 0
}
if ! build; then
	log "build failed"
	exit 1
fi
SVC="$PWD/$B/mapsvc"
PC="$PWD/$B/probe_cost"
MW="$PWD/build/mapwatch"

# The native rate of the work loop: the best of three calibrations (load on a
# shared machine only ever makes it look slower).
RPU=""
if [ "$FIXED_WORK" = 1 ]; then
	RPU=$(native_rpu 3 "$SVC" --work 10 --writers 1 --iterators 0 --readers 0 --duration 0.1)
fi
export BENCH_WORK_RPU="$RPU"

# ---- what is available -------------------------------------------------------------
HAVE_BT=0 BT_WHY="not installed"
if command -v bpftrace >/dev/null; then
	# bpftrace attaches uprobes through perf_event_open and needs no tracefs
	# for that; without tracefs it only complains on detach (filtered out).
	if timeout 30 bpftrace -e "uprobe:$PC:mapassign { @n = count(); }" -c "$PC -n 1000 -r 1" \
		>"$RES/bt-smoke.out" 2>&1 && grep -q '@n: ' "$RES/bt-smoke.out"; then
		HAVE_BT=1
	else
		BT_WHY="$(grep -m1 -i error "$RES/bt-smoke.out")"
		if [ ! -e /sys/kernel/tracing/uprobe_events ] && mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null &&
		   timeout 30 bpftrace -e "uprobe:$PC:mapassign { @n = count(); }" -c "$PC -n 1000 -r 1" 2>&1 | grep -q '@n: '; then
			HAVE_BT=1
			log "mounted tracefs on /sys/kernel/tracing for bpftrace"
		fi
	fi
fi
HAVE_VG=0
command -v valgrind >/dev/null && HAVE_VG=1
HAVE_MW=0 MW_WHY="build/mapwatch not built"
if [ -x "$MW" ]; then
	rs "$RES/mw-smoke.out" -- "$MW" --json -d 20 -- "$PC" -n 20000 -r 1 --wait-probe
	wait_pid "$RS" 30
	if grep -q '"type":"summary"' "$RES/mw-smoke.out" && grep -q 'ns_per_call' "$RES/mw-smoke.out"; then
		HAVE_MW=1
	else
		MW_WHY="$(grep -v '^runstat' "$RES/mw-smoke.out" | head -1 | cut -d' ' -f2- | cut -c1-120)"
		MW_WHY="mapwatch failed: ${MW_WHY:-no summary}"
	fi
fi
# Where mapwatch puts its probes (its -v output): the empty uprobe goes to the
# same place, so that "× empty uprobe" compares the same kernel path.
SITE_OFF=0 SITE_HOW="unknown"
if [ "$HAVE_MW" = 1 ]; then
	site=$("$MW" -v --plain -- "$PC" -n 1000 -r 1 2>&1 | sed -n 's/^mapwatch: probe mapassign *//p' | head -1)
	off=$(sed -n 's/^[a-z]*+0x\([0-9a-f]*\) .*/\1/p' <<<"$site")
	[ -n "$off" ] && SITE_OFF=$((16#$off))
	how=$(sed -n 's/.* — \(.*\), [^,]*$/\1/p' <<<"$site")
	[ -n "$how" ] && SITE_HOW=$how
fi
at_site() { tr ',' '\n' <<<"$1" | sed "s/\$/+$SITE_OFF/" | paste -sd, -; }
log "available: empty-uprobe=$EMPTY_OK bpftrace=$HAVE_BT tsan=$TSAN_OK valgrind=$HAVE_VG mapwatch=$HAVE_MW; work rate ${RPU:-self-calibrated}; probe site +$SITE_OFF ($SITE_HOW)"
# what the tables need to know, for BENCH_REPORT_ONLY=1
for v in QUICK LOAD_START EMPTY_OK HAVE_BT BT_WHY HAVE_VG HAVE_MW MW_WHY TSAN_OK FIXED_WORK RPU SITE_OFF SITE_HOW; do
	printf '%s=%q\n' "$v" "${!v}"
done >"$RES/meta.env"

# ---- 1. per probed call ---------------------------------------------------------------
PC_CFGS=(none)
[ "$EMPTY_OK" = 1 ] && PC_CFGS+=(empty)
[ "$HAVE_BT" = 1 ] && PC_CFGS+=(bt-empty bt-track)
[ "$HAVE_MW" = 1 ] && PC_CFGS+=(mapwatch)

pc_run() {
	local cfg=$1 r=$2 out="$RES/pc-$1-$2.out" tool="$RES/pc-$1-$2.tool.out" tpid=""
	local pcargs=(-n "$PC_CALLS" -r 5)
	case $cfg in
	none)
		"$B/runstat" -o "$out" -- "$PC" "${pcargs[@]}" ;;
	empty)
		rs "$tool" -- "$B/empty_uprobe" "$PC" "$(at_site mapassign)"; tpid=$RS
		wait_for "$tool" attached 10
		"$B/runstat" -o "$out" -- "$PC" "${pcargs[@]}" --wait-probe
		wait_pid "$tpid" 0 INT ;;
	bt-empty|bt-track)
		if [ "$cfg" = bt-empty ]; then
			rs "$tool" -- bpftrace -e "uprobe:$PC:mapassign {}"
		else
			rs "$tool" -- bpftrace bench/track.bt "$PC"
		fi
		tpid=$RS
		wait_for "$tool" 'Attaching' 20
		"$B/runstat" -o "$out" -- "$PC" "${pcargs[@]}" --wait-probe
		wait_pid "$tpid" 0 INT ;;
	mapwatch)
		rs "$out" -- "$PC" "${pcargs[@]}" --wait-probe; local jpid=$RS
		wait_for "$out" 'probe_cost: pid' 10
		rs "$tool" -- "$MW" --json -p "$(child_pid "$out")"; tpid=$RS
		wait_pid "$jpid" 60
		wait_pid "$tpid" 5 INT ;;
	esac
	echo "$cfg $r $(awk '/ns_per_call/ { for (i = 1; i < NF; i++) if ($i == "ns_per_call") print $(i + 1) }' "$out")" >>"$RES/probe_cost.txt"
}
log "1/3 per probed call: ${PC_CFGS[*]} × $PC_ROUNDS rounds of $PC_CALLS calls"
for r in $(seq 1 "$PC_ROUNDS"); do
	for cfg in "${PC_CFGS[@]}"; do pc_run "$cfg" "$r"; done
done

# Records reaching userspace: 8 foreign iterations open on each writer's map,
# so every write is an iter-write for each of them (8 records per write).
# The alerts themselves are filtered out before they reach a file.
rec_run() { # NAME WRITERS ITERS CALLS
	local name=$1 out="$RES/rec-$1.out" tool="$RES/rec-$1.tool.out"
	rs "$out" -- "$PC" -n "$4" -r 1 -w "$2" -i "$3" --wait-probe; local jpid=$RS
	wait_for "$out" 'probe_cost: pid' 10
	# straight into grep, not through runstat: only the consumer's own speed counts
	"$MW" --json -p "$(child_pid "$out")" > >(grep -v '"type":"alert"' >"$tool") 2>&1 &
	local tpid=$!
	wait_pid "$jpid" 120
	wait_pid "$tpid" 10 INT
	sleep 0.3
	local calls wall ev dr al hits br sum
	calls=$(awk '/calls_per_s/ { for (i = 1; i < NF; i++) if ($i == "calls") print $(i + 1) }' "$out")
	wall=$(awk '/calls_per_s/ { for (i = 1; i < NF; i++) if ($i == "wall_s") print $(i + 1) }' "$out")
	sum=$(grep '"type":"summary"' "$tool" | tail -1)
	# records: what the consumer took off the ring buffer (events also counts
	# the loader's once-a-second stats records); bpf_records: what BPF submitted
	ev=$(jq -r '.records // .events // empty' <<<"$sum" 2>/dev/null)
	dr=$(jq -r '.drops // empty' <<<"$sum" 2>/dev/null)
	al=$(jq -r '.alerts // empty' <<<"$sum" 2>/dev/null)
	hits=$(jq -r '.probe_hits // .hits // empty' <<<"$sum" 2>/dev/null)
	br=$(jq -r '.bpf_records // empty' <<<"$sum" 2>/dev/null)
	echo "$name $2 $3 ${calls:-0} ${wall:-0} ${ev:-NA} ${dr:-NA} ${al:-NA} ${hits:-NA} ${br:-NA}" >>"$RES/records.txt"
}
if [ "$HAVE_MW" = 1 ]; then
	log "1/3 record rate and the no-record check"
	for r in 1 2; do
		rec_run "w1-i1-$r" 1 1 "$((REC_CALLS / 2))"
		rec_run "w1-i8-$r" 1 8 "$REC_CALLS"
		rec_run "w2-i8-$r" 2 8 "$((REC_CALLS / 2))"
	done
	rec_run none 1 0 1000000
fi

# ---- 2. mapsvc end to end ----------------------------------------------------------------
SW_CFGS=(base)
[ "$EMPTY_OK" = 1 ] && SW_CFGS+=(empty)
[ "$HAVE_MW" = 1 ] && SW_CFGS+=(mapwatch)
[ "$HAVE_BT" = 1 ] && SW_CFGS+=(bpftrace)
[ "$TSAN_OK" = 1 ] && SW_CFGS+=(tsan)
VG_CFGS=()
[ "$HAVE_VG" = 1 ] && VG_CFGS=(helgrind drd)
# the functions mapwatch probes (its -v output names them), for the empty-uprobe row
MW_FUNCS=mapiterinit,mapiterdone,mapassign,mapdelete,mapclear,hashGrow,evacuate

sw_run() { # WORKLOAD CFG ROUND
	local wl=$1 cfg=$2 r=$3 work=0 dur=$SW_DUR
	local out="$RES/sw-$1-$2-$3.out" tool="$RES/sw-$1-$2-$3.tool.out" tpid="" trss=""
	[ "$wl" = service ] && work=10
	case $cfg in helgrind|drd) dur=$VG_DUR ;; esac
	local args=(--mode rwlock "${SVC_ARGS[@]}" --work "$work" --duration "$dur")
	case $cfg in
	base) "$B/runstat" -o "$out" -- "$SVC" "${args[@]}" ;;
	tsan) "$B/runstat" -o "$out" -- "$B/mapsvc-tsan" "${args[@]}" ;;
	empty)
		rs "$tool" -- "$B/empty_uprobe" "$SVC" "$(at_site "$MW_FUNCS")"; tpid=$RS
		wait_for "$tool" attached 10
		"$B/runstat" -o "$out" -- "$SVC" "${args[@]}"
		wait_pid "$tpid" 0 INT ;;
	helgrind|drd) "$B/runstat" -o "$out" -- valgrind --fair-sched=yes --tool="$cfg" "$B/mapsvc-vg" "${args[@]}" ;;
	mapwatch)
		rs "$out" -- "$SVC" "${args[@]}"; local jpid=$RS
		wait_for "$out" 'mapsvc: pid' 10
		rs "$tool" -- "$MW" --json -p "$(child_pid "$out")"; tpid=$RS
		wait_pid "$jpid" $((dur + 30))
		wait_pid "$tpid" 5 INT ;;
	bpftrace)
		rs "$tool" -- bpftrace bench/track.bt "$SVC"; tpid=$RS
		wait_for "$tool" 'Attaching' 20
		"$B/runstat" -o "$out" -- "$SVC" "${args[@]}"
		wait_pid "$tpid" 0 INT ;;
	esac
	[ -n "$tpid" ] && trss=$(rs_field "$tool" maxrss_kb)
	echo "$wl $cfg $r $(svc_rate "$out" ops) $(svc_rate "$out" writes) $(svc_rate "$out" iters)" \
		"$(rs_field "$out" maxrss_kb) ${trss:-NA}" >>"$RES/sweep.txt"
}
for wl in flat service; do
	log "2/3 mapsvc $wl: ${SW_CFGS[*]} × $SW_ROUNDS, ${VG_CFGS[*]} × $VG_ROUNDS"
	for r in $(seq 1 "$SW_ROUNDS"); do
		for cfg in "${SW_CFGS[@]}"; do sw_run "$wl" "$cfg" "$r"; done
		if [ "$r" -le "$VG_ROUNDS" ]; then
			for cfg in "${VG_CFGS[@]}"; do sw_run "$wl" "$cfg" "$r"; done
		fi
	done
done

# ---- 3. detection ---------------------------------------------------------------------------
DET_CFGS=()
[ "$HAVE_MW" = 1 ] && DET_CFGS+=(mapwatch)
[ "$HAVE_BT" = 1 ] && DET_CFGS+=(bpftrace)
[ "$TSAN_OK" = 1 ] && DET_CFGS+=(tsan)
[ "$HAVE_VG" = 1 ] && DET_CFGS+=(helgrind drd)

# Reports of a sanitizer/valgrind run, split into map reports (a stack in
# gomap.c) and others (races on mapsvc's own globals, which are not map
# races). Prints: map_reports other_reports first_map_report_time
classify() { # FILE KIND(tsan|vg)
	awk -v kind="$2" '
	function close_block() { if (inb) { if (ismap) { m++; if (tm == "") tm = bt } else o++ } inb = 0 }
	{ t = $1; line = substr($0, length($1) + 2) }
	kind == "tsan" && line ~ /WARNING: ThreadSanitizer:/ { close_block(); inb = 1; ismap = 0; bt = t; next }
	kind == "tsan" && line ~ /^SUMMARY: ThreadSanitizer/ { if (line ~ /gomap\.c/) ismap = 1; close_block(); next }
	kind == "vg" && line ~ /(Possible data race|Conflicting (load|store)|lock order|unlocked a|not locked|re-lock|still holds|Bug in|Probably a race|error code)/ {
		close_block(); inb = 1; ismap = 0; bt = t; next }
	kind == "vg" && line ~ /^==[0-9]+== -{10,}/ { close_block(); next }
	inb && line ~ /gomap\.c/ { ismap = 1 }
	END { close_block(); printf "%d %d %s\n", m, o, (tm == "" ? "NA" : tm) }' "$1"
}

det_run() { # TOOL MODE RUN
	local tool=$1 mode=$2 r=$3 out="$RES/det-$1-$2-$3.out" tout="$RES/det-$1-$2-$3.tool.out"
	local args=(--mode "$mode" "${SVC_ARGS[@]}" --duration "$DET_DUR") tpid="" jpid t0 tfirst="NA" nrep=0 nother=0
	local stop_re=""
	case $tool in
	mapwatch)
		rs "$out" -- "$SVC" "${args[@]}"; jpid=$RS
		wait_for "$out" 'mapsvc: pid' 10
		rs "$tout" -- "$MW" --json -p "$(child_pid "$out")"; tpid=$RS
		stop_re='"type":"alert"'
		[ "$mode" = unsafe ] && wait_for "$tout" "$stop_re|^runstat: .* status" $((DET_DUR + 10)) && kill -TERM "$jpid" 2>/dev/null
		wait_pid "$jpid" $((DET_DUR + 10))
		wait_pid "$tpid" 5 INT
		t0=$(start_time "$out")
		tfirst=$(awk -v t0="$t0" '/"type":"alert"/ { printf "%.3f\n", $1 - t0; exit }' "$tout")
		nrep=$(mw_sum "$tout" .alerts); nrep=${nrep:-NA} ;;
	bpftrace)
		rs "$tout" -- bpftrace bench/track.bt "$SVC"; tpid=$RS
		wait_for "$tout" 'Attaching' 20
		rs "$out" -- "$SVC" "${args[@]}"; jpid=$RS
		wait_for "$out" 'mapsvc: pid' 10
		local p; p=$(child_pid "$out")
		[ "$mode" = unsafe ] && wait_for "$tout" "ALERT pid $p |^runstat: .* status" $((DET_DUR + 10)) && kill -TERM "$jpid" 2>/dev/null
		wait_pid "$jpid" $((DET_DUR + 10))
		wait_pid "$tpid" 0 INT
		t0=$(start_time "$out")
		tfirst=$(awk -v t0="$t0" -v p="$p" '$0 ~ "ALERT pid " p " " { printf "%.3f\n", $1 - t0; exit }' "$tout")
		nrep=$(awk -v p="$p" '$0 ~ "@alerts\\[" p "\\]:" { print $NF }' "$tout"); nrep=${nrep:-0} ;;
	tsan|helgrind|drd)
		local kind=vg cmd=(valgrind --fair-sched=yes --tool="$tool" "$B/mapsvc-vg")
		[ "$tool" = tsan ] && kind=tsan cmd=("$B/mapsvc-tsan")
		rs "$out" -- "${cmd[@]}" "${args[@]}"; jpid=$RS
		if [ "$mode" = unsafe ]; then
			local i
			for ((i = 0; i < (DET_DUR + 30) * 25; i++)); do
				kill -0 "$jpid" 2>/dev/null || break
				[ "$(classify "$out" "$kind" | awk '{ print $1 }')" -gt 0 ] && { kill -TERM "$jpid" 2>/dev/null; break; }
				sleep 0.04
			done
		fi
		wait_pid "$jpid" $((DET_DUR + 30))
		t0=$(start_time "$out")
		read -r nrep nother tfirst < <(classify "$out" "$kind")
		[ "$tfirst" != NA ] && tfirst=$(awk -v a="$tfirst" -v b="$t0" 'BEGIN { printf "%.3f", a - b }') ;;
	esac
	echo "$tool $mode $r ${tfirst:-NA} ${nrep:-NA} ${nother:-0}" >>"$RES/detect.txt"
}
log "3/3 detection: ${DET_CFGS[*]}: $DET_RUNS unsafe runs (stopped at the first report), $LOCK_RUNS × mutex/rwlock/cow of $DET_DUR s"
for r in $(seq 1 "$DET_RUNS"); do
	for tool in "${DET_CFGS[@]}"; do det_run "$tool" unsafe "$r"; done
done
for r in $(seq 1 "$LOCK_RUNS"); do
	for mode in mutex rwlock cow; do
		for tool in "${DET_CFGS[@]}"; do det_run "$tool" "$mode" "$r"; done
	done
done

echo "T_ELAPSED=$(( $(date +%s) - T_START ))" >>"$RES/meta.env"
echo "LOAD_END=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" >>"$RES/meta.env"
else
	# BENCH_REPORT_ONLY=1: the tables again from the last run's bench/results/
	. "$RES/meta.env"
fi
. "$RES/meta.env"

# ---- tables -------------------------------------------------------------------------------
ok() { [ "$1" = 1 ] && echo met || echo MISSED; }
fmt() { awk -v v="$1" -v f="$2" -v d="${3:-1}" 'BEGIN { if (v == "" || v == "NA") print "—"; else printf f, v / d }'; }
T1=$({
	echo "| configuration | ns per mapassign | cost of the probe, ns | × empty uprobe | target |"
	echo "|---|---:|---:|---:|---|"
	none=$(pc_med none)
	empty=$(pc_med empty)
	ecost=$(awk -v a="$empty" -v b="$none" 'BEGIN { if (a != "") printf "%.1f", a - b }')
	btt=$(pc_med bt-track)
	for cfg in none empty bt-empty bt-track mapwatch; do
		case $cfg in
		none) name="no probe" ;;
		empty) name="empty uprobe (libbpf, \`bench/empty_uprobe.bpf.c\`)" ;;
		bt-empty) name="empty bpftrace probe (\`uprobe:…:mapassign {}\`)" ;;
		bt-track) name="bpftrace \`bench/track.bt\` (per-map open iterations, check per write)" ;;
		mapwatch) name="**mapwatch** \`--json -p PID\`" ;;
		esac
		v=$(pc_med "$cfg")
		if [ -z "$v" ]; then
			why="not run"
			[ "$cfg" = mapwatch ] && why="$MW_WHY"
			case $cfg in bt-*) why="bpftrace unavailable: $BT_WHY" ;; esac
			[ "$cfg" = empty ] && why="empty uprobe did not build"
			[ "$cfg" = mapwatch ] && echo "| $name | — | — | — | MISSED ($why) |" || echo "| $name | — | — | — | ($why) |"
			continue
		fi
		cost=$(awk -v a="$v" -v b="$none" 'BEGIN { printf "%.1f", a - b }')
		ratio=$(awk -v c="$cost" -v e="$ecost" 'BEGIN { if (e > 0) printf "%.2f×", c / e }')
		tgt=""
		if [ "$cfg" = mapwatch ]; then
			m1=$(awk -v c="$cost" -v e="$ecost" 'BEGIN { print (e > 0 && c <= 1.15 * e) ? 1 : 0 }')
			m2=$(awk -v v="$v" -v b="$btt" 'BEGIN { print (b == "" || v < b) ? 1 : 0 }')
			tgt="≤ 1.15× empty: $(ok "$m1"); cheaper than bpftrace: $(ok "$m2")"
		fi
		[ "$cfg" = none ] && { cost="—"; ratio="—"; }
		echo "| $name | $(fmt "$v" %.1f) | $cost | ${ratio:-—} | $tgt |"
	done
})

T2=""
if [ -s "$RES/records.txt" ]; then
	T2=$({
		echo "| run | writes | records reaching userspace | drops | records/s | target |"
		echo "|---|---:|---:|---:|---:|---|"
		for cfg in w1-i1 w1-i8 w2-i8; do
			# the better of the two tries
			awk -v c="$cfg" 'index($1, c "-") == 1 { r = ($5 > 0 && $6 != "NA") ? $6 / $5 : 0; if (r >= best) { best = r; l = $0 } } END { print l }' "$RES/records.txt" |
			while read -r name ww it calls wall ev dr al hits br; do
				[ -z "$name" ] && continue
				rate=$(awk -v e="$ev" -v t="$wall" 'BEGIN { if (e != "NA" && t > 0) printf "%.2f M/s", e / t / 1e6; else print "—" }')
				wps=$(awk -v c="$calls" -v t="$wall" 'BEGIN { if (t > 0) printf "%.0f", c / t }')
				m=$(awk -v e="$ev" -v t="$wall" -v d="$dr" 'BEGIN { print (e != "NA" && t > 0 && e / t >= 5e6 && d == 0) ? 1 : 0 }')
				echo "| $ww writer(s), $it foreign iteration(s) open per map: every write is $it record(s) | $calls ($wps/s) | $ev | $dr | $rate | ≥ 5 M/s without drops: $(ok "$m") |"
			done
		done
		awk '$1 == "none"' "$RES/records.txt" | while read -r name ww it calls wall ev dr al hits br; do
			m=$(awk -v e="$br" -v c="$calls" 'BEGIN { print (e != "NA" && e <= c / 1000) ? 1 : 0 }')
			echo "| 1 writer, no foreign iteration: probe hits $hits, records submitted by BPF $br | $calls | $ev | $dr | — | no record for a write meeting no iteration: $(ok "$m") |"
		done
	})
fi

# per (workload, cfg): median ops, writes, iters, target rss, tool rss
swmed() { awk -v w="$1" -v c="$2" -v k="$3" '$1 == w && $2 == c && $k != "" && $k != "NA" { print $k }' "$RES/sweep.txt" | median; }
PCOST=$(awk -v a="$(pc_med mapwatch)" -v b="$(pc_med none)" 'BEGIN { if (a != "") printf "%.1f", a - b }')
T3=$({
	echo "| workload | tool | ops/s | slowdown | writes/s | iterations/s | target peak RSS | tool peak RSS | target |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
	for wl in flat service; do
		base=$(swmed "$wl" base 4)
		for cfg in base empty mapwatch bpftrace tsan helgrind drd; do
			case $cfg in
			base) name="unprobed" ;;
			empty) name="empty uprobes on mapwatch's 7 functions" ;;
			mapwatch) name="**mapwatch** \`-p PID\`" ;;
			bpftrace) name="bpftrace \`track.bt\`" ;;
			tsan) name="\`-fsanitize=thread\` build" ;;
			helgrind) name="valgrind --tool=helgrind" ;;
			drd) name="valgrind --tool=drd" ;;
			esac
			wname="flat out (\`--work 0\`)"
			[ "$wl" = service ] && wname="service-like (\`--work 10\`)"
			ops=$(swmed "$wl" "$cfg" 4)
			if [ -z "$ops" ]; then
				why="not run"
				[ "$cfg" = mapwatch ] && why="$MW_WHY"
				[ "$cfg" = bpftrace ] && why="bpftrace unavailable: $BT_WHY"
				[ "$cfg" = mapwatch ] && [ "$wl" = service ] && echo "| $wname | $name | — | — | — | — | — | — | ≤ 1.10×: MISSED ($why) |" ||
					echo "| $wname | $name | — | — | — | — | — | — | ($why) |"
				continue
			fi
			slow=$(awk -v b="$base" -v o="$ops" 'BEGIN { if (o > 0) printf "%.2f", b / o }')
			trss=$(swmed "$wl" "$cfg" 7)
			orss=$(swmed "$wl" "$cfg" 8)
			tgt=""
			if [ "$wl" = service ] && [ "$cfg" = mapwatch ]; then
				tgt="≤ 1.10×: $(ok "$(awk -v s="$slow" 'BEGIN { print (s <= 1.10) ? 1 : 0 }')")"
			elif [ "$wl" = service ] && [ "$cfg" = tsan ]; then
				tgt="TSan ≥ 5×: $( awk -v s="$slow" 'BEGIN { print (s >= 5) ? "yes" : "no" }')"
			fi
			echo "| $wname | $name | $(fmt "$ops" %.0f) | $(fmt "$slow" %.2f×) | $(fmt "$(swmed "$wl" "$cfg" 5)" %.0f) | $(fmt "$(swmed "$wl" "$cfg" 6)" %.0f) | $(fmt "$trss" '%.0f MB' 1024) | $(fmt "$orss" '%.0f MB' 1024) | $tgt |"
		done
	done
})
# flat-out explanation from the per-call cost: each write is one probed call
# (mapassign/mapdelete/mapclear), each iteration two (mapiterinit, mapiterdone)
EXPLAIN=""
if [ -n "$PCOST" ] && [ -n "$(swmed flat mapwatch 4)" ]; then
	EXPLAIN=$(awk -v c="$PCOST" -v ce="$(awk -v a="$(pc_med empty)" -v b="$(pc_med none)" 'BEGIN { if (a != "") printf "%.1f", a - b }')" \
		-v bw="$(swmed flat base 5)" -v bi="$(swmed flat base 6)" -v bo="$(swmed flat base 4)" \
		-v ew="$(swmed flat empty 5)" -v eo="$(swmed flat empty 4)" \
		-v mw="$(swmed flat mapwatch 5)" -v mi="$(swmed flat mapwatch 6)" -v mo="$(swmed flat mapwatch 4)" 'BEGIN {
		pw = 1 / (1 / bw + c * 1e-9)
		printf "**Flat out, explained.** Each write is one probed call, made with the write lock held. "
		printf "Unprobed the writer makes %.0f writes/s (%.0f ns each, lock included); a probed call costs %.0f ns more under mapwatch", bw, 1e9 / bw, c
		if (ce != "") printf " (%.0f ns under an empty uprobe)", ce
		printf ", so the writer alone could still make 1 / (%.0f + %.0f) ns = %.0f writes/s. ", 1e9 / bw, c, pw
		printf "Measured under mapwatch: %.0f writes/s", mw
		if (ew != "") printf "; under empty uprobes on the same seven functions: %.0f writes/s (%.2f× fewer ops/s than unprobed, against %.2f× for mapwatch)", ew, bo / eo, bo / mo
		printf ". "
		if (mw < 0.5 * pw)
			printf "The gap past the per-call cost is the lock: the probe lengthens every write-locked section, so the iterator waiting on the writer-preferring rwlock gets in after almost every write and holds the lock for a 1000-entry walk — writes/s falls towards the iteration rate (%.0f iterations/s under mapwatch, %.0f unprobed). ", mi, bi
		printf "Lookups are not probed; each iteration pays two probed calls per 1000-entry walk. With 10 µs of work per operation the same per-call cost is a few percent of an operation (next rows)."
	}')
fi

T4=$({
	echo "| tool | unsafe runs flagged | time to first report, median (max) | locked-mode runs with a false report | false reports (map) | other reports (not map races) | target |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	for tool in mapwatch bpftrace tsan helgrind drd; do
		case $tool in
		mapwatch) name="**mapwatch**" ;;
		bpftrace) name="bpftrace \`track.bt\`" ;;
		tsan) name="ThreadSanitizer" ;;
		helgrind) name="helgrind" ;;
		drd) name="drd" ;;
		esac
		if ! grep -q "^$tool " "$RES/detect.txt" 2>/dev/null; then
			why="not run"
			[ "$tool" = mapwatch ] && why="$MW_WHY"
			[ "$tool" = bpftrace ] && why="bpftrace unavailable: $BT_WHY"
			[ "$tool" = mapwatch ] && echo "| $name | — | — | — | — | — | MISSED ($why) |" || echo "| $name | — | — | — | — | — | ($why) |"
			continue
		fi
		awk -v t="$tool" -v name="$name" -v dur="$DET_DUR" '
		$1 == t && $2 == "unsafe" { n++; if ($4 != "NA") { f++; tt[f] = $4; if ($4 > mx) mx = $4; if ($4 <= 2) in2++ } }
		$1 == t && $2 != "unsafe" { ln++; if ($5 != "NA" && $5 > 0) { lf++; fr += $5 } if ($6 > 0) { oth += $6; lo++ } }
		END {
			for (i = 2; i <= f; i++) for (j = i; j > 1 && tt[j-1] > tt[j]; j--) { x = tt[j]; tt[j] = tt[j-1]; tt[j-1] = x }
			med = f ? (f % 2 ? tt[(f+1)/2] : (tt[f/2] + tt[f/2+1]) / 2) : -1
			tgt = ""
			if (t == "mapwatch")
				tgt = sprintf("%d/%d within 2 s, no false report: %s", in2 + 0, n, (in2 == n && lf == 0) ? "met" : "MISSED")
			printf "| %s | %d/%d | %s | %d/%d | %d | %s | %s |\n", name, f, n,
				f ? sprintf("%.2f s (%.2f s)", med, mx) : "—", lf, ln, fr, (t == "mapwatch" || t == "bpftrace") ? "—" : sprintf("%d in %d runs", oth, lo), tgt
		}' "$RES/detect.txt"
	done
})

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MACHINE="Machine: ${cpu:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'); clang $(clang -dumpversion), $(bpftrace --version 2>/dev/null || echo 'no bpftrace'), $(valgrind --version 2>/dev/null || echo 'no valgrind'). $( [ "$QUICK" = 1 ] && echo 'Quick pass (BENCH_QUICK=1): few rounds, read with care.' || echo 'Full pass.') Measured in ${T_ELAPSED:-?} s; load average ${LOAD_START:-?} at the start, ${LOAD_END:-?} at the end (the machine is shared)."

T2SEC=""
if [ -n "$T2" ]; then
	T2SEC="Records mapwatch's consumer took off the ring buffer (summary \`records\`) and lost (\`drops\`) with foreign iterations held open, and the proof that a write meeting no foreign iteration costs no record:

$T2"
fi
FWNOTE=""
[ "$FIXED_WORK" = 1 ] && FWNOTE="Every configuration does the same work per operation (the work loop's rate is calibrated once, natively: $RPU rounds/µs); without that, mapsvc would calibrate it under TSan or Valgrind and hide their cost."
BLOCK=$(cat <<EOF
$MACHINE

#### Cost per probed call

\`bench/probe_cost\` updates keys of a 64-entry map with \`mapassign\` in a loop (the
map never grows), bare and under each probe; cost of the probe = probed − bare ns
per call, median of $PC_ROUNDS interleaved rounds of $PC_CALLS calls. mapwatch and the
empty uprobe probe each function at +$SITE_OFF ($SITE_HOW); bpftrace at
its entry, the 5-byte nop, which the kernel turns into a cheaper trampoline once hit
(fatal to forked children: see "Where the probes sit").

$T1

$T2SEC

#### mapsvc end to end

\`mapsvc --mode rwlock --writers 1 --iterators 1 --readers 1 --keys 1000\`, flat out and
with 10 µs of CPU work per operation; steady-state ops/s (mean of the per-second
stats from second 2 on), median of $SW_ROUNDS interleaved rounds of $SW_DUR s ($VG_ROUNDS of $VG_DUR s
under Valgrind, with \`--fair-sched=yes\`, without which mapsvc's main thread starves and a 4 s run takes minutes); slowdown = unprobed ops/s ÷ ops/s. Peak RSS from \`wait4\`
(\`bench/runstat.c\`); under Valgrind the target's RSS includes Valgrind itself.
$FWNOTE

$T3

${EXPLAIN}

#### Detection

$DET_RUNS runs of \`mapsvc --mode unsafe\` (\`GOMAP_ONRACE=count\`, at most $DET_DUR s, stopped at
the first report) per tool, interleaved; time to first report is from the
target's start to the report's arrival (mapwatch attaches with \`-p\` after the
start, so its attach time is included). Locked modes: $LOCK_RUNS run(s) each of
\`mutex\`, \`rwlock\`, \`cow\` for $DET_DUR s, where any map report is false. TSan and
Valgrind reports are split into map reports (a stack in \`gomap.c\`) and others
(races on mapsvc's own globals — its stats and work sinks — which are not
map races; helgrind and drd also do not understand C11 atomics).

$T4
EOF
)
printf '%s\n' "$BLOCK"

readme_block bench-tools "$BLOCK"
log "done in $(( $(date +%s) - T_START )) s"
exit 0
}
