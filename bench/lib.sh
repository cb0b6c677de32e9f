# bench/lib.sh — helpers shared by the benchmark scripts (sourced, not run).
# Expects B (the build directory of the benchmarks) to be set; LOG_TAG names
# the script in its messages.
# shellcheck shell=bash disable=SC2034

log() { echo "${LOG_TAG:-bench}: $*" >&2; }

# rs OUT [RUNSTAT-OPTS] -- CMD... — run CMD under runstat in the background; $RS is runstat's pid.
rs() {
	local out=$1
	shift
	: >"$out"
	"$B/runstat" -o "$out" "$@" &
	RS=$!
}
# wait_for FILE ERE SECONDS — until a line of FILE matches ERE.
wait_for() {
	local i n
	n=$(awk -v s="$3" 'BEGIN { printf "%d", s * 50 }')
	for ((i = 0; i < n; i++)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}
# wait_pid PID SECONDS [SIG] — wait for a background job; signal it at the deadline.
wait_pid() {
	local i n
	n=$(awk -v s="$2" 'BEGIN { printf "%d", s * 50 }')
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -"${3:-TERM}" "$1" 2>/dev/null
		for ((i = 0; i < 500; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.02; done
		kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	return 0
}
child_pid() { awk 'NR == 1 && /^runstat: pid/ { print $3 }' "$1"; }
start_time() { awk 'NR == 1 && /^runstat: pid/ { print $5 }' "$1"; }
# rs_field FILE NAME — a field of runstat's last line (wall, maxrss_kb, status, cpu_user_s, cpu_sys_s)
rs_field() { awk -v f="$2" '/^runstat: pid .* status/ { for (i = 3; i < NF; i++) if ($i == f) v = $(i + 1) } END { print v }' "$1"; }
# rs_cpu FILE — user + system CPU seconds of the command runstat ran
rs_cpu() { awk '/^runstat: pid .* status/ { for (i = 3; i < NF; i++) { if ($i == "cpu_user_s") u = $(i + 1); if ($i == "cpu_sys_s") s = $(i + 1) } } END { if (u != "") printf "%.4f\n", u + s }' "$1"; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# range FMT — "lo–hi" of the numbers on stdin
range() { sort -g | awk -v f="$1" 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf f "–" f, lo, hi }'; }

# build_runstat — bench/runstat into $B
build_runstat() {
	clang -O2 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE bench/runstat.c -o "$B/runstat"
}
# build_empty_uprobe — bench/empty_uprobe into $B; status 0 when it built
# shellcheck disable=SC2046 # pkg-config's words are separate flags
build_empty_uprobe() {
	local ok=1
	clang -g -O2 -target bpf -I"/usr/include/$(clang -print-multiarch)" \
		-c bench/empty_uprobe.bpf.c -o "$B/empty_uprobe.tmp.o" &&
	bpftool gen object "$B/empty_uprobe.bpf.o" "$B/empty_uprobe.tmp.o" &&
	bpftool gen skeleton "$B/empty_uprobe.bpf.o" name empty_uprobe_bpf >"$B/empty_uprobe.skel.h" &&
	clang -O2 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -I"$B" bench/empty_uprobe.c -o "$B/empty_uprobe" \
		$(pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz) && ok=0
	rm -f "$B/empty_uprobe.tmp.o"
	return $ok
}
# probe_sites MAPWATCH CMD... — where mapwatch puts its probes in CMD's binary
# (its -v output), as SYMBOL+OFF,SYMBOL+OFF,... for bench/empty_uprobe
probe_sites() {
	local mw=$1
	shift
	"$mw" -v --plain -d 0.5 -- "$@" 2>&1 |
		sed -n 's/^mapwatch: probe \([A-Za-z0-9_.]*\) ([a-z]*) at \(+0x[0-9a-f]*\),.*/\1\2/p' | paste -sd, -
}
# readme_block NAME BLOCK — put BLOCK into README.md between
# <!-- NAME:start --> and <!-- NAME:end --> (unless BENCH_NO_README=1)
readme_block() {
	if [ "${BENCH_NO_README:-0}" != 1 ] && grep -q "<!-- $1:start -->" README.md && grep -q "<!-- $1:end -->" README.md; then
		BLOCK="$2" awk -v s="<!-- $1:start -->" -v e="<!-- $1:end -->" '
			$0 == s { print; print ENVIRON["BLOCK"]; skip = 1; next }
			$0 == e { skip = 0 }
			!skip' README.md >README.md.tmp && mv README.md.tmp README.md
		log "tables written into README.md"
	fi
}

# Services whose work loop takes its rate from BENCH_WORK_RPU. mapsvc and gosvc
# calibrate their --work loop at start-up, inside the process: under TSan,
# -race or Valgrind that would shrink the work to match the slowed clock and
# hide the tool's cost. These copies call one function after the calibration
# that takes the native rate from BENCH_WORK_RPU (or prints the calibrated
# one, "bench: work_rounds_per_usec R"); same code otherwise.
#
# mapsvc_fw_src OUT.c — target/mapsvc.c so patched; status 0 when the patch applied
mapsvc_fw_src() {
	{
		echo 'static void bench_fixed_work(void);'
		echo '#line 1 "target/mapsvc.c"'
		sed -E 's/^([[:space:]]*)work_calibrate\(\);/\1{ work_calibrate(); bench_fixed_work(); }/' target/mapsvc.c
		cat <<'EOC'
/* added by the benchmark: the work loop's rate from the environment */
static void bench_fixed_work(void)
{
	const char *s = getenv("BENCH_WORK_RPU");

	if (s && *s)
		work_rounds_per_usec = atof(s);
	else
		fprintf(stderr, "bench: work_rounds_per_usec %.4f\n", work_rounds_per_usec);
}
EOC
	} >"$1"
	grep -q '{ work_calibrate(); bench_fixed_work(); }' "$1"
}
# gosvc_fw_src DIR — target/gosvc so patched, as the package DIR/gosvc;
# status 0 when the patch applied
gosvc_fw_src() {
	local src=$1/gosvc
	rm -rf "$1"
	mkdir -p "$src"
	cp target/gosvc/*.go "$src/"
	sed -i -E 's/^(\t+)workCalibrate\(\)$/\1workCalibrate()\n\1benchFixedWork()/' "$src/gosvc.go"
	cat >"$src/zz_bench_fixed_work.go" <<'EOG'
package main

// Added by the benchmark: the work loop's rate from BENCH_WORK_RPU, so that
// every configuration (a -race build included) does the same work per
// operation; without it, the rate it calibrated is printed.

import (
	"fmt"
	"os"
	"strconv"
)

func benchFixedWork() {
	if v, err := strconv.ParseFloat(os.Getenv("BENCH_WORK_RPU"), 64); err == nil && v > 0 {
		workRoundsPerUsec = v
		return
	}
	fmt.Fprintf(os.Stderr, "bench: work_rounds_per_usec %.4f\n", workRoundsPerUsec)
}
EOG
	grep -q 'benchFixedWork()$' "$src/gosvc.go"
}
# native_rpu N CMD... — the work loop's native rate: the best of N
# calibrations by CMD (load on a shared machine only ever makes it look slower)
native_rpu() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		BENCH_WORK_RPU='' "$@" 2>&1 | awk '/work_rounds_per_usec/ { print $3 }'
	done | sort -g | tail -1
}
# meta_end FILE — add the run's elapsed time (from T_START), the load average
# and the date to FILE
meta_end() {
	{
		echo "T_ELAPSED=$(($(date +%s) - T_START))"
		echo "LOAD_END=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
		echo "DATE_END=\"$(date -u '+%Y-%m-%d %H:%M UTC')\""
	} >>"$1"
}
