#!/usr/bin/env bash
# e2e_hostile.sh — targets that once made mapwatch report races that did not
# happen (tests/progs/hostile.c), as root: a target that execs itself with
# an iteration left open (ASLR off, so the new image's maps land on the old
# addresses), one that frees maps with iterations open and reuses their
# addresses, one that churns 20,000 maps (more than mapwatch tracks at once),
# one that abandons iterators in frames it then reuses, and one that loads a
# second copy of the runtime late. Each forces N races between all that:
# the target must exit normally, mapwatch must report exactly N, and the
# recording must replay to the same count. Ends with `RESULT <passed> <failed>`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

if [ "$(id -u)" != 0 ] || [ ! -x build/progs/hostile ]; then
	echo "FAIL e2e_hostile needs root and build/progs/hostile"; echo "RESULT 0 1"; exit 1
fi

N=10
for t in "exec" "free" "churn" "abandon" "dlopen $PWD/build/libgomap.so"; do
	set -- $t
	m=$1; shift
	out=$tmp/$m.out err=$tmp/$m.err
	timeout -s KILL 120 "$MW" --json -o "$tmp/$m.trace" -- build/progs/hostile "$m" "$N" "$@" >"$out" 2>"$err"
	rc=$?
	a=$(jqs "$out" .alerts) mf=$(jqs "$out" .map_full)
	if [ "$rc" = 0 ] && grep -q "^hostile $m ok forced=$N" "$out" && [ "$a" = "$N" ] && [ "$mf" = 0 ]; then
		ok "$m: target exited 0, exactly the $N forced races reported"
	else
		bad "$m: want exit 0 and exactly $N alerts, got exit $rc, ${a:-no} alerts, map_full ${mf:-?}" "$out" "$err"
	fi
	"$MW" analyze "$tmp/$m.trace" --json >"$tmp/$m.an" 2>"$tmp/$m.anerr"
	b=$(jqs "$tmp/$m.an" .alerts)
	if [ "$b" = "$N" ]; then
		ok "$m: the recording replays to the same $N alerts"
	else
		bad "$m: analyze of the recording: want $N alerts, got ${b:-none}" "$tmp/$m.an" "$tmp/$m.anerr"
	fi
done
# -p: the exec is seen through BPF (no ptrace): same exact count.
setarch -R build/progs/hostile exec-after "$N" "$tmp/go" >"$tmp/p.prog" 2>&1 &
hp=$!
for _ in $(seq 100); do grep -q waiting "$tmp/p.prog" && break; sleep 0.05; done
timeout -s KILL 60 "$MW" --json -p "$hp" >"$tmp/p.out" 2>"$tmp/p.err" &
mw=$!
for _ in $(seq 200); do grep -q '"type":"stats"' "$tmp/p.out" 2>/dev/null && break; sleep 0.05; done
touch "$tmp/go"
wait "$mw"
rc=$?
wait "$hp"
hrc=$?
a=$(jqs "$tmp/p.out" .alerts)
if [ "$rc" = 0 ] && [ "$hrc" = 0 ] && [ "$a" = "$N" ] && grep -q '"what":"exec"' "$tmp/p.out"; then
	ok "exec under -p: announced, exactly the $N forced races of the new image"
else
	bad "exec under -p: want exit 0 and $N alerts (mapwatch $rc, target $hrc, alerts ${a:-none})" "$tmp/p.out" "$tmp/p.err" "$tmp/p.prog"
fi
# Every output says what changed under it.
if grep -q '"what":"exec".*exec.d .*state of the old image dropped' "$tmp/exec.out"; then
	ok "exec: announced in the JSON stream"
else
	bad "exec: want a note that the old image's state was dropped" "$tmp/exec.out"
fi
if grep -q '"what":"dlopen".*libgomap.so after mapwatch attached.*not watched' "$tmp/dlopen.out"; then
	ok "dlopen: a copy of the runtime loaded after attach is named as not watched"
else
	bad "dlopen: want a note naming the late copy" "$tmp/dlopen.out"
fi

finish
