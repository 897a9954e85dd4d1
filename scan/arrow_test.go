package scan

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	aparquet "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/parquet-go/parquet-go/format"
)

// arrowCase describes one file written with Arrow v17's pqarrow writer,
// the writer most corpus tooling (pyarrow, Spark via Arrow) resembles.
type arrowCase struct {
	name        string
	n, rgRows   int
	nullable    bool
	intIDs      bool
	author32    bool
	unit        arrow.TimeUnit
	tz          string // "UTC": isAdjustedToUTC=true
	int96       bool
	noDict      bool
	dictLimit   int64 // dictionary page size limit: small → fallback to PLAIN
	wideStrings bool  // high-cardinality platform values (forces the fallback)
	codec       compress.Compression
	pageV2      bool
	pageSize    int64
	// noStats: no statistics, so v2 page headers count 0 nulls whatever
	// the levels (arrow-go); nulls in the string columns only, the ones
	// parquet-go reads from such pages.
	noStats bool
}

// arrowWant is the test data for an arrow case, with created_at raw in
// the case's unit (nanoseconds carry sub-microsecond parts).
func (c arrowCase) rows() (want []row, raw []int64) {
	want = sampleRows(c.n, c.nullable, c.intIDs)
	raw = make([]int64, c.n)
	for i := range want {
		r := &want[i]
		if c.noStats {
			r.Author, r.Created = ptr(int64(i)), ptr(int64(i)*1_000_000)
		}
		if c.author32 && r.Author != nil {
			r.Author = ptr(int64(int32(*r.Author)))
		}
		if c.wideStrings && r.Platform != nil {
			r.Platform = ptr(fmt.Sprintf("platform-%03d", (i*7)%300))
		}
		if r.Created == nil {
			continue
		}
		us := *r.Created
		switch c.unit {
		case arrow.Millisecond:
			raw[i] = us / 1000
		case arrow.Nanosecond:
			raw[i] = us*1000 + int64(i%2000) - 1000
			r.Created = ptr(floorDiv1000(raw[i]))
		default:
			raw[i] = us
		}
		if c.int96 && c.unit == arrow.Nanosecond {
			// INT96 keeps nanoseconds; the scan floors them.
			r.Created = ptr(floorDiv1000(raw[i]))
		}
	}
	return want, raw
}

func (c arrowCase) write(t testing.TB, want []row, raw []int64) []byte {
	t.Helper()
	tsType := &arrow.TimestampType{Unit: c.unit, TimeZone: c.tz}
	idType := arrow.DataType(arrow.BinaryTypes.String)
	if c.intIDs {
		idType = arrow.PrimitiveTypes.Int64
	}
	authorType := arrow.DataType(arrow.PrimitiveTypes.Int64)
	if c.author32 {
		authorType = arrow.PrimitiveTypes.Int32
	}
	// Audit columns in an unusual order, among extra columns (one nested).
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "extra_a", Type: arrow.PrimitiveTypes.Int64},
		{Name: "created_at", Type: tsType, Nullable: c.nullable},
		{Name: "visibility", Type: arrow.BinaryTypes.String, Nullable: c.nullable},
		{Name: "author_id", Type: authorType, Nullable: c.nullable},
		{Name: "body", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "content_type", Type: arrow.BinaryTypes.String, Nullable: c.nullable},
		{Name: "tags", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "content_id", Type: idType, Nullable: c.nullable},
		{Name: "platform", Type: arrow.BinaryTypes.String, Nullable: c.nullable},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	str := func(fb array.Builder, v *string) {
		if v == nil {
			fb.AppendNull()
		} else {
			fb.(*array.StringBuilder).Append(*v)
		}
	}
	for i, r := range want {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if r.Created == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(raw[i]))
		}
		str(b.Field(2), r.Visibility)
		switch {
		case r.Author == nil:
			b.Field(3).AppendNull()
		case c.author32:
			b.Field(3).(*array.Int32Builder).Append(int32(*r.Author))
		default:
			b.Field(3).(*array.Int64Builder).Append(*r.Author)
		}
		str(b.Field(4), ptr(fmt.Sprintf("body of %d", i)))
		str(b.Field(5), r.ContentType)
		lb := b.Field(6).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{int64(i), 2}, nil)
		switch id := r.ID.(type) {
		case nil:
			b.Field(7).AppendNull()
		case string:
			b.Field(7).(*array.StringBuilder).Append(id)
		case int64:
			b.Field(7).(*array.Int64Builder).Append(id)
		}
		str(b.Field(8), r.Platform)
	}
	rec := b.NewRecord()
	defer rec.Release()

	opts := []aparquet.WriterProperty{
		aparquet.WithCompression(c.codec),
		aparquet.WithDictionaryDefault(!c.noDict),
	}
	if c.rgRows > 0 {
		opts = append(opts, aparquet.WithMaxRowGroupLength(int64(c.rgRows)))
	}
	if c.pageV2 {
		opts = append(opts, aparquet.WithDataPageVersion(aparquet.DataPageV2))
	}
	if c.noStats {
		opts = append(opts, aparquet.WithStats(false))
	}
	if c.pageSize > 0 {
		opts = append(opts, aparquet.WithDataPageSize(c.pageSize), aparquet.WithBatchSize(64))
	}
	if c.dictLimit > 0 {
		opts = append(opts, aparquet.WithDictionaryPageSizeLimit(c.dictLimit), aparquet.WithBatchSize(64))
	}
	var aopts []pqarrow.WriterOption
	if c.int96 {
		aopts = append(aopts, pqarrow.WithDeprecatedInt96Timestamps(true))
	}
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(schema, &buf, aparquet.NewWriterProperties(opts...), pqarrow.NewArrowWriterProperties(aopts...))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestArrowFiles(t *testing.T) {
	cs := compress.Codecs
	cases := []arrowCase{
		{name: "required dict snappy micros", n: 600, unit: arrow.Microsecond, tz: "UTC", codec: cs.Snappy},
		{name: "optional dict snappy micros", n: 600, nullable: true, unit: arrow.Microsecond, tz: "UTC", codec: cs.Snappy},
		{name: "optional plain zstd", n: 600, nullable: true, noDict: true, unit: arrow.Microsecond, codec: cs.Zstd},
		{name: "required plain gzip", n: 500, noDict: true, unit: arrow.Microsecond, codec: cs.Gzip},
		{name: "optional brotli v2", n: 500, nullable: true, unit: arrow.Microsecond, codec: cs.Brotli, pageV2: true},
		{name: "optional uncompressed v2", n: 500, nullable: true, unit: arrow.Microsecond, codec: cs.Uncompressed, pageV2: true},
		{name: "required plain uncompressed v2", n: 500, noDict: true, unit: arrow.Microsecond, codec: cs.Uncompressed, pageV2: true},
		{name: "millis no tz", n: 500, nullable: true, unit: arrow.Millisecond, codec: cs.Snappy},
		{name: "millis utc plain", n: 500, noDict: true, unit: arrow.Millisecond, tz: "UTC", codec: cs.Zstd},
		{name: "nanos utc", n: 500, nullable: true, unit: arrow.Nanosecond, tz: "UTC", codec: cs.Snappy},
		{name: "nanos plain v2", n: 500, noDict: true, unit: arrow.Nanosecond, codec: cs.Zstd, pageV2: true},
		{name: "int96 optional", n: 500, nullable: true, unit: arrow.Nanosecond, int96: true, codec: cs.Snappy},
		{name: "int96 required plain", n: 500, noDict: true, unit: arrow.Nanosecond, int96: true, codec: cs.Gzip},
		{name: "int ids int32 author", n: 500, nullable: true, intIDs: true, author32: true, unit: arrow.Microsecond, codec: cs.Snappy},
		{name: "int ids plain required", n: 500, intIDs: true, noDict: true, unit: arrow.Microsecond, codec: cs.Zstd},
		{name: "many row groups many pages", n: 5000, rgRows: 1200, nullable: true, unit: arrow.Microsecond, codec: cs.Snappy, pageSize: 512},
		{name: "many pages v2 plain", n: 3000, rgRows: 1000, nullable: true, noDict: true, unit: arrow.Nanosecond, codec: cs.Zstd, pageSize: 700, pageV2: true},
		{name: "dictionary fallback", n: 3000, nullable: true, wideStrings: true, dictLimit: 512, unit: arrow.Microsecond, codec: cs.Snappy},
		{name: "dictionary fallback required v2", n: 3000, rgRows: 1500, wideStrings: true, dictLimit: 512, unit: arrow.Microsecond, codec: cs.Zstd, pageV2: true},
		{name: "v2 no statistics: null counts 0", n: 3000, nullable: true, noDict: true, unit: arrow.Microsecond, codec: cs.Snappy, pageV2: true, noStats: true},
		{name: "v2 no statistics uncompressed", n: 3000, nullable: true, noDict: true, unit: arrow.Microsecond, codec: cs.Uncompressed, pageV2: true, noStats: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, raw := c.rows()
			data := c.write(t, want, raw)
			got, f, err := readAll(t, data, defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			compareRows(t, got, want)
			// The case must have produced what it claims to test.
			if c.rgRows > 0 && f.NumRowGroups() < 2 {
				t.Errorf("want several row groups, got %d", f.NumRowGroups())
			}
			if c.pageSize > 0 {
				if pages := countDataPages(t, data, f, 0); pages < 2 {
					t.Errorf("want several pages, got %d", pages)
				}
			}
			if created := schemaElement(t, f, "created_at"); c.int96 != (created.Type.V == format.Int96) {
				t.Errorf("created_at is %s", typeDesc(created))
			}
			if c.dictLimit > 0 {
				enc := f.meta.RowGroups[0].Columns[f.cols[rolePlatform].leaf].MetaData.Encoding
				if !slices.Contains(enc, format.Plain) || !(slices.Contains(enc, format.RLEDictionary) || slices.Contains(enc, format.PlainDictionary)) {
					t.Errorf("platform encodings %v: want a dictionary and a PLAIN fallback", enc)
				}
			}
		})
	}
}

// schemaElement finds a column's schema element by name.
func schemaElement(t testing.TB, f *File, name string) *format.SchemaElement {
	t.Helper()
	for i := range f.meta.Schema {
		if f.meta.Schema[i].Name == name {
			return &f.meta.Schema[i]
		}
	}
	t.Fatalf("no schema element %q", name)
	return nil
}
