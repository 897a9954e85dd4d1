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
	var proto thrift.CompactProtocol
	for off, page := 0, 0; off < len(chunk); page++ {
		hl, err := checkThrift(chunk[off:])
		if err != nil {
			return nil
		}
		var h format.PageHeader
		if err := thrift.NewDecoder(proto.NewReaderFromBytes(chunk[off : off+hl])).Decode(&h); err != nil {
			return nil
		}
		size := int(h.CompressedPageSize)
		if size < 0 || size > len(chunk)-off-hl {
			return nil
		}
		body := chunk[off+hl : off+hl+size]
		if h.CRC != 0 {
			if got := crc32.ChecksumIEEE(body); got != uint32(h.CRC) {
				return fmt.Errorf("page %d (offset %d in the column chunk): checksum mismatch: the header says %08x, the page's bytes give %08x", page, off, uint32(h.CRC), got)
			}
		}
		off += hl + size
	}
	return nil
}
