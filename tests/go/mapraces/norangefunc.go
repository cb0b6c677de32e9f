//go:build !go1.23

// Before Go 1.23 there is no range-over-func: mode iter-write-func exits 3.

package main

const haveRangeFunc = false

func iterWriteFuncRange(m map[uint64]uint64, rv *rendezvous) int { panic("go1.23") }

func iterWriteFuncWrite(m map[uint64]uint64, k uint64, round int) int { panic("go1.23") }
