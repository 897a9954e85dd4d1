package findings

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/metadata"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	pqschema "github.com/apache/arrow/go/v17/parquet/schema"
	pgo "github.com/parquet-go/parquet-go"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

func openMeta(t *testing.T, b lake.Bucket, key string) *metadata.FileMetaData {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(readObject(t, b, key)))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return r.MetaData()
}

// logical describes a column's logical type the way the Parquet spec
// names it.
func logical(lt pqschema.LogicalType) string {
	switch lt := lt.(type) {
	case pqschema.StringLogicalType:
		return "STRING"
	case pqschema.DateLogicalType:
		return "DATE"
	case *pqschema.TimestampLogicalType:
		unit := map[pqschema.TimeUnitType]string{
			pqschema.TimeUnitMillis: "MILLIS", pqschema.TimeUnitMicros: "MICROS", pqschema.TimeUnitNanos: "NANOS",
		}[lt.TimeUnit()]
		return fmt.Sprintf("TIMESTAMP(isAdjustedToUTC=%t, %s)", lt.IsAdjustedToUTC(), unit)
	case pqschema.NoLogicalType, nil:
		return "NONE"
	default:
		return lt.String()
	}
}

func TestParquetTypes(t *testing.T) {
	b := lake.NewLocal(t.TempDir())
	writeAll(t, b, "f", Options{}, findingsN(300))
	md := openMeta(t, b, "f/part-00000.parquet")

	type col struct {
		path     string
		physical parquet.Type
		logical  string
		maxDef   int16
		maxRep   int16
		dict     bool
	}
	str := "STRING"
	ts := "TIMESTAMP(isAdjustedToUTC=true, MICROS)"
	want := []col{
		{"snapshot", parquet.Types.ByteArray, str, 0, 0, true},
		{"content_id", parquet.Types.ByteArray, str, 1, 0, false},
		{"author_id", parquet.Types.Int64, "NONE", 1, 0, false},
		{"platform", parquet.Types.ByteArray, str, 1, 0, true},
		{"content_type", parquet.Types.ByteArray, str, 1, 0, true},
		{"visibility", parquet.Types.ByteArray, str, 1, 0, true},
		{"created_at", parquet.Types.Int64, ts, 1, 0, false},
		// required list (no level), repeated group (+1 def, +1 rep),
		// required element (no level).
		{"categories.list.element", parquet.Types.ByteArray, str, 1, 1, true},
		{"birth_date", parquet.Types.Int32, "DATE", 1, 0, false},
		{"objection_account_id", parquet.Types.Int64, "NONE", 1, 0, false},
		{"objected_at", parquet.Types.Int64, ts, 1, 0, false},
		{"accounts_center_id", parquet.Types.Int64, "NONE", 1, 0, false},
		{"source_file", parquet.Types.ByteArray, str, 0, 0, true},
		{"row_group", parquet.Types.Int32, "NONE", 0, 0, true},
		{"row_in_file", parquet.Types.Int64, "NONE", 0, 0, false},
	}
	sc := md.Schema
	if sc.NumColumns() != len(want) {
		t.Fatalf("%d columns, want %d", sc.NumColumns(), len(want))
	}
	rg := md.RowGroup(0)
	for i, w := range want {
		c := sc.Column(i)
		got := col{c.Path(), c.PhysicalType(), logical(c.LogicalType()), c.MaxDefinitionLevel(), c.MaxRepetitionLevel(), false}
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		got.dict = cc.HasDictionaryPage() && slices.Contains(cc.Encodings(), parquet.Encodings.RLEDict)
		if got != w {
			t.Errorf("column %d:\n got %+v\nwant %+v", i, got, w)
		}
		if cc.Compression() != compress.Codecs.Zstd {
			t.Errorf("column %s: compression %s, want ZSTD", w.path, cc.Compression())
		}
	}
	// Old readers see the converted types too.
	if ct := sc.Column(6).ConvertedType(); ct != pqschema.ConvertedTypes.TimestampMicros {
		t.Errorf("created_at converted type %s, want TIMESTAMP_MICROS", ct)
	}

	// The standard 3-level LIST: required group categories (LIST) {
	// repeated group list { required binary element (STRING) } }.
	list := sc.Root().Field(7).(*pqschema.GroupNode)
	if list.Name() != "categories" || list.RepetitionType() != parquet.Repetitions.Required ||
		!list.LogicalType().Equals(pqschema.NewListLogicalType()) || list.ConvertedType() != pqschema.ConvertedTypes.List {
		t.Errorf("categories group: %s %s %s %s", list.Name(), list.RepetitionType(), list.LogicalType(), list.ConvertedType())
	}
	mid := list.Field(0)
	elem := mid.(*pqschema.GroupNode).Field(0)
	if list.NumFields() != 1 || mid.Name() != "list" || mid.RepetitionType() != parquet.Repetitions.Repeated ||
		elem.Name() != "element" || elem.RepetitionType() != parquet.Repetitions.Required {
		t.Errorf("categories layout: %s %s / %s %s", mid.Name(), mid.RepetitionType(), elem.Name(), elem.RepetitionType())
	}

	// Key-value metadata and writer name.
	if v := md.KeyValueMetadata().FindValue(MetaSchemaKey); v == nil || *v != SchemaVersion {
		t.Errorf("metadata %s = %v, want %q", MetaSchemaKey, v, SchemaVersion)
	}
	if md.KeyValueMetadata().Len() != 1 {
		t.Errorf("key-value metadata %v, want only %s", md.KeyValueMetadata().Keys(), MetaSchemaKey)
	}
	if got := md.GetCreatedBy(); got != parquet.DefaultCreatedBy {
		t.Errorf("created_by %q", got)
	}
}

// TestSchemaMatchesFile checks that Schema() is what Arrow reads back.
func TestSchemaMatchesFile(t *testing.T) {
	b := lake.NewLocal(t.TempDir())
	writeAll(t, b, "f", Options{}, findingsN(3))
	r, err := file.NewParquetReader(bytes.NewReader(readObject(t, b, "f/part-00000.parquet")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := pqarrow.FromParquet(r.MetaData().Schema, nil, r.MetaData().KeyValueMetadata())
	if err != nil {
		t.Fatal(err)
	}
	want := Schema()
	if got.NumFields() != want.NumFields() {
		t.Fatalf("file schema:\n%s\nwant:\n%s", got, want)
	}
	for i, w := range want.Fields() {
		g := got.Field(i)
		// pqarrow v17 names a list's element after the repeated group
		// ("list") and always reads it as nullable; the Parquet element
		// is REQUIRED (TestParquetTypes), so compare element types only.
		if g.Name != w.Name || g.Nullable != w.Nullable || !sameType(g.Type, w.Type) {
			t.Errorf("field %d: got %s %s nullable=%t, want %s %s nullable=%t", i, g.Name, g.Type, g.Nullable, w.Name, w.Type, w.Nullable)
		}
	}
	// The order of Schema() is the order of the parquet tags of
	// schema.Finding.
	ft := reflect.TypeOf(schema.Finding{})
	for i := 0; i < ft.NumField(); i++ {
		if tag := ft.Field(i).Tag.Get("parquet"); tag != want.Field(i).Name {
			t.Errorf("schema.Finding field %d is tagged %q, Schema() has %q", i, tag, want.Field(i).Name)
		}
	}
}

// pgFinding is a findings row as parquet-go reads it.
type pgFinding struct {
	Snapshot           string   `parquet:"snapshot"`
	ContentID          *string  `parquet:"content_id"`
	AuthorID           *int64   `parquet:"author_id"`
	Platform           *string  `parquet:"platform"`
	ContentType        *string  `parquet:"content_type"`
	Visibility         *string  `parquet:"visibility"`
	CreatedAt          *int64   `parquet:"created_at"`
	Categories         []string `parquet:"categories,list"`
	BirthDate          *int32   `parquet:"birth_date"`
	ObjectionAccountID *int64   `parquet:"objection_account_id"`
	ObjectedAt         *int64   `parquet:"objected_at"`
	AccountsCenterID   *int64   `parquet:"accounts_center_id"`
	SourceFile         string   `parquet:"source_file"`
	RowGroup           int32    `parquet:"row_group"`
	RowInFile          int64    `parquet:"row_in_file"`
}

// TestReadableByParquetGo reads the files with the other Parquet library
// the project uses, independently of Arrow.
func TestReadableByParquetGo(t *testing.T) {
	b := lake.NewLocal(t.TempDir())
	in := findingsN(500)
	out := writeAll(t, b, "f", Options{MaxRows: 300, RowGroupRows: 128}, in)
	var got []pgFinding
	for i, o := range out {
		data := readObject(t, b, o.Path)
		f, err := pgo.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("parquet-go: %s: %v", o.Path, err)
		}
		if i == 0 {
			checkParquetGoSchema(t, f.Schema())
		}
		r := pgo.NewGenericReader[pgFinding](f)
		rows := make([]pgFinding, f.NumRows())
		n, err := r.Read(rows)
		if n != len(rows) {
			t.Fatalf("parquet-go: %s: read %d of %d rows: %v", o.Path, n, len(rows), err)
		}
		got = append(got, rows...)
		r.Close()
	}
	if len(got) != len(in) {
		t.Fatalf("parquet-go read %d rows, want %d", len(got), len(in))
	}
	for i, f := range in {
		want := pgFinding{f.Snapshot, f.ContentID, f.AuthorID, f.Platform, f.ContentType, f.Visibility, f.CreatedAt,
			nil, f.BirthDate, f.ObjectionAccountID, f.ObjectedAt, f.AccountsCenterID, f.SourceFile, f.RowGroup, f.RowInFile}
		for _, c := range f.Categories {
			want.Categories = append(want.Categories, string(c))
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
}

func checkParquetGoSchema(t *testing.T, s *pgo.Schema) {
	t.Helper()
	str := s.String()
	for _, want := range []string{
		"required binary snapshot (STRING)",
		"optional binary content_id (STRING)",
		"optional int64 author_id",
		"optional int64 created_at (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))",
		"required group categories (LIST)",
		"repeated group list",
		"required binary element (STRING)",
		"optional int32 birth_date (DATE)",
		"required int32 row_group",
		"required int64 row_in_file",
	} {
		if !strings.Contains(str, want) {
			t.Errorf("parquet-go schema lacks %q:\n%s", want, str)
		}
	}
}

// sameType compares types ignoring the names and nullability of list
// elements, which pqarrow reads differently from what was written.
func sameType(got, want arrow.DataType) bool {
	gl, ok1 := got.(*arrow.ListType)
	wl, ok2 := want.(*arrow.ListType)
	if ok1 && ok2 {
		return arrow.TypeEqual(gl.Elem(), wl.Elem())
	}
	return arrow.TypeEqual(got, want)
}
