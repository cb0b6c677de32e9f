#!/usr/bin/env bash
# Runs every test suite and ends with one line `N passed, N failed`.
#
# A suite is a unit-test binary (build/asan/tests/test_*) or a shell test
# (tests/e2e_*.sh). Each prints `RESULT <passed> <failed>` as its last
# counting line; a suite that crashes or prints no RESULT counts as one
# failure. Exit status is non-zero when anything failed.
#   tests/run.sh [PATTERN]   run only suites whose name contains PATTERN
set -u
cd "$(dirname "$0")/.."
unset GOMAP_ONRACE   # a caller's count mode would change what the runtime tests see
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pat=${1:-}
total_pass=0 total_fail=0
failed_suites=()
logdir=build/test-logs
mkdir -p "$logdir"

run_suite() {
	local name=$1; shift
	local log="$logdir/$name.log" start end res p f rc
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	res=$(grep -E '^RESULT [0-9]+ [0-9]+$' "$log" | tail -1)
	if [ -z "$res" ]; then
		p=0 f=1
	else
		p=$(echo "$res" | cut -d' ' -f2) f=$(echo "$res" | cut -d' ' -f3)
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
	printf '%-28s %4d passed %3d failed  (%ds)\n' "$name" "$p" "$f" $((end - start))
	if [ "$f" -ne 0 ]; then
		failed_suites+=("$name")
		grep -E '^(FAIL|  )|ERROR|Sanitizer|runtime error' "$log" | head -40 | sed 's/^/    | /'
	fi
}

for t in build/asan/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	[ -n "$pat" ] && [[ "$n" != *"$pat"* ]] && continue
	run_suite "$n" "$t"
done
for t in tests/e2e_*.sh; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .sh)
	[ -n "$pat" ] && [[ "$n" != *"$pat"* ]] && continue
	run_suite "$n" bash "$t"
done

[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]} (logs in $logdir/)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
