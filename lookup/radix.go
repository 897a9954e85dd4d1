package lookup

import (
	"math/bits"
	"slices"
)

// Radix sort bounds. A range of links is split in place by 8 bits of the
// key until it holds at most maxRadixBucket links, which are LSD radix
// sorted through a scratch copy (16 bytes per link); more than
// maxRadixLinks links are sorted by comparison.
const (
	maxRadixLinks  = 1 << 30
	maxRadixBucket = 1 << 16
)

// sortLinks sorts links by (centre, account) if byCentre, else by
// (account, centre), as a comparison sort on both keys would; with
// keyOnly, by the key alone (links of one key in any order).
//
// It is a radix sort that needs no copy of the links: in-place passes
// (American flag sort) distribute them by the 8 most significant bits of
// the key on which they differ, then by the next 8 in each bucket, until
// the buckets are small enough to stay in the CPU cache; each is then LSD
// radix sorted on the bytes of both keys left (signed order) through a
// scratch copy of at most maxRadixBucket links, skipping the byte
// positions where every link of the bucket has the same byte. It is
// several times faster than a comparison sort for millions of links, and
// adds at most 1 MiB to the 16 bytes per link the links take (an LSD radix
// sort of the whole slice would double them).
func sortLinks(links []link, byCentre, keyOnly bool) {
	both := func(a, b link) int { return cmp2(a.account, b.account, a.centre, b.centre) }
	if byCentre {
		both = func(a, b link) int { return cmp2(a.centre, b.centre, a.account, b.account) }
	}
	if len(links) < 256 || len(links) > maxRadixLinks {
		slices.SortFunc(links, both)
		return
	}
	// The bits of the key on which links differ.
	k0 := keyOf(&links[0], byCentre)
	var diff uint64
	for i := range links {
		diff |= keyOf(&links[i], byCentre) ^ k0
	}
	s := linkSorter{byCentre: byCentre, keyOnly: keyOnly, both: both}
	s.sort(links, 63-bits.LeadingZeros64(diff))
}

// keyOf is a link's key with the sign bit flipped, so that unsigned order
// is signed order.
func keyOf(l *link, byCentre bool) uint64 {
	if byCentre {
		return uint64(l.centre) ^ 1<<63
	}
	return uint64(l.account) ^ 1<<63
}

type linkSorter struct {
	byCentre bool
	keyOnly  bool
	both     func(a, b link) int
	scratch  []link
}

// sort sorts links, whose keys agree on their bits above hb (-1: on all).
func (s *linkSorter) sort(links []link, hb int) {
	switch {
	case len(links) < 2:
		return
	case len(links) <= maxRadixBucket:
		if cap(s.scratch) < len(links) {
			s.scratch = make([]link, len(links), maxRadixBucket)
		}
		radixBucket(links, s.scratch[:len(links)], hb, s.byCentre, s.keyOnly)
		return
	case hb < 0 && s.keyOnly:
		return // one key
	case hb < 8 && !s.keyOnly:
		// Many links on a few keys: too few key bits left to split on.
		slices.SortFunc(links, s.both)
		return
	}
	// In place, by key bits hb-7..hb (by the low byte when hb < 8, which
	// with keyOnly leaves nothing to sort): bucket d is
	// links[start[d]:end[d]].
	shift := uint(max(hb-7, 0))
	digit := func(l *link) int { return int(byte(keyOf(l, s.byCentre) >> shift)) }
	var count, start, end, next [256]int
	for i := range links {
		count[digit(&links[i])]++
	}
	sum := 0
	for d, c := range count {
		start[d], end[d] = sum, sum+c
		sum += c
	}
	next = start
	for d := range 256 {
		for next[d] < end[d] {
			v := links[next[d]]
			e := digit(&v)
			// Carry v to its bucket, and what it displaces to its own,
			// until one belongs in bucket d.
			for e != d {
				links[next[e]], v = v, links[next[e]]
				next[e]++
				e = digit(&v)
			}
			links[next[d]] = v
			next[d]++
		}
	}
	if hb < 8 {
		return
	}
	for d := range 256 {
		s.sort(links[start[d]:end[d]], hb-8)
	}
}

// radixBucket sorts b, whose keys agree on their bits above hb (-1: on
// all), by (key, other key): an LSD radix sort on the other key's bytes,
// then on the key's bytes up to the one holding bit hb, skipping the bytes
// every link of b has the same, through tmp (as long as b). The key is the
// centre if byCentre, else the account. With keyOnly, the other key is
// left out.
func radixBucket(b, tmp []link, hb int, byCentre, keyOnly bool) {
	const sign = 1 << 63
	// The bits on which b's accounts, and its centres, differ.
	a0, c0 := b[0].account, b[0].centre
	var da, dc int64
	for i := range b {
		da |= b[i].account ^ a0
		dc |= b[i].centre ^ c0
	}
	// The passes: bytes of the other key, then of the key, least
	// significant first, on the centre or the account.
	type pass struct {
		onCentre bool
		shift    uint
	}
	var passes [16]pass
	np := 0
	for _, onKey := range []bool{false, true} {
		if !onKey && keyOnly {
			continue
		}
		onCentre := onKey == byCentre
		diff := uint64(da)
		if onCentre {
			diff = uint64(dc)
		}
		for j := range 8 {
			if onKey && 8*j > hb {
				break
			}
			if byte(diff>>(8*j)) != 0 {
				passes[np] = pass{onCentre, uint(8 * j)}
				np++
			}
		}
	}
	src, dst := b, tmp
	for _, p := range passes[:np] {
		var pos [256]int32
		if p.onCentre {
			for i := range src {
				pos[byte((uint64(src[i].centre)^sign)>>p.shift)]++
			}
		} else {
			for i := range src {
				pos[byte((uint64(src[i].account)^sign)>>p.shift)]++
			}
		}
		var sum int32
		for d, c := range pos {
			pos[d] = sum
			sum += c
		}
		if p.onCentre {
			for i := range src {
				d := byte((uint64(src[i].centre) ^ sign) >> p.shift)
				dst[pos[d]] = src[i]
				pos[d]++
			}
		} else {
			for i := range src {
				d := byte((uint64(src[i].account) ^ sign) >> p.shift)
				dst[pos[d]] = src[i]
				pos[d]++
			}
		}
		src, dst = dst, src
	}
	if &src[0] != &b[0] {
		copy(b, src)
	}
}
