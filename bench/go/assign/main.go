// assignbench — what one uprobe hit on runtime.mapassign_fast64 costs, Go side.
//
// N writes into a 64-entry map[uint64]uint64 (the map never grows), one
// runtime.mapassign_fast64 call each, on a goroutine locked to its OS
// thread; the time is that thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so
// a probe's traps, its BPF program and any single-step count and nothing
// else on a shared machine does. bench/go.sh runs it bare and under an
// empty uprobe at +0 and at mapwatch's site, built with each toolchain.
//
//	assignbench [N]     default 200000
//
// One line: assignbench: go<ver> calls C writes N thread_cpu_ns_per_write T
// wall_ns_per_write W xol yes|no
// calls = every mapassign_fast64 call of the program (warm-up included);
// xol = whether the kernel mapped its single-step area ([uprobes]) into the
// process, the evidence that a probe was single-stepped.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

const (
	keys                 = 64
	clockThreadCPUTimeID = 3
)

func threadCPU() int64 {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID,
		uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		fmt.Fprintf(os.Stderr, "assignbench: clock_gettime: %v\n", e)
		os.Exit(1)
	}
	return ts.Nano()
}

//go:noinline
func set(m map[uint64]uint64, k, v uint64) {
	m[k] = v
}

func xol() string {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "unknown"
	}
	if strings.Contains(string(b), "[uprobes]") {
		return "yes"
	}
	return "no"
}

func main() {
	n := 200000
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: assignbench [N]")
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v <= 0 {
			fmt.Fprintln(os.Stderr, "usage: assignbench [N]")
			os.Exit(2)
		}
		n = v
	}
	runtime.LockOSThread()
	m := make(map[uint64]uint64, keys)
	for i := uint64(0); i < keys; i++ {
		set(m, i, i)
	}
	w0, c0 := time.Now(), threadCPU()
	for i := 0; i < n; i++ {
		set(m, uint64(i)&(keys-1), uint64(i))
	}
	c1, w1 := threadCPU(), time.Now()
	fmt.Printf("assignbench: %s calls %d writes %d thread_cpu_ns_per_write %.1f wall_ns_per_write %.1f xol %s\n",
		runtime.Version(), n+keys, n, float64(c1-c0)/float64(n),
		float64(w1.Sub(w0).Nanoseconds())/float64(n), xol())
}
