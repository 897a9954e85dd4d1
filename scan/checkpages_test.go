package scan

import (
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

func TestCheckPages(t *testing.T) {
	vals := plainInt64(1, 2, 3)
	v2 := func(nv, rows int) testPage {
		p := dataPageV2(nv, 0, format.Plain, nil, plainInt64(make([]int64, nv)...))
		p.h.DataPageHeaderV2.V.NumRows = int32(rows)
		return p
	}
	// uncompressed marks a v2 page as stored uncompressed, and adds grow
	// to the uncompressed size its header gives.
	uncompressed := func(p testPage, grow int32) testPage {
		p.h.DataPageHeaderV2.V.IsCompressed = thrift.Null[bool]{Valid: true, V: false}
		p.edit = func(h *format.PageHeader) { h.UncompressedPageSize += grow }
		return p
	}
	tests := []struct {
		name     string
		pages    []testPage
		values   int64
		repeated bool
		wantErr  string
	}{
		{"one page", []testPage{dataPage(3, format.Plain, vals)}, 3, false, ""},
		{"dictionary and two pages", []testPage{dictPage(3, vals), dataPage(3, format.Plain, vals), dataPage(2, format.Plain, vals)}, 5, false, ""},
		{"crc", []testPage{{h: dataPage(3, format.Plain, vals).h, body: vals, crc: true}}, 3, false, ""},
		{"no values", nil, 0, false, ""},
		{"fewer values than the footer", []testPage{dataPage(3, format.Plain, vals)}, 4, false, "pages end after 3 of the footer's 4 values"},
		{"more values than the footer", []testPage{dataPage(3, format.Plain, vals), dataPage(3, format.Plain, vals)}, 4, false, "pages hold 6 values, the footer says 4"},
		{"negative footer", nil, -1, false, "the footer counts -1 values"},
		{"huge uncompressed size", []testPage{{h: dataPage(3, format.Plain, vals).h, body: vals,
			edit: func(h *format.PageHeader) { h.UncompressedPageSize = 1 << 30 }}}, 3, false, "uncompressed"},
		{"page past the chunk", []testPage{{h: dataPage(3, format.Plain, vals).h, body: vals,
			edit: func(h *format.PageHeader) { h.CompressedPageSize = 1000 }}}, 3, false, "claims 1000 bytes"},
		{"bad crc", []testPage{{h: dataPage(3, format.Plain, vals).h, body: vals, crc: true,
			edit: func(h *format.PageHeader) { h.CRC++ }}}, 3, false, "checksum mismatch"},
		{"negative values", []testPage{dataPage(-2, format.Plain, vals)}, 3, false, "-2 values"},
		{"v2 page, a row per value", []testPage{v2(4, 4)}, 4, false, ""},
		{"v2 page of a list, flat", []testPage{v2(4, 2)}, 4, false, "inconsistent data page v2 header"},
		{"v2 page of a list, repeated", []testPage{v2(4, 2)}, 4, true, ""},
		{"v2 page, more rows than values", []testPage{v2(4, 5)}, 4, true, "inconsistent data page v2 header"},
		{"v2 page stored uncompressed", []testPage{uncompressed(v2(4, 4), 0)}, 4, false, ""},
		{"v2 page stored uncompressed, sizes differ", []testPage{uncompressed(v2(4, 4), 8)}, 4, false, "uncompressed, but its sizes differ"},
		{"index page", []testPage{{h: format.PageHeader{Type: format.IndexPage}, body: vals}, dataPage(3, format.Plain, vals)}, 3, false, "a page of type INDEX_PAGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunk := testChunk(t, format.Uncompressed, tt.pages...)
			err := CheckPages(chunk, tt.values, tt.repeated)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CheckPages: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("CheckPages = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	t.Run("truncated header", func(t *testing.T) {
		chunk := testChunk(t, format.Uncompressed, dataPage(3, format.Plain, vals))
		if err := CheckPages(chunk[:5], 3, false); err == nil || !strings.Contains(err.Error(), "header") {
			t.Fatalf("CheckPages = %v, want a header error", err)
		}
	})
}
