package scan

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
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

// TestDictCursorAgrees: dictionary-coded string chunks edited page by page
// (the dictionary's encoding, bytes after its values, a v2 page's null
// count, v2 repetition levels in a flat column, bytes after the indexes)
// give the same outcome — the same values, or an error — read whole
// through parquet-go and streamed through dictCursor.
func TestDictCursorAgrees(t *testing.T) {
	// rebuild writes data's platform chunk (its only column) as pages.
	rebuild := func(data []byte, pages []editPage) []byte {
		start, _ := chunkOf(t, data, 0, "platform")
		chunk := encodePages(t, pages)
		m, _ := footerOf(t, data)
		cc := &m.RowGroups[0].Columns[0]
		cc.MetaData.TotalCompressedSize = int64(len(chunk))
		cc.MetaData.TotalUncompressedSize = int64(len(chunk))
		cc.OffsetIndexOffset, cc.OffsetIndexLength, cc.ColumnIndexOffset, cc.ColumnIndexLength = 0, 0, 0, 0
		cc.MetaData.Statistics = format.Statistics{}
		footer, err := thrift.Marshal(new(thrift.CompactProtocol), &m)
		if err != nil {
			t.Fatal(err)
		}
		return withRawFooter(append(slices.Clone(data[:start]), chunk...), footer)
	}
	read := func(data []byte) (whole, streamed []row, werr, serr error, viaCursor bool) {
		var m [numRoles]string
		m[rolePlatform] = "platform"
		f, err := open(bytes.NewReader(data), int64(len(data)), "edited.parquet", m)
		if err != nil {
			return nil, nil, err, err, false
		}
		var b Batch
		if werr = f.ReadRowGroup(0, &b); werr == nil {
			whole = rowsNoID(t, &b)
		}
		sb := Batch{LazyContentID: true}
		if serr = f.OpenRowGroup(0, &sb); serr != nil {
			return
		}
		viaCursor = sb.sc.useDict[rolePlatform]
		for {
			n, err := f.NextRows(&sb, 7)
			if err != nil {
				return whole, nil, werr, err, viaCursor
			}
			if n == 0 {
				return
			}
			streamed = append(streamed, rowsNoID(t, &sb)...)
		}
	}
	edits := map[string]func(ps []editPage, v2 bool) bool{
		"as written": func([]editPage, bool) bool { return true },
		"dictionary encoding DELTA_LENGTH_BYTE_ARRAY": func(ps []editPage, _ bool) bool {
			ps[0].h.DictionaryPageHeader.V.Encoding = format.DeltaLengthByteArray
			return true
		},
		"bytes after the dictionary's values": func(ps []editPage, _ bool) bool {
			ps[0].body = append(ps[0].body, 0xff, 0xff, 0xff, 0x7f)
			return true
		},
		"an empty bit-packed run after the indexes": func(ps []editPage, _ bool) bool {
			ps[1].body = append(ps[1].body, 0x01)
			return true
		},
		"v2 null count 5 too high": func(ps []editPage, v2 bool) bool {
			ps[1].h.DataPageHeaderV2.V.NumNulls += 5
			return v2
		},
		"v2 null count 1 too low": func(ps []editPage, v2 bool) bool {
			ps[1].h.DataPageHeaderV2.V.NumNulls--
			return v2
		},
		"v2 repetition levels in a flat column": func(ps []editPage, v2 bool) bool {
			ps[1].body = append([]byte{0x00, 0x00}, ps[1].body...)
			ps[1].h.DataPageHeaderV2.V.RepetitionLevelsByteLength = 2
			return v2
		},
	}
	for _, v2 := range []bool{false, true} {
		ver := 1
		if v2 {
			ver = 2
		}
		cols := []pgCol{{name: "platform", node: parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
			value: func(i int) any {
				if i%3 == 0 {
					return nil
				}
				return fmt.Sprintf("p%d", i%4)
			}}}
		data := writePG(t, cols, 100, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(ver))
		start, n := chunkOf(t, data, 0, "platform")
		orig := pagesOf(t, data[start:start+n])
		if len(orig) != 2 || orig[0].h.Type != format.DictionaryPage {
			t.Fatalf("v%d: %d pages, the first %v: want a dictionary page and one data page", ver, len(orig), orig[0].h.Type)
		}
		for name, edit := range edits {
			if !edit(slices.Clone(orig), v2) {
				continue // an edit of v2 pages
			}
			t.Run(fmt.Sprintf("v%d/%s", ver, name), func(t *testing.T) {
				ps := slices.Clone(orig)
				for i := range ps {
					ps[i].body = slices.Clone(ps[i].body)
				}
				edit(ps, v2)
				whole, streamed, werr, serr, via := read(rebuild(data, ps))
				if name == "as written" && (!via || werr != nil || len(whole) != 100) {
					t.Fatalf("the unedited file: dictCursor used %t, whole read %d rows, %v", via, len(whole), werr)
				}
				if (werr == nil) != (serr == nil) {
					t.Fatalf("read whole: %v; streamed (dictCursor %t): %v", werr, via, serr)
				}
				if werr == nil {
					compareRows(t, streamed, whole)
				}
			})
		}
	}
}
