//go:build go1.23

// Go 1.23+: iter-write through a range-over-func loop. maps.Keys's iterator
// function holds the map iterator in its own frame and calls the loop body
// (a closure, main.iterWriteFuncRange-range1) for each key.

package main

import "maps"

const haveRangeFunc = true

//go:noinline
func iterWriteFuncRange(m map[uint64]uint64, rv *rendezvous) int {
	seen, pause := 0, len(m)/2
	for k := range maps.Keys(m) { // MARK:iter-write-func-range
		seen++
		if seen == pause {
			rv.handOff(k)
		}
	}
	return seen
}

//go:noinline
func iterWriteFuncWrite(m map[uint64]uint64, k uint64, round int) int {
	m[k] = k + 1                // MARK:iter-write-func-write
	m[newKey(round, 0)] = k + 2 // MARK:iter-write-func-insert
	return 2
}
