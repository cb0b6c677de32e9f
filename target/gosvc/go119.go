//go:build !go1.21

package main

// clearMap empties m with the range-delete idiom, which Go compiles to
// runtime.mapclear.
func clearMap(m map[uint64]uint64) {
	for k := range m {
		delete(m, k)
	}
}
