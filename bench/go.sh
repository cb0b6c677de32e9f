#!/usr/bin/env bash
# bench/go.sh — mapwatch on unmodified Go programs: what it costs a Go
# service, and what one probe hit costs at +0 and at the site mapwatch picks.
#
#   1. gosvc (target/gosvc, Go 1.23) in rwlock mode with 20 µs of work per
#      operation at a fixed rate well below saturation, for a fixed time:
#      unprobed, under `mapwatch -p PID`, under `mapwatch --reads -p PID`, and
#      a `go build -race` build. The service's own CPU time (wait4 of the
#      service itself, bench/runstat.c) per million map operations (writes +
#      iterations + lookups, from its summary line) and its throughput, as
#      ratios to the unprobed run of the same round. Every run starts stopped
#      at its exec (runstat -S), mapwatch attaches with -p, then SIGCONT: the
#      whole run is probed and only the service's CPU is counted.
#   2. bench/go/assign (N writes with runtime.mapassign_fast64 on a locked
#      thread, thread CPU time per write), built with Go 1.19 (no push in the
#      prologue: mapwatch picks the first emulated instruction after it) and
#      Go 1.23 (the push %rbp): bare, under an empty uprobe at +0 (the stack
#      check, single-stepped) and under one at mapwatch's site (read from
#      `mapwatch -v`); hits counted by the kernel's BPF run statistics
#      (bench/empty_uprobe -c); whether the kernel mapped its single-step
#      area ([uprobes]) into the process.
#
# Each measurement is interleaved (A B C A B C …) and quoted as the median of
# its rounds with the range, because the machine is shared and noisy. Raw
# results go to bench/results/go/; the tables go to stdout and into README.md
# between <!-- bench-go:start --> and <!-- bench-go:end -->.
#
#   bench/go.sh                    full run (~7 min)
#   BENCH_QUICK=1 bench/go.sh      short pass for development (~2 min)
#   BENCH_NO_README=1              print the tables, leave README.md alone
#   BENCH_REPORT_ONLY=1            the tables again from the last run's raw results
#   BENCH_RESULTS=DIR              raw results under DIR/go instead of bench/results/go
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# One compound command: bash reads all of it before running any, so editing
# this file during a run cannot derail the run.
{

B=build/bench
RES=${BENCH_RESULTS:-bench/results}/go
mkdir -p "$B" "$RES"
REPORT_ONLY=${BENCH_REPORT_ONLY:-0}
QUICK=${BENCH_QUICK:-0}
[ "$REPORT_ONLY" = 1 ] && [ -f "$RES/meta.env" ] && QUICK=$(sed -n 's/^QUICK=//p' "$RES/meta.env")
if [ "$QUICK" = 1 ]; then
	SVC_ROUNDS=3 SVC_DUR=4 HIT_ROUNDS=3 HIT_N=30000
else
	SVC_ROUNDS=5 SVC_DUR=10 HIT_ROUNDS=7 HIT_N=100000
fi
# The service: 2 writers, 2 iterators, 4 readers on a 1000-key map, 20 µs of
# CPU work per operation, 250 operations/s per goroutine (2000/s in all). Flat
# out (no --rate) the unprobed service made about 27000 ops/s on this machine
# (measured again at every run, see FLAT), and the -race build still kept up
# with 250/s per goroutine: well below saturation.
SVC_RATE=250
SVC_BASE_ARGS=(--mode rwlock --writers 2 --iterators 2 --readers 4 --keys 1000 --work 20)
SVC_ARGS=("${SVC_BASE_ARGS[@]}" --rate "$SVC_RATE")
SVC_GO=1.23
HIT_VERS=(1.19 1.23)
# the toolchains, as mk/go.mk names them
go_bin() { echo "/usr/lib/go-$1/bin/go"; }

# shellcheck disable=SC2034 # used by bench/lib.sh
LOG_TAG=bench-go
# shellcheck source=bench/lib.sh
. bench/lib.sh
T_START=$(date +%s)

# span — like range %.0f, one number when all are equal
span() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) { if (lo == hi) printf "%.0f", lo; else printf "%.0f–%.0f", lo, hi } }'; }

if [ "$REPORT_ONLY" != 1 ]; then
rm -f "$RES"/*.txt "$RES"/*.out 2>/dev/null
if [ "$(id -u)" != 0 ]; then log "needs root"; exit 1; fi

# ---- build -------------------------------------------------------------------
GO_ENV=(env -u GOROOT -u GOOS -u GOARCH -u GOAMD64 GO111MODULE=off GOFLAGS=-buildvcs=false
	GOTOOLCHAIN=local GOENV=off GOPATH="$PWD/build/gopath" GOCACHE="$PWD/build/gocache")
log "building into $B/"
build_runstat || { log "runstat did not build"; exit 1; }
EMPTY_OK=0
build_empty_uprobe && EMPTY_OK=1

# gosvc's work loop takes the rate calibrated once natively (bench/lib.sh,
# gosvc_fw_src); the plain and the -race build both come from that copy,
# with the same toolchain as build/gosvc.
SVC_OK=0 RACE_OK=0 RACE_WHY=""
GOSVC_TOOL=$(go_bin "$SVC_GO")
if [ -x "$GOSVC_TOOL" ] && gosvc_fw_src "$B/gosvc-src"; then
	(cd "$B/gosvc-src" && "${GO_ENV[@]}" CGO_ENABLED=0 "$GOSVC_TOOL" build -o ../gosvc ./gosvc) && SVC_OK=1
	if (cd "$B/gosvc-src" && "${GO_ENV[@]}" CGO_ENABLED=1 "$GOSVC_TOOL" build -race -o ../gosvc-race ./gosvc) \
		>"$RES/race-build.out" 2>&1; then
		RACE_OK=1
	else
		RACE_WHY="go build -race failed: $(grep -m1 . "$RES/race-build.out" | cut -c1-120)"
	fi
else
	log "cannot build gosvc (Go $SVC_GO at $GOSVC_TOOL, or the work-rate patch did not apply)"
fi

# the assign loop, once per toolchain
declare -A HIT_OK=()
for v in "${HIT_VERS[@]}"; do
	HIT_OK[$v]=0
	mkdir -p "$B/go/$v"
	if [ -x "$(go_bin "$v")" ] &&
	   "${GO_ENV[@]}" CGO_ENABLED=0 "$(go_bin "$v")" build -o "$B/go/$v/assignbench" ./bench/go/assign; then
		HIT_OK[$v]=1
	else
		log "assignbench: no Go $v toolchain at $(go_bin "$v"), or it did not build"
	fi
done

SVC="$PWD/$B/gosvc"
SVCR="$PWD/$B/gosvc-race"
MW="$PWD/build/mapwatch"
[ -x "$MW" ] || { log "build/mapwatch is not built (run make)"; exit 1; }

# The native rate of the work loop: the best of five calibrations.
RPU=""
if [ "$SVC_OK" = 1 ]; then
	RPU=$(native_rpu 5 "$SVC" --mode mutex --work 10 --writers 1 --iterators 0 --readers 0 --duration 0.1)
	[ -n "$RPU" ] || { log "gosvc did not print its work rate"; SVC_OK=0; }
fi
export BENCH_WORK_RPU="$RPU"
# The unprobed service flat out, the best of two: how far below saturation the fixed rate is.
FLAT=""
if [ "$SVC_OK" = 1 ]; then
	FLAT=$(for i in 1 2; do "$SVC" "${SVC_BASE_ARGS[@]}" --duration 3 2>&1 |
		awk '/gosvc: done in/ { for (i = 1; i <= NF; i++) if ($i == "ops/s,") print $(i - 1) }'; done | sort -g | tail -1)
fi

# The sites mapwatch probes in gosvc (its -v output), for the control row:
# empty uprobes at the same places.
EMPTY_SITES=""
if [ "$SVC_OK" = 1 ] && [ "$EMPTY_OK" = 1 ]; then
	EMPTY_SITES=$(probe_sites "$MW" "$SVC" "${SVC_ARGS[@]}" --duration 0.2)
	[ -n "$EMPTY_SITES" ] || log "no probe sites from mapwatch -v on gosvc: no empty-uprobe row"
fi
NEMPTY=$(tr ',' '\n' <<<"$EMPTY_SITES" | grep -c .)

# Where mapwatch puts its probe on runtime.mapassign_fast64, per version, and
# the instruction at +0 and there.
declare -A SITE=() SITE_DESC=() P0_INSN=() SITE_INSN=() GOVER=()
insn_at() { # BIN SYMBOL OFF — the instruction at SYMBOL+OFF (objdump, AT&T)
	local a
	a=$(nm "$1" | awk -v s="$2" '$3 == s { print $1; exit }')
	[ -n "$a" ] || return 0
	a=$((0x$a + $3))
	objdump -d --no-show-raw-insn --start-address="$a" --stop-address="$((a + 16))" "$1" |
		awk -F'\t' '/^ *[0-9a-f]+:/ { gsub(/ +/, " ", $2); sub(/ +$/, "", $2); print $2; exit }'
}
for v in "${HIT_VERS[@]}"; do
	[ "${HIT_OK[$v]}" = 1 ] || continue
	bin=$B/go/$v/assignbench
	line=$("$MW" -v --plain -d 0.2 -- "$bin" 1000 2>&1 | grep -m1 'probe runtime.mapassign_fast64 (assign) at')
	GOVER[$v]=$("$bin" 1 | awk '{ print $2 }')
	SITE[$v]=$(sed -n 's/.* at \(+0x[0-9a-f]*\),.*/\1/p' <<<"$line")
	SITE_DESC[$v]=$(sed -n 's/.* — \(.*\)$/\1/p' <<<"$line")
	P0_INSN[$v]=$(insn_at "$bin" runtime.mapassign_fast64 0)
	[ -n "${SITE[$v]}" ] && SITE_INSN[$v]=$(insn_at "$bin" runtime.mapassign_fast64 "$((${SITE[$v]#+}))")
	log "Go $v (${GOVER[$v]}): mapwatch: ${line#mapwatch: }"
	[ -n "${SITE[$v]}" ] || { log "Go $v: no site from mapwatch -v"; HIT_OK[$v]=0; }
done

log "available: gosvc=$SVC_OK race=$RACE_OK empty-uprobe=$EMPTY_OK; work rate ${RPU:-?} rounds/µs; flat out ${FLAT:-?} ops/s"
{
	for x in QUICK SVC_OK RACE_OK RACE_WHY EMPTY_OK RPU FLAT EMPTY_SITES NEMPTY; do printf '%s=%q\n' "$x" "${!x}"; done
	for v in "${HIT_VERS[@]}"; do
		for x in HIT_OK SITE SITE_DESC P0_INSN SITE_INSN GOVER; do
			declare -n arr=$x
			printf '%s[%s]=%q\n' "$x" "$v" "${arr[$v]:-}"
			unset -n arr
		done
	done
	echo "LOAD_START=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
} >"$RES/meta.env"

# ---- 1. gosvc end to end -------------------------------------------------------
SVC_CFGS=()
[ "$SVC_OK" = 1 ] && SVC_CFGS+=(base)
[ -n "$EMPTY_SITES" ] && SVC_CFGS+=(empty)
[ "$SVC_OK" = 1 ] && SVC_CFGS+=(mapwatch reads)
[ "$RACE_OK" = 1 ] && SVC_CFGS+=(race)

svc_run() { # CFG ROUND
	local cfg=$1 r=$2 out="$RES/svc-$1-$2.out" tool="$RES/svc-$1-$2.tool.out" bin=$SVC tpid="" jpid p
	local ops rate cpu st hits alerts tcpu
	[ "$cfg" = race ] && bin=$SVCR
	rs "$out" -S -- "$bin" "${SVC_ARGS[@]}" --duration "$SVC_DUR"; jpid=$RS
	if ! wait_for "$out" '^runstat: pid [0-9]+ start [0-9.]+ stopped' 10; then
		log "$cfg round $r: the service did not start"
		wait_pid "$jpid" 1 KILL
		return
	fi
	p=$(child_pid "$out")
	case $cfg in
	mapwatch|reads)
		local extra=()
		[ "$cfg" = reads ] && extra=(--reads)
		rs "$tool" -- "$MW" -v --plain "${extra[@]}" -p "$p"; tpid=$RS
		wait_for "$tool" 'mapwatch: watching pid|^runstat: .* status' 60 || log "$cfg round $r: mapwatch not attached after 60 s"
		grep -q 'mapwatch: watching pid' "$tool" || log "$cfg round $r: mapwatch did not attach: $(grep -v '^runstat' "$tool" | grep -v ' probe ' | tail -1)"
		;;
	empty)
		rs "$tool" -- "$B/empty_uprobe" -c "$bin" "$EMPTY_SITES" "$p"; tpid=$RS
		wait_for "$tool" 'empty_uprobe: attached|^runstat: .* status' 30 || log "$cfg round $r: empty_uprobe not attached after 30 s"
		;;
	esac
	kill -CONT "$p"
	wait_pid "$jpid" $((SVC_DUR + 60))
	# mapwatch -p ends when the service does; empty_uprobe is stopped
	[ -n "$tpid" ] && { if [ "$cfg" = empty ]; then wait_pid "$tpid" 0 INT; else wait_pid "$tpid" 10 INT; fi; }
	ops=$(awk '/gosvc: done in/ { for (i = 1; i <= NF; i++) if ($i == "ops,") print $(i - 1) }' "$out")
	rate=$(awk '/gosvc: done in/ { for (i = 1; i <= NF; i++) if ($i == "ops/s,") print $(i - 1) }' "$out")
	cpu=$(rs_cpu "$out") st=$(rs_field "$out" status)
	hits=NA alerts=NA tcpu=NA
	if [ "$cfg" = empty ]; then
		if grep -q 'empty_uprobe: attached' "$tool"; then
			hits=$(awk '/empty_uprobe: hits/ { for (i = 1; i < NF; i++) if ($i == "hits") print $(i + 1) }' "$tool" | tail -1)
			alerts=NA tcpu=$(rs_cpu "$tool")
		else
			ops=""
		fi
	elif [ -n "$tpid" ]; then
		if grep -q 'mapwatch: watching pid' "$tool"; then
			hits=$(awk '/ events, .* probe hits/ { for (i = 1; i <= NF; i++) if ($i == "probe") print $(i - 1) }' "$tool" | tail -1)
			alerts=$(awk '/ alerts: / { for (i = 1; i <= NF; i++) if ($i == "alerts:") print $(i - 1) }' "$tool" | tail -1)
			tcpu=$(rs_cpu "$tool")
		else
			ops="" # not probed: no row
		fi
	fi
	[ "$st" = 0 ] || { log "$cfg round $r: the service exited with status $st"; ops=""; }
	echo "$cfg $r ${ops:-NA} ${rate:-NA} ${cpu:-NA} ${hits:-NA} ${alerts:-NA} ${tcpu:-NA}" >>"$RES/svc.txt"
}
if [ "${#SVC_CFGS[@]}" -gt 0 ]; then
	log "1/2 gosvc: ${SVC_CFGS[*]} × $SVC_ROUNDS rounds of $SVC_DUR s"
	for r in $(seq 1 "$SVC_ROUNDS"); do
		for cfg in "${SVC_CFGS[@]}"; do svc_run "$cfg" "$r"; done
	done
fi

# ---- 2. per hit: +0 against mapwatch's site --------------------------------------
hit_run() { # VER CFG ROUND
	local v=$1 cfg=$2 r=$3 bin=$B/go/$1/assignbench out="$RES/hit-$1-$2-$3.out" tool="$RES/hit-$1-$2-$3.tool.out"
	local sym=runtime.mapassign_fast64 tpid hits=NA
	case $cfg in
	none) "$bin" "$HIT_N" >"$out" 2>&1 ;;
	plus0|site)
		[ "$cfg" = site ] && sym="$sym${SITE[$v]}"
		: >"$tool"
		"$B/empty_uprobe" -c "$PWD/$bin" "$sym" >"$tool" 2>&1 &
		tpid=$!
		if wait_for "$tool" 'attached|cannot' 10 && grep -q attached "$tool"; then
			"$bin" "$HIT_N" >"$out" 2>&1
		else
			log "Go $v $cfg: empty_uprobe did not attach: $(head -1 "$tool")"
			: >"$out"
		fi
		kill -INT "$tpid" 2>/dev/null
		wait "$tpid" 2>/dev/null
		hits=$(awk '/empty_uprobe: hits/ { print $3 }' "$tool") ;;
	esac
	awk -v v="$v" -v c="$cfg" -v r="$r" -v h="${hits:-NA}" '/^assignbench:/ {
		for (i = 1; i < NF; i++) { if ($i == "calls") calls = $(i + 1); if ($i == "thread_cpu_ns_per_write") ns = $(i + 1)
			if ($i == "wall_ns_per_write") w = $(i + 1); if ($i == "xol") x = $(i + 1) }
		print v, c, r, ns, w, calls, h, x; found = 1 }
		END { if (!found) print v, c, r, "NA NA NA", h, "NA" }' "$out" >>"$RES/hits.txt"
}
HIT_DO=()
for v in "${HIT_VERS[@]}"; do [ "${HIT_OK[$v]}" = 1 ] && HIT_DO+=("$v"); done
if [ "$EMPTY_OK" = 1 ] && [ "${#HIT_DO[@]}" -gt 0 ]; then
	log "2/2 per hit: Go ${HIT_DO[*]} × none/+0/site × $HIT_ROUNDS rounds of $HIT_N writes"
	for r in $(seq 1 "$HIT_ROUNDS"); do
		for v in "${HIT_DO[@]}"; do
			for cfg in none plus0 site; do hit_run "$v" "$cfg" "$r"; done
		done
	done
fi

meta_end "$RES/meta.env"
fi
[ -f "$RES/meta.env" ] || { log "no results in $RES"; exit 1; }
declare -A HIT_OK=() SITE=() SITE_DESC=() P0_INSN=() SITE_INSN=() GOVER=()
. "$RES/meta.env"

# ---- tables ----------------------------------------------------------------------
# svc.txt: cfg round ops rate cpu hits alerts tool_cpu
svc_col() { awk -v c="$1" -v k="$2" '$1 == c && $3 != "NA" && $k != "NA" { print $k }' "$RES/svc.txt" 2>/dev/null; }
# CPU s per million ops, per run
svc_cpm() { awk -v c="$1" '$1 == c && $3 != "NA" && $5 != "NA" && $3 > 0 { print $5 / $3 * 1e6 }' "$RES/svc.txt" 2>/dev/null; }
# per-round ratio of CFG to the unprobed run of the same round: K = cpm | rate
svc_ratio() {
	awk -v c="$1" -v k="$2" '$3 != "NA" && $3 > 0 && $5 != "NA" {
		v = (k == "cpm") ? $5 / $3 * 1e6 : $4
		if ($1 == "base") b[$2] = v; else if ($1 == c) x[$2] = v }
		END { for (r in x) if (r in b && b[r] > 0) print x[r] / b[r] }' "$RES/svc.txt" 2>/dev/null
}
T1=$({
	echo "| configuration | throughput, ops/s | × unprobed | service CPU, s per M map ops | × unprobed | probe hits per map op | the tool's own CPU per run, s | alerts | runs |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for cfg in base empty mapwatch reads race; do
		case $cfg in
		base) name="unprobed (\`go build\`, Go $SVC_GO)" ;;
		empty) name="empty uprobes at mapwatch's ${NEMPTY:-?} sites (\`bench/empty_uprobe\`)" ;;
		mapwatch) name="**mapwatch** \`-p PID\` (writes and iterations probed)" ;;
		reads) name="**mapwatch** \`--reads -p PID\` (lookups probed too)" ;;
		race) name="\`go build -race\` (Go $SVC_GO)" ;;
		esac
		n=$(svc_col "$cfg" 3 | wc -l)
		if [ "$n" = 0 ]; then
			why="not measured"
			[ "$cfg" = race ] && [ "${RACE_OK:-0}" != 1 ] && why="not measured: ${RACE_WHY:-the -race build failed}"
			[ "$cfg" != race ] && [ "${SVC_OK:-0}" != 1 ] && why="not measured: gosvc did not build"
			echo "| $name | — | — | — | — | — | — | — | 0 ($why) |"
			continue
		fi
		rate=$(svc_col "$cfg" 4 | median) rr=$(svc_col "$cfg" 4 | range %.0f)
		cpm=$(svc_cpm "$cfg" | median) cr=$(svc_cpm "$cfg" | range %.1f)
		if [ "$cfg" = base ]; then
			x1="1.00" x2="1.00"
		else
			x1="$(svc_ratio "$cfg" rate | median | xargs printf '%.2f') ($(svc_ratio "$cfg" rate | range %.2f))"
			x2="$(svc_ratio "$cfg" cpm | median | xargs printf '%.2f') ($(svc_ratio "$cfg" cpm | range %.2f))"
		fi
		hpo="—" tc="—" al="—"
		if [ "$cfg" = empty ] || [ "$cfg" = mapwatch ] || [ "$cfg" = reads ]; then
			hpo=$(awk -v c="$cfg" '$1 == c && $3 != "NA" && $6 != "NA" && $3 > 0 { print $6 / $3 }' "$RES/svc.txt" | median | xargs printf '%.2f')
			tc="$(svc_col "$cfg" 8 | median | xargs printf '%.2f') ($(svc_col "$cfg" 8 | range %.2f))"
			[ "$cfg" != empty ] && al=$(svc_col "$cfg" 7 | awk '{ s += $1 } END { print s + 0 }')
		fi
		printf '| %s | %.0f (%s) | %s | %.1f (%s) | %s | %s | %s | %s | %d |\n' "$name" "$rate" "$rr" "$x1" "$cpm" "$cr" "$x2" "$hpo" "$tc" "$al" "$n"
	done
})

# hits.txt: ver cfg round thread_ns wall_ns calls hits xol
hit_col() { awk -v v="$1" -v c="$2" -v k="$3" '$1 == v && $2 == c && $4 != "NA" { print $k }' "$RES/hits.txt" 2>/dev/null; }
# per-round per-hit cost: CFG − none of the same round
hit_cost() {
	awk -v v="$1" -v c="$2" '$1 == v && $4 != "NA" { if ($2 == "none") b[$3] = $4; else if ($2 == c) x[$3] = $4 }
		END { for (r in x) if (r in b) print x[r] - b[r] }' "$RES/hits.txt" 2>/dev/null
}
hit_ratio() {
	awk -v v="$1" '$1 == v && $4 != "NA" { if ($2 == "none") b[$3] = $4; else if ($2 == "plus0") p[$3] = $4; else if ($2 == "site") s[$3] = $4 }
		END { for (r in p) if ((r in s) && (r in b) && s[r] > b[r]) print (p[r] - b[r]) / (s[r] - b[r]) }' "$RES/hits.txt" 2>/dev/null
}
RATIOS=""
T2=$({
	echo "| Go | probe at | instruction | thread CPU ns per write | per hit, ns | hits / calls | \`[uprobes]\` area |"
	echo "|---|---|---|---:|---:|---|---|"
	for v in 1.19 1.23; do
		if [ "${HIT_OK[$v]:-0}" != 1 ] || [ -z "$(hit_col "$v" none 4)" ]; then
			echo "| $v | — | — | — | — | — | not measured (no Go $v toolchain, or no empty uprobe) |"
			continue
		fi
		for cfg in none plus0 site; do
			case $cfg in
			none) at="no probe" ins="—" ;;
			plus0) at="+0x0" ins="\`${P0_INSN[$v]}\` (stack check)" ;;
			site) at="${SITE[$v]} (mapwatch's site)" ins="\`${SITE_INSN[$v]}\` (mapwatch: ${SITE_DESC[$v]})" ;;
			esac
			if [ -z "$(hit_col "$v" "$cfg" 4)" ]; then
				echo "| ${GOVER[$v]:-$v} | $at | $ins | — | — | — | not measured |"
				continue
			fi
			ns="$(hit_col "$v" "$cfg" 4 | median | xargs printf '%.1f') ($(hit_col "$v" "$cfg" 4 | range %.1f))"
			cost="—" hc="—" xo="—"
			if [ "$cfg" != none ]; then
				cost="$(hit_cost "$v" "$cfg" | median | xargs printf '%.0f') ($(hit_cost "$v" "$cfg" | range %.0f))"
				hc="$(hit_col "$v" "$cfg" 7 | span) / $(hit_col "$v" "$cfg" 6 | head -1)"
			fi
			xo=$(hit_col "$v" "$cfg" 8 | sort | uniq -c | awk '{ printf "%s%s in %d", (NR > 1 ? ", " : ""), $2, $1 }')
			xo="$xo of $(hit_col "$v" "$cfg" 8 | wc -l) runs"
			echo "| ${GOVER[$v]:-$v} | $at | $ins | $ns | $cost | $hc | $xo |"
		done
		if [ -n "$(hit_ratio "$v")" ]; then
			RATIOS="$RATIOS${RATIOS:+; }Go $v: $(hit_ratio "$v" | median | xargs printf '%.1f')× ($(hit_ratio "$v" | range %.1f))"
		fi
	done
	echo
	echo "Per hit, (+0) ÷ (mapwatch's site), median of the per-round ratios (range): ${RATIOS:-not measured}."
})

FLATPCT=$(awk -v f="${FLAT:-}" -v r="$((SVC_RATE * 8))" 'BEGIN { if (f > 0) printf "%.0f%%", 100 * r / f; else print "not measured" }')
# How much of the service's extra CPU under mapwatch the probe hits account
# for, at the per-hit cost of an empty program at Go 1.23's site (part 2).
ACCOUNT=""
hc123=$(hit_cost 1.23 site | median)
if [ -n "$hc123" ] && [ -n "$(svc_cpm mapwatch | median)" ]; then
	for cfg in mapwatch reads; do
		[ -n "$(svc_cpm "$cfg" | median)" ] || continue
		ACCOUNT="$ACCOUNT$(awk -v c="$cfg" -v hc="$hc123" -v b="$(svc_cpm base | median)" -v m="$(svc_cpm "$cfg" | median)" \
			-v h="$(awk -v c="$cfg" '$1 == c && $3 != "NA" && $6 != "NA" && $3 > 0 { print $6 / $3 }' "$RES/svc.txt" | median)" 'BEGIN {
			printf "%s%s: the service CPU grew by %.1f s per M map ops (median against median); its %.2f probe hits per map op, at %.0f ns each (an empty program at the Go 1.23 site, next table), account for %.1f s of that.",
				(c == "reads" ? " " : ""), (c == "reads" ? "With `--reads`" : "Under mapwatch"), m - b, h, hc, h * hc / 1000 }')"
	done
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MACHINE="Machine: ${cpu:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r), ${DATE_END:-$(date -u '+%Y-%m-%d %H:%M UTC')}; $(for v in "${HIT_VERS[@]}"; do [ -n "${GOVER[$v]:-}" ] && printf '%s, ' "${GOVER[$v]}"; done)clang $(clang -dumpversion). $([ "$QUICK" = 1 ] && echo 'Quick pass (BENCH_QUICK=1): few rounds, read with care.' || echo 'Full pass.') Measured in ${T_ELAPSED:-?} s; load average ${LOAD_START:-?} at the start, ${LOAD_END:-?} at the end (the machine is shared)."
BLOCK=$(cat <<EOF
$MACHINE

#### gosvc end to end

\`gosvc ${SVC_ARGS[*]} --duration $SVC_DUR\` (8 goroutines: 2 writers, 2 iterators
copying the map, 4 readers; 20 µs of CPU work per operation; $SVC_RATE operations/s per
goroutine: $((SVC_RATE * 8)) ops/s against ${FLAT:-?} ops/s for the unprobed service flat out
in this run ($FLATPCT), so that the service is not saturated), $SVC_ROUNDS interleaved rounds. Each run starts stopped at
its exec (\`bench/runstat -S\`); mapwatch attaches with \`-p\`, then the service is
continued, so the whole run is probed. Service CPU = user + system time of the
service alone (\`wait4\`), divided by its map operations (writes + iterations +
lookups, from its summary line); throughput from the same line. Medians with
ranges; × unprobed is the median (range) of each round's ratio to that round's
unprobed run. The service is built from \`target/gosvc\` with Go $SVC_GO, as \`build/gosvc\`,
except that its work loop takes the rate calibrated once natively (${RPU:-?} rounds/µs)
instead of calibrating itself: a \`-race\` build calibrates under the race
detector, which instruments that loop, and would hide its cost.

$T1

$ACCOUNT

#### Per hit: +0 against mapwatch's site

\`bench/go/assign\` makes $HIT_N writes (\`runtime.mapassign_fast64\`, a 64-entry
map that never grows) on a goroutine locked to its thread and reads that
thread's CPU time (\`CLOCK_THREAD_CPUTIME_ID\`); bare, and under an empty BPF
program (\`bench/empty_uprobe -c\`, attached by symbol + offset) at +0 and at the
site \`mapwatch -v\` prints. Hits from the kernel's BPF run count; calls include
64 warm-up writes; at +0 the few extra hits are the function entered again
by \`morestack\`, which jumps back to +0. \`[uprobes]\` is the single-step area the kernel maps
into a process the first time it single-steps a probed instruction. Per hit =
that round's ns per write − the bare run's; $HIT_ROUNDS interleaved rounds, medians
(ranges).

$T2
EOF
)
printf '%s\n' "$BLOCK"

readme_block bench-go "$BLOCK"
log "done in $(($(date +%s) - T_START)) s"
exit 0
}
