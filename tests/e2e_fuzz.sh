#!/usr/bin/env bash
# e2e_fuzz.sh — replays the committed fuzz corpus: every file under
# tests/corpus/NAME/ runs once through build/fuzz/NAME (from tests/NAME.c),
# no mutation, no time budget. One test per harness: it passes when the
# harness ran every one of its inputs (at least one) and exited 0: no crash,
# no sanitizer report, no leak, no timeout. A harness without a corpus fails.
# Fuzzing for time is `make fuzz`, which can merge new finds into
# tests/corpus/ (see scripts/fuzz.sh). Prints `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
mkdir -p build/fuzz-artifacts

for src in tests/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	bin=build/fuzz/$name
	[ -x "$bin" ] || make --no-print-directory -s "$bin" >/dev/null 2>&1
	if [ ! -x "$bin" ]; then
		echo "FAIL $name (not built)"
		fail=$((fail + 1))
		continue
	fi
	inputs=()
	for f in tests/corpus/"$name"/*; do [ -f "$f" ] && inputs+=("$f"); done
	if [ ${#inputs[@]} = 0 ]; then
		echo "FAIL $name (no corpus in tests/corpus/$name; make fuzz && make fuzz-merge)"
		fail=$((fail + 1))
		continue
	fi
	log=build/fuzz-artifacts/$name.replay.log
	start=${EPOCHREALTIME/./}
	# Files (not the directory) as arguments: libFuzzer runs each once and
	# writes nothing next to them.
	"$bin" -timeout=10 -rss_limit_mb=2048 -artifact_prefix=build/fuzz-artifacts/"$name"- \
		"${inputs[@]}" >"$log" 2>&1
	rc=$?
	ms=$(((${EPOCHREALTIME/./} - start) / 1000))
	ran=$(grep -c '^Executed ' "$log")
	if [ "$rc" = 0 ] && [ "$ran" = ${#inputs[@]} ]; then
		echo "ok   $name: ${#inputs[@]} inputs replayed in $ms ms"
		pass=$((pass + 1))
	else
		echo "FAIL $name: exit $rc, $ran of ${#inputs[@]} inputs ran (see $log)"
		grep -E '^Running: |ERROR|SUMMARY|Test unit written' "$log" | grep -B1 -E 'ERROR|SUMMARY|Test unit' | head -6 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "RESULT $pass $fail"
[ "$fail" -eq 0 ]
