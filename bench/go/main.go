// gomap bench, Go half: throughput of Go 1.19's map[uint64]uint64.
//
// The twin of bench/gomap_bench.c (keep the two in step): the same keys
// (splitmix64(i)), the same four measurements per size, the same output,
// one line per measurement: `go <op> <n> <Mops/s>`. Run by
// scripts/bench-gomap.sh; no dependencies beyond the standard library.
//
//	gomapbench [-t SEC] [SIZE...]     default: -t 0.3  1000 1000000
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

var (
	target float64
	sink   uint64
)

func splitmix64(x uint64) uint64 {
	z := x + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func report(op string, n int, ops float64, d time.Duration) {
	fmt.Printf("go %s %d %.3f\n", op, n, ops/d.Seconds()/1e6)
}

//go:noinline
func fill(keys []uint64) map[uint64]uint64 {
	m := make(map[uint64]uint64)
	for i, k := range keys {
		m[k] = uint64(i)
	}
	return m
}

func benchInsert(keys []uint64) {
	t0 := time.Now()
	ops := 0.0
	var d time.Duration
	for {
		m := fill(keys)
		sink += uint64(len(m))
		ops += float64(len(keys))
		if d = time.Since(t0); d.Seconds() >= target {
			break
		}
	}
	report("insert", len(keys), ops, d)
}

func benchLookup(keys []uint64) {
	m := fill(keys)
	t0 := time.Now()
	ops := 0.0
	var sum uint64
	var d time.Duration
	for {
		for _, k := range keys {
			v, ok := m[k]
			sum += v
			if ok {
				sum++
			}
		}
		ops += float64(len(keys))
		if d = time.Since(t0); d.Seconds() >= target {
			break
		}
	}
	sink += sum
	report("lookup", len(keys), ops, d)
}

func benchDelete(keys []uint64) {
	var timed time.Duration
	ops := 0.0
	for timed.Seconds() < target {
		m := fill(keys)
		t0 := time.Now()
		for _, k := range keys {
			delete(m, k)
		}
		timed += time.Since(t0)
		ops += float64(len(keys))
		sink += uint64(len(m))
	}
	report("delete", len(keys), ops, timed)
}

func benchIterate(keys []uint64) {
	m := fill(keys)
	t0 := time.Now()
	ops := 0.0
	var sum uint64
	var d time.Duration
	for {
		for k, v := range m {
			sum += k ^ v
		}
		ops += float64(len(keys))
		if d = time.Since(t0); d.Seconds() >= target {
			break
		}
	}
	sink += sum
	report("iterate", len(keys), ops, d)
}

func main() {
	flag.Float64Var(&target, "t", 0.3, "seconds of timed work per measurement")
	flag.Parse()
	sizes := []int{}
	for _, a := range flag.Args() {
		n, err := strconv.Atoi(a)
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "usage: gomapbench [-t SEC] [SIZE...]")
			os.Exit(2)
		}
		sizes = append(sizes, n)
	}
	if len(sizes) == 0 {
		sizes = []int{1000, 1000000}
	}
	for _, n := range sizes {
		keys := make([]uint64, n)
		for i := range keys {
			keys[i] = splitmix64(uint64(i))
		}
		benchInsert(keys)
		benchLookup(keys)
		benchDelete(keys)
		benchIterate(keys)
	}
}
