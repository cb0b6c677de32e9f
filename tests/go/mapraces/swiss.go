//go:build goexperiment.swissmap

// Swiss-table maps (Go 1.24's default) have no B: iter-grow prints grew=n/a.

package main

const classicMaps = false

func mapB(m map[uint64]uint64) int { return -1 }

func mapGrowing(m map[uint64]uint64) bool { return false }
