//go:build go1.21

// Go 1.21+: the clear builtin and maps.Clone (runtime.mapclone2, which reads
// the source without an iterator).

package main

import "maps"

const cloneKind = "maps.Clone"

//go:noinline
func clearMap(m map[uint64]uint64) {
	clear(m) // MARK:clear-builtin
}

//go:noinline
func cloneMap(m map[uint64]uint64) map[uint64]uint64 {
	return maps.Clone(m) // MARK:clone-maps-clone
}
