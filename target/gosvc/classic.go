//go:build !goexperiment.swissmap

// Classic (bucket) maps: Go up to 1.23, and 1.24 with GOEXPERIMENT=noswissmap.

package main

import "unsafe"

// mapShape reads B and oldbuckets from m's hmap (count int, flags uint8,
// B uint8, noverflow uint16, hash0 uint32, buckets, oldbuckets), for the
// grow count in the stats. In unsafe mode the read races with other writers,
// like mapsvc's: it is a statistic, not a decision.
func mapShape(m map[uint64]uint64) (b int, oldbuckets uintptr) {
	h := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	if h == nil {
		return 0, 0
	}
	return int(*(*uint8)(unsafe.Add(h, 9))), *(*uintptr)(unsafe.Add(h, 24))
}
