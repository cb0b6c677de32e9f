#!/usr/bin/env bash
# e2e_safety.sh — never harm the target, never lie (root).
#
#   forked children of a probed process keep working (static and libgomap.so
#   builds, under -p and -- CMD), and the stacks still start at the probed
#   function with its caller second;
#   mapsvc's count mode survives a heavy unsafe run without any tracer;
#   bad -p/-d values are refused with one line and the documented exit code;
#   SIGHUP ends a run like SIGTERM (summary, complete trace);
#   the command started with -- CMD does not outlive a SIGKILLed mapwatch;
#   a trace on a full disk is reported at once, stays valid up to its last
#   complete line, mapwatch exits non-zero, and analyze reads a cut trace.
# Every wait has a deadline; no sleep-then-assert. Uses build/asan/mapwatch
# when built (MW=... overrides). Ends with `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
bg=()
mnt=""
cleanup() {
	kill_tree $$
	command -v tmux >/dev/null && tmux -L "$SOCK" kill-server 2>/dev/null
	if [ -n "$mnt" ]; then umount "$mnt" 2>/dev/null; rmdir "$mnt" 2>/dev/null; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
SOCK=mwsafe$$
tm() { tmux -u -L "$SOCK" -f /dev/null "$@"; }
# pane_has SESSION EGREP: the session's screen shows a match (with wait_until).
pane_has() { tm capture-pane -p -t "$1" | grep -Eq -- "$2"; }

# wait_for FILE PATTERN SECONDS: until a line of FILE matches (1 on timeout)
wait_for() { wait_until "$3" grep -qs -- "$2" "$1"; }
# wait_gone PID SECONDS: until PID no longer exists (1 on timeout)
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_gone() { wait_until "$2" gone "$1"; }
# wait_exit PID SECONDS: a background job of this shell; its status in $rc
# (rc=timeout after SECONDS, and the job is killed)
wait_exit() {
	if wait_gone "$1" "$2"; then
		wait "$1"; rc=$?
	else
		kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; rc=timeout
	fi
}

need_built build/progs/forker build/forker-dyn build/progs/races build/mapsvc "$MW"
need_root e2e_safety

# ---- 1. forked children of a probed process ------------------------------------------
for b in build/progs/forker build/forker-dyn; do
	n=$(basename "$b")
	# -- CMD: the probes are in before the first map call
	timeout -s KILL 60 "$MW" --plain -- "$b" -w -n 8 -r 2 >"$tmp/$n-cmd.out" 2>"$tmp/$n-cmd.err"
	rc=$?
	if [ "$rc" = 0 ] && grep -q '^forker: 16 workers, 16 ok$' "$tmp/$n-cmd.out"; then
		ok "$n under -- CMD: 16 forked workers use maps after the probes were hit, all exit 0"
	else
		bad "$n under -- CMD: forked workers (exit $rc)" "$tmp/$n-cmd.out" "$tmp/$n-cmd.err"
	fi
	# -p: attached to the running parent
	"$b" -w -n 8 -r 2 >"$tmp/$n-p.out" 2>&1 &
	fk=$!; bg+=("$fk")
	wait_for "$tmp/$n-p.out" '^forker: pid' 10
	"$MW" --plain -p "$fk" >"$tmp/$n-p.mw" 2>"$tmp/$n-p.err" &
	mwp=$!; bg+=("$mwp")
	wait_exit "$fk" 60; fkrc=$rc
	wait_exit "$mwp" 20
	if [ "$fkrc" = 0 ] && grep -q '^forker: probed' "$tmp/$n-p.out" &&
	   grep -q '^forker: 16 workers, 16 ok$' "$tmp/$n-p.out" && [ "$rc" = 0 ]; then
		ok "$n under -p: 16 forked workers use maps after the probes were hit, all exit 0"
	else
		bad "$n under -p: forked workers (forker exit $fkrc, mapwatch exit $rc)" \
			"$tmp/$n-p.out" "$tmp/$n-p.mw" "$tmp/$n-p.err"
	fi
done

# ---- 2. mapsvc's count mode with many writers, no tracer ------------------------------
# Unsynchronized writers used to corrupt the map and the heap ("malloc
# assertion failure", "bad map state", SIGSEGV) within seconds: the issue's
# command, and a small key space (clears and grows all the time) that broke
# five runs in six. One run at a time: they need both CPUs.
for cfg in "64 64 1000" "64 64 1000" "64 64 1000" "4 1 8" "4 1 8" "4 1 8"; do
	set -- $cfg
	n="svc-w$1-k$3"
	GOMAP_ONRACE=count timeout -s KILL 60 build/mapsvc -w "$1" -i "$2" -r 0 -k "$3" -d 3 \
		>"$tmp/$n.out" 2>&1 </dev/null
	rc=$?
	r=$(sed -n 's/^mapsvc: done in .* races \([0-9]*\)$/\1/p' "$tmp/$n.out")
	if [ "$rc" = 0 ] && [ -n "$r" ]; then
		ok "mapsvc -w $1 -i $2 -r 0 -k $3 in count mode: 3 s, exit 0, $r races counted"
	else
		bad "mapsvc -w $1 -i $2 -r 0 -k $3 in count mode: exit $rc" "$tmp/$n.out"
	fi
done

# ---- 3. arguments: refused with one line and the documented status ----------------------
# arg_case NAME PATTERN ARGS...: exit 2, nothing on stdout, exactly one line on stderr
arg_case() {
	local name=$1 pat=$2 rc; shift 2
	"$MW" "$@" >"$tmp/arg.out" 2>"$tmp/arg.err" </dev/null; rc=$?
	if [ "$rc" = 2 ] && [ ! -s "$tmp/arg.out" ] && [ "$(wc -l <"$tmp/arg.err")" = 1 ] &&
	   grep -q -- "$pat" "$tmp/arg.err"; then
		ok "$name: exit 2, one line: $(cat "$tmp/arg.err")"
	else
		bad "$name: want exit 2 and one line matching '$pat', got exit $rc" "$tmp/arg.out" "$tmp/arg.err"
	fi
}
arg_case "-p 4294967297 (would wrap to pid 1)" "^mapwatch: invalid pid '4294967297': out of range" -p 4294967297
arg_case "-p 0" "^mapwatch: invalid pid '0': out of range" -p 0
arg_case "-p -5" "^mapwatch: invalid pid '-5': out of range" -p -5
arg_case "-p 99999999999999999999" "^mapwatch: invalid pid '99999999999999999999': out of range" -p 99999999999999999999
arg_case "-p 12x" "^mapwatch: invalid pid '12x': not a number$" -p 12x
arg_case "-d nan" "^mapwatch: invalid duration 'nan': not a finite number" -d nan -p 1
arg_case "-d inf" "^mapwatch: invalid duration 'inf': not a finite number" -d inf -p 1
arg_case "-d -infinity" "^mapwatch: invalid duration '-infinity': not a finite number" -d -infinity -p 1
arg_case "-d -1" "^mapwatch: invalid duration '-1': out of range" -d -1 -p 1
arg_case "-d 0" "^mapwatch: invalid duration '0': out of range" -d 0 -p 1
arg_case "-d 1e999" "^mapwatch: invalid duration '1e999': out of range" -d 1e999 -p 1
arg_case "-d 1e300 (the deadline would overflow)" "^mapwatch: invalid duration '1e300': out of range" -d 1e300 -p 1
arg_case "-d 5s" "^mapwatch: invalid duration '5s': not a number" -d 5s -p 1
arg_case "--frames 1e3" "^mapwatch: invalid frame count '1e3': not a number" --frames 1e3 -p 1
arg_case "an unknown option" "^mapwatch: unknown option --nope" --nope
arg_case "a missing value" "^mapwatch: option -p needs a value" -p
arg_case "nothing to trace" "^mapwatch: nothing to trace" --plain
# The statuses the help text and the man page document are the ones used.
"$MW" --help >"$tmp/help.out" 2>&1
check "--help documents 1 on errors and 2 on usage errors" \
	grep -qz '1 on errors.*2 on usage errors' "$tmp/help.out"
check "the man page documents 1 on errors and 2 on usage errors" \
	grep -qz '1 on errors.*2 on usage errors' man/mapwatch.8
nopid=4242
while kill -0 "$nopid" 2>/dev/null; do nopid=$((nopid + 1)); done
"$MW" -p "$nopid" >"$tmp/e.out" 2>"$tmp/e.err"; rc=$?
check "an error (no such pid) exits 1 with one line (exit $rc)" \
	[ "$rc" = 1 -a "$(wc -l <"$tmp/e.err")" = 1 ]
"$MW" -d 0.5 -p "$$" >"$tmp/e.out" 2>"$tmp/e.err"; rc=$?
g=$(grep -c "symbols not found" "$tmp/e.err")
check "a valid -d reaches the target check (bash has no runtime: exit 1, got $rc)" [ "$rc" = 1 -a "$g" = 1 ]

# ---- 4. SIGHUP ends a run like SIGTERM ------------------------------------------------------
# Headless: the summary is printed, the trace is complete and analyze takes it.
GOMAP_ONRACE=count "$MW" --json -o "$tmp/hup.trace" -- build/mapsvc --mode unsafe --duration 60 \
	>"$tmp/hup.out" 2>"$tmp/hup.err" </dev/null &
mwp=$!; bg+=("$mwp")
if wait_for "$tmp/hup.out" '"type":"stats"' 20; then
	kill -HUP "$mwp"
	wait_exit "$mwp" 20
else
	rc="no stats line"
fi
last=$(tail -1 "$tmp/hup.out" | jq -r .type 2>/dev/null)
tlast=$(tail -1 "$tmp/hup.trace" 2>/dev/null | jq -r .type 2>/dev/null)
check "SIGHUP: mapwatch exits 0 with its summary last (exit $rc, last '$last')" [ "$rc" = 0 -a "$last" = summary ]
check "SIGHUP: the trace ends with the summary ($tlast)" [ "$tlast" = summary ]
"$MW" analyze "$tmp/hup.trace" --json >"$tmp/hup.an" 2>"$tmp/hup.an.err"; rc=$?
an=$(tail -1 "$tmp/hup.an" | jq -r '[.type, .events] | @tsv' 2>/dev/null)
live=$(tail -1 "$tmp/hup.out" | jq -r .events 2>/dev/null)
if [ "$rc" = 0 ] && [ "$an" = "$(printf 'summary\t%s' "$live")" ] && [ ! -s "$tmp/hup.an.err" ]; then
	ok "SIGHUP: analyze accepts the trace, summary with the live run's $live events"
else
	bad "SIGHUP: analyze of the trace (exit $rc, '$an' vs $live events)" "$tmp/hup.an" "$tmp/hup.an.err"
fi
# nohup: an ignored SIGHUP stays ignored (then SIGTERM ends the run).
GOMAP_ONRACE=count nohup "$MW" --json -- build/mapsvc --mode mutex --duration 60 \
	>"$tmp/nohup.out" 2>"$tmp/nohup.err" </dev/null &
mwp=$!; bg+=("$mwp")
if wait_for "$tmp/nohup.out" '"type":"stats"' 20; then
	kill -HUP "$mwp"
	# still running: two more stats lines (one a second) after the signal
	n1=$(grep -c '"type":"stats"' "$tmp/nohup.out")
	end=$((SECONDS + 10))
	while [ "$(grep -c '"type":"stats"' "$tmp/nohup.out")" -le $((n1 + 1)) ] && [ "$SECONDS" -lt "$end" ]; do
		sleep 0.1
	done
	alive=$(kill -0 "$mwp" 2>/dev/null && echo yes)
	kill -TERM "$mwp"
	wait_exit "$mwp" 20
else
	alive="" rc="no stats line"
fi
check "under nohup, SIGHUP is ignored (still running: ${alive:-no}; SIGTERM then exits $rc)" \
	[ "$alive" = yes -a "$rc" = 0 ]
# The live view in a terminal (tmux): SIGHUP closes it and restores the terminal.
if command -v tmux >/dev/null; then
	tm new-session -d -s h -x 120 -y 40 "env PS1='mw-prompt\$ ' TERM=screen-256color bash --norc --noprofile"
	wait_until 5 pane_has h 'mw-prompt'
	tm send-keys -t h "GOMAP_ONRACE=count sh -c 'echo \$\$ >$tmp/tui.pid; exec $MW -o $tmp/tui.trace -- build/mapsvc --mode unsafe --duration 60'; echo tui-rc=\$?" Enter
	if wait_until 15 pane_has h 'Quit' && [ -s "$tmp/tui.pid" ]; then
		kill -HUP "$(cat "$tmp/tui.pid")"
		if wait_until 20 pane_has h 'tui-rc=0' && [ "$(tm display -p -t h '#{alternate_on}')" = 0 ]; then
			ok "SIGHUP closes the live view: exit 0, terminal restored (alternate screen left)"
		else
			bad "SIGHUP in the live view"; tm capture-pane -p -t h | grep -v '^$' | tail -5 | sed 's/^/  | /'
		fi
		"$MW" analyze "$tmp/tui.trace" >"$tmp/tui.an" 2>&1; rc=$?
		tlast=$(tail -1 "$tmp/tui.trace" 2>/dev/null | jq -r .type 2>/dev/null)
		g=$(grep -c '^mapwatch: [0-9]* alerts: ' "$tmp/tui.an")
		check "SIGHUP in the live view: the trace ends with the summary ($tlast), analyze accepts it (exit $rc)" \
			[ "$rc" = 0 -a "$tlast" = summary -a "$g" = 1 ]
	else
		bad "the live view did not open under tmux"; tm capture-pane -p -t h | tail -5 | sed 's/^/  | /'
	fi
	tm kill-server 2>/dev/null
else
	bad "tmux is not installed: the live view's SIGHUP is untested"
fi

# ---- 5. -- CMD does not outlive a SIGKILLed mapwatch ----------------------------------------
# alive PID: it exists and is not a zombie waiting for its new parent to reap it
alive() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null); [ -n "$st" ] && [ "$st" != Z ]; }
for cmd in "build/mapsvc --mode mutex --duration 120" "build/progs/races iterwrite 1000000"; do
	n=$(basename "${cmd%% *}")
	GOMAP_ONRACE=count "$MW" --json -- $cmd >"$tmp/k9-$n.out" 2>"$tmp/k9-$n.err" </dev/null &
	mwp=$!; bg+=("$mwp")
	child=""
	end=$((SECONDS + 15))
	while [ -z "$child" ] && [ "$SECONDS" -lt "$end" ]; do
		child=$(pgrep -P "$mwp" -x "$n")	# after its exec: running under watch
		[ -z "$child" ] && sleep 0.05
	done
	if [ -n "$child" ] && alive "$child"; then
		kill -KILL "$mwp"
		end=$((SECONDS + 5))
		while alive "$child" && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
		if alive "$child"; then
			bad "$n: the command (pid $child) outlived a SIGKILLed mapwatch by 5 s"
			kill -KILL "$child"
		else
			ok "$n: the command (pid $child) died with the SIGKILLed mapwatch"
		fi
	else
		bad "$n: the command did not start under mapwatch" "$tmp/k9-$n.out" "$tmp/k9-$n.err"
	fi
	wait "$mwp" 2>/dev/null
done

# ---- 6. a full disk while recording ------------------------------------------------------------
mnt=$(mktemp -d)
if ! mount -t tmpfs -o size=256k none "$mnt"; then
	bad "cannot mount a 256k tmpfs on $mnt"; mnt=""
fi
if [ -n "$mnt" ]; then
	# Half the space taken by a filler, freed once the trace has filled the rest:
	# a writer that keeps going would then append after its half-written line.
	head -c 131072 /dev/zero >"$mnt/filler"
	GOMAP_ONRACE=count "$MW" --plain -o "$mnt/t.trace" -- build/mapsvc --mode unsafe --duration 4 \
		>"$tmp/full.out" 2>"$tmp/full.err" </dev/null &
	mwp=$!; bg+=("$mwp")
	end=$((SECONDS + 15))
	until grep -q 'cannot write trace file' "$tmp/full.err" ||
	      [ $(($(stat -c %s "$mnt/t.trace" 2>/dev/null || echo 0) + 131072)) -ge 258048 ]; do
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.02
	done
	running=$(kill -0 "$mwp" 2>/dev/null && echo yes)
	rm -f "$mnt/filler"
	wait_exit "$mwp" 30
	n=$(grep -c "^mapwatch: cannot write trace file '$mnt/t.trace': No space left on device; recording stopped, the file keeps its first [0-9]* lines$" "$tmp/full.err")
	check "disk full: reported at once on stderr, one line, while recording (running: ${running:-no})" \
		[ "$n" = 1 -a "$running" = yes ]
	check "disk full: mapwatch exits 1 at the end (got $rc)" [ "$rc" = 1 ]
	check "disk full: the summary is still printed" grep -q '^mapwatch: [0-9]* alerts: ' "$tmp/full.out"
	size=$(stat -c %s "$mnt/t.trace" 2>/dev/null || echo 0)
	lastc=$(tail -c 1 "$mnt/t.trace" | od -An -c | tr -d ' ')
	kept=$(sed -n 's/.*keeps its first \([0-9]*\) lines$/\1/p' "$tmp/full.err")
	check "disk full: the trace ends with a complete line ($size bytes, $(wc -l <"$mnt/t.trace") lines, $kept said)" \
		[ "$size" -gt 1000 -a "$lastc" = '\n' -a "$(wc -l <"$mnt/t.trace")" = "${kept:-x}" ]
	"$MW" analyze "$mnt/t.trace" >"$tmp/full.an" 2>"$tmp/full.an.err"; rc=$?
	if [ "$rc" = 0 ] && [ ! -s "$tmp/full.an.err" ] && grep -q '^mapwatch: [0-9]* alerts: ' "$tmp/full.an"; then
		ok "disk full: analyze reads the trace, no warning, a summary"
	else
		bad "disk full: analyze of the trace (exit $rc)" "$tmp/full.an" "$tmp/full.an.err"
	fi
	# The trace cut mid-record (a full disk under an older writer, kill -9):
	# read up to its last complete line with a one-line warning.
	head -c $((size - 100)) "$mnt/t.trace" >"$tmp/cut.trace"
	"$MW" analyze "$tmp/cut.trace" >"$tmp/cut.an" 2>"$tmp/cut.an.err"; rc=$?
	g=$(grep -c 'warning: truncated last line' "$tmp/cut.an.err")
	check "a trace cut mid-record: analyze exits 0 with one warning line ($(cat "$tmp/cut.an.err"))" \
		[ "$rc" = 0 -a "$(wc -l <"$tmp/cut.an.err")" = 1 -a "$g" = 1 ]
	# …and with more written after the cut, as a writer that went on left it.
	{ head -c $((size / 2)) "$mnt/t.trace"; tail -n 3 "$mnt/t.trace"; } >"$tmp/cut2.trace"
	"$MW" analyze "$tmp/cut2.trace" >"$tmp/cut2.an" 2>"$tmp/cut2.an.err"; rc=$?
	g=$(grep -c 'warning: record cut short' "$tmp/cut2.an.err")
	check "a record cut short with lines after it: analyze exits 0 with one warning line ($(cat "$tmp/cut2.an.err"))" \
		[ "$rc" = 0 -a "$(wc -l <"$tmp/cut2.an.err")" = 1 -a "$g" = 1 ]
	rm -f "$mnt"/*

	# The live view says so in its header.
	if command -v tmux >/dev/null; then
		head -c 131072 /dev/zero >"$mnt/filler"
		tm new-session -d -s f -x 120 -y 40 "env PS1='mw-prompt\$ ' TERM=screen-256color bash --norc --noprofile"
		wait_until 5 pane_has f 'mw-prompt'
		tm send-keys -t f "GOMAP_ONRACE=count $MW -o $mnt/tui.trace -- build/mapsvc --mode unsafe --duration 60; echo tui-rc=\$?" Enter
		if wait_until 20 pane_has f 'trace stopped: No space left on device'; then
			ok "disk full: the live view's header says 'trace stopped: No space left on device'"
		else
			bad "disk full: the live view's header"; tm capture-pane -p -t f | head -3 | sed 's/^/  | /'
		fi
		tm send-keys -t f q
		if wait_until 20 pane_has f 'tui-rc=1' && tm capture-pane -p -t f | grep -q "^mapwatch: cannot write trace file '$mnt/tui.trace'"; then
			ok "disk full under the live view: q, the error replayed on stderr, exit 1"
		else
			bad "disk full under the live view: exit"; tm capture-pane -p -t f | grep -v '^$' | tail -5 | sed 's/^/  | /'
		fi
		tm kill-server 2>/dev/null
	fi
	umount "$mnt" && rmdir "$mnt" && mnt=""
fi

finish
