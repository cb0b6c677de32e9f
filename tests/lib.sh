# lib.sh — what every end-to-end suite shares: sourced, not run.
#   ok NAME | bad NAME [FILES...] | check NAME CMD... | summary FILE | jqs FILE JQ | finish
# MW is the mapwatch binary under test (the sanitized build when there is
# one); tmp a scratch directory removed at exit; finish prints the
# `RESULT <passed> <failed>` line tests/run.sh counts and sets the status.
MW=${MW:-build/asan/mapwatch}
[ -x "$MW" ] || MW=build/mapwatch
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); echo "ok   $1 [${SECONDS}s]"; }
bad() {
	fail=$((fail + 1)); echo "FAIL $1 [${SECONDS}s]"; shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/  | /' "$f" | tail -12; done
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
summary() { grep '^{"type":"summary"' "$1" | tail -1; }
jqs() { summary "$1" | jq -r "$2" 2>/dev/null; }
finish() { echo "RESULT $pass $fail"; [ "$fail" -eq 0 ]; }
# wait_for SEC CMD...: poll until CMD succeeds or SEC seconds pass.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
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
