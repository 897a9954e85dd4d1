package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// The streamed read's cursors (idCursor, numCursor, dictCursor) against
// the read of whole row groups (parquet-go's pages), for content ids
// above all, on files as written and edited the ways checkPage has to
// judge. These come from a second review of the cursors, which also found
// two older faults these tests keep fixed: a DELTA_BYTE_ARRAY page with
// bytes after its suffixes was read as shifted values by parquet-go, with
// no error (checkPage now refuses bytes after a delta string page's
// values), and its prefixes could make a page of kilobytes decode to
// hundreds of megabytes (its values may now add up to MaxPageSize).

func idsOf(ids *IDs) []any {
	out := make([]any, len(ids.Valid))
	for i, v := range ids.Valid {
		if v {
			out[i] = string(ids.Data[ids.Offsets[i]:ids.Offsets[i+1]])
		}
	}
	return out
}

// agreeWhole reads row group 0 whole and returns its content ids.
func agreeWhole(t *testing.T, data []byte, m [numRoles]string) ([]any, error) {
	f, err := open(bytes.NewReader(data), int64(len(data)), "edited.parquet", m)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var b Batch
	if err := f.ReadRowGroup(0, &b); err != nil {
		return nil, err
	}
	return idsOf(&b.ContentID), nil
}

// agreeStreamed streams row group 0 (window w, 0: default) and asks
// ContentIDs for rows (nil: all), calls times.
func agreeStreamed(t *testing.T, data []byte, m [numRoles]string, w int64, subset func(n int) []int32, times int) ([]any, error) {
	f, err := open(bytes.NewReader(data), int64(len(data)), "edited.parquet", m)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if w != 0 {
		f.SetReadWindow(w)
	}
	sb := Batch{LazyContentID: true}
	if err := f.OpenRowGroup(0, &sb); err != nil {
		return nil, err
	}
	n := 0
	for {
		k, err := f.NextRows(&sb, 7)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			break
		}
		n += k
	}
	var rows []int32
	if subset == nil {
		for i := range n {
			rows = append(rows, int32(i))
		}
	} else {
		rows = subset(n)
	}
	var out []any
	for range times {
		var ids IDs
		if err := f.ContentIDs(&sb, rows, &ids); err != nil {
			return nil, err
		}
		out = idsOf(&ids)
	}
	// spread over the rows asked for
	if subset != nil {
		full := make([]any, n)
		for k, r := range rows {
			full[r] = out[k]
		}
		for i := range full {
			if !slices.Contains(rows, int32(i)) {
				full[i] = "<not asked>"
			}
		}
		out = full
	}
	return out, nil
}

// idAgree: whole read vs idCursor in several ways; same outcome and values.
func idAgree(t *testing.T, data []byte) (werr error) {
	t.Helper()
	var m [numRoles]string
	m[roleContentID] = "content_id"
	whole, werr := agreeWhole(t, data, m)
	even := func(n int) []int32 {
		var r []int32
		for i := 0; i < n; i += 2 {
			r = append(r, int32(i))
		}
		return r
	}
	for _, v := range []struct {
		name   string
		w      int64
		subset func(int) []int32
		times  int
	}{{"held", 0, nil, 1}, {"window1", 1, nil, 1}, {"held twice", 0, nil, 2}, {"window1 twice", 1, nil, 2}, {"even rows", 0, even, 1}, {"even rows window1", 1, even, 1}} {
		got, serr := agreeStreamed(t, data, m, v.w, v.subset, v.times)
		if (werr == nil) != (serr == nil) {
			t.Errorf("%s: whole: %v\nstreamed: %v", v.name, werr, serr)
			continue
		}
		if werr != nil {
			continue
		}
		for i := range got {
			if got[i] == "<not asked>" {
				continue
			}
			if i >= len(whole) || got[i] != whole[i] {
				t.Errorf("%s: row %d: streamed %q, whole %q", v.name, i, got[i], whole[i])
				break
			}
		}
		if len(got) != len(whole) {
			t.Errorf("%s: %d rows streamed, %d whole", v.name, len(got), len(whole))
		}
	}
	return werr
}

func idFile(t *testing.T, enc encoding.Encoding, optional bool, ver int, n int, val func(i int) any, opts ...parquet.WriterOption) []byte {
	node := parquet.Encoded(parquet.String(), enc)
	if optional {
		node = parquet.Optional(node)
	}
	opts = append([]parquet.WriterOption{parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(ver)}, opts...)
	return writePG(t, oneCol("content_id", node, val), n, 0, opts...)
}

var r2Encs = []struct {
	name string
	e    encoding.Encoding
}{{"plain", &parquet.Plain}, {"dict", &parquet.RLEDictionary}, {"dlba", &parquet.DeltaLengthByteArray}, {"dba", &parquet.DeltaByteArray}}

func agreeVal(optional bool) func(i int) any {
	return func(i int) any {
		if optional && i%3 == 0 {
			return nil
		}
		if i%5 == 0 {
			return ""
		}
		return fmt.Sprintf("id-%d-%d", i%4, i/3)
	}
}

// Baseline: the files as written, several pages.
func TestAgreeAsWritten(t *testing.T) {
	for _, ver := range []int{1, 2} {
		for _, e := range r2Encs {
			for _, opt := range []bool{false, true} {
				t.Run(fmt.Sprintf("v%d/%s/%v", ver, e.name, opt), func(t *testing.T) {
					data := idFile(t, e.e, opt, ver, 300, agreeVal(opt), parquet.PageBufferSize(256))
					if err := idAgree(t, data); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

// zeroPage is a data page of no values like the last data page of ps.
func zeroPage(ps []editPage, body []byte, enc format.Encoding, rep, def int32) editPage {
	h := ps[len(ps)-1].h
	if h.Type == format.DataPageV2 {
		v := h.DataPageHeaderV2.V
		v.NumValues, v.NumRows, v.NumNulls, v.Encoding = 0, 0, 0, enc
		v.RepetitionLevelsByteLength, v.DefinitionLevelsByteLength = rep, def
		v.Statistics = format.Statistics{}
		h.DataPageHeaderV2.V = v
	} else {
		v := h.DataPageHeader.V
		v.NumValues, v.Encoding = 0, enc
		v.Statistics = format.Statistics{}
		h.DataPageHeader.V = v
	}
	return editPage{h: h, body: body}
}

// v1LevelsEnd: the end of an optional v1 page's levels.
func v1LevelsEnd(b []byte) int { return 4 + int(binary.LittleEndian.Uint32(b)) }

// editFn edits a chunk's pages (v2: its pages are v2; opt: its column is
// optional; e: its encoding) and reports whether the edit applies.
type editFn func(ps []editPage, v2, opt bool, e string) ([]editPage, bool)

// afterIndexes is an edit of a dictionary-encoded chunk that appends a
// byte after the last page's indexes.
func afterIndexes(x byte) editFn {
	return func(ps []editPage, v2, opt bool, e string) ([]editPage, bool) {
		if e != "dict" {
			return ps, false
		}
		k := len(ps) - 1
		ps[k].body = append(ps[k].body, x)
		return ps, true
	}
}

func TestAgreeEdits(t *testing.T) {
	edits := map[string]editFn{
		"zero-value dictionary page with bit width 64": func(ps []editPage, v2, opt bool, e string) ([]editPage, bool) {
			if e != "dict" {
				return ps, false
			}
			body := []byte{0x40}
			if opt && !v2 {
				body = []byte{0, 0, 0, 0, 0x40}
			}
			return append(ps, zeroPage(ps, body, format.RLEDictionary, 0, 0)), true
		},
		"incomplete run header after the indexes": afterIndexes(0x80),
		"cut bit-packed run after the indexes":    afterIndexes(0x03),
		"incomplete run header after the levels": func(ps []editPage, v2, opt bool, e string) ([]editPage, bool) {
			if !opt {
				return ps, false
			}
			k := len(ps) - 1
			b := ps[k].body
			if v2 {
				v := &ps[k].h.DataPageHeaderV2.V
				d := int(v.RepetitionLevelsByteLength + v.DefinitionLevelsByteLength)
				ps[k].body = append(append(append([]byte{}, b[:d]...), 0x80), b[d:]...)
				v.DefinitionLevelsByteLength++
				return ps, true
			}
			l := v1LevelsEnd(b)
			nb := append(append(append([]byte{}, b[:l]...), 0x80), b[l:]...)
			binary.LittleEndian.PutUint32(nb, uint32(l-4+1))
			ps[k].body = nb
			return ps, true
		},
		"required v2 page with NumNulls 1": func(ps []editPage, v2, opt bool, e string) ([]editPage, bool) {
			if opt || !v2 {
				return ps, false
			}
			ps[len(ps)-1].h.DataPageHeaderV2.V.NumNulls = 1
			return ps, true
		},
		"v2 zero-value page of repetition levels only": func(ps []editPage, v2, opt bool, e string) ([]editPage, bool) {
			if !v2 {
				return ps, false
			}
			return append(ps, zeroPage(ps, []byte{0}, format.Plain, 1, 0)), true
		},
		"required v2 zero-value page of definition levels only": func(ps []editPage, v2, opt bool, e string) ([]editPage, bool) {
			if !v2 || opt {
				return ps, false
			}
			return append(ps, zeroPage(ps, []byte{0}, format.Plain, 0, 1)), true
		},
		"bytes after DELTA string values": func(ps []editPage, v2, opt bool, e string) ([]editPage, bool) {
			if e != "dlba" && e != "dba" {
				return ps, false
			}
			k := len(ps) - 1
			ps[k].body = append(ps[k].body, 1, 2, 3)
			return ps, true
		},
	}
	for _, ver := range []int{1, 2} {
		for _, e := range r2Encs {
			for _, opt := range []bool{false, true} {
				data := idFile(t, e.e, opt, ver, 100, agreeVal(opt), parquet.PageBufferSize(256))
				for name, edit := range edits {
					probe := pagesOf(t, data[func() int { s, _ := chunkOf(t, data, 0, "content_id"); return s }():func() int { s, n := chunkOf(t, data, 0, "content_id"); return s + n }()])
					if _, ok := edit(probe, ver == 2, opt, e.name); !ok {
						continue
					}
					t.Run(fmt.Sprintf("v%d/%s/opt=%v/%s", ver, e.name, opt, name), func(t *testing.T) {
						edited := editChunk(t, data, 0, "content_id", func(ps []editPage) []editPage {
							ps, _ = edit(ps, ver == 2, opt, e.name)
							return ps
						})
						if err := idAgree(t, edited); err != nil {
							t.Logf("both fail: %v", err)
						}
					})
				}
			}
		}
	}
}

// deltaStringCols are a string column decoded by idCursor when streamed
// (content_id) and one parquet-go decodes either way (platform).
var deltaStringCols = []struct {
	col  string
	role int
}{{"content_id", roleContentID}, {"platform", rolePlatform}}

// DELTA_BYTE_ARRAY pages with bytes after their suffixes: parquet-go's
// amd64 decoder takes the suffixes from the END of the page (j = len(src)
// - n), so it read values that are not the page's, with no error, until
// checkPage refused bytes after a delta string page's values.
func TestAgreeDBATrailingBytes(t *testing.T) {
	str := func(i int) any { return fmt.Sprintf("id-%d-%d", i%4, i/3) }
	for _, tc := range deltaStringCols {
		t.Run(tc.col, func(t *testing.T) {
			var m [numRoles]string
			m[tc.role] = tc.col
			data := writePG(t, oneCol(tc.col, parquet.Encoded(parquet.String(), &parquet.DeltaByteArray), str),
				100, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
			data = editChunk(t, data, 0, tc.col, func(ps []editPage) []editPage {
				k := len(ps) - 1
				ps[k].body = append(ps[k].body, 1, 2, 3)
				return ps
			})
			f, err := open(bytes.NewReader(data), int64(len(data)), "edited.parquet", m)
			if err != nil {
				t.Fatal(err)
			}
			check := func(how string, rows []row) {
				for i, r := range rows {
					got := any(nil)
					if tc.role == roleContentID {
						got = r.ID
					} else if r.Platform != nil {
						got = *r.Platform
					}
					if got != str(i) {
						t.Errorf("%s: row %d: %q, want %q (no error)", how, i, got, str(i))
						return
					}
				}
			}
			var b Batch
			if err := f.ReadRowGroup(0, &b); err == nil {
				check("ReadRowGroup", batchRows(t, &b))
			}
			if rows, err := streamRows(t, f, 7); err == nil {
				check("streamed", rows)
			}
		})
	}
}

// A v2 page whose header counts no nulls, mostly nulls, PLAIN INT64:
// parquet-go checks the decoded buffer's capacity for NumValues values,
// so the whole read failed until walkPage set the count from the levels.
func TestAgreeNullCount0MostlyNull(t *testing.T) {
	var m [numRoles]string
	m[roleAuthorID] = "author_id"
	for _, n := range []int{60, 1000, 5000} {
		for _, e := range []encoding.Encoding{&parquet.Plain, &parquet.DeltaBinaryPacked, &parquet.ByteStreamSplit, &parquet.RLEDictionary} {
			t.Run(fmt.Sprint(n, e), func(t *testing.T) {
				data := writePG(t, oneCol("author_id", parquet.Optional(parquet.Encoded(parquet.Int(64), e)), func(i int) any {
					if i%20 != 0 {
						return nil
					}
					return int64(i)
				}), n, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(2))
				data = editChunk(t, data, 0, "author_id", func(ps []editPage) []editPage {
					for i := range ps {
						if ps[i].h.Type == format.DataPageV2 {
							ps[i].h.DataPageHeaderV2.V.NumNulls = 0
						}
					}
					return ps
				})
				werr, _ := numAgree(t, data, m)
				if werr != nil {
					t.Logf("both: %v", werr)
				}
			})
		}
	}
}

// The same outcome divergences for numCursor.
func TestAgreeNumCursorSame(t *testing.T) {
	var m [numRoles]string
	m[roleAuthorID] = "author_id"
	for _, opt := range []bool{false, true} {
		node := parquet.Node(parquet.Int(64))
		if opt {
			node = parquet.Optional(node)
		}
		data := writePG(t, oneCol("author_id", node, func(i int) any {
			if opt && i%3 == 0 {
				return nil
			}
			return int64(i)
		}), 50, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(2))
		t.Run(fmt.Sprint("NumNulls 1 optional=", opt), func(t *testing.T) {
			if opt {
				t.Skip()
			}
			numAgree(t, editChunk(t, data, 0, "author_id", func(ps []editPage) []editPage {
				ps[len(ps)-1].h.DataPageHeaderV2.V.NumNulls = 1
				return ps
			}), m)
		})
		t.Run(fmt.Sprint("zero-value page of repetition levels optional=", opt), func(t *testing.T) {
			numAgree(t, editChunk(t, data, 0, "author_id", func(ps []editPage) []editPage {
				return append(ps, zeroPage(ps, []byte{0}, format.Plain, 1, 0))
			}), m)
		})
	}
}

func dbaPage(t *testing.T, prefix, suffix []int32, data []byte) []byte {
	var out []byte
	var err error
	out, err = parquet.DeltaBinaryPacked.EncodeInt32(out, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var s []byte
	s, err = parquet.DeltaBinaryPacked.EncodeInt32(s, suffix)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(out, s...), data...)
}

// Hand-made DELTA_BYTE_ARRAY pages in a required content_id column.
func TestAgreeDBAHandMade(t *testing.T) {
	const n = 100
	base := writePG(t, oneCol("content_id", parquet.Encoded(parquet.String(), &parquet.DeltaByteArray), func(i int) any { return fmt.Sprint(i) }),
		n, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
	mk := func(edit func(p, s []int32)) []byte {
		p, s := make([]int32, n), make([]int32, n)
		var data []byte
		for i := range n {
			s[i] = 20
			if i > 0 {
				p[i] = 5
				s[i] = 15
			}
		}
		edit(p, s)
		for i := range n {
			for range s[i] {
				data = append(data, byte('a'+i%26))
			}
		}
		return dbaPage(t, p, s, data)
	}
	for name, edit := range map[string]func(p, s []int32){
		"valid":                       func(p, s []int32) {},
		"prefix longer than the last": func(p, s []int32) { s[49], p[50] = 0, 10 },
		"first prefix not 0":          func(p, s []int32) { p[0] = 1 },
		"prefix longer, late":         func(p, s []int32) { s[98], p[99] = 0, 10 },
	} {
		t.Run(name, func(t *testing.T) {
			page := mk(edit)
			data := editChunk(t, base, 0, "content_id", func(ps []editPage) []editPage {
				h := ps[len(ps)-1].h
				h.DataPageHeader.V.NumValues = n
				h.DataPageHeader.V.Statistics = format.Statistics{}
				return []editPage{{h: h, body: page}}
			})
			if err := idAgree(t, data); err != nil {
				t.Logf("both fail: %v", err)
			}
		})
	}
}

// A DELTA_LENGTH_BYTE_ARRAY length whose first value is out of INT32's
// range: parquet-go refuses it, and deltaReader, which wrapped it to 3,
// now too.
func TestAgreeDLBAFirstValueRange(t *testing.T) {
	base := writePG(t, oneCol("content_id", parquet.Encoded(parquet.String(), &parquet.DeltaLengthByteArray), func(i int) any { return "abc" }),
		1, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
	page := binary.AppendUvarint(nil, 128)
	page = binary.AppendUvarint(page, 4)
	page = binary.AppendUvarint(page, 1)
	page = binary.AppendVarint(page, 1<<32+3)
	page = append(page, "abc"...)
	data := editChunk(t, base, 0, "content_id", func(ps []editPage) []editPage {
		ps[len(ps)-1].body = page
		return ps
	})
	if err := idAgree(t, data); err != nil {
		t.Logf("both fail: %v", err)
	}
}

// A DELTA_BYTE_ARRAY page whose values repeat a long prefix: a page of
// 64 KiB expands to n*64 KiB in parquet-go (which sizes its buffer by the
// prefix lengths' sum), in the whole read and in the streamed read of a
// string column parquet-go decodes; checkPage bounds the sum by
// MaxPageSize.
func TestAgreeDBAExpansion(t *testing.T) {
	const n, L = 3000, 64 << 10
	for _, tc := range deltaStringCols {
		t.Run(tc.col, func(t *testing.T) {
			var m [numRoles]string
			m[tc.role] = tc.col
			base := writePG(t, oneCol(tc.col, parquet.Encoded(parquet.String(), &parquet.DeltaByteArray), func(i int) any { return "x" }),
				n, 0, parquet.Compression(&parquet.Uncompressed), parquet.DataPageVersion(1))
			p, s := make([]int32, n), make([]int32, n)
			s[0] = L
			for i := 1; i < n; i++ {
				p[i] = L
			}
			page := dbaPage(t, p, s, bytes.Repeat([]byte{'a'}, L))
			data := editChunk(t, base, 0, tc.col, func(ps []editPage) []editPage {
				h := ps[len(ps)-1].h
				h.DataPageHeader.V.NumValues = n
				h.DataPageHeader.V.Statistics = format.Statistics{}
				var out []editPage
				if ps[0].h.Type == format.DictionaryPage {
					out = append(out, ps[0])
				}
				return append(out, editPage{h: h, body: page})
			})
			f, err := open(bytes.NewReader(data), int64(len(data)), "edited.parquet", m)
			if err != nil {
				t.Fatal(err)
			}
			// The values add up to 188 MiB: under MaxPageSize (256 MiB)
			// they are read, in as much memory; over it (here 8 MiB) they
			// are refused before parquet-go allocates for them.
			defer func(p int32) { maxPageSize = p }(maxPageSize)
			maxPageSize = 8 << 20
			measure := func(how string, fn func() error) {
				var a, b runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&a)
				err := fn()
				runtime.ReadMemStats(&b)
				mb := (b.TotalAlloc - a.TotalAlloc) >> 20
				if mb > 64 {
					t.Errorf("%s: %d MiB allocated for a file of %d KiB", how, mb, len(data)>>10)
				}
				if err == nil || !strings.Contains(err.Error(), "add up to") {
					t.Errorf("%s: %v, want the values' size refused", how, err)
				}
			}
			measure("streamed", func() error {
				sb := Batch{LazyContentID: true}
				if err := f.OpenRowGroup(0, &sb); err != nil {
					return err
				}
				for {
					k, err := f.NextRows(&sb, 1000)
					if err != nil || k == 0 {
						if err == nil {
							err = f.ContentIDs(&sb, []int32{0}, &IDs{})
						}
						return err
					}
				}
			})
			measure("ReadRowGroup", func() error { var b Batch; return f.ReadRowGroup(0, &b) })
		})
	}
}
