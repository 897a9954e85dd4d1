package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// The tests of numCursor and idCursor (streamed reads) against the read
// of whole row groups (parquet-go's pages), on files edited the ways
// checkPage lets through. Most come from a review of the cursors that
// reproduced three divergences: a dictionary no page used was converted
// (and failed) by numCursor only; an INDEX_PAGE was read by the cursor as
// an empty data page; a v2 page whose header counts no nulls was read by
// its levels when streamed, and failed whole.

// numAgree reads data whole (parquet-go) and streamed (numCursor) and
// requires the same outcome and the same rows.
func numAgree(t *testing.T, data []byte, m [numRoles]string) (werr, serr error) {
	t.Helper()
	f, err := open(bytes.NewReader(data), int64(len(data)), "edited.parquet", m)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var whole, streamed []row
	var b Batch
	if werr = f.ReadRowGroup(0, &b); werr == nil {
		whole = rowsNoID(t, &b)
	}
	sb := Batch{LazyContentID: true}
	via := false
	openErr := f.OpenRowGroup(0, &sb)
	serr = openErr
	if serr == nil {
		via = sb.sc.useNum[roleAuthorID] || sb.sc.useNum[roleCreatedAt]
		for {
			n, err := f.NextRows(&sb, 7)
			if err != nil {
				serr = err
				break
			}
			if n == 0 {
				break
			}
			streamed = append(streamed, rowsNoID(t, &sb)...)
		}
	}
	if !via && openErr == nil {
		t.Fatalf("numCursor not used")
	}
	if (werr == nil) != (serr == nil) {
		t.Fatalf("read whole (parquet-go): %v\nstreamed (numCursor): %v", werr, serr)
	}
	if werr == nil {
		compareRows(t, streamed, whole)
	}
	return werr, serr
}

func oneCol(name string, node parquet.Node, value func(i int) any) []pgCol {
	return []pgCol{{name: name, node: node, value: value}}
}

// A chunk whose dictionary page no data page uses (the data pages are
// PLAIN, as after a writer's dictionary fallback) and which holds a
// millisecond timestamp out of range: neither read converts it.
func TestNumCursorUnusedDictionary(t *testing.T) {
	const n = 50
	val := func(i int) any { return int64(i) * 1000 }
	var m [numRoles]string
	m[roleCreatedAt] = "created_at"
	dictFile := writePG(t, oneCol("created_at", parquet.Encoded(parquet.Timestamp(parquet.Millisecond), &parquet.RLEDictionary), val),
		n, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
	plainFile := writePG(t, oneCol("created_at", parquet.Encoded(parquet.Timestamp(parquet.Millisecond), &parquet.Plain), val),
		n, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
	ds, dn := chunkOf(t, dictFile, 0, "created_at")
	dict := pagesOf(t, dictFile[ds:ds+dn])[0]
	if dict.h.Type != format.DictionaryPage {
		t.Fatal("no dictionary page")
	}
	dict.body = binary.LittleEndian.AppendUint64(dict.body, uint64(math.MaxInt64)) // out of range as millis
	dict.h.DictionaryPageHeader.V.NumValues++
	for _, bad := range []bool{false, true} {
		t.Run(fmt.Sprint("out-of-range value ", bad), func(t *testing.T) {
			d := dict
			if !bad {
				d = pagesOf(t, dictFile[ds:ds+dn])[0]
			}
			data := editChunk(t, plainFile, 0, "created_at", func(ps []editPage) []editPage {
				return append([]editPage{d}, ps...)
			})
			numAgree(t, data, m)
		})
	}
}

// An INDEX_PAGE (empty) among an INT64 chunk's pages: both reads refuse
// it.
func TestNumCursorIndexPage(t *testing.T) {
	const n = 50
	var m [numRoles]string
	m[roleAuthorID] = "author_id"
	for _, optional := range []bool{false, true} {
		t.Run(fmt.Sprint("optional ", optional), func(t *testing.T) {
			node := parquet.Node(parquet.Int(64))
			body := []byte{}
			if optional {
				node = parquet.Optional(node)
				body = []byte{0, 0, 0, 0} // v1 "levels" of 0 bytes
			}
			data := writePG(t, oneCol("author_id", node, func(i int) any { return int64(i) }),
				n, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
			data = editChunk(t, data, 0, "author_id", func(ps []editPage) []editPage {
				ip := editPage{h: format.PageHeader{Type: format.IndexPage}, body: body}
				return append(ps, ip)
			})
			if werr, _ := numAgree(t, data, m); werr == nil {
				t.Fatal("an INDEX_PAGE among the data pages was read")
			}
		})
	}
}

// Edits of INT64 pages that checkPage lets through.
func TestNumCursorEdits(t *testing.T) {
	const n = 60
	var m [numRoles]string
	m[roleAuthorID] = "author_id"
	type enc struct {
		name string
		e    encoding.Encoding
	}
	edits := map[string]func(ps []editPage, v2 bool, e string) bool{
		"as written": func([]editPage, bool, string) bool { return true },
		"an RLE run of 3 indexes after the indexes": func(ps []editPage, _ bool, e string) bool {
			if e != "dict" {
				return false
			}
			ps[1].body = append(ps[1].body, 3<<1, 0)
			return true
		},
		"a bit-packed group of indexes after the indexes": func(ps []editPage, _ bool, e string) bool {
			if e != "dict" {
				return false
			}
			at := 0 // the bit-width byte
			if h := &ps[1].h; h.Type == format.DataPageV2 {
				at = int(h.DataPageHeaderV2.V.DefinitionLevelsByteLength + h.DataPageHeaderV2.V.RepetitionLevelsByteLength)
			} else if b := ps[1].body; len(b) >= 4 && binary.LittleEndian.Uint32(b) < uint32(len(b)) && binary.LittleEndian.Uint32(b) < 1000 {
				at = 4 + int(binary.LittleEndian.Uint32(b)) // optional v1 (required: levels absent, small values)
			}
			w := int(ps[1].body[at])
			ps[1].body = append(ps[1].body, 1<<1|1)
			ps[1].body = append(ps[1].body, make([]byte, w)...)
			return true
		},
		"bytes after the DELTA values": func(ps []editPage, _ bool, e string) bool {
			if e != "delta" {
				return false
			}
			ps[len(ps)-1].body = append(ps[len(ps)-1].body, 1, 2, 3)
			return true
		},
		"v2 repetition levels in a flat column": func(ps []editPage, v2 bool, _ string) bool {
			k := len(ps) - 1
			ps[k].body = append([]byte{0x00, 0x00}, ps[k].body...)
			ps[k].h.DataPageHeaderV2.V.RepetitionLevelsByteLength = 2
			return v2
		},
		"v2 null count 0": func(ps []editPage, v2 bool, _ string) bool {
			ps[len(ps)-1].h.DataPageHeaderV2.V.NumNulls = 0
			return v2
		},
		"v1 an extra RLE run of 8 levels 1 after the levels": extraV1Levels(1),
		"v1 an extra RLE run of 8 levels 0 after the levels": extraV1Levels(0),
		"v2 an extra RLE run of 8 levels 1 after the levels": func(ps []editPage, v2 bool, e string) bool {
			k := len(ps) - 1
			if !v2 {
				return false
			}
			v := &ps[k].h.DataPageHeaderV2.V
			d := int(v.DefinitionLevelsByteLength)
			if d == 0 {
				return false
			}
			b := ps[k].body
			nb := append(append(append([]byte{}, b[:d]...), 8<<1, 1), b[d:]...)
			v.DefinitionLevelsByteLength += 2
			ps[k].body = nb
			return true
		},
	}
	for _, v2 := range []bool{false, true} {
		ver := map[bool]int{false: 1, true: 2}[v2]
		for _, e := range []enc{{"plain", &parquet.Plain}, {"dict", &parquet.RLEDictionary}, {"delta", &parquet.DeltaBinaryPacked}, {"bss", &parquet.ByteStreamSplit}} {
			for _, optional := range []bool{false, true} {
				node := parquet.Encoded(parquet.Int(64), e.e)
				if optional {
					node = parquet.Optional(node)
				}
				data := writePG(t, oneCol("author_id", node, func(i int) any {
					if optional && i%3 == 0 {
						return nil
					}
					return int64(i % 5 * 1000003)
				}), n, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(ver))
				start, ln := chunkOf(t, data, 0, "author_id")
				orig := pagesOf(t, data[start:start+ln])
				for name, edit := range edits {
					cl := func() []editPage {
						ps := slices.Clone(orig)
						for i := range ps {
							ps[i].body = slices.Clone(ps[i].body)
						}
						return ps
					}
					if !edit(cl(), v2, e.name) {
						continue
					}
					t.Run(fmt.Sprintf("v%d/%s/optional=%t/%s", ver, e.name, optional, name), func(t *testing.T) {
						edited := editChunk(t, data, 0, "author_id", func(ps []editPage) []editPage {
							edit(ps, v2, e.name)
							return ps
						})
						werr, serr := numAgree(t, edited, m)
						if werr != nil {
							t.Logf("both fail: %v | %v", werr, serr)
						}
					})
				}
			}
		}
	}
}

// extraV1Levels is an edit of the last page, if a v1 page of an optional
// column, that puts an RLE run of 8 levels of the given value after its
// levels.
func extraV1Levels(level byte) func(ps []editPage, v2 bool, _ string) bool {
	return func(ps []editPage, v2 bool, _ string) bool {
		k := len(ps) - 1
		if v2 || ps[k].h.Type != format.DataPage || len(ps[k].body) < 4 {
			return false
		}
		b := ps[k].body
		l := binary.LittleEndian.Uint32(b)
		if int(l)+4 > len(b) || l > 1000 {
			return false
		}
		nb := append([]byte{}, b[:4+l]...)
		nb = append(nb, 8<<1, level)
		binary.LittleEndian.PutUint32(nb, l+2)
		ps[k].body = append(nb, b[4+l:]...)
		return true
	}
}

// A v2 page whose header counts no nulls though its levels have some (as
// arrow-go writes with statistics off), in a string column read by
// dictCursor and in the content_id column read by idCursor, in every
// encoding: both reads go by the levels, and agree.
func TestCursorsNullCount0(t *testing.T) {
	str := func(i int) any {
		if i%3 == 0 {
			return nil
		}
		return fmt.Sprintf("p%d-%d", i%4, i/7)
	}
	for _, tc := range []struct {
		col  string
		role int
		enc  encoding.Encoding
	}{
		{"platform", rolePlatform, &parquet.RLEDictionary},
		{"content_id", roleContentID, &parquet.RLEDictionary},
		{"content_id", roleContentID, &parquet.Plain},
		{"content_id", roleContentID, &parquet.DeltaLengthByteArray},
		{"content_id", roleContentID, &parquet.DeltaByteArray},
	} {
		t.Run(tc.col+"/"+tc.enc.String(), func(t *testing.T) {
			var m [numRoles]string
			m[tc.role] = tc.col
			data := writePG(t, oneCol(tc.col, parquet.Optional(parquet.Encoded(parquet.String(), tc.enc)), str),
				60, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(2))
			data = editChunk(t, data, 0, tc.col, func(ps []editPage) []editPage {
				ps[len(ps)-1].h.DataPageHeaderV2.V.NumNulls = 0
				return ps
			})
			whole, streamed := readBoth(t, data, m)
			want := make([]any, 60)
			for i := range want {
				want[i] = str(i)
			}
			for i, r := range whole {
				got := any(nil)
				if tc.role == rolePlatform && r.Platform != nil {
					got = *r.Platform
				} else if tc.role == roleContentID {
					got = r.ID
				}
				if got != want[i] {
					t.Fatalf("row %d: %v, want %v", i, got, want[i])
				}
			}
			compareRows(t, streamed, whole)
		})
	}
}

// An INDEX_PAGE among a string content_id chunk's pages: both reads refuse
// it.
func TestIDCursorIndexPage(t *testing.T) {
	var m [numRoles]string
	m[roleContentID] = "content_id"
	data := writePG(t, oneCol("content_id", parquet.Optional(parquet.String()), func(i int) any { return fmt.Sprint("c", i) }),
		50, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
	data = editChunk(t, data, 0, "content_id", func(ps []editPage) []editPage {
		return append(ps, editPage{h: format.PageHeader{Type: format.IndexPage}, body: []byte{0, 0, 0, 0}})
	})
	f, err := open(bytes.NewReader(data), int64(len(data)), "edited.parquet", m)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	werr := f.ReadRowGroup(0, &b)
	serr := streamIDs(t, f, nil)
	if werr == nil || serr == nil {
		t.Fatalf("read whole: %v; streamed: %v; want both to fail", werr, serr)
	}
	if !strings.Contains(serr.Error(), "INDEX_PAGE") || !strings.Contains(serr.Error(), "content_id") {
		t.Errorf("streamed: %v; want the page type and the column named", serr)
	}
}

// readBoth reads row group 0 of data whole and streamed (content ids of
// every row by ContentIDs), requires both to succeed, and returns their
// rows.
func readBoth(t *testing.T, data []byte, m [numRoles]string) (whole, streamed []row) {
	t.Helper()
	f, err := open(bytes.NewReader(data), int64(len(data)), "edited.parquet", m)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	if err := f.ReadRowGroup(0, &b); err != nil {
		t.Fatalf("read whole: %v", err)
	}
	whole = batchRows(t, &b)
	var rows []row
	if err := streamIDs(t, f, &rows); err != nil {
		t.Fatalf("streamed: %v", err)
	}
	return whole, rows
}

// streamIDs streams row group 0 of f, 7 rows at a time, then asks
// ContentIDs for every row; with out, it sets *out to the rows.
func streamIDs(t *testing.T, f *File, out *[]row) error {
	t.Helper()
	sb := Batch{LazyContentID: true}
	if err := f.OpenRowGroup(0, &sb); err != nil {
		return err
	}
	var rows []row
	for {
		n, err := f.NextRows(&sb, 7)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		rows = append(rows, rowsNoID(t, &sb)...)
	}
	all := make([]int32, len(rows))
	for k := range all {
		all[k] = int32(k)
	}
	var ids IDs
	if err := f.ContentIDs(&sb, all, &ids); err != nil {
		return err
	}
	setIDs(t, rows, &ids)
	if out != nil {
		*out = rows
	}
	return nil
}
