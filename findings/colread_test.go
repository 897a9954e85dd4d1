package findings

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	pqschema "github.com/apache/arrow/go/v17/parquet/schema"
	pgo "github.com/parquet-go/parquet-go"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// otherFinding is a findings row as another writer might lay it out:
// columns in another order, an extra column, required columns stored as
// optional, and list elements that may be null.
type otherFinding struct {
	Extra              string    `parquet:"extra"`
	RowInFile          *int64    `parquet:"row_in_file,optional"`
	Categories         []*string `parquet:"categories,optional,list"`
	Snapshot           *string   `parquet:"snapshot,optional"`
	SourceFile         string    `parquet:"source_file"`
	RowGroup           int32     `parquet:"row_group"`
	ContentID          *string   `parquet:"content_id,optional"`
	AuthorID           *int64    `parquet:"author_id,optional"`
	Platform           *string   `parquet:"platform,optional,dict"`
	ContentType        *string   `parquet:"content_type,optional"`
	Visibility         *string   `parquet:"visibility,optional"`
	CreatedAt          *int64    `parquet:"created_at,optional,timestamp(microsecond)"`
	BirthDate          *int32    `parquet:"birth_date,optional,date"`
	ObjectionAccountID *int64    `parquet:"objection_account_id,optional"`
	ObjectedAt         *int64    `parquet:"objected_at,optional,timestamp(microsecond)"`
	AccountsCenterID   *int64    `parquet:"accounts_center_id,optional"`
}

func toOther(f schema.Finding) otherFinding {
	o := otherFinding{
		Extra: "x", RowInFile: ptr(f.RowInFile), Snapshot: ptr(f.Snapshot), SourceFile: f.SourceFile,
		RowGroup: f.RowGroup, ContentID: f.ContentID, AuthorID: f.AuthorID, Platform: f.Platform,
		ContentType: f.ContentType, Visibility: f.Visibility, CreatedAt: f.CreatedAt, BirthDate: f.BirthDate,
		ObjectionAccountID: f.ObjectionAccountID, ObjectedAt: f.ObjectedAt, AccountsCenterID: f.AccountsCenterID,
	}
	for _, c := range f.Categories {
		o.Categories = append(o.Categories, ptr(string(c)))
	}
	return o
}

// writeOther writes rows with parquet-go, tagged as a findings file.
func writeOther(t testing.TB, rows []otherFinding, rowGroupRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pgo.NewGenericWriter[otherFinding](&buf, pgo.KeyValueMetadata(MetaSchemaKey, SchemaVersion), pgo.MaxRowsPerRowGroup(int64(rowGroupRows)))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readBytes(t testing.TB, data []byte) ([]schema.Finding, error) {
	t.Helper()
	b := lake.NewLocal(t.TempDir())
	if err := b.Upload(context.Background(), "f/part-00000.parquet", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return Read(context.Background(), b, "f")
}

// TestReadOtherWriter reads a findings file parquet-go wrote in another
// layout: the same findings come back.
func TestReadOtherWriter(t *testing.T) {
	in := findingsN(3000)
	rows := make([]otherFinding, len(in))
	for i, f := range in {
		rows[i] = toOther(f)
	}
	got, err := readBytes(t, writeOther(t, rows, 700))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("read %d findings, want %d", len(got), len(in))
	}
	for i := range in {
		if !reflect.DeepEqual(got[i], in[i]) {
			t.Fatalf("finding %d:\n got %+v\nwant %+v", i, got[i], in[i])
		}
	}
}

// TestReadRefusesNulls: a null where the findings schema has none is an
// error naming the column and row.
func TestReadRefusesNulls(t *testing.T) {
	for _, tt := range []struct {
		name    string
		edit    func(*otherFinding)
		wantErr string
	}{
		{"null snapshot", func(o *otherFinding) { o.Snapshot = nil }, "column snapshot row 1234: null in a required column"},
		{"null row_in_file", func(o *otherFinding) { o.RowInFile = nil }, "column row_in_file row 1234: null in a required column"},
		{"null category", func(o *otherFinding) { o.Categories = append(o.Categories, nil) }, "row group 1: column categories: row 1234: null category"},
		{"null list", func(o *otherFinding) { o.Categories = nil }, "row group 1: column categories: row 1234: null in a required column"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := findingsN(2000)
			rows := make([]otherFinding, len(in))
			for i, f := range in {
				rows[i] = toOther(f)
			}
			tt.edit(&rows[1234])
			got, err := readBytes(t, writeOther(t, rows, 700))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read = %d findings, error %v; want an error containing %q", len(got), err, tt.wantErr)
			}
		})
	}
}

// TestReadChecksTypes: a column of another type, or missing, is an error
// naming it and both types.
func TestReadChecksTypes(t *testing.T) {
	// A findings file of 3 rows written through pqarrow from Arrow
	// arrays; replace swaps one column for another array.
	file := func(t *testing.T, replace map[string]arrow.Array, drop string) []byte {
		t.Helper()
		b := lake.NewLocal(t.TempDir())
		writeAll(t, b, "f", Options{}, findingsN(3))
		data := readObject(t, b, "f/part-00000.parquet")
		tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), parquet.NewReaderProperties(memory.DefaultAllocator), pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Release()
		var fields []arrow.Field
		var cols []arrow.Array
		for i := 0; i < int(tbl.NumCols()); i++ {
			f := tbl.Schema().Field(i)
			a := tbl.Column(i).Data().Chunk(0)
			if f.Name == drop {
				continue
			}
			if r, ok := replace[f.Name]; ok {
				a = r
				f = arrow.Field{Name: f.Name, Type: r.DataType(), Nullable: true}
			}
			fields = append(fields, f)
			cols = append(cols, a)
		}
		md := arrow.NewMetadata([]string{MetaSchemaKey}, []string{SchemaVersion})
		rec := array.NewRecord(arrow.NewSchema(fields, &md), cols, 3)
		defer rec.Release()
		var buf bytes.Buffer
		w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, nil, pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	strs := func() arrow.Array {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		b.AppendValues([]string{"a", "b", "c"}, nil)
		return b.NewArray()
	}
	ints := func() arrow.Array {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.AppendValues([]int64{1, 2, 3}, nil)
		return b.NewArray()
	}
	for _, tt := range []struct {
		name    string
		replace map[string]arrow.Array
		drop    string
		wantErr string
	}{
		{"as written", nil, "", ""},
		{"string ids", map[string]arrow.Array{ColAuthorID: strs()}, "", "column author_id: type utf8, want int64"},
		{"int snapshot", map[string]arrow.Array{ColSnapshot: ints()}, "", "column snapshot: type int64, want utf8"},
		{"int categories", map[string]arrow.Array{ColCategories: ints()}, "", "column categories: type int64, want list<element: utf8>"},
		{"missing column", nil, ColRowGroup, "column row_group: found 0 times, want once"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readBytes(t, file(t, tt.replace, tt.drop))
			if tt.wantErr == "" {
				if err != nil || len(got) != 3 {
					t.Fatalf("Read = %d findings, %v; want 3", len(got), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read = %d findings, error %v; want an error containing %q", len(got), err, tt.wantErr)
			}
		})
	}
}

// TestReadLegacyList reads categories stored as the legacy 2-level LIST
// (a repeated string directly under the LIST group), which older writers
// produce: the same findings come back.
func TestReadLegacyList(t *testing.T) {
	std, err := parquetSchema()
	if err != nil {
		t.Fatal(err)
	}
	elem, err := pqschema.NewPrimitiveNodeLogical("array", parquet.Repetitions.Repeated, pqschema.StringLogicalType{}, parquet.Types.ByteArray, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pqschema.NewGroupNodeLogical(ColCategories, parquet.Repetitions.Required, pqschema.FieldList{elem}, pqschema.NewListLogicalType(), -1)
	if err != nil {
		t.Fatal(err)
	}
	fields := make(pqschema.FieldList, std.NumFields())
	for i := range fields {
		fields[i] = std.Field(i)
		if i == iCategories {
			fields[i] = list
		}
	}
	legacy, err := pqschema.NewGroupNode("schema", parquet.Repetitions.Required, fields, -1)
	if err != nil {
		t.Fatal(err)
	}
	b := lake.NewLocal(t.TempDir())
	in := findingsN(300)
	w := NewWriter(context.Background(), b, "f", Options{RowGroupRows: 128})
	// Its one leaf has the levels of the standard form's: definition 1,
	// repetition 1, so the Writer's levels fit it as they are.
	w.root = legacy
	for i := range in {
		if err := w.Write(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	md := openMeta(t, b, "f/part-00000.parquet")
	if p := md.Schema.Column(iCategories).Path(); p != "categories.array" {
		t.Fatalf("categories leaf %s, want the 2-level categories.array", p)
	}
	got, err := Read(context.Background(), b, "f")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("read %d findings, not the %d written", len(got), len(in))
	}
}
