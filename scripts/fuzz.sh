#!/usr/bin/env bash
# scripts/fuzz.sh — fuzzing for time, outside `make test` (which only replays
# the committed corpus, tests/e2e_fuzz.sh). `make fuzz` and `make fuzz-merge`
# run it.
#
#   scripts/fuzz.sh run     every harness build/fuzz/NAME for FUZZ_SECONDS
#                           (default 60) on build/fuzz-corpus/NAME, which it
#                           grows, seeded from tests/corpus/NAME (read only).
#                           A crash is saved under build/fuzz-artifacts/ and
#                           fails the run: once fixed, add that input to
#                           tests/corpus/NAME as a regression input.
#   scripts/fuzz.sh merge   adds to tests/corpus/NAME the inputs of
#                           build/fuzz-corpus/NAME that reach an edge the
#                           committed ones do not (libFuzzer -merge=1 on edge
#                           coverage, -use_counters=0, so it stays small);
#                           review and commit what it added. The map runtime
#                           seeds its hash at random, so fuzz_gomap's coverage
#                           varies a little from run to run and a merge may
#                           add a few inputs that reach nothing new.
set -u
cd "$(dirname "$0")/.."
mode=${1:-run}
secs=${FUZZ_SECONDS:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
opts=(-timeout=10 -rss_limit_mb=2048 -max_len=8192)
status=0

for src in tests/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	bin=build/fuzz/$name
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is not built (make fuzz builds it)" >&2
		status=1
		continue
	fi
	work=build/fuzz-corpus/$name committed=tests/corpus/$name
	mkdir -p "$work" "$committed" build/fuzz-artifacts
	log=build/fuzz-artifacts/$name.$mode.log
	case $mode in
	run)
		echo "fuzz: $name for ${secs} s on $work (seeds: $committed)"
		if "$bin" "${opts[@]}" -max_total_time="$secs" -artifact_prefix=build/fuzz-artifacts/"$name"- \
			"$work" "$committed" >"$log" 2>&1; then
			echo "fuzz: $name: $(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1), corpus $(ls "$work" | wc -l) inputs"
		else
			echo "fuzz: $name FAILED (see $log)"
			grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
			status=1
		fi
		;;
	merge)
		before=$(ls "$committed" | wc -l)
		if "$bin" "${opts[@]}" -merge=1 -use_counters=0 "$committed" "$work" >"$log" 2>&1; then
			echo "fuzz: $name: $(($(ls "$committed" | wc -l) - before)) new inputs in $committed ($(ls "$committed" | wc -l) in all, $(du -sb "$committed" | cut -f1) bytes)"
		else
			echo "fuzz: $name: merge FAILED (see $log)"
			status=1
		fi
		;;
	*)
		echo "usage: scripts/fuzz.sh run|merge" >&2
		exit 2
		;;
	esac
done
exit $status
