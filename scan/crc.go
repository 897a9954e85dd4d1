package scan

import (
	"fmt"
	"hash/crc32"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// readPageHeader decodes the page header at the start of b and returns it
// with its length in bytes.
func readPageHeader(b []byte) (h format.PageHeader, n int, err error) {
	n, err = checkThrift(b)
	if err != nil {
		return h, 0, err
	}
	var proto thrift.CompactProtocol
	err = thrift.NewDecoder(proto.NewReaderFromBytes(b[:n])).Decode(&h)
	return h, n, err
}

// checkCRC verifies a page's body against its header's CRC32, if any.
func checkCRC(h *format.PageHeader, body []byte) error {
	if h.CRC == 0 {
		return nil
	}
	if got := crc32.ChecksumIEEE(body); got != uint32(h.CRC) {
		return fmt.Errorf("checksum mismatch: the header says %08x, the page's bytes give %08x", uint32(h.CRC), got)
	}
	return nil
}

// checkPageFrame checks what a page header says of the page's layout, for
// a page whose header is followed by left bytes of its column chunk: its
// sizes, the header of its type, and for a v2 data page the consistency
// of its counts and level lengths. It returns the v2 page's bytes of
// levels (stored before its values, never compressed; 0 otherwise) and
// whether its values are stored uncompressed whatever the chunk's codec
// (a v2 page may say so). The corpus scan (walkChunk) and the lookup
// tables' reader (ChunkReader) both check pages this way.
func checkPageFrame(h *format.PageHeader, left int) (levels int, uncompressed bool, err error) {
	switch {
	case h.CompressedPageSize < 0 || int(h.CompressedPageSize) > left:
		return 0, false, fmt.Errorf("claims %d bytes but the column chunk has %d left", h.CompressedPageSize, left)
	case h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageSize:
		return 0, false, fmt.Errorf("claims %d bytes uncompressed (at most %d supported)", h.UncompressedPageSize, maxPageSize)
	}
	switch h.Type {
	case format.DataPage:
		if !h.DataPageHeader.Valid {
			return 0, false, fmt.Errorf("data page without its header")
		}
	case format.DataPageV2:
		v := &h.DataPageHeaderV2.V
		if !h.DataPageHeaderV2.Valid {
			return 0, false, fmt.Errorf("data page v2 without its header")
		}
		lv := int64(v.DefinitionLevelsByteLength) + int64(v.RepetitionLevelsByteLength)
		if v.NumRows != v.NumValues || v.NumNulls < 0 || v.NumNulls > v.NumValues ||
			v.DefinitionLevelsByteLength < 0 || v.RepetitionLevelsByteLength < 0 ||
			lv > int64(h.CompressedPageSize) || lv > int64(h.UncompressedPageSize) {
			return 0, false, fmt.Errorf("inconsistent data page v2 header (values %d, rows %d, nulls %d, level bytes %d+%d, page %d/%d bytes)",
				v.NumValues, v.NumRows, v.NumNulls, v.RepetitionLevelsByteLength, v.DefinitionLevelsByteLength,
				h.CompressedPageSize, h.UncompressedPageSize)
		}
		return int(lv), v.IsCompressed.Valid && !v.IsCompressed.V, nil
	case format.DictionaryPage:
		if !h.DictionaryPageHeader.Valid {
			return 0, false, fmt.Errorf("dictionary page without its header")
		}
	}
	return 0, false, nil
}
