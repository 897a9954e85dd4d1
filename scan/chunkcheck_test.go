package scan

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Builders of hand-made pages for TestCheckColumnChunk.

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

// TestCheckColumnChunk: pages that hold what their headers claim pass;
// every way a page can decode short (on which Arrow's reader would spin)
// or wrong is an error naming the page.
func TestCheckColumnChunk(t *testing.T) {
	opt := ChunkSpec{Codec: format.Uncompressed, Type: format.Int64, Optional: true, Rows: 4}
	req := opt
	req.Optional = false
	four := plainInt64(1, 2, 3, 4)
	deltaVals, err := new(delta.BinaryPackedEncoding).EncodeInt64(nil, []int64{5, 9, 2, 7})
	if err != nil {
		t.Fatal(err)
	}
	crcBad := dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))
	crcBad.crc = true
	tests := []struct {
		name  string
		spec  ChunkSpec
		pages []testPage
		codec format.CompressionCodec
		edit  func([]byte) []byte
		want  string // "" for no error
	}{
		{"plain", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))}, 0, nil, ""},
		{"plain, nulls", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(2, 1), rleRun(2, 0)), plainInt64(1, 2)))}, 0, nil, ""},
		{"two pages", opt, []testPage{
			dataPage(1, format.Plain, cat(lenPrefixed(rleRun(1, 1)), plainInt64(1))),
			dataPage(3, format.Plain, cat(lenPrefixed(rleRun(3, 1)), plainInt64(1, 2, 3)))}, 0, nil, ""},
		{"required", req, []testPage{dataPage(4, format.Plain, four)}, 0, nil, ""},
		{"snappy, with checksum", opt, []testPage{func() testPage {
			p := dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))
			p.crc = true
			return p
		}()}, format.Snappy, nil, ""},
		{"dictionary", opt, []testPage{dictPage(2, plainInt64(7, 8)),
			dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(4, 1)), []byte{1}, rleRun(4, 1)))}, 0, nil, ""},
		{"delta", opt, []testPage{dataPage(4, format.DeltaBinaryPacked, cat(lenPrefixed(rleRun(4, 1)), deltaVals))}, 0, nil, ""},
		{"v2", opt, []testPage{dataPageV2(4, 1, format.Plain, cat(rleRun(3, 1), rleRun(1, 0)), plainInt64(1, 2, 3))}, format.Snappy, nil, ""},
		{"bytes after the last value", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))}, 0,
			func(b []byte) []byte { return append(b, 0xde, 0xad) }, ""},

		{"levels short", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(3, 1)), four))}, 0, nil, "page 0 (offset 0 in the column chunk): definition levels: runs end"},
		{"empty level run", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(0, 1), rleRun(4, 1)), four))}, 0, nil, "definition levels: an empty run"},
		{"plain values short", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), plainInt64(1, 2, 3)))}, 0, nil, "4 PLAIN values need 32 bytes, the page has 24"},
		{"required values short", req, []testPage{dataPage(4, format.Plain, plainInt64(1))}, 0, nil, "PLAIN values need"},
		{"index past the dictionary", opt, []testPage{dictPage(2, plainInt64(7, 8)),
			dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(4, 1)), []byte{2}, rleRun(4, 2)))}, 0, nil, "dictionary index 2, the dictionary has 2 values"},
		{"indexes short", opt, []testPage{dictPage(2, plainInt64(7, 8)),
			dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(4, 1)), []byte{1}, rleRun(3, 1)))}, 0, nil, "dictionary indexes: runs end"},
		{"indexes without a dictionary", opt, []testPage{
			dataPage(4, format.RLEDictionary, cat(lenPrefixed(rleRun(4, 1)), []byte{1}, rleRun(4, 0)))}, 0, nil, "without a dictionary page"},
		{"dictionary short", opt, []testPage{dictPage(3, plainInt64(7, 8))}, 0, nil, "dictionary of 3 values in 16 bytes"},
		{"two dictionaries", opt, []testPage{dictPage(1, plainInt64(7)), dictPage(1, plainInt64(8))}, 0, nil, "page 1 (offset"},
		{"delta short", opt, []testPage{dataPage(4, format.DeltaBinaryPacked, cat(lenPrefixed(rleRun(4, 1)), deltaVals[:3]))}, 0, nil, "DELTA_BINARY_PACKED values"},
		{"more values than rows", opt, []testPage{dataPage(5, format.Plain, cat(lenPrefixed(rleRun(5, 1)), four, plainInt64(5)))}, 0, nil, "claims 5 values; the row group has 4 rows"},
		{"fewer values than rows", opt, []testPage{dataPage(2, format.Plain, cat(lenPrefixed(rleRun(2, 1)), plainInt64(1, 2)))}, 0, nil, "hold 2 values but the row group has 4 rows"},
		{"v2 null count wrong", opt, []testPage{dataPageV2(4, 0, format.Plain, cat(rleRun(3, 1), rleRun(1, 0)), plainInt64(1, 2, 3))}, 0, nil, "header says 0 nulls, the definition levels 1"},
		{"unsupported encoding", opt, []testPage{dataPage(4, format.ByteStreamSplit, cat(lenPrefixed(rleRun(4, 1)), four))}, 0, nil, "values encoded as BYTE_STREAM_SPLIT"},
		{"bit-packed levels", opt, []testPage{func() testPage {
			p := dataPage(4, format.Plain, cat([]byte{0x0f}, four))
			p.h.DataPageHeader.V.DefinitionLevelEncoding = format.BitPacked
			return p
		}()}, 0, nil, "definition levels encoded as BIT_PACKED"},
		{"checksum", opt, []testPage{crcBad}, 0, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "checksum mismatch"},
		{"wrong uncompressed size", opt, []testPage{func() testPage {
			p := dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))
			p.edit = func(h *format.PageHeader) { h.UncompressedPageSize++ }
			return p
		}()}, format.Snappy, nil, "page 0 (offset 0 in the column chunk): SNAPPY page decompresses to 38 bytes but its header says 39"},
		{"page past the chunk", opt, []testPage{dataPage(4, format.Plain, cat(lenPrefixed(rleRun(4, 1)), four))}, 0,
			func(b []byte) []byte { return b[:len(b)-1] }, "claims 38 bytes but the column chunk has 37 left"},
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
			err := CheckColumnChunk(chunk, spec)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
