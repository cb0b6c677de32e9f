#!/usr/bin/env bash
# e2e_metrics.sh — the Prometheus endpoint end to end, as root.
#
# (a) `mapwatch --metrics` on build/progs/races iterwrite 100: /metrics parses
#     (HELP and TYPE before every family's samples, every sample
#     `name{labels} value`), mapwatch_races_total adds up to the summary's
#     alerts, the site is the finding's writer line; 404 elsewhere; a live run
#     shows the process being watched and counters that only grow.
# (b) a real Prometheus server (Debian's package) scraping mapwatch every
#     second: `sum(mapwatch_races_total)` in its HTTP API reaches mapwatch's
#     own summary `alerts`, and a series with binary="races" exists.
# (c) errors: an invalid address, a port in use, a bad linger: one line each.
# Uses build/asan/mapwatch when built (MW=... overrides). Waits poll with a
# deadline, never sleep-then-assert. Ends with `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
bg=()
cleanup() {
	for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	kill_tree $$
	rm -rf "$tmp"
}
trap cleanup EXIT

need_built build/progs/races "$MW"
need_root e2e_metrics
for t in curl jq prometheus; do
	command -v "$t" >/dev/null || abort "$t is not installed (run make deps)"
done

has_summary() { grep -qs '^{"type":"summary"' "$1"; }

# ---- (b) first: Prometheus starts while (a) runs -------------------------------------
mport=$(pick_port) pport=$(pick_port)
while [ "$pport" = "$mport" ]; do pport=$(pick_port); done
mkdir -p "$tmp/prom"
cat >"$tmp/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mapwatch
    static_configs:
      - targets: ['127.0.0.1:$mport']
EOF
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/prom" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn >"$tmp/prom.log" 2>&1 &
prom=$!; bg+=("$prom")
prom_q() { # QUERY → the first result's value, or nothing
	curl -s --max-time 2 -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}

# ---- (a) one run, scraped after it ended (while it lingers) ----------------------------
aport=$(pick_port)
while [ "$aport" = "$mport" ] || [ "$aport" = "$pport" ]; do aport=$(pick_port); done
"$MW" --metrics "127.0.0.1:$aport" --metrics-linger 30 --json -d 30 -- build/progs/races iterwrite 100 \
	>"$tmp/a.out" 2>"$tmp/a.err" &
mw=$!; bg+=("$mw")
if wait_until 30 has_summary "$tmp/a.out"; then
	ok "--metrics run ends with its summary line while still serving"
else
	bad "--metrics run: no summary within 30 s" "$tmp/a.out" "$tmp/a.err"
fi
curl -s -D "$tmp/a.hdr" -o "$tmp/a.prom" --max-time 5 "http://127.0.0.1:$aport/metrics"
check "GET /metrics: 200, Content-Type text/plain; version=0.0.4" \
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/a.hdr"
check "GET /metrics: HTTP 200" grep -q '^HTTP/1.1 200 OK' "$tmp/a.hdr"

# The exposition: comments are HELP or TYPE; each sample's family has both before it.
parse=$(awk '
	/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { help[$3] = 1; next }
	/^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/ { type[$3] = 1; next }
	/^#/ { print "bad comment: " $0; next }
	{
		if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.]+([eE][-+]?[0-9]+)?$/) {
			print "bad sample: " $0; next
		}
		name = $0; sub(/[{ ].*/, "", name)
		if (!help[name] || !type[name]) print "no HELP/TYPE before: " $0
		n++
	}
	END { if (n < 10) print "only " n+0 " samples" }' "$tmp/a.prom")
if [ -z "$parse" ] && [ -s "$tmp/a.prom" ]; then
	ok "the exposition parses ($(grep -vc '^#' "$tmp/a.prom") samples, HELP and TYPE for each family)"
else
	bad "the exposition does not parse: $(head -3 <<<"$parse")" "$tmp/a.prom"
fi
check "mapwatch_races_total has a # HELP line" grep -q '^# HELP mapwatch_races_total ' "$tmp/a.prom"

alerts=$(summary "$tmp/a.out" | jq -r .alerts)
races=$(awk '/^mapwatch_races_total\{/ { s += $NF } END { print s + 0 }' "$tmp/a.prom")
check "sum of mapwatch_races_total ($races) = the summary's alerts ($alerts), 100 forced races" \
	[ "$races" = "$alerts" -a "$alerts" = 100 ]
# The site is the finding's writer location, as file:line.
wsite=$(grep '"type":"finding"' "$tmp/a.out" | head -1 | jq -r .writer | sed -n 's/.* (\(.*\))$/\1/p')
check "iter-write series of binary races at the writer's line ($wsite)" \
	grep -q "^mapwatch_races_total{kind=\"iter-write\",binary=\"races\",site=\"$wsite\"} 100$" "$tmp/a.prom"
hits=$(summary "$tmp/a.out" | jq -r .probe_hits) recs=$(summary "$tmp/a.out" | jq -r .records)
hits_recs() {
	grep -q "^mapwatch_probe_hits_total{binary=\"races\"} $hits\$" "$tmp/a.prom" &&
		grep -q "^mapwatch_records_total $recs\$" "$tmp/a.prom"
}
check "probe hits ($hits) and records ($recs) as the summary says" hits_recs
check "after the run: no process watched, drops by cause, build info" \
	bash -c "grep -q '^mapwatch_processes_watched 0$' '$tmp/a.prom' &&
		 grep -q '^mapwatch_drops_total{cause=\"ring_buffer\"} 0$' '$tmp/a.prom' &&
		 grep -q '^mapwatch_build_info{version=\"[0-9.]*\"} 1$' '$tmp/a.prom' &&
		 grep -q '^mapwatch_resident_memory_bytes [1-9][0-9]*$' '$tmp/a.prom'"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$aport/")
check "other paths: 404 ($code)" [ "$code" = 404 ]
# Ctrl-C ends the linger at once, with the command's status.
t0=$SECONDS
kill -INT "$mw"; wait "$mw"; rc=$?
check "SIGINT ends --metrics-linger promptly, exit 0 (exit $rc, $((SECONDS - t0)) s)" [ "$rc" = 0 -a $((SECONDS - t0)) -le 3 ]
check "no stderr from the run" [ ! -s "$tmp/a.err" ]

# ---- a live run: the process is watched, counters only grow --------------------------
lport=$(pick_port)
"$MW" --metrics "127.0.0.1:$lport" --plain -- build/progs/races iterwrite 1000000 >"$tmp/l.out" 2>"$tmp/l.err" &
mwl=$!; bg+=("$mwl")
live_races() { # → the races sum of one scrape, once the process is watched with races
	curl -s --max-time 2 "http://127.0.0.1:$lport/metrics" >"$tmp/l.prom" 2>/dev/null &&
		grep -q '^mapwatch_processes_watched 1$' "$tmp/l.prom" &&
		awk '/^mapwatch_races_total\{/ { s += $NF } END { exit !(s > 0) }' "$tmp/l.prom"
}
if wait_until 20 live_races; then
	r1=$(awk '/^mapwatch_races_total\{/ { s += $NF } END { print s }' "$tmp/l.prom")
	pid=$(sed -n 's/^mapwatch_process_info{pid="\([0-9]*\)",binary="races",runtime="libgomap"} 1$/\1/p' "$tmp/l.prom")
	wait_until 10 bash -c "curl -s --max-time 2 http://127.0.0.1:$lport/metrics | awk '/^mapwatch_races_total\\{/ { s += \$NF } END { exit !(s > $r1) }'"
	r2=$(curl -s --max-time 2 "http://127.0.0.1:$lport/metrics" | awk '/^mapwatch_races_total\{/ { s += $NF } END { print s }')
	if [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$r2" -gt "$r1" ]; then
		ok "live: process_info names pid $pid, binary races, runtime libgomap; races grow ($r1 → $r2)"
	else
		bad "live: pid '$pid', races $r1 → $r2" "$tmp/l.prom" "$tmp/l.err"
	fi
else
	bad "live: no watched process with races within 20 s" "$tmp/l.prom" "$tmp/l.err"
fi
kill -INT "$mwl"; wait "$mwl"
lal=$(sed -n 's/^mapwatch: \([0-9]*\) alerts:.*/\1/p' "$tmp/l.out")
check "live run stopped by SIGINT prints its summary ($lal alerts)" [ -n "$lal" ]

# ---- (b) Prometheus scrapes a run --------------------------------------------------------
prom_ready() { curl -s --max-time 1 "http://127.0.0.1:$pport/-/ready" | grep -qi ready; }
if wait_until 20 prom_ready; then
	ok "prometheus $(prometheus --version 2>&1 | awk 'NR==1 { print $3 }') is up on 127.0.0.1:$pport"
else
	bad "prometheus did not become ready in 20 s" "$tmp/prom.log"
fi
"$MW" --metrics "127.0.0.1:$mport" --metrics-linger 25 --json -- build/progs/races iterwrite 100 \
	>"$tmp/b.out" 2>"$tmp/b.err" &
mwb=$!; bg+=("$mwb")
wait_until 30 has_summary "$tmp/b.out"
balerts=$(summary "$tmp/b.out" | jq -r '.alerts // empty')
prom_final() { [ "$(prom_q 'sum(mapwatch_races_total)')" = "$balerts" ]; }
t0=$SECONDS
if [ -n "$balerts" ] && wait_until 20 prom_final; then
	ok "prometheus: sum(mapwatch_races_total) = $balerts = mapwatch's summary alerts ($((SECONDS - t0)) s after the summary)"
else
	bad "prometheus: sum(mapwatch_races_total) '$(prom_q 'sum(mapwatch_races_total)')' != summary alerts '$balerts'" \
		"$tmp/b.out" "$tmp/b.err" "$tmp/prom.log"
fi
n=$(prom_q 'count(mapwatch_races_total{binary="races"})')
check "prometheus: mapwatch_races_total{binary=\"races\"} exists ($n series)" [ "${n:-0}" -ge 1 ]
up=$(prom_q 'up{job="mapwatch"}')
check "prometheus: the target is up ($up)" [ "$up" = 1 ]

# ---- (c) errors: one line each -------------------------------------------------------------
err_case() { # NAME WANT-STATUS PATTERN CMD...
	local name=$1 want=$2 pat=$3; shift 3
	local out rc
	out=$("$@" 2>&1 </dev/null); rc=$?
	if [ "$rc" = "$want" ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q -- "$pat" <<<"$out"; then
		ok "$name: exit $want, '$out'"
	else
		fail=$((fail + 1)); echo "FAIL $name: want $want '$pat', got $rc: $out"
	fi
}
# The port Prometheus listens on is a port in use.
err_case "port in use" 1 "^mapwatch: cannot listen on 127.0.0.1:$pport: address already in use$" \
	"$MW" --metrics "127.0.0.1:$pport" --json -- build/progs/races iterwrite 1
err_case "invalid address" 1 "^mapwatch: invalid --metrics address nowhere: want IPV4:PORT, \[IPV6\]:PORT or :PORT$" \
	"$MW" --metrics nowhere --json -- build/progs/races iterwrite 1
err_case "port out of range" 1 "^mapwatch: invalid --metrics address 127.0.0.1:70000: port must be 1-65535$" \
	"$MW" --metrics 127.0.0.1:70000 --json -- build/progs/races iterwrite 1
err_case "address not on this host" 1 "^mapwatch: cannot listen on 192.0.2.1:9464: cannot assign requested address$" \
	"$MW" --metrics 192.0.2.1:9464 --json -- build/progs/races iterwrite 1
out=$("$MW" --metrics-linger -1 -- build/progs/races iterwrite 1 2>&1); rc=$?
check "a negative linger is a usage error (exit $rc)" [ "$rc" = 2 -a -n "$(grep 'invalid linger time: -1' <<<"$out")" ]
check "--help lists --metrics and --metrics-linger" \
	bash -c "'$MW' --help | grep -q -- '--metrics ADDR:PORT' && '$MW' --help | grep -q -- '--metrics-linger SEC'"

kill -INT "$mwb" 2>/dev/null; wait "$mwb" 2>/dev/null
kill "$prom" 2>/dev/null; wait "$prom" 2>/dev/null
finish
