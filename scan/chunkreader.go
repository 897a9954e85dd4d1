package scan

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go/format"
)

// ChunkSpec describes a column chunk for a ChunkReader.
type ChunkSpec struct {
	// Codec is the chunk's compression.
	Codec format.CompressionCodec
	// Type is the column's physical type: INT32, INT64 or INT96.
	Type format.Type
	// Optional: the column is a top-level optional one (maximum definition
	// level 1); else required (0).
	Optional bool
	// Rows is the row group's row count: the data pages' values must add
	// up to it.
	Rows int64
	// Size is the chunk's size as its metadata gives it: pages must start
	// before it. Files of parquet-mr before 1.2.9 leave the dictionary
	// page header out of the size (PARQUET-816): for them callers pass the
	// chunk with up to 100 bytes more, and a first page that is a
	// dictionary page moves the limit by its header's length. Done
	// requires the pages after the last value and before the limit to
	// hold no more values. 0: the chunk's length.
	Size int64
}

// ChunkReader decodes the values of one column chunk of a flat INT32,
// INT64 or INT96 column, checking each page as it opens it, for the
// lookup tables: Arrow's Go column reader, which read them before, spins
// forever in ReadBatch on a page whose definition levels or values decode
// short, and verifies no checksums.
//
// Opening a page checks its CRC32 when it has one, decompresses it into a
// buffer of exactly its header's size (at most MaxPageSize), and requires
// of a data page: definition levels (RLE runs, none empty) for all its
// values; PLAIN values for every non-null one; dictionary indexes for
// every non-null value, each below the size of the chunk's dictionary,
// itself PLAIN and whole; or DELTA_BINARY_PACKED values, exactly as many
// as the non-null ones. Other encodings, and BIT_PACKED levels, are
// refused. Errors name the page and its offset in the chunk.
//
// The zero ChunkReader is ready for Reset; Reset reuses its buffers.
type ChunkReader struct {
	c      ChunkSpec
	width  int // bytes per PLAIN value
	chunk  []byte
	off    int   // the next page header
	limit  int   // pages start before it (ChunkSpec.Size)
	page   int   // the next page's index
	at     int   // the open page header's offset, for errors
	values int64 // values of the data pages opened so far
	read   int64 // values returned by Read
	buf    []byte
	dict   []byte // the dictionary's PLAIN values
	dictN  int    // values in the dictionary, -1 before a dictionary page

	// The open data page.
	left  int       // its values not returned yet
	defs  rleReader // its definition levels (optional columns)
	enc   format.Encoding
	plain []byte    // PLAIN values not returned yet
	idx   rleReader // dictionary indexes not returned yet
	delta deltaReader

	lv, iv [1024]uint32 // levels and indexes being decoded
}

// Reset starts reading chunk, the column chunk's bytes from its first
// page, as c describes it.
func (r *ChunkReader) Reset(chunk []byte, c ChunkSpec) error {
	width := 0
	switch c.Type {
	case format.Int32:
		width = 4
	case format.Int64:
		width = 8
	case format.Int96:
		width = 12
	default:
		return fmt.Errorf("column chunk reader: physical type %s not supported", c.Type)
	}
	if !codecSupported(c.Codec) {
		return fmt.Errorf("compression codec %s is not supported", c.Codec)
	}
	if c.Rows < 0 {
		return fmt.Errorf("negative row count %d", c.Rows)
	}
	limit := len(chunk)
	if c.Size > 0 && c.Size < int64(limit) {
		limit = int(c.Size)
	}
	*r = ChunkReader{c: c, width: width, chunk: chunk, limit: limit, dictN: -1,
		buf: r.buf[:0], dict: r.dict[:0]}
	return nil
}

// Read decodes the chunk's next len(valid) values, which must not be more
// than are left of Rows: valid[i] reports whether value i is not null;
// non-null INT32 and INT64 values go to ints[i] (INT32 sign-extended),
// INT96 ones to i96[i]. ints (or i96) must be as long as valid.
func (r *ChunkReader) Read(ints []int64, i96 [][12]byte, valid []bool) error {
	if int64(len(valid)) > r.c.Rows-r.read {
		return fmt.Errorf("column chunk reader: %d values asked, %d left", len(valid), r.c.Rows-r.read)
	}
	for len(valid) > 0 {
		if r.left == 0 {
			if err := r.openPage(); err != nil {
				return err
			}
			continue
		}
		k := min(len(valid), r.left, len(r.lv))
		if err := r.decode(ints, i96, valid[:k]); err != nil {
			return r.errorf("%v", err)
		}
		r.left -= k
		r.read += int64(k)
		valid = valid[k:]
		if ints != nil {
			ints = ints[k:]
		}
		if i96 != nil {
			i96 = i96[k:]
		}
	}
	return nil
}

// decode decodes the open page's next len(valid) values (at most
// len(r.lv)); openPage has checked that they are there.
func (r *ChunkReader) decode(ints []int64, i96 [][12]byte, valid []bool) error {
	k := len(valid)
	nonNull := k
	if r.c.Optional {
		if err := r.defs.read(r.lv[:k]); err != nil {
			return fmt.Errorf("definition levels: %v", err)
		}
		nonNull = 0
		for i, l := range r.lv[:k] {
			valid[i] = l == 1
			nonNull += int(l)
		}
	} else {
		for i := range valid {
			valid[i] = true
		}
	}
	if nonNull == 0 {
		return nil
	}
	switch r.enc {
	case format.Plain:
		for i, ok := range valid {
			if ok {
				r.put(ints, i96, i, r.plain)
				r.plain = r.plain[r.width:]
			}
		}
	case format.PlainDictionary, format.RLEDictionary:
		ix := r.iv[:nonNull]
		if err := r.idx.read(ix); err != nil {
			return fmt.Errorf("dictionary indexes: %v", err)
		}
		j := 0
		for i, ok := range valid {
			if ok {
				r.put(ints, i96, i, r.dict[int(ix[j])*r.width:])
				j++
			}
		}
	case format.DeltaBinaryPacked:
		for i, ok := range valid {
			if ok {
				v, err := r.delta.next()
				if err != nil {
					return fmt.Errorf("DELTA_BINARY_PACKED values: %v", err)
				}
				ints[i] = v
			}
		}
	}
	return nil
}

// put stores the PLAIN value at the start of b as value i.
func (r *ChunkReader) put(ints []int64, i96 [][12]byte, i int, b []byte) {
	switch r.width {
	case 4:
		ints[i] = int64(int32(binary.LittleEndian.Uint32(b)))
	case 8:
		ints[i] = int64(binary.LittleEndian.Uint64(b))
	default:
		copy(i96[i][:], b[:12])
	}
}

// Done checks, once Rows values are read, that the pages after the last
// value and before Size hold no more values.
func (r *ChunkReader) Done() error {
	if r.read != r.c.Rows {
		return fmt.Errorf("column chunk reader: %d of %d values read", r.read, r.c.Rows)
	}
	for r.off < r.limit {
		r.at = r.off
		r.page++
		h, hl, err := readPageHeader(r.chunk[r.off:])
		if err != nil {
			return r.errorf("after the row group's last value: header: %v", err)
		}
		size := int(h.CompressedPageSize)
		switch {
		case h.Type == format.DataPage && (!h.DataPageHeader.Valid || h.DataPageHeader.V.NumValues != 0),
			h.Type == format.DataPageV2 && (!h.DataPageHeaderV2.Valid || h.DataPageHeaderV2.V.NumValues != 0):
			return r.errorf("the column chunk holds more values than the row group has rows (%d)", r.c.Rows)
		case size < 0 || size > len(r.chunk)-r.off-hl:
			return r.errorf("claims %d bytes but the column chunk has %d left", size, len(r.chunk)-r.off-hl)
		}
		if err := checkCRC(&h, r.chunk[r.off+hl:r.off+hl+size]); err != nil {
			return r.errorf("%v", err)
		}
		r.off += hl + size
	}
	return nil
}

// errorf formats an error at the open page.
func (r *ChunkReader) errorf(format string, args ...any) error {
	return fmt.Errorf("page %d (offset %d in the column chunk): %s", r.page-1, r.at, fmt.Sprintf(format, args...))
}

// openPage opens the next data page, reading the dictionary page and
// skipping index pages on the way, and checks it whole.
func (r *ChunkReader) openPage() error {
	for {
		if r.values >= r.c.Rows {
			return fmt.Errorf("column chunk reader: no values left")
		}
		if r.off >= r.limit {
			return fmt.Errorf("the column chunk's pages hold %d values but the row group has %d rows", r.values, r.c.Rows)
		}
		r.at = r.off
		r.page++
		h, hl, err := readPageHeader(r.chunk[r.off:])
		if err != nil {
			return r.errorf("header: %v", err)
		}
		if r.off == 0 && h.Type == format.DictionaryPage && r.limit < len(r.chunk) {
			// PARQUET-816: the size left this header out (see ChunkSpec.Size).
			r.limit = min(r.limit+hl, len(r.chunk))
		}
		// levels: v2 bytes of levels before the (compressed) values.
		levels, plainValues, err := checkPageFrame(&h, len(r.chunk)-r.off-hl)
		if err != nil {
			return r.errorf("%v", err)
		}
		size := int(h.CompressedPageSize)
		body := r.chunk[r.off+hl : r.off+hl+size]
		if err := checkCRC(&h, body); err != nil {
			return r.errorf("%v", err)
		}
		r.off += hl + size

		// The page's uncompressed bytes (v2: levels as they are, then the
		// values, compressed unless the header says not).
		compressed := r.c.Codec != format.Uncompressed && !plainValues
		switch h.Type {
		case format.DataPage, format.DataPageV2, format.DictionaryPage:
		default:
			continue // index pages: no values
		}
		data := body
		if compressed {
			n := int(h.UncompressedPageSize)
			if cap(r.buf) < n {
				r.buf = make([]byte, n)
			}
			data = r.buf[:n]
			copy(data, body[:levels])
			if err := decompress(r.c.Codec, data[levels:], body[levels:]); err != nil {
				return r.errorf("%v", err)
			}
		}

		if h.Type == format.DictionaryPage {
			if err := r.readDictionary(&h.DictionaryPageHeader.V, data); err != nil {
				return r.errorf("%v", err)
			}
			continue
		}
		if err := r.openData(&h, data); err != nil {
			return r.errorf("%v", err)
		}
		if r.left > 0 {
			return nil
		}
	}
}

// readDictionary keeps a copy of the chunk's dictionary page's values.
func (r *ChunkReader) readDictionary(d *format.DictionaryPageHeader, data []byte) error {
	switch {
	case r.dictN >= 0:
		return errors.New("a second dictionary page")
	case d.Encoding != format.Plain && d.Encoding != format.PlainDictionary:
		return fmt.Errorf("dictionary encoded as %s", d.Encoding)
	case d.NumValues < 0 || int64(d.NumValues)*int64(r.width) > int64(len(data)):
		return fmt.Errorf("dictionary of %d values in %d bytes", d.NumValues, len(data))
	}
	r.dictN = int(d.NumValues)
	r.dict = append(r.dict[:0], data[:r.dictN*r.width]...)
	return nil
}

// openData checks a data page whole and sets up the readers of its levels
// and values.
func (r *ChunkReader) openData(h *format.PageHeader, data []byte) error {
	if h.Type == format.DataPage {
		r.enc = h.DataPageHeader.V.Encoding
		if r.c.Optional && h.DataPageHeader.V.DefinitionLevelEncoding != format.RLE {
			return fmt.Errorf("definition levels encoded as %s (only RLE is supported)", h.DataPageHeader.V.DefinitionLevelEncoding)
		}
	} else {
		r.enc = h.DataPageHeaderV2.V.Encoding
	}
	defs, vals, nv, err := splitPage(h, data, r.c.Optional)
	if err != nil {
		return err
	}
	if nv < 0 || int64(nv) > r.c.Rows-r.values {
		return fmt.Errorf("claims %d values; the row group has %d rows, %d of them in earlier pages", nv, r.c.Rows, r.values)
	}

	nonNull := nv
	if r.c.Optional {
		lr := rleReader{data: defs, width: 1, strict: true}
		nonNull = 0
		for left := nv; left > 0; {
			k := min(left, len(r.lv))
			if err := lr.read(r.lv[:k]); err != nil {
				return fmt.Errorf("definition levels: %v", err)
			}
			for _, l := range r.lv[:k] {
				nonNull += int(l)
			}
			left -= k
		}
		if h.Type == format.DataPageV2 && !nullsAgree(h.DataPageHeaderV2.V.NumNulls, nv-nonNull) {
			return fmt.Errorf("header says %d nulls, the definition levels %d", h.DataPageHeaderV2.V.NumNulls, nv-nonNull)
		}
		r.defs = rleReader{data: defs, width: 1, strict: true}
	}

	if nonNull > 0 {
		switch r.enc {
		case format.Plain:
			if int64(nonNull)*int64(r.width) > int64(len(vals)) {
				return fmt.Errorf("%d PLAIN values need %d bytes, the page has %d", nonNull, nonNull*r.width, len(vals))
			}
			r.plain = vals
		case format.PlainDictionary, format.RLEDictionary:
			if r.dictN < 0 {
				return errors.New("dictionary indexes without a dictionary page")
			}
			if len(vals) == 0 || vals[0] > 32 {
				return errors.New("dictionary indexes without a valid bit width")
			}
			ir := rleReader{data: vals[1:], width: int(vals[0]), strict: true}
			for left := nonNull; left > 0; {
				k := min(left, len(r.iv))
				if err := ir.read(r.iv[:k]); err != nil {
					return fmt.Errorf("dictionary indexes: %v", err)
				}
				for _, i := range r.iv[:k] {
					if int(i) >= r.dictN {
						return fmt.Errorf("dictionary index %d, the dictionary has %d values", i, r.dictN)
					}
				}
				left -= k
			}
			r.idx = rleReader{data: vals[1:], width: int(vals[0]), strict: true}
		case format.DeltaBinaryPacked:
			if err := r.delta.reset(vals, r.c.Type, nonNull); err != nil {
				return fmt.Errorf("DELTA_BINARY_PACKED values: %v", err)
			}
		default:
			return fmt.Errorf("values encoded as %s (not supported)", r.enc)
		}
	}
	r.values += int64(nv)
	r.left = nv
	return nil
}
