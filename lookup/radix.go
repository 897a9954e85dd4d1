package lookup

import "slices"

// maxRadixLinks bounds the links sorted by radix sort, whose scratch copy
// takes 16 bytes per link; above it the links are sorted in place.
const maxRadixLinks = 1 << 24

// sortLinks sorts links by centre if byCentre, else by account. Links
// sorted by the other key end up sorted by (key, other key): the radix
// sort is stable, and the comparison sort it falls back on for fewer than
// 256 or more than maxRadixLinks links compares both keys.
//
// It is an LSD radix sort on the eight bytes of the key (signed order),
// skipping the byte positions where every link has the same byte —
// identifiers in a narrow range need few passes. It is several times
// faster than a comparison sort for millions of links.
func sortLinks(links []link, byCentre bool) {
	if len(links) < 256 || len(links) > maxRadixLinks {
		less := func(a, b link) int { return cmp2(a.account, b.account, a.centre, b.centre) }
		if byCentre {
			less = func(a, b link) int { return cmp2(a.centre, b.centre, a.account, b.account) }
		}
		slices.SortFunc(links, less)
		return
	}
	// byte b (0 = least significant) of a link's key, with the sign bit
	// flipped so that unsigned byte order is signed order.
	keyOf := func(l *link) uint64 {
		if byCentre {
			return uint64(l.centre) ^ 1<<63
		}
		return uint64(l.account) ^ 1<<63
	}
	var counts [8][256]int
	for i := range links {
		v := keyOf(&links[i])
		for b := 0; b < 8; b++ {
			counts[b][byte(v>>(8*b))]++
		}
	}
	src, dst := links, make([]link, len(links))
	for b := 0; b < 8; b++ {
		c := &counts[b]
		if c[byte(keyOf(&src[0])>>(8*b))] == len(src) {
			continue // every link has this byte
		}
		var pos [256]int
		sum := 0
		for d := range 256 {
			pos[d] = sum
			sum += c[d]
		}
		shift := uint(8 * b)
		for i := range src {
			d := byte(keyOf(&src[i]) >> shift)
			dst[pos[d]] = src[i]
			pos[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &links[0] {
		copy(links, src)
	}
}
