package scan

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/format"
)

// deltaAll decodes n values with a deltaReader.
func deltaAll(data []byte, t format.Type, n int) ([]int64, error) {
	var d deltaReader
	if err := d.reset(data, t, n); err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		v, err := d.next()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// deltaCases are value sequences of both widths: one value, part of a
// miniblock, whole miniblocks and blocks, several blocks, extremes that
// wrap the deltas, and random values.
func deltaCases() map[string][]int64 {
	r := rand.New(rand.NewPCG(1, 2))
	seq := func(n int, f func(i int) int64) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	return map[string][]int64{
		"one":          {42},
		"two":          {-7, 7},
		"constant":     seq(1000, func(int) int64 { return 19000 }),
		"ascending 32": seq(32, func(i int) int64 { return int64(i) }),
		"ascending":    seq(129, func(i int) int64 { return int64(i * 3) }),
		"block":        seq(128, func(i int) int64 { return int64(i * i) }),
		"blocks":       seq(5003, func(i int) int64 { return int64(r.IntN(1 << 20)) }),
		"extremes":     {math.MinInt32, math.MaxInt32, 0, math.MinInt32, -1, math.MaxInt32},
		"random":       seq(777, func(i int) int64 { return int64(int32(r.Uint32())) }),
	}
}

// TestDeltaReader: values parquet-go's encoder wrote decode to themselves,
// as INT32 and as INT64 (with 64-bit extremes).
func TestDeltaReader(t *testing.T) {
	var e delta.BinaryPackedEncoding
	for name, vals := range deltaCases() {
		v32 := make([]int32, len(vals))
		for i, v := range vals {
			v32[i] = int32(v)
		}
		b32, err := e.EncodeInt32(nil, v32)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := deltaAll(b32, format.Int32, len(vals)); err != nil || !slices.Equal(got, vals) {
			t.Fatalf("%s, int32: %v %v", name, err, got)
		}
		v64 := slices.Clone(vals)
		if name == "extremes" {
			v64 = append(v64, math.MinInt64, math.MaxInt64, math.MinInt64)
		}
		b64, err := e.EncodeInt64(nil, v64)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := deltaAll(b64, format.Int64, len(v64)); err != nil || !slices.Equal(got, v64) {
			t.Fatalf("%s, int64: %v %v", name, err, got)
		}
	}
}

// TestDeltaReaderCut: a page cut anywhere decodes to its values (only the
// last miniblock's padding was cut) or is an error — never to other
// values, which parquet-go's decoder gives (it fills missing miniblocks
// with zeros).
func TestDeltaReaderCut(t *testing.T) {
	var e delta.BinaryPackedEncoding
	vals := []int64{1000, 5, 77777, 3, 9, 123456789, 42, 17}
	for i := 0; i < 300; i++ {
		vals = append(vals, int64(i*i%1001))
	}
	data, err := e.EncodeInt64(nil, vals)
	if err != nil {
		t.Fatal(err)
	}
	errs := 0
	for cut := 0; cut < len(data); cut++ {
		got, err := deltaAll(data[:cut], format.Int64, len(vals))
		if err != nil {
			errs++
			continue
		}
		if !slices.Equal(got, vals) {
			t.Fatalf("cut to %d of %d bytes: decoded other values without an error", cut, len(data))
		}
	}
	if errs == 0 {
		t.Fatal("no cut was an error")
	}
}

// TestDeltaReaderBad: malformed headers and blocks are errors.
func TestDeltaReaderBad(t *testing.T) {
	var e delta.BinaryPackedEncoding
	good, err := e.EncodeInt64(nil, []int64{1, 2, 4, 8, 16})
	if err != nil {
		t.Fatal(err)
	}
	// Header: block 128, 4 miniblocks, 5 values, first value 1 (zigzag 2);
	// then the block: min delta, 4 widths, the first miniblock.
	hdr := []byte{0x80, 0x01, 4, 5, 2}
	if !bytes.HasPrefix(good, hdr) {
		t.Fatalf("encoding changed: % x", good[:8])
	}
	widthAt := len(hdr) + 1 // after the min delta (1 byte here)
	tests := []struct {
		name string
		data []byte
		typ  format.Type
		n    int
		want string
	}{
		{"count differs", good, format.Int64, 4, "5 values for 4 non-null rows"},
		{"header cut", good[:3], format.Int64, 5, "header cut short"},
		{"block size", append([]byte{100, 4, 5, 2}, good[len(hdr):]...), format.Int64, 5, "block size 100"},
		{"miniblocks", append([]byte{0x80, 0x01, 3, 5, 2}, good[len(hdr):]...), format.Int64, 5, "3 miniblocks"},
		{"width over 64", func() []byte { b := bytes.Clone(good); b[widthAt] = 65; return b }(), format.Int64, 5, "bit width 65 (at most 64)"},
		{"width over 32", func() []byte { b := bytes.Clone(good); b[widthAt] = 33; return b }(), format.Int32, 5, "bit width 33 (at most 32)"},
		{"widths cut", good[:widthAt+2], format.Int64, 5, "bit widths cut short"},
		{"INT96", good, format.Int96, 5, "not defined for INT96"},
		// A few bytes claiming a billion values of width 0 must not be
		// sized up front: the count check refuses it here, and next()
		// allocates nothing whatever the count.
		{"huge count", []byte{0x80, 0x01, 4, 0x80, 0x80, 0x80, 0x80, 0x04, 0}, format.Int64, 5, "1073741824 values for 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := deltaAll(tt.data, tt.typ, tt.n)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestDeltaReaderConstantMemory: a page of a million width-0 deltas
// decodes without allocating.
func TestDeltaReaderConstantMemory(t *testing.T) {
	var e delta.BinaryPackedEncoding
	const n = 1 << 20
	data, err := e.EncodeInt64(nil, make([]int64, n))
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1, func() {
		var d deltaReader
		if err := d.reset(data, format.Int64, n); err != nil {
			t.Fatal(err)
		}
		for range n {
			if v, err := d.next(); err != nil || v != 0 {
				t.Fatal(v, err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

// TestCheckPageDelta: the corpus scan checks DELTA_BINARY_PACKED pages
// of integer columns before parquet-go decodes them: a page that claims
// more values than it has rows, or whose miniblocks are cut or too wide,
// is an error; a whole one passes.
func TestCheckPageDelta(t *testing.T) {
	var e delta.BinaryPackedEncoding
	vals := make([]int64, 300)
	for i := range vals {
		vals[i] = int64(i * 7919 % 10007)
	}
	good, err := e.EncodeInt64(nil, vals)
	if err != nil {
		t.Fatal(err)
	}
	page := func(nv int, body []byte) (*format.PageHeader, []byte) {
		p := dataPage(nv, format.DeltaBinaryPacked, body)
		return &p.h, p.body
	}
	huge := []byte{0x80, 0x01, 4, 0x80, 0x80, 0x80, 0x80, 0x04, 0}
	wideVals := make([]int64, 300)
	for i := range wideVals {
		wideVals[i] = int64(i%2) << 40
	}
	wide, err := e.EncodeInt64(nil, wideVals)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		nv       int
		body     []byte
		optional bool
		k        kind
		want     string
	}{
		{"whole, required", 300, good, false, kInt64, ""},
		{"whole, optional, fewer values than rows", 310, cat(lenPrefixed(rleRun(300, 1), rleRun(10, 0)), good), true, kTsMicros, ""},
		{"string column: not its encoding", 300, good, false, kIDString, "values encoded as DELTA_BINARY_PACKED (not an encoding of this column's type)"},
		{"required, fewer values than rows", 301, good, false, kInt64, "300 values for the page's 301 non-null values"},
		{"a billion values claimed", 300, huge, false, kInt64, "1073741824 values for the page's 300 non-null values"},
		{"cut", 300, good[:len(good)-60], false, kInt64, "miniblock cut short"},
		{"too wide for INT32", 300, wide, false, kInt32, "at most 32"},
		{"as wide for INT64", 300, wide, false, kInt64, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body := page(tt.nv, tt.body)
			err := checkPage(h, body, pageCheck{optional: tt.optional, kind: tt.k, dictN: -1})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
