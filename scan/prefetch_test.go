package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// drainOpen reads the row group open in b to its end, slice rows at a time,
// and then the content ids of all its rows.
func drainOpen(t *testing.T, f *File, b *Batch, slice int) []row {
	t.Helper()
	rows := drainRows(t, f, b, slice)
	all := make([]int32, len(rows))
	for i := range all {
		all[i] = int32(i)
	}
	var ids IDs
	if err := f.ContentIDs(b, all, &ids); err != nil {
		t.Fatal(err)
	}
	setIDs(t, rows, &ids)
	return rows
}

// planned returns the byte ranges OpenRowGroup(rg) fetches.
func planned(f *File, rg int) []byteRange {
	want, _ := f.wanted(rg, true, true)
	return f.plan(rg, &want, nil)
}

// overlaps reports whether any range of a overlaps one of b.
func overlaps(a, b []byteRange) bool {
	for _, x := range a {
		for _, y := range b {
			if x.off < y.end && y.off < x.end {
				return true
			}
		}
	}
	return false
}

// TestPrefetch: a file read with each next row group prefetched gives the
// rows of a plain read and reads no byte twice: OpenRowGroup takes the
// prefetched chunks instead of reading them (it reads them itself for the
// first row group, which nothing prefetched), content_id's among them.
// With the chunks fetched whole, with content_id fetched after the others
// (as a large chunk is, which Prefetch fetches with them), and with chunks
// read through a window (which Prefetch leaves to the window).
func TestPrefetch(t *testing.T) {
	data, _ := windowFile(t, 3000, 1000)
	for _, v := range []struct {
		name            string
		window, deferID int64
	}{
		{"whole", 0, coalesceGap},
		{"content_id last", 0, 0},
		{"windowed", 700, 0},
	} {
		t.Run(v.name, func(t *testing.T) {
			rr := &rangeReader{r: bytes.NewReader(data)}
			f, err := Open(rr, int64(len(data)), "p.parquet", defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			f.SetReadWindow(v.window)
			f.deferIDBytes = v.deferID
			rr.take()
			want, err := streamRowsOnce(t, f, 100)
			if err != nil {
				t.Fatal(err)
			}
			plainBytes := rangeBytes(rr.take())

			b := Batch{LazyContentID: true}
			var got []row
			var readBytes int64
			for rg := range f.NumRowGroups() {
				if b.sc != nil {
					b.sc.ahead.wait() // what is read from here on is not the prefetch's
				}
				readBytes += rangeBytes(rr.take())
				if err := f.OpenRowGroup(rg, &b); err != nil {
					t.Fatal(err)
				}
				opened := rr.take()
				readBytes += rangeBytes(opened)
				if fetched := overlaps(opened, planned(f, rg)); fetched != (rg == 0) {
					t.Fatalf("row group %d: OpenRowGroup read %v, the planned chunks %v (read them itself: %v, want %v)",
						rg, opened, planned(f, rg), fetched, rg == 0)
				}
				if rg+1 < f.NumRowGroups() {
					f.Prefetch(rg+1, &b)
				}
				got = append(got, drainOpen(t, f, &b, 100)...)
				// content_id's chunk came with the prefetch, unless it is
				// read through the window; the first row group's is read
				// by ContentIDs if it was left out of the fetch.
				drained := rr.take()
				readBytes += rangeBytes(drained)
				start, n := f.fetchRange(rg, &f.cols[roleContentID])
				streamed := f.streams(rg, roleContentID)
				want := streamed || rg == 0 && n >= f.deferIDBytes
				if got := overlaps(drained, []byteRange{{start, start + n}}); got != want {
					t.Fatalf("row group %d: content_id's chunk read while decoding: %v, want %v (streamed %v)", rg, got, want, streamed)
				}
			}
			readBytes += rangeBytes(rr.take())
			compareRows(t, got, want)
			if readBytes != plainBytes {
				t.Errorf("read %d bytes with prefetching, %d without", readBytes, plainBytes)
			}
		})
	}
}

func rangeBytes(rs []byteRange) int64 {
	var n int64
	for _, r := range rs {
		n += r.end - r.off
	}
	return n
}

// TestPrefetchNotTaken: prefetched chunks are used only by OpenRowGroup of
// the same file and row group; any other read on the batch reads its own
// and gets its own rows.
func TestPrefetchNotTaken(t *testing.T) {
	data, want := windowFile(t, 3000, 1000)
	rowsOf := func(rg int) []row { return want[rg*1000 : (rg+1)*1000] }
	open := func(t *testing.T) (*File, *rangeReader) {
		rr := &rangeReader{r: bytes.NewReader(data)}
		f, err := Open(rr, int64(len(data)), "p.parquet", defaultCols)
		if err != nil {
			t.Fatal(err)
		}
		f.SetReadWindow(0)
		rr.take()
		return f, rr
	}
	// openReads opens rg with OpenRowGroup (the prefetch done) and
	// reports whether that read the planned chunks itself.
	openReads := func(t *testing.T, f *File, rr *rangeReader, rg int, b *Batch) bool {
		t.Helper()
		b.sc.ahead.wait()
		rr.take()
		if err := f.OpenRowGroup(rg, b); err != nil {
			t.Fatal(err)
		}
		return overlaps(rr.take(), planned(f, rg))
	}

	t.Run("another row group", func(t *testing.T) {
		f, rr := open(t)
		b := Batch{LazyContentID: true}
		openAndDrain(t, f, 0, &b, 100)
		f.Prefetch(2, &b)
		if !openReads(t, f, rr, 1, &b) {
			t.Fatal("row group 1 was not read: taken from row group 2's prefetch")
		}
		compareRows(t, drainOpen(t, f, &b, 100), rowsOf(1))
		if !openReads(t, f, rr, 2, &b) {
			t.Fatal("row group 2 was not read again: the prefetch outlived a read of another row group")
		}
		compareRows(t, drainOpen(t, f, &b, 100), rowsOf(2))
	})
	t.Run("another file", func(t *testing.T) {
		f, _ := open(t)
		g, grr := open(t)
		b := Batch{LazyContentID: true}
		openAndDrain(t, f, 0, &b, 100)
		f.Prefetch(1, &b)
		if !openReads(t, g, grr, 1, &b) {
			t.Fatal("the other file's row group 1 was not read from it")
		}
		compareRows(t, drainOpen(t, g, &b, 100), rowsOf(1))
	})
	// ReadRowGroup fetches what OpenRowGroup would, unless OpenRowGroup
	// reads chunks through the window, which ReadRowGroup fetches whole.
	for _, window := range []int64{0, 700} {
		t.Run(fmt.Sprintf("ReadRowGroup, window %d", window), func(t *testing.T) {
			f, _ := open(t)
			f.SetReadWindow(window)
			b := Batch{LazyContentID: true}
			openAndDrain(t, f, 0, &b, 100)
			// The same row group prefetched, then another.
			for _, p := range []struct{ ahead, rg int }{{1, 1}, {0, 2}} {
				rg := p.rg
				f.Prefetch(p.ahead, &b)
				if err := f.ReadRowGroup(rg, &b); err != nil {
					t.Fatal(err)
				}
				var ids IDs
				all := make([]int32, b.N)
				for i := range all {
					all[i] = int32(i)
				}
				rows := rowsNoID(t, &b)
				if err := f.ContentIDs(&b, all, &ids); err != nil {
					t.Fatal(err)
				}
				setIDs(t, rows, &ids)
				compareRows(t, rows, rowsOf(rg))
			}
		})
	}
	t.Run("prefetched twice", func(t *testing.T) {
		f, rr := open(t)
		b := Batch{LazyContentID: true}
		openAndDrain(t, f, 0, &b, 100)
		f.Prefetch(1, &b)
		f.Prefetch(2, &b)
		if openReads(t, f, rr, 2, &b) {
			t.Fatal("row group 2 read again: the second prefetch was not taken")
		}
		compareRows(t, drainOpen(t, f, &b, 100), rowsOf(2))
	})
	t.Run("nothing to prefetch", func(t *testing.T) {
		f, rr := open(t)
		b := Batch{} // no LazyContentID: not OpenRowGroup's
		f.Prefetch(1, &b)
		lazy := Batch{LazyContentID: true}
		f.Prefetch(-1, &lazy)
		f.Prefetch(3, &lazy)
		if b.sc != nil || lazy.sc != nil {
			t.Fatal("Prefetch set up a read it cannot be taken for")
		}
		if got := rr.take(); len(got) != 0 {
			t.Fatalf("read %v", got)
		}
	})
}

// TestPrefetchReadError: a prefetch whose read fails does not fail the row
// group being decoded meanwhile; the OpenRowGroup that takes it returns
// the error a read of its own would.
func TestPrefetchReadError(t *testing.T) {
	data, want := windowFile(t, 3000, 1000)
	start, n := chunkOf(t, data, 1, "author_id")
	fr := &failRange{r: bytes.NewReader(data), bad: byteRange{int64(start), int64(start + n)}, armed: true}
	f, err := Open(fr, int64(len(data)), "p.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	f.SetReadWindow(0)

	var plain Batch
	plain.LazyContentID = true
	wantErr := f.OpenRowGroup(1, &plain)
	if wantErr == nil {
		t.Fatal("row group 1 read without the injected error")
	}

	b := Batch{LazyContentID: true}
	if err := f.OpenRowGroup(0, &b); err != nil {
		t.Fatal(err)
	}
	f.Prefetch(1, &b)
	compareRows(t, drainOpen(t, f, &b, 100), want[:1000])
	err = f.OpenRowGroup(1, &b)
	var se *Error
	if !errors.As(err, &se) || se.RowGroup != 1 || !strings.Contains(err.Error(), "injected read error") || !strings.Contains(err.Error(), "reading bytes") {
		t.Fatalf("error %v, want an *Error naming row group 1, the bytes read and the injected error", err)
	}
	if err.Error() != wantErr.Error() {
		t.Errorf("error %q, a read of its own gives %q", err, wantErr)
	}
	// The batch goes on: row group 2 reads as ever.
	if err := f.OpenRowGroup(2, &b); err != nil {
		t.Fatal(err)
	}
	compareRows(t, drainOpen(t, f, &b, 100), want[2000:])
}

// TestReadInParts: a fetched range longer than readPart is read in parts
// of at most readPart bytes that together cover it once, by OpenRowGroup
// and by Prefetch, and the rows are the ones written.
func TestReadInParts(t *testing.T) {
	data, want := windowFile(t, 3000, 1000)
	defer func(p int64) { readPart = p }(readPart)
	readPart = 300
	rr := &rangeReader{r: bytes.NewReader(data)}
	f, err := Open(rr, int64(len(data)), "p.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	f.SetReadWindow(0)
	var got []row
	b := Batch{LazyContentID: true}
	for rg := range f.NumRowGroups() {
		rr.take()
		if err := f.OpenRowGroup(rg, &b); err != nil {
			t.Fatal(err)
		}
		checkParts(t, rg, rr.take(), planned(f, rg))
		got = append(got, drainOpen(t, f, &b, 100)...)
	}
	compareRows(t, got, want)

	pb := Batch{LazyContentID: true}
	openAndDrain(t, f, 0, &pb, 100)
	rr.take()
	f.Prefetch(1, &pb)
	pb.sc.ahead.wait()
	checkParts(t, 1, rr.take(), prefetchPlan(f, 1))
	if err := f.OpenRowGroup(1, &pb); err != nil {
		t.Fatal(err)
	}
	compareRows(t, drainOpen(t, f, &pb, 100), want[1000:2000])
}

// prefetchPlan returns the byte ranges Prefetch(rg) reads.
func prefetchPlan(f *File, rg int) []byteRange {
	want := f.prefetchWant(rg)
	return f.plan(rg, &want, nil)
}

// checkParts checks that reads are at most readPart bytes each and cover
// the ranges of plan exactly once.
func checkParts(t *testing.T, rg int, reads, plan []byteRange) {
	t.Helper()
	var want, got int64
	for _, r := range plan {
		want += r.end - r.off
	}
	for _, r := range reads {
		if r.end-r.off > readPart {
			t.Fatalf("row group %d: read of %d bytes (%v), more than %d", rg, r.end-r.off, r, readPart)
		}
		if !overlaps([]byteRange{r}, plan) {
			t.Fatalf("row group %d: read %v outside the planned %v", rg, r, plan)
		}
		got += r.end - r.off
	}
	if got != want || len(reads) < int(want/readPart) {
		t.Fatalf("row group %d: %d reads of %d bytes in all, want %d bytes in parts of %d", rg, len(reads), got, want, readPart)
	}
}

// gatedReader is a ReaderAt whose reads at or after from wait, once
// armed, until the gate opens.
type gatedReader struct {
	r       io.ReaderAt
	from    int64
	gate    chan struct{}
	waiting atomic.Int32
}

func (g *gatedReader) ReadAt(p []byte, off int64) (int, error) {
	if g.gate != nil && off >= g.from {
		g.waiting.Add(1)
		<-g.gate
		g.waiting.Add(-1)
	}
	return g.r.ReadAt(p, off)
}

// TestDropPrefetch: DropPrefetch returns only once the read Prefetch
// started has ended, and drops its bytes: the next OpenRowGroup of that
// row group reads them itself.
func TestDropPrefetch(t *testing.T) {
	data, want := windowFile(t, 3000, 1000)
	start, _ := chunkOf(t, data, 1, "author_id")
	g := &gatedReader{r: bytes.NewReader(data), from: int64(start)}
	f, err := Open(g, int64(len(data)), "p.parquet", defaultCols)
	if err != nil {
		t.Fatal(err)
	}
	f.SetReadWindow(0)
	b := Batch{LazyContentID: true}
	openAndDrain(t, f, 0, &b, 100)
	g.gate = make(chan struct{})
	f.Prefetch(1, &b)
	for g.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	dropped := make(chan struct{})
	go func() { b.DropPrefetch(); close(dropped) }()
	select {
	case <-dropped:
		t.Fatal("DropPrefetch returned while the read waited")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.gate)
	<-dropped
	if n := g.waiting.Load(); n != 0 {
		t.Fatalf("%d reads still waiting after DropPrefetch", n)
	}
	if b.sc.ahead.owner != nil {
		t.Fatal("the prefetched bytes were kept")
	}
	g.gate = nil
	if err := f.OpenRowGroup(1, &b); err != nil {
		t.Fatal(err)
	}
	compareRows(t, drainOpen(t, f, &b, 100), want[1000:2000])
	var empty Batch
	empty.DropPrefetch() // no scratch, nothing to wait for
}
