package lookup

import (
	"cmp"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/policy"
)

// TestIndexAgainstModel builds indexes from random rows and compares every
// answer with a plain map model of the rules.
func TestIndexAgainstModel(t *testing.T) {
	type testCase struct {
		name       string
		accounts   int
		rows       int
		minCreated *time.Time
		// dense: the ids -accounts..accounts are kept in a denseAges (the
		// small and negative ids below), the others in the ageSet.
		dense bool
	}
	var cases []testCase
	for _, tc := range []testCase{
		{name: "small, all dates", accounts: 50, rows: 200},
		{name: "dense duplicates, pruned", accounts: 2000, rows: 20000, minCreated: ptr(ts("2015-06-01T00:00:00Z"))},
		{name: "many accounts, all dates", accounts: 300000, rows: 400000},
		{name: "many accounts, pruned", accounts: 300000, rows: 400000, minCreated: ptr(ts("2019-12-31T23:59:59.999999Z"))},
	} {
		cases = append(cases, tc)
		tc.name += ", dense range"
		tc.dense = true
		cases = append(cases, tc)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.accounts)))
			ids := make([]int64, tc.accounts)
			for i := range ids {
				switch i % 4 {
				case 0:
					ids[i] = int64(rng.Uint64()) // any 64-bit value
				case 1:
					ids[i] = int64(i) // dense small ids
				case 2:
					ids[i] = -int64(i) - 1
				default:
					ids[i] = int64(i) << 40 // equal low bits
				}
			}
			ids[0], ids[1] = math.MinInt64, math.MaxInt64
			o := testOptions()
			o.MinCreatedAt = tc.minCreated
			ix := &Index{}
			ab := ix.newAgesBuilder(o)
			if tc.dense {
				ab.setDense(-int64(tc.accounts), int64(tc.accounts))
			}
			model := map[int64]int32{}
			for r := 0; r < tc.rows; r++ {
				id := ids[rng.IntN(len(ids))]
				var d int32
				switch rng.IntN(20) {
				case 0:
					d = int32(rng.IntN(200000)) - 100000 // far past or future
				case 1:
					d = minBirthDay - 1 + int32(rng.IntN(3))
				default:
					d = day("1960-01-01") + int32(rng.IntN(60*366))
				}
				ab.add(id, d)
				if old, ok := model[id]; !ok || d > old {
					model[id] = d
				}
			}
			ab.finish()
			if dense := ix.Stats().DenseSpan > 0; dense != tc.dense {
				t.Fatalf("DenseSpan %d, dense %v", ix.Stats().DenseSpan, tc.dense)
			}
			if ix.Stats().Accounts != int64(len(model)) {
				t.Errorf("Accounts = %d, want %d", ix.Stats().Accounts, len(model))
			}
			kept := int64(0)
			check := func(id int64) {
				d, known := model[id]
				f := ix.Facts(id)
				e := ix.Evidence(id)
				if f.BirthKnown != known {
					t.Fatalf("id %d: BirthKnown %v, want %v", id, f.BirthKnown, known)
				}
				if !known {
					if e.BirthDate != nil {
						t.Fatalf("id %d: unknown but has a birth date", id)
					}
					return
				}
				adult := policy.AdultFrom(d, o.Policy.AdultAge)
				keep := tc.minCreated == nil || adult > tc.minCreated.UnixMicro()
				if keep {
					kept++
					if f.AdultFrom != adult || e.BirthDate == nil || *e.BirthDate != d {
						t.Fatalf("id %d born %d: AdultFrom %d birth %s, want %d %d", id, d, f.AdultFrom, ptrStr(e.BirthDate), adult, d)
					}
				} else if f.AdultFrom != math.MinInt64 || e.BirthDate != nil {
					t.Fatalf("id %d born %d: not pruned", id, d)
				}
			}
			for id := range model {
				check(id)
			}
			for i := 0; i < 100000; i++ {
				id := int64(rng.Uint64())
				switch i % 3 {
				case 0:
					id = ids[rng.IntN(len(ids))] ^ 1<<uint(rng.IntN(64)) // near misses
				case 1:
					id = int64(rng.IntN(2*tc.accounts+5)) - int64(tc.accounts) - 2 // in and at the edges of the dense range
				}
				if _, ok := model[id]; !ok {
					check(id)
				}
			}
			if ix.Stats().BirthDatesKept != kept {
				t.Errorf("BirthDatesKept = %d, want %d", ix.Stats().BirthDatesKept, kept)
			}
		})
	}
}

func TestMixIsInjectiveOnSamples(t *testing.T) {
	seen := map[uint64]uint64{}
	for _, x := range []uint64{0, 1, math.MaxUint64, 1 << 63, 1<<63 - 1} {
		seen[mix(x)] = x
	}
	for i := uint64(0); i < 200000; i++ {
		for _, x := range []uint64{i, i << 32, ^i} {
			if y, ok := seen[mix(x)]; ok && y != x {
				t.Fatalf("mix(%d) == mix(%d)", x, y)
			}
			seen[mix(x)] = x
		}
	}
}

// benchIndex builds an index of n accounts with random ids, every tenth a
// possible minor and every hundredth objected, and probe keys: 90% known
// accounts, 10% unknown.
func benchIndex(b *testing.B, n int) (*Index, []int64, []int64) { return benchIndexOf(b, n, false) }

// benchIndexOf is benchIndex with, if dense, the ids 10^9 .. 10^9+n-1 in a
// shuffled order, kept in a denseAges and denseObj (as Build keeps ids
// its footers show dense).
func benchIndexOf(b *testing.B, n int, dense bool) (*Index, []int64, []int64) {
	rng := rand.New(rand.NewPCG(7, 7))
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(rng.Uint64() >> 1)
		if dense {
			ids[i] = 1e9 + int64(i)
		}
	}
	if dense {
		rng.Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	}
	mc := ts("2020-01-01T00:00:00Z")
	o := testOptions()
	o.MinCreatedAt = &mc
	ix := &Index{}
	ab := ix.newAgesBuilder(o)
	if dense {
		ab.setDense(1e9, 1e9+int64(n)-1)
	}
	var objs []objector
	for i, id := range ids {
		d := day("1970-01-01") + int32(rng.IntN(30*365))
		if i%10 == 0 {
			d = day("2005-01-01") + int32(rng.IntN(10*365))
		}
		ab.add(id, d)
		if i%9 == 0 { // about the bench lake's share of objected accounts (11%)
			objs = append(objs, objector{id, 1})
		}
	}
	ab.finish()
	slicesSortObjectors(objs)
	if err := ix.resolveObjected(objs, nil); err != nil {
		b.Fatal(err)
	}
	ix.stats.Bytes = ix.bytes()
	probes := make([]int64, 1<<22)
	for i := range probes {
		if i%10 == 0 {
			probes[i] = int64(rng.Uint64())
		} else {
			probes[i] = ids[rng.IntN(n)]
		}
	}
	return ix, probes, ids
}

func slicesSortObjectors(o []objector) {
	slices.SortFunc(o, func(a, b objector) int { return cmp.Compare(a.id, b.id) })
}

var sinkFacts policy.Facts

// BenchmarkFacts probes a 5M-account index in random order.
func BenchmarkFacts(b *testing.B) {
	ix, probes, _ := benchIndex(b, 5_000_000)
	st := ix.Stats()
	defer b.ReportMetric(float64(st.Bytes)/float64(st.Accounts), "B/account") // after ResetTimer, which drops metrics
	mask := len(probes) - 1
	b.ResetTimer()
	cpu := cpuTime()
	var known int
	for i := 0; i < b.N; i++ {
		f := ix.Facts(probes[i&mask])
		if f.BirthKnown {
			known++
		}
		sinkFacts = f
	}
	reportCPU(b, cpu)
	if b.N > len(probes) && known < b.N/2 {
		b.Fatalf("only %d of %d probes known", known, b.N)
	}
}

// BenchmarkFactsMap is the baseline: the same probes against Go maps.
func BenchmarkFactsMap(b *testing.B) {
	ix, probes, ids := benchIndex(b, 5_000_000)
	born := make(map[int64]int64, len(ids))
	objected := map[int64]struct{}{}
	for _, id := range ids {
		f := ix.Facts(id)
		born[id] = f.AdultFrom
		if f.Objected {
			objected[id] = struct{}{}
		}
	}
	mask := len(probes) - 1
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu)
	for i := 0; i < b.N; i++ {
		k := probes[i&mask]
		var f policy.Facts
		f.AdultFrom, f.BirthKnown = born[k]
		_, f.Objected = objected[k]
		sinkFacts = f
	}
}

// BenchmarkRandomLoad calibrates the machine: one dependent-free random
// load from a 40 MB array per op, the floor for any probe of a structure
// that size.
func BenchmarkRandomLoad(b *testing.B) {
	a := make([]uint64, 5_000_000)
	for i := range a {
		a[i] = uint64(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	idx := make([]uint32, 1<<22)
	for i := range idx {
		idx[i] = uint32(rng.IntN(len(a)))
	}
	mask := len(idx) - 1
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu)
	var s uint64
	for i := 0; i < b.N; i++ {
		s += a[idx[i&mask]]
	}
	sinkFacts.AdultFrom = int64(s)
}

// cpuTime is the process's CPU time. On a shared machine a benchmark's
// wall time includes the time other processes held the core; its CPU time
// does not, so the benchmarks also report cpu-ns/op.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkFactsBatch probes the same index through FactsBatch, in
// batches of 1024 authors.
func BenchmarkFactsBatch(b *testing.B) {
	for _, dense := range []bool{false, true} {
		b.Run(map[bool]string{false: "hashed", true: "dense"}[dense], func(b *testing.B) {
			benchFactsBatch(b, dense)
		})
	}
}

func benchFactsBatch(b *testing.B, dense bool) {
	ix, probes, _ := benchIndexOf(b, 5_000_000, dense)
	out := make([]policy.Facts, 1024)
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i += len(out) {
		off := i & (len(probes) - 1)
		n := min(len(out), b.N-i, len(probes)-off)
		ix.FactsBatch(probes[off:off+n], out[:n])
	}
	reportCPU(b, cpu)
}

// BenchmarkBuildAges adds 20M ages rows (random ids, 5% duplicates) and
// builds the set, reporting the heap held by the raw rows before the
// build and by the finished structures after it.
func BenchmarkBuildAges(b *testing.B) {
	const rows = 20_000_000
	// The rows are generated before the clock starts.
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]int64, rows)
	days := make([]int32, rows)
	d0 := day("1970-01-01")
	for r := range ids {
		ids[r] = int64(rng.Uint64() >> 1)
		if r%20 == 0 && r > 0 {
			ids[r] = ids[r-1]
		}
		days[r] = d0 + int32(rng.IntN(40*365))
	}
	mc := ts("2020-01-01T00:00:00Z")
	o := testOptions()
	o.MinCreatedAt = &mc
	b.ResetTimer()
	var addTime, finishTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		base := heapInUse()
		b.StartTimer()
		t0 := time.Now()
		ix := &Index{}
		ab := ix.newAgesBuilder(o)
		ab.sb.reserve(rows)
		for r := range ids {
			ab.add(ids[r], days[r])
		}
		addTime += time.Since(t0)
		b.StopTimer()
		runtime.GC()
		raw := heapInUse() - base
		b.StartTimer()
		t1 := time.Now()
		ab.finish()
		finishTime += time.Since(t1)
		ab = nil
		b.StopTimer()
		runtime.GC()
		final := heapInUse() - base
		b.ReportMetric(float64(raw)/rows, "raw-B/row")
		b.ReportMetric(float64(final)/float64(ix.Stats().Accounts), "final-B/account")
		b.ReportMetric(float64(ix.bytes())/float64(ix.Stats().Accounts), "stats-B/account")
		runtime.KeepAlive(ix)
		b.StartTimer()
	}
	b.ReportMetric(float64(addTime.Nanoseconds())/float64(b.N*rows), "add-ns/row")
	b.ReportMetric(float64(finishTime.Nanoseconds())/float64(b.N*rows), "finish-ns/row")
}

func heapInUse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

func TestFactsBatchMatchesFacts(t *testing.T) {
	t.Run("hashed", func(t *testing.T) { testFactsBatch(t, false) })
	t.Run("dense and hashed", func(t *testing.T) { testFactsBatch(t, true) })
}

func testFactsBatch(t *testing.T, dense bool) {
	rng := rand.New(rand.NewPCG(5, 6))
	ix := &Index{}
	ab := ix.newAgesBuilder(testOptions())
	if dense {
		ab.setDense(1000, 40000) // ids 1000..40000; the random ones are hashed
	}
	var ids []int64
	var objs []objector
	for i := 0; i < 50000; i++ {
		id := int64(rng.Uint64())
		if dense && i%2 == 0 {
			id = int64(rng.IntN(42000)) // mostly in the dense range
		}
		ids = append(ids, id)
		ab.add(id, int32(rng.IntN(80000))-40000)
		if i%7 == 0 {
			objs = append(objs, objector{id, int64(i)})
		}
	}
	ab.finish()
	slicesSortObjectors(objs)
	objs = slices.CompactFunc(objs, func(a, b objector) bool { return a.id == b.id })
	if err := ix.resolveObjected(objs, nil); err != nil {
		t.Fatal(err)
	}
	probes := make([]int64, 10007) // not a multiple of the chunk
	for i := range probes {
		switch {
		case i%3 == 0:
			probes[i] = int64(rng.Uint64())
		case dense && i%3 == 1:
			probes[i] = int64(rng.IntN(42000)) // either side of the dense range's ends
		default:
			probes[i] = ids[rng.IntN(len(ids))]
		}
	}
	out := make([]policy.Facts, len(probes)+5)
	for _, n := range []int{0, 1, 15, 16, 17, len(probes)} {
		ix.FactsBatch(probes[:n], out)
		for i, a := range probes[:n] {
			if out[i] != ix.Facts(a) {
				t.Fatalf("n=%d, probe %d: FactsBatch %+v, Facts %+v", n, i, out[i], ix.Facts(a))
			}
		}
	}
	if allocs := testing.AllocsPerRun(10, func() { ix.FactsBatch(probes, out) }); allocs != 0 {
		t.Errorf("FactsBatch allocates %.1f times", allocs)
	}
	var zero Index
	zero.FactsBatch(probes[:3], out)
	if out[0] != (policy.Facts{}) {
		t.Errorf("zero index: %+v", out[0])
	}
}
