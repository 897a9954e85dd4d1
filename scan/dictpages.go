package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/parquet-go/parquet-go/format"
)

// dictCursor decodes a dictionary-encoded string column chunk a few rows
// at a time, for NextRows: parquet-go decodes a page's dictionary indexes
// all at once, and some writers (Arrow's among them) put a whole row
// group's indexes for a low-cardinality column in one page of a million.
// The cursor reads the indexes and definition levels straight from the
// page's bytes, as RLE/bit-packed runs, into the batch's codes.
//
// It is used only for chunks whose every page is a dictionary page or a
// data page (v1 with RLE levels, or v2) of dictionary indexes (see
// dictEligible); others go through parquet-go.
type dictCursor struct {
	f        *File
	role, rg int
	chunk    *lazyChunk
	optional bool

	next int // next page of chunk
	rows int // rows decoded, for errors

	// The current data page: rows left, its definition levels and
	// indexes, the non-null values read from it and (v2 pages) the
	// number its header gives, -1 if none.
	left        int
	defs        rleReader
	idx         rleReader
	pageNonNull int
	wantNonNull int

	remap []int32 // dictionary index -> code in the batch's Dict
	seen  bool    // a dictionary page was read
	buf   []uint32
}

// dictEligible reports whether the cursor can decode a column chunk: its
// pages (walkChunk) are a dictionary page and data pages of dictionary
// indexes with RLE definition levels (or v2 pages).
func dictEligible(z *lazyChunk) bool {
	if len(z.pages) == 0 {
		return false
	}
	for k := range z.pages {
		h := &z.pages[k].hdr
		switch h.Type {
		case format.DictionaryPage:
			if e := h.DictionaryPageHeader.V.Encoding; k != 0 || e != format.Plain && e != format.PlainDictionary {
				return false
			}
		case format.DataPage:
			v := &h.DataPageHeader.V
			if !isDictEncoding(v.Encoding) || v.DefinitionLevelEncoding != format.RLE {
				return false
			}
		case format.DataPageV2:
			if !isDictEncoding(h.DataPageHeaderV2.V.Encoding) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func isDictEncoding(e format.Encoding) bool {
	return e == format.RLEDictionary || e == format.PlainDictionary
}

func (c *dictCursor) reset(f *File, role, rg int, z *lazyChunk) {
	*c = dictCursor{f: f, role: role, rg: rg, chunk: z, optional: f.cols[role].optional,
		remap: c.remap[:0], buf: c.buf[:0]}
}

// errf returns an error naming the page being decoded.
func (c *dictCursor) errf(row int64, format string, args ...any) error {
	pg := &c.chunk.pages[c.next-1]
	return c.f.errf(c.role, c.rg, row, "%s: %s", pg.where(), fmt.Sprintf(format, args...))
}

// payload returns page k's uncompressed bytes, checking its CRC when the
// chunk was not rewritten (walkChunk checked those it rewrote).
func (c *dictCursor) payload(k int) ([]byte, error) {
	pg := &c.chunk.pages[k]
	if !c.f.cols[c.role].rewrite {
		if err := checkCRC(&pg.hdr, pg.body); err != nil {
			return nil, err
		}
	}
	return c.chunk.payload(k, false) // checked here as it is read
}

// appendCodes appends the next n rows' codes (-1 for null) to s.Codes.
func (c *dictCursor) appendCodes(s *Strings, st *colState, firstRow int64, n int) error {
	for n > 0 {
		if c.left == 0 {
			if err := c.nextPage(s, st, firstRow); err != nil {
				return err
			}
			continue
		}
		k := min(n, c.left)
		if err := c.decode(s, firstRow, k); err != nil {
			return err
		}
		c.left -= k
		c.rows += k
		n -= k
		if c.left == 0 && c.wantNonNull >= 0 && c.pageNonNull != c.wantNonNull {
			return c.errf(-1, "the page holds %d non-null values, its header says %d", c.pageNonNull, c.wantNonNull)
		}
	}
	return nil
}

// finish checks that every page was read.
func (c *dictCursor) finish(s *Strings, st *colState, firstRow int64) error {
	for c.left == 0 && c.next < len(c.chunk.pages) {
		if err := c.nextPage(s, st, firstRow); err != nil {
			return err
		}
	}
	if c.left != 0 || c.next < len(c.chunk.pages) {
		return c.f.errf(c.role, c.rg, -1, "the column holds more values than the row group's %d rows", c.rows)
	}
	return nil
}

// nextPage reads the dictionary page, or sets up the next data page.
func (c *dictCursor) nextPage(s *Strings, st *colState, firstRow int64) error {
	if c.next >= len(c.chunk.pages) {
		return c.f.errf(c.role, c.rg, -1, "the column holds %d values, fewer than the row group's rows", c.rows)
	}
	k := c.next
	c.next++
	pg := &c.chunk.pages[k]
	data, err := c.payload(k)
	if err != nil {
		return c.errf(-1, "%v", err)
	}
	h := &pg.hdr
	if h.Type == format.DictionaryPage {
		return c.readDictionary(data, int(h.DictionaryPageHeader.V.NumValues), s, st)
	}
	if !c.seen {
		return c.errf(-1, "dictionary-encoded page without a dictionary page")
	}
	defs, vals, nv, err := splitPage(h, data, c.optional)
	if err != nil {
		return c.errf(-1, "%v", err)
	}
	c.pageNonNull, c.wantNonNull = 0, -1
	if h.Type == format.DataPageV2 && h.DataPageHeaderV2.V.NumNulls != 0 {
		// walkChunk checked that 0 <= NumNulls <= NumValues. A count of 0
		// is not checked (see nullsAgree).
		c.wantNonNull = int(h.DataPageHeaderV2.V.NumValues - h.DataPageHeaderV2.V.NumNulls)
	}
	if c.optional {
		c.defs = rleReader{data: defs, width: 1}
	}
	if len(vals) == 0 {
		if nv > 0 && !c.optional {
			return c.errf(-1, "no dictionary indexes for %d values", nv)
		}
		c.idx = rleReader{} // every value null, or none: checked as read
	} else {
		w := int(vals[0])
		if w > 32 {
			return c.errf(-1, "dictionary indexes of %d bits", w)
		}
		c.idx = rleReader{data: vals[1:], width: w}
	}
	c.left = nv
	return nil
}

// splitPage splits a data page's uncompressed payload into its definition
// levels (nil for a required column) and its values, and returns its value
// count. v1 levels are prefixed by their length; v2 levels are not, and
// repetition levels of a flat column, and definition levels of a required
// one, are skipped, as parquet-go skips them (some writers wrote them).
func splitPage(h *format.PageHeader, data []byte, optional bool) (defs, vals []byte, nv int, err error) {
	if h.Type == format.DataPageV2 {
		v := &h.DataPageHeaderV2.V
		r, d := int(v.RepetitionLevelsByteLength), int(v.DefinitionLevelsByteLength)
		if r < 0 || d < 0 || r+d > len(data) {
			return nil, nil, 0, fmt.Errorf("levels of %d+%d bytes in a page of %d", r, d, len(data))
		}
		// parquet-go skips levels a flat column cannot have only when
		// bytes follow them.
		if r > 0 && r >= len(data) || !optional && d > 0 && d >= len(data)-r {
			return nil, nil, 0, fmt.Errorf("levels the column cannot have (%d+%d bytes) and nothing after them", r, d)
		}
		if optional {
			defs = data[r : r+d]
		}
		return defs, data[r+d:], int(v.NumValues), nil
	}
	nv, vals = int(h.DataPageHeader.V.NumValues), data
	if optional {
		if len(data) < 4 {
			return nil, nil, 0, errors.New("definition levels cut short")
		}
		l := binary.LittleEndian.Uint32(data)
		if uint64(l) > uint64(len(data)-4) {
			return nil, nil, 0, fmt.Errorf("definition levels claim %d bytes, the page has %d", l, len(data)-4)
		}
		defs, vals = data[4:4+l], data[4+l:]
	}
	return defs, vals, nv, nil
}

// readDictionary interns a PLAIN BYTE_ARRAY dictionary page.
func (c *dictCursor) readDictionary(data []byte, n int, s *Strings, st *colState) error {
	if c.seen {
		return c.errf(-1, "a second dictionary page")
	}
	c.seen = true
	c.remap = c.remap[:0]
	if err := plainByteArrays(data, n, "dictionary values", func(v []byte) {
		c.remap = append(c.remap, st.intern(s, v))
	}); err != nil {
		return c.errf(-1, "%v", err)
	}
	return nil
}

// decode appends k rows of the current page's codes to s.Codes.
func (c *dictCursor) decode(s *Strings, firstRow int64, k int) error {
	base := len(s.Codes)
	s.Codes = slices.Grow(s.Codes, k)[:base+k]
	out := s.Codes[base:]
	if cap(c.buf) < k {
		c.buf = make([]uint32, k)
	}
	buf := c.buf[:k]
	nonNull := k
	if c.optional {
		var bad int
		var err error
		if nonNull, bad, err = readLevels(&c.defs, buf); err != nil {
			return c.errf(firstRow+int64(c.rows+bad), "%v", err)
		}
		for i, d := range buf {
			out[i] = int32(d) - 1 // -1: null; 0: a value, decoded below
		}
	}
	c.pageNonNull += nonNull
	vals := buf[:nonNull]
	if err := c.idx.read(vals); err != nil {
		return c.errf(firstRow+int64(c.rows), "dictionary indexes: %v", err)
	}
	remap := c.remap
	j := 0
	for i := range out {
		if c.optional && out[i] < 0 {
			continue
		}
		v := vals[j]
		j++
		if v >= uint32(len(remap)) {
			return c.errf(firstRow+int64(c.rows+i), "dictionary index %d out of range (the dictionary has %d values)", v, len(remap))
		}
		out[i] = remap[v]
	}
	return nil
}

// readLevels reads len(buf) definition levels of a flat optional column
// into buf and returns how many are 1. On error, bad is the index of the
// level above 1, or 0 when the levels could not be read.
func readLevels(r *rleReader, buf []uint32) (nonNull, bad int, err error) {
	if err := r.read(buf); err != nil {
		return 0, 0, fmt.Errorf("definition levels: %v", err)
	}
	for i, d := range buf {
		if d > 1 {
			return 0, i, fmt.Errorf("definition level %d (at most 1)", d)
		}
		nonNull += int(d)
	}
	return nonNull, 0, nil
}

// plainByteArrays calls fn with each of the n length-prefixed (PLAIN
// BYTE_ARRAY) values data must hold, and nothing after them; what names
// them in errors.
func plainByteArrays(data []byte, n int, what string, fn func(v []byte)) error {
	for i := range n {
		if len(data) < 4 {
			return fmt.Errorf("%s: value %d of %d cut short", what, i, n)
		}
		l := binary.LittleEndian.Uint32(data)
		if uint64(l) > uint64(len(data)-4) {
			return fmt.Errorf("%s: value %d claims %d bytes, %d left", what, i, l, len(data)-4)
		}
		if fn != nil {
			fn(data[4 : 4+l])
		}
		data = data[4+l:]
	}
	if len(data) != 0 {
		return fmt.Errorf("%s: %d bytes after the page's %d values", what, len(data), n)
	}
	return nil
}

// rleReader reads values of width bits from Parquet's RLE/bit-packed
// hybrid encoding, a few at a time.
type rleReader struct {
	data  []byte
	width int

	rle    int    // values left in the current RLE run
	value  uint32 // its value
	packed int    // values left in the current bit-packed run
	bit    int    // bit offset of the next packed value in data

	// strict refuses empty runs, which parquet-go skips (ChunkReader and
	// checkPage: no writer writes them, and Arrow's decoder, which read
	// the lookup tables before, stopped at them).
	strict bool
}

var errRLEShort = errors.New("runs end before the page's values do")

// read fills out with the next len(out) values.
func (r *rleReader) read(out []uint32) error {
	for len(out) > 0 {
		switch {
		case r.rle > 0:
			n := min(r.rle, len(out))
			for i := range out[:n] {
				out[i] = r.value
			}
			r.rle -= n
			out = out[n:]
		case r.packed > 0:
			n := min(r.packed, len(out))
			r.unpack(out[:n])
			r.packed -= n
			out = out[n:]
			if r.packed == 0 {
				// The run is whole groups of 8: skip to its end.
				r.data = r.data[(r.bit+7)/8:]
				r.bit = 0
			}
		default:
			if err := r.nextRun(); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextRun reads a run header.
func (r *rleReader) nextRun() error {
	h, n := binary.Uvarint(r.data)
	if n <= 0 {
		return errRLEShort
	}
	r.data = r.data[n:]
	if h>>1 == 0 && r.strict {
		return errors.New("an empty run")
	}
	if h&1 == 0 {
		// An empty run (count 0) is skipped, as parquet-go skips it.
		count := h >> 1
		nb := (r.width + 7) / 8
		if count > 1<<31 || len(r.data) < nb {
			return errRLEShort
		}
		var v uint32
		for i := range nb {
			v |= uint32(r.data[i]) << (8 * i)
		}
		if r.width < 32 && v>>r.width != 0 {
			return fmt.Errorf("RLE value %d wider than %d bits", v, r.width)
		}
		r.data = r.data[nb:]
		r.rle, r.value = int(count), v
		return nil
	}
	groups := h >> 1
	if groups > 1<<28 {
		return errors.New("oversized bit-packed run")
	}
	if groups == 0 {
		return nil // empty: skipped
	}
	// A final run may be cut short of its last group's bytes in files of
	// some writers; keep the values the bytes hold.
	have := uint64(len(r.data)) * 8
	want := groups * 8 * uint64(r.width)
	values := groups * 8
	if want > have {
		if r.width == 0 {
			return errRLEShort
		}
		values = have / uint64(r.width)
		if values == 0 {
			return errRLEShort
		}
	}
	r.packed, r.bit = int(values), 0
	if r.width == 0 {
		r.rle, r.value, r.packed = int(values), 0, 0
	}
	return nil
}

// unpack reads len(out) bit-packed values (LSB first) at r.bit.
func (r *rleReader) unpack(out []uint32) {
	w := uint(r.width)
	mask := uint64(1)<<w - 1
	data, bit := r.data, r.bit
	for i := range out {
		byteOff := bit >> 3
		shift := uint(bit & 7)
		var word uint64
		if byteOff+8 <= len(data) {
			word = binary.LittleEndian.Uint64(data[byteOff:])
		} else {
			var tmp [8]byte
			copy(tmp[:], data[byteOff:])
			word = binary.LittleEndian.Uint64(tmp[:])
		}
		out[i] = uint32(word >> shift & mask)
		bit += int(w)
	}
	r.bit = bit // (w <= 32: shift+w <= 39 bits fit in the word)
}

// checkRuns bounds what parquet-go's RLE/bit-packed decoder will expand:
// it sizes its output by the run headers, so a few bytes claiming RLE runs
// of a billion values cost gigabytes and seconds. data holds runs of width
// bits; their RLE runs may not add up to more than limit (a page's value
// count) plus 8. Bit-packed runs are bounded by their bytes, which must be
// there, and are not counted: writers pad them (DuckDB writes runs of 256
// levels for a page of 8). Cut runs are left to the decoder.
func checkRuns(data []byte, width int, limit int) error {
	total := uint64(0)
	max := uint64(limit) + 8
	for len(data) > 0 {
		h, n := binary.Uvarint(data)
		if n <= 0 {
			// parquet-go's decoder fails on it; the cursors, which stop
			// at the page's last value, would not see it.
			return errors.New("a run header cut short")
		}
		data = data[n:]
		skip := (h >> 1) * uint64(width) // a bit-packed run's bytes
		if h&1 == 0 {
			count := h >> 1
			if total += count; count > max || total > max {
				return fmt.Errorf("its runs hold more values than its %d", limit)
			}
			skip = uint64(width+7) / 8
		}
		if skip >= uint64(len(data)) {
			return nil
		}
		data = data[skip:]
	}
	return nil
}

// pageCheck is what checkPage needs to know of a page's column chunk.
type pageCheck struct {
	optional bool // the column's pages have definition levels (maximum 1)
	kind     kind // the column's
	dictN    int  // values in the chunk's dictionary page, -1 if it has none
}

// width is the size of one PLAIN value of a column of kind k, 0 for
// BYTE_ARRAY.
func (k kind) width() int {
	switch k {
	case kInt32, kUint32:
		return 4
	case kInt64, kUint64, kTsMillis, kTsMicros, kTsNanos:
		return 8
	case kInt96:
		return 12
	}
	return 0
}

// checkPage checks a page's uncompressed payload before parquet-go decodes
// it. parquet-go (v0.32.0) trusts a page to hold what its header says: it
// sizes its output by RLE run headers and DELTA value counts (a few bytes
// can cost gigabytes), and a page that decodes to fewer values than its
// header claims is padded — missing dictionary indexes read as index 0,
// missing PLAIN values from whatever its reused buffer held, a definition
// level above the maximum as a null that shifts every later value — all
// without an error.
//
// So a data page must hold exactly what its header claims: definition
// levels (RLE runs, none empty, each 0 or 1) for every value, and for the
// non-null ones exactly their PLAIN or BYTE_STREAM_SPLIT bytes, or their
// dictionary indexes (each below the dictionary's size), or DELTA values
// of exactly that count (lengths, for strings, within the page). A
// dictionary page must hold exactly its values, PLAIN. Pages with
// BIT_PACKED levels (no current writer) and other encodings are left to
// parquet-go.
func checkPage(h *format.PageHeader, data []byte, pc pageCheck) error {
	if h.Type == format.DictionaryPage {
		d := &h.DictionaryPageHeader.V
		if d.Encoding != format.Plain && d.Encoding != format.PlainDictionary {
			return fmt.Errorf("dictionary encoded as %s (want PLAIN)", d.Encoding)
		}
		return checkPlain(data, int(d.NumValues), pc.kind.width(), "dictionary values")
	}
	var enc format.Encoding
	switch h.Type {
	case format.DataPage:
		if !h.DataPageHeader.Valid {
			return nil // walkChunk refuses it
		}
		if e := h.DataPageHeader.V.DefinitionLevelEncoding; pc.optional && e != format.RLE {
			// parquet-go reads every v1 page's levels as RLE runs.
			return fmt.Errorf("definition levels encoded as %s (only RLE is supported)", e)
		}
		enc = h.DataPageHeader.V.Encoding
	case format.DataPageV2:
		if !h.DataPageHeaderV2.Valid {
			return nil
		}
		enc = h.DataPageHeaderV2.V.Encoding
	default:
		return nil
	}
	defs, vals, nv, err := splitPage(h, data, pc.optional)
	if err != nil {
		return err
	}
	nonNull := nv
	if pc.optional {
		if nonNull, err = countLevels(defs, nv); err != nil {
			return fmt.Errorf("definition levels: %v", err)
		}
		if h.Type == format.DataPageV2 && !nullsAgree(h.DataPageHeaderV2.V.NumNulls, nv-nonNull) {
			return fmt.Errorf("header says %d nulls, the definition levels %d", h.DataPageHeaderV2.V.NumNulls, nv-nonNull)
		}
	} else if h.Type == format.DataPageV2 && h.DataPageHeaderV2.V.NumNulls != 0 {
		// parquet-go decodes NumValues - NumNulls values of it.
		return fmt.Errorf("header says %d nulls in a column that has none", h.DataPageHeaderV2.V.NumNulls)
	}
	// After the count, whose errors say more of levels that end early.
	if err := checkRuns(defs, 1, nv); err != nil {
		return fmt.Errorf("definition levels: %w", err)
	}
	w := pc.kind.width()
	switch {
	case enc == format.Plain:
		return checkPlain(vals, nonNull, w, "PLAIN values")
	case enc == format.ByteStreamSplit && w > 0:
		if len(vals) != nonNull*w {
			return fmt.Errorf("%d BYTE_STREAM_SPLIT values need %d bytes, the page has %d", nonNull, nonNull*w, len(vals))
		}
	case isDictEncoding(enc):
		if pc.dictN < 0 {
			return errors.New("dictionary indexes without a dictionary page")
		}
		if len(vals) > 0 && vals[0] > 32 {
			// (parquet-go refuses the width even on a page of nulls.)
			return errors.New("dictionary indexes without a valid bit width")
		}
		if nonNull == 0 {
			return nil
		}
		if len(vals) == 0 {
			return errors.New("dictionary indexes without a valid bit width")
		}
		r := rleReader{data: vals[1:], width: int(vals[0]), strict: true}
		var iv [1024]uint32
		for left := nonNull; left > 0; {
			k := min(left, len(iv))
			if err := r.read(iv[:k]); err != nil {
				return fmt.Errorf("dictionary indexes: %v", err)
			}
			for _, i := range iv[:k] {
				if int(i) >= pc.dictN {
					return fmt.Errorf("dictionary index %d, the dictionary has %d values", i, pc.dictN)
				}
			}
			left -= k
		}
		if err := checkRuns(vals[1:], int(vals[0]), nv); err != nil {
			return fmt.Errorf("dictionary indexes: %w", err)
		}
	case enc == format.DeltaBinaryPacked && w > 0 && pc.kind != kInt96:
		t, _ := pc.kind.deltaType()
		if err := checkDelta(vals, t, nonNull, true); err != nil {
			return fmt.Errorf("DELTA_BINARY_PACKED values: %w", err)
		}
	case (enc == format.DeltaLengthByteArray || enc == format.DeltaByteArray) && w == 0:
		if err := checkDeltaStrings(enc, vals, nonNull); err != nil {
			return fmt.Errorf("%s values: %w", enc, err)
		}
	default:
		// parquet-go would decode, say, RLE integers (a boolean encoding)
		// into zeros without an error.
		return fmt.Errorf("values encoded as %s (not an encoding of this column's type)", enc)
	}
	return nil
}

// nullsAgree reports whether a v2 page header's null count agrees with its
// definition levels': equal, or 0 — arrow-go takes the count from the
// page's statistics, which it leaves out when statistics are off (and for
// INT96), so its header then says 0 whatever the levels; Arrow's and
// Spark's readers go by the levels, and so does everything here.
func nullsAgree(header int32, levels int) bool {
	return int(header) == levels || header == 0
}

// countLevels returns how many of the first n definition levels in data
// (RLE/bit-packed runs of 1-bit levels, as rleReader reads them strictly)
// are 1, counting bit-packed levels a byte at a time.
func countLevels(data []byte, n int) (int, error) {
	ones := 0
	for left := n; left > 0; {
		h, k := binary.Uvarint(data)
		if k <= 0 {
			return 0, errRLEShort
		}
		data = data[k:]
		if h>>1 == 0 {
			return 0, errors.New("an empty run")
		}
		if h&1 == 0 { // RLE: a count, then the level in one byte
			if h>>1 > 1<<31 || len(data) < 1 {
				return 0, errRLEShort
			}
			if data[0] > 1 {
				return 0, fmt.Errorf("RLE value %d wider than 1 bits", data[0])
			}
			take := int(min(h>>1, uint64(left)))
			ones += take * int(data[0])
			left -= take
			data = data[1:]
			continue
		}
		groups := h >> 1 // bit-packed: 8 levels a byte
		if groups > 1<<28 {
			return 0, errors.New("oversized bit-packed run")
		}
		nb := int(min(groups, uint64(len(data)))) // a final run may be cut short of its last bytes
		if nb == 0 {
			return 0, errRLEShort
		}
		take := min(nb*8, left)
		full := take / 8
		for _, b := range data[:full] {
			ones += bits.OnesCount8(b)
		}
		if r := take % 8; r > 0 {
			ones += bits.OnesCount8(data[full] & (1<<r - 1))
		}
		left -= take
		data = data[nb:]
	}
	return ones, nil
}

// checkPlain requires data to be exactly n PLAIN values of w bytes each,
// or, for w 0, n length-prefixed byte arrays.
func checkPlain(data []byte, n, w int, what string) error {
	if w > 0 {
		if int64(len(data)) != int64(n)*int64(w) {
			return fmt.Errorf("%d %s need %d bytes, the page has %d", n, what, int64(n)*int64(w), len(data))
		}
		return nil
	}
	return plainByteArrays(data, n, what, nil)
}

// deltaType is the type DELTA_BINARY_PACKED values of a column of kind k
// decode as, if they can.
func (k kind) deltaType() (format.Type, bool) {
	switch k {
	case kInt32, kUint32:
		return format.Int32, true
	case kInt64, kUint64, kTsMillis, kTsMicros, kTsNanos:
		return format.Int64, true
	}
	return 0, false
}
