package findings

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/compress"
)

// TestCachedZstdSameBytes checks that the cached zstd codec writes the
// very bytes Arrow's own codec writes for pages up to its window, and for
// larger ones frames that Arrow's codec decodes.
func TestCachedZstdSameBytes(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(cachedZstd); !ok || arrowZstd == nil {
		t.Fatalf("zstd codec is %T, want cachedZstd", c)
	}
	var text bytes.Buffer
	for i := 0; text.Len() < 3<<20; i++ {
		fmt.Fprintf(&text, "row %d s3://corpus/2026-06-01/part-%03d.parquet %x\n", i, i%17, i*i*7919)
	}
	inputs := map[string][]byte{
		"empty":      {},
		"short":      []byte("minor"),
		"text 3 MiB": text.Bytes(),
		"zeros":      make([]byte, 1<<20),
	}
	for name, src := range inputs {
		for _, level := range []int{compress.DefaultCompressionLevel, 1, 3, 9} {
			t.Run(fmt.Sprintf("%s/level %d", name, level), func(t *testing.T) {
				want := arrowZstd.EncodeLevel(nil, src, level)
				for i := 0; i < 2; i++ { // the second time from the cached encoder
					got := c.EncodeLevel(nil, src, level)
					if len(src) <= zstdWindow && !bytes.Equal(got, want) {
						t.Fatalf("call %d: %d bytes differ from Arrow's %d", i, len(got), len(want))
					}
					if back := arrowZstd.Decode(make([]byte, len(src)), got); !bytes.Equal(back, src) {
						t.Fatalf("call %d: Arrow's codec does not give back the data", i)
					}
				}
				if got := c.Decode(make([]byte, len(src)), want); !bytes.Equal(got, src) {
					t.Fatal("round trip changed the data")
				}
			})
		}
	}
	page := text.Bytes()[:zstdWindow]
	if got, want := c.Encode(nil, page), arrowZstd.Encode(nil, page); !bytes.Equal(got, want) {
		t.Error("Encode differs from Arrow's")
	}
}
