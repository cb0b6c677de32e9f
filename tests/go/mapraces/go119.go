//go:build !go1.21

// Before Go 1.21: the range-delete idiom (compiled to runtime.mapclear) and a
// copy loop in place of maps.Clone (an iteration of the source).

package main

const cloneKind = "copyloop"

//go:noinline
func clearMap(m map[uint64]uint64) {
	for k := range m { // MARK:clear-idiom
		delete(m, k)
	}
}

//go:noinline
func cloneMap(m map[uint64]uint64) map[uint64]uint64 {
	c := make(map[uint64]uint64, len(m))
	for k, v := range m { // MARK:clone-copy-loop
		c[k] = v
	}
	return c
}
