package scan

import (
	"bytes"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestMinCreated(t *testing.T) {
	type row struct {
		ContentID   string `parquet:"content_id"`
		AuthorID    *int64 `parquet:"author_id,optional"`
		Platform    string `parquet:"platform"`
		ContentType string `parquet:"content_type"`
		Visibility  string `parquet:"visibility"`
		CreatedAt   *int64 `parquet:"created_at,optional,timestamp(millisecond)"`
	}
	ms := func(v int64) *int64 { return &v }
	tests := []struct {
		name   string
		groups [][]*int64 // created_at per row, per row group
		want   int64      // micros
		ok     bool
	}{
		{"one group", [][]*int64{{ms(5000), ms(-3000), ms(7)}}, -3_000_000, true},
		{"min in a later group", [][]*int64{{ms(5000)}, {ms(10), nil}}, 10_000, true},
		{"a group of nulls only", [][]*int64{{nil, nil}, {ms(2000)}}, 2_000_000, true},
		{"all null", [][]*int64{{nil}}, 0, false},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[row](&buf)
		for _, g := range tc.groups {
			for _, c := range g {
				if _, err := w.Write([]row{{ContentID: "x", CreatedAt: c}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), tc.name, defaultCols)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := f.MinCreated()
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s: MinCreated = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
