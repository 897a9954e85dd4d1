package findings

import (
	"bytes"
	"context"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
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
		{"rle run longer than Arrow takes", rle(1<<31, 1), 8, 1, "longer than the decoder takes"},
		{"rle run cut to 32 bits by Arrow", rle(1<<32+3, 1), 8, 1, "longer than the decoder takes"},
		{"rle run of 2^31-1", rle(1<<31-1, 1), 8, 1, ""},
		{"bit-packed run longer than Arrow takes", packed(1<<28, 0xff), 8, 1, "longer than the decoder takes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkRuns(tt.data, tt.n, tt.max)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("checkRuns: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("checkRuns = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// writeProps writes fs with the Writer, uncompressed, with extra
// writer properties (another encoding for a column, say).
func writeProps(t testing.TB, fs []schema.Finding, extra ...parquet.WriterProperty) []byte {
	t.Helper()
	b := lake.NewLocal(t.TempDir())
	w := NewWriter(context.Background(), b, "f", Options{Compression: CodecNone})
	w.props = w.writerProps(compress.Codecs.Uncompressed, extra...)
	for i := range fs {
		if err := w.Write(&fs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(readObject(t, b, "f/part-00000.parquet"))
}

// pageBody returns the offset in data of the body of the first data page
// of column col in row group 0 (a v1 page, uncompressed).
func pageBody(t *testing.T, data []byte, col int) int64 {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := r.MetaData().RowGroup(0).ColumnChunk(col)
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
		t.Fatalf("first page of column %d is %s, want a v1 data page", col, h.Type)
	}
	return off + int64(len(data[off:])-rd.Len())
}

// wantReadError reads data as a findings part and wants an error
// containing want, within 10 s.
func wantReadError(t *testing.T, data []byte, want string) {
	t.Helper()
	got, err := readWithin(t, data)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("read = %d findings, error %v; want an error containing %q", len(got), err, want)
	}
}

// TestReadShortLevels: a page whose definition levels end early is an
// error naming the column and page, not the endless loop of Arrow's level
// decoder. Here every content_id is null, so its levels are one RLE run of
// 50 zeros, which is cut to 10.
func TestReadShortLevels(t *testing.T) {
	in := findingsN(50)
	for i := range in {
		in[i].ContentID = nil
	}
	data := writeProps(t, in)
	body := pageBody(t, data, iContentID)
	if n := binary.LittleEndian.Uint32(data[body:]); n != 2 || data[body+4] != 50<<1 || data[body+5] != 0 {
		t.Fatalf("levels: %d bytes % x, want one RLE run of 50 zeros", n, data[body+4:body+4+int64(n)])
	}
	data[body+4] = 10 << 1
	wantReadError(t, data, "column content_id: page 0: definition levels: levels end before the page's count of values")
}

// TestReadLongRuns: a level run longer than Arrow's decoder takes (which
// it would stop at, then read on from the wrong place: every content_id
// null, or an endless loop) is an error.
func TestReadLongRuns(t *testing.T) {
	in := findingsN(50)
	for i := range in {
		in[i].ContentID = ptr("")
		if i%2 == 0 {
			in[i].ContentID = nil
		}
	}
	data := writeProps(t, in)
	body := pageBody(t, data, iContentID)
	l := int64(binary.LittleEndian.Uint32(data[body:]))
	for _, run := range [][]byte{
		append(binary.AppendUvarint(nil, uint64(1<<32)<<1), 1),            // RLE, 2^32 ones
		append(binary.AppendUvarint(nil, uint64(1<<28)<<1|1), 0xff, 0xff), // bit-packed, 2^28 groups
	} {
		if int64(len(run)) > l {
			t.Fatalf("levels of %d bytes, no room for % x", l, run)
		}
		d := bytes.Clone(data)
		copy(d[body+4:body+4+l], run)
		wantReadError(t, d, "column content_id: page 0: definition levels: a run of")
	}
}

// TestReadDeltaPages: pages in the delta encodings (parquet-go writes
// strings DELTA_LENGTH_BYTE_ARRAY, Spark's v2 writer ints
// DELTA_BINARY_PACKED) read back; one whose header counts fewer values
// than the page holds, on which Arrow's reader loops for ever, is an
// error.
func TestReadDeltaPages(t *testing.T) {
	in := findingsN(50)
	props := []parquet.WriterProperty{
		parquet.WithDictionaryFor(ColRowGroup, false),
		parquet.WithEncodingFor(ColRowGroup, parquet.Encodings.DeltaBinaryPacked),
		parquet.WithEncodingFor(ColRowInFile, parquet.Encodings.DeltaBinaryPacked),
		parquet.WithEncodingFor(ColAuthorID, parquet.Encodings.DeltaBinaryPacked),
		parquet.WithEncodingFor(ColContentID, parquet.Encodings.DeltaByteArray),
	}
	data := writeProps(t, in, props...)
	got, err := readWithin(t, data)
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Fatalf("read %d findings, %v; want the %d written", len(got), err, len(in))
	}
	for _, c := range []struct {
		col  int
		name string
	}{{iRowGroup, ColRowGroup}, {iRowInFile, ColRowInFile}} {
		d := bytes.Clone(data)
		body := pageBody(t, d, c.col)
		// Block size 128, 4 miniblocks, then the count: 50.
		if !bytes.Equal(d[body:body+4], []byte{0x80, 0x01, 0x04, 50}) {
			t.Fatalf("%s: delta header % x", c.name, d[body:body+8])
		}
		d[body+3] = 0
		wantReadError(t, d, "column "+c.name+": page 0: DELTA_BINARY_PACKED values: 0 values for the page's 50 non-null values")
	}
}

// TestReadRefusesHugeRowCounts: the footer's row counts are checked before
// anything is sized by them.
func TestReadRefusesHugeRowCounts(t *testing.T) {
	data := writeProps(t, findingsN(9))
	for _, tt := range []struct {
		rows, total int64
		want        string
	}{
		{9, 9, ""},
		{1 << 24, 1 << 24, "row group 0: 16777216 rows after 0: more than a findings part holds"},
		{1 << 36, 1 << 36, "row group 0: 68719476736 rows after 0: more than a findings part holds"},
		{-1, -1, "row group 0: -1 rows"},
		{9, 10, "the row groups hold 9 rows, the footer says 10"},
		{10, 10, "column snapshot: the chunk holds 9 values for the row group's 10 rows"},
	} {
		d := setRowCounts(t, data, tt.rows, tt.total)
		if tt.want == "" {
			if got, err := readWithin(t, d); err != nil || len(got) != 9 {
				t.Fatalf("read %d findings, %v; want 9", len(got), err)
			}
			continue
		}
		wantReadError(t, d, tt.want)
	}
}

// setRowCounts rewrites data's footer so that row group 0 claims rows
// rows and the file total.
func setRowCounts(t *testing.T, data []byte, rows, total int64) []byte {
	t.Helper()
	fl := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	start := len(data) - 8 - fl
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), data[start:len(data)-8], &md); err != nil {
		t.Fatal(err)
	}
	md.RowGroups[0].NumRows, md.NumRows = rows, total
	foot, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(bytes.Clone(data[:start]), foot...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(foot)))
	return append(out, "PAR1"...)
}
