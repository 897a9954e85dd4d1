package scan

import (
	"testing"

	"github.com/parquet-go/parquet-go/format"
)

// TestDecompressEmptyPage: a page claiming 0 bytes uncompressed decodes
// from an empty or one-token LZ4 block and is refused with anything
// longer, with an error rather than a crash (pierrec/lz4's assembly
// dereferenced the empty output; found by FuzzChunkReader).
func TestDecompressEmptyPage(t *testing.T) {
	for _, codec := range []format.CompressionCodec{format.Lz4Raw, format.Lz4} {
		for _, tc := range []struct {
			src []byte
			ok  bool
		}{
			{nil, true},
			{[]byte{0}, true},
			{[]byte{0x13, 0xb3, 0x9f, 0xf3}, false},
			// This one crashed pierrec/lz4 (nil pointer in its assembly).
			{[]byte{0x97, 0x8e, 0xa3, 0x4d, 0xde, 0x53, 0xde, 0x7b, 0xa6, 0x8a, 0x74, 0x99, 0xe4, 0x3c, 0xb4, 0x29, 0x92, 0x52}, false},
			{[]byte{0, 0, 0, 0, 0, 0, 0, 2, 0x10, 0x41}, false}, // one Hadoop frame of 0 bytes holding a 2-byte block
		} {
			err := decompress(codec, nil, tc.src)
			if (err == nil) != tc.ok {
				t.Errorf("%s %x into an empty page: %v, want ok %v", codec, tc.src, err, tc.ok)
			}
		}
	}
}
