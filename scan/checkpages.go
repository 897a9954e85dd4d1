package scan

import (
	"fmt"

	"github.com/parquet-go/parquet-go/format"
)

// CheckPages walks the pages of one column chunk (its bytes, from its
// first page to the end of its last) and checks each page's header as
// the corpus scan does: a well-formed Thrift header, sizes that fit in
// the chunk and in the supported page size, the counts of a v2 page and
// the CRC32 when the page has one. The data pages must hold numValues
// values in all, the count the footer gives the chunk. In a repeated
// column (repeated), a v2 page's rows may be fewer than its values.
//
// It is for readers that then hand the chunk to another Parquet library:
// Arrow's column reader allocates whatever a page header claims and
// reads pages until the footer's count is reached, so a crafted header
// could make it allocate gigabytes or read past the chunk.
func CheckPages(chunk []byte, numValues int64, repeated bool) error {
	if numValues < 0 {
		return fmt.Errorf("the footer counts %d values", numValues)
	}
	var seen int64
	off := 0
	for k := 0; seen < numValues; k++ {
		if off >= len(chunk) {
			return fmt.Errorf("pages end after %d of the footer's %d values", seen, numValues)
		}
		h, n, err := readPageHeader(chunk[off:])
		if err != nil {
			return fmt.Errorf("page %d at byte %d: header: %w", k, off, err)
		}
		framed := h
		if v := h.DataPageHeaderV2.V; repeated && h.Type == format.DataPageV2 && v.NumRows >= 0 && v.NumRows <= v.NumValues {
			// checkPageFrame, written for flat columns, wants a row per value.
			framed.DataPageHeaderV2.V.NumRows = v.NumValues
		}
		if _, _, err := checkPageFrame(&framed, len(chunk)-off-n); err != nil {
			return fmt.Errorf("page %d at byte %d: %w", k, off, err)
		}
		body := chunk[off+n : off+n+int(h.CompressedPageSize)]
		if err := checkCRC(&h, body); err != nil {
			return fmt.Errorf("page %d at byte %d: %w", k, off, err)
		}
		var nv int64
		switch h.Type {
		case format.DataPage:
			nv = int64(h.DataPageHeader.V.NumValues)
		case format.DataPageV2:
			nv = int64(h.DataPageHeaderV2.V.NumValues)
			// Arrow reads an uncompressed v2 page's uncompressed size.
			if c := h.DataPageHeaderV2.V.IsCompressed; c.Valid && !c.V && h.CompressedPageSize != h.UncompressedPageSize {
				return fmt.Errorf("page %d at byte %d: uncompressed, but its sizes differ (%d and %d bytes)", k, off, h.CompressedPageSize, h.UncompressedPageSize)
			}
		case format.DictionaryPage:
		default:
			// Arrow skips other pages' headers but not their bytes.
			return fmt.Errorf("page %d at byte %d: a page of type %s (only data and dictionary pages are read)", k, off, h.Type)
		}
		if nv < 0 {
			return fmt.Errorf("page %d at byte %d: %d values", k, off, nv)
		}
		seen += nv
		off += n + int(h.CompressedPageSize)
	}
	if seen != numValues {
		return fmt.Errorf("pages hold %d values, the footer says %d", seen, numValues)
	}
	return nil
}

// CheckDeltaValues checks the values of a data page encoded with a delta
// encoding — vals, the page's decompressed bytes after its levels,
// holding nonNull values of a column of physical type t — by decoding
// them whole as the corpus scan does: DELTA_BINARY_PACKED (INT32, INT64)
// must hold exactly nonNull values, DELTA_LENGTH_BYTE_ARRAY and
// DELTA_BYTE_ARRAY (BYTE_ARRAY) nonNull lengths and the bytes they
// measure. For readers that hand the page to another library: Arrow's
// DELTA_BINARY_PACKED decoder answers a header counting fewer values than
// the page with no values and no error, on which its column reader loops
// for ever. Any other encoding is an error.
func CheckDeltaValues(enc format.Encoding, t format.Type, vals []byte, nonNull int) error {
	var err error
	switch {
	case enc == format.DeltaBinaryPacked && (t == format.Int32 || t == format.Int64):
		err = checkDelta(vals, t, nonNull, true)
	case (enc == format.DeltaLengthByteArray || enc == format.DeltaByteArray) && t == format.ByteArray:
		err = checkDeltaStrings(enc, vals, nonNull)
	default:
		return fmt.Errorf("values encoded as %s, not a delta encoding of %s", enc, t)
	}
	if err != nil {
		return fmt.Errorf("%s values: %w", enc, err)
	}
	return nil
}
