#!/usr/bin/env bash
# e2e_stacks.sh — both sides of every race, symbolized, end to end (root).
#
# On the forced interleavings of build/progs/races (built with -g) the
# writer's stack holds the writing function and the iterator's the ranging
# one, at the source lines the STACK:name marker comments sit on. A stripped
# copy (build/races-stripped, on libgomap.so) gives addresses and module
# names; an iteration started 100 calls deep gives a cleanly truncated
# stack; a recorded trace shows the same stacks in `mapwatch analyze`
# without the binary. Uses build/asan/mapwatch when built (MW=... overrides).
# Ends with `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
MW=${MW:-build/asan/mapwatch}
[ -x "$MW" ] || MW=build/mapwatch
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
pass=0 fail=0
tmp=$(mktemp -d)
# kill_tree PID: kills PID's descendants (and PID, unless it is this shell),
# each stopped before its children are listed so that none forks any more.
# At exit it reaches what a failed check or a signal left running: background
# jobs, an interrupted foreground command, and what those started.
tree_of() {
	local c
	for c in $(pgrep -P "$1"); do
		[ "$c" = "$BASHPID" ] && continue
		kill -STOP "$c" 2>/dev/null
		echo "$c"
		tree_of "$c"
	done
}
kill_tree() {
	local p
	[ "$1" != $$ ] && kill -STOP "$1" 2>/dev/null
	for p in $(tree_of "$1") $([ "$1" != $$ ] && echo "$1"); do kill -KILL "$p" 2>/dev/null; done
}
cleanup() {
	kill_tree $$
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
	fail=$((fail + 1)); echo "FAIL $1"; shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/  | /' "$f" | cut -c1-400 | tail -8; done
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
line_of() { grep -n "STACK:$1 " tests/progs/races.c | cut -d: -f1; }
alerts() { grep '"type":"alert"' "$1"; }

for b in build/progs/races build/races-stripped "$MW"; do
	if [ ! -x "$b" ]; then
		echo "FAIL $b is not built (run make test-build)"; echo "RESULT 0 1"; exit 1
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "FAIL e2e_stacks needs root"; echo "RESULT 0 1"; exit 1
fi
# The first frame is the probed instruction: the push %rbp after the
# runtime's 5-byte nop (user/placement.c), so function+0x5.
AT=0x5
L_PUT=$(line_of put) L_IWRITE=$(line_of iwrite) L_INIT=$(line_of iterinit)
L_W2=$(line_of w2) L_DEEP=$(line_of deep) L_DEEPINIT=$(line_of deepinit)

# ---- iter-write: both stacks, right functions, right lines --------------------------
timeout -s KILL 60 "$MW" --json -o "$tmp/iw.trace" -- build/progs/races iterwrite 20 >"$tmp/iw.out" 2>"$tmp/iw.err"
rc=$?
n=$(alerts "$tmp/iw.out" | wc -l)
check "iterwrite: 20 alerts, exit 0 (got $n, $rc)" [ "$n" = 20 -a "$rc" = 0 ]
# Every alert: writer = mapassign, put (races.c:PUT), iwriter (races.c:IWRITE);
# iterator = mapiterinit, reader (races.c:INIT).
good=$(alerts "$tmp/iw.out" | jq -r --argjson p "$L_PUT" --argjson w "$L_IWRITE" --argjson i "$L_INIT" '
	(.writer_stack | map(.sym // "" | split("+")[0])) as $ws |
	(.iter_stack | map(.sym // "" | split("+")[0])) as $is |
	select($ws[0] == "mapassign" and $ws[1] == "put" and $ws[2] == "iwriter"
	   and .writer_stack[1].file == "races.c" and .writer_stack[1].line == $p
	   and .writer_stack[2].line == $w and .writer_stack[0].file == "gomap.c"
	   and $is[0] == "mapiterinit" and $is[1] == "reader"
	   and .iter_stack[1].file == "races.c" and .iter_stack[1].line == $i
	   and .writer_stack[0].module == "races" and (.writer_stack[0].addr | startswith("0x"))) | .seq' | wc -l)
check "iterwrite: writer put (races.c:$L_PUT) ← iwriter (races.c:$L_IWRITE), iterator reader (races.c:$L_INIT) in all 20" [ "$good" = 20 ]
f=$(grep '"type":"finding"' "$tmp/iw.out" | jq -r '[.kind, .count, .writer, .iterator] | @tsv')
check "iterwrite: one finding, 20 alerts, put (races.c:$L_PUT) → reader (races.c:$L_INIT) ($f)" \
	[ "$f" = "$(printf 'iter-write\t20\tput (races.c:%s)\treader (races.c:%s)' "$L_PUT" "$L_INIT")" ]
check "iterwrite: summary still last, stack_fails 0" \
	[ "$(tail -1 "$tmp/iw.out" | jq -r '[.type, .stack_fails] | @tsv')" = "$(printf 'summary\t0')" ]

# The recorded trace: analyze shows the same alert and finding lines, without the binary.
grep -E '"type":"(alert|finding)"' "$tmp/iw.out" >"$tmp/iw.live"
"$MW" analyze "$tmp/iw.trace" --json 2>"$tmp/an.err" | grep -E '"type":"(alert|finding)"' >"$tmp/iw.an"
check "analyze --json of the trace: the same alert and finding lines as live" cmp -s "$tmp/iw.live" "$tmp/iw.an"
"$MW" analyze "$tmp/iw.trace" --check >/dev/null 2>"$tmp/chk.err"
check "analyze --check passes on a trace with stacks" grep -q "check passed" "$tmp/chk.err"
mkdir -p "$tmp/elsewhere" && cp "$tmp/iw.trace" "$tmp/elsewhere/t" && chmod -R a+rX "$tmp"
( cd "$tmp/elsewhere" && "$OLDPWD/$MW" analyze t >"$tmp/an.plain" 2>&1 )
check "analyze (plain) shows both stacks and the finding" \
	grep -q "reader+0x[0-9a-f]* (races.c:$L_INIT) \[races\]" "$tmp/an.plain"
check "analyze (plain) finding line" grep -q "put (races.c:$L_PUT) → reader (races.c:$L_INIT)" "$tmp/an.plain"
n=$(grep -c '"type":"stack"' "$tmp/iw.trace")
check "the trace holds each stack once ($n stack lines for 20 alerts)" [ "$n" = 2 ]

# ---- --plain: frames under the alert ---------------------------------------------
timeout -s KILL 60 "$MW" --plain -- build/progs/races iterwrite 3 >"$tmp/p.out" 2>&1
check "--plain: writer frames under the alert" grep -q "^    writer    mapassign+$AT (gomap.c:[0-9]*) \[races\]" "$tmp/p.out"
check "--plain: iterator frames under the alert" grep -q "^              reader+0x[0-9a-f]* (races.c:$L_INIT) \[races\]" "$tmp/p.out"
check "--plain: findings block" grep -q "^       3  iter-write  put (races.c:$L_PUT) → reader (races.c:$L_INIT)" "$tmp/p.out"

# ---- iter-grow and write-write ------------------------------------------------------
timeout -s KILL 60 "$MW" --json --every -- build/progs/races itergrow 10 >"$tmp/ig.out" 2>&1
g=$(alerts "$tmp/ig.out" | jq -r 'select(.kind == "iter-grow") | .writer_stack[0].sym | split("+")[0]' | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')
check "itergrow: grower stacks start at hashGrow (10) and evacuate (10): $g" [ "$g" = "evacuate:10 hashGrow:10 " ]
g=$(alerts "$tmp/ig.out" | jq -r 'select(.kind == "iter-grow") | [.writer_stack[] | .sym // "" | split("+")[0]] | index("iwriter") != null' | sort -u)
check "itergrow: grower stacks reach iwriter through mapassign" [ "$g" = true ]
timeout -s KILL 60 "$MW" --json --every -- build/progs/races writewrite 10 >"$tmp/ww.out" 2>&1
g=$(alerts "$tmp/ww.out" | jq -r --argjson w "$L_W2" 'select(.writer_stack[1].sym // "" | startswith("put+")) |
	select([.writer_stack[] | select((.sym // "" | startswith("w2+")))] | length == 1) |
	select(.iter_stack == []) | .seq' | wc -l)
check "writewrite: the second writer's stack (put ← w2), none for the write already in flight ($g/10)" [ "$g" = 10 ]

# ---- stripped: addresses and modules ---------------------------------------------------
timeout -s KILL 60 "$MW" --json -- build/races-stripped iterwrite 5 >"$tmp/s.out" 2>"$tmp/s.err"
rc=$?
n=$(alerts "$tmp/s.out" | wc -l)
m=$(alerts "$tmp/s.out" | jq -r '.writer_stack[] | select(.module == "races-stripped") | select(.sym == null and .file == null) | .addr' | sort -u | wc -l)
l=$(alerts "$tmp/s.out" | jq -r '.writer_stack[0] | [.sym, .module] | @tsv' | sort -u)
if [ "$rc" = 0 ] && [ "$n" = 5 ] && [ "$m" -ge 2 ] && [ "$l" = "$(printf 'mapassign+%s\tlibgomap.so' "$AT")" ]; then
	ok "stripped program: 5 alerts; its frames are addresses in races-stripped ($m), libgomap.so's are named"
else
	bad "stripped program (exit $rc, $n alerts, $m bare frames, top '$l')" "$tmp/s.out" "$tmp/s.err"
fi

# ---- deep recursion: truncated cleanly ---------------------------------------------------
timeout -s KILL 60 "$MW" --json -- build/progs/races iterwrite-deep 5 >"$tmp/d.out" 2>"$tmp/d.err"
rc=$?
d=$(alerts "$tmp/d.out" | jq -r --argjson a "$L_DEEPINIT" --argjson b "$L_DEEP" --arg at "mapiterinit+$AT" '
	select((.iter_stack | length) == 32 and .iter_stack[0].sym == $at
	   and .iter_stack[1].line == $a and ([.iter_stack[2:][] | select(.line == $b)] | length) == 30)
	| .seq' | wc -l)
check "iteration 100 calls deep: 5 alerts, iterator stacks cut at 32 frames (mapiterinit, iter_deep x31; exit $rc)" [ "$d" = 5 -a "$rc" = 0 ]
check "deep: no stack failures" [ "$(tail -1 "$tmp/d.out" | jq -r .stack_fails)" = 0 ]

# ---- --no-stacks --------------------------------------------------------------------------
timeout -s KILL 60 "$MW" --json --no-stacks -- build/progs/races iterwrite 5 >"$tmp/n.out" 2>&1
n=$(alerts "$tmp/n.out" | jq -r 'select(.writer_stack == [] and .iter_stack == [] and .writer_stack_id == -1) | .seq' | wc -l)
check "--no-stacks: 5 alerts without stacks" [ "$n" = 5 ]

echo "RESULT $pass $fail"
[ "$fail" = 0 ]
