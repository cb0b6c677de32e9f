# lib.sh — what every end-to-end suite shares: sourced, not run.
#   ok NAME | bad NAME [FILES...] | check NAME CMD... | summary FILE | jqs FILE JQ | finish
#   need_built FILE... | need_root SUITE | wait_until SECONDS CMD... | kill_tree PID | pick_port
# MW is the mapwatch binary under test (the sanitized build when there is
# one); tmp a scratch directory removed at exit (with every process this
# shell started: kill_tree $$); finish prints the `RESULT <passed> <failed>`
# line tests/run.sh counts and sets the status. A suite that needs more at
# exit sets its own trap and calls kill_tree $$ and rm -rf "$tmp" itself.
MW=${MW:-build/asan/mapwatch}
[ -x "$MW" ] || MW=build/mapwatch
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
pass=0 fail=0
tmp=$(mktemp -d)

ok() { pass=$((pass + 1)); echo "ok   $1 [${SECONDS}s]"; }
bad() {
	fail=$((fail + 1)); echo "FAIL $1 [${SECONDS}s]"; shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/  | /' "$f" | cut -c1-400 | tail -12; done
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
summary() { grep '^{"type":"summary"' "$1" | tail -1; }
jqs() { summary "$1" | jq -r "$2" 2>/dev/null; }
finish() { echo "RESULT $pass $fail"; [ "$fail" -eq 0 ]; }
# The suite cannot run at all: one failure, and out.
abort() { echo "FAIL $*"; echo "RESULT 0 1"; exit 1; }
need_built() { local b; for b in "$@"; do [ -x "$b" ] || abort "$b is not built (run make test-build)"; done; }
need_root() { [ "$(id -u)" = 0 ] || abort "$1 needs root"; }

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
trap 'kill_tree $$; rm -rf "$tmp"' EXIT

# wait_until SECONDS CMD...: runs CMD every 0.05 s until it succeeds (status
# 0) or SECONDS pass (status 1). Checks wait for their moment this way, never
# a fixed time.
now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }
wait_until() {
	local end=$(($(now_ms) + ${1%.*} * 1000)); shift
	until "$@"; do
		[ "$(now_ms)" -gt "$end" ] && return 1
		sleep 0.05
	done
}
# pick_port: a TCP port nobody listens on (nor talks from) now (/proc/net/tcp{,6}).
pick_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
	done
	echo 0
}
