package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Pages that hold less, or other, than their headers claim. parquet-go
// (v0.32.0) pads a page that decodes short — missing dictionary indexes
// read as index 0, missing PLAIN values from its reused buffer — and
// reads a definition level above the maximum as a null that shifts every
// later value, all without an error; checkPage and walkChunk must refuse
// each such page, naming it, whether the row group is read whole or
// streamed. (Found by a review of the scan; every test here read its file
// without an error before.)

// editPage is one page of a chunk being edited.
type editPage struct {
	h    format.PageHeader
	body []byte
}

// pagesOf splits an uncompressed column chunk into its pages.
func pagesOf(t testing.TB, chunk []byte) []editPage {
	var out []editPage
	for off := 0; off < len(chunk); {
		h, hl, err := readPageHeader(chunk[off:])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, editPage{h, slices.Clone(chunk[off+hl : off+hl+int(h.CompressedPageSize)])})
		off += hl + int(h.CompressedPageSize)
	}
	return out
}

// encodePages encodes pages as an uncompressed chunk: sizes from the
// bodies, no checksums.
func encodePages(t testing.TB, ps []editPage) []byte {
	t.Helper()
	plain := make([]editPage, len(ps))
	for i, p := range ps {
		p.h.UncompressedPageSize = int32(len(p.body))
		p.h.CRC = 0
		plain[i] = p
	}
	return encodeCompressed(t, plain)
}

// encodeCompressed encodes the pages of a compressed chunk: bodies as they
// are, checksums and uncompressed sizes as the headers say.
func encodeCompressed(t testing.TB, ps []editPage) []byte {
	t.Helper()
	var chunk []byte
	var proto thrift.CompactProtocol
	for _, p := range ps {
		p.h.CompressedPageSize = int32(len(p.body))
		hb, err := thrift.Marshal(&proto, &p.h)
		if err != nil {
			t.Fatal(err)
		}
		chunk = append(append(chunk, hb...), p.body...)
	}
	return chunk
}

// editChunk rewrites the chunk of column name in row group rg of an
// uncompressed file: the edited chunk is appended after the data, page
// sizes updated and checksums dropped, and the footer points at it.
func editChunk(t testing.TB, data []byte, rg int, name string, edit func(ps []editPage) []editPage) []byte {
	t.Helper()
	return editChunkWith(t, data, rg, name, edit, encodePages)
}

// editChunkWith is editChunk with the edited pages encoded by encode.
func editChunkWith(t testing.TB, data []byte, rg int, name string, edit func(ps []editPage) []editPage,
	encode func(testing.TB, []editPage) []byte) []byte {
	t.Helper()
	m, fstart := footerOf(t, data)
	leaf := leafIndex(t, data, name)
	md := &m.RowGroups[rg].Columns[leaf].MetaData
	start, n := chunkRange(md)
	ps := edit(pagesOf(t, data[start:start+n]))
	chunk := encode(t, ps)
	body := slices.Clone(data[:fstart])
	newStart := int64(len(body))
	body = append(body, chunk...)
	md.DictionaryPageOffset, md.DataPageOffset = 0, newStart
	if len(ps) > 0 && ps[0].h.Type == format.DictionaryPage {
		md.DictionaryPageOffset, md.DataPageOffset = newStart, newStart+1
	}
	md.TotalCompressedSize, md.TotalUncompressedSize = int64(len(chunk)), int64(len(chunk))
	md.Statistics = format.Statistics{}
	cc := &m.RowGroups[rg].Columns[leaf]
	cc.OffsetIndexOffset, cc.OffsetIndexLength, cc.ColumnIndexOffset, cc.ColumnIndexLength = 0, 0, 0, 0
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &m)
	if err != nil {
		t.Fatal(err)
	}
	return withRawFooter(body, footer)
}

// uncompressedFile writes n sample rows with parquet-go, uncompressed, v1
// pages; small pages if small.
func uncompressedFile(t *testing.T, c pgCase, n int, small bool) ([]byte, []row) {
	want := sampleRows(n, c.nullable, c.intIDs)
	opts := []parquet.WriterOption{parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1)}
	if small {
		opts = append(opts, parquet.PageBufferSize(512))
	}
	return writePG(t, c.columns(want), n, 0, opts...), want
}

// wantMalformed reads data whole and streamed, as the audit does, and
// requires both to fail with an error containing want; it shows the rows
// that came out wrong when there was none.
func wantMalformed(t *testing.T, data []byte, orig []row, want string) {
	t.Helper()
	f, err := Open(bytes.NewReader(data), int64(len(data)), "bad.parquet", defaultCols)
	var got []row
	if err == nil {
		got, err = streamRows(t, f, 1<<16)
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		bad := 0
		for i := range orig {
			if i < len(got) && got[i].String() != orig[i].String() {
				if bad < 3 {
					t.Logf("row %d: read %v, written %v", i, got[i], orig[i])
				}
				bad++
			}
		}
		t.Fatalf("streamed: error %v, want one containing %q (%d of %d rows read differ)", err, want, bad, len(orig))
	}
	if _, _, err := readAll(t, data, defaultCols); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("whole: error %v, want one containing %q", err, want)
	}
}

func TestMalformedDictIndexesCut(t *testing.T) {
	for _, col := range []string{"author_id", "content_id", "platform", "created_at"} {
		t.Run(col, func(t *testing.T) {
			data, orig := uncompressedFile(t, pgCase{strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary}, 100, false)
			bad := editChunk(t, data, 0, col, func(ps []editPage) []editPage {
				for i := range ps {
					if ps[i].h.Type == format.DataPage {
						// One RLE run of index 1 for 5 values fewer than the page's.
						nv, w := int(ps[i].h.DataPageHeader.V.NumValues), ps[i].body[0]
						b := binary.AppendUvarint([]byte{w}, uint64(nv-5)<<1)
						b = append(b, make([]byte, (int(w)+7)/8)...)
						b[len(b)-(int(w)+7)/8] = 1
						ps[i].body = b
						break
					}
				}
				return ps
			})
			wantMalformed(t, bad, orig, "page 1 (offset")
			wantMalformed(t, bad, orig, "dictionary indexes: runs end before the page's values do")
		})
	}
}

// TestMalformedLastPage: the last page of a column chunk of a PLAIN file
// edited so that it holds other than its header claims.
func TestMalformedLastPage(t *testing.T) {
	last := func(edit func(p *editPage)) func([]editPage) []editPage {
		return func(ps []editPage) []editPage { edit(&ps[len(ps)-1]); return ps }
	}
	cut := last(func(p *editPage) { p.body = p.body[:len(p.body)-8*3] })
	tests := []struct {
		name     string
		col      string
		nullable bool
		edit     func([]editPage) []editPage
		want     string
	}{
		// parquet-go read the missing values from its reused buffer.
		{"PLAIN values cut", "author_id", false, cut, "PLAIN values need"},
		{"PLAIN values cut", "created_at", false, cut, "PLAIN values need"},
		{"PLAIN values cut, nullable", "author_id", true, cut, "PLAIN values need"},
		{"PLAIN values cut, nullable", "created_at", true, cut, "PLAIN values need"},
		{"BYTE_STREAM_SPLIT values cut", "author_id", false, last(func(p *editPage) {
			p.h.DataPageHeader.V.Encoding = format.ByteStreamSplit
			p.body = p.body[:len(p.body)-8*3]
		}), "100 BYTE_STREAM_SPLIT values need 800 bytes, the page has 776"},
		// parquet-go reads every v1 page's levels as RLE runs (94 of 100
		// rows came out wrong, without an error).
		{"BIT_PACKED levels", "author_id", true, last(func(p *editPage) {
			p.h.DataPageHeader.V.DefinitionLevelEncoding = format.BitPacked
		}), "definition levels encoded as BIT_PACKED (only RLE is supported)"},
		// RLE is a boolean encoding: parquet-go decoded integers into zeros.
		{"RLE integers", "author_id", false, last(func(p *editPage) {
			p.h.DataPageHeader.V.Encoding = format.RLE
			p.body = []byte{0}
		}), "values encoded as RLE (not an encoding of this column's type)"},
	}
	for _, tt := range tests {
		t.Run(tt.name+", "+tt.col, func(t *testing.T) {
			data, orig := uncompressedFile(t, pgCase{nullable: tt.nullable, strEnc: &parquet.Plain, intEnc: &parquet.Plain}, 100, false)
			wantMalformed(t, editChunk(t, data, 0, tt.col, tt.edit), orig, tt.want)
		})
	}
}

// An optional DELTA page whose header counts fewer values than its
// non-null rows (parquet-go reads the rest as 0).
func TestMalformedDeltaShortCount(t *testing.T) {
	data, orig := uncompressedFile(t, pgCase{nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.DeltaBinaryPacked}, 100, false)
	bad := editChunk(t, data, 0, "author_id", func(ps []editPage) []editPage {
		p := &ps[len(ps)-1]
		l := binary.LittleEndian.Uint32(p.body)
		defs, vals := p.body[:4+l], p.body[4+l:]
		bs, k1 := binary.Uvarint(vals)
		mb, k2 := binary.Uvarint(vals[k1:])
		cnt, k3 := binary.Uvarint(vals[k1+k2:])
		h := binary.AppendUvarint(binary.AppendUvarint(binary.AppendUvarint(nil, bs), mb), cnt-3)
		p.body = cat(defs, h, vals[k1+k2+k3:])
		return ps
	})
	wantMalformed(t, bad, orig, "DELTA_BINARY_PACKED values: 77 values for the page's 80 non-null values")
}

// A dictionary page claiming more values than it holds.
func TestMalformedDictPageShort(t *testing.T) {
	data, orig := uncompressedFile(t, pgCase{strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary}, 100, false)
	bad := editChunk(t, data, 0, "author_id", func(ps []editPage) []editPage {
		ps[0].body = ps[0].body[:len(ps[0].body)-8*4]
		return ps
	})
	wantMalformed(t, bad, orig, "page 0 (offset")
	wantMalformed(t, bad, orig, "100 dictionary values need 800 bytes, the page has 768")
}

// A second dictionary page, its values reversed: parquet-go skips it.
func TestMalformedSecondDictionary(t *testing.T) {
	for _, col := range []string{"author_id", "platform", "content_id"} {
		t.Run(col, func(t *testing.T) {
			data, orig := uncompressedFile(t, pgCase{strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary}, 3000, true)
			bad := editChunk(t, data, 0, col, func(ps []editPage) []editPage {
				if len(ps) < 3 {
					t.Fatalf("%d pages", len(ps))
				}
				d := ps[0]
				var vals [][]byte
				b, nv := d.body, int(d.h.DictionaryPageHeader.V.NumValues)
				if col == "author_id" {
					for i := range nv {
						vals = append(vals, b[i*8:(i+1)*8])
					}
				} else {
					for len(b) > 0 {
						l := binary.LittleEndian.Uint32(b)
						vals, b = append(vals, b[:4+l]), b[4+l:]
					}
				}
				slices.Reverse(vals)
				return slices.Concat(ps[:2], []editPage{{h: d.h, body: cat(vals...)}}, ps[2:])
			})
			wantMalformed(t, bad, orig, "page 2 (offset")
			wantMalformed(t, bad, orig, "a dictionary page that is not the chunk's first page")
		})
	}
}

// No dictionary page, and a data page whose header carries a dictionary
// page header: parquet-go takes the page's own bytes as the dictionary.
func TestMalformedDictionaryOnDataPage(t *testing.T) {
	for _, col := range []string{"author_id", "content_id"} {
		t.Run(col, func(t *testing.T) {
			data, orig := uncompressedFile(t, pgCase{strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary}, 100, false)
			bad := editChunk(t, data, 0, col, func(ps []editPage) []editPage {
				p := ps[1]
				p.h.DictionaryPageHeader = ps[0].h.DictionaryPageHeader
				for len(p.body)%8 != 0 {
					p.body = append(p.body, 0)
				}
				return []editPage{p}
			})
			wantMalformed(t, bad, orig, "page 0 (offset 0 in the column chunk, from row 0): a DATA_PAGE page with a dictionary page header")
		})
	}
}

// A definition level of 3 (the maximum is 1), one bit changed in an RLE
// run: parquet-go reads a null and shifts every later value.
func TestMalformedDefinitionLevel(t *testing.T) {
	for _, col := range []string{"author_id", "platform", "content_id"} {
		t.Run(col, func(t *testing.T) {
			data, orig := uncompressedFile(t, pgCase{nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain}, 100, false)
			f, err := Open(bytes.NewReader(data), int64(len(data)), "x", defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			var b Batch
			if err := f.ReadRowGroup(0, &b); err != nil {
				t.Fatal(err)
			}
			var valid []bool
			switch col {
			case "author_id":
				valid = b.AuthorValid
			case "platform":
				for _, c := range b.Platform.Codes {
					valid = append(valid, c >= 0)
				}
			default:
				valid = b.ContentID.Valid
			}
			bad := editChunk(t, data, 0, col, func(ps []editPage) []editPage {
				p := &ps[len(ps)-1]
				l := binary.LittleEndian.Uint32(p.body)
				vals := p.body[4+l:]
				var runs []byte
				flipped := false
				for i, v := range valid {
					lv := byte(0)
					if v {
						lv = 1
						if !flipped && i > 50 {
							lv, flipped = 3, true
						}
					}
					runs = append(runs, 2, lv) // an RLE run of one level
				}
				p.body = cat(binary.LittleEndian.AppendUint32(nil, uint32(len(runs))), runs, vals)
				return ps
			})
			wantMalformed(t, bad, orig, "definition levels: RLE value 3 wider than 1 bits")
		})
	}
}

// deltaHeader is a DELTA_BINARY_PACKED header: blocks of 128 values in 4
// miniblocks, count values, first value 0.
func deltaHeader(count uint64) []byte {
	b := binary.AppendUvarint(binary.AppendUvarint(nil, 128), 4)
	return binary.AppendVarint(binary.AppendUvarint(b, count), 0)
}

// A DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY page of a string column
// whose lengths claim 2^30 values in a few bytes: parquet-go allocated
// 4 GiB for it before failing.
func TestMalformedDeltaLengthsHuge(t *testing.T) {
	for _, col := range []string{"platform", "content_id"} {
		for _, enc := range []format.Encoding{format.DeltaLengthByteArray, format.DeltaByteArray} {
			t.Run(fmt.Sprint(col, " ", enc), func(t *testing.T) {
				data, orig := uncompressedFile(t, pgCase{strEnc: &parquet.Plain, intEnc: &parquet.Plain}, 100, false)
				bad := editChunk(t, data, 0, col, func(ps []editPage) []editPage {
					p := &ps[len(ps)-1]
					p.h.DataPageHeader.V.Encoding = enc
					blk := append(binary.AppendVarint(nil, 0), 0, 0, 0, 0) // min delta 0, widths 0
					p.body = cat(deltaHeader(1<<30), blk)
					if enc == format.DeltaByteArray {
						p.body = cat(p.body, deltaHeader(1<<30), blk)
					}
					return ps
				})
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				wantMalformed(t, bad, orig, "1073741824 values for 100 non-null rows")
				runtime.ReadMemStats(&after)
				if mib := (after.TotalAlloc - before.TotalAlloc) >> 20; mib > 256 {
					t.Fatalf("allocated %d MiB", mib)
				}
			})
		}
	}
}

// PARQUET-816 padding: a file of parquet-mr before 1.2.9 whose row group
// claims a row more than its chunks hold must not read it from the next
// chunk's bytes.
func TestMalformedPaddingIntoNextChunk(t *testing.T) {
	ids := []string{"abcd", "efgh", "ijkl"}
	cols := []pgCol{
		{"content_id", parquet.Encoded(parquet.String(), &parquet.Plain), func(i int) any { return ids[i] }},
		{"author_id", parquet.Encoded(parquet.Int(64), &parquet.Plain), func(i int) any { return int64(4 + (int64(7+i) << 32)) }},
		{"platform", parquet.Encoded(parquet.String(), &parquet.Plain), func(i int) any { return []string{"fbfb", "igig", "wawa"}[i] }},
		{"content_type", parquet.Encoded(parquet.String(), &parquet.Plain), func(i int) any { return []string{"post", "reel", "chat"}[i] }},
		{"visibility", parquet.Encoded(parquet.String(), &parquet.Plain), func(i int) any { return "public" }},
		{"created_at", parquet.Encoded(parquet.Timestamp(parquet.Microsecond), &parquet.Plain), func(i int) any { return int64(4 + (int64(1000+i) << 32)) }},
	}
	data := writePG(t, cols, 3, 1, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
	old := withFooter(t, data, func(m *format.FileMetaData) { m.CreatedBy = "parquet-mr version 1.2.8 (build x)" })
	if rows, _, err := readAll(t, old, defaultCols); err != nil || len(rows) != 3 {
		t.Fatalf("intact file of parquet-mr 1.2.8: %d rows, %v", len(rows), err)
	}
	bad := withFooter(t, old, func(m *format.FileMetaData) {
		m.RowGroups[0].NumRows = 2
		m.NumRows = 4
	})
	wantMalformed(t, bad, nil, "row group 0: the column's pages hold 1 values but the row group has 2 rows")
}

// A footer pointing one column at another's chunk.
func TestMalformedOverlappingChunks(t *testing.T) {
	data, orig := uncompressedFile(t, pgCase{strEnc: &parquet.Plain, intEnc: &parquet.Plain}, 100, false)
	bad := withFooter(t, data, func(m *format.FileMetaData) {
		a := &m.RowGroups[0].Columns[leafIndex(t, data, "author_id")].MetaData
		c := &m.RowGroups[0].Columns[leafIndex(t, data, "created_at")].MetaData
		a.DataPageOffset, a.DictionaryPageOffset, a.TotalCompressedSize = c.DataPageOffset, c.DictionaryPageOffset, c.TotalCompressedSize
	})
	wantMalformed(t, bad, orig, "malformed footer: column chunk at offset")
}

// TestCountLevels: countLevels agrees with a strict rleReader, on levels
// parquet-go writes and on random bytes (count, and whether it is an
// error).
func TestCountLevels(t *testing.T) {
	strict := func(data []byte, n int) (int, error) {
		r := rleReader{data: data, width: 1, strict: true}
		lv := make([]uint32, n)
		if err := r.read(lv); err != nil {
			return 0, err
		}
		ones := 0
		for _, l := range lv {
			ones += int(l)
		}
		return ones, nil
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var inputs [][]byte
	for range 2000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(3) == 0 {
				b[i] &= 0x0f // small run headers
			}
		}
		inputs = append(inputs, b)
	}
	inputs = append(inputs, cat(rleRun(5, 1), rleRun(3, 0)), cat(rleRun(5, 2)), cat(rleRun(0, 1), rleRun(8, 1)),
		[]byte{0x03, 0xa5}, []byte{0x05, 0xff}, []byte{0x05, 0xff, 0x0f})
	for _, b := range inputs {
		for _, n := range []int{1, 5, 8, 13, 16} {
			want, werr := strict(b, n)
			got, gerr := countLevels(b, n)
			if (werr == nil) != (gerr == nil) || got != want {
				t.Fatalf("% x, %d levels: countLevels %d, %v; rleReader %d, %v", b, n, got, gerr, want, werr)
			}
		}
	}
}

// TestMalformedPageNamesRow: an error in a page that is not the chunk's
// first names the page, the offset of its header in the column chunk and
// the row of the file it starts at (the offset used to be where the page
// ended).
func TestMalformedPageNamesRow(t *testing.T) {
	data, orig := uncompressedFile(t, pgCase{strEnc: &parquet.Plain, intEnc: &parquet.Plain}, 400, true)
	const k = 2 // the page cut
	var off, row, nv int
	bad := editChunk(t, data, 0, "author_id", func(ps []editPage) []editPage {
		if len(ps) <= k+1 || ps[0].h.Type == format.DictionaryPage {
			t.Fatalf("author_id has %d pages, the first %s; the test needs more than %d data pages", len(ps), ps[0].h.Type, k+1)
		}
		off = len(encodePages(t, ps[:k]))
		for _, p := range ps[:k] {
			row += int(p.h.DataPageHeader.V.NumValues)
		}
		nv = int(ps[k].h.DataPageHeader.V.NumValues)
		ps[k].body = ps[k].body[:len(ps[k].body)-8]
		return ps
	})
	if row == 0 {
		t.Fatal("no rows before the page cut")
	}
	wantMalformed(t, bad, orig, fmt.Sprintf("page %d (offset %d in the column chunk, from row %d): %d PLAIN values need", k, off, row, nv))
}
