#!/usr/bin/env bash
# gen_gosites_fixtures.sh — writes tests/gosites_fixtures.h for test_gosites:
# the machine code of the Go runtime's map functions from real Go 1.19, 1.21,
# 1.22, 1.23 and 1.24 binaries (1.24 twice: Swiss maps, and
# GOEXPERIMENT=noswissmap), with the probe sites the test expects.
#
# The expectations come from `go tool objdump`'s text, by rules written here
# in awk (not from user/gosites.c), so the test compares two independent
# readings of the same bytes:
#   entry   the PUSHQ BP right after the stack check; else (1.19) the first
#           instruction after SUBQ/MOVQ BP/LEAQ BP that the kernel emulates
#           (J*, CALL, NOP*, but not a 5-byte nop), before any write to a
#           kept register, any other control flow, or any jump target;
#           also the same with arguments 0/1 allowed to live on in a
#           MOVQ-spilled stack slot;
#   iterend mapiternext: the first J* after the last `CMPL
#           runtime.writeBarrier(SB), $0x0` (either operand order: 1.19's
#           objdump prints them the other way round) before the last `MOVUPS X15,
#           0(AX)` before the first RET; (*Iter).Next: the same for every
#           MOVUPS X15, 0(AX) that is followed by the epilogue and a RET.
#
#   tests/gen_gosites_fixtures.sh        (from anywhere; needs the toolchains)
#
# Toolchains: /usr/lib/go-1.{19,21,22,23}/bin/go (Debian packages) and Go 1.24
# at $GO124 (default: build/go-1.24/usr/lib/go-1.24/bin/go, where
# scripts/deps.sh unpacks it). A missing toolchain is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=tests/gosites_fixtures.h
GO124=${GO124:-build/go-1.24/usr/lib/go-1.24/bin/go}
[ -x "$GO124" ] && GO124=$(cd "$(dirname "$GO124")" && pwd)/$(basename "$GO124")

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/src/gsfx" "$W/bin"
export GO111MODULE=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
export GOPATH=$W/gopath GOCACHE=$W/gocache

# The fixture program: maps of uint32, uint64, string, struct and pointer keys,
# so every mapaccess/mapassign/mapdelete variant is linked; ranges (with and
# without break), deletes, clear and maps.Clone (1.21+).
cat > "$W/src/gsfx/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"
)

type K struct {
	A, B uint64
	S    string
}

type T struct{ x int }

var sink int

//go:noinline
func run() {
	m32 := map[uint32]int{}
	m64 := map[uint64]uint64{}
	ms := map[string]int{}
	mk := map[K]int{}
	mp := map[*T]int{}
	ts := make([]*T, 0, 100)
	for i := 0; i < 1000; i++ {
		m32[uint32(i)] = i
		m64[uint64(i)] = uint64(i)
		ms[fmt.Sprint(i)] = i
		mk[K{uint64(i), 1, "x"}] = i
		if i < 100 {
			t := &T{i}
			ts = append(ts, t)
			mp[t] = i
		}
	}
	for k, v := range m64 {
		sink += int(k + v)
	}
	for k := range ms {
		sink += len(k)
		if sink > 1<<40 {
			break
		}
	}
	sink += m32[3] + ms["4"] + mk[K{1, 1, "x"}] + mp[ts[0]] + int(m64[7])
	if v, ok := m32[5]; ok {
		sink += v
	}
	if v, ok := m64[5]; ok {
		sink += int(v)
	}
	if v, ok := ms["5"]; ok {
		sink += v
	}
	if v, ok := mk[K{2, 1, "x"}]; ok {
		sink += v
	}
	if v, ok := mp[ts[1]]; ok {
		sink += v
	}
	delete(m32, 1)
	delete(m64, 1)
	delete(ms, "1")
	delete(mk, K{1, 1, "x"})
	delete(mp, ts[2])
	extra(m64, ms)
	for k := range mk {
		delete(mk, k)
	}
	fmt.Fprintln(os.Stderr, len(m32), len(m64), len(ms), len(mk), len(mp), sink)
}

func main() { run() }
EOF
cat > "$W/src/gsfx/new.go" <<'EOF'
//go:build go1.21

package main

import "maps"

//go:noinline
func extra(m map[uint64]uint64, ms map[string]int) {
	c := maps.Clone(m)
	c2 := maps.Clone(ms)
	sink += len(c) + len(c2)
	clear(c)
	clear(c2)
}
EOF
cat > "$W/src/gsfx/old.go" <<'EOF'
//go:build !go1.21

package main

//go:noinline
func extra(m map[uint64]uint64, ms map[string]int) {
	c := make(map[uint64]uint64)
	for k, v := range m {
		c[k] = v
	}
	sink += len(c)
	for k := range c {
		delete(c, k)
	}
}
EOF

# Functions per map implementation, with the registers their site must keep
# (the arguments they use; R14 = g everywhere).
ACCESS="runtime.mapaccess1:AX,BX,CX runtime.mapaccess2:AX,BX,CX
runtime.mapaccess1_fast32:AX,BX,CX runtime.mapaccess2_fast32:AX,BX,CX
runtime.mapaccess1_fast64:AX,BX,CX runtime.mapaccess2_fast64:AX,BX,CX
runtime.mapaccess1_faststr:AX,BX,CX,DI runtime.mapaccess2_faststr:AX,BX,CX,DI"
WRITE="runtime.mapassign:AX,BX,CX runtime.mapassign_fast32:AX,BX,CX
runtime.mapassign_fast64:AX,BX,CX runtime.mapassign_fast64ptr:AX,BX,CX
runtime.mapassign_faststr:AX,BX,CX,DI
runtime.mapdelete:AX,BX,CX runtime.mapdelete_fast32:AX,BX,CX
runtime.mapdelete_fast64:AX,BX,CX runtime.mapdelete_faststr:AX,BX,CX,DI
runtime.mapclear:AX,BX runtime.mapclone2:AX,BX maps.clone:AX,BX runtime.fatal:AX,BX"
CLASSIC="$ACCESS $WRITE
runtime.mapiterinit:AX,BX,CX runtime.mapiternext:AX runtime.hashGrow:AX,BX
runtime.growWork:AX,BX,CX runtime.growWork_fast32:AX,BX,CX
runtime.growWork_fast64:AX,BX,CX runtime.growWork_faststr:AX,BX,CX
runtime.evacuate:AX,BX,CX runtime.evacuate_fast32:AX,BX,CX
runtime.evacuate_fast64:AX,BX,CX runtime.evacuate_faststr:AX,BX,CX"
NOSWISS="runtime.mapiterinit:AX,BX,CX runtime.mapiternext:AX runtime.mapassign:AX,BX,CX
runtime.mapassign_fast64:AX,BX,CX runtime.mapclear:AX,BX runtime.hashGrow:AX,BX
runtime.evacuate_fast64:AX,BX,CX runtime.mapclone2:AX,BX runtime.fatal:AX,BX"
SWISS="$ACCESS $WRITE
runtime.mapIterStart:AX,BX,CX runtime.mapIterNext:AX
internal/runtime/maps.(*Iter).Init:AX,BX,CX internal/runtime/maps.(*Iter).Next:AX
internal/runtime/maps.(*Map).Delete:AX,BX,CX internal/runtime/maps.(*Map).Clear:AX,BX
internal/runtime/maps.(*Map).PutSlot:AX,BX,CX internal/runtime/maps.(*Map).growToTable:AX,BX
internal/runtime/maps.(*table).split:AX,BX,CX
internal/runtime/maps.(*Map).installTableSplit:AX,BX,CX,DI internal/runtime/maps.fatal:AX,BX"

# The oracle: reads `go tool objdump -s` of one function, writes its byte
# array to $W/bytes.h and its table row to $W/rows.h.
ORACLE='
function hexval(s,   i, c, v) {
	v = 0; s = tolower(s); sub(/^0x/, "", s)
	for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); v = v * 16 + c - 1 }
	return v
}
function byte(h, k) { return hexval(substr(h, 2 * k + 1, 2)) }
# How the kernel handles a probe on the instruction with these bytes.
function kind(h,   n, k, b, p66, pf3, rex, op, op2) {
	n = length(h) / 2; k = 0; p66 = 0; pf3 = 0; rex = 0
	while (k < n) {
		b = substr(h, 2 * k + 1, 2)
		if (b !~ /^(66|67|f0|f2|f3|2e|36|3e|26|64|65)$/) break
		if (b == "66") p66 = 1
		if (b == "f3") pf3 = 1
		k++
	}
	if (k < n && substr(h, 2 * k + 1, 1) == "4") { rex = byte(h, k); k++ }
	op = substr(h, 2 * k + 1, 2); op2 = substr(h, 2 * k + 3, 2)
	if ((op == "90" && !pf3) || (op == "0f" && op2 == "1f")) {
		if (op == "90" && rex % 2) return "rej"
		if (n == 5 || (n == 10 && substr(h, 1, 10) == "662e0f1f84")) return "nopopt"
		return "nop"
	}
	if (op == "eb" || op == "e9") return p66 ? "rej" : "jmp"
	if (op == "e8") return p66 ? "rej" : "call"
	if (op ~ /^7[0-9a-f]$/ || (op == "0f" && op2 ~ /^8[0-9a-f]$/)) return p66 ? "rej" : "jcc"
	if (op ~ /^5[0-7]$/ && (n == 1 || (n == 2 && substr(h, 1, 2) == "41"))) return "push"
	return "sstep"
}
function emulated(k) { return k == "push" || k == "jcc" || k == "jmp" || k == "call" || k == "nop" }
function flow(a) { return a ~ /^(J[A-Z]+|CALL|RET|UD2|INT)/ }
# The registers (Go names) an instruction in Go syntax writes, as " AX BX ".
function writes(a,   mn, ops, n, o, w) {
	mn = a; sub(/ .*/, "", mn)
	ops = a; if (!sub(/^[^ ]+ /, "", ops)) ops = ""
	n = split(ops, o, ", ")
	if (mn ~ /^(CMP|TEST|BT[LQWB]?$|NOP|UCOMIS|COMIS|PREFETCH|PUSH|J|CALL|RET)/) return " "
	if (mn ~ /^XCHG/) return " " o[1] " " o[n] " "
	if (mn ~ /^(CQO|CDQ|CWD)/) return " DX "
	if (mn ~ /^(MUL|DIV|IDIV)/ || (mn ~ /^IMUL/ && n == 1)) return " AX DX "
	w = o[n]
	return " " w " "
}
# Bytes written at x(SP) by a store, 0 when its destination is not x(SP).
function spstore(a,   mn, ops, n, o) {
	mn = a; sub(/ .*/, "", mn)
	ops = a; if (!sub(/^[^ ]+ /, "", ops)) return 0
	if (mn ~ /^(CMP|TEST|BT|NOP|UCOMIS|COMIS|PREFETCH|PUSH|LEA)/) return 0
	n = split(ops, o, ", ")
	if (o[n] !~ /^(-?0x[0-9a-f]+)?\(SP\)$/) return 0
	if (mn ~ /^MOVUPS|^MOVOU|^MOVDQU/) return 16
	if (mn ~ /B$/) return 1
	if (mn ~ /W$/) return 2
	if (mn ~ /L$/ || mn ~ /SS$/) return 4
	return 8
}
function spoff(a,   ops, n, o) {
	ops = a; sub(/^[^ ]+ /, "", ops); n = split(ops, o, ", ")
	if (o[n] ~ /^\(SP\)$/) return 0
	sub(/\(SP\)$/, "", o[n]); return o[n] ~ /^-/ ? -hexval(substr(o[n], 2)) : hexval(o[n])
}
function memdest_other(a,   ops, n, o, mn) {
	mn = a; sub(/ .*/, "", mn)
	if (mn ~ /^(CMP|TEST|BT|NOP|UCOMIS|COMIS|PREFETCH|PUSH|LEA|J|CALL)/) return 0
	ops = a; if (!sub(/^[^ ]+ /, "", ops)) return 0
	n = split(ops, o, ", ")
	return o[n] ~ /\(/ && o[n] !~ /\(SP\)$/ && o[n] !~ /\(SB\)$/
}
function kill(off, size,   r, j, k, m) {
	for (r = 0; r < 2; r++) {
		m = 0
		for (j = 0; j < ns[r]; j++) {
			k = sl[r, j]
			if (size < 0 || off + size <= k || k + 8 <= off) { sl[r, m] = k; m++ }
		}
		ns[r] = m
	}
}
# The expected entry site from index i on; spill: arguments 0/1 may move to
# a MOVQ-spilled stack slot. Sets E_off, E_frame, E_ax, E_bx.
function entry(start, spill,   i, k, frame, r, w, a, sz, dead) {
	E_off = -1; E_frame = 0; E_ax = -1; E_bx = -1
	ns[0] = ns[1] = 0; inreg[0] = inreg[1] = 1
	i = start
	if (asm[i] == "PUSHQ BP" && !tgt[off[i]]) { E_off = off[i]; return }
	if (asm[i] ~ /^(SUBQ \$0x[0-9a-f]+, SP|ADDQ \$-0x[0-9a-f]+, SP)$/ && asm[i + 1] ~ /^MOVQ BP, 0x[0-9a-f]+\(SP\)$/ &&
	    asm[i + 2] ~ /^LEAQ 0x[0-9a-f]+\(SP\), BP$/) {
		for (k = i; k < i + 3; k++) if (tgt[off[k]]) return
		i += 3; frame = 1
	} else
		return
	for (; i < N; i++) {
		a = asm[i]
		if (tgt[off[i]]) return
		if (emulated(kind(hex[i]))) {
			E_off = off[i]; E_frame = frame
			if (!inreg[0]) E_ax = sl[0, 0]
			if (!inreg[1]) E_bx = sl[1, 0]
			return
		}
		if (flow(a)) return
		w = writes(a)
		if (w ~ / (SP|BP) /) return
		sz = spstore(a)
		if (sz) kill(spoff(a), sz)
		else if (memdest_other(a)) kill(0, -1)
		for (r = 0; r < 2; r++) if (!inreg[r] && !ns[r]) return
		for (r in keepreg) {
			if (index(w, " " r " ") == 0) continue
			if (spill && (r == "AX" || r == "BX")) {
				k = r == "AX" ? 0 : 1
				if (!inreg[k] || ns[k]) { inreg[k] = 0; continue }
			}
			return
		}
		if (a ~ /^MOVQ (AX|BX), (0x[0-9a-f]+)?\(SP\)$/) {
			k = a ~ /^MOVQ AX/ ? 0 : 1
			if (inreg[k] && ns[k] < 4) { sl[k, ns[k]] = spoff(a); ns[k]++ }
		}
	}
}
# The end-block jcc for the nil store at index s.
function endsite(s,   k) {
	for (k = s - 1; k >= 0; k--)
		if (asm[k] ~ /^CMPL (runtime\.writeBarrier\(SB\), \$0x0|\$0x0, runtime\.writeBarrier\(SB\))$/) break
	if (k < 0) return -1
	for (k++; k < s; k++) if (asm[k] ~ /^J/) return off[k]
	return -1
}
BEGIN { FS = "\t"; N = 0 }
/^TEXT / { next }
{
	n = 0
	for (f = 1; f <= NF; f++) if ($f != "") fld[n++] = $f
	if (n < 4) next
	addr[N] = hexval(fld[1]); hex[N] = fld[2]; asm[N] = fld[3]
	sub(/[ \t]+$/, "", asm[N])
	N++
}
END {
	if (!N) { print "no instructions for " name > "/dev/stderr"; exit 1 }
	base = addr[0]; total = 0
	for (i = 0; i < N; i++) { off[i] = addr[i] - base; total += length(hex[i]) / 2 }
	for (i = 0; i < N; i++)
		if (asm[i] ~ /^(J[A-Z]+|CALL) 0x[0-9a-f]+$/) {
			t = asm[i]; sub(/^[^ ]+ /, "", t); t = hexval(t) - base
			if (t >= 0 && t < total) tgt[t] = 1
		}
	n = split(keep, kr, ",")
	mask = "MW_GO_REG(MW_GO_R14)"; keepreg["R14"] = 1
	for (j = 1; j <= n; j++) {
		keepreg[kr[j]] = 1
		g = kr[j]; if (g ~ /^R/) g = "MW_GO_" g; else g = "MW_GO_R" g
		mask = mask " | MW_GO_REG(" g ")"
	}
	check = 0; start = 0
	for (i = 0; i < N && i < 6; i++)
		if (asm[i] ~ /^CMPQ / && asm[i] ~ /0x10\(R14\)/ && asm[i + 1] ~ /^JBE /) { check = 1; start = i + 2; break }
	entry(start, 0); e_off = E_off; e_frame = E_frame
	entry(start, 1); s_off = E_off; s_frame = E_frame; s_ax = E_ax; s_bx = E_bx
	it = -1; ns_ = 0
	if (name ~ /^runtime\.mapiternext$/) {
		for (r = 0; r < N && asm[r] != "RET"; r++) ;
		for (s = r - 1; s >= 0 && asm[s] != "MOVUPS X15, 0(AX)"; s--) ;
		if (s >= 0) it = endsite(s)
	}
	if (name ~ /\(\*Iter\)\.Next$/)
		for (s = 0; s < N; s++) {
			if (asm[s] != "MOVUPS X15, 0(AX)") continue
			for (k = s + 1; k < N && asm[k] ~ /^(ADDQ \$0x[0-9a-f]+, SP|POPQ BP|MOVQ 0x[0-9a-f]+\(SP\), BP)$/; k++) ;
			if (k < N && asm[k] == "RET" && ns_ < 4) sw[ns_++] = endsite(s)
		}
	printf "static const uint8_t %s[] =", id >> bytesf
	line = ""
	for (i = 0; i < N; i++)
		for (b = 0; b < length(hex[i]); b += 2) {
			line = line "\\x" substr(hex[i], b + 1, 2)
			if (length(line) >= 96) { printf "\n\t\"%s\"", line >> bytesf; line = "" }
		}
	if (line != "") printf "\n\t\"%s\"", line >> bytesf
	printf ";\n" >> bytesf
	printf "\t{ \"%s\", \"%s\", 0x%x, %s, sizeof(%s) - 1, %s, %d,\n\t  %d, %d, %d, %d, %d, %d,\n\t  %d, %d, { %d, %d, %d, %d } },\n", \
		go, name, base, id, id, mask, check, e_off, e_frame, s_off, s_frame, s_ax, s_bx, it, ns_, \
		(ns_ > 0 ? sw[0] : -1), (ns_ > 1 ? sw[1] : -1), (ns_ > 2 ? sw[2] : -1), (ns_ > 3 ? sw[3] : -1) >> rowsf
}'

: > "$W/bytes.h"
: > "$W/rows.h"
versions=""
count=0
build() {	# build LABEL GO [GOEXPERIMENT] -> $W/bin/gsfx-LABEL
	local label=$1 go=$2 exp=${3:-}
	if [ ! -x "$go" ]; then
		echo "gen_gosites_fixtures: no $go, skipping Go $label" >&2
		return 1
	fi
	(cd "$W/src/gsfx" && GOEXPERIMENT=$exp "$go" build -o "$W/bin/gsfx-$label" .)
}
dump() {	# dump LABEL GO "FUNC:REGS ..."
	local label=$1 go=$2 list=$3 fn regs re id
	local ver
	ver=$("$go" version | awk '{print $3}')
	[ "$label" = 1.24ns ] && ver="$ver noswissmap"
	versions="$versions $ver"
	for entry in $list; do
		fn=${entry%%:*} regs=${entry#*:}
		re=$(printf '%s' "$fn" | sed 's/[.()*]/\\&/g')
		if ! "$go" tool nm "$W/bin/gsfx-$label" | awk -v f="$fn" '$3 == f { ok = 1 } END { exit !ok }'; then
			echo "gen_gosites_fixtures: Go $label has no $fn" >&2
			continue
		fi
		id=fx_$(printf '%s_%s' "$label" "$fn" | tr -c 'A-Za-z0-9_\n' '_')
		"$go" tool objdump -s "^${re}\$" "$W/bin/gsfx-$label" |
			awk -v go="$label" -v name="$fn" -v keep="$regs" -v id="$id" \
			    -v bytesf="$W/bytes.h" -v rowsf="$W/rows.h" "$ORACLE"
		count=$((count + 1))
	done
}
for v in 1.19 1.21 1.22 1.23; do
	build "$v" "/usr/lib/go-$v/bin/go" && dump "$v" "/usr/lib/go-$v/bin/go" "$CLASSIC"
done
if build 1.24 "$GO124"; then
	dump 1.24 "$GO124" "$SWISS"
	build 1.24ns "$GO124" noswissmap && dump 1.24ns "$GO124" "$NOSWISS"
fi

{
	cat <<EOF
/* gosites_fixtures.h — generated by tests/gen_gosites_fixtures.sh; do not edit.
 *
 * Machine code of Go runtime map functions from real binaries built with:
 *  $versions
 * and, per function, the sites test_gosites.c expects, computed by that
 * script from \`go tool objdump\`'s text (see its opening comment). Offsets
 * are from the function's entry; -1 means "no site".
 */
#ifndef GOSITES_FIXTURES_H
#define GOSITES_FIXTURES_H

#include <stdint.h>
#include "gosites.h"

struct gs_fixture {
	const char *go;		/* "1.19" … "1.24", "1.24ns" (GOEXPERIMENT=noswissmap) */
	const char *name;	/* the symbol */
	uint64_t vaddr;
	const uint8_t *code;
	size_t len;
	unsigned keep;		/* registers the entry site must keep */
	int has_check;		/* starts with the stack-bound check */
	int entry, entry_frame;	/* entry site, and whether rbp is the frame there */
	int spill, spill_frame;	/* the same with arguments 0/1 allowed in stack slots */
	int spill_ax, spill_bx;	/* their rsp offsets at that site, -1 = in the register */
	int iterend;		/* mapiternext's end-of-iteration jcc */
	int nswiss;		/* (*Iter).Next's end-of-iteration jccs */
	int swiss[4];
};

EOF
	cat "$W/bytes.h"
	printf '\nstatic const struct gs_fixture gs_fixtures[] = {\n'
	cat "$W/rows.h"
	printf '};\n#define GS_NFIXTURES (sizeof(gs_fixtures) / sizeof(gs_fixtures[0]))\n\n#endif\n'
} > "$OUT"
echo "gen_gosites_fixtures: $count functions from$versions -> $OUT ($(wc -c < "$OUT") bytes)"
