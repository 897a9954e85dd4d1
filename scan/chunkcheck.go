package scan

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/format"
)

// ChunkSpec describes a column chunk for CheckColumnChunk.
type ChunkSpec struct {
	// Codec is the chunk's compression.
	Codec format.CompressionCodec
	// Type is the column's physical type: INT32, INT64 or INT96.
	Type format.Type
	// Optional: the column is a top-level optional one (maximum definition
	// level 1); else required (0).
	Optional bool
	// Rows is the row group's row count: the data pages' values must add
	// up to it. The walk stops there, so chunk may run on past the chunk's
	// end (files of parquet-mr before 1.2.9 leave the dictionary page
	// header out of the chunk's size: callers pad, as ReadRowGroup does).
	Rows int64
}

// CheckColumnChunk verifies, page by page, that a column chunk of a flat
// INT32, INT64 or INT96 column holds what its page headers claim, for a
// reader that trusts them: Arrow's Go column reader (which reads the
// lookup tables) spins forever in ReadBatch on a page whose definition
// levels or values decode short, and does not verify checksums.
//
// It checks every page's CRC32 when it has one, decompresses each page
// into a buffer of exactly its header's size (at most MaxPageSize), and
// requires of each data page: definition levels
// (RLE runs, none empty) for all its values; PLAIN values for every
// non-null one; dictionary indexes for every non-null value, each below
// the size of the chunk's dictionary, itself PLAIN and whole; or
// DELTA_BINARY_PACKED values that decode to at least that many. Other
// encodings, and BIT_PACKED levels, are refused. chunk is the chunk's
// bytes from its first page. Errors name the page and its offset.
func CheckColumnChunk(chunk []byte, c ChunkSpec) error {
	width := 0
	switch c.Type {
	case format.Int32:
		width = 4
	case format.Int64:
		width = 8
	case format.Int96:
		width = 12
	default:
		return fmt.Errorf("column chunk check: physical type %s not supported", c.Type)
	}
	if !codecSupported(c.Codec) {
		return fmt.Errorf("compression codec %s is not supported", c.Codec)
	}
	var (
		buf    []byte
		idx    [1024]uint32
		dictN  = -1 // values in the dictionary, -1 before a dictionary page
		values int64
	)
	for off, page := 0, 0; values < c.Rows; page++ {
		at := off // the page's header
		bad := func(format string, args ...any) error {
			return fmt.Errorf("page %d (offset %d in the column chunk): %s", page, at, fmt.Sprintf(format, args...))
		}
		if off >= len(chunk) {
			return fmt.Errorf("the column chunk's pages hold %d values but the row group has %d rows", values, c.Rows)
		}
		h, hl, err := readPageHeader(chunk[off:])
		if err != nil {
			return bad("header: %v", err)
		}
		size := int(h.CompressedPageSize)
		switch {
		case size < 0 || size > len(chunk)-off-hl:
			return bad("claims %d bytes but the column chunk has %d left", size, len(chunk)-off-hl)
		case h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageSize:
			return bad("claims %d bytes uncompressed (at most %d supported)", h.UncompressedPageSize, maxPageSize)
		}
		body := chunk[off+hl : off+hl+size]
		if err := checkCRC(&h, body); err != nil {
			return bad("%v", err)
		}

		// The page's uncompressed bytes (v2: levels as they are, then the
		// values, compressed unless the header says not).
		levels, compressed := 0, c.Codec != format.Uncompressed
		switch h.Type {
		case format.DataPage:
			if !h.DataPageHeader.Valid {
				return bad("data page without its header")
			}
		case format.DataPageV2:
			v := &h.DataPageHeaderV2.V
			if !h.DataPageHeaderV2.Valid {
				return bad("data page v2 without its header")
			}
			levels = int(v.DefinitionLevelsByteLength) + int(v.RepetitionLevelsByteLength)
			if v.DefinitionLevelsByteLength < 0 || v.RepetitionLevelsByteLength < 0 || levels > size || levels > int(h.UncompressedPageSize) {
				return bad("levels of %d+%d bytes in a page of %d", v.RepetitionLevelsByteLength, v.DefinitionLevelsByteLength, size)
			}
			if v.IsCompressed.Valid && !v.IsCompressed.V {
				compressed = false
			}
		case format.DictionaryPage:
			if !h.DictionaryPageHeader.Valid {
				return bad("dictionary page without its header")
			}
		default:
			off += hl + size
			continue // index pages: no values
		}
		data := body
		if compressed {
			n := int(h.UncompressedPageSize)
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			data = buf[:n]
			copy(data, body[:levels])
			if err := decompress(c.Codec, data[levels:], body[levels:]); err != nil {
				return bad("%v", err)
			}
		}
		off += hl + size

		if h.Type == format.DictionaryPage {
			d := &h.DictionaryPageHeader.V
			switch {
			case dictN >= 0:
				return bad("a second dictionary page")
			case d.Encoding != format.Plain && d.Encoding != format.PlainDictionary:
				return bad("dictionary encoded as %s", d.Encoding)
			case d.NumValues < 0 || int64(d.NumValues)*int64(width) > int64(len(data)):
				return bad("dictionary of %d values in %d bytes", d.NumValues, len(data))
			}
			dictN = int(d.NumValues)
			continue
		}

		var enc format.Encoding
		if h.Type == format.DataPage {
			enc = h.DataPageHeader.V.Encoding
			if c.Optional && h.DataPageHeader.V.DefinitionLevelEncoding != format.RLE {
				return bad("definition levels encoded as %s (only RLE is supported)", h.DataPageHeader.V.DefinitionLevelEncoding)
			}
		} else {
			enc = h.DataPageHeaderV2.V.Encoding
		}
		defs, vals, nv, err := splitPage(&h, data, c.Optional)
		if err != nil {
			return bad("%v", err)
		}
		if nv < 0 || int64(nv) > c.Rows-values {
			return bad("claims %d values; the row group has %d rows, %d of them in earlier pages", nv, c.Rows, values)
		}
		values += int64(nv)

		nonNull := nv
		if c.Optional {
			r := rleReader{data: defs, width: 1, strict: true}
			nonNull = 0
			for left := nv; left > 0; {
				k := min(left, len(idx))
				if err := r.read(idx[:k]); err != nil {
					return bad("definition levels: %v", err)
				}
				for _, l := range idx[:k] {
					nonNull += int(l)
				}
				left -= k
			}
			if h.Type == format.DataPageV2 && int(h.DataPageHeaderV2.V.NumNulls) != nv-nonNull {
				return bad("header says %d nulls, the definition levels %d", h.DataPageHeaderV2.V.NumNulls, nv-nonNull)
			}
		}
		if nonNull == 0 {
			continue
		}

		switch enc {
		case format.Plain:
			if int64(nonNull)*int64(width) > int64(len(vals)) {
				return bad("%d PLAIN values need %d bytes, the page has %d", nonNull, nonNull*width, len(vals))
			}
		case format.PlainDictionary, format.RLEDictionary:
			if dictN < 0 {
				return bad("dictionary indexes without a dictionary page")
			}
			if len(vals) == 0 || vals[0] > 32 {
				return bad("dictionary indexes without a valid bit width")
			}
			r := rleReader{data: vals[1:], width: int(vals[0]), strict: true}
			for left := nonNull; left > 0; {
				k := min(left, len(idx))
				if err := r.read(idx[:k]); err != nil {
					return bad("dictionary indexes: %v", err)
				}
				for _, i := range idx[:k] {
					if int(i) >= dictN {
						return bad("dictionary index %d, the dictionary has %d values", i, dictN)
					}
				}
				left -= k
			}
		case format.DeltaBinaryPacked:
			if err := checkDelta(vals, c.Type, nonNull); err != nil {
				return bad("DELTA_BINARY_PACKED values: %v", err)
			}
		default:
			return bad("values encoded as %s (not supported)", enc)
		}
	}
	return nil
}

// checkDelta requires DELTA_BINARY_PACKED data to hold at least n values
// and to decode. The header's value count is checked before decoding, so
// that it bounds what the decoder allocates.
func checkDelta(data []byte, t format.Type, n int) error {
	rest := data
	var hdr [3]uint64 // block size, miniblocks per block, value count
	for i := range hdr {
		v, k := binary.Uvarint(rest)
		if k <= 0 {
			return errors.New("header cut short")
		}
		hdr[i], rest = v, rest[k:]
	}
	if hdr[2] < uint64(n) {
		return fmt.Errorf("%d values for %d non-null rows", hdr[2], n)
	}
	if hdr[2] > uint64(maxPageSize) {
		return fmt.Errorf("claims %d values", hdr[2])
	}
	var e delta.BinaryPackedEncoding
	var got int
	switch t {
	case format.Int32:
		out, err := e.DecodeInt32(nil, data)
		if err != nil {
			return err
		}
		got = len(out)
	case format.Int64:
		out, err := e.DecodeInt64(nil, data)
		if err != nil {
			return err
		}
		got = len(out)
	default:
		return fmt.Errorf("not defined for %s", t)
	}
	if got < n {
		return fmt.Errorf("%d values decode for %d non-null rows", got, n)
	}
	return nil
}
