package lookup

import (
	"math/bits"
	"slices"
)

// objSet is the exact set of objected accounts, with the evidence for
// each.
//
// Accounts are kept as h = mix(id) (a bijection, so h identifies the
// account), sorted, in buckets picked by the top bits of h: bucket k holds
// keys[off[k]:off[k+1]], two to four keys on average. who and centre are
// parallel to keys. That is about 22 bytes per objected account (8 for the
// key, 4 for the objector, 8 for the centre, up to 2 for the bucket index)
// plus 16 per objector, and a bit filter in front.
//
// The filter, about 16 bits per key, holds one bit per prefix of h that
// some key has: most authors are not objected, and for all but a few per
// cent of them find reads one bit, in memory small enough to stay in the
// CPU cache, and does not touch the keys.
type objSet struct {
	filter    []uint64 // bit h>>fshift is set for every key h
	fshift    uint
	shift     uint     // 64 - bucket bits; 64 for a single bucket
	off       []uint32 // nil for an empty set
	keys      []uint64
	who       []uint32 // index into objectors, | hasCentre
	centre    []int64  // the account's smallest centre, if who&hasCentre
	objectors []objector
}

// hasCentre marks, in objSet.who, an account objected through its group
// rather than by its own objection.
const hasCentre = 1 << 31

// objRec is one objected account while an objSet is built.
type objRec struct {
	h      uint64
	who    uint32
	centre int64
}

// newObjSet builds the set from recs (distinct accounts, any order). It
// reorders recs.
func newObjSet(recs []objRec, objectors []objector) objSet {
	s := objSet{objectors: objectors}
	n := len(recs)
	if n == 0 {
		return s
	}
	// Buckets: the smallest power of two of at least n/4.
	b := uint(bits.Len(uint(max(n/4, 1) - 1)))
	nb := 1 << b
	s.shift = 64 - b // h >> 64 is 0 in Go: one bucket
	bucket := func(h uint64) uint64 { return h >> s.shift }

	fbits := uint(bits.Len64(uint64(16*n - 1))) // 16n <= 2^fbits < 32n
	fbits = max(fbits, 9, b)
	s.filter, s.fshift = make([]uint64, 1<<(fbits-6)), 64-fbits
	for _, r := range recs {
		f := r.h >> s.fshift
		s.filter[f>>6] |= 1 << (f & 63)
	}

	// Distribution by bucket, then each bucket sorted.
	s.off = make([]uint32, nb+1)
	for _, r := range recs {
		s.off[bucket(r.h)+1]++
	}
	for k := 1; k <= nb; k++ {
		s.off[k] += s.off[k-1]
	}
	next := slices.Clone(s.off[:nb])
	sorted := make([]objRec, n)
	for _, r := range recs {
		k := bucket(r.h)
		sorted[next[k]] = r
		next[k]++
	}
	for k := range nb {
		bk := sorted[s.off[k]:s.off[k+1]]
		if len(bk) <= 16 {
			for i := 1; i < len(bk); i++ {
				for j := i; j > 0 && bk[j-1].h > bk[j].h; j-- {
					bk[j-1], bk[j] = bk[j], bk[j-1]
				}
			}
			continue
		}
		// Crafted ids can crowd one bucket: never quadratic.
		slices.SortFunc(bk, func(a, b objRec) int {
			switch {
			case a.h < b.h:
				return -1
			case a.h > b.h:
				return 1
			}
			return 0
		})
	}

	s.keys = make([]uint64, n)
	s.who = make([]uint32, n)
	s.centre = make([]int64, n)
	for i, r := range sorted {
		s.keys[i], s.who[i], s.centre[i] = r.h, r.who, r.centre
	}
	return s
}

// bucketOf returns the bounds of h's bucket in keys.
func (s *objSet) bucketOf(h uint64) (lo, hi uint32) {
	k := h >> s.shift
	return s.off[k], s.off[k+1]
}

// mayHave reports whether the filter lets h through (s is not empty).
func (s *objSet) mayHave(h uint64) bool {
	f := h >> s.fshift
	return s.filter[f>>6]&(1<<(f&63)) != 0
}

// find returns the position of the account whose hash is h, or -1.
func (s *objSet) find(h uint64) int {
	if s.off == nil || !s.mayHave(h) {
		return -1
	}
	lo, hi := s.bucketOf(h)
	for i := lo; i < hi; i++ {
		if k := s.keys[i]; k >= h {
			if k == h {
				return int(i)
			}
			break
		}
	}
	return -1
}

// len returns the number of objected accounts.
func (s *objSet) len() int { return len(s.keys) }

// bytes approximates the memory the set holds.
func (s *objSet) bytes() int64 {
	return int64(cap(s.filter))*8 + int64(cap(s.off))*4 + int64(cap(s.keys))*8 + int64(cap(s.who))*4 +
		int64(cap(s.centre))*8 + int64(cap(s.objectors))*16
}
