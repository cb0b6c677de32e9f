#!/usr/bin/env bash
# e2e_tree.sh — `mapwatch -- CMD` follows the command's descendants, as
# root: a shell script that runs two Go programs (both watched, each named),
# `go run` and `go test` (the program and the test binary are watched, the
# Go toolchain's own programs are not), and a command whose tree runs no
# supported runtime (one line, exit 1). Counts are exact: the programs force
# their races with channels. Ends with `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

if [ "$(id -u)" != 0 ]; then
	echo "FAIL e2e_tree needs root"; echo "RESULT 0 1"; exit 1
fi
V=1.23
GO=/usr/lib/go-$V/bin/go
BIN=$PWD/build/go/$V/mapraces
[ -x "$BIN" ] && [ -x "$GO" ] || { echo "FAIL needs $BIN and $GO"; echo "RESULT 0 1"; exit 1; }
export GO111MODULE=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
export GOPATH=$tmp/gopath GOCACHE=$PWD/build/gocache

# A wrapper script: two Go processes, one after the other.
printf '#!/bin/sh\n"$1" iter-write 10\n"$1" iter-delete 10\n' >"$tmp/wrap.sh"
chmod +x "$tmp/wrap.sh"
timeout -s KILL 120 "$MW" --json -- "$tmp/wrap.sh" "$BIN" >"$tmp/w.out" 2>"$tmp/w.err"
rc=$?
a=$(jqs "$tmp/w.out" .alerts) np=$(grep -c '"type":"process_summary"' "$tmp/w.out")
named=$(grep -c '"what":"process".*watching pid [0-9]* (mapraces) too' "$tmp/w.out")
pids=$(grep '^{"type":"alert"' "$tmp/w.out" | jq -r .pid | sort -u | wc -l)
if [ "$rc" = 0 ] && [ "$a" = 40 ] && [ "$np" = 2 ] && [ "$named" = 1 ] && [ "$pids" = 2 ]; then
	ok "script running two Go programs: both watched, alerts name their pid, 40 alerts in all"
else
	bad "script: want exit 0, 40 alerts over 2 processes (exit $rc, alerts ${a:-none}, $np process summaries, $pids pids)" "$tmp/w.out" "$tmp/w.err"
fi

# go run: the program is watched, the toolchain (go, compile, link) is not.
(cd tests/go/mapraces && timeout -s KILL 300 "$PWD/../../../$MW" --json -- "$GO" run . iter-write 10) \
	>"$tmp/r.out" 2>"$tmp/r.err"
rc=$?
a=$(jqs "$tmp/r.out" .alerts)
if [ "$rc" = 0 ] && [ "$a" = 20 ] && grep -q '^rounds=10 mode=iter-write ok' "$tmp/r.out" &&
   ! grep -q 'watching pid [0-9]* (\(compile\|link\|asm\|go\))' "$tmp/r.out"; then
	ok "go run: the program's 20 forced races, toolchain not watched"
else
	bad "go run: want exit 0 and 20 alerts (exit $rc, alerts ${a:-none})" "$tmp/r.out" "$tmp/r.err"
fi

# go test: the test binary, a child of the go command.
(cd tests/go/gotestpkg && GOTESTPKG_ROUNDS=10 timeout -s KILL 300 "$PWD/../../../$MW" --plain -- "$GO" test -count=1 .) \
	>"$tmp/t.out" 2>"$tmp/t.err"
rc=$?
wl=$(grep -n 'MARK:gotest-write$' tests/go/gotestpkg/race_test.go | cut -d: -f1)
if [ "$rc" = 0 ] && grep -q '^mapwatch: 10 alerts: iter-write 10' "$tmp/t.out" &&
   grep -q "forcedIterWrite.func1 (race_test.go:$wl)" "$tmp/t.out" && grep -q '^ok ' "$tmp/t.out"; then
	ok "go test: the test binary's 10 forced races, writer at race_test.go:$wl"
else
	bad "go test: want exit 0, 10 alerts naming race_test.go:$wl (exit $rc)" "$tmp/t.out" "$tmp/t.err"
fi

# Nothing in the tree runs a supported runtime: one line, exit 1.
"$MW" --plain -- /bin/sh -c 'true; true' >"$tmp/n.out" 2>"$tmp/n.err"
rc=$?
if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/n.err")" = 1 ] &&
   grep -q 'cannot trace /bin/sh: .*no process it started ran a supported runtime' "$tmp/n.err"; then
	ok "no supported runtime in the tree: one line, exit 1"
else
	bad "no supported runtime: want one line and exit 1 (exit $rc)" "$tmp/n.err"
fi

finish
