package scan

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// TestStreamExtraPages: a column with whole pages past the row group's row
// count fails when streamed, as it does when read whole, although no slice
// needs those pages. (The page headers' counts are checked when the row
// group is opened; NextRows also reads every column to its end before it
// returns 0. The file has author_id only, so that content_id's own checks
// cannot stand in for these.)
func TestStreamExtraPages(t *testing.T) {
	type rec struct {
		Author int64 `parquet:"author_id"`
	}
	rows := make([]rec, 1000)
	for i := range rows {
		rows[i].Author = int64(i * 7919)
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[rec](&buf, parquet.PageBufferSize(512))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()

	// The first page's value count.
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	pages := pf.RowGroups()[0].ColumnChunks()[0].Pages()
	p, err := pages.ReadPage()
	if err != nil {
		t.Fatal(err)
	}
	first := p.NumRows()
	pages.Close()
	if first <= 0 || first >= int64(len(rows)) {
		t.Fatalf("first page holds %d rows: want several pages", first)
	}
	short := withFooter(t, data, func(m *format.FileMetaData) {
		m.RowGroups[0].NumRows = first
		m.NumRows = first
	})

	var m [numRoles]string
	m[roleAuthorID] = "author_id"
	f, err := open(bytes.NewReader(short), int64(len(short)), "short.parquet", m)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	wantError(t, f.ReadRowGroup(0, &b), "row group 0", fmt.Sprintf("more values than the row group's %d rows", first))
	for _, slice := range []int{1, 7, int(first), 1 << 16} {
		t.Run(fmt.Sprint(slice), func(t *testing.T) {
			b := Batch{LazyContentID: true}
			err := f.OpenRowGroup(0, &b)
			got := 0
			for err == nil {
				var n int
				if n, err = f.NextRows(&b, slice); n == 0 && err == nil {
					t.Fatalf("all %d rows streamed without an error", got)
				}
				got += n
			}
			wantError(t, err, "column author_id", "row group 0", fmt.Sprintf("more values than the row group's %d rows", first))
			if b.N != 0 {
				t.Errorf("after the error the batch holds %d rows", b.N)
			}
		})
	}
}

// TestStreamMisuse: NextRows without OpenRowGroup, OpenRowGroup without
// LazyContentID and ContentIDs before the last NextRows are errors, not
// wrong answers.
func TestStreamMisuse(t *testing.T) {
	data := validFile(t)
	f, err := Open(bytes.NewReader(data), int64(len(data)), "ok.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{LazyContentID: true}
	if _, err := f.NextRows(&b, 10); err == nil {
		t.Error("NextRows without OpenRowGroup: no error")
	}
	if err := f.OpenRowGroup(0, &Batch{}); err == nil {
		t.Error("OpenRowGroup without LazyContentID: no error")
	}
	if err := f.OpenRowGroup(0, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := f.NextRows(&b, 10); err != nil {
		t.Fatal(err)
	}
	if err := f.ContentIDs(&b, []int32{0}, new(IDs)); err == nil {
		t.Error("ContentIDs before the row group was read to its end: no error")
	}
}
