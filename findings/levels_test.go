package findings

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/corpus-audit/corpus-audit/lake"
)

func TestCheckRuns(t *testing.T) {
	rle := func(count int, v byte) []byte { return append(binary.AppendUvarint(nil, uint64(count)<<1), v) }
	packed := func(groups int, b ...byte) []byte {
		return append(binary.AppendUvarint(nil, uint64(groups)<<1|1), b...)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name    string
		data    []byte
		n       int
		max     int16
		wantErr string
	}{
		{"rle", rle(10, 1), 10, 1, ""},
		{"rle, more than needed", rle(10, 1), 4, 1, ""},
		{"two runs", cat(rle(3, 0), rle(3, 2)), 6, 2, ""},
		{"bit-packed 1 bit", packed(1, 0xff), 8, 1, ""},
		{"bit-packed 2 bits, cut after the needed levels", packed(2, 0x55), 4, 2, ""},
		{"no levels needed", nil, 0, 1, ""},
		{"rle short", rle(3, 1), 4, 1, "levels end before"},
		{"no bytes", nil, 1, 1, "levels end before"},
		{"rle value missing", binary.AppendUvarint(nil, 3<<1), 3, 1, "levels end before"},
		{"bit-packed short", packed(2, 0xff), 9, 1, "levels end before"},
		{"empty run", cat(rle(0, 1), rle(3, 1)), 3, 1, "an empty run"},
		{"rle above max", rle(3, 2), 3, 1, "level 2 above the column's 1"},
		{"bit-packed above max", packed(1, 0xff, 0xff), 8, 2, "level 3 above the column's 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkRuns(tt.data, tt.n, tt.max)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("checkRuns: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("checkRuns = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestReadShortLevels: a page whose definition levels end early is an
// error naming the column and page, not the endless loop of Arrow's level
// decoder. Here every content_id is null, so its levels are one RLE run of
// 50 zeros, which is cut to 10.
func TestReadShortLevels(t *testing.T) {
	b := lake.NewLocal(t.TempDir())
	in := findingsN(50)
	for i := range in {
		in[i].ContentID = nil
	}
	writeAll(t, b, "f", Options{Compression: CodecNone}, in)
	data := bytes.Clone(readObject(t, b, "f/part-00000.parquet"))
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := r.MetaData().RowGroup(0).ColumnChunk(iContentID)
	if err != nil {
		t.Fatal(err)
	}
	off := cc.DataPageOffset()
	var h format.PageHeader
	rd := bytes.NewReader(data[off:])
	if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(rd)).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.Type != format.DataPage {
		t.Fatalf("first page of %s is %s, want a v1 data page", ColContentID, h.Type)
	}
	body := off + int64(len(data[off:])-rd.Len())
	if n := binary.LittleEndian.Uint32(data[body:]); n != 2 || data[body+4] != 50<<1 || data[body+5] != 0 {
		t.Fatalf("levels: %d bytes % x, want one RLE run of 50 zeros", n, data[body+4:body+4+int64(n)])
	}
	data[body+4] = 10 << 1
	got, err := readWithin(t, data)
	want := "column content_id: page 0: definition levels: levels end before the page's count of values"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("read = %d findings, error %v; want an error containing %q", len(got), err, want)
	}
}
