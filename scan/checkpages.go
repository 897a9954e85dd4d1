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
