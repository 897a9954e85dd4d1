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

// SetWindowAhead sets whether a chunk read through the window has its next
// window read on another goroutine while the current one is decoded: from
// an object store the request's wait then overlaps the decoding, at the
// cost of a second window (and windowHeadroom) per chunk being read. Set
// it before reading.
func (f *File) SetWindowAhead(on bool) { f.windowAhead = on }

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
	w.wait()
	*w = chunkWindow{r: f.r, start: start, n: int(n), size: int(f.window), mem: w.mem, gen: w.gen + 1,
		ahead: f.windowAhead, spare: w.spare}
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

// takeBuffers gives role to the window and page buffers of role from,
// whose chunk must be done with: content_id is decoded only once the other
// columns are (ContentIDs), and author_id again only once content_id is
// (the next OpenRowGroup), so the two keep one set of buffers between
// them instead of two (a window and a decompressed page each: some 2.5 MB
// per worker on the bench lake). A buffer of from's moves only if it is
// larger than to's own (which it replaces); in turn, one side is left
// without, so that the two share one.
func (sc *scratch) takeBuffers(to, from int) {
	tw, fw := &sc.win[to], &sc.win[from]
	tw.wait() // (no read ahead may be writing into what moves)
	fw.wait()
	tw.buf, fw.buf = nil, nil
	if cap(fw.mem) > cap(tw.mem) {
		tw.mem, fw.mem = fw.mem, nil
	}
	if cap(fw.spare) > cap(tw.spare) {
		tw.spare, fw.spare = fw.spare, nil
	}
	tz, fz := &sc.plain[to], &sc.plain[from]
	if cap(fz.buf) > cap(tz.buf) {
		tz.buf, fz.buf = fz.buf, nil
	}
	fz.cur, tz.cur = -1, -1
}

// chunkWindow reads a column chunk a window at a time.
type chunkWindow struct {
	r     io.ReaderAt
	start int64  // the chunk's offset in the file
	n     int    // the chunk's bytes
	size  int    // bytes read at a time (more for a longer page)
	buf   []byte // the chunk's bytes [at, at+len(buf)), a slice of mem
	mem   []byte
	at    int
	gen   int // changes whenever buf is refilled

	// ahead: the window after buf is read while buf is decoded (next);
	// spare is the buffer of the next such read.
	ahead bool
	next  *windowRead
	spare []byte
}

// windowRead is a window read ahead: the chunk's bytes [at, at+len(data)),
// read into mem after windowHeadroom bytes, where the tail of the window
// before it goes when the two are joined.
type windowRead struct {
	at   int
	mem  []byte
	data []byte
	done chan struct{}
	err  error
}

// windowHeadroom is how much of the window before it a window read ahead
// can take in front of its bytes: the page that straddles the two windows
// (a refill starts at that page). A longer one is read again.
const windowHeadroom = 1 << 20

// get returns the chunk's bytes [off, off+n) (off+n <= w.n), reading a
// window from off if they are not all in the current one: slices it
// returned before are then overwritten.
func (w *chunkWindow) get(off, n int) ([]byte, error) {
	if off >= w.at && off+n <= w.at+len(w.buf) {
		return w.buf[off-w.at : off-w.at+n], nil
	}
	m := min(max(n, w.size), w.n-off)
	if w.next != nil {
		nx := w.next
		w.wait()
		if b, ok := w.join(nx, off, m); ok {
			w.spare = w.mem // the old window's buffer reads the next one
			w.mem, w.buf, w.at = nx.mem, b, off
			w.gen++
			w.readAhead()
			return w.buf[:n], nil
		}
		// Not joined (a tail longer than the headroom, a read error, a
		// jump): read the window afresh; a failed read ahead fails again
		// here, with its own message.
		w.spare = nx.mem
	}
	if cap(w.mem) < m {
		c := m
		if w.ahead {
			// Room to take the next read ahead's place (readAhead).
			c = max(m, windowHeadroom+max(w.size, headerProbe))
		}
		w.mem = make([]byte, m, c)
	}
	w.buf, w.at = w.mem[:m], off
	w.gen++
	if err := readFull(w.r, w.buf, w.start+int64(off)); err != nil {
		w.buf = w.buf[:0]
		return nil, fmt.Errorf("reading bytes %d-%d: %w", w.start+int64(off), w.start+int64(off+m), err)
	}
	w.readAhead()
	return w.buf[:n], nil
}

// join returns the window from off to the end of nx's bytes, made of the
// current window's tail and nx's bytes, in nx.mem, if nx was read without
// error right after the current window, holds [off, off+m) and the tail
// fits in its headroom. (All of nx's bytes: the next read ahead starts
// where they end, so no byte is read twice.)
func (w *chunkWindow) join(nx *windowRead, off, m int) ([]byte, bool) {
	end := w.at + len(w.buf)
	tail := end - off
	if nx.err != nil || nx.at != end || off < w.at || tail < 0 || tail > windowHeadroom || off+m > nx.at+len(nx.data) {
		return nil, false
	}
	copy(nx.mem[windowHeadroom-tail:windowHeadroom], w.buf[off-w.at:])
	return nx.mem[windowHeadroom-tail : windowHeadroom+len(nx.data)], true
}

// readAhead starts reading the window after the current one, if the chunk
// goes on and w reads ahead.
func (w *chunkWindow) readAhead() {
	end := w.at + len(w.buf)
	if !w.ahead || end >= w.n {
		return
	}
	// (At least a page header's probe: a refill asks for one.)
	k := min(max(w.size, headerProbe), w.n-end)
	mem := w.spare
	if cap(mem) < windowHeadroom+k {
		mem = make([]byte, windowHeadroom+k)
	}
	w.spare = nil
	nx := &windowRead{at: end, mem: mem[:cap(mem)], data: mem[windowHeadroom : windowHeadroom+k], done: make(chan struct{})}
	w.next = nx
	r, at := w.r, w.start+int64(end)
	go func() {
		defer close(nx.done)
		defer func() {
			if p := recover(); p != nil {
				nx.err = fmt.Errorf("reader failed: %v", p)
			}
		}()
		nx.err = readFull(r, nx.data, at)
	}()
}

// wait waits for the window read ahead, if any, to end, and drops it (its
// buffer is kept for the next).
func (w *chunkWindow) wait() {
	if nx := w.next; nx != nil {
		<-nx.done
		w.next = nil
		if w.spare == nil {
			w.spare = nx.mem
		}
	}
}
