package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// defaultCols maps every audit column to its default name.
var defaultCols = Columns{
	ContentID:   "content_id",
	AuthorID:    "author_id",
	Platform:    "platform",
	ContentType: "content_type",
	Visibility:  "visibility",
	CreatedAt:   "created_at",
}

func ptr[T any](v T) *T { return &v }

// row is one decoded row, nulls as nil, for comparisons.
type row struct {
	ID          any // nil, string or int64
	Author      *int64
	Platform    *string
	ContentType *string
	Visibility  *string
	Created     *int64 // microseconds
}

func (r row) String() string {
	f := func(v any) string {
		rv := reflect.ValueOf(v)
		if !rv.IsValid() || (rv.Kind() == reflect.Pointer && rv.IsNil()) {
			return "null"
		}
		if rv.Kind() == reflect.Pointer {
			return fmt.Sprint(rv.Elem().Interface())
		}
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("{id=%s author=%s platform=%s type=%s vis=%s created=%s}",
		f(r.ID), f(r.Author), f(r.Platform), f(r.ContentType), f(r.Visibility), f(r.Created))
}

// batchRows converts a decoded batch to rows, checking the batch's shape.
func batchRows(t testing.TB, b *Batch) []row {
	t.Helper()
	checkLen(t, b, "ContentID.Valid", len(b.ContentID.Valid))
	if b.ContentID.IsInt {
		checkLen(t, b, "ContentID.Int", len(b.ContentID.Int))
	} else {
		checkLen(t, b, "ContentID.Offsets-1", len(b.ContentID.Offsets)-1)
	}
	rows := rowsNoID(t, b)
	setIDs(t, rows, &b.ContentID)
	return rows
}

// checkLen fails t unless a column of b named name, of length l, has b.N
// rows.
func checkLen(t testing.TB, b *Batch, name string, l int) {
	t.Helper()
	if l != b.N {
		t.Fatalf("%s has length %d, batch N = %d", name, l, b.N)
	}
}

// setIDs sets rows[i].ID from ids (entry i).
func setIDs(t testing.TB, rows []row, ids *IDs) {
	t.Helper()
	for i := range rows {
		r := &rows[i]
		if ids.Valid[i] {
			if ids.IsInt {
				r.ID = ids.Int[i]
			} else {
				r.ID = string(ids.Data[ids.Offsets[i]:ids.Offsets[i+1]])
			}
		} else if !ids.IsInt && ids.Offsets[i] != ids.Offsets[i+1] {
			t.Fatalf("row %d: null content_id with bytes", i)
		}
	}
}

// rowsNoID converts a batch to rows without their content ids, checking
// the batch's shape.
func rowsNoID(t testing.TB, b *Batch) []row {
	t.Helper()
	n := b.N
	check := func(name string, l int) { t.Helper(); checkLen(t, b, name, l) }
	check("Author", len(b.Author))
	check("AuthorValid", len(b.AuthorValid))
	check("Created", len(b.Created))
	check("CreatedValid", len(b.CreatedValid))
	check("Platform.Codes", len(b.Platform.Codes))
	check("ContentType.Codes", len(b.ContentType.Codes))
	check("Visibility.Codes", len(b.Visibility.Codes))
	for _, s := range []*Strings{&b.Platform, &b.ContentType, &b.Visibility} {
		seen := map[string]bool{}
		for _, v := range s.Dict {
			if seen[v] {
				t.Fatalf("Dict holds %q twice: %q", v, s.Dict)
			}
			seen[v] = true
		}
	}
	str := func(s *Strings, i int) *string {
		c := s.Codes[i]
		if c == -1 {
			return nil
		}
		if c < 0 || int(c) >= len(s.Dict) {
			t.Fatalf("code %d out of Dict of %d", c, len(s.Dict))
		}
		return ptr(s.Dict[c])
	}
	rows := make([]row, n)
	for i := range rows {
		r := &rows[i]
		if b.AuthorValid[i] {
			r.Author = ptr(b.Author[i])
		}
		if b.CreatedValid[i] {
			r.Created = ptr(b.Created[i])
		}
		r.Platform = str(&b.Platform, i)
		r.ContentType = str(&b.ContentType, i)
		r.Visibility = str(&b.Visibility, i)
	}
	return rows
}

// streamRows reads every row group of f with OpenRowGroup and NextRows,
// slice rows at a time, then ContentIDs for all of its rows, checking the
// batches' headers. It reads f three times, which must agree: with
// content_id fetched with the other columns, and after them (as a chunk
// of 1 MiB or more is, see File.deferIDBytes), both with the chunks of
// the test files, much smaller than the default window, fetched whole;
// then with every chunk File.streams picks read through a window of one
// byte (File.SetReadWindow: a page at a time), without and with each next
// window read ahead (File.SetWindowAhead).
func streamRows(t testing.TB, f *File, slice int) ([]row, error) {
	t.Helper()
	defer func(d, w int64, a bool) { f.deferIDBytes, f.window, f.windowAhead = d, w, a }(f.deferIDBytes, f.window, f.windowAhead)
	f.deferIDBytes = coalesceGap
	rows, err := streamRowsOnce(t, f, slice)
	for _, v := range []struct {
		what            string
		deferID, window int64
		ahead           bool
	}{
		{"content_id fetched last", 0, DefaultReadWindow, false},
		{"content_id fetched last, chunks streamed a page at a time", 0, 1, false},
		{"content_id fetched last, chunks streamed a page at a time, read ahead", 0, 1, true},
	} {
		f.deferIDBytes, f.window, f.windowAhead = v.deferID, v.window, v.ahead
		vrows, verr := streamRowsOnce(t, f, slice)
		if (err == nil) != (verr == nil) {
			t.Fatalf("streamed: %v; with %s: %v", err, v.what, verr)
		}
		if err == nil {
			compareRows(t, vrows, rows)
		}
	}
	return rows, err
}

func streamRowsOnce(t testing.TB, f *File, slice int) ([]row, error) {
	t.Helper()
	var all []row
	b := Batch{LazyContentID: true}
	defer b.DropPrefetch()
	for rg := 0; rg < f.NumRowGroups(); rg++ {
		if err := f.OpenRowGroup(rg, &b); err != nil {
			return all, err
		}
		var rows []row
		for {
			n, err := f.NextRows(&b, slice)
			if err != nil {
				return all, err
			}
			if n == 0 {
				break
			}
			if b.Start != len(rows) || b.N != n || n > slice || b.RowGroup != rg || b.FirstRow != f.firstRow[rg] {
				t.Fatalf("row group %d: slice at %d of %d rows (max %d), batch says start %d rg %d first %d",
					rg, len(rows), n, slice, b.Start, b.RowGroup, b.FirstRow)
			}
			rows = append(rows, rowsNoID(t, &b)...)
		}
		if int64(len(rows)) != f.RowGroupRows(rg) {
			t.Fatalf("row group %d: slices hold %d rows, the footer says %d", rg, len(rows), f.RowGroupRows(rg))
		}
		want := make([]int32, len(rows))
		for i := range want {
			want[i] = int32(i)
		}
		var ids IDs
		if err := f.ContentIDs(&b, want, &ids); err != nil {
			return all, err
		}
		setIDs(t, rows, &ids)
		all = append(all, rows...)
	}
	return all, nil
}

// countingReader counts ReadAt calls and bytes.
type countingReader struct {
	r     io.ReaderAt
	calls atomic.Int64
	bytes atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls.Add(1)
	n, err := c.r.ReadAt(p, off)
	c.bytes.Add(int64(n))
	return n, err
}

// readAll opens data and decodes every row group, checking batch metadata.
func readAll(t testing.TB, data []byte, cols Columns) ([]row, *File, error) {
	t.Helper()
	f, err := Open(bytes.NewReader(data), int64(len(data)), "mem://test.parquet", cols)
	if err != nil {
		return nil, nil, err
	}
	var all []row
	var b Batch
	var first int64
	for i := 0; i < f.NumRowGroups(); i++ {
		if err := f.ReadRowGroup(i, &b); err != nil {
			// Streamed, the file fails too.
			if _, serr := streamRows(t, f, 3); serr == nil {
				t.Fatalf("ReadRowGroup failed (%v), streaming did not", err)
			}
			return all, f, err
		}
		if b.RowGroup != i || b.FirstRow != first || int64(b.N) != f.RowGroupRows(i) || b.File != "mem://test.parquet" {
			t.Fatalf("batch header: rg %d first %d n %d file %q; want rg %d first %d n %d", b.RowGroup, b.FirstRow, b.N, b.File, i, first, f.RowGroupRows(i))
		}
		first += int64(b.N)
		all = append(all, batchRows(t, &b)...)
	}
	if first != f.NumRows() {
		t.Fatalf("row groups hold %d rows, NumRows says %d", first, f.NumRows())
	}
	// Streamed a slice at a time, the rows are the same.
	for _, slice := range []int{3, 1000} {
		got, err := streamRows(t, f, slice)
		if err != nil {
			t.Fatalf("streamed %d rows at a time: %v (ReadRowGroup read the file)", slice, err)
		}
		compareRows(t, got, all)
	}
	return all, f, nil
}

func compareRows(t testing.TB, got, want []row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	bad := 0
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d:\n got  %v\n want %v", i, got[i], want[i])
			if bad++; bad > 5 {
				t.FailNow()
			}
		}
	}
}

// wantError checks that err is a *Error whose message contains every part.
func wantError(t testing.TB, err error, parts ...string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *scan.Error", err, err)
	}
	msg := err.Error()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("error %q does not contain %q", msg, p)
		}
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error is not one line: %q", msg)
	}
	return se
}

// --- parquet-go writer helpers ---

// pgCol is one column of a file written with parquet-go: value(i) gives
// row i's value (nil for null).
type pgCol struct {
	name  string
	node  parquet.Node
	value func(i int) any
}

// writePG writes n rows with parquet-go, flushing a row group every rgRows
// rows (0: one row group).
func writePG(t testing.TB, cols []pgCol, n, rgRows int, opts ...parquet.WriterOption) []byte {
	t.Helper()
	g := parquet.Group{}
	for _, c := range cols {
		g[c.name] = c.node
	}
	sch := parquet.NewSchema("corpus", g)
	leaves := make([]parquet.LeafColumn, len(cols))
	for k, c := range cols {
		l, ok := sch.Lookup(c.name)
		if !ok {
			t.Fatalf("no leaf %q", c.name)
		}
		leaves[k] = l
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, append([]parquet.WriterOption{sch}, opts...)...)
	rows := make([]parquet.Row, 0, 256)
	flush := func() {
		if len(rows) == 0 {
			return
		}
		if _, err := w.WriteRows(rows); err != nil {
			t.Fatal(err)
		}
		rows = rows[:0]
	}
	for i := 0; i < n; i++ {
		r := make(parquet.Row, len(cols))
		for k, c := range cols {
			l := leaves[k]
			v := c.value(i)
			if v == nil {
				r[l.ColumnIndex] = parquet.NullValue().Level(0, 0, l.ColumnIndex)
			} else {
				r[l.ColumnIndex] = parquet.ValueOf(v).Level(0, l.MaxDefinitionLevel, l.ColumnIndex)
			}
		}
		rows = append(rows, r)
		if len(rows) == cap(rows) {
			flush()
		}
		if rgRows > 0 && (i+1)%rgRows == 0 && i+1 < n {
			flush()
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	flush()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
