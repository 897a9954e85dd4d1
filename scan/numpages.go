package scan

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go/format"
)

// numCursor decodes an INT64 column chunk (integers and timestamps stored
// as INT64) a few rows at a time, for NextRows, straight from its pages'
// bytes. Through parquet-go, each page was copied into parquet-go's own
// buffer and decoded whole (Arrow's writer puts about 130,000 values in a
// page), the chunk's dictionary was decoded whole beside the cursor's
// converted copy of it, and NextRows held the rest of the decoded page
// past the rows asked for: about 3.5 MB per column and worker, which the
// cursor does not hold.
//
// It reads every encoding parquet-go reads for INT64 pages (PLAIN,
// dictionary indexes, DELTA_BINARY_PACKED, BYTE_STREAM_SPLIT), data pages
// v1 (RLE definition levels) and v2, from a chunk held whole or streamed
// through a window; it walks a streamed chunk's pages (lazyChunk.walkPage)
// as it reaches them. Each page passes checkPage before it is decoded, as
// it does before parquet-go decodes it.
type numCursor struct {
	f        *File
	role, rg int
	chunk    *lazyChunk
	optional bool
	kind     kind

	next int // next page of chunk
	rows int // rows decoded, for errors

	// The current data page: rows left, its definition levels, its
	// values' encoding and reader, and the non-null values read from it
	// against those its levels hold.
	left        int
	defs        rleReader
	enc         format.Encoding
	plain       []byte // PLAIN: the values not read yet
	bss         []byte // BYTE_STREAM_SPLIT: the page's values
	bssN, bssAt int    // their count, and the next one's index
	idx         rleReader
	delta       deltaReader
	pageNonNull int
	wantNonNull int

	dict      []int64 // the dictionary, converted once a data page uses it
	seen      bool    // a dictionary page was read
	converted bool    // dict is converted
	buf       []uint32
}

// numCursorFor reports whether row group rg's chunk of role is decoded by a
// numCursor rather than by parquet-go.
func (f *File) numCursorFor(role int) bool {
	switch f.cols[role].kind {
	case kInt64, kUint64, kTsMillis, kTsMicros, kTsNanos:
		return role != roleContentID && !f.sharesColumn(role)
	}
	return false
}

func (c *numCursor) reset(f *File, role, rg int, z *lazyChunk) {
	*c = numCursor{f: f, role: role, rg: rg, chunk: z, optional: f.cols[role].optional, kind: f.cols[role].kind,
		dict: c.dict[:0], buf: c.buf[:0]}
}

// errf returns an error naming the page being decoded.
func (c *numCursor) errf(row int64, format string, args ...any) error {
	pg := &c.chunk.pages[c.next-1]
	return c.f.errf(c.role, c.rg, row, "%s: %s", pg.where(), fmt.Sprintf(format, args...))
}

// walkTo has page k of a streamed chunk walked; it reports false when the
// chunk has fewer pages.
func (c *numCursor) walkTo(k int) (bool, error) {
	z := c.chunk
	for k >= len(z.pages) {
		if z.err != nil {
			return false, z.err
		}
		if z.walk.done || z.walk.f == nil {
			return false, nil
		}
		if err := z.walkPage(); err != nil {
			z.err = err
			return false, err
		}
	}
	return true, nil
}

// payload returns page k's uncompressed bytes, checked by checkPage (and
// its CRC when the chunk was not rewritten: walkChunk checked those it
// rewrote, and the pages it did not rewrite by checkPage).
func (c *numCursor) payload(k int) ([]byte, error) {
	pg := &c.chunk.pages[k]
	if !c.f.cols[c.role].rewrite {
		if err := checkCRC(&pg.hdr, pg.body); err != nil {
			return nil, err
		}
		return c.chunk.payload(k, false)
	}
	return c.chunk.payload(k, true)
}

// appendValues appends the next n rows to *out and their validity to
// *valid (null rows hold 0).
func (c *numCursor) appendValues(out *[]int64, valid *[]bool, firstRow int64, n int) error {
	for n > 0 {
		if c.left == 0 {
			if err := c.nextPage(firstRow); err != nil {
				return err
			}
			continue
		}
		k := min(n, c.left)
		if err := c.decode(out, valid, firstRow, k); err != nil {
			return err
		}
		c.left -= k
		c.rows += k
		n -= k
		if c.left == 0 && c.pageNonNull != c.wantNonNull {
			return c.errf(-1, "the page holds %d non-null values, its levels say %d", c.pageNonNull, c.wantNonNull)
		}
	}
	return nil
}

// finish reads the pages after the last row (they may hold no values) and
// checks that the chunk holds no more.
func (c *numCursor) finish(firstRow int64) error {
	for c.left == 0 {
		ok, err := c.walkTo(c.next)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := c.nextPage(firstRow); err != nil {
			return err
		}
	}
	if c.left != 0 {
		return c.f.errf(c.role, c.rg, -1, "the column holds more values than the row group's %d rows", c.rows)
	}
	return c.chunk.finishWalk()
}

// advance moves to the chunk's next page, walking it first if the chunk
// is streamed, and returns its header and payload, checked; ok is false
// past the last page. A page that is neither a dictionary nor a data page
// is an error, as parquet-go makes it (walkPage lets it through).
func (c *numCursor) advance() (h *format.PageHeader, data []byte, ok bool, err error) {
	if ok, err = c.walkTo(c.next); err != nil || !ok {
		return nil, nil, false, err
	}
	k := c.next
	c.next++
	h = &c.chunk.pages[k].hdr
	if data, err = c.payload(k); err != nil {
		return nil, nil, false, c.errf(-1, "%v", err)
	}
	switch h.Type {
	case format.DictionaryPage, format.DataPage, format.DataPageV2:
		return h, data, true, nil
	}
	return nil, nil, false, c.errf(-1, "a page of type %s where data pages were expected", h.Type)
}

// nextPage reads the dictionary page, or sets up the next data page.
func (c *numCursor) nextPage(firstRow int64) error {
	h, data, ok, err := c.advance()
	if err != nil {
		return err
	}
	if !ok {
		return c.f.errf(c.role, c.rg, -1, "the column holds %d values, fewer than the row group's rows", c.rows)
	}
	if h.Type == format.DictionaryPage {
		return c.readDictionary(data, int(h.DictionaryPageHeader.V.NumValues))
	}
	defs, vals, nv, err := splitPage(h, data, c.optional)
	if err != nil {
		return c.errf(-1, "%v", err)
	}
	nonNull := nv
	if c.optional {
		if nonNull, err = countLevels(defs, nv); err != nil {
			return c.errf(-1, "definition levels: %v", err)
		}
		c.defs = rleReader{data: defs, width: 1}
	}
	c.pageNonNull, c.wantNonNull = 0, nonNull
	switch h.Type {
	case format.DataPage:
		c.enc = h.DataPageHeader.V.Encoding
	default:
		c.enc = h.DataPageHeaderV2.V.Encoding
	}
	switch {
	case c.enc == format.Plain:
		if len(vals) != nonNull*8 {
			return c.errf(-1, "%d PLAIN values need %d bytes, the page has %d", nonNull, nonNull*8, len(vals))
		}
		c.plain = vals
	case c.enc == format.ByteStreamSplit:
		if len(vals) != nonNull*8 {
			return c.errf(-1, "%d BYTE_STREAM_SPLIT values need %d bytes, the page has %d", nonNull, nonNull*8, len(vals))
		}
		c.bss, c.bssN, c.bssAt = vals, nonNull, 0
	case c.enc == format.DeltaBinaryPacked:
		if err := c.delta.reset(vals, format.Int64, nonNull); err != nil {
			return c.errf(-1, "DELTA_BINARY_PACKED values: %v", err)
		}
	case isDictEncoding(c.enc):
		if !c.seen {
			return c.errf(-1, "dictionary-encoded page without a dictionary page")
		}
		if err := c.convertDictionary(); err != nil {
			return err
		}
		if nonNull == 0 {
			c.idx = rleReader{}
			break
		}
		if len(vals) == 0 || vals[0] > 32 {
			return c.errf(-1, "dictionary indexes without a valid bit width")
		}
		c.idx = rleReader{data: vals[1:], width: int(vals[0])}
	default:
		return c.errf(-1, "values encoded as %s, not supported for INT64", c.enc)
	}
	c.left = nv
	return nil
}

// readDictionary keeps a PLAIN INT64 dictionary page's values.
func (c *numCursor) readDictionary(data []byte, n int) error {
	if c.seen {
		return c.errf(-1, "a second dictionary page")
	}
	c.seen = true
	if len(data) != n*8 {
		return c.errf(-1, "%d dictionary values need %d bytes, the page has %d", n, n*8, len(data))
	}
	c.dict = slices.Grow(c.dict[:0], n)[:n]
	for i := range c.dict {
		c.dict[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return nil
}

// convertDictionary converts the dictionary's values, once, when the
// first data page of dictionary indexes is reached: a dictionary no page
// uses (a writer's fallback to PLAIN) is not converted, nor is an
// unconvertible value in it an error, as through parquet-go.
func (c *numCursor) convertDictionary() error {
	if c.converted {
		return nil
	}
	c.converted = true
	for i, x := range c.dict {
		v, err := c.kind.fromInt64(x)
		if err != nil {
			return c.errf(-1, "dictionary value %d: %v", i, err)
		}
		c.dict[i] = v
	}
	return nil
}

// decode appends k rows of the current page to *out and *valid.
func (c *numCursor) decode(out *[]int64, valid *[]bool, firstRow int64, k int) error {
	base := len(*out)
	*out = slices.Grow(*out, k)[:base+k]
	*valid = slices.Grow(*valid, k)[:base+k]
	o, v := (*out)[base:], (*valid)[base:]
	nonNull := k
	vals := o // a required column's values go straight to out
	if c.optional {
		if cap(c.buf) < k {
			c.buf = make([]uint32, k)
		}
		buf := c.buf[:k]
		var bad int
		var err error
		if nonNull, bad, err = readLevels(&c.defs, buf); err != nil {
			return c.errf(firstRow+int64(c.rows+bad), "%v", err)
		}
		for i, d := range buf {
			v[i] = d == 1
		}
		if nonNull > c.wantNonNull-c.pageNonNull {
			return c.errf(firstRow+int64(c.rows), "the page's levels hold more non-null values than counted")
		}
		vals = o[:nonNull] // moved to their rows below
	} else {
		for i := range v {
			v[i] = true
		}
	}
	// row returns the row of the i-th non-null value decoded here.
	row := func(i int) int64 { return firstRow + int64(c.rows+rowOf(c.buf[:k], c.optional, i)) }
	c.pageNonNull += nonNull
	switch {
	case isDictEncoding(c.enc):
		off := 0 // an optional column's levels are in c.buf[:k]
		if c.optional {
			off = k
		}
		if cap(c.buf) < off+nonNull {
			c.buf = slices.Grow(c.buf[:off], nonNull)
		}
		ix := c.buf[off : off+nonNull]
		if err := c.idx.read(ix); err != nil {
			return c.errf(firstRow+int64(c.rows), "dictionary indexes: %v", err)
		}
		dict := c.dict
		for i, x := range ix {
			if x >= uint32(len(dict)) {
				return c.errf(row(i), "dictionary index %d out of range (the dictionary has %d values)", x, len(dict))
			}
			vals[i] = dict[x]
		}
	case c.enc == format.Plain:
		p := c.plain[:nonNull*8]
		for i := range vals {
			vals[i] = int64(binary.LittleEndian.Uint64(p[8*i:]))
		}
		c.plain = c.plain[nonNull*8:]
	case c.enc == format.ByteStreamSplit:
		for i := range vals {
			var x uint64
			for j := range 8 {
				x |= uint64(c.bss[j*c.bssN+c.bssAt]) << (8 * j)
			}
			c.bssAt++
			vals[i] = int64(x)
		}
	default: // DELTA_BINARY_PACKED
		for i := range vals {
			x, err := c.delta.next()
			if err != nil {
				return c.errf(row(i), "DELTA_BINARY_PACKED values: %v", err)
			}
			vals[i] = x
		}
	}
	if !isDictEncoding(c.enc) && c.kind != kInt64 && c.kind != kTsMicros {
		for i, x := range vals {
			y, err := c.kind.fromInt64(x)
			if err != nil {
				return c.errf(row(i), "%v", err)
			}
			vals[i] = y
		}
	}
	if c.optional {
		// From the end: the j-th non-null value moves to a row i >= j.
		j := nonNull - 1
		for i := k - 1; i >= 0; i-- {
			if v[i] {
				o[i] = o[j]
				j--
			} else {
				o[i] = 0
			}
		}
	}
	return nil
}

// fromInt64 converts a value stored as INT64 to the Batch's int64: the
// integer itself, or a timestamp in microseconds since the epoch, floored.
// It fails as convert does.
func (k kind) fromInt64(x int64) (int64, error) {
	switch k {
	case kTsMillis:
		if x > maxMillis || x < minMillis {
			return 0, errRange
		}
		return x * 1000, nil
	case kTsNanos:
		return floorDiv1000(x), nil
	case kUint64:
		if x < 0 {
			return 0, fmt.Errorf("unsigned value %d does not fit in int64", uint64(x))
		}
	}
	return x, nil
}
