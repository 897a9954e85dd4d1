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
