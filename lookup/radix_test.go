package lookup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortLinks: the radix sort sorts by the key, keeps every link, and
// sorts links in any order by (key, other key), exactly as the comparison
// sort does, for narrow, wide, negative, extreme, clustered and few
// identifiers, with duplicates, on both keys, below its size limit and
// above the size it sorts in place.
func TestSortLinks(t *testing.T) {
	gens := map[string]func(r *rand.Rand) int64{
		"narrow":   func(r *rand.Rand) int64 { return 1_000_000 + r.Int64N(5000) },
		"wide":     func(r *rand.Rand) int64 { return int64(r.Uint64()) },
		"negative": func(r *rand.Rand) int64 { return -r.Int64N(1 << 40) },
		"extremes": func(r *rand.Rand) int64 {
			return []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}[r.IntN(5)]
		},
		"constant": func(*rand.Rand) int64 { return 42 },
		// Nine in ten in a narrow cluster of a wide range: a bucket of
		// the first in-place pass too large for the scratch is split
		// again.
		"clustered": func(r *rand.Rand) int64 {
			if r.IntN(10) > 0 {
				return 1<<40 + r.Int64N(1<<20)
			}
			return int64(r.Uint64())
		},
		// A few keys: buckets too large for the scratch with too few key
		// bits left to split on are sorted by comparison.
		"few": func(r *rand.Rand) int64 { return 7_000 + r.Int64N(200) },
	}
	both := func(byCentre bool) func(a, b link) int {
		if byCentre {
			return func(a, b link) int { return cmp2(a.centre, b.centre, a.account, b.account) }
		}
		return func(a, b link) int { return cmp2(a.account, b.account, a.centre, b.centre) }
	}
	keyOnly := func(byCentre bool) func(a, b link) int {
		if byCentre {
			return func(a, b link) int { return cmp2(a.centre, b.centre, 0, 0) }
		}
		return func(a, b link) int { return cmp2(a.account, b.account, 0, 0) }
	}
	for name, gen := range gens {
		// 200,000 links: more than one scratch-sized bucket, so sorted
		// in place first.
		for _, n := range []int{0, 1, 255, 256, 10_000, 200_000} {
			for _, byCentre := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d/byCentre=%t", name, n, byCentre), func(t *testing.T) {
					r := rand.New(rand.NewPCG(uint64(n), 9))
					links := make([]link, n)
					for i := range links {
						links[i] = link{account: gen(r), centre: gens["wide"](r)}
						if i%3 == 0 {
							links[i].centre = gen(r)
						}
						if i%7 == 0 && i > 0 {
							links[i] = links[i-1] // duplicates
						}
					}
					// By the key alone: sorted by the key, nothing lost.
					got := slices.Clone(links)
					sortLinks(got, byCentre, true)
					if !slices.IsSortedFunc(got, keyOnly(byCentre)) {
						t.Fatal("not sorted by the key")
					}
					a, b := slices.Clone(got), slices.Clone(links)
					slices.SortFunc(a, both(true))
					slices.SortFunc(b, both(true))
					if !slices.Equal(a, b) {
						t.Fatal("links lost or changed")
					}
					// By both keys, from any order (here, sorted by the
					// other key, or as generated): as the comparison sort.
					want := slices.Clone(links)
					slices.SortFunc(want, both(byCentre))
					for _, first := range []func([]link){func(l []link) { slices.SortFunc(l, both(!byCentre)) }, func([]link) {}} {
						got := slices.Clone(links)
						first(got)
						sortLinks(got, byCentre, false)
						if !slices.Equal(got, want) {
							t.Fatal("order differs from the comparison sort's on both keys")
						}
					}
				})
			}
		}
	}
}

// BenchmarkSortLinks sorts 2 M links (5 M accounts, 800 K centres, as in
// the bench lake) as resolveObjected does, against a comparison sort.
func BenchmarkSortLinks(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]link, 2_000_000)
	for i := range src {
		src[i] = link{account: r.Int64N(5_000_000), centre: r.Int64N(800_000)}
	}
	links := make([]link, len(src))
	for _, radix := range []bool{true, false} {
		b.Run(fmt.Sprintf("radix=%t", radix), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				copy(links, src)
				// The two sorts of resolveObjected: by centre, then by
				// (account, centre).
				if radix {
					sortLinks(links, true, true)
					sortLinks(links, false, false)
				} else {
					slices.SortFunc(links, func(a, b link) int { return cmp2(a.centre, b.centre, a.account, b.account) })
					slices.SortFunc(links, func(a, b link) int { return cmp2(a.account, b.account, a.centre, b.centre) })
				}
			}
		})
	}
}

// TestUniformSorter: the distribution sort of ageSet records sorts any
// input — uniform, sorted, reversed, equal, and values crowded into one
// slot (where it falls back to a comparison sort) — of every size.
func TestUniformSorter(t *testing.T) {
	gens := map[string]func(r *rand.Rand, i, n int) uint64{
		"uniform":  func(r *rand.Rand, _, _ int) uint64 { return r.Uint64() },
		"sorted":   func(_ *rand.Rand, i, n int) uint64 { return uint64(i) * (math.MaxUint64 / uint64(n)) },
		"reversed": func(_ *rand.Rand, i, n int) uint64 { return uint64(n-i) * (math.MaxUint64 / uint64(n)) },
		"equal":    func(*rand.Rand, int, int) uint64 { return 7 },
		"crowded":  func(r *rand.Rand, _, _ int) uint64 { return 1<<60 | r.Uint64()>>20 },
		"dups":     func(r *rand.Rand, _, _ int) uint64 { return r.Uint64() &^ (1<<62 - 1) },
	}
	var us uniformSorter
	for name, gen := range gens {
		for _, n := range []int{0, 1, 2, 47, 48, 49, 100, 1000, 70_000} {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(n), 3))
				s := make([]uint64, n)
				for i := range s {
					s[i] = gen(r, i, n)
				}
				want := slices.Clone(s)
				slices.Sort(want)
				us.sort(s)
				if !slices.Equal(s, want) {
					t.Fatal("not sorted")
				}
			})
		}
	}
}
