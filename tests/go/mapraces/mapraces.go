// mapraces — Go map races and their legal look-alikes, for mapwatch's tests
// on real Go binaries (built for every toolchain by mk/go.mk).
//
//	mapraces [-v] MODE [ROUNDS]
//
// Every mode runs ROUNDS rounds (default 50), each on fresh maps that stay
// reachable until exit (so no address is reused and every round's map is a
// new identity), and ends with one line on stdout:
//
//	rounds=N mode=M ok [counts...]
//
// Forced racy modes. Goroutine R ranges over m and, inside the loop body,
// hands its current key to a foreign goroutine W and blocks on a channel; W
// operates on m and releases R, which runs the loop to its natural end. The
// interleaving comes from channels alone, so every round holds exactly one
// racy window. Go's own check (hashWriting seen by mapiternext) never fires:
// W's operation is over before R calls mapiternext again, so they exit 0.
//
//	iter-write    W assigns an existing key (R's current one) and a new key
//	iter-delete   W deletes R's current key and another existing one
//	iter-clear    W clears m (clear(m) in go1.21+, the range-delete idiom before)
//	iter-grow     m is filled to the load limit; W's inserts start a grow and
//	              evacuate part of it while R is mid-loop (size= is the fill,
//	              grew= counts the rounds where B really changed, growing=
//	              those where old buckets were left for R to meet; both n/a
//	              on Swiss-table maps)
//	iter-write-func  iter-write through `range maps.Keys(m)` (go1.23+)
//
// Tight racy modes: both goroutines loop flat out for a bounded time per
// round (20 ms). They cannot be forced; Go's runtime usually kills them first
// with exit status 2 and:
//
//	write-write   two writers                 fatal error: concurrent map writes
//	read-write    `v, ok := m[k]` vs a writer fatal error: concurrent map read and map write
//	clone-write   maps.Clone vs a writer      fatal error: concurrent map clone and map write
//	              (go1.19: a copy loop, so    concurrent map iteration and map write)
//	fatal         main.rangeLoop vs main.writeLoop: concurrent map iteration and map write
//
// Legal modes (no race; exit 0):
//
//	own-write         R writes m (updates, inserts that grow it) inside its own
//	                  range loop, with runtime.Gosched and a blocking channel
//	                  round trip per element to a helper locked to its own
//	                  thread, so R migrates between threads (GOMAXPROCS=2
//	                  unless set); migrated= counts the loops that ran on
//	                  more than one thread
//	break-then-write  R breaks after 2 elements and blocks in the same function
//	                  while W writes 4 times
//	return-then-write R breaks by returning, runs a stack-hungry call, blocks
//	                  in another function while W writes 4 times
//	stackgrow         R's loop body recurses deep enough to copy the stack
//	                  (moved= counts the rounds where it was copied); W
//	                  writes after R's loop has ended
//	mutex, rwmutex    writers, iterators (and readers) serialized by a lock
//	syncmap           sync.Map Range, Store, Load, Delete from several goroutines
//	cow               readers range atomic.Pointer snapshots; a writer copies,
//	                  changes the copy and swaps it in
//	different-maps    the forced iter-write interleaving, W writing another map
//	many-goroutines   200 goroutines per round, each ranging and writing its own map
//
// -v prints one line per round on stderr:
// `round N map 0x… iter_goid R writer_goid W` (W's map follows as `wmap 0x…`
// in different-maps; tight modes print the map only).
//
// The statements the tests look for carry a marker comment at the end of
// their line, "MARK:" then the mode and what the line does (range, write,
// insert, add, delete, other, clear, read, clone, ...), e.g. the iter-write
// mode's range statement is marked iter-write-range. Each marker occurs once
// and none is a prefix of another, so grepping the sources for one gives the
// line a stack must name. The version-specific helpers' lines are marked
// clear-builtin and clone-maps-clone (go1.21+), clear-idiom and
// clone-copy-loop (before). Work functions are //go:noinline and named after
// their mode (main.iterWriteRange, main.iterWriteWrite, main.rangeLoop, ...).
//
// Exit status: 0 done, 2 usage (or Go's fatal error), 3 mode needs a newer Go.
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

const defaultRounds = 50

// Per-round time budget of the tight modes (a bound, not a synchronisation).
const tightRound = 20 * time.Millisecond

var verbose bool

// Every map the program makes stays reachable until exit.
var (
	keep    []map[uint64]uint64
	keepMu  sync.Mutex
	keepAny []interface{}
)

func keepMap(m map[uint64]uint64) map[uint64]uint64 {
	keepMu.Lock()
	keep = append(keep, m)
	keepMu.Unlock()
	return m
}

// newMap returns a kept map holding keys 0..n-1, sized for n up front so
// that no grow is left in progress.
func newMap(n int) map[uint64]uint64 {
	return keepMap(fill(make(map[uint64]uint64, n), n))
}

func fill(m map[uint64]uint64, n int) map[uint64]uint64 {
	for i := 0; i < n; i++ {
		m[uint64(i)] = uint64(i) * 3
	}
	return m
}

// goid parses the current goroutine's id from its traceback header.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}

func logf(format string, a ...interface{}) {
	if verbose {
		fmt.Fprintf(os.Stderr, format, a...)
	}
}

// ---- forced interleavings -------------------------------------------------

// rendezvous: R hands W a key from inside its loop body (paused) and waits
// for W to finish (resume).
type rendezvous struct {
	paused chan uint64
	resume chan struct{}
}

// handOff is called by R inside its loop body: W runs now, R waits.
//
//go:noinline
func (rv *rendezvous) handOff(k uint64) {
	rv.paused <- k
	<-rv.resume
}

type forcedMode struct {
	size   int  // entries in R's map
	noHint bool // R's map grows to its size (no make hint)
	// rangeFn is R: it must call rv.handOff exactly once.
	rangeFn func(m map[uint64]uint64, rv *rendezvous) int
	// foreignFn is W, run while R is in handOff; returns map ops done.
	foreignFn func(m map[uint64]uint64, k uint64, round int) int
	// other, when set, makes W's map per round (different-maps).
	other func() map[uint64]uint64
}

type forcedResult struct {
	seen, ops int
}

func runForced(f forcedMode, rounds int) forcedResult {
	var res forcedResult
	for r := 0; r < rounds; r++ {
		var m map[uint64]uint64
		if f.noHint {
			m = keepMap(fill(make(map[uint64]uint64), f.size))
		} else {
			m = newMap(f.size)
		}
		wm := m
		if f.other != nil {
			wm = f.other()
		}
		rv := &rendezvous{paused: make(chan uint64), resume: make(chan struct{})}
		seen := make(chan int)
		ops := make(chan int)
		var rg, wg uint64
		go func() {
			if verbose {
				rg = goid()
			}
			seen <- f.rangeFn(m, rv)
		}()
		go func() {
			if verbose {
				wg = goid()
			}
			k := <-rv.paused
			n := f.foreignFn(wm, k, r)
			ops <- n
			close(rv.resume)
		}()
		res.ops += <-ops
		res.seen += <-seen
		if f.other != nil {
			logf("round %d map %p iter_goid %d writer_goid %d wmap %p\n", r, m, rg, wg, wm)
		} else {
			logf("round %d map %p iter_goid %d writer_goid %d\n", r, m, rg, wg)
		}
	}
	return res
}

// A key no round's initial map holds.
func newKey(round, i int) uint64 {
	return 1<<40 + uint64(round)<<8 + uint64(i)
}

// iter-write

//go:noinline
func iterWriteRange(m map[uint64]uint64, rv *rendezvous) int {
	seen, pause := 0, len(m)/2
	for k := range m { // MARK:iter-write-range
		seen++
		if seen == pause {
			rv.handOff(k)
		}
	}
	return seen
}

//go:noinline
func iterWriteWrite(m map[uint64]uint64, k uint64, round int) int {
	m[k] = k + 1                // MARK:iter-write-write
	m[newKey(round, 0)] = k + 2 // MARK:iter-write-insert
	return 2
}

// iter-delete

//go:noinline
func iterDeleteRange(m map[uint64]uint64, rv *rendezvous) int {
	seen, pause := 0, len(m)/2
	for k := range m { // MARK:iter-delete-range
		seen++
		if seen == pause {
			rv.handOff(k)
		}
	}
	return seen
}

//go:noinline
func iterDeleteDelete(m map[uint64]uint64, k uint64, round int) int {
	delete(m, k)        // MARK:iter-delete-delete
	delete(m, (k+1)%64) // MARK:iter-delete-other
	return 2
}

// iter-clear

//go:noinline
func iterClearRange(m map[uint64]uint64, rv *rendezvous) int {
	seen, pause := 0, len(m)/2
	for k := range m { // MARK:iter-clear-range
		seen++
		if seen == pause {
			rv.handOff(k)
		}
	}
	return seen
}

//go:noinline
func iterClearClear(m map[uint64]uint64, k uint64, round int) int {
	clearMap(m) // MARK:iter-clear-clear
	return 1
}

// iter-grow: the map is filled to exactly its load limit at B = 5, so W's
// first insert starts a doubling grow and the next ones evacuate old buckets;
// the grow is still in progress when R resumes. The limit is found by
// growing a scratch map, because it differs: 6.5 × 32 = 208 entries, but
// 6 × 32 = 192 in Go 1.21, whose load factor constant lost its .5 to integer
// division (so make(map, 208) is B = 6 there). The map is filled without a
// size hint; the fill's own grows are over long before the limit (each
// insert evacuates 2 old buckets of 16).

const growInserts = 8 // hashGrow + up to 2 evacuations per insert, of 32 old buckets

// growFill returns the entry count that fills a classic map to its load limit
// at B = 5 (208 on Swiss-table maps, where it means nothing in particular).
func growFill() int {
	if !classicMaps {
		return 208
	}
	m := keepMap(make(map[uint64]uint64))
	for i := 0; mapB(m) <= 5; i++ {
		m[uint64(i)] = 0
	}
	return len(m) - 1
}

// Rounds where W's inserts changed B, and where the grow was still in
// progress (old buckets left) when W released R.
var grewRounds, growingRounds int64

//go:noinline
func iterGrowRange(m map[uint64]uint64, rv *rendezvous) int {
	seen, pause := 0, len(m)/2
	for k := range m { // MARK:iter-grow-range
		seen++
		if seen == pause {
			rv.handOff(k)
		}
	}
	return seen
}

//go:noinline
func iterGrowInsert(m map[uint64]uint64, k uint64, round int) int {
	b0 := mapB(m)
	for i := 0; i < growInserts; i++ {
		m[newKey(round, i)] = k // MARK:iter-grow-insert
	}
	if b0 >= 0 && mapB(m) > b0 {
		atomic.AddInt64(&grewRounds, 1)
	}
	if mapGrowing(m) {
		atomic.AddInt64(&growingRounds, 1)
	}
	return growInserts
}

// different-maps: the iter-write interleaving, W writing another map.

//go:noinline
func differentMapsRange(m map[uint64]uint64, rv *rendezvous) int {
	seen, pause := 0, len(m)/2
	for k := range m { // MARK:different-maps-range
		seen++
		if seen == pause {
			rv.handOff(k)
		}
	}
	return seen
}

//go:noinline
func differentMapsWrite(m2 map[uint64]uint64, k uint64, round int) int {
	m2[k] = k + 1                // MARK:different-maps-write
	m2[newKey(round, 0)] = k + 2 // MARK:different-maps-insert
	return 2
}

// break-then-write: R leaves the loop by break after 2 elements and blocks in
// the same function, its dead iterator still in its frame, while W writes.

//go:noinline
func breakThenWriteRange(m map[uint64]uint64, rv *rendezvous) int {
	seen := 0
	var last uint64
	for k := range m { // MARK:break-then-write-range
		seen++
		last = k
		if seen == 2 {
			break
		}
	}
	rv.handOff(last)
	return seen
}

//go:noinline
func breakThenWriteWrite(m map[uint64]uint64, k uint64, round int) int {
	m[k] = k + 1                // MARK:break-then-write-write
	m[newKey(round, 0)] = k     // MARK:break-then-write-insert
	m[newKey(round, 1)] = k     // MARK:break-then-write-add
	delete(m, newKey(round, 0)) // MARK:break-then-write-delete
	return 4
}

// return-then-write: R leaves the loop by returning from the function that
// holds it, runs a call that reuses that stack area, and blocks elsewhere.

//go:noinline
func returnThenWriteLoop(m map[uint64]uint64) (int, uint64) {
	seen := 0
	for k := range m { // MARK:return-then-write-range
		seen++
		if seen == 2 {
			return seen, k
		}
	}
	return seen, 0
}

// stackHungry overwrites the stack below its caller with big frames.
//
//go:noinline
func stackHungry(depth int) uint64 {
	var buf [64]uint64
	for i := range buf {
		buf[i] = uint64(depth*i) ^ 0x5a5a
	}
	if depth == 0 {
		return buf[7]
	}
	return stackHungry(depth-1) + buf[depth%64]
}

var sink uint64

//go:noinline
func returnThenWritePark(rv *rendezvous, k uint64) {
	rv.handOff(k)
}

//go:noinline
func returnThenWriteRange(m map[uint64]uint64, rv *rendezvous) int {
	seen, k := returnThenWriteLoop(m)
	atomic.AddUint64(&sink, stackHungry(8))
	returnThenWritePark(rv, k)
	return seen
}

//go:noinline
func returnThenWriteWrite(m map[uint64]uint64, k uint64, round int) int {
	m[k] = k + 1                // MARK:return-then-write-write
	m[newKey(round, 0)] = k     // MARK:return-then-write-insert
	m[newKey(round, 1)] = k     // MARK:return-then-write-add
	delete(m, newKey(round, 0)) // MARK:return-then-write-delete
	return 4
}

// stackgrow: on its 3rd element R's loop body recurses ~2000 frames of
// ≥ 256 bytes, so the goroutine stack (and the iterator in it) is copied to
// a new, bigger stack mid-loop. W writes only once R's loop has ended.

//go:noinline
func deep(n int) uint64 {
	var buf [32]uint64
	buf[n%32] = uint64(n)
	if n == 0 {
		return buf[0]
	}
	return deep(n-1) + buf[(n+1)%32]
}

//go:noinline
func stackgrowRange(m map[uint64]uint64, rv *rendezvous) int {
	seen := 0
	var last uint64
	for k := range m { // MARK:stackgrow-range
		seen++
		last = k
		if seen == 3 {
			// A stack copy moves every frame: last's address changes.
			before := uintptr(unsafe.Pointer(&last))
			atomic.AddUint64(&sink, deep(2000))
			if uintptr(unsafe.Pointer(&last)) != before {
				atomic.AddInt64(&stackMoves, 1)
			}
		}
	}
	rv.handOff(last)
	return seen
}

// Rounds where the stack really was copied under R's loop.
var stackMoves int64

//go:noinline
func stackgrowWrite(m map[uint64]uint64, k uint64, round int) int {
	m[k] = k + 1            // MARK:stackgrow-write
	m[newKey(round, 0)] = k // MARK:stackgrow-insert
	return 2
}

// ---- tight loops: racy, bounded, usually killed by the runtime --------------

type tightMode struct {
	size int
	a, b func(m map[uint64]uint64, start <-chan struct{}, stop *atomic.Bool) int
}

func runTight(t tightMode, rounds int) int {
	ops := 0
	for r := 0; r < rounds; r++ {
		m := newMap(t.size)
		start := make(chan struct{})
		var stop atomic.Bool
		done := make(chan int)
		go func() { done <- t.a(m, start, &stop) }()
		go func() { done <- t.b(m, start, &stop) }()
		logf("round %d map %p\n", r, m)
		close(start)
		time.Sleep(tightRound)
		stop.Store(true)
		ops += <-done + <-done
	}
	return ops
}

//go:noinline
func writeWriteWriter(m map[uint64]uint64, start <-chan struct{}, stop *atomic.Bool) int {
	<-start
	i := 0
	for ; !stop.Load(); i++ {
		for j := 0; j < 256; j++ {
			m[uint64(i*256+j)&1023] = uint64(j) // MARK:write-write-write
		}
	}
	return i * 256
}

//go:noinline
func readWriteReader(m map[uint64]uint64, start <-chan struct{}, stop *atomic.Bool) int {
	<-start
	i, hits := 0, 0
	for ; !stop.Load(); i++ {
		for j := 0; j < 256; j++ {
			if _, ok := m[uint64(i*256+j)&1023]; ok { // MARK:read-write-read
				hits++
			}
		}
	}
	atomic.AddUint64(&sink, uint64(hits))
	return i * 256
}

//go:noinline
func readWriteWriter(m map[uint64]uint64, start <-chan struct{}, stop *atomic.Bool) int {
	<-start
	i := 0
	for ; !stop.Load(); i++ {
		for j := 0; j < 256; j++ {
			m[uint64(i*256+j)&1023] = uint64(j) // MARK:read-write-write
		}
	}
	return i * 256
}

//go:noinline
func cloneWriteCloner(m map[uint64]uint64, start <-chan struct{}, stop *atomic.Bool) int {
	<-start
	n := 0
	for ; !stop.Load(); n++ {
		c := cloneMap(m) // MARK:clone-write-clone
		atomic.AddUint64(&sink, uint64(len(c)))
	}
	return n
}

//go:noinline
func cloneWriteWriter(m map[uint64]uint64, start <-chan struct{}, stop *atomic.Bool) int {
	<-start
	i := 0
	for ; !stop.Load(); i++ {
		for j := 0; j < 256; j++ {
			m[uint64(i*256+j)%8192] = uint64(j) // MARK:clone-write-write
		}
	}
	return i * 256
}

//go:noinline
func rangeLoop(m map[uint64]uint64, start <-chan struct{}, stop *atomic.Bool) int {
	<-start
	n := 0
	var s uint64
	for ; !stop.Load(); n++ {
		for k, v := range m { // MARK:fatal-range
			s += k ^ v
		}
	}
	atomic.AddUint64(&sink, s)
	return n
}

//go:noinline
func writeLoop(m map[uint64]uint64, start <-chan struct{}, stop *atomic.Bool) int {
	<-start
	i := 0
	for ; !stop.Load(); i++ {
		for j := 0; j < 256; j++ {
			m[uint64(i*256+j)&1023] = uint64(i) // MARK:fatal-write
		}
	}
	return i * 256
}

// ---- legal: own writes inside the loop, threads change under it -------------

// own-write: R updates every key it visits and inserts a new key for each
// original one (the map grows under its own iteration); per element it yields
// and makes a blocking round trip to a helper goroutine, after which the
// scheduler resumes it on another thread.

const ownBase = 1 << 32

//go:noinline
func ownWriteRange(m map[uint64]uint64, ping chan<- uint64, pong <-chan uint64) (seen int, threads int) {
	var tids []int        // no map: R touches no other map in the loop
	for k, v := range m { // MARK:own-write-range
		m[k] = v + 1 // MARK:own-write-write
		if k < ownBase {
			m[k+ownBase] = v // MARK:own-write-insert
		}
		runtime.Gosched()
		ping <- k
		<-pong
		tids = addTid(tids, syscall.Gettid())
		seen++
	}
	return seen, len(tids)
}

func addTid(tids []int, t int) []int {
	for _, x := range tids {
		if x == t {
			return tids
		}
	}
	return append(tids, t)
}

func runOwnWrite(rounds int) string {
	ping, pong := make(chan uint64), make(chan uint64)
	// The helper owns an OS thread: when it blocks, its thread cannot run R,
	// so R, readied by it, is handed to another thread.
	go func() {
		runtime.LockOSThread()
		for k := range ping {
			pong <- k
		}
	}()
	seen, migrated := 0, 0
	type result struct {
		seen, threads int
		goid          uint64
	}
	res := make(chan result)
	for r := 0; r < rounds; r++ {
		m := newMap(32)
		go func() {
			var g uint64
			if verbose {
				g = goid()
			}
			s, threads := ownWriteRange(m, ping, pong)
			res <- result{s, threads, g}
		}()
		rr := <-res
		seen += rr.seen
		if rr.threads > 1 {
			migrated++
		}
		logf("round %d map %p iter_goid %d threads %d\n", r, m, rr.goid, rr.threads)
	}
	close(ping)
	return fmt.Sprintf("seen=%d migrated=%d", seen, migrated)
}

// many-goroutines: 200 goroutines a round, each ranging over and writing
// only its own map, under a small GOMAXPROCS.

const manyG = 200

//go:noinline
func manyGoroutinesWork(m map[uint64]uint64) int {
	seen := 0
	for pass := 0; pass < 3; pass++ {
		for k, v := range m { // MARK:many-goroutines-range
			m[k] = v + 1 // MARK:many-goroutines-write
			if seen%4 == 0 {
				runtime.Gosched()
			}
			seen++
		}
		m[uint64(1000+pass)] = 1 // MARK:many-goroutines-insert
	}
	return seen
}

func runManyGoroutines(rounds int) string {
	total := 0
	for r := 0; r < rounds; r++ {
		res := make(chan int)
		maps := make([]map[uint64]uint64, manyG)
		for i := range maps {
			maps[i] = newMap(16)
		}
		start := make(chan struct{})
		for i := 0; i < manyG; i++ {
			go func(m map[uint64]uint64) {
				<-start
				res <- manyGoroutinesWork(m)
			}(maps[i])
		}
		close(start)
		for i := 0; i < manyG; i++ {
			total += <-res
		}
		logf("round %d maps %p..%p\n", r, maps[0], maps[manyG-1])
	}
	return fmt.Sprintf("goroutines=%d seen=%d", rounds*manyG, total)
}

// ---- legal: locks, sync.Map, copy-on-write ---------------------------------

const (
	lockWriters   = 2
	lockIterators = 2
	lockReaders   = 2
	lockOps       = 50 // per goroutine per round
)

// startAll runs fns each in its own goroutine, released together, and
// returns the sum of their results.
func startAll(fns []func() int) int {
	start := make(chan struct{})
	res := make(chan int)
	for _, fn := range fns {
		go func(fn func() int) {
			<-start
			res <- fn()
		}(fn)
	}
	close(start)
	n := 0
	for range fns {
		n += <-res
	}
	return n
}

//go:noinline
func mutexWrite(mu *sync.Mutex, m map[uint64]uint64, id int) int {
	for i := 0; i < lockOps; i++ {
		mu.Lock()
		m[uint64(i*7+id)%96] = uint64(i) // MARK:mutex-write
		if i%5 == 0 {
			delete(m, uint64(i*3)%96) // MARK:mutex-delete
		}
		mu.Unlock()
		runtime.Gosched()
	}
	return lockOps
}

//go:noinline
func mutexRange(mu *sync.Mutex, m map[uint64]uint64) int {
	seen := 0
	for i := 0; i < lockOps; i++ {
		mu.Lock()
		for range m { // MARK:mutex-range
			seen++
		}
		mu.Unlock()
		runtime.Gosched()
	}
	return seen
}

//go:noinline
func mutexRead(mu *sync.Mutex, m map[uint64]uint64) int {
	hits := 0
	for i := 0; i < lockOps; i++ {
		mu.Lock()
		if _, ok := m[uint64(i)%96]; ok { // MARK:mutex-read
			hits++
		}
		mu.Unlock()
		runtime.Gosched()
	}
	return hits
}

func runMutex(rounds int) string {
	for r := 0; r < rounds; r++ {
		m := newMap(64)
		var mu sync.Mutex
		var fns []func() int
		for i := 0; i < lockWriters; i++ {
			id := i
			fns = append(fns, func() int { return mutexWrite(&mu, m, id) })
		}
		for i := 0; i < lockIterators; i++ {
			fns = append(fns, func() int { return mutexRange(&mu, m) })
		}
		for i := 0; i < lockReaders; i++ {
			fns = append(fns, func() int { return mutexRead(&mu, m) })
		}
		startAll(fns)
		logf("round %d map %p\n", r, m)
	}
	return fmt.Sprintf("goroutines=%d", lockWriters+lockIterators+lockReaders)
}

//go:noinline
func rwmutexWrite(mu *sync.RWMutex, m map[uint64]uint64, id int) int {
	for i := 0; i < lockOps; i++ {
		mu.Lock()
		m[uint64(i*7+id)%96] = uint64(i) // MARK:rwmutex-write
		if i%5 == 0 {
			delete(m, uint64(i*3)%96) // MARK:rwmutex-delete
		}
		mu.Unlock()
		runtime.Gosched()
	}
	return lockOps
}

//go:noinline
func rwmutexRange(mu *sync.RWMutex, m map[uint64]uint64) int {
	seen := 0
	for i := 0; i < lockOps; i++ {
		mu.RLock()
		for range m { // MARK:rwmutex-range
			seen++
			if seen%16 == 0 {
				runtime.Gosched() // other readers may range at the same time
			}
		}
		mu.RUnlock()
		runtime.Gosched()
	}
	return seen
}

//go:noinline
func rwmutexRead(mu *sync.RWMutex, m map[uint64]uint64) int {
	hits := 0
	for i := 0; i < lockOps; i++ {
		mu.RLock()
		if _, ok := m[uint64(i)%96]; ok { // MARK:rwmutex-read
			hits++
		}
		mu.RUnlock()
		runtime.Gosched()
	}
	return hits
}

func runRWMutex(rounds int) string {
	for r := 0; r < rounds; r++ {
		m := newMap(64)
		var mu sync.RWMutex
		var fns []func() int
		for i := 0; i < lockWriters; i++ {
			id := i
			fns = append(fns, func() int { return rwmutexWrite(&mu, m, id) })
		}
		for i := 0; i < lockIterators; i++ {
			fns = append(fns, func() int { return rwmutexRange(&mu, m) })
		}
		for i := 0; i < lockReaders; i++ {
			fns = append(fns, func() int { return rwmutexRead(&mu, m) })
		}
		startAll(fns)
		logf("round %d map %p\n", r, m)
	}
	return fmt.Sprintf("goroutines=%d", lockWriters+lockIterators+lockReaders)
}

//go:noinline
func syncmapStore(sm *sync.Map, id int) int {
	for i := 0; i < lockOps; i++ {
		sm.Store(uint64(i*7+id)%96, uint64(i)) // MARK:syncmap-store
		if i%5 == 0 {
			sm.Delete(uint64(i*3) % 96) // MARK:syncmap-delete
		}
		runtime.Gosched()
	}
	return lockOps
}

//go:noinline
func syncmapRange(sm *sync.Map) int {
	seen := 0
	for i := 0; i < lockOps; i++ {
		sm.Range(func(k, v interface{}) bool { // MARK:syncmap-range
			seen++
			return true
		})
		runtime.Gosched()
	}
	return seen
}

//go:noinline
func syncmapLoad(sm *sync.Map) int {
	hits := 0
	for i := 0; i < lockOps; i++ {
		if _, ok := sm.Load(uint64(i) % 96); ok { // MARK:syncmap-load
			hits++
		}
		runtime.Gosched()
	}
	return hits
}

func runSyncMap(rounds int) string {
	for r := 0; r < rounds; r++ {
		sm := new(sync.Map)
		for i := 0; i < 64; i++ {
			sm.Store(uint64(i), uint64(i))
		}
		keepAny = append(keepAny, sm)
		var fns []func() int
		for i := 0; i < lockWriters; i++ {
			id := i
			fns = append(fns, func() int { return syncmapStore(sm, id) })
		}
		for i := 0; i < lockIterators; i++ {
			fns = append(fns, func() int { return syncmapRange(sm) })
		}
		for i := 0; i < lockReaders; i++ {
			fns = append(fns, func() int { return syncmapLoad(sm) })
		}
		startAll(fns)
		logf("round %d syncmap %p\n", r, sm)
	}
	return fmt.Sprintf("goroutines=%d", lockWriters+lockIterators+lockReaders)
}

// cow: writers (serialized among themselves) copy the current snapshot,
// change the copy and publish it; readers range whatever snapshot is current.
// No snapshot is written after it is published.

var cowSnapshots int64

type cowMap struct {
	cur atomic.Pointer[map[uint64]uint64]
	wmu sync.Mutex
}

//go:noinline
func cowWrite(c *cowMap, id int) int {
	for i := 0; i < lockOps/5; i++ {
		c.wmu.Lock()
		old := *c.cur.Load()
		m := make(map[uint64]uint64, len(old)+1)
		for k, v := range old { // MARK:cow-copy
			m[k] = v // MARK:cow-fill
		}
		m[uint64(i*7+id)%96] = uint64(i) // MARK:cow-write
		keepMap(m)
		atomic.AddInt64(&cowSnapshots, 1)
		c.cur.Store(&m)
		c.wmu.Unlock()
		runtime.Gosched()
	}
	return lockOps / 5
}

//go:noinline
func cowRange(c *cowMap) int {
	seen := 0
	for i := 0; i < lockOps; i++ {
		m := *c.cur.Load()
		for range m { // MARK:cow-range
			seen++
			if seen%16 == 0 {
				runtime.Gosched()
			}
		}
	}
	return seen
}

func runCow(rounds int) string {
	for r := 0; r < rounds; r++ {
		c := new(cowMap)
		m := newMap(64)
		c.cur.Store(&m)
		keepAny = append(keepAny, c)
		var fns []func() int
		for i := 0; i < lockWriters; i++ {
			id := i
			fns = append(fns, func() int { return cowWrite(c, id) })
		}
		for i := 0; i < lockIterators+lockReaders; i++ {
			fns = append(fns, func() int { return cowRange(c) })
		}
		startAll(fns)
		logf("round %d map %p last %p\n", r, m, *c.cur.Load())
	}
	return fmt.Sprintf("snapshots=%d", atomic.LoadInt64(&cowSnapshots))
}

// ---- main -------------------------------------------------------------------

func forcedLine(res forcedResult, rounds int) string {
	return fmt.Sprintf("windows=%d ops=%d seen=%d", rounds, res.ops, res.seen)
}

// setProcs sets GOMAXPROCS to n unless the environment chose it.
func setProcs(n int) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(n)
	}
}

var forcedModes = map[string]forcedMode{
	"iter-write":        {size: 64, rangeFn: iterWriteRange, foreignFn: iterWriteWrite},
	"iter-delete":       {size: 64, rangeFn: iterDeleteRange, foreignFn: iterDeleteDelete},
	"iter-clear":        {size: 64, rangeFn: iterClearRange, foreignFn: iterClearClear},
	"different-maps":    {size: 64, rangeFn: differentMapsRange, foreignFn: differentMapsWrite, other: func() map[uint64]uint64 { return newMap(64) }},
	"break-then-write":  {size: 64, rangeFn: breakThenWriteRange, foreignFn: breakThenWriteWrite},
	"return-then-write": {size: 64, rangeFn: returnThenWriteRange, foreignFn: returnThenWriteWrite},
	"stackgrow":         {size: 64, rangeFn: stackgrowRange, foreignFn: stackgrowWrite},
}

var tightModes = map[string]tightMode{
	"write-write": {size: 1024, a: writeWriteWriter, b: writeWriteWriter},
	"read-write":  {size: 1024, a: readWriteReader, b: readWriteWriter},
	"clone-write": {size: 8192, a: cloneWriteCloner, b: cloneWriteWriter},
	"fatal":       {size: 1024, a: rangeLoop, b: writeLoop},
}

var otherModes = map[string]func(rounds int) string{
	"own-write":       runOwnWrite,
	"many-goroutines": runManyGoroutines,
	"mutex":           runMutex,
	"rwmutex":         runRWMutex,
	"syncmap":         runSyncMap,
	"cow":             runCow,
}

const usage = `usage: mapraces [-v] MODE [ROUNDS]
racy, forced:  iter-write iter-delete iter-clear iter-grow iter-write-func
racy, tight:   write-write read-write clone-write fatal
legal:         own-write break-then-write return-then-write stackgrow mutex
               rwmutex syncmap cow different-maps many-goroutines
`

func main() {
	var args []string
	for _, a := range os.Args[1:] {
		switch a {
		case "-v":
			verbose = true
		case "-h", "--help":
			fmt.Print(usage)
			return
		default:
			args = append(args, a)
		}
	}
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	mode, rounds := args[0], defaultRounds
	if len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "mapraces: ROUNDS: expected a positive number, got '%s'\n", args[1])
			os.Exit(2)
		}
		rounds = n
	}

	var extra string
	if mode == "iter-grow" {
		f := forcedMode{size: growFill(), noHint: true, rangeFn: iterGrowRange, foreignFn: iterGrowInsert}
		extra = forcedLine(runForced(f, rounds), rounds) + fmt.Sprintf(" size=%d", f.size)
		if classicMaps {
			extra += fmt.Sprintf(" grew=%d growing=%d", atomic.LoadInt64(&grewRounds), atomic.LoadInt64(&growingRounds))
		} else {
			extra += " grew=n/a growing=n/a"
		}
	} else if f, ok := forcedModes[mode]; ok {
		extra = forcedLine(runForced(f, rounds), rounds)
		if mode == "stackgrow" {
			extra += fmt.Sprintf(" moved=%d", atomic.LoadInt64(&stackMoves))
		}
	} else if t, ok := tightModes[mode]; ok {
		extra = fmt.Sprintf("ops=%d", runTight(t, rounds))
		if mode == "clone-write" {
			extra += " clone=" + cloneKind
		}
	} else if fn, ok := otherModes[mode]; ok {
		if mode == "own-write" || mode == "many-goroutines" {
			setProcs(2)
		}
		extra = fn(rounds)
	} else if mode == "iter-write-func" {
		if !haveRangeFunc {
			fmt.Fprintf(os.Stderr, "mapraces: mode %s needs go1.23 (this is %s)\n", mode, runtime.Version())
			os.Exit(3)
		}
		extra = forcedLine(runForced(forcedMode{size: 64, rangeFn: iterWriteFuncRange, foreignFn: iterWriteFuncWrite}, rounds), rounds)
	} else {
		fmt.Fprintf(os.Stderr, "mapraces: unknown mode '%s'\n%s", mode, usage)
		os.Exit(2)
	}
	fmt.Printf("rounds=%d mode=%s ok %s\n", rounds, mode, extra)
	runtime.KeepAlive(keep)
	runtime.KeepAlive(keepAny)
}
