// gosvc — the Go twin of mapsvc (target/mapsvc.c): a long-running demo
// service whose goroutines share one map[uint64]uint64 (a cache, a session
// table) while request handlers update it, look keys up in it and take
// snapshots of it by ranging over it. Writers insert, update and delete
// random keys so the map fills and drains in cycles (and grows); iterators
// copy the whole map into a local slice; readers look keys up. How they share
// the map is the --mode:
//
//	unsafe   no synchronisation at all — the bug mapwatch is built to catch;
//	         Go's runtime kills the process at the first race it notices
//	mutex    one sync.Mutex around every map operation and whole iteration
//	rwlock   readers and iterators share a sync.RWMutex (writer-preferring)
//	cow      copy-on-write: a writer copies the current snapshot, applies a
//	         batch of changes to the copy and publishes it through an
//	         atomic.Pointer; readers and iterators only touch immutable
//	         snapshots (the garbage collector retires the old ones)
//	syncmap  a sync.Map: Store/LoadAndDelete, Range, Load
//
// With --latency each operation's latency goes into a histogram and the
// summary gives its percentiles, as in mapsvc.
//
// Same options and output lines as mapsvc, with "gosvc:" in front, except
// that the per-second stats line needs -v and --duration 0 means "until a
// signal". Go has no count policy: races in the summary are always 0, since
// a race Go notices ends the process with `fatal error: concurrent map ...`
// and exit status 2.
package main

import (
	"fmt"
	"math/bits"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	maxWorkers = 64
	// Map changes a cow writer applies to one private copy before
	// publishing it: at least 16, and about keys/64.
	cowBatchMin = 16
	// A full fill/drain cycle ends with a clear once every this many cycles.
	clearEvery = 32
)

type mode int

const (
	modeUnsafe mode = iota
	modeMutex
	modeRWLock
	modeCow
	modeSyncMap
)

var modeNames = []string{"unsafe", "mutex", "rwlock", "cow", "syncmap"}

var env = struct {
	mode                        mode
	writers, iterators, readers int
	keys                        int
	rate                        int64 // ops per second per goroutine, 0 = flat out
	workUsec                    int64 // CPU work per operation, outside the map
	duration                    float64
	verbose                     bool
	latency                     bool // record each operation's latency
}{
	mode:    modeUnsafe,
	writers: 1, iterators: 1, readers: 1,
	keys: 1000,
}

type role int

const (
	roleWriter role = iota
	roleIter
	roleReader
)

// Per-goroutine counters, written by their goroutine only and summed by main.
type worker struct {
	role    role
	idx     int
	rng     uint64
	ops     atomic.Uint64
	entries atomic.Uint64 // iterators: entries copied
	grows   atomic.Uint64 // writers: grows seen after their own op
	clears  atomic.Uint64
	aborted atomic.Uint64 // iterators: walks cut short (racy runs)
	lat     []uint64      // --latency: its histogram (latBuckets)
	_       [64]byte
}

var (
	workers []*worker
	stop    atomic.Bool

	// The shared map, for unsafe/mutex/rwlock; the first snapshot for cow.
	shared  map[uint64]uint64
	mapMu   sync.Mutex
	mapRW   sync.RWMutex
	cowCur  atomic.Pointer[map[uint64]uint64]
	cowWMu  sync.Mutex
	cowSize int
	smap    sync.Map
	smapLen atomic.Int64

	// What writers last saw, for the stats line.
	curSize atomic.Int64
	curB    atomic.Int64
	// Last B and old-bucket array seen by any writer, to count grows.
	seenB   atomic.Int64
	seenOld atomic.Uintptr
)

// ---- small helpers ----------------------------------------------------------

// --latency: a log-linear histogram of nanoseconds, 32 buckets per power of
// two (at most 3% wide) from 64 ns up, one per nanosecond below; values past
// 2^40 ns go in the last bucket (mapsvc's, bucket for bucket). One per
// worker, written by its goroutine only and summed once all are done.
const (
	latSub     = 32
	latBuckets = (40-5)*latSub + latSub
)

func latBucket(ns uint64) int {
	if ns < 2*latSub {
		return int(ns)
	}
	shift := 63 - bits.LeadingZeros64(ns) - 5
	i := (shift+1)*latSub + int(ns>>uint(shift)) - latSub
	if i >= latBuckets {
		return latBuckets - 1
	}
	return i
}

// latValue is the middle of bucket i, in ns.
func latValue(i int) float64 {
	if i < 2*latSub {
		return float64(i)
	}
	shift := i/latSub - 1
	return (float64(i%latSub+latSub) + 0.5) * float64(uint64(1)<<uint(shift))
}

// latQuantile is the q-quantile (0 < q <= 1) of histogram h holding n values, in ns.
func latQuantile(h []uint64, n uint64, q float64) float64 {
	want := uint64(q*float64(n) + 0.999999)
	if want == 0 {
		want = 1
	}
	var seen uint64
	for i, c := range h {
		if seen += c; seen >= want {
			return latValue(i)
		}
	}
	return 0
}

// latStart and latNote time one operation of w (with --latency).
func latStart(w *worker) time.Time {
	if w.lat == nil {
		return time.Time{}
	}
	return time.Now()
}

func latNote(w *worker, t0 time.Time) {
	if w.lat != nil {
		w.lat[latBucket(uint64(time.Since(t0)))]++
	}
}

func rngNext(s *uint64) uint64 {
	// splitmix64
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func rngBelow(s *uint64, n uint64) uint64 {
	hi, _ := bits.Mul64(rngNext(s), n)
	return hi
}

// --work: a calibrated busy loop of mixing, standing in for the CPU a request
// handler spends outside the map.
var (
	workRoundsPerUsec float64
	workSink          atomic.Uint64
)

func hashRounds(rounds, seed uint64) uint64 {
	var buf [8]uint64
	buf[0] = seed
	for i := uint64(0); i < rounds; i++ {
		x := buf[(i+1)&7] ^ i
		buf[i&7] ^= rngNext(&x)
	}
	return buf[0] ^ buf[3] ^ buf[7]
}

func workCalibrate() {
	// Double until one run takes at least 20 ms, then take that rate.
	rounds := uint64(1024)
	var dt time.Duration
	for {
		t0 := time.Now()
		workSink.Add(hashRounds(rounds, uint64(t0.UnixNano())))
		dt = time.Since(t0)
		if dt >= 20*time.Millisecond || rounds >= 1<<40 {
			break
		}
		rounds *= 2
	}
	if dt <= 0 {
		dt = 1
	}
	workRoundsPerUsec = float64(rounds) * 1000 / float64(dt.Nanoseconds())
}

func doWork(seed uint64) uint64 {
	if env.workUsec == 0 {
		return 0
	}
	return hashRounds(uint64(float64(env.workUsec)*workRoundsPerUsec), seed)
}

// --rate: sleep until op number n is due, on an absolute schedule so the
// average rate holds even with a coarse sleep.
func throttle(start time.Time, n uint64) {
	if env.rate == 0 {
		return
	}
	due := start.Add(time.Duration(float64(n) * 1e9 / float64(env.rate)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

func lockRead() {
	switch env.mode {
	case modeMutex:
		mapMu.Lock()
	case modeRWLock:
		mapRW.RLock()
	}
}

func unlockRead() {
	switch env.mode {
	case modeMutex:
		mapMu.Unlock()
	case modeRWLock:
		mapRW.RUnlock()
	}
}

func lockWrite() {
	switch env.mode {
	case modeMutex:
		mapMu.Lock()
	case modeRWLock:
		mapRW.Lock()
	}
}

func unlockWrite() {
	switch env.mode {
	case modeMutex:
		mapMu.Unlock()
	case modeRWLock:
		mapRW.Unlock()
	}
}

// ---- writers ----------------------------------------------------------------

// The writer's churn, one cycle after another (as in mapsvc):
//
//	fill   90% of ops insert or update a random key, 10% delete one, until
//	       the map holds 80% of the key space
//	drain  the reverse, down to 20%
//	sweep  delete every key in order, one per op, down to empty
//
// and every clearEvery cycles the sweep is one clear instead.
type phase int

const (
	phaseFill phase = iota
	phaseDrain
	phaseSweep
)

type churn struct {
	phase  phase
	sweep  uint64 // next key the sweep deletes
	cycles int
}

type opKind int

const (
	opInsert opKind = iota
	opDelete
	opClear
)

// next decides the writer's next change on a map of n entries.
func (c *churn) next(w *worker, n int) (opKind, uint64) {
	keys := env.keys
	if c.phase == phaseFill && n >= keys*4/5 {
		c.phase = phaseDrain
	} else if c.phase == phaseDrain && n <= keys/5 {
		c.phase = phaseSweep
		c.sweep = 0
		c.cycles++
		if c.cycles%clearEvery == 0 {
			c.phase = phaseFill
			return opClear, 0
		}
	}
	if c.phase == phaseSweep {
		k := c.sweep
		c.sweep++
		if c.sweep >= uint64(keys) {
			c.phase = phaseFill
		}
		return opDelete, k
	}
	k := rngBelow(&w.rng, uint64(keys))
	insert := rngBelow(&w.rng, 100) < 90
	if c.phase == phaseDrain {
		insert = !insert
	}
	if insert {
		return opInsert, k
	}
	return opDelete, k
}

// writeOne makes one change to m (already exclusive to us, or unsafe by design).
//
//go:noinline
func writeOne(w *worker, c *churn, m map[uint64]uint64) {
	switch op, k := c.next(w, len(m)); op {
	case opInsert:
		m[k] = k*2654435761 + uint64(w.idx)
	case opDelete:
		delete(m, k)
	case opClear:
		clearMap(m)
		w.clears.Add(1)
		b, _ := mapShape(m)
		seenB.Store(int64(b))
		seenOld.Store(0)
	}
}

// noteGrow counts grows from the writers' side: B changed (a doubling grow),
// or a new old-bucket array appeared with B unchanged (a same-size grow).
// Swiss-table maps (Go 1.24) have no B: nothing is counted and B shows -1.
func noteGrow(w *worker, m map[uint64]uint64) {
	b, old := mapShape(m)
	prevB := seenB.Swap(int64(b))
	prevOld := seenOld.Swap(old)
	if b >= 0 && (int64(b) != prevB || (old != 0 && old != prevOld)) {
		w.grows.Add(1)
	}
	curB.Store(int64(b))
	curSize.Store(int64(len(m)))
}

// writerCow copies the current snapshot, changes the copy and publishes it.
// Writers serialise among themselves; readers never wait.
//
//go:noinline
func writerCow(w *worker, c *churn) {
	cowWMu.Lock()
	old := *cowCur.Load()
	m := make(map[uint64]uint64, len(old))
	for k, v := range old {
		m[k] = v
	}
	b, o := mapShape(m)
	seenB.Store(int64(b))
	seenOld.Store(o)
	for i := 0; i < cowSize; i++ {
		writeOne(w, c, m)
		noteGrow(w, m)
	}
	cowCur.Store(&m)
	cowWMu.Unlock()
}

// writeOneSync is writeOne on the sync.Map, keeping its size in smapLen.
//
//go:noinline
func writeOneSync(w *worker, c *churn) {
	switch op, k := c.next(w, int(smapLen.Load())); op {
	case opInsert:
		v := k*2654435761 + uint64(w.idx)
		if _, loaded := smap.LoadOrStore(k, v); loaded {
			smap.Store(k, v)
		} else {
			smapLen.Add(1)
		}
	case opDelete:
		if _, loaded := smap.LoadAndDelete(k); loaded {
			smapLen.Add(-1)
		}
	case opClear:
		smap.Range(func(k, _ interface{}) bool {
			if _, loaded := smap.LoadAndDelete(k); loaded {
				smapLen.Add(-1)
			}
			return true
		})
		w.clears.Add(1)
	}
	curSize.Store(smapLen.Load())
}

func writerMain(w *worker, wg *sync.WaitGroup) {
	defer wg.Done()
	var c churn
	start := time.Now()
	var n, sum uint64
	for !stop.Load() {
		t0 := latStart(w)
		switch env.mode {
		case modeCow:
			writerCow(w, &c)
			n += uint64(cowSize)
			w.ops.Add(uint64(cowSize))
		case modeSyncMap:
			writeOneSync(w, &c)
			n++
			w.ops.Add(1)
		default:
			lockWrite()
			writeOne(w, &c, shared)
			noteGrow(w, shared)
			unlockWrite()
			n++
			w.ops.Add(1)
		}
		sum += doWork(n)
		latNote(w, t0)
		throttle(start, n)
	}
	workSink.Add(sum)
}

// ---- iterators: copy the whole map into a local slice -----------------------

// iterOne copies m into buf. In unsafe mode a walk racing a grow can see
// entries twice (if Go does not kill the process first): cap the copy and
// the walk so a torn map cannot run us away.
//
//go:noinline
func iterOne(w *worker, m map[uint64]uint64, buf [][2]uint64, limit int) [][2]uint64 {
	steps := 0
	for k, v := range m {
		if steps++; steps > limit {
			w.aborted.Add(1)
			break
		}
		if len(buf) < cap(buf) {
			buf = append(buf, [2]uint64{k, v})
		}
	}
	return buf
}

//go:noinline
func iterOneSync(buf [][2]uint64) [][2]uint64 {
	smap.Range(func(k, v interface{}) bool {
		if len(buf) < cap(buf) {
			buf = append(buf, [2]uint64{k.(uint64), v.(uint64)})
		}
		return true
	})
	return buf
}

func iterMain(w *worker, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([][2]uint64, 0, env.keys*2+64)
	limit := env.keys*4 + 1024
	start := time.Now()
	var n, sum uint64
	for !stop.Load() {
		t0 := latStart(w)
		buf = buf[:0]
		switch env.mode {
		case modeCow:
			buf = iterOne(w, *cowCur.Load(), buf, limit)
		case modeSyncMap:
			buf = iterOneSync(buf)
		default:
			lockRead()
			buf = iterOne(w, shared, buf, limit)
			unlockRead()
		}
		// Use the snapshot, outside any lock.
		for _, e := range buf {
			sum += e[0] ^ e[1]
		}
		n++
		w.ops.Add(1)
		w.entries.Add(uint64(len(buf)))
		sum += doWork(sum)
		latNote(w, t0)
		throttle(start, n)
	}
	workSink.Add(sum)
}

// ---- readers: lookups -------------------------------------------------------

//go:noinline
func readOne(m map[uint64]uint64, k uint64) uint64 {
	if v, ok := m[k]; ok {
		return v
	}
	return 0
}

func readerMain(w *worker, wg *sync.WaitGroup) {
	defer wg.Done()
	start := time.Now()
	var n, sum uint64
	for !stop.Load() {
		t0 := latStart(w)
		k := rngBelow(&w.rng, uint64(env.keys))
		switch env.mode {
		case modeCow:
			sum += readOne(*cowCur.Load(), k)
		case modeSyncMap:
			if v, ok := smap.Load(k); ok {
				sum += v.(uint64)
			}
		default:
			lockRead()
			sum += readOne(shared, k)
			unlockRead()
		}
		n++
		w.ops.Add(1)
		sum += doWork(sum)
		latNote(w, t0)
		throttle(start, n)
	}
	workSink.Add(sum)
}

// ---- options ----------------------------------------------------------------

const usage = `Usage: gosvc [OPTIONS]
A demo service in Go sharing one map[uint64]uint64 between writer, iterator
(snapshot copy) and reader (lookup) goroutines: the Go twin of mapsvc.

  -m, --mode MODE       unsafe | mutex | rwlock | cow | syncmap (default unsafe)
  -w, --writers N       writer goroutines: insert/update/delete (default 1)
  -i, --iterators N     goroutines that copy the map by ranging over it (default 1)
  -r, --readers N       lookup goroutines (default 1)
  -k, --keys N          key space (default 1000); writers fill the map to 80%
                        of it, drain it to 20%, then empty it, over and over
  -R, --rate OPS        per-goroutine throttle in ops/s, 0 = flat out (default 0)
  -W, --work USEC       CPU work per operation outside the map (default 0)
  -d, --duration SEC    run this long, then exit; 0 = until SIGINT/SIGTERM (default 0)
  -v, --verbose         print stats every second
  -L, --latency         time every operation (lock, map and --work) and print
                        its percentiles on exit
  -h, --help            show this help

Prints the map's address on start (0x0 in syncmap mode, which has no single
map), stats every second with -v, and a summary on exit.

Unsafe mode dies: Go's runtime has no count policy (mapsvc's
GOMAP_ONRACE=count), so the first race it notices ends the process with
` + "`fatal error: concurrent map ...'" + ` and exit status 2, usually within
milliseconds. That is the demo: mapwatch flags the race before Go kills the
service. For the same reason races in the summary are always 0.

Examples:
  gosvc                                   race within milliseconds, then die
  sudo mapwatch -- gosvc -d 10            the race flagged before Go's fatal error
  gosvc -m rwlock -w 2 -i 2 -r 4 -W 20    a locked service with real work
`

func dieUsage(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "gosvc: "+format+" (see --help)\n", a...)
	os.Exit(2)
}

func parseInt(opt, s string, min, max int64) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			dieUsage("%s: expected a number, got '%s'", opt, s)
		}
	}
	if err != nil || v < min || v > max {
		fmt.Fprintf(os.Stderr, "gosvc: %s: expected a number between %d and %d, got '%s'\n", opt, min, max, s)
		os.Exit(2)
	}
	return v
}

// option: long name, short letter, takes an argument.
type option struct {
	long  string
	short byte
	arg   bool
}

var options = []option{
	{"mode", 'm', true}, {"writers", 'w', true}, {"iterators", 'i', true},
	{"readers", 'r', true}, {"keys", 'k', true}, {"rate", 'R', true},
	{"work", 'W', true}, {"duration", 'd', true}, {"verbose", 'v', false},
	{"latency", 'L', false},
	{"help", 'h', false},
}

// parseArgs reads getopt_long-style options: -w 2, -w2, --writers 2,
// --writers=2, and short flags bundled (-vw2).
func parseArgs(args []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				dieUsage("unexpected argument '%s'", args[i+1])
			}
			break
		}
		if len(a) < 2 || a[0] != '-' {
			dieUsage("unexpected argument '%s'", a)
		}
		// takeArg returns the option's argument: inline, or the next word.
		takeArg := func(name, inline string, has bool) string {
			if has {
				return inline
			}
			if i+1 >= len(args) {
				dieUsage("%s: missing argument", name)
			}
			i++
			return args[i]
		}
		if strings.HasPrefix(a, "--") {
			name, val, has := a[2:], "", false
			if eq := strings.IndexByte(name, '='); eq >= 0 {
				name, val, has = name[:eq], name[eq+1:], true
			}
			var o *option
			for j := range options {
				if options[j].long == name {
					o = &options[j]
				}
			}
			if o == nil {
				dieUsage("unknown option '%s'", a)
			}
			if !o.arg {
				if has {
					dieUsage("--%s: takes no argument", name)
				}
				setOption(o.short, "")
				continue
			}
			setOption(o.short, takeArg("--"+name, val, has))
			continue
		}
		for p := 1; p < len(a); p++ {
			var o *option
			for j := range options {
				if options[j].short == a[p] {
					o = &options[j]
				}
			}
			if o == nil {
				dieUsage("unknown option '-%c'", a[p])
			}
			if !o.arg {
				setOption(o.short, "")
				continue
			}
			setOption(o.short, takeArg("-"+string(a[p]), a[p+1:], p+1 < len(a)))
			break
		}
	}
	if env.writers+env.iterators+env.readers == 0 {
		dieUsage("nothing to run: writers, iterators and readers are all 0")
	}
}

func setOption(c byte, v string) {
	switch c {
	case 'm':
		for m, name := range modeNames {
			if v == name {
				env.mode = mode(m)
				return
			}
		}
		dieUsage("--mode: expected unsafe, mutex, rwlock, cow or syncmap, got '%s'", v)
	case 'w':
		env.writers = int(parseInt("--writers", v, 0, maxWorkers))
	case 'i':
		env.iterators = int(parseInt("--iterators", v, 0, maxWorkers))
	case 'r':
		env.readers = int(parseInt("--readers", v, 0, maxWorkers))
	case 'k':
		env.keys = int(parseInt("--keys", v, 1, 100000000))
	case 'R':
		env.rate = parseInt("--rate", v, 0, 1000000000)
	case 'W':
		env.workUsec = parseInt("--work", v, 0, 10000000)
	case 'd':
		d, err := strconv.ParseFloat(v, 64)
		if err != nil || !(d >= 0) || d > 1e7 {
			dieUsage("--duration: expected a number of seconds (0 = until a signal), got '%s'", v)
		}
		env.duration = d
	case 'L':
		env.latency = true
	case 'v':
		env.verbose = true
	case 'h':
		fmt.Print(usage)
		os.Exit(0)
	}
}

// ---- main: start, report every second with -v, stop -------------------------

type totals struct {
	writes, iters, lookups, entries, grows, clears, aborted uint64
}

func sumWorkers() totals {
	var t totals
	for _, w := range workers {
		ops := w.ops.Load()
		switch w.role {
		case roleWriter:
			t.writes += ops
		case roleIter:
			t.iters += ops
		case roleReader:
			t.lookups += ops
		}
		t.entries += w.entries.Load()
		t.grows += w.grows.Load()
		t.clears += w.clears.Load()
		t.aborted += w.aborted.Load()
	}
	return t
}

func main() {
	parseArgs(os.Args[1:])
	if env.workUsec > 0 {
		workCalibrate()
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)

	cowSize = env.keys / 64
	if cowSize < cowBatchMin {
		cowSize = cowBatchMin
	}
	shared = make(map[uint64]uint64)
	cowCur.Store(&shared)
	b, _ := mapShape(shared)
	seenB.Store(int64(b))

	mapAddr := fmt.Sprintf("%p", shared)
	if env.mode == modeSyncMap {
		mapAddr = "0x0"
	}
	fmt.Printf("gosvc: pid %d mode %s map %s writers %d iterators %d readers %d keys %d\n",
		os.Getpid(), modeNames[env.mode], mapAddr, env.writers, env.iterators, env.readers, env.keys)

	seed := uint64(time.Now().UnixNano()) ^ uint64(os.Getpid())<<32
	var wg sync.WaitGroup
	mains := []func(*worker, *sync.WaitGroup){writerMain, iterMain, readerMain}
	for r, n := range []int{env.writers, env.iterators, env.readers} {
		for j := 0; j < n; j++ {
			w := &worker{role: role(r), idx: j, rng: rngNext(&seed)}
			if env.latency {
				w.lat = make([]uint64, latBuckets)
			}
			workers = append(workers, w)
		}
	}
	for _, w := range workers {
		wg.Add(1)
		go mains[w.role](w, &wg)
	}

	t0 := time.Now()
	var deadline <-chan time.Time
	if env.duration > 0 {
		deadline = time.After(time.Duration(env.duration * 1e9))
	}
	var tick <-chan time.Time
	if env.verbose {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		tick = tk.C
	}
	last, lastT := totals{}, t0
loop:
	for {
		select {
		case <-sigs:
			break loop
		case <-deadline:
			break loop
		case now := <-tick:
			t := sumWorkers()
			dt := now.Sub(lastT).Seconds()
			fmt.Printf("gosvc: %5.1fs writes %.0f/s iterations %.0f/s lookups %.0f/s "+
				"size %d B %d grows %d races 0\n",
				now.Sub(t0).Seconds(), float64(t.writes-last.writes)/dt,
				float64(t.iters-last.iters)/dt, float64(t.lookups-last.lookups)/dt,
				curSize.Load(), curB.Load(), t.grows)
			last, lastT = t, now
		}
	}

	stop.Store(true)
	wg.Wait()

	t := sumWorkers()
	secs := time.Since(t0).Seconds()
	ops := t.writes + t.iters + t.lookups
	rate := 0.0
	if secs > 0 {
		rate = float64(ops) / secs
	}
	fmt.Printf("gosvc: writes %d iterations %d (%d entries copied, %d cut short) lookups %d grows %d clears %d\n",
		t.writes, t.iters, t.entries, t.aborted, t.lookups, t.grows, t.clears)
	fmt.Printf("gosvc: races by kind: writes 0 read-write 0 iteration-write 0\n")
	if env.latency {
		h := make([]uint64, latBuckets)
		var n uint64
		for _, w := range workers {
			for i, c := range w.lat {
				h[i] += c
				n += c
			}
		}
		fmt.Printf("gosvc: latency ops %d p50_us %.2f p90_us %.2f p99_us %.2f p999_us %.2f max_us %.2f\n",
			n, latQuantile(h, n, 0.50)/1e3, latQuantile(h, n, 0.90)/1e3,
			latQuantile(h, n, 0.99)/1e3, latQuantile(h, n, 0.999)/1e3, latQuantile(h, n, 1)/1e3)
	}
	fmt.Printf("gosvc: done in %.1f s: %d ops, %.0f ops/s, races 0\n", secs, ops, rate)
}
