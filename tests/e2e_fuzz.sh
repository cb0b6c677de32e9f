#!/usr/bin/env bash
# Runs every libFuzzer harness (build/fuzz/fuzz_*, from tests/fuzz_*.c) for
# FUZZ_TIME seconds (default 20), each on its corpus under build/fuzz-corpus/.
# One test per harness: it passes when the fuzzer finds nothing. Prints
# `RESULT <passed> <failed>` for tests/run.sh.
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_TIME:-20}
pass=0 fail=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

# A few seeds for the trace reader: a valid trace, and the shapes of its lines.
seed_trace() {
	local d=$1
	mkdir -p "$d"
	[ -n "$(ls -A "$d" 2>/dev/null)" ] && return 0
	local hdr='{"type":"header","format":"mapwatch-trace","version":1,"mapwatch":"0.1.0","pid":42,"comm":"mapsvc","exe":"/bin/x","clock":"CLOCK_MONOTONIC","start_ns":1000,"start_time":"2024-01-01T00:00:00.000000000Z"}'
	local ev='{"type":"event","ev":"write","ts":2000,"tid":7,"pid":42,"map":"0xc000010000","op":"assign","kind":"iter-write","other_tid":8,"other_ts":1500,"hiter":"0x7ffd00","count":3,"B":2,"hflags":0,"buckets":"0xc000020000","oldbuckets":"0x0","nevacuate":0,"bucket":18446744073709551615,"bucket_addr":"0x0","iter_bptr":"0xc000020040","iter_buckets":"0xc000020000","iter_bucket":1,"iter_B":2,"iter_i":3,"bucket_hit":1,"repeat":0,"stack_id":-1,"other_stack_id":-1,"aux":0,"aux2":0}'
	local it='{"type":"event","ev":"iter-start","ts":1500,"tid":8,"pid":42,"map":"0xc000010000","op":"none","kind":"none","other_tid":0,"other_ts":0,"hiter":"0x7ffd00","count":3,"B":2,"hflags":0,"buckets":"0xc000020000","oldbuckets":"0x0","nevacuate":0,"bucket":0,"bucket_addr":"0x0","iter_bptr":"0x0","iter_buckets":"0x0","iter_bucket":0,"iter_B":0,"iter_i":0,"bucket_hit":0,"repeat":0,"stack_id":-1,"other_stack_id":-1,"aux":0,"aux2":0}'
	local al='{"type":"alert","seq":1,"ts":2000,"kind":"iter-write","map":"0xc000010000","bucket":"0xc000020040","bucket2":"0x0","hiter":"0x7ffd00","writer_tid":7,"iter_tid":8,"overlap_ns":500,"confidence":"bucket","op":"assign","writer_stack":-1,"iter_stack":-1}'
	local su='{"type":"summary","events":2,"drops":0,"alerts":1,"alerts_by_kind":{"iter-write":1,"iter-grow":0,"write-write":0},"rows":1,"maps":1}'
	printf '%s\n%s\n%s\n%s\n%s\n' "$hdr" "$it" "$ev" "$al" "$su" >"$d/full"
	printf '%s\n%s\n' "$hdr" "$ev" >"$d/one"
	printf '%s\n%s' "$hdr" "${ev:0:100}" >"$d/cut"
	printf '%s\n' "$hdr" >"$d/header"
}

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
	corpus=build/fuzz-corpus/$name
	mkdir -p "$corpus" build/fuzz-artifacts
	[ "$name" = fuzz_trace ] && seed_trace "$corpus"
	log=build/fuzz-artifacts/$name.log
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-artifact_prefix=build/fuzz-artifacts/"$name"- "$corpus" >"$log" 2>&1; then
		echo "ok   $name ($(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1))"
		pass=$((pass + 1))
	else
		echo "FAIL $name (see $log)"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "RESULT $pass $fail"
[ "$fail" -eq 0 ]
