package findings

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// TestPartInvisibleWhileStreaming: a part is uploaded while it is encoded,
// but no reader of the bucket sees it (nor a temporary file) before its
// footer is written, and Abort in the middle leaves nothing behind.
func TestPartInvisibleWhileStreaming(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(fmt.Sprintf("abort=%t", abort), func(t *testing.T) {
			root := t.TempDir()
			b := lake.NewLocal(root)
			w := NewWriter(context.Background(), b, "f", Options{MaxRows: 100, RowGroupRows: 4})
			in := findingsN(40) // 10 row groups streamed, part not finished
			for i := range in {
				if err := w.Write(&in[i]); err != nil {
					t.Fatal(err)
				}
			}
			if got := objects(t, b); len(got) != 0 {
				t.Fatalf("while streaming the bucket lists %v", got)
			}
			if abort {
				if err := w.Abort(); err != nil {
					t.Fatal(err)
				}
				var files []string
				filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						files = append(files, p)
					}
					return nil
				})
				if len(files) != 0 {
					t.Fatalf("after Abort files are left: %v", files)
				}
				return
			}
			out, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			if want := []schema.OutputFile{{Path: "f/part-00000.parquet", Rows: 40}}; !reflect.DeepEqual(out, want) {
				t.Fatalf("outputs %v, want %v", out, want)
			}
			got, err := Read(context.Background(), b, "f")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, in) {
				t.Fatal("read back differs from what was written")
			}
		})
	}
}

// TestDictionaryColumns: the low-cardinality string columns round-trip
// through the dictionary path with nulls, empty strings and repeats, in
// every row group, also when one row group's dictionary is too large for
// it (long source file names) and the column is written as plain strings;
// and they carry no column statistics (rather than Arrow's wrong ones).
func TestDictionaryColumns(t *testing.T) {
	long := strings.Repeat("x", 2100) // 128 of them exceed maxDictBytes
	tests := []struct {
		name  string
		n     int
		file  func(i int) string
		plain bool // the source_file dictionary exceeds maxDictBytes
	}{
		{"few files", 500, func(i int) string { return fmt.Sprintf("s3://b/part-%d.parquet", i%3) }, false},
		{"one file", 500, func(int) string { return "a.parquet" }, false},
		{"huge dictionary", 300, func(i int) string { return fmt.Sprintf("s3://b/%s/%05d.parquet", long, i) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := 128 * len(tt.file(0)); (got > maxDictBytes) != tt.plain {
				t.Fatalf("test setup: %d bytes of names vs maxDictBytes %d", got, maxDictBytes)
			}
			in := findingsN(tt.n)
			for i := range in {
				in[i].SourceFile = tt.file(i)
				if i%5 == 0 {
					p := []string{"facebook", "instagram", "", "threads"}[i/5%4]
					in[i].Platform = &p
				}
			}
			b := lake.NewLocal(t.TempDir())
			writeAll(t, b, "f", Options{RowGroupRows: 128}, in)
			got, err := Read(context.Background(), b, "f")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, in) {
				for i := range got {
					if !reflect.DeepEqual(got[i], in[i]) {
						t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], in[i])
					}
				}
				t.Fatalf("read %d rows, wrote %d", len(got), len(in))
			}

			md := openMeta(t, b, "f/part-00000.parquet")
			for rg := range md.RowGroups {
				for _, col := range []int{iSnapshot, iPlatform, iContentType, iVisibility, iCategories, iSourceFile} {
					cc, err := md.RowGroup(rg).ColumnChunk(col)
					if err != nil {
						t.Fatal(err)
					}
					if ok, _ := cc.StatsSet(); ok {
						t.Errorf("row group %d column %s has statistics", rg, cc.PathInSchema())
					}
				}
				// The other columns keep theirs.
				cc, _ := md.RowGroup(rg).ColumnChunk(iContentID)
				if ok, _ := cc.StatsSet(); !ok {
					t.Errorf("row group %d: content_id has no statistics", rg)
				}
			}
		})
	}
}
