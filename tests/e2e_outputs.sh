#!/usr/bin/env bash
# e2e_outputs.sh — live and offline print the same thing (root).
#
# mapsvc (unsafe) is watched with -p under --plain and under --json, each
# run also recording with -o; `mapwatch analyze` of each recording, with
# the same output option, must print byte for byte the alert, runtime,
# finding and summary lines the live run printed. Left out, because only a
# live run can know them: the first summary line of --plain (probe hits,
# drops by cause, bad reads, stacks not captured: BPF's counters beyond
# those a recording holds), the `stats` lines of --json, and the live-only
# fields at the end of the --json summary (pid, records, bpf_records,
# slots_full, map_full, bad_reads, stack_fails, target, exit_status, and the
# run's mode: exact, or sampled with its budget and fraction watched).
# Also: the findings account for every alert (their counts add up to the
# summary's alerts), live and offline. Ends with `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
svc=
cleanup() { [ -n "$svc" ] && kill "$svc" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# A running mapsvc whose writer races its iterator at a modest rate.
start_svc() {
	GOMAP_ONRACE=count build/mapsvc -m unsafe -w 1 -i 1 -r 1 -R 20000 -d 30 >"$tmp/svc.log" 2>&1 &
	svc=$!
	for _ in $(seq 100); do grep -q '^mapsvc: pid' "$tmp/svc.log" && return 0; sleep 0.05; done
	return 1
}
stop_svc() { kill "$svc" 2>/dev/null; wait "$svc" 2>/dev/null; svc=; }

# Sum of the plain findings' counts, and the summary's alert total.
plain_findings_sum() { awk '/^mapwatch: findings/{f=1; next} f && /^  +[0-9]+  /{s += $1; next} {f=0} END{print s+0}' "$1"; }
plain_alerts() { sed -n 's/^mapwatch: \([0-9]*\) alerts: .*/\1/p' "$1" | tail -1; }

check "mapsvc started" start_svc

# ---- --plain ------------------------------------------------------------------
"$MW" --plain -p "$svc" -d 2 -o "$tmp/plain.trace" >"$tmp/plain.live" 2>"$tmp/plain.err"; rc=$?
"$MW" analyze "$tmp/plain.trace" >"$tmp/plain.an" 2>"$tmp/plain.anerr"; arc=$?
n=$(plain_alerts "$tmp/plain.live")
check "--plain: the live run saw races ($n alerts, exit $rc), analyze read its recording (exit $arc)" \
	[ "$rc" = 0 -a "$arc" = 0 -a "${n:-0}" -gt 0 ]
# The one line a recording cannot reproduce: the probe's own counters.
grep -v '^mapwatch: [0-9]* events, [0-9]* probe hits' "$tmp/plain.live" >"$tmp/plain.live.cmp"
grep -v '^mapwatch: [0-9]* events, [0-9]* probe hits' "$tmp/plain.an" >"$tmp/plain.an.cmp"
if cmp -s "$tmp/plain.live.cmp" "$tmp/plain.an.cmp"; then
	ok "--plain: analyze prints the live alerts, stacks, findings and summary byte for byte ($(wc -l <"$tmp/plain.an.cmp") lines)"
else
	diff "$tmp/plain.live.cmp" "$tmp/plain.an.cmp" | head -20 >"$tmp/plain.diff"
	bad "--plain: live and analyze differ" "$tmp/plain.diff"
fi
check "--plain: exactly one line left out on each side" \
	[ $(($(wc -l <"$tmp/plain.live") - $(wc -l <"$tmp/plain.live.cmp"))) = 1 -a \
	  $(($(wc -l <"$tmp/plain.an") - $(wc -l <"$tmp/plain.an.cmp"))) = 1 ]
s=$(plain_findings_sum "$tmp/plain.live")
check "--plain: the findings add up to the alerts ($s of $n)" [ "$s" = "$n" ]
s=$(plain_findings_sum "$tmp/plain.an") a=$(plain_alerts "$tmp/plain.an")
check "analyze (plain): the findings add up to the alerts ($s of $a)" [ "$s" = "$a" -a "$a" = "$n" ]
check "--plain: no writer without a code location (no '? →' finding)" \
	bash -c "! grep -q '^ *[0-9]*  [a-z-]* *? → ' '$tmp/plain.live'"

# ---- --json -------------------------------------------------------------------
"$MW" --json -p "$svc" -d 2 -o "$tmp/json.trace" >"$tmp/json.live" 2>"$tmp/json.err"; rc=$?
"$MW" analyze "$tmp/json.trace" --json >"$tmp/json.an" 2>"$tmp/json.anerr"; arc=$?
stop_svc
n=$(jqs "$tmp/json.live" .alerts)
check "--json: the live run saw races ($n alerts, exit $rc), analyze read its recording (exit $arc)" \
	[ "$rc" = 0 -a "$arc" = 0 -a "${n:-0}" -gt 0 ]
live_only=',"pid":[0-9]*,"records":[0-9]*,"bpf_records":[0-9]*,"slots_full":[0-9]*,"map_full":[0-9]*,"bad_reads":[0-9]*,"stack_fails":[0-9]*,"target":"[^"]*","exit_status":-\{0,1\}[0-9]*\(,"mode":"[a-z]*"[^}]*\)\{0,1\}}$'
grep -v '^{"type":"stats",' "$tmp/json.live" | sed "/^{\"type\":\"summary\",/s/$live_only/}/" >"$tmp/json.live.cmp"
if cmp -s "$tmp/json.live.cmp" "$tmp/json.an"; then
	ok "--json: analyze prints the live alert, finding and summary lines byte for byte ($(wc -l <"$tmp/json.an") lines)"
else
	diff "$tmp/json.live.cmp" "$tmp/json.an" | cut -c1-300 | head -20 >"$tmp/json.diff"
	bad "--json: live and analyze differ" "$tmp/json.diff"
fi
check "--json: only stats lines and the summary's live fields left out" \
	[ $(($(wc -l <"$tmp/json.live") - $(grep -c '^{"type":"stats",' "$tmp/json.live"))) = "$(wc -l <"$tmp/json.an")" \
	  -a "$(grep -c "$live_only" "$tmp/json.live")" = 1 ]
s=$(jq -s '[.[] | select(.type == "finding") | .count] | add // 0' "$tmp/json.live")
check "--json: the findings add up to the alerts ($s of $n)" [ "$s" = "$n" ]
s=$(jq -s '[.[] | select(.type == "alert")] | length' "$tmp/json.live")
check "--json: one alert line per alert counted ($s of $n)" [ "$s" = "$n" ]
finish
