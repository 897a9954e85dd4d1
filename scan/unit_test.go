package scan

import (
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestCheckThrift(t *testing.T) {
	valid := validFile(t)
	_, start := footerOf(t, valid)
	footer := valid[start : len(valid)-8]
	n, err := checkThrift(footer)
	if err != nil || n != len(footer) {
		t.Fatalf("real footer: %d, %v; want %d, nil", n, err, len(footer))
	}
	if _, err := checkThrift(footer[:len(footer)-1]); err == nil {
		t.Error("truncated footer accepted")
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"list bomb", []byte{0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}, "elements claimed"},
		{"map bomb", []byte{0x1b, 0xff, 0xff, 0xff, 0xff, 0x07, 0x88, 0x00}, "elements claimed"},
		{"binary bomb", []byte{0x18, 0xff, 0xff, 0xff, 0xff, 0x07}, "exceeds"},
		{"deep", append([]byte{0x1c, 0x1c, 0x1c}, make([]byte, 200)...), ""},
		{"bad type", []byte{0x1d, 0x00}, "bad field type"},
		{"varint overflow", []byte{0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00}, "varint"},
		{"empty", nil, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkThrift(tc.b)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("shallow nesting rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	deep := make([]byte, 0, 200)
	for range maxThriftDepth + 1 {
		deep = append(deep, 0x1c)
	}
	if _, err := checkThrift(deep); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestFloorDiv1000(t *testing.T) {
	for _, tc := range [][2]int64{
		{0, 0}, {1, 0}, {999, 0}, {1000, 1}, {-1, -1}, {-1000, -1}, {-1001, -2},
		{math.MaxInt64, math.MaxInt64 / 1000}, {math.MinInt64, math.MinInt64/1000 - 1},
	} {
		if got := floorDiv1000(tc[0]); got != tc[1] {
			t.Errorf("floorDiv1000(%d) = %d, want %d", tc[0], got, tc[1])
		}
	}
}

func TestInt96Micros(t *testing.T) {
	const J = julianUnix
	split := func(day int64, nanos int64) (uint32, uint32, uint32) {
		return uint32(uint64(nanos)), uint32(uint64(nanos) >> 32), uint32(int32(day))
	}
	for _, tc := range []struct {
		name  string
		day   int64
		nanos int64
		want  int64
		ok    bool
	}{
		{"epoch", J, 0, 0, true},
		{"sub-micro floors", J, 1999, 1, true},
		{"last nano before epoch (Impala/Spark)", J - 1, 86_399_999_999_999, -1, true},
		{"last nano before epoch (Arrow)", J, -1, -1, true},
		{"Arrow negative nanos", J - 10, -5_000_001, -10*86_400_000_000 - 5001, true},
		{"1900", 2415021, 0, -2_208_988_800_000_000, true},
		{"Spark wrapped 290000-12-31", -105862232, -32509551616000, 9089380393200000000, true},
		{"max day", math.MaxInt32, 0, 0, false},
		{"min day", math.MinInt32, 0, 0, false},
		{"nanos beyond a day, not Spark's", J, 3 * 86_400_000_000_000, 0, false},
		{"nanos beyond a day, negative", J, -200_000_000_000_000, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := int96Micros(split(tc.day, tc.nanos))
			if ok != tc.ok || (ok && got != tc.want) {
				t.Errorf("got %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParquetMRBefore129(t *testing.T) {
	for in, want := range map[string]bool{
		"parquet-mr":                         true,
		"parquet-mr version 1.2.8":           true,
		"parquet-mr version 1.2.8-SNAPSHOT":  true,
		"parquet-mr version 1.0.0 (build x)": true,
		"parquet-mr version 1.2.9":           false,
		"parquet-mr version 1.13.1 (build db4183109d5b734ec5930d870cdae161e408ddba)": false,
		"parquet-cpp-arrow version 17.0.0":                                           false,
		"DuckDB":                                                                     false,
		"":                                                                           false,
	} {
		if got := parquetMRBefore129(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	cause := errors.New("bad\nthing")
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f", RowGroup: -1, Row: -1, Err: cause}, "f: bad thing"},
		{Error{File: "f", Column: "c", RowGroup: -1, Row: -1, Err: cause}, "f: column c: bad thing"},
		{Error{File: "s3://b/k", Column: "c", RowGroup: 2, Row: 77, Err: cause}, "s3://b/k: column c: row group 2: row 77: bad thing"},
		{Error{File: "f", RowGroup: 0, Row: -1}, "f: row group 0: unknown error"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	e := &Error{File: "f", RowGroup: -1, Row: -1, Err: io.ErrUnexpectedEOF}
	if !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Error("Error does not unwrap")
	}
}

// TestExpandNulls: spreading a page's values over its rows in place gives
// what a copy would, whatever the nulls' positions, after rows already in
// the slice; and a count of values that does not match the non-null rows
// is an error.
func TestExpandNulls(t *testing.T) {
	for _, defs := range [][]byte{
		{}, {1}, {0}, {0, 0, 0}, {1, 1, 1}, {1, 0, 1, 0}, {0, 1, 0, 1}, {0, 0, 1, 1, 1}, {1, 1, 1, 0, 0}, {0, 1, 1, 0, 0, 1, 0},
	} {
		prefix := []int32{7, 8}
		var vals, want []int32
		for r, d := range defs {
			if d == 1 {
				vals = append(vals, int32(100+r))
				want = append(want, int32(100+r))
			} else {
				want = append(want, -1)
			}
		}
		out := append(append([]int32{}, prefix...), vals...)
		got, err := expandNulls(out, len(prefix), len(vals), defs, -1)
		if err != nil {
			t.Fatalf("defs %v: %v", defs, err)
		}
		if !slices.Equal(got[:len(prefix)], prefix) || !slices.Equal(got[len(prefix):], want) {
			t.Fatalf("defs %v: got %v, want %v after %v", defs, got, want, prefix)
		}
	}
	if _, err := expandNulls([]int32{1}, 0, 1, []byte{1, 1}, -1); err == nil || !strings.Contains(err.Error(), "more non-null rows") {
		t.Errorf("too few values: %v", err)
	}
	if _, err := expandNulls([]int32{1, 2}, 0, 2, []byte{1, 0}, -1); err == nil || !strings.Contains(err.Error(), "2 values for 1 non-null rows") {
		t.Errorf("too many values: %v", err)
	}
}
