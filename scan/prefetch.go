package scan

// Prefetch starts reading the column chunks that OpenRowGroup(i, b) fetches
// (those it does not read through a window), and content_id's unless it is
// read through one, on another goroutine, into a second buffer b keeps for
// the purpose. The next
// begin of a row group on b — OpenRowGroup, ReadRowGroup — waits for the
// read to end; OpenRowGroup(i, b) on f then takes the bytes instead of
// reading them, and anything else drops them. So a worker's next row group
// travels from an object store while it decodes the current one: on S3,
// where a ranged GET waits tens of milliseconds before its first byte, the
// wait overlaps the decoding, at the cost of one more row group's fetched
// chunks per Batch. (The content_id chunk comes with them, so that
// ContentIDs need not read it after the other columns are decoded, as it
// does a large one otherwise: a row group then holds all its fetched
// chunks at once.)
//
// Call it once the batch's current row group is open (after OpenRowGroup):
// the batch goes on decoding that one meanwhile. b must have LazyContentID
// set (OpenRowGroup's requirement); otherwise, or for a row group f does
// not have, Prefetch does nothing. A read error is returned by the
// OpenRowGroup that takes the bytes, as its own read's would be. A batch
// given up with a prefetch under way must be dropped with DropPrefetch,
// which waits for the read to end.
func (f *File) Prefetch(i int, b *Batch) {
	if i < 0 || i >= len(f.meta.RowGroups) || !b.LazyContentID {
		return
	}
	if b.sc == nil {
		b.sc = new(scratch)
	}
	a := &b.sc.ahead
	a.wait()
	a.owner = nil
	var parts []part
	func() {
		// Planning a read is begin's and may fail as it does: then there
		// is nothing to take, and OpenRowGroup reports the failure.
		defer func() {
			if recover() != nil {
				parts = nil
			}
		}()
		want := f.prefetchWant(i)
		a.ranges = f.plan(i, &want, a.ranges[:0])
		a.buf, a.bufs = cutRanges(a.buf, a.bufs[:0], a.ranges)
		parts = splitParts(a.ranges, a.bufs)
		a.owner, a.rg, a.want, a.err = f, i, want, nil
	}()
	if a.owner == nil {
		return
	}
	done := make(chan struct{})
	a.done = done
	go func() {
		defer close(done)
		a.err = f.readParts(i, parts)
	}()
}

// prefetchWant returns the chunks Prefetch reads of row group i: those
// OpenRowGroup fetches, and content_id's unless it is read through the
// window or, uncompressed and larger than the window, left to ContentIDs
// as usual (a row group does not hold it twice).
func (f *File) prefetchWant(i int) [numRoles]bool {
	want, _ := f.wanted(i, true, true)
	if c := &f.cols[roleContentID]; !c.absent && !f.streams(i, roleContentID) {
		if _, n := f.fetchRange(i, c); f.window <= 0 || n <= f.window {
			want[roleContentID] = true
		}
	}
	return want
}

// DropPrefetch waits for a read Prefetch started on b to end, and for any
// window read ahead (SetWindowAhead), and drops what they read (b keeps the
// buffers for reuse). Call it before giving up a batch that may have one
// under way (a worker that stops early), so that no read outlives its user.
func (b *Batch) DropPrefetch() {
	if b.sc != nil {
		b.sc.ahead.wait()
		b.sc.ahead.owner = nil
		for i := range b.sc.win {
			b.sc.win[i].wait()
		}
	}
}

// readAhead is a row group's chunks read by Prefetch.
type readAhead struct {
	owner *File
	rg    int
	want  [numRoles]bool
	// ranges and bufs are as scratch's; buf is the buffer they are cut
	// from. While a read is in flight (done not nil) they, and err, are
	// the reading goroutine's.
	ranges []byteRange
	bufs   [][]byte
	buf    []byte
	done   chan struct{} // closed when the read ends; nil when none was started
	err    error
}

// wait waits for the read in flight, if any, to end; its bytes are then
// the scratch's to take or drop.
func (a *readAhead) wait() {
	if a.done != nil {
		<-a.done
		a.done = nil
	}
}

// takeAhead reports whether Prefetch read row group rg of f with want, or
// with want and content_id's chunk (want then says so); if so, the bytes
// become the scratch's fetched bytes (the buffers trade places, so that the
// next Prefetch reuses the one given up) and err is the read's error.
// Otherwise the prefetched bytes, if any, are dropped.
func (sc *scratch) takeAhead(f *File, rg int, want *[numRoles]bool) (ok bool, err error) {
	a := &sc.ahead
	a.wait()
	if a.owner == nil {
		return false, nil
	}
	withID := *want
	withID[roleContentID] = true
	match := a.owner == f && a.rg == rg && (a.want == *want || a.want == withID)
	a.owner = nil
	if !match {
		return false, nil
	}
	*want = a.want
	sc.buf, a.buf = a.buf, sc.buf
	sc.bufs, a.bufs = a.bufs, sc.bufs
	sc.ranges, a.ranges = a.ranges, sc.ranges
	sc.setSegments()
	return true, a.err
}
