//go:build goexperiment.swissmap

// Swiss-table maps (Go 1.24's default) have no B and no old buckets.

package main

func mapShape(m map[uint64]uint64) (b int, oldbuckets uintptr) {
	return -1, 0
}
