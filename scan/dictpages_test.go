package scan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/rle"
)

// TestRLEReader decodes, in reads of random sizes, what parquet-go's
// encoder writes for runs and scattered values of every bit width.
func TestRLEReader(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	shapes := map[string]func(w, n int) []int32{
		"runs": func(w, n int) []int32 {
			out := make([]int32, 0, n)
			for len(out) < n {
				v := int32(r.Uint64() & (1<<w - 1))
				for range min(1+r.IntN(300), n-len(out)) {
					out = append(out, v)
				}
			}
			return out
		},
		"scattered": func(w, n int) []int32 {
			out := make([]int32, n)
			for i := range out {
				out[i] = int32(r.Uint64() & (1<<w - 1))
			}
			return out
		},
	}
	for _, w := range []int{0, 1, 2, 3, 7, 8, 9, 16, 17, 31} {
		for name, shape := range shapes {
			for _, n := range []int{1, 7, 8, 9, 1000, 100_003} {
				t.Run(fmt.Sprintf("w%d/%s/%d", w, name, n), func(t *testing.T) {
					want := shape(w, n)
					enc, err := (&rle.Encoding{BitWidth: w}).EncodeInt32(nil, want)
					if err != nil {
						t.Fatal(err)
					}
					rd := rleReader{data: enc, width: w}
					got := make([]uint32, 0, n)
					for len(got) < n {
						k := min(1+r.IntN(70_000), n-len(got))
						buf := make([]uint32, k)
						if err := rd.read(buf); err != nil {
							t.Fatalf("after %d values: %v", len(got), err)
						}
						got = append(got, buf...)
					}
					for i := range want {
						if got[i] != uint32(want[i]) {
							t.Fatalf("value %d: %d, want %d", i, got[i], want[i])
						}
					}
					// Asking for more than was written is an error (or the
					// padding of the last bit-packed group), never a panic.
					_ = rd.read(make([]uint32, 9))
				})
			}
		}
	}
}

// TestRLEReaderMalformed: cut or inconsistent runs are errors.
func TestRLEReaderMalformed(t *testing.T) {
	cases := []struct {
		name  string
		data  []byte
		width int
		n     int
	}{
		{"empty", nil, 3, 1},
		{"header only", []byte{0x10}, 8, 1},
		{"unterminated varint", []byte{0xff, 0xff}, 3, 1},
		{"empty RLE run", []byte{0x00, 0x01}, 3, 1},
		{"RLE value too wide", []byte{0x04, 0x09}, 3, 1},
		{"RLE run too short", []byte{0x04, 0x01}, 3, 3},
		{"bit-packed run cut", []byte{0x03}, 3, 1},
		{"bit-packed run too short", []byte{0x03, 0xff, 0xff, 0xff}, 3, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rd := rleReader{data: slices.Clone(c.data), width: c.width}
			if err := rd.read(make([]uint32, c.n)); err == nil {
				t.Errorf("%x (width %d): %d values read without an error", c.data, c.width, c.n)
			}
		})
	}
}
