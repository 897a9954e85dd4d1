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

// denseObj is the set of objected accounts among the ids an Index's
// denseAges covers, with the evidence for each: a bit per id (the bit of
// id - lo), and who and centre (as in objSet) of the set bits in id order.
// That is about 12 bytes per objected account plus 0.19 bytes per id in
// the range, against about 22 bytes per account in an objSet.
type denseObj struct {
	bits   []uint64
	rank   []uint32 // rank[i]: the bits set in bits[:i]
	who    []uint32
	centre []int64
}

// find returns the position in who and centre of the account at u, the
// position of its bit, or -1.
func (d *denseObj) find(u uint64) int {
	if d.bits == nil {
		return -1
	}
	w, m := d.bits[u>>6], uint64(1)<<(u&63)
	if w&m == 0 {
		return -1
	}
	return int(d.rank[u>>6]) + bits.OnesCount64(w&(m-1))
}

// bytes approximates the memory the set holds.
func (d *denseObj) bytes() int64 {
	return int64(cap(d.bits))*8 + int64(cap(d.rank))*4 + int64(cap(d.who))*4 + int64(cap(d.centre))*8
}

// denseObjBuilder builds a denseObj from accounts added in increasing id
// order.
type denseObjBuilder struct {
	d    denseObj
	last int64 // the position added last, -1 at first
}

// newDenseObjBuilder returns a builder for span ids and at most n
// accounts; with no ids, the denseObj is empty.
func newDenseObjBuilder(span, n int) *denseObjBuilder {
	b := &denseObjBuilder{last: -1}
	if span > 0 {
		words := (span + 63) / 64
		b.d = denseObj{bits: make([]uint64, words), rank: make([]uint32, words),
			who: make([]uint32, 0, n), centre: make([]int64, 0, n)}
	}
	return b
}

// add adds the account at position u, which must be past the last one
// added.
func (b *denseObjBuilder) add(u uint64, who uint32, centre int64) {
	if int64(u) <= b.last {
		panic("lookup: denseObjBuilder.add out of order")
	}
	b.last = int64(u)
	b.d.bits[u>>6] |= 1 << (u & 63)
	b.d.who = append(b.d.who, who)
	b.d.centre = append(b.d.centre, centre)
}

// finish computes the ranks and returns the set.
func (b *denseObjBuilder) finish() denseObj {
	var n uint32
	for i, w := range b.d.bits {
		b.d.rank[i] = n
		n += uint32(bits.OnesCount64(w))
	}
	return b.d
}
