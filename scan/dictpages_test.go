package scan

import (
	"encoding/binary"
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
		{"only an empty RLE run", []byte{0x00, 0x01}, 3, 1},
		{"only an empty bit-packed run", []byte{0x01}, 3, 1},
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

// TestCheckRuns: RLE runs claiming more values than the page holds are
// refused before parquet-go's decoder sizes its output by them; padded
// bit-packed runs, whose bytes are there, and cut runs are not.
func TestCheckRuns(t *testing.T) {
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	cases := []struct {
		name  string
		data  []byte
		width int
		limit int
		ok    bool
	}{
		{"exact RLE run", append(uv(5<<1), 7), 3, 5, true},
		{"a bit-packed group padding 3 values to 8", append(uv(1<<1|1), 0, 0, 0), 3, 3, true},
		{"bit-packed levels padded to 256 for a page of 8 (DuckDB)", slices.Concat(uv(6<<1), []byte{1}, uv(32<<1|1), make([]byte, 32)), 1, 8, true},
		{"RLE run of a billion", append(uv(1<<30<<1), 1), 3, 100, false},
		{"RLE runs adding up past the page", slices.Concat(uv(60<<1), []byte{1}, uv(60<<1), []byte{2}), 3, 100, false},
		{"RLE run of a billion after bit-packed runs", slices.Concat(uv(1<<1|1), []byte{0, 0, 0}, uv(1<<30<<1), []byte{1}), 3, 100, false},
		{"bit-packed run cut short", append(uv(1<<20<<1|1), 0xff), 3, 100, true},
		{"cut RLE run", uv(5 << 1), 3, 5, true},
		{"empty", nil, 3, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := checkRuns(c.data, c.width, c.limit); (err == nil) != c.ok {
				t.Errorf("checkRuns(%x, width %d, limit %d) = %v, want ok %t", c.data, c.width, c.limit, err, c.ok)
			}
		})
	}
}
