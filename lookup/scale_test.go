//go:build scale

package lookup

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/policy"
)

// TestScaleAges builds the ages structure for many accounts, synthesised in
// memory (no files), and reports the bytes of the lookup structures per
// account, the Go heap and the build's peak. It is the figure behind "400
// million accounts fit in 4 GiB"; it runs only when asked:
//
//	CORPUS_AUDIT_SCALE_ACCOUNTS=400000000 go test ./lookup -run TestScaleAges -v -timeout 60m
//
// Ids are spread over 62 bits (not dense), birth dates over 1940-2015, one
// row in 20 has a second, older birth date (a duplicate to resolve), and the
// corpus span starts 2015-01-01, so that about one account in four keeps
// its birth date (could be a minor in the corpus). With
// CORPUS_AUDIT_SCALE_DENSE=1 the ids are instead 10^9 .. 10^9+n-1, in a
// scrambled order, kept in a denseAges (as Build chooses from footer
// statistics that show them dense).
func TestScaleAges(t *testing.T) {
	env := os.Getenv("CORPUS_AUDIT_SCALE_ACCOUNTS")
	if env == "" {
		env = "400000000"
	}
	n, err := strconv.ParseInt(env, 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("CORPUS_AUDIT_SCALE_ACCOUNTS=%q: want a positive integer", env)
	}
	debug.SetGCPercent(20) // measure the structures, not garbage
	minCreated := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	o := Options{SnapshotAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Policy: policy.Default(), MinCreatedAt: &minCreated}

	start := time.Now()
	var peak atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				sample()
			}
		}
	}()
	dense := os.Getenv("CORPUS_AUDIT_SCALE_DENSE") == "1"
	const denseBase = 1_000_000_000
	idOf := func(i int64) int64 {
		if dense {
			// i -> i*p mod n is a permutation: p is a prime that does not
			// divide n (n < 2^32, so the product fits).
			return denseBase + int64(uint64(i)*2654435761%uint64(n))
		}
		return int64(mix(uint64(i)) >> 2) // distinct, spread over 62 bits
	}
	if dense && n%2654435761 == 0 {
		t.Fatalf("%d accounts: a multiple of the permutation's prime", n)
	}
	ix := &Index{}
	ab := ix.newAgesBuilder(o)
	if dense {
		ab.setDense(denseBase, denseBase+n-1)
	} else {
		ab.sb.reserve(n + n/20)
	}
	lo, hi := int32(-10957), int32(16436) // 1940-01-01 .. 2015-01-01
	state := uint64(1)
	next := func() uint64 { // splitmix64
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	for i := int64(0); i < n; i++ {
		r := next()
		id := idOf(i)
		d := lo + int32(r%uint64(hi-lo))
		ab.add(id, d)
		if r>>32%20 == 0 {
			ab.add(id, d-365)
		}
	}
	sample()
	read := time.Since(start)
	ab.finish()
	sample()
	ix.stats.Bytes = ix.bytes()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := ix.Stats()
	if st.Accounts != n {
		t.Fatalf("accounts: %d, want %d", st.Accounts, n)
	}
	// Spot checks: every account is found, with its youngest date kept when
	// it can be a minor after minCreated.
	state = 1
	for i := int64(0); i < min(n, 1_000_000); i++ {
		r := next()
		id := idOf(i)
		d := lo + int32(r%uint64(hi-lo))
		f := ix.Facts(id)
		if !f.BirthKnown {
			t.Fatalf("account %d: birth not known", id)
		}
		if want := policy.AdultFrom(d, o.Policy.AdultAge); want > minCreated.UnixMicro() && f.AdultFrom != want {
			t.Fatalf("account %d: adult from %d, want %d", id, f.AdultFrom, want)
		}
	}
	gib := func(b uint64) string { return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30)) }
	t.Logf("accounts %d (birth dates kept %d); built in %s (rows generated and added %s)",
		n, st.BirthDatesKept, time.Since(start).Round(time.Second), read.Round(time.Second))
	t.Logf("lookup structures: %s = %.2f bytes/account; Go heap in use after build %s; peak heap in use while building %s (%.2f bytes/account)",
		gib(uint64(st.Bytes)), float64(st.Bytes)/float64(n), gib(ms.HeapInuse), gib(peak.Load()), float64(peak.Load())/float64(n))
	if st.Bytes > 4<<30 {
		t.Errorf("lookup structures %s: more than 4 GiB", gib(uint64(st.Bytes)))
	}
}
