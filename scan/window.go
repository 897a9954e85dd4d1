package scan

import (
	"fmt"
	"io"
)

// DefaultReadWindow is how much of a large column chunk a streamed row
// group (OpenRowGroup, NextRows, and ContentIDs) holds at a time, unless
// File.SetReadWindow says otherwise.
const DefaultReadWindow = 1 << 20

// SetReadWindow sets how many bytes of a column chunk a streamed row group
// holds at a time: a chunk parquet-go decodes through a rewrite (a
// compressed one, which is what lakes hold) that is larger than n is read
// n bytes at a time (more for a longer page), and its pages are checked
// as they are reached, instead of being fetched and checked whole before
// the first row is decoded. So a worker's memory does not grow with the
// size of the row groups. On an object store, where a request costs
// about as much as transferring a megabyte, larger windows (several MiB)
// keep the requests few. n <= 0 fetches every chunk whole. Set it before
// reading.
func (f *File) SetReadWindow(n int64) { f.window = n }

// streams reports whether row group rg's chunk of role is read through a
// window when streamed: a chunk parquet-go reads rewritten, larger than
// the window, of a numeric or content_id column (string columns of
// dictionary pages are decoded from their pages whole, by dictCursor) that
// no other role shares.
func (f *File) streams(rg, role int) bool {
	c := &f.cols[role]
	if c.absent || !c.rewrite || c.kind == kString || f.window <= 0 || f.sharesColumn(role) {
		return false
	}
	_, n := f.fetchRange(rg, c)
	return n > f.window
}

// streamChunk sets row group rg's chunk of role up to be read through a
// window as parquet-go reads it, walked a page at a time (rather than
// fetched and walked whole by fetch and prepare), and adds it to sc.mem.
func (f *File) streamChunk(rg, role int, sc *scratch) {
	c := &f.cols[role]
	start, n := f.fetchRange(rg, c)
	_, size := chunkRange(&f.meta.RowGroups[rg].Columns[c.leaf].MetaData)
	w := &sc.win[role]
	*w = chunkWindow{r: f.r, start: start, n: int(n), size: int(f.window), buf: w.buf[:0], gen: w.gen + 1}
	z := &sc.plain[role]
	z.startWalk(f, role, rg, int(n), int(size), w)
	segs := sc.mem.segs[:0]
	for _, s := range sc.mem.segs {
		if s.lazy != z { // set up by an earlier call (ContentIDs)
			segs = append(segs, s)
		}
	}
	sc.mem.segs = append(segs, segment{off: virtualOffset(c.leaf), lazy: z})
}

// chunkWindow reads a column chunk a window at a time.
type chunkWindow struct {
	r     io.ReaderAt
	start int64  // the chunk's offset in the file
	n     int    // the chunk's bytes
	size  int    // bytes read at a time (more for a longer page)
	buf   []byte // the chunk's bytes [at, at+len(buf))
	at    int
	gen   int // changes whenever buf is refilled
}

// get returns the chunk's bytes [off, off+n) (off+n <= w.n), reading a
// window from off if they are not all in the current one: slices it
// returned before are then overwritten.
func (w *chunkWindow) get(off, n int) ([]byte, error) {
	if off >= w.at && off+n <= w.at+len(w.buf) {
		return w.buf[off-w.at : off-w.at+n], nil
	}
	m := min(max(n, w.size), w.n-off)
	if cap(w.buf) < m {
		w.buf = make([]byte, m)
	}
	w.buf, w.at = w.buf[:m], off
	w.gen++
	if err := readFull(w.r, w.buf, w.start+int64(off)); err != nil {
		w.buf = w.buf[:0]
		return nil, fmt.Errorf("reading bytes %d-%d: %w", w.start+int64(off), w.start+int64(off+m), err)
	}
	return w.buf[:n], nil
}
