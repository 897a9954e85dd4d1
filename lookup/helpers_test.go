package lookup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/policy"
)

// tcol is a test column: a name, an Arrow type and its values (nil is
// null). Values: int64 for INT64, int32 for INT32, string "YYYY-MM-DD" or
// int32 days for DATE32, time.Time or RFC 3339 string for TIMESTAMP,
// string for STRING.
type tcol struct {
	name string
	typ  arrow.DataType
	vals []any
}

var (
	tInt64  = arrow.PrimitiveTypes.Int64
	tInt32  = arrow.PrimitiveTypes.Int32
	tDate   = arrow.FixedWidthTypes.Date32
	tString = arrow.BinaryTypes.String
	tTsUS   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

func day(s string) int32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return int32(t.Unix() / 86400)
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func micros(s string) int64 { return ts(s).UnixMicro() }

func buildArray(t testing.TB, c tcol) arrow.Array {
	t.Helper()
	b := array.NewBuilder(memory.DefaultAllocator, c.typ)
	defer b.Release()
	for _, v := range c.vals {
		if v == nil {
			b.AppendNull()
			continue
		}
		switch b := b.(type) {
		case *array.Int64Builder:
			b.Append(v.(int64))
		case *array.Int32Builder:
			b.Append(v.(int32))
		case *array.Date32Builder:
			switch v := v.(type) {
			case string:
				b.Append(arrow.Date32(day(v)))
			case int32:
				b.Append(arrow.Date32(v))
			}
		case *array.TimestampBuilder:
			tm, ok := v.(time.Time)
			if !ok {
				tm = ts(v.(string))
			}
			var x int64
			switch b.Type().(*arrow.TimestampType).Unit {
			case arrow.Second:
				x = tm.Unix()
			case arrow.Millisecond:
				x = tm.UnixMilli()
			case arrow.Microsecond:
				x = tm.UnixMicro()
			default:
				x = tm.UnixNano()
			}
			b.Append(arrow.Timestamp(x))
		case *array.StringBuilder:
			b.Append(v.(string))
		default:
			t.Fatalf("buildArray: no support for %s", c.typ)
		}
	}
	return b.NewArray()
}

// writeParquet writes cols to a Parquet file at p, rowGroup rows per row
// group (0: one row group).
func writeParquet(t testing.TB, p string, rowGroup int64, cols []tcol, opts ...pqarrow.WriterOption) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	n := -1
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
		arrs[i] = buildArray(t, c)
		defer arrs[i].Release()
		if n >= 0 && n != len(c.vals) {
			t.Fatalf("writeParquet: columns of different lengths")
		}
		n = len(c.vals)
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecord(sc, arrs, int64(n))
	defer rec.Release()
	tbl := array.NewTableFromRecords(sc, []arrow.Record{rec})
	defer tbl.Release()
	if rowGroup <= 0 {
		rowGroup = int64(max(n, 1))
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithAllocator(memory.DefaultAllocator))
	if err := pqarrow.WriteTable(tbl, f, rowGroup, props, pqarrow.NewArrowWriterProperties(opts...)); err != nil {
		t.Fatal(err)
	}
	// WriteTable closes f.
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func open(t testing.TB, p string) lake.Location {
	t.Helper()
	l, err := lake.Open(context.Background(), p, lake.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Column sets of the tables, for tests.
func agesCols(ids []any, births []any) []tcol {
	return []tcol{{"account_id", tInt64, ids}, {"birth_date", tDate, births}}
}

func objCols(ids, at, wd []any) []tcol {
	return []tcol{{"account_id", tInt64, ids}, {"objected_at", tTsUS, at}, {"withdrawn_at", tTsUS, wd}}
}

func linkCols(ids, centres []any) []tcol {
	return []tcol{{"account_id", tInt64, ids}, {"accounts_center_id", tInt64, centres}}
}

var testSnapshot = ts("2026-06-01T00:00:00Z")

func testOptions() Options {
	return Options{SnapshotAt: testSnapshot, Policy: policy.Default()}
}

// fixture writes the three tables (links may be nil) as Parquet files
// under a new temporary folder and returns their Tables.
func fixture(t testing.TB, ages, objs, links []tcol) Tables {
	t.Helper()
	dir := t.TempDir()
	if ages == nil {
		ages = agesCols(nil, nil)
	}
	if objs == nil {
		objs = objCols(nil, nil, nil)
	}
	writeParquet(t, filepath.Join(dir, "ages.parquet"), 0, ages)
	writeParquet(t, filepath.Join(dir, "objections.parquet"), 0, objs)
	tb := Tables{Ages: open(t, filepath.Join(dir, "ages.parquet")), Objections: open(t, filepath.Join(dir, "objections.parquet"))}
	if links != nil {
		writeParquet(t, filepath.Join(dir, "links.parquet"), 0, links)
		l := open(t, filepath.Join(dir, "links.parquet"))
		tb.Links = &l
	}
	return tb
}

func mustBuild(t testing.TB, tb Tables, o Options) *Index {
	t.Helper()
	ix, _, err := Build(context.Background(), tb, o)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func i64(v int64) *int64 { return &v }
func i32(v int32) *int32 { return &v }

func ptrStr[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func fmtEvidence(e Evidence) string {
	return fmt.Sprintf("{birth:%s objector:%s at:%s centre:%s}", ptrStr(e.BirthDate), ptrStr(e.ObjectionAccountID), ptrStr(e.ObjectedAt), ptrStr(e.AccountsCenterID))
}
