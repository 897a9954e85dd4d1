package lookup

import "slices"

// maxRadixLinks bounds the links sorted by radix sort, whose scratch copy
// takes 16 bytes per link; above it the links are sorted in place.
const maxRadixLinks = 1 << 24

// sortLinks sorts links by (centre, account) if byCentre, else by
// (account, centre). It is an LSD radix sort on the eight bytes of each
// key (signed order), skipping the byte positions where every link has
// the same byte — identifiers in a narrow range need few passes. It is
// several times faster than a comparison sort for millions of links.
func sortLinks(links []link, byCentre bool) {
	less := func(a, b link) int { return cmp2(a.account, b.account, a.centre, b.centre) }
	if byCentre {
		less = func(a, b link) int { return cmp2(a.centre, b.centre, a.account, b.account) }
	}
	if len(links) < 256 || len(links) > maxRadixLinks {
		slices.SortFunc(links, less)
		return
	}
	// key k (0 = the secondary key, 1 = the primary), byte b (0 = least
	// significant) of a link, with the sign bit flipped so that unsigned
	// byte order is signed order.
	keyOf := func(l *link, k int) uint64 {
		v := l.account
		if (k == 1) == byCentre {
			v = l.centre
		}
		return uint64(v) ^ 1<<63
	}
	var counts [2][8][256]int
	for i := range links {
		l := &links[i]
		for k := 0; k < 2; k++ {
			v := keyOf(l, k)
			for b := 0; b < 8; b++ {
				counts[k][b][byte(v>>(8*b))]++
			}
		}
	}
	src, dst := links, make([]link, len(links))
	for k := 0; k < 2; k++ {
		for b := 0; b < 8; b++ {
			c := &counts[k][b]
			if c[byte(keyOf(&src[0], k)>>(8*b))] == len(src) {
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
				d := byte(keyOf(&src[i], k) >> shift)
				dst[pos[d]] = src[i]
				pos[d]++
			}
			src, dst = dst, src
		}
	}
	if &src[0] != &links[0] {
		copy(links, src)
	}
}
