package lookup

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// editFooter returns data with its footer decoded, edited and encoded
// again.
func editFooter(t *testing.T, data []byte, edit func(*format.FileMetaData)) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	start := len(data) - 8 - n
	var md format.FileMetaData
	var proto thrift.CompactProtocol
	if err := thrift.Unmarshal(&proto, data[start:len(data)-8], &md); err != nil {
		t.Fatal(err)
	}
	edit(&md)
	b, err := thrift.Marshal(&proto, &md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(bytes.Clone(data[:start]), b...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
	return append(out, parquetMagic...)
}

// TestFooterRowCounts: a footer whose row counts disagree with the column
// chunks is an error, whichever way it disagrees — never rows read from
// the next column's chunk, nor rows skipped.
func TestFooterRowCounts(t *testing.T) {
	dir := t.TempDir()
	// Two row groups of two links each.
	writeParquet(t, dir+"/l.parquet", 2, linkCols([]any{int64(1), int64(2), int64(3), int64(4)}, []any{int64(10), int64(20), int64(30), int64(40)}))
	data, err := os.ReadFile(dir + "/l.parquet")
	if err != nil {
		t.Fatal(err)
	}
	setRows := func(rg int, rows int64, values bool) func(*format.FileMetaData) {
		return func(md *format.FileMetaData) {
			md.NumRows += rows - md.RowGroups[rg].NumRows
			md.RowGroups[rg].NumRows = rows
			if values {
				for i := range md.RowGroups[rg].Columns {
					md.RowGroups[rg].Columns[i].MetaData.NumValues = rows
				}
			}
		}
	}
	tests := []struct {
		name string
		edit func(*format.FileMetaData)
		want string
	}{
		{"intact", func(*format.FileMetaData) {}, ""},
		{"more rows than values", setRows(0, 4, false), "row group 0: the column chunk's metadata counts 2 values for the row group's 4 rows"},
		{"more rows and values than the pages hold", setRows(0, 4, true), "row group 0: the column chunk's pages hold 2 values but the row group has 4 rows"},
		{"an empty row group with values", setRows(0, 0, true), "row group 0: page 1 (offset"},
		{"a last empty row group with values", setRows(1, 0, true), "row group 1: page 1 (offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "links.parquet")
			if err := os.WriteFile(p, editFooter(t, data, tt.edit), 0o644); err != nil {
				t.Fatal(err)
			}
			var got [][2]int64
			_, err := readTable(context.Background(), open(t, p), linksSpec, func(b *batch) error {
				for i := range b.n {
					got = append(got, [2]int64{b.cols[0].ids[i], b.cols[1].ids[i]})
				}
				return nil
			})
			if tt.want == "" {
				if err != nil || len(got) != 4 || got[3] != [2]int64{4, 40} {
					t.Fatalf("read %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "links.parquet") {
				t.Fatalf("read %v, error %v; want an error naming the file and containing %q", got, err, tt.want)
			}
		})
	}
}
