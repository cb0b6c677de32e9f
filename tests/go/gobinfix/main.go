// gobinfix is the fixture for tests/test_gobin.c: a program with a few
// named functions and maps, built by every Go toolchain, plain, stripped
// and PIE. The test finds the call sites below in the machine code and
// expects the binary's line table to put them on the lines marked
// "MARK: <name>", so keep each mark on the line of its map operation.
package main

import (
	"fmt"
	"os"
)

// fill grows a fresh map through mapassign_fast64 (and so hashGrow).
//
//go:noinline
func fill(m map[uint64]uint64, n int) {
	for i := 0; i < n; i++ {
		m[uint64(i)] = uint64(i) * 3 // MARK: fill-assign
	}
}

// put is small enough to be inlined into fillInline: its map write then
// belongs to fillInline's machine code but to put's source line.
func put(m map[uint64]uint64, k uint64) {
	m[k] = k + 7 // MARK: put-assign
}

//go:noinline
func fillInline(m map[uint64]uint64, n int) {
	for i := 0; i < n; i++ {
		put(m, uint64(i)+1<<20) // MARK: put-call
	}
}

// sum ranges over the map: mapiterinit and mapiternext.
//
//go:noinline
func sum(m map[uint64]uint64) uint64 {
	var s uint64
	for k, v := range m { // MARK: sum-range
		s += k ^ v
	}
	return s
}

func main() {
	m := make(map[uint64]uint64)
	fill(m, 1000)
	fillInline(m, 100)
	s := sum(m)
	if len(os.Args) > 1 {
		fmt.Println(len(m), s)
	}
}
