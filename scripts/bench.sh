#!/usr/bin/env bash
# bench.sh — what `make bench` runs: every benchmark, each writing its tables
# into README.md between its own markers.
#   bench/load.sh            the headline: mapwatch (exact and sampled) against
#                            empty uprobes, bpftrace, TSan and -race on mapsvc
#                            and gosvc at a fixed load (CPU per op, latency),
#                            and detection at known race rates
#   scripts/bench-gomap.sh   libgomap against Go's map (when present)
#   bench/tools.sh           mapwatch against an empty uprobe, bpftrace, TSan,
#                            helgrind and drd
#   bench/probe_site.sh      a probed call at the old probe site (the 5-byte
#                            nop) and at the current one (push %rbp)
#   bench/go.sh              mapwatch on a Go service (against unprobed and
#                            -race), and a Go probe hit at +0 and at its site
# BENCH_QUICK=1 runs a short pass of each, for development (BENCH_ROUNDS=2
# the same for bench/load.sh alone).
# BENCH_ONLY=LIST runs only these, comma-separated: load, gomap, tools, site, go
# (BENCH_ONLY=go make bench: only the Go tables; `make bench-load` is BENCH_ONLY=load).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
rc=0
sel=${BENCH_ONLY:-load,gomap,tools,site,go}
only=",$sel,"
for b in ${sel//,/ }; do
	case $b in load|gomap|tools|site|go) ;; *) echo "bench: BENCH_ONLY: unknown benchmark '$b' (load, gomap, tools, site, go)" >&2; exit 2 ;; esac
done
want() { [[ $only == *",$1,"* ]]; }
if want gomap && [ -f scripts/bench-gomap.sh ]; then
	if [ "${BENCH_QUICK:-0}" = 1 ]; then
		bash scripts/bench-gomap.sh 2 0.1 || rc=1
	else
		bash scripts/bench-gomap.sh || rc=1
	fi
fi
if want load; then bash bench/load.sh || rc=1; fi
if want tools; then bash bench/tools.sh || rc=1; fi
if want site; then bash bench/probe_site.sh || rc=1; fi
if want go; then bash bench/go.sh || rc=1; fi
exit $rc
