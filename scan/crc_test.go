package scan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/format"
)

// TestChunkReaderRealFile: the int64 chunks of a file written by
// parquet-go (optional columns, dictionary and PLAIN pages, Snappy, a CRC
// on every page) decode with a ChunkReader; a changed byte in a page body is
// named as a checksum mismatch, and a chunk cut short is an error.
func TestChunkReaderRealFile(t *testing.T) {
	data := validFile(t)
	m, _ := footerOf(t, data)
	for _, name := range []string{"author_id", "created_at"} {
		for rg := range m.RowGroups {
			md := &m.RowGroups[rg].Columns[leafIndex(t, data, name)].MetaData
			spec := ChunkSpec{Codec: md.Codec, Type: md.Type, Optional: true, Rows: m.RowGroups[rg].NumRows}
			if md.Type != format.Int64 {
				t.Fatalf("%s: type %s, want INT64", name, md.Type)
			}
			start, n := chunkOf(t, data, rg, name)
			chunk := data[start : start+n]
			if _, _, err := readChunk(chunk, spec, 1000); err != nil {
				t.Fatalf("%s, row group %d, intact: %v", name, rg, err)
			}
			bad := bytes.Clone(chunk)
			bad[len(bad)-1] ^= 1
			if _, _, err := readChunk(bad, spec, 1000); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
				t.Fatalf("%s, row group %d, changed byte: %v, want a checksum mismatch", name, rg, err)
			}
			if _, _, err := readChunk(chunk[:len(chunk)-3], spec, 1000); err == nil || !strings.Contains(err.Error(), "column chunk has") {
				t.Fatalf("%s, row group %d, cut short: %v, want an error", name, rg, err)
			}
		}
	}
}
