package scan

import (
	"fmt"
	"hash/crc32"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// CheckPageChecksums verifies the CRC32 of every page of a column chunk
// that carries one. chunk is the chunk's bytes, from its first page (the
// dictionary page, if any). It is for readers that do not check page
// checksums themselves (Arrow's Go reader, which reads the lookup tables,
// does not). It checks checksums only: a header it cannot parse, or a page
// that runs past the chunk, ends the walk without an error, and is left to
// the reader to judge (files of old parquet-mr versions leave the
// dictionary page header out of the chunk's size).
func CheckPageChecksums(chunk []byte) error {
	for off, page := 0, 0; off < len(chunk); page++ {
		h, hl, err := readPageHeader(chunk[off:])
		if err != nil {
			return nil
		}
		size := int(h.CompressedPageSize)
		if size < 0 || size > len(chunk)-off-hl {
			return nil
		}
		if err := checkCRC(&h, chunk[off+hl:off+hl+size]); err != nil {
			return fmt.Errorf("page %d (offset %d in the column chunk): %w", page, off, err)
		}
		off += hl + size
	}
	return nil
}

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
