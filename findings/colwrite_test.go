package findings

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// TestSameBytesAsPqarrow checks that the Writer's own column writes give
// the bytes pqarrow.WriteArrowToColumn gives for the same arrays: nulls
// in every optional column, empty strings, dictionaries past
// maxDictBytes (written as plain strings), long values, every codec, and
// row groups and parts of several sizes.
func TestSameBytesAsPqarrow(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	in := make([]schema.Finding, 6000)
	for i := range in {
		in[i] = finding(i)
		f := &in[i]
		switch r.IntN(5) {
		case 0:
			f.ContentID = ptr(strings.Repeat("x", r.IntN(3000)))
		case 1:
			f.SourceFile = fmt.Sprintf("s3://corpus/part-%05d-%s.parquet", r.IntN(4000), strings.Repeat("s", 100))
			f.ContentType = ptr(fmt.Sprintf("type-%d", r.IntN(2000)))
		case 2:
			f.Platform = nil
			f.Visibility = ptr(strings.Repeat("v", r.IntN(200)))
		case 3:
			f.Snapshot = fmt.Sprintf("snap-%d", r.IntN(3))
			f.Categories = []schema.Category{schema.Category(fmt.Sprintf("c%d", r.IntN(5))), schema.Objected}
		}
	}
	viaPqarrow := func(w *Writer, cw file.ColumnChunkWriter, arr arrow.Array, def, rep []int16) error {
		props := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(w.mem))
		ctx := pqarrow.NewArrowWriteContext(context.Background(), &props)
		nullable := def != nil && rep == nil
		return pqarrow.WriteArrowToColumn(ctx, cw, arr, def, rep, nullable)
	}
	for _, c := range []struct {
		o      Options
		direct bool // dictionaries written as they are (else writeDense)
	}{
		{Options{MaxRows: 2500, RowGroupRows: 700}, true},
		{Options{MaxRows: 2500, RowGroupRows: 700}, false},
		{Options{RowGroupRows: 64, Compression: CodecNone}, true},
		{Options{Compression: CodecSnappy}, true},
		{Options{Compression: CodecGzip}, false},
		{Options{MaxRows: 1}, true},
	} {
		o := c.o
		t.Run(fmt.Sprintf("%+v direct=%v", o, c.direct), func(t *testing.T) {
			defer func(old bool) { dictDirect = old }(dictDirect)
			write := func(leaf func(*Writer, file.ColumnChunkWriter, arrow.Array, []int16, []int16) error) [][]byte {
				defer func(old func(*Writer, file.ColumnChunkWriter, arrow.Array, []int16, []int16) error) { writeLeaf = old }(writeLeaf)
				writeLeaf = leaf
				b := lake.NewLocal(t.TempDir())
				fs := in
				if o.MaxRows == 1 {
					fs = in[:20]
				}
				var parts [][]byte
				for _, out := range writeAll(t, b, "f", o, fs) {
					parts = append(parts, readObject(t, b, out.Path))
				}
				return parts
			}
			dictDirect = c.direct
			own := write(writeLeaf)
			dictDirect = true
			theirs := write(viaPqarrow)
			if len(own) != len(theirs) || len(own) == 0 {
				t.Fatalf("parts: %d written here, %d through pqarrow", len(own), len(theirs))
			}
			for i := range own {
				if !bytes.Equal(own[i], theirs[i]) {
					t.Errorf("part %d: %d bytes written here, %d through pqarrow: they differ", i, len(own[i]), len(theirs[i]))
				}
			}
		})
	}
}
