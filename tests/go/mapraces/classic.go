//go:build !goexperiment.swissmap

// Classic (bucket) maps: Go up to 1.23, and 1.24 with GOEXPERIMENT=noswissmap.
// mapB reads hmap.B (a uint8 after count int and flags uint8) and mapGrowing
// hmap.oldbuckets (after noverflow uint16, hash0 uint32 and buckets), so
// iter-grow can confirm that its inserts really started a grow.

package main

import "unsafe"

const classicMaps = true

func mapB(m map[uint64]uint64) int {
	h := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	if h == nil {
		return 0
	}
	return int(*(*uint8)(unsafe.Add(h, 9)))
}

func mapGrowing(m map[uint64]uint64) bool {
	h := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	return h != nil && *(*unsafe.Pointer)(unsafe.Add(h, 24)) != nil
}
