#!/usr/bin/env bash
# e2e_tui.sh — the live view, driven in tmux and read back with capture-pane.
#
# Part 1 drives user/tui.c through tests/tui_driver.c (synthetic records, no
# BPF, no root): alert rows, sort, filter, details, help, save, resizes down
# to "terminal too small", the exit banner, stderr capture, crash restore,
# --frames, --ascii and NO_COLOR.
# Part 2 drives the real program against build/mapsvc: an alert naming the
# map that mapsvc prints in unsafe mode, none in rwlock mode, resizes, sort,
# filter, q; and saves one real screen (100x30) to build/screen.txt.
# Part 3 drives the host view (--all) over two binaries and three processes.
#
# Prints one line per check and `RESULT <passed> <failed>` at the end.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

if ! command -v tmux >/dev/null 2>&1; then
	abort "tmux is not installed: the live view cannot be driven (apt-get install tmux)"
fi

export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset NO_COLOR
SOCK=mwtui$$
tm() { tmux -u -L "$SOCK" -f /dev/null "$@"; }
work=$tmp
# At exit, whatever a failed check or a signal left running: what runs in
# the panes (the driver, mapwatch and its command) belongs to the tmux server,
# not to this script, and goes first; then the server, its sessions and its
# socket; then this script's own children (mapsvc).
cleanup() {
	local p
	for p in $(tm list-panes -a -F '#{pane_pid}' 2>/dev/null); do kill_tree "$p"; done
	tm kill-server 2>/dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"	# kill-server leaves the socket behind
	kill_tree $$
	rm -rf "$tmp"
}
trap cleanup EXIT

# Nothing here sleeps a fixed time before looking: every check polls the
# screen (or /proc) until the state it expects shows up, or a deadline passes.
# holds_for SECONDS CMD...: CMD succeeds at every sample (every 0.2 s) over
# SECONDS; status 1 at the first sample where it does not.
holds_for() {
	local end=$(($(now_ms) + ${1%.*} * 1000)); shift
	while [ "$(now_ms)" -le "$end" ]; do
		"$@" || return 1
		sleep 0.2
	done
	"$@"
}

screen() { tm capture-pane -p -t "$1"; }
altscreen() { tm display -p -t "$1" '#{alternate_on}'; }
has() { screen "$1" | grep -Eq -- "$2"; }	# NAME EGREP
hasnt() { ! has "$@"; }
# wait_for NAME SECONDS EGREP — polls the screen
wait_for() { wait_until "$2" has "$1" "$3"; }
# The shell is back: normal screen, the prompt on the last non-blank line.
at_prompt() { [ "$(altscreen "$1")" = 0 ] && screen "$1" | grep -v '^ *$' | tail -1 | grep -q '^mw-prompt\$ *$'; }
# The program the pane's shell is running (its first child).
pane_child() { pgrep -P "$(tm display -p -t "$1" '#{pane_pid}')" | head -1; }

# A shell in a detached session of the given size, at its prompt.
shell_cmd="env PS1='mw-prompt\$ ' TERM=screen-256color bash --norc --noprofile"
shell() { # NAME W H
	tm new-session -d -s "$1" -x "$2" -y "$3" "$shell_cmd"
	# The server outlives its last session (cleanup ends it): a session
	# opened right after another was killed must not meet a server on its way out.
	tm set -s exit-empty off
	wait_until 5 at_prompt "$1" || echo "warning: no prompt in session $1"
}
# A command line for the pane's shell, typed once the shell is at its prompt
# (typed earlier, a program still closing could read it as keys). A program
# that a failed check left running is ended there, and the pane gets a
# fresh shell, so the next check starts clean.
run() {
	local p
	if ! wait_until 5 at_prompt "$1"; then
		echo "  (session $1 is not at its prompt: ending what runs there, fresh shell)"
		for p in $(pgrep -P "$(tm display -p -t "$1" '#{pane_pid}')"); do kill_tree "$p"; done
		tm respawn-pane -k -t "$1" "$shell_cmd"
		wait_until 5 at_prompt "$1"
	fi
	tm send-keys -t "$1" "$2" Enter
}
keys() { local s=$1; shift; tm send-keys -t "$s" "$@"; }
resize() { tm resize-window -t "$1" -x "$2" -y "$3"; }
# The view laid out for COLS columns: the first line is the header and the
# last the footer, nothing wider than COLS, one KIND header, and the Maps
# rule spans exactly COLS columns with the sort indicator at its right end
# (a screen tmux merely cut to a smaller size has lost that indicator).
frame_ok() { # NAME COLS
	local s first last width rule
	s=$(screen "$1")
	first=$(printf '%s\n' "$s" | head -1)
	last=$(printf '%s\n' "$s" | tail -1)
	width=$(printf "%s\n" "$s" | wc -L)
	rule=$(printf '%s\n' "$s" | grep -E -m1 -- '^(──|--) Maps')
	[[ "$first" =~ (mapwatch|pid\ [0-9]+) ]] && [[ "$last" == *Quit* ]] && [ "$width" -le "$2" ] &&
		[ "$(printf '%s\n' "$s" | grep -c 'KIND')" -eq 1 ] &&
		[[ "$rule" == *sort:* ]] && [ "$(printf '%s\n' "$rule" | wc -L)" -eq "$2" ]
}

# ---- part 1: the view alone, through the fake driver --------------------------
drv=build/e2e/tui_driver
mkdir -p build/e2e
if clang -g -O1 -fsanitize=address,undefined -D_GNU_SOURCE -Iuser -Ibpf tests/tui_driver.c \
	user/tui.c user/view.c user/correlator.c user/layout.c -o "$drv" -lncursesw -ltinfo -lm 2>"$work/cc.log"; then
	ok "driver builds"
else
	bad "driver builds: $(head -5 "$work/cc.log")"
	drv=
fi
# The crash check needs our SIGSEGV handler, not the sanitizer's.
export ASAN_OPTIONS=handle_segv=0:detect_leaks=0

if [ -n "$drv" ]; then
	shell d 120 40
	run d "$drv"
	if wait_for d 5 'mapwatch  pid 1000' && wait_for d 2 'Quit'; then ok "view opens: header and footer"; else bad "view opens"; fi
	if wait_for d 5 'iter-write +0x55d0c2a0b2c0'; then ok "alert row appears"; else bad "alert row appears"; fi
	# Each key's effect is awaited on the screen (the view reads keys in
	# order, so keys sent back to back are never lost or reordered).
	sorted_by_address() {
		local s; s=$(screen d)
		grep -q 'sort: address' <<<"$s" && ! grep -q 'sort: alerts' <<<"$s" &&
			[ "$(grep -Eo '^0x[0-9a-f]+' <<<"$s" | head -3 | tr '\n' ' ')" = "0x55d0c2a0b2c0 0x55d0c2a0c2c0 0x55d0c2a0d2c0 " ]
	}
	if has d 'sort: alerts'; then
		keys d s
		if wait_until 5 sorted_by_address; then ok "s changes the sort indicator and order"
		else bad "s changes the sort"; fi
	else bad "sort indicator shown"; fi
	filtered_by_map() {
		local s; s=$(screen d)
		grep -q 'Maps 1' <<<"$s" && grep -q '^0x55d0c2a0c2c0' <<<"$s" && ! grep -q '^0x55d0c2a0b2c0' <<<"$s" &&
			grep -q 'no alert matches the filter' <<<"$s"
	}
	keys d / ; tm send-keys -t d -l '0x55d0c2a0c2c0'; keys d Enter
	if wait_until 5 filtered_by_map; then ok "filter by map address keeps only matching rows"
	else bad "filter by map address"; fi
	filtered_by_tid() {
		local s; s=$(screen d)
		grep -q 'filter 4243' <<<"$s" && grep -Eq 'Alerts [0-9]+ ' <<<"$s" && ! grep -q 'of [0-9]' <<<"$s" &&
			grep -q 'iter-write' <<<"$s"
	}
	keys d / C-u ; tm send-keys -t d -l '4243'; keys d Enter
	if wait_until 5 filtered_by_tid; then ok "filter by thread id keeps its alerts"
	else bad "filter by thread id"; fi
	keys d Escape
	if wait_until 5 hasnt d 'filter'; then ok "Esc clears the filter"; else bad "Esc clears the filter"; fi
	# g selects the first map (by address: ...b2c0); the selection the
	# filters left depends on whether thread 4243 was iterating just then.
	keys d g Enter
	if wait_for d 5 'Map 0x55d0c2a0b2c0' && has d 'open iterations'; then ok "g, Enter shows the first map's detail"
	else bad "map detail"; screen d | head -12 | sed 's/^/    | /'; fi
	keys d Escape Tab Enter
	if wait_for d 5 'Alert [0-9]+: iter-write' && has d 'last occurrence'; then ok "Enter on an alert shows its detail"; else bad "alert detail"; fi
	keys d q
	wait_for d 5 'sort: '		# back on the main view
	keys d '?'
	if wait_for d 5 'this help'; then ok "? shows help"; else bad "? shows help"; fi
	keys d x
	wait_until 5 hasnt d 'this help'
	keys d e
	if wait_for d 5 'trace saved to /tmp/mapwatch-driver.mwtrace'; then ok "e saves and names the file"; else bad "e saves"; fi
	resize d 80 24
	if wait_until 5 frame_ok d 80; then ok "80x24 relayouts: header, tables, footer"; else bad "80x24 relayout"; screen d | sed 's/^/    | /'; fi
	resize d 60 15
	if wait_until 5 frame_ok d 60; then ok "60x15 relayouts"; else bad "60x15 relayout"; screen d | sed 's/^/    | /'; fi
	resize d 30 8
	if wait_for d 5 'terminal too small'; then ok "30x8 says terminal too small"; else bad "too small"; fi
	resize d 120 40
	if wait_until 5 frame_ok d 120; then ok "back to 120x40"; else bad "back to 120x40"; fi
	keys d p
	if wait_for d 5 'Log \(paused\)'; then ok "p pauses the log"; else bad "p pauses the log"; fi
	keys d q
	if wait_for d 3 'mw-prompt\$ *$' && [ "$(altscreen d)" = 0 ] && screen d | grep -q 'tui_driver: [0-9]* events'; then
		ok "q restores the terminal (prompt back, alternate screen left)"
	else bad "q restores the terminal"; fi

	# stderr written while the view is open shows only after it closes. The
	# view holds stderr in a file: once the line is in it (seen through
	# /proc), it would have been on the screen were it not held back.
	stderr_held() {
		local p; p=$(pane_child d)
		[ -n "$p" ] && [ -f "/proc/$p/fd/2" ] && grep -q 'written to stderr' "/proc/$p/fd/2" 2>/dev/null
	}
	run d "clear; $drv --stderr-after 0.3"
	if wait_for d 5 'Quit' && wait_until 5 stderr_held; then
		if hasnt d 'written to stderr'; then
			keys d q
			if wait_for d 3 'written to stderr'; then ok "stderr is held back and replayed after close"; else bad "stderr replayed"; fi
		else bad "stderr does not write over the screen"; keys d q; fi
	else
		bad "stderr held in a file while the view is open"; keys d q
	fi

	# The target exits: a banner, the final state kept until q.
	banner_up() { has d 'press q' && [ "$(altscreen d)" = 1 ]; }
	run d "clear; $drv --exit-after 0.5"
	if wait_for d 4 'target exited with status 2 . press q'; then
		# "Stays" is a claim over time: sampled for a second, it must hold every time.
		if holds_for 1 banner_up; then ok "target exit banner stays until q"; else bad "exit banner stays"; fi
	else bad "target exit banner"; fi
	keys d q

	# A crash restores the terminal and dies of the signal.
	run d "clear; $drv --crash-after 0.5; echo rc=\$?"
	if wait_for d 6 'rc=139' && [ "$(altscreen d)" = 0 ]; then ok "SIGSEGV restores the terminal, dies with the signal"
	else bad "crash restore"; screen d | tail -5 | sed 's/^/    | /'; fi

	# SIGTERM: the loop closes the view. Sent once the view is open.
	run d "clear; $drv; echo rc=\$?"
	if wait_for d 5 'Quit' && p=$(pane_child d) && [ -n "$p" ] && kill -TERM "$p" &&
	   wait_for d 6 '^rc=0' && [ "$(altscreen d)" = 0 ]; then ok "SIGTERM closes the view cleanly"; else bad "SIGTERM"; fi

	# --frames: draws N refreshes and returns.
	run d "clear; $drv --frames 5; echo frames-done"
	if wait_for d 5 '^frames-done' && [ "$(altscreen d)" = 0 ]; then ok "--frames N quits by itself"; else bad "--frames"; fi

	# Colour by default; NO_COLOR and --ascii: no colour, no UTF-8.
	coloured() { tm capture-pane -e -p -t d | grep -Eq $'\e\\[([0-9]+;)*3[1-7](;[0-9]+)*m'; }
	run d "clear; $drv"
	if wait_for d 5 'Quit' && wait_until 5 coloured; then ok "colours by default"; else bad "colours by default"; fi
	keys d q
	run d "clear; NO_COLOR=1 $drv --ascii"
	# A whole frame is on the screen once its alert row and footer are.
	if wait_for d 5 '^-- Maps' && wait_for d 5 'iter-write +0x55d0c2a0b2c0' && wait_for d 2 'Quit'; then
		s=$(tm capture-pane -e -p -t d)
		if ! grep -Eq $'\e\\[([0-9]+;)*3[1-7](;[0-9]+)*m' <<<"$s" && ! LC_ALL=C grep -q $'\xe2' <<<"$s"; then
			ok "NO_COLOR and --ascii: monochrome, ASCII only"
		else bad "NO_COLOR / --ascii: colour or UTF-8 on the screen"; fi
	else bad "NO_COLOR / --ascii: no ASCII frame"; fi
	keys d q
	tm kill-session -t d
fi

# ---- part 2: the real program against mapsvc --------------------------------------
real_skip=
if [ ! -x build/mapwatch ] || [ ! -x build/mapsvc ]; then
	real_skip="build/mapwatch or build/mapsvc missing (run make)"
elif [ "$(id -u)" -ne 0 ]; then
	real_skip="not root: the real view needs BPF (run as root)"
fi

start_svc() { # MODE → sets svc_pid, svc_map
	GOMAP_ONRACE=count build/mapsvc --mode "$1" >"$work/svc-$1.log" 2>&1 &
	svc_pid=$!
	svc_map=
	for _ in $(seq 50); do
		svc_map=$(head -1 "$work/svc-$1.log" 2>/dev/null | sed -n 's/^mapsvc: pid [0-9]* mode [a-z]* map \(0x[0-9a-f]*\).*/\1/p')
		[ -n "$svc_map" ] && break
		sleep 0.1
	done
}

if [ -n "$real_skip" ]; then
	echo "real program: $real_skip"
	bad "real: unsafe alert, resize, sort, filter, q ($real_skip)"
else
	start_svc unsafe
	shell r 120 40
	run r "build/mapwatch -p $svc_pid; echo mapwatch-rc=\$?"
	if [ -n "$svc_map" ] && wait_for r 8 'Quit' && wait_for r 8 "(iter-write|iter-grow|write-write) +$svc_map"; then
		ok "real: an alert row names mapsvc's map $svc_map"
		opened=1
	else
		bad "real: alert row naming $svc_map"
		screen r | grep -v '^$' | tail -8 | sed 's/^/    | /'
		opened=$(altscreen r)
	fi
	if [ "$opened" = 1 ]; then
		before=$(screen r | grep -o 'sort: [a-z/]*') after=
		sort_changed() { after=$(screen r | grep -o 'sort: [a-z/]*'); [ -n "$after" ] && [ "$after" != "$before" ]; }
		keys r s
		if [ -n "$before" ] && wait_until 5 sort_changed; then ok "real: s changes the sort ($before -> $after)"
		else bad "real: s changes the sort ($before -> $after)"; fi
		real_filtered() {
			local s; s=$(screen r)
			grep -q "filter $svc_map" <<<"$s" && grep -Eq "(iter-write|iter-grow|write-write) +$svc_map" <<<"$s" &&
				! grep -q 'no alert matches' <<<"$s"
		}
		keys r / ; tm send-keys -t r -l "$svc_map"; keys r Enter
		if wait_until 5 real_filtered; then ok "real: filter by the map's address keeps its rows"
		else bad "real: filter by map address"; fi
		keys r / C-u ; tm send-keys -t r -l '0xdeadbeef0'; keys r Enter
		if wait_for r 5 'no alert matches the filter' && wait_for r 5 'Maps 0'; then ok "real: a non-matching filter hides every row"
		else bad "real: non-matching filter"; fi
		keys r Escape
		wait_until 5 hasnt r 'filter'
		resize r 80 24
		if wait_until 5 frame_ok r 80; then ok "real: 80x24 relayouts"; else bad "real: 80x24"; screen r | sed 's/^/    | /'; fi
		resize r 60 15
		if wait_until 5 frame_ok r 60; then ok "real: 60x15 relayouts"; else bad "real: 60x15"; screen r | sed 's/^/    | /'; fi
		resize r 100 30
		wait_until 5 frame_ok r 100
		screen r >build/screen.txt
		keys r q
		# Detaching the probes may take seconds on a loaded machine.
		if wait_for r 15 'mapwatch-rc=0' && [ "$(altscreen r)" = 0 ]; then ok "real: q exits and restores the terminal"
		else bad "real: q restores the terminal"; screen r | grep -v '^$' | tail -5 | sed 's/^/    | /'; fi
	else
		bad "real: the view did not open"
	fi
	kill "$svc_pid" 2>/dev/null; wait "$svc_pid" 2>/dev/null
	tm kill-session -t r 2>/dev/null

	start_svc rwlock
	shell w 120 40
	run w "build/mapwatch -p $svc_pid; echo mapwatch-rc=\$?"
	# No alert is a claim over time: once the map is listed, every screen
	# for 10 s must show it, alerts 0 and no alert row.
	rwlock_quiet() {
		local s; s=$(screen w)
		grep -q 'alerts 0' <<<"$s" && ! grep -Eq '(iter-write|iter-grow|write-write) +0x' <<<"$s" &&
			grep -q "$svc_map" <<<"$s"
	}
	if [ -n "$svc_map" ] && wait_for w 8 'Quit' && wait_for w 8 "$svc_map"; then
		if holds_for 10 rwlock_quiet; then ok "real: rwlock mode, no alert in 10 s (map $svc_map listed)"
		else bad "real: rwlock mode raised an alert or lost the map"; screen w | head -12 | sed 's/^/    | /'; fi
	else
		bad "real: rwlock view did not open"
		screen w | grep -v '^$' | tail -5 | sed 's/^/    | /'
	fi
	keys w q
	kill "$svc_pid" 2>/dev/null; wait "$svc_pid" 2>/dev/null

	# -- CMD under the live view: the command's own output must not land on
	# the screen while it is open, and comes back once it closes.
	tm kill-session -t w 2>/dev/null
	shell c 100 30
	# The command's output goes to a file while the view is open: once its
	# start line is there (seen through /proc) and the view shows an alert,
	# the screen must not show that line.
	cmd_spoke() {
		local mw svc; mw=$(pane_child c)
		svc=$([ -n "$mw" ] && pgrep -P "$mw" | head -1)
		[ -n "$svc" ] && [ -f "/proc/$svc/fd/1" ] && grep -q '^mapsvc: pid' "/proc/$svc/fd/1" 2>/dev/null
	}
	run c "GOMAP_ONRACE=count build/mapwatch -- build/mapsvc --mode unsafe --duration 30; echo cmd-rc=\$?"
	if wait_for c 8 'Quit' && wait_until 8 cmd_spoke && wait_for c 8 'iter-write'; then
		s=$(screen c)
		if ! grep -q 'mapsvc:' <<<"$s" && grep -q 'iter-write' <<<"$s"; then
			ok "real: -- CMD keeps the command's output off the live view"
		else
			bad "real: -- CMD output on the live view"; printf '%s\n' "$s" | grep -n 'mapsvc:' | head -3 | sed 's/^/    | /'
		fi
		keys c q
		if wait_for c 10 'cmd-rc=' && screen c | grep -q 'mapsvc: pid [0-9]* mode unsafe'; then
			ok "real: -- CMD output replayed after the view closed"
		else
			bad "real: -- CMD output not replayed"; screen c | grep -v '^$' | tail -5 | sed 's/^/    | /'
		fi
	else
		bad "real: -- CMD view did not open, or the command's output never reached its file"
		bad "real: -- CMD output not replayed"
	fi
fi

# ---- part 3: the host view (--all) -------------------------------------------------
# Two binaries (waitrace and a copy named svc2), three processes; their
# races are forced once the view lists them. The view must name the
# process of every row: processes by pid and binary, races by binary with
# per-process counts, the log with a pid column; Enter opens a process's
# own view, Esc comes back; a process that exits leaves its races listed;
# q closes the screen and prints the findings.
if [ -n "$real_skip" ] || [ ! -x build/progs/waitrace ]; then
	bad "host view (--all): ${real_skip:-build/progs/waitrace missing (make test-build)}"
else
	hdir="$work/host"
	mkdir -p "$hdir"
	cp build/progs/waitrace "$hdir/waitrace"
	cp build/progs/waitrace "$hdir/svc2"
	tm kill-session -t c 2>/dev/null
	shell h 130 40
	# The test build: the sanitizers watch the view's code (a report ends
	# the run with status 1, which the last check sees).
	run h "ASAN_OPTIONS=log_path=$work/host-asan UBSAN_OPTIONS=log_path=$work/host-ubsan $MW --all --include '$hdir/*'; echo mw-rc=\$?"
	if wait_for h 10 'Processes 0'; then
		"$hdir/waitrace" "$hdir/go" 3 60000 5 >/dev/null & h1=$!
		"$hdir/waitrace" "$hdir/go" 3 60000 5 >/dev/null & h2=$!
		"$hdir/svc2" "$hdir/go" 2 60000 6 >/dev/null & h3=$!
		listed() { local s; s=$(screen h)
			grep -Eq "^ *$h1 +- +waitrace " <<<"$s" && grep -Eq "^ *$h2 +- +waitrace " <<<"$s" &&
			grep -Eq "^ *$h3 +- +svc2 " <<<"$s"; }
		if wait_for h 20 'Processes 3' && wait_until 5 listed; then
			ok "host view: the three processes listed by pid and binary"
		else
			bad "host view: processes not listed"; screen h | head -12 | sed 's/^/    | /'
		fi
		touch "$hdir/go"
		x=$(printf '\xc3\x97')
		raced() { local s; s=$(screen h)
			grep -Eq "^waitrace +iter-write +6 +($h1${x}3 $h2${x}3|$h2${x}3 $h1${x}3) +put \(waitrace.c:[0-9]+\)" <<<"$s" &&
			grep -Eq "^svc2 +iter-write +2 +$h3${x}2 " <<<"$s"; }
		if wait_until 15 raced; then
			ok "host view: one race row per binary, counted per process ($h1×3 $h2×3; $h3×2)"
		else
			bad "host view: race rows by binary and process"; screen h | head -14 | sed 's/^/    | /'
		fi
		if wait_until 5 has h "^ *($h1|$h2|$h3) +[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3} "; then
			ok "host view: the log names each event's process"
		else
			bad "host view: no log line with a pid"; screen h | tail -14 | sed 's/^/    | /'
		fi
		# The first process (lowest pid): its own view.
		keys h g; keys h Enter
		if wait_for h 5 "pid $h1 waitrace" && wait_for h 5 'alerts 3 ' && wait_for h 5 'Maps 3'; then
			ok "host view: Enter opens pid $h1's own view (its 3 maps, 3 alerts)"
		else
			bad "host view: Enter did not open the process's view"; screen h | head -12 | sed 's/^/    | /'
		fi
		keys h Escape
		if wait_for h 5 'Processes 3' && wait_for h 5 'mapwatch --all'; then
			ok "host view: Esc comes back to every process"
		else
			bad "host view: Esc did not come back"; screen h | head -6 | sed 's/^/    | /'
		fi
		keys h Tab; keys h Enter
		if wait_for h 5 'Race in (waitrace|svc2): iter-write' &&
		   { has h "pid $h1: 3" && has h "pid $h2: 3" || has h "pid $h3: 2"; }; then
			ok "host view: a race's detail lists its processes and their counts"
		else
			bad "host view: race detail"; screen h | head -14 | sed 's/^/    | /'
		fi
		keys h Escape
		kill "$h3"; wait "$h3" 2>/dev/null
		if wait_for h 10 'Processes 2' && has h "^svc2 +iter-write +2 +$h3${x}2 "; then
			ok "host view: svc2 exited; its race stays listed under its binary"
		else
			bad "host view: after an exit"; screen h | head -14 | sed 's/^/    | /'
		fi
		keys h q
		if wait_for h 20 'mw-rc=0' && [ "$(altscreen h)" = 0 ] && ! ls "$work"/host-*san* >/dev/null 2>&1 &&
		   has h "\[pid ($h1|$h2): 3, pid ($h1|$h2): 3\]" && has h 'findings in svc2'; then
			ok "host view: q closes the screen, then the findings per binary are printed"
		else
			bad "host view: q and the report"; screen h | grep -v '^$' | tail -8 | sed 's/^/    | /'
			cat "$work"/host-*san* 2>/dev/null | head -5 | sed 's/^/    | /'
		fi
		kill "$h1" "$h2" 2>/dev/null; wait "$h1" "$h2" 2>/dev/null
	else
		bad "host view: mapwatch --all did not open its view"; screen h | grep -v '^$' | tail -5 | sed 's/^/    | /'
		cat "$work"/host-*san* 2>/dev/null | head -5 | sed 's/^/    | /'
	fi
fi

finish
