#!/usr/bin/env bash
# bench.sh — what `make bench` runs: every benchmark, each writing its tables
# into README.md between its own markers.
#   scripts/bench-gomap.sh   libgomap against Go's map (when present)
#   bench/tools.sh           mapwatch against an empty uprobe, bpftrace, TSan,
#                            helgrind and drd
#   bench/probe_site.sh      a probed call at the old probe site (the 5-byte
#                            nop) and at the current one (push %rbp)
# BENCH_QUICK=1 runs a short pass of each, for development.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
if [ -f scripts/bench-gomap.sh ]; then
	if [ "${BENCH_QUICK:-0}" = 1 ]; then
		bash scripts/bench-gomap.sh 2 0.1 || rc=1
	else
		bash scripts/bench-gomap.sh || rc=1
	fi
fi
bash bench/tools.sh || rc=1
bash bench/probe_site.sh || rc=1
exit $rc
