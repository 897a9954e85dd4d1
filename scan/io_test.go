package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestReadAtCalls: Open costs at most two reads (header magic, tail), and
// a row group one read per run of audit chunks less than 1 MiB apart.
func TestReadAtCalls(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	blob := func(i int) any {
		b := make([]byte, 3000)
		for k := range b {
			b[k] = byte(rnd.IntN(256))
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		extra     []pgCol
		perGroup  int64
		maxExtraB int64 // bytes read beyond the audit chunks, per row group
	}{
		// Extra columns sort after the audit ones ("zz"): one read.
		{"contiguous", []pgCol{{"zz_blob", parquet.Leaf(parquet.ByteArrayType), blob}}, 1, 0},
		// A ~1.5 MiB column ("b...") between author_id and content_id.
		{"gap over 1 MiB", []pgCol{{"blob", parquet.Leaf(parquet.ByteArrayType), blob}}, 2, 0},
		// A small column in between is read through.
		{"small gap", []pgCol{{"big_small", parquet.Int(64), func(i int) any { return int64(i) }}}, 1, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := sampleRows(1000, true, false)
			cols := pgCase{nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain}.columns(want)[:6]
			cols = append(cols, tc.extra...)
			data := writePG(t, cols, 1000, 500, parquet.Compression(&parquet.Uncompressed))
			cr := &countingReader{r: bytes.NewReader(data)}
			f, err := Open(cr, int64(len(data)), "io.parquet", defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			if n := cr.calls.Load(); n > 2 {
				t.Errorf("Open made %d reads, want at most 2", n)
			}
			var b Batch
			var got []row
			for i := 0; i < f.NumRowGroups(); i++ {
				cr.calls.Store(0)
				cr.bytes.Store(0)
				if err := f.ReadRowGroup(i, &b); err != nil {
					t.Fatal(err)
				}
				got = append(got, batchRows(t, &b)...)
				if n := cr.calls.Load(); n != tc.perGroup {
					t.Errorf("row group %d: %d reads, want %d", i, n, tc.perGroup)
				}
				var audit int64
				for role := range f.cols {
					_, n := chunkRange(&f.meta.RowGroups[i].Columns[f.cols[role].leaf].MetaData)
					audit += n
				}
				if extra := cr.bytes.Load() - audit; extra < 0 || extra > tc.maxExtraB {
					t.Errorf("row group %d: read %d bytes for %d bytes of audit chunks", i, cr.bytes.Load(), audit)
				}
			}
			compareRows(t, got, want)
		})
	}
}

// TestConcurrentRowGroups reads row groups from several goroutines (one
// Batch each) and compares with a sequential read. Run with -race.
func TestConcurrentRowGroups(t *testing.T) {
	want := sampleRows(4000, true, false)
	data := writePG(t, pgCase{nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain}.columns(want),
		4000, 500, parquet.Compression(&parquet.Zstd))
	f, err := Open(bytes.NewReader(data), int64(len(data)), "c.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRowGroups() != 8 {
		t.Fatalf("%d row groups", f.NumRowGroups())
	}
	got := make([][]row, f.NumRowGroups())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b Batch
			for i := w; i < f.NumRowGroups(); i += 4 {
				if err := f.ReadRowGroup(i, &b); err != nil {
					errs <- err
					return
				}
				got[i] = batchRows(t, &b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var all []row
	for _, g := range got {
		all = append(all, g...)
	}
	compareRows(t, all, want)
}

// TestBatchReuse: a Batch reused across row groups of different files and
// shapes holds exactly the last row group (no stale values, codes or Dict
// entries).
func TestBatchReuse(t *testing.T) {
	wantA := sampleRows(900, true, false)
	a := writePG(t, pgCase{nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain}.columns(wantA), 900, 300)
	wantB := sampleRows(50, false, true)
	for i := range wantB {
		wantB[i].Platform = ptr(fmt.Sprintf("only-in-b-%d", i%3))
	}
	b := writePG(t, pgCase{intIDs: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain}.columns(wantB), 50, 0)
	fa, err := Open(bytes.NewReader(a), int64(len(a)), "a", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := Open(bytes.NewReader(b), int64(len(b)), "b", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	var batch Batch
	steps := []struct {
		f    *File
		rg   int
		want []row
	}{
		{fa, 2, wantA[600:900]},
		{fb, 0, wantB},
		{fa, 0, wantA[0:300]},
		{fa, 1, wantA[300:600]},
		{fb, 0, wantB},
	}
	for k, s := range steps {
		if err := s.f.ReadRowGroup(s.rg, &batch); err != nil {
			t.Fatal(err)
		}
		got := batchRows(t, &batch)
		if !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: rows differ", k)
		}
		if s.f == fb && len(batch.Platform.Dict) != 3 {
			t.Fatalf("step %d: platform Dict %q, want the 3 values of b", k, batch.Platform.Dict)
		}
	}
}

// TestReadRow: ReadRow returns the same row as ReadRowGroup and indexing,
// reuses a batch that holds the row group, and rejects rows out of range.
func TestReadRow(t *testing.T) {
	want := sampleRows(1000, true, false)
	data := writePG(t, pgCase{nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain}.columns(want), 1000, 300)
	cr := &countingReader{r: bytes.NewReader(data)}
	f, err := Open(cr, int64(len(data)), "r.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	for _, r := range []int64{0, 299, 300, 301, 599, 600, 999, 998, 5} {
		before := cr.calls.Load()
		idx, err := f.ReadRow(r, &b)
		if err != nil {
			t.Fatal(err)
		}
		if got := batchRows(t, &b)[idx]; !reflect.DeepEqual(got, want[r]) {
			t.Errorf("row %d: got %v want %v", r, got, want[r])
		}
		if b.FirstRow+int64(idx) != r {
			t.Errorf("row %d: FirstRow %d + idx %d", r, b.FirstRow, idx)
		}
		reads := cr.calls.Load() - before
		if r == 301 || r == 599 || r == 998 {
			if reads != 0 {
				t.Errorf("row %d: %d reads; the batch already held its row group", r, reads)
			}
		}
	}
	for _, r := range []int64{-1, 1000} {
		_, err := f.ReadRow(r, &b)
		se := wantError(t, err, "r.parquet", "no such row")
		if se.Row != r {
			t.Errorf("Error.Row = %d, want %d", se.Row, r)
		}
	}
	err = f.ReadRowGroup(4, &b)
	wantError(t, err, "r.parquet: row group 4: no such row group: the file has 4")
}

// rangeReader records the byte ranges read.
type rangeReader struct {
	r  io.ReaderAt
	mu sync.Mutex
	rs []byteRange
}

func (c *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.mu.Lock()
	c.rs = append(c.rs, byteRange{off, off + int64(n)})
	c.mu.Unlock()
	return n, err
}

// take returns the ranges read since the last call.
func (c *rangeReader) take() []byteRange {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs := c.rs
	c.rs = nil
	return rs
}

// TestContentIDsFetchedLast: a streamed row group (LazyContentID) whose
// content_id chunk is 1 MiB or more fetches that chunk only in ContentIDs,
// after the other columns are decoded; a smaller one is fetched with the
// others. Either way it is read once however often ContentIDs is called,
// and the rows are the ones written.
func TestContentIDsFetchedLast(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name     string
		idBytes  int // random hex digits added to each string id
		deferred bool
	}{
		{"small ids", 0, false},
		{"1.6 KB ids", 1600, true}, // over 1.3 MB per 1000-row chunk, compressed or not
	} {
		for _, codec := range []parquet.WriterOption{parquet.Compression(&parquet.Uncompressed), parquet.Compression(&parquet.Snappy)} {
			want := sampleRows(3000, true, false)
			if tc.idBytes > 0 {
				buf := make([]byte, tc.idBytes/2)
				for i := range want {
					if id, ok := want[i].ID.(string); ok {
						for k := range buf {
							buf[k] = byte(rnd.IntN(256))
						}
						want[i].ID = fmt.Sprintf("%s-%x", id, buf)
					}
				}
			}
			// content_id's chunk comes first, the other five after it.
			data := writePG(t, pgCase{nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain}.columns(want)[:6], 3000, 1000, codec)
			rr := &rangeReader{r: bytes.NewReader(data)}
			f, err := Open(rr, int64(len(data)), "ids.parquet", defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			// Chunks fetched whole (read through a window, a chunk is
			// read in parts: TestReadWindow).
			f.SetReadWindow(0)
			t.Run(tc.name+"/"+f.pf.Metadata().RowGroups[0].Columns[0].MetaData.Codec.String(), func(t *testing.T) {
				overlaps := func(rs []byteRange, r byteRange) int {
					n := 0
					for _, x := range rs {
						if x.off < r.end && r.off < x.end {
							n++
						}
					}
					return n
				}
				var got []row
				b := Batch{LazyContentID: true}
				for rg := 0; rg < f.NumRowGroups(); rg++ {
					start, length := chunkRange(&f.meta.RowGroups[rg].Columns[f.cols[roleContentID].leaf].MetaData)
					if big := length >= coalesceGap; big != tc.deferred {
						t.Fatalf("row group %d: content_id chunk of %d bytes: the case needs it %s 1 MiB", rg, length, map[bool]string{true: "at least", false: "under"}[tc.deferred])
					}
					id := byteRange{start, start + length}
					rr.take()
					rows := openAndDrain(t, f, rg, &b, 700)
					before := overlaps(rr.take(), id)
					if wantBefore := map[bool]int{true: 0, false: 1}[tc.deferred]; before != wantBefore {
						t.Fatalf("row group %d: content_id's chunk %v read %d times before ContentIDs, want %d", rg, id, before, wantBefore)
					}
					all := make([]int32, len(rows))
					for i := range all {
						all[i] = int32(i)
					}
					for k := range 2 {
						var ids IDs
						if err := f.ContentIDs(&b, all, &ids); err != nil {
							t.Fatal(err)
						}
						if k == 0 {
							setIDs(t, rows, &ids)
						}
					}
					if n := before + overlaps(rr.take(), id); n != 1 {
						t.Fatalf("row group %d: content_id's chunk %v read %d times, want 1", rg, id, n)
					}
					got = append(got, rows...)
				}
				compareRows(t, got, want)
			})
		}
	}
}

// failRange fails every read that overlaps bad, once armed.
type failRange struct {
	r     io.ReaderAt
	bad   byteRange
	armed bool
}

func (f *failRange) ReadAt(p []byte, off int64) (int, error) {
	if f.armed && off < f.bad.end && f.bad.off < off+int64(len(p)) {
		return 0, errors.New("injected read error")
	}
	return f.r.ReadAt(p, off)
}

// TestContentIDsFetchError: a deferred content_id fetch that fails gives
// an *Error naming the column and row group, and the row group is not
// trusted.
func TestContentIDsFetchError(t *testing.T) {
	want := sampleRows(300, true, false)
	data := writePG(t, pgCase{nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain}.columns(want)[:6], 300, 300, parquet.Compression(&parquet.Snappy))
	start, n := chunkOf(t, data, 0, "content_id")
	fr := &failRange{r: bytes.NewReader(data), bad: byteRange{int64(start), int64(start + n)}}
	f, err := Open(fr, int64(len(data)), "x.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	f.deferIDBytes = 0
	b := Batch{LazyContentID: true}
	openAndDrain(t, f, 0, &b, 100)
	// Only the deferred read fails (the others' read does not cover the
	// content_id chunk, although it is a gap of under 1 MiB: see fetch).
	fr.armed = true
	err = f.ContentIDs(&b, nil, new(IDs))
	var se *Error
	if !errors.As(err, &se) || se.Column != "content_id" || se.RowGroup != 0 || !strings.Contains(err.Error(), "injected read error") {
		t.Fatalf("ContentIDs: %v (%#v), want an *Error naming content_id and row group 0", err, se)
	}
}

// openAndDrain opens row group rg into b (LazyContentID) and reads it to
// its end, slice rows at a time, returning its rows without content ids.
func openAndDrain(t *testing.T, f *File, rg int, b *Batch, slice int) []row {
	t.Helper()
	if err := f.OpenRowGroup(rg, b); err != nil {
		t.Fatal(err)
	}
	return drainRows(t, f, b, slice)
}

// drainRows reads the row group open in b to its end, slice rows at a
// time, returning its rows without content ids.
func drainRows(t *testing.T, f *File, b *Batch, slice int) []row {
	t.Helper()
	var rows []row
	for {
		n, err := f.NextRows(b, slice)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return rows
		}
		rows = append(rows, rowsNoID(t, b)...)
	}
}
