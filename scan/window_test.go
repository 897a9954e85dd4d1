package scan

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// windowFile writes n sample rows with parquet-go, Snappy, in v1 pages of
// about 512 bytes and row groups of rgRows rows: its content_id, author_id
// and created_at chunks are streamed through any window of a few KiB.
func windowFile(t *testing.T, n, rgRows int) ([]byte, []row) {
	t.Helper()
	want := sampleRows(n, true, false)
	data := writePG(t, pgCase{nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain}.columns(want)[:6], n, rgRows,
		parquet.Compression(&parquet.Snappy), parquet.DataPageVersion(1), parquet.PageBufferSize(512))
	return data, want
}

// longestPage returns the length of the longest page (header and body) of
// a column chunk.
func longestPage(t *testing.T, chunk []byte) int {
	t.Helper()
	longest := 0
	for off := 0; off < len(chunk); {
		h, hl, err := readPageHeader(chunk[off:])
		if err != nil {
			t.Fatal(err)
		}
		n := hl + int(h.CompressedPageSize)
		longest = max(longest, n)
		off += n
	}
	return longest
}

// TestReadWindow: a streamed row group reads each chunk File.streams picks
// through the read window: every read of the chunk lies inside it and is
// one window, one header probe or one page long (whichever is longest);
// together the reads cover the chunk; the window's buffer is no larger;
// content_id's chunk is not read before ContentIDs; and the rows are the
// ones written.
func TestReadWindow(t *testing.T) {
	data, want := windowFile(t, 3000, 1000)
	for _, window := range []int64{1, 700, 5000} {
		t.Run(fmt.Sprint(window), func(t *testing.T) {
			rr := &rangeReader{r: bytes.NewReader(data)}
			f, err := Open(rr, int64(len(data)), "w.parquet", defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			f.SetReadWindow(window)
			f.deferIDBytes = 0
			var got []row
			b := Batch{LazyContentID: true}
			maxBound := 0
			for rg := range f.NumRowGroups() {
				type chunk struct {
					role  int
					r     byteRange
					bound int // the longest read allowed
				}
				var streamed []chunk
				for role := range f.cols {
					if !f.streams(rg, role) {
						continue
					}
					start, n := f.fetchRange(rg, &f.cols[role])
					bound := max(int(window), headerProbe, longestPage(t, data[start:start+n]))
					streamed = append(streamed, chunk{role, byteRange{start, start + n}, bound})
					maxBound = max(maxBound, bound)
				}
				var roles []string
				for _, c := range streamed {
					roles = append(roles, f.cols[c.role].name)
				}
				if len(streamed) != 3 {
					t.Fatalf("row group %d: chunks streamed: %v, want content_id, author_id and created_at", rg, roles)
				}
				rr.take()
				rows := openAndDrain(t, f, rg, &b, 70)
				before := rr.take()
				all := make([]int32, len(rows))
				for i := range all {
					all[i] = int32(i)
				}
				var ids IDs
				if err := f.ContentIDs(&b, all, &ids); err != nil {
					t.Fatal(err)
				}
				setIDs(t, rows, &ids)
				reads := append(before, rr.take()...)
				for _, c := range streamed {
					seen := make([]bool, c.r.end-c.r.off)
					for k, r := range reads {
						if r.end <= c.r.off || c.r.end <= r.off {
							continue
						}
						name := f.cols[c.role].name
						if name == "content_id" && k < len(before) {
							t.Fatalf("row group %d: content_id's chunk %v read (%v) before ContentIDs", rg, c.r, r)
						}
						if r.off < c.r.off || r.end > c.r.end {
							t.Fatalf("row group %d: read %v crosses %s's chunk %v", rg, r, name, c.r)
						}
						if r.end-r.off > int64(c.bound) {
							t.Fatalf("row group %d: read %v of %d bytes of %s's chunk, more than %d", rg, r, r.end-r.off, name, c.bound)
						}
						for i := r.off; i < r.end; i++ {
							seen[i-c.r.off] = true
						}
					}
					if i := bytes.IndexByte(boolBytes(seen), 0); i >= 0 {
						t.Fatalf("row group %d: byte %d of %s's chunk %v never read", rg, i, f.cols[c.role].name, c.r)
					}
				}
				got = append(got, rows...)
			}
			for role := range f.cols {
				if c := cap(b.sc.win[role].buf); c > maxBound {
					t.Errorf("%s's window holds %d bytes, more than %d", f.cols[role].name, c, maxBound)
				}
			}
			compareRows(t, got, want)
		})
	}
}

func boolBytes(s []bool) []byte {
	b := make([]byte, len(s))
	for i, v := range s {
		if v {
			b[i] = 1
		}
	}
	return b
}

// TestReadWindowErrors: damage to a streamed chunk, found as its pages are
// reached, names the column, the row group and the page (with its offset
// and first row); for these kinds of damage, in the words the chunk
// fetched and walked whole gives. (Not for every kind: where the whole
// walk's up-front checks and parquet-go's decoding see different things
// first, the two errors differ, but both reads fail: readFile.)
func TestReadWindowErrors(t *testing.T) {
	data, _ := windowFile(t, 3000, 1000)
	const rg, k = 1, 3 // author_id's page k in row group rg
	// pageAt returns the offset in the chunk and the first row (in the row
	// group) of page k of pages ps.
	pageAt := func(ps []editPage) (off, row int) {
		for _, p := range ps[:k] {
			if p.h.Type == format.DataPage {
				row += int(p.h.DataPageHeader.V.NumValues)
			}
		}
		return len(encodeCompressed(t, ps[:k])), row
	}
	firstRow := func(r int) int { return 1000*rg + r }
	for _, tc := range []struct {
		name string
		edit func(ps []editPage) ([]editPage, string)
		// garble: bytes written over page k's header
		garble bool
	}{
		{"header", func(ps []editPage) ([]editPage, string) {
			off, _ := pageAt(ps)
			return ps, fmt.Sprintf("page %d (offset %d in the column chunk): header:", k, off)
		}, true},
		{"too many values", func(ps []editPage) ([]editPage, string) {
			ps[k].h.DataPageHeader.V.NumValues = 1 << 30
			return ps, "the column's pages hold more values than the row group's 1000 rows"
		}, false},
		{"last page gone", func(ps []editPage) ([]editPage, string) {
			last := ps[len(ps)-1].h.DataPageHeader.V.NumValues
			return ps[:len(ps)-1], fmt.Sprintf("the column's pages hold %d values but the row group has 1000 rows", 1000-last)
		}, false},
		{"checksum", func(ps []editPage) ([]editPage, string) {
			off, row := pageAt(ps)
			ps[k].h.CRC = 12345
			return ps, fmt.Sprintf("page %d (offset %d in the column chunk, from row %d): ", k, off, firstRow(row))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want string
			bad := editChunkWith(t, data, rg, "author_id", func(ps []editPage) []editPage {
				if len(ps) <= k+1 {
					t.Fatalf("author_id has %d pages, the test needs more than %d", len(ps), k+1)
				}
				ps, want = tc.edit(ps)
				return ps
			}, func(t testing.TB, ps []editPage) []byte {
				c := encodeCompressed(t, ps)
				if tc.garble {
					off := len(encodeCompressed(t, ps[:k]))
					copy(c[off:], bytes.Repeat([]byte{0xff}, 8))
				}
				return c
			})
			var msgs []string
			for _, window := range []int64{0, 1, 700, -700} { // -700: read ahead
				err := streamFile(bad, defaultCols, 1<<16, 0, window)
				var se *Error
				if !errors.As(err, &se) || se.Column != "author_id" || se.RowGroup != rg || !strings.Contains(err.Error(), want) {
					t.Fatalf("window %d: error %v, want an *Error naming author_id, row group %d and containing %q", window, err, rg, want)
				}
				msgs = append(msgs, err.Error())
			}
			if msgs[1] != msgs[0] || msgs[2] != msgs[0] || msgs[3] != msgs[0] {
				t.Fatalf("fetched whole: %s\nstreamed: %s\nstreamed (700): %s\nstreamed (700, read ahead): %s", msgs[0], msgs[1], msgs[2], msgs[3])
			}
		})
	}
}

// TestReadWindowReadError: a read of a streamed chunk that fails names the
// column and row group, and the bytes.
func TestReadWindowReadError(t *testing.T) {
	data, _ := windowFile(t, 3000, 1000)
	start, n := chunkOf(t, data, 1, "created_at")
	fr := &failRange{r: bytes.NewReader(data), bad: byteRange{int64(start + n/2), int64(start + n/2 + 1)}}
	f, err := Open(fr, int64(len(data)), "w.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	fr.armed = true
	f.SetReadWindow(700)
	// Without and with each next window read ahead: a read ahead that
	// fails is read again when its bytes are wanted, and fails the same.
	for _, ahead := range []bool{false, true} {
		f.SetWindowAhead(ahead)
		b := Batch{LazyContentID: true}
		openAndDrain(t, f, 0, &b, 100)
		err = f.OpenRowGroup(1, &b)
		for err == nil {
			var got int
			if got, err = f.NextRows(&b, 100); got == 0 && err == nil {
				t.Fatal("row group 1 read without an error")
			}
		}
		b.DropPrefetch()
		var se *Error
		if !errors.As(err, &se) || se.Column != "created_at" || se.RowGroup != 1 || !strings.Contains(err.Error(), "injected read error") ||
			!strings.Contains(err.Error(), "reading bytes") {
			t.Fatalf("read ahead %v: error %v, want an *Error naming created_at, row group 1, the bytes read and the injected error", ahead, err)
		}
	}
}

// TestWindowAhead: with each next window read ahead, a streamed chunk's
// bytes are each read once (the page that straddles two windows is joined
// from the one before, not read again) and the rows are the ones written;
// a batch dropped mid-chunk waits for the read ahead.
func TestWindowAhead(t *testing.T) {
	data, want := windowFile(t, 3000, 1000)
	rr := &rangeReader{r: bytes.NewReader(data)}
	f, err := Open(rr, int64(len(data)), "w.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	f.SetReadWindow(700)
	f.SetWindowAhead(true)
	f.deferIDBytes = 0
	rr.take() // Open's
	got, err := streamRowsOnce(t, f, 70)
	if err != nil {
		t.Fatal(err)
	}
	compareRows(t, got, want)
	reads := rr.take()
	for rg := range f.NumRowGroups() {
		for role := range f.cols {
			if !f.streams(rg, role) {
				continue
			}
			start, n := f.fetchRange(rg, &f.cols[role])
			times := make([]int, n)
			for _, r := range reads {
				for i := max(r.off, start); i < min(r.end, start+n); i++ {
					times[i-start]++
				}
			}
			for i, k := range times {
				if k != 1 {
					t.Fatalf("row group %d: byte %d of %s's chunk read %d times, want once", rg, i, f.cols[role].name, k)
				}
			}
		}
	}
	// Dropped mid-chunk: nothing is left reading.
	b := Batch{LazyContentID: true}
	if err := f.OpenRowGroup(0, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := f.NextRows(&b, 70); err != nil {
		t.Fatal(err)
	}
	b.DropPrefetch()
	for role := range b.sc.win {
		if b.sc.win[role].next != nil {
			t.Fatalf("%s: a window read ahead is left after DropPrefetch", f.cols[role].name)
		}
	}
}

// TestBatchReusedAfterFailedFile: a batch reused after a file failed in a
// page walk reads an intact file as a fresh batch does. (A role sharing its
// column with another is not walked itself, and once found the walk of the
// failed file left to finish.)
func TestBatchReusedAfterFailedFile(t *testing.T) {
	good := writePG(t, pgCase{nullable: true, intIDs: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain}.columns(sampleRows(3000, true, true))[:6],
		3000, 1000, parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(512))
	// author_id's page 3 of row group 1 has a garbled header.
	bad := editChunkWith(t, good, 1, "author_id", func(ps []editPage) []editPage { return ps }, func(t testing.TB, ps []editPage) []byte {
		c := encodeCompressed(t, ps)
		copy(c[len(encodeCompressed(t, ps[:3])):], bytes.Repeat([]byte{0xff}, 8))
		return c
	})
	for _, shared := range []bool{false, true} {
		for _, window := range []int64{0, 700} {
			t.Run(fmt.Sprintf("shared=%t/window=%d", shared, window), func(t *testing.T) {
				cols := defaultCols
				if shared {
					cols.ContentID = "author_id" // one column, two roles
				}
				// The damaged file with content_id deferred, so that
				// author_id is walked (and fails) in its own right; the
				// intact one without, so that with the column shared only
				// content_id is.
				b := Batch{LazyContentID: true}
				if err := streamFileInto(&b, bad, cols, 1<<16, 0, window); err == nil || !strings.Contains(err.Error(), "page 3") {
					t.Fatalf("damaged file: %v, want an error naming page 3", err)
				}
				for _, deferID := range []int64{coalesceGap, 0} {
					if err := streamFileInto(&b, good, cols, 1<<16, deferID, window); err != nil {
						t.Fatalf("intact file (content_id deferred from %d bytes), batch reused: %v", deferID, err)
					}
				}
			})
		}
	}
}
