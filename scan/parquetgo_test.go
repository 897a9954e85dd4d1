package scan

import (
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding"
)

var (
	platforms    = []string{"facebook", "instagram", "threads", "whatsapp"}
	contentTypes = []string{"post", "comment", "photo", "ai_interaction", " Reel ", ""}
	visibilities = []string{"public", "friends", "PUBLIC", "private"}
)

// sampleRow is the test data's row i (nullable: some of every column null).
// Created is microseconds; tsRaw gives it in other units.
func sampleRow(i int, nullable, intIDs bool) row {
	r := row{
		Author:      ptr(int64(i*7919%1000) - 500),
		Platform:    ptr(platforms[i%len(platforms)]),
		ContentType: ptr(contentTypes[(i/3)%len(contentTypes)]),
		Visibility:  ptr(visibilities[(i/2)%len(visibilities)]),
		Created:     ptr(int64(i-50) * 3_600_000_001_000),
	}
	if intIDs {
		r.ID = int64(i)*1_000_003 - 77
	} else {
		r.ID = fmt.Sprintf("c-%06d-%s", i, platforms[i%3])
	}
	if i%97 == 13 {
		r.Author = ptr(int64(1)<<62 + int64(i))
	}
	if nullable {
		if i%7 == 3 {
			r.ID = nil
		}
		if i%5 == 1 {
			r.Author = nil
		}
		if i%11 == 2 {
			r.Platform = nil
		}
		if i%13 == 4 {
			r.ContentType = nil
		}
		if i%3 == 0 {
			r.Visibility = nil
		}
		if i%9 == 5 {
			r.Created = nil
		}
		if i < 20 { // a run of nulls at the start of the first page
			r.Visibility = nil
		}
	}
	return r
}

func sampleRows(n int, nullable, intIDs bool) []row {
	rows := make([]row, n)
	for i := range rows {
		rows[i] = sampleRow(i, nullable, intIDs)
	}
	return rows
}

// pgCase describes one parquet-go written file.
type pgCase struct {
	name      string
	n, rgRows int
	nullable  bool
	intIDs    bool
	strEnc    encoding.Encoding // nil: parquet-go's default
	intEnc    encoding.Encoding
	codec     compress.Codec
	pageV     int // data page version (0: default, 2)
	pageBuf   int // page buffer size: small → many pages
	author32  bool
	unit      parquet.TimeUnit // nil: micros
}

func (c pgCase) columns(rows []row) []pgCol {
	wrap := func(n parquet.Node, enc encoding.Encoding) parquet.Node {
		if enc != nil {
			n = parquet.Encoded(n, enc)
		}
		if c.nullable {
			n = parquet.Optional(n)
		}
		return n
	}
	str := func(get func(r row) *string) func(int) any {
		return func(i int) any {
			if v := get(rows[i]); v != nil {
				return *v
			}
			return nil
		}
	}
	idNode := wrap(parquet.String(), c.strEnc)
	if c.intIDs {
		idNode = wrap(parquet.Int(64), c.intEnc)
	}
	authorNode := wrap(parquet.Int(64), c.intEnc)
	if c.author32 {
		authorNode = wrap(parquet.Int(32), c.intEnc)
	}
	unit := c.unit
	if unit == nil {
		unit = parquet.Microsecond
	}
	return []pgCol{
		{"content_id", idNode, func(i int) any { return rows[i].ID }},
		{"author_id", authorNode, func(i int) any {
			if a := rows[i].Author; a != nil {
				if c.author32 {
					return int32(*a)
				}
				return *a
			}
			return nil
		}},
		{"platform", wrap(parquet.String(), c.strEnc), str(func(r row) *string { return r.Platform })},
		{"content_type", wrap(parquet.String(), c.strEnc), str(func(r row) *string { return r.ContentType })},
		{"visibility", wrap(parquet.Enum(), c.strEnc), str(func(r row) *string { return r.Visibility })},
		{"created_at", wrap(parquet.Timestamp(unit), c.intEnc), func(i int) any {
			if v := rows[i].Created; v != nil {
				return toUnit(*v, unit)
			}
			return nil
		}},
		// Extra columns the scan must ignore.
		{"body", wrap(parquet.String(), nil), func(i int) any { return fmt.Sprintf("text %d", i) }},
		{"likes", parquet.Int(64), func(i int) any { return int64(i) }},
	}
}

// toUnit converts test microseconds to unit (exact: test micros are whole
// milliseconds).
func toUnit(us int64, unit parquet.TimeUnit) int64 {
	switch unit.Duration().Nanoseconds() {
	case 1_000_000:
		return us / 1000
	case 1:
		return us * 1000
	}
	return us
}

func TestParquetGoFiles(t *testing.T) {
	cases := []pgCase{
		{name: "required plain snappy", n: 500, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Snappy},
		{name: "optional plain snappy", n: 500, nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Snappy},
		{name: "required dict zstd", n: 700, strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary, codec: &parquet.Zstd},
		{name: "optional dict zstd", n: 700, nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary, codec: &parquet.Zstd},
		{name: "optional dict gzip v1 pages", n: 400, nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary, codec: &parquet.Gzip, pageV: 1},
		{name: "required plain v1 pages uncompressed", n: 400, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Uncompressed, pageV: 1},
		{name: "optional lz4_raw v2", n: 300, nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Lz4Raw, pageV: 2},
		{name: "optional brotli", n: 300, nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain, codec: &parquet.Brotli},
		{name: "delta encodings", n: 600, nullable: true, strEnc: &parquet.DeltaLengthByteArray, intEnc: &parquet.DeltaBinaryPacked, codec: &parquet.Snappy},
		{name: "delta byte array", n: 600, strEnc: &parquet.DeltaByteArray, intEnc: &parquet.DeltaBinaryPacked, codec: &parquet.Zstd},
		{name: "many pages many row groups", n: 3000, rgRows: 700, nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain, codec: &parquet.Snappy, pageBuf: 512},
		{name: "many pages plain v1", n: 2000, rgRows: 900, nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Gzip, pageBuf: 700, pageV: 1},
		{name: "int ids", n: 500, nullable: true, intIDs: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Snappy},
		{name: "int ids dict", n: 500, intIDs: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary, codec: &parquet.Snappy, pageBuf: 1024},
		{name: "int32 author", n: 500, nullable: true, author32: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Snappy},
		{name: "int32 author dict", n: 500, author32: true, strEnc: &parquet.Plain, intEnc: &parquet.RLEDictionary, codec: &parquet.Snappy},
		{name: "millis", n: 500, nullable: true, unit: parquet.Millisecond, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Snappy},
		{name: "nanos", n: 500, nullable: true, unit: parquet.Nanosecond, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Snappy},
		{name: "nanos dict", n: 500, unit: parquet.Nanosecond, strEnc: &parquet.Plain, intEnc: &parquet.RLEDictionary, codec: &parquet.Snappy},
		{name: "byte stream split", n: 600, nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.ByteStreamSplit, codec: &parquet.Snappy, pageBuf: 1024},
		{name: "byte stream split required v1", n: 600, strEnc: &parquet.Plain, intEnc: &parquet.ByteStreamSplit, codec: &parquet.Uncompressed, pageV: 1},
		{name: "millis dict", n: 500, nullable: true, unit: parquet.Millisecond, strEnc: &parquet.Plain, intEnc: &parquet.RLEDictionary, codec: &parquet.Zstd},
		{name: "nanos delta", n: 500, nullable: true, unit: parquet.Nanosecond, strEnc: &parquet.Plain, intEnc: &parquet.DeltaBinaryPacked, codec: &parquet.Snappy, pageBuf: 700},
		{name: "empty file", n: 0, nullable: true, codec: &parquet.Snappy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := sampleRows(c.n, c.nullable, c.intIDs)
			if c.author32 {
				for i := range want {
					if a := want[i].Author; a != nil {
						want[i].Author = ptr(int64(int32(*a)))
					}
				}
			}
			opts := []parquet.WriterOption{parquet.Compression(c.codec)}
			if c.pageV != 0 {
				opts = append(opts, parquet.DataPageVersion(c.pageV))
			}
			if c.pageBuf != 0 {
				opts = append(opts, parquet.PageBufferSize(c.pageBuf))
			}
			data := writePG(t, c.columns(want), c.n, c.rgRows, opts...)
			got, f, err := readAll(t, data, defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			compareRows(t, got, want)
			if c.rgRows > 0 && f.NumRowGroups() < 2 {
				t.Errorf("want several row groups, got %d", f.NumRowGroups())
			}
			if c.pageBuf > 0 {
				if pages := countDataPages(t, data, f, 0); pages < 2 {
					t.Errorf("want several pages per chunk, got %d", pages)
				}
			}
		})
	}
}

// countDataPages counts the data pages of the content_id chunk of row group rg.
func countDataPages(t *testing.T, data []byte, f *File, rg int) int {
	t.Helper()
	pages := f.pf.RowGroups()[rg].ColumnChunks()[f.cols[roleContentID].leaf].Pages()
	defer pages.Close()
	n := 0
	for {
		p, err := pages.ReadPage()
		if err != nil {
			break
		}
		parquet.Release(p)
		n++
	}
	return n
}

// TestTimestampFloor checks nanosecond → microsecond flooring around zero
// and before 1970, and millisecond/microsecond scaling of negative values.
func TestTimestampFloor(t *testing.T) {
	nanos := []int64{-1, -999, -1000, -1001, 0, 1, 999, 1000, 1001, -86_400_000_000_001, 1_700_000_000_123_456_789, -1_700_000_000_123_456_789}
	wantNanos := []int64{-1, -1, -1, -2, 0, 0, 0, 1, 1, -86_400_000_001, 1_700_000_000_123_456, -1_700_000_000_123_457}
	millis := []int64{-1, 0, 1, -2_208_988_800_000, 253_402_300_799_999}
	wantMillis := []int64{-1000, 0, 1000, -2_208_988_800_000_000, 253_402_300_799_999_000}
	micros := []int64{-1, 0, 1, -62_135_596_800_000_000}

	for _, tc := range []struct {
		unit     parquet.TimeUnit
		raw      []int64
		want     []int64
		nullable bool
	}{
		{parquet.Nanosecond, nanos, wantNanos, false},
		{parquet.Nanosecond, nanos, wantNanos, true},
		{parquet.Millisecond, millis, wantMillis, true},
		{parquet.Microsecond, micros, micros, false},
	} {
		t.Run(fmt.Sprintf("%v nullable=%v", tc.unit, tc.nullable), func(t *testing.T) {
			n := len(tc.raw)
			want := sampleRows(n, false, false)
			for i := range want {
				want[i].Created = ptr(tc.want[i])
			}
			node := parquet.Timestamp(tc.unit)
			if tc.nullable {
				node = parquet.Optional(node)
				want = append(want, sampleRow(n, false, false))
				want[n].Created = nil
				n++
			}
			cols := pgCase{nullable: tc.nullable}.columns(want)
			cols[5] = pgCol{"created_at", node, func(i int) any {
				if i < len(tc.raw) {
					return tc.raw[i]
				}
				return nil
			}}
			data := writePG(t, cols, n, 0, parquet.Compression(&parquet.Snappy))
			got, _, err := readAll(t, data, defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			compareRows(t, got, want)
		})
	}
}

// TestTimestampOverflow: milliseconds that do not fit in int64
// microseconds are an error naming the row.
func TestTimestampOverflow(t *testing.T) {
	want := sampleRows(10, false, false)
	cols := pgCase{}.columns(want)
	cols[5] = pgCol{"created_at", parquet.Timestamp(parquet.Millisecond), func(i int) any {
		if i == 7 {
			return int64(1) << 62
		}
		return int64(i)
	}}
	data := writePG(t, cols, 10, 0)
	_, _, err := readAll(t, data, defaultCols)
	se := wantError(t, err, "column created_at", "row group 0", "row 7", "outside the range")
	if se.Row != 7 || se.RowGroup != 0 || se.Column != "created_at" {
		t.Errorf("error fields %+v", se)
	}
}

// TestInt96ParquetGo writes INT96 created_at with parquet-go.
func TestInt96ParquetGo(t *testing.T) {
	// (julian day, nanos of day) → micros.
	type tv struct {
		day   uint32
		nanos uint64
		want  int64
	}
	vals := []tv{
		{2440588, 0, 0},
		{2440588, 1999, 1},
		{2440587, 86_399_999_999_999, -1},
		{2440587, 86_399_999_999_000, -1},
		{2440587, 0, -86_400_000_000},
		{2460311, 45_296_123_456_000, 1704112496123456}, // 2024-01-01T12:34:56.123456
		{2415021, 0, -2_208_988_800_000_000},            // 1900-01-01
	}
	n := len(vals)
	want := sampleRows(n+1, false, false)
	for i, v := range vals {
		want[i].Created = ptr(v.want)
	}
	want[n].Created = nil
	cols := pgCase{}.columns(want)
	cols[5] = pgCol{"created_at", parquet.Optional(parquet.Leaf(parquet.Int96Type)), func(i int) any {
		if i == n {
			return nil
		}
		v := vals[i]
		return deprecated.Int96{uint32(v.nanos), uint32(v.nanos >> 32), v.day}
	}}
	data := writePG(t, cols, n+1, 0)
	got, _, err := readAll(t, data, defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	compareRows(t, got, want)
}

// TestUnsignedAuthor: UINT_32 is widened, UINT_64 values ≥ 2^63 are errors.
func TestUnsignedAuthor(t *testing.T) {
	t.Run("uint32", func(t *testing.T) {
		want := sampleRows(5, false, false)
		cols := pgCase{}.columns(want)
		vals := []uint32{0, 1, 1 << 31, 1<<32 - 1, 42}
		for i := range want {
			want[i].Author = ptr(int64(vals[i]))
		}
		cols[1] = pgCol{"author_id", parquet.Uint(32), func(i int) any { return vals[i] }}
		got, _, err := readAll(t, writePG(t, cols, 5, 0), defaultCols)
		if err != nil {
			t.Fatal(err)
		}
		compareRows(t, got, want)
	})
	t.Run("uint64", func(t *testing.T) {
		want := sampleRows(4, false, false)
		cols := pgCase{}.columns(want)
		vals := []uint64{0, 7, 1<<63 - 1, 1 << 63}
		cols[1] = pgCol{"author_id", parquet.Uint(64), func(i int) any { return vals[i] }}
		_, _, err := readAll(t, writePG(t, cols, 4, 0), defaultCols)
		wantError(t, err, "column author_id", "row 3", "does not fit in int64")
	})
}
