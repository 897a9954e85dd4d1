package scan

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Builders of hand-made pages for TestChunkReader.

// rleRun is one RLE run of count values v (width <= 8 bits).
func rleRun(count int, v byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(count)<<1), v)
}

// lenPrefixed is v1 definition levels: a 4-byte length, then the runs.
func lenPrefixed(runs ...[]byte) []byte {
	var b []byte
	for _, r := range runs {
		b = append(b, r...)
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func plainInt64(vals ...int64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

type testPage struct {
	h    format.PageHeader
	body []byte // uncompressed (v2: levels then values)
	crc  bool
	edit func(*format.PageHeader) // applied to the header as encoded
}

func dataPage(nv int, enc format.Encoding, body []byte) testPage {
	return testPage{h: format.PageHeader{Type: format.DataPage,
		DataPageHeader: thrift.Null[format.DataPageHeader]{Valid: true, V: format.DataPageHeader{
			NumValues: int32(nv), Encoding: enc, DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE}}}, body: body}
}

func dataPageV2(nv, nulls int, enc format.Encoding, defs, vals []byte) testPage {
	return testPage{h: format.PageHeader{Type: format.DataPageV2,
		DataPageHeaderV2: thrift.Null[format.DataPageHeaderV2]{Valid: true, V: format.DataPageHeaderV2{
			NumValues: int32(nv), NumNulls: int32(nulls), NumRows: int32(nv), Encoding: enc,
			DefinitionLevelsByteLength: int32(len(defs))}}}, body: cat(defs, vals)}
}

func dictPage(nv int, body []byte) testPage {
	return testPage{h: format.PageHeader{Type: format.DictionaryPage,
		DictionaryPageHeader: thrift.Null[format.DictionaryPageHeader]{Valid: true, V: format.DictionaryPageHeader{
			NumValues: int32(nv), Encoding: format.Plain}}}, body: body}
}

// testChunk encodes pages as a column chunk compressed with codec (snappy or
// none).
func testChunk(t *testing.T, codec format.CompressionCodec, pages ...testPage) []byte {
	t.Helper()
	var out []byte
	var proto thrift.CompactProtocol
	for _, p := range pages {
		body := p.body
		if codec == format.Snappy {
			lv := 0
			if p.h.Type == format.DataPageV2 {
				lv = int(p.h.DataPageHeaderV2.V.DefinitionLevelsByteLength)
			}
			body = append(append([]byte(nil), p.body[:lv]...), snappy.Encode(nil, p.body[lv:])...)
		}
		h := p.h
		h.UncompressedPageSize, h.CompressedPageSize = int32(len(p.body)), int32(len(body))
		if p.crc {
			h.CRC = int32(crc32.ChecksumIEEE(body))
		}
		if p.edit != nil {
			p.edit(&h)
		}
		hb, err := thrift.Marshal(&proto, &h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, hb...), body...)
	}
	return out
}

// readChunk reads a whole chunk with a ChunkReader, in reads of step
// values, and returns its values (0 for a null) and validity.
func readChunk(chunk []byte, spec ChunkSpec, step int) ([]int64, []bool, error) {
	var r ChunkReader
	if err := r.Reset(chunk, spec); err != nil {
		return nil, nil, err
	}
	ints, valid := make([]int64, spec.Rows), make([]bool, spec.Rows)
	for i := 0; i < len(valid); i += step {
		j := min(i+step, len(valid))
		if err := r.Read(ints[i:j], nil, valid[i:j]); err != nil {
			return nil, nil, err
		}
	}
	return ints, valid, r.Done()
}

// TestChunkReader: pages that hold what their headers claim decode to
// their values, whatever the size of the reads; every way a page can
// decode short (on which Arrow's reader would spin) or wrong is an error
// naming the page.
func TestChunkReader(t *testing.T) {
	opt := ChunkSpec{Codec: format.Uncompressed, Type: format.Int64, Optional: true, Rows: 4}
	req := opt
	req.Optional = false
	i32 := req
	i32.Type = format.Int32
	four := plainInt64(1, 2, 3, 4)
	deltaVals, err := new(delta.BinaryPackedEncoding).EncodeInt64(nil, []int64{5, 9, 2, 7})
	if err != nil {
		t.Fatal(err)
	}
	delta32, err := new(delta.BinaryPackedEncoding).EncodeInt32(nil, []int32{-5, 9, 2, 7})
	if err != nil {
		t.Fatal(err)
	}
	crcBad := dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))
	crcBad.crc = true
	all := []bool{true, true, true, true}
	tests := []struct {
		name  string
		spec  ChunkSpec
		pages []testPage
		codec format.CompressionCodec
		edit  func([]byte) []byte
		want  string // "" for no error
		ints  []int64
		valid []bool
	}{
		{"plain", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))}, 0, nil, "", []int64{1, 2, 3, 4}, all},
		{"plain, nulls", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(2, 1), rleRun(2, 0)), plainInt64(1, 2)))}, 0, nil, "",
			[]int64{1, 2, 0, 0}, []bool{true, true, false, false}},
		{"plain, nulls first", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(1, 0), rleRun(3, 1)), plainInt64(6, 7, 8)))}, 0, nil, "",
			[]int64{0, 6, 7, 8}, []bool{false, true, true, true}},
		{"two pages", opt, []testPage{
			dataPage(1, format.Plain, cat(lenPrefixed(rleRun(1, 1)), plainInt64(1))),
			dataPage(3, format.Plain, cat(lenPrefixed(rleRun(3, 1)), plainInt64(1, 2, 3)))}, 0, nil, "", []int64{1, 1, 2, 3}, all},
		{"an empty page between", opt, []testPage{
			dataPage(1, format.Plain, cat(lenPrefixed(rleRun(1, 1)), plainInt64(1))),
			dataPage(0, format.Plain, lenPrefixed()),
			dataPage(3, format.Plain, cat(lenPrefixed(rleRun(3, 1)), plainInt64(1, 2, 3)))}, 0, nil, "", []int64{1, 1, 2, 3}, all},
		{"required", req, []testPage{dataPage(4, format.Plain, four)}, 0, nil, "", []int64{1, 2, 3, 4}, all},
		{"int32, sign-extended", i32, []testPage{dataPage(4, format.Plain, cat(
			binary.LittleEndian.AppendUint32(nil, 0xffffffff), binary.LittleEndian.AppendUint32(nil, 2),
			binary.LittleEndian.AppendUint32(nil, 0x80000000), binary.LittleEndian.AppendUint32(nil, 0x7fffffff)))}, 0, nil, "",
			[]int64{-1, 2, -1 << 31, 1<<31 - 1}, all},
		{"snappy, with checksum", opt, []testPage{func() testPage {
			p := dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))
			p.crc = true
			return p
		}()}, format.Snappy, nil, "", []int64{1, 2, 3, 4}, all},
		{"dictionary", opt, []testPage{dictPage(2, plainInt64(7, 8)),
			dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(3, 1), rleRun(1, 0)), []byte{1}, rleRun(2, 1), rleRun(1, 0)))}, 0, nil, "",
			[]int64{8, 8, 7, 0}, []bool{true, true, true, false}},
		{"dictionary, bit-packed indexes", req, []testPage{dictPage(3, plainInt64(7, 8, 9)),
			// One bit-packed group of 8 indexes of 2 bits: 2,1,0,2 then padding.
			dataPage(4, format.RLEDictionary, cat([]byte{2}, []byte{3}, []byte{0b10_00_01_10, 0}))}, 0, nil, "",
			[]int64{9, 8, 7, 9}, all},
		{"delta", opt, []testPage{dataPage(4, format.DeltaBinaryPacked, cat(lenPrefixed(rleRun(4, 1)), deltaVals))}, 0, nil, "", []int64{5, 9, 2, 7}, all},
		{"delta int32", i32, []testPage{dataPage(4, format.DeltaBinaryPacked, delta32)}, 0, nil, "", []int64{-5, 9, 2, 7}, all},
		{"v2", opt, []testPage{dataPageV2(4, 1, format.Plain, cat(rleRun(3, 1), rleRun(1, 0)), plainInt64(1, 2, 3))}, format.Snappy, nil, "",
			[]int64{1, 2, 3, 0}, []bool{true, true, true, false}},
		{"bytes after the last value", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))}, 0,
			func(b []byte) []byte { return append(b, 0xde, 0xad) }, "page 1 (offset 59 in the column chunk): after the row group's last value: header", nil, nil},

		{"levels short", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(3, 1)), four))}, 0, nil, "page 0 (offset 0 in the column chunk): definition levels: runs end", nil, nil},
		{"empty level run", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(0, 1), rleRun(4, 1)), four))}, 0, nil, "definition levels: an empty run", nil, nil},
		{"plain values short", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), plainInt64(1, 2, 3)))}, 0, nil, "4 PLAIN values need 32 bytes, the page has 24", nil, nil},
		{"required values short", req, []testPage{dataPage(4, format.Plain, plainInt64(1))}, 0, nil, "PLAIN values need", nil, nil},
		{"index past the dictionary", opt, []testPage{dictPage(2, plainInt64(7, 8)),
			dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(4, 1)), []byte{2}, rleRun(4, 2)))}, 0, nil, "page 1 (offset 29 in the column chunk): dictionary index 2, the dictionary has 2 values", nil, nil},
		{"indexes short", opt, []testPage{dictPage(2, plainInt64(7, 8)),
			dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(4, 1)), []byte{1}, rleRun(3, 1)))}, 0, nil, "dictionary indexes: runs end", nil, nil},
		{"indexes without a dictionary", opt, []testPage{
			dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(4, 1)), []byte{1}, rleRun(4, 0)))}, 0, nil, "without a dictionary page", nil, nil},
		{"dictionary short", opt, []testPage{dictPage(3, plainInt64(7, 8))}, 0, nil, "dictionary of 3 values in 16 bytes", nil, nil},
		{"two dictionaries", opt, []testPage{dictPage(1, plainInt64(7)), dictPage(1, plainInt64(8))}, 0, nil, "page 1 (offset", nil, nil},
		{"delta short", opt, []testPage{dataPage(4, format.DeltaBinaryPacked, cat(lenPrefixed(rleRun(4, 1)), deltaVals[:3]))}, 0, nil, "DELTA_BINARY_PACKED values", nil, nil},
		{"delta, more values than non-null rows", opt, []testPage{dataPage(4, format.DeltaBinaryPacked, cat(lenPrefixed(rleRun(3, 1), rleRun(1, 0)), deltaVals))}, 0, nil,
			"DELTA_BINARY_PACKED values: 4 values for 3 non-null rows", nil, nil},
		{"more values than rows", opt, []testPage{dataPage(5, format.Plain, cat(lenPrefixed(rleRun(5, 1)), four, plainInt64(5)))}, 0, nil, "claims 5 values; the row group has 4 rows", nil, nil},
		{"fewer values than rows", opt, []testPage{dataPage(2, format.Plain, cat(lenPrefixed(rleRun(2, 1)), plainInt64(1, 2)))}, 0, nil, "hold 2 values but the row group has 4 rows", nil, nil},
		{"a data page after the last value", func() ChunkSpec { s := opt; s.Size = 1 << 20; return s }(), []testPage{
			dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four)),
			dataPage(1, format.Plain, cat(lenPrefixed(rleRun(1, 1)), plainInt64(5)))}, 0, nil,
			"page 1 (offset 59 in the column chunk): the column chunk holds more values than the row group has rows (4)", nil, nil},
		{"v2 null count wrong", opt, []testPage{dataPageV2(4, 2, format.Plain, cat(rleRun(3, 1), rleRun(1, 0)), plainInt64(1, 2, 3))}, 0, nil, "header says 2 nulls, the definition levels 1", nil, nil},
		// arrow-go writes 0 when it keeps no page statistics.
		{"v2 null count 0", opt, []testPage{dataPageV2(4, 0, format.Plain, cat(rleRun(3, 1), rleRun(1, 0)), plainInt64(1, 2, 3))}, 0, nil, "",
			[]int64{1, 2, 3, 0}, []bool{true, true, true, false}},
		{"unsupported encoding", opt, []testPage{dataPage(4, format.ByteStreamSplit, cat(lenPrefixed(rleRun(4, 1)), four))}, 0, nil, "values encoded as BYTE_STREAM_SPLIT", nil, nil},
		{"bit-packed levels", opt, []testPage{func() testPage {
			p := dataPage(4, format.Plain, cat([]byte{0x0f}, four))
			p.h.DataPageHeader.V.DefinitionLevelEncoding = format.BitPacked
			return p
		}()}, 0, nil, "definition levels encoded as BIT_PACKED", nil, nil},
		{"checksum", opt, []testPage{crcBad}, 0, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "checksum mismatch", nil, nil},
		{"wrong uncompressed size", opt, []testPage{func() testPage {
			p := dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))
			p.edit = func(h *format.PageHeader) { h.UncompressedPageSize++ }
			return p
		}()}, format.Snappy, nil, "page 0 (offset 0 in the column chunk): SNAPPY page decompresses to 38 bytes but its header says 39", nil, nil},
		{"page past the chunk", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))}, 0,
			func(b []byte) []byte { return b[:len(b)-1] }, "claims 38 bytes but the column chunk has 37 left", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if tt.codec != 0 {
				spec.Codec = tt.codec
			}
			chunk := testChunk(t, spec.Codec, tt.pages...)
			if tt.edit != nil {
				chunk = tt.edit(chunk)
			}
			for _, step := range []int{1, 3, 4} {
				ints, valid, err := readChunk(chunk, spec, step)
				switch {
				case tt.want == "" && err != nil:
					t.Fatalf("reads of %d: unexpected error: %v", step, err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Fatalf("reads of %d: error %v, want one containing %q", step, err, tt.want)
				case tt.want == "" && (!slices.Equal(ints, tt.ints) || !slices.Equal(valid, tt.valid)):
					t.Fatalf("reads of %d: values %v valid %v, want %v %v", step, ints, valid, tt.ints, tt.valid)
				}
			}
		})
	}
}

// TestChunkReaderInt96: INT96 values come out as their 12 bytes, from
// PLAIN pages and from dictionaries.
func TestChunkReaderInt96(t *testing.T) {
	a, b := bytes.Repeat([]byte{1}, 12), bytes.Repeat([]byte{2}, 12)
	spec := ChunkSpec{Codec: format.Snappy, Type: format.Int96, Optional: true, Rows: 3}
	for name, pages := range map[string][]testPage{
		"plain":      {dataPage(3, format.Plain, cat(lenPrefixed(rleRun(1, 1), rleRun(1, 0), rleRun(1, 1)), a, b))},
		"dictionary": {dictPage(2, cat(a, b)), dataPage(3, format.RLEDictionary, cat(lenPrefixed(rleRun(1, 1), rleRun(1, 0), rleRun(1, 1)), []byte{1}, rleRun(1, 0), rleRun(1, 1)))},
	} {
		var r ChunkReader
		if err := r.Reset(testChunk(t, spec.Codec, pages...), spec); err != nil {
			t.Fatal(err)
		}
		got, valid := make([][12]byte, 3), make([]bool, 3)
		if err := r.Read(nil, got, valid); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := r.Done(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got[0][:], a) || !bytes.Equal(got[2][:], b) || !slices.Equal(valid, []bool{true, false, true}) {
			t.Fatalf("%s: got %v %v", name, got, valid)
		}
	}
}

// TestChunkReaderAsksTooMuch: a read past the row group's rows is an error,
// not a read into the next page's bytes.
func TestChunkReaderAsksTooMuch(t *testing.T) {
	spec := ChunkSpec{Codec: format.Uncompressed, Type: format.Int64, Rows: 2}
	var r ChunkReader
	if err := r.Reset(testChunk(t, spec.Codec, dataPage(2, format.Plain, plainInt64(1, 2))), spec); err != nil {
		t.Fatal(err)
	}
	if err := r.Read(make([]int64, 3), nil, make([]bool, 3)); err == nil {
		t.Fatal("no error reading 3 values of 2")
	}
	if err := r.Done(); err == nil {
		t.Fatal("Done with no value read: no error")
	}
}

// TestChunkReaderLimit: pages must start within the chunk's size; the
// bytes a caller pads the chunk with (for PARQUET-816) are read only as
// the end of a page that started inside, and a first dictionary page
// moves the limit by its header's length.
func TestChunkReaderLimit(t *testing.T) {
	spec := ChunkSpec{Codec: format.Uncompressed, Type: format.Int64, Rows: 4}
	first := testChunk(t, spec.Codec, dataPage(2, format.Plain, plainInt64(1, 2)))
	next := testChunk(t, spec.Codec, dataPage(2, format.Plain, plainInt64(3, 4)))
	both := cat(first, next)

	// The whole chunk: four values.
	s := spec
	s.Size = int64(len(both))
	if ints, _, err := readChunk(cat(both, []byte{0xde, 0xad}), s, 4); err != nil || !slices.Equal(ints, []int64{1, 2, 3, 4}) {
		t.Fatalf("padded chunk: %v %v", ints, err)
	}
	// A chunk whose size covers only its first page, padded with the next
	// chunk's bytes: those are not its values.
	s.Size = int64(len(first))
	if _, _, err := readChunk(both, s, 4); err == nil || !strings.Contains(err.Error(), "pages hold 2 values but the row group has 4 rows") {
		t.Fatalf("short chunk, padded: %v, want an error", err)
	}

	// PARQUET-816: the size leaves the dictionary page header out.
	dict := testChunk(t, spec.Codec, dictPage(2, plainInt64(7, 8)))
	data := testChunk(t, spec.Codec, dataPage(4, format.RLEDictionary, cat([]byte{1}, rleRun(4, 1))))
	_, hl, err := readPageHeader(dict)
	if err != nil {
		t.Fatal(err)
	}
	s.Size = int64(len(dict) + len(data) - hl)
	if ints, _, err := readChunk(cat(dict, data, make([]byte, 100)), s, 4); err != nil || !slices.Equal(ints, []int64{8, 8, 8, 8}) {
		t.Fatalf("PARQUET-816 chunk: %v %v", ints, err)
	}
}

// FuzzChunkReader feeds arbitrary bytes to a ChunkReader as a column chunk
// of each type, optional or not: it must give the row group's values or
// an error naming a page — never a panic, a hang or a read past a page.
//
//	go test ./scan -run '^$' -fuzz FuzzChunkReader -fuzztime 60s -fuzzminimizetime 200x
func FuzzChunkReader(f *testing.F) {
	t := &testing.T{}
	four := plainInt64(1, 2, 3, 4)
	deltaVals, _ := new(delta.BinaryPackedEncoding).EncodeInt64(nil, []int64{5, 9, 2, 7})
	for _, c := range [][]byte{
		testChunk(t, format.Uncompressed, dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))),
		testChunk(t, format.Snappy, dictPage(2, plainInt64(7, 8)), dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(4, 1)), []byte{1}, rleRun(4, 1)))),
		testChunk(t, format.Uncompressed, dataPage(4, format.DeltaBinaryPacked, cat(lenPrefixed(rleRun(4, 1)), deltaVals))),
		testChunk(t, format.Snappy, dataPageV2(4, 1, format.Plain, cat(rleRun(3, 1), rleRun(1, 0)), plainInt64(1, 2, 3))),
	} {
		f.Add(c, uint8(1), true, uint16(4), uint8(1), uint8(3))
	}
	f.Fuzz(func(t *testing.T, chunk []byte, typ uint8, optional bool, rows uint16, codec uint8, step uint8) {
		types := []format.Type{format.Int32, format.Int64, format.Int96}
		codecs := []format.CompressionCodec{format.Uncompressed, format.Snappy, format.Gzip, format.Zstd, format.Lz4Raw}
		spec := ChunkSpec{Codec: codecs[int(codec)%len(codecs)], Type: types[int(typ)%len(types)], Optional: optional, Rows: int64(rows)}
		var r ChunkReader
		if err := r.Reset(chunk, spec); err != nil {
			t.Fatal(err)
		}
		n := max(1, int(step))
		ints, i96, valid := make([]int64, n), make([][12]byte, n), make([]bool, n)
		for left := int(rows); left > 0; {
			k := min(n, left)
			var err error
			if spec.Type == format.Int96 {
				err = r.Read(nil, i96[:k], valid[:k])
			} else {
				err = r.Read(ints[:k], nil, valid[:k])
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "page ") && !strings.Contains(err.Error(), "the column chunk's pages hold") {
					t.Fatalf("error does not name a page: %v", err)
				}
				return
			}
			for i, v := range ints[:k] {
				if spec.Type == format.Int32 && valid[i] && v != int64(int32(v)) {
					t.Fatalf("INT32 value %d out of range", v)
				}
			}
			left -= k
		}
		_ = r.Done()
	})
}

// FuzzDeltaReader: where parquet-go's decoder and deltaReader both decode
// a DELTA_BINARY_PACKED page to as many values, they are the same values.
//
//	go test ./scan -run '^$' -fuzz FuzzDeltaReader -fuzztime 60s
func FuzzDeltaReader(f *testing.F) {
	var e delta.BinaryPackedEncoding
	for _, vals := range deltaCases() {
		b, _ := e.EncodeInt64(nil, vals)
		f.Add(b, true)
		v32 := make([]int32, len(vals))
		for i, v := range vals {
			v32[i] = int32(v)
		}
		b, _ = e.EncodeInt32(nil, v32)
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, wide bool) {
		// Bound parquet-go's allocation, which the header's count sizes.
		count := uint64(0)
		rest := data
		for range 3 {
			v, k := binary.Uvarint(rest)
			if k <= 0 {
				return
			}
			count, rest = v, rest[k:]
		}
		if count > 1<<16 {
			return
		}
		var want []int64
		typ := format.Int32
		if wide {
			typ = format.Int64
			w, err := e.DecodeInt64(nil, data)
			if err != nil {
				return
			}
			want = w
		} else {
			w, err := e.DecodeInt32(nil, data)
			if err != nil {
				return
			}
			for _, v := range w {
				want = append(want, int64(v))
			}
		}
		got, err := deltaAll(data, typ, len(want))
		if err != nil {
			return // stricter than parquet-go (missing bytes, widths)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("deltaReader %v, parquet-go %v", got, want)
		}
	})
}
