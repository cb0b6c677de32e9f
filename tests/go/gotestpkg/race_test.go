// Package gotestpkg is run by `go test` under mapwatch (tests/e2e_tree.sh):
// the test binary is a descendant of the go command. TestForcedIterWrite
// forces N iter-write races with channels (N from GOTESTPKG_ROUNDS, default 10).
package gotestpkg

import (
	"os"
	"strconv"
	"testing"
)

//go:noinline
func forcedIterWrite(m map[uint64]uint64) {
	inLoop, written := make(chan bool), make(chan bool)
	go func() {
		<-inLoop
		m[1000] = 1 // MARK:gotest-write
		written <- true
	}()
	first := true
	for range m { // MARK:gotest-range
		if first {
			first = false
			inLoop <- true
			<-written
		}
	}
}

func TestForcedIterWrite(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GOTESTPKG_ROUNDS"))
	if n <= 0 {
		n = 10
	}
	keep := make([]map[uint64]uint64, 0, n)
	for i := 0; i < n; i++ {
		m := make(map[uint64]uint64)
		for k := uint64(0); k < 16; k++ {
			m[k] = k
		}
		forcedIterWrite(m)
		keep = append(keep, m)
	}
	if len(keep) != n {
		t.Fatal("rounds")
	}
}
