package scan

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// I/O tuning for ReadRowGroup.
const (
	// coalesceGap: column chunks closer than this are fetched with one read
	// (the bytes in between are read and dropped). On S3 a GET costs about
	// as much as transferring a megabyte.
	coalesceGap = 1 << 20
	// maxParallelReads bounds the ranged reads in flight per row group.
	maxParallelReads = 4
)

// readPart is the most one read of fetched chunks asks for: a longer range
// is read in parts, in parallel. On S3 one connection carries some tens of
// MB/s, so a row group's chunks, coalesced into one range of tens of MB,
// arrive several times faster as parallel ranged GETs. (A variable for
// tests.)
var readPart int64 = 8 << 20

// scratch is the reusable state of a Batch (see Batch.sc).
type scratch struct {
	// The row group the batch holds, for ReadRow.
	held    bool
	owner   *File
	ownerRG int
	// lazyHeld: the batch holds row group ownerRG of owner read with
	// LazyContentID, whose content_id chunk idChunk is in mem, or is
	// fetched into it by ContentIDs (idFetched false).
	lazyHeld bool
	idChunk  *parquet.FileColumnChunk
	// idFetched: content_id's chunk, which a LazyContentID read leaves
	// out of the row group's fetch, has been fetched and checked (by
	// ContentIDs, into the buffers the other columns no longer need).
	idFetched bool
	// idStreamed: ContentIDs reads content_id's chunk through a window
	// (File.streams), from its start on every call.
	idStreamed bool
	idPage     Batch    // one page of content ids (ContentIDs, through parquet-go)
	idCursor   idCursor // or the string ids' pages (ContentIDs)

	// A row group read by OpenRowGroup/NextRows: each column's page
	// reader and the values it has decoded so far.
	streaming bool
	pages     [numRoles]parquet.Pages
	colRows   [numRoles]int
	rows      [numRoles]heldRows
	win       [numRoles]chunkWindow // of the chunks streamed (File.streams)
	useDict   [numRoles]bool        // decoded by dict, not pages
	dict      [numRoles]dictCursor
	useNum    [numRoles]bool // decoded by num, not pages
	num       [numRoles]numCursor

	buf    []byte              // the fetched bytes
	bufs   [][]byte            // buf cut by coalesced range
	plain  [numRoles]lazyChunk // compressed chunks, rewritten uncompressed (lazily)
	mem    memReader
	ranges []byteRange
	st     [numRoles]colState
	ahead  readAhead // the next row group's chunks (File.Prefetch)
}

// ReadRowGroup decodes row group i into b, reusing b's slices, and sets
// b.File, b.RowGroup, b.FirstRow and b.N. On error b.N is 0 and the rest of
// b is unspecified. Every error is an *Error naming the file, row group and,
// where known, the column and row.
//
// The six column chunks are fetched with one ReadAt per run of chunks less
// than 1 MiB apart (up to four reads in parallel), then decoded from memory;
// with b.LazyContentID, a content_id chunk of 1 MiB or more is left to
// ContentIDs. Each column must yield exactly the row group's row count.
//
// OpenRowGroup and NextRows decode the same row group a slice of rows at a
// time, in less memory.
func (f *File) ReadRowGroup(i int, b *Batch) (err error) {
	cur := -1 // role being decoded, for errors out of panics
	defer f.recoverDecode(i, b, &cur, &err)
	chunks, err := f.begin(i, b, false)
	if err != nil {
		return err
	}
	sc := b.sc
	lazy := b.LazyContentID
	idRows := b.rgRows
	if lazy {
		idRows = 0
	}
	b.reset(b.rgRows, idRows, f.intIDs())
	b.N = b.rgRows
	for role := range f.cols {
		cur = role
		if role == roleContentID && lazy {
			continue
		}
		if f.cols[role].absent {
			b.fillNulls(role, b.N)
			continue
		}
		if err := f.decodeColumn(role, i, chunks[role], b); err != nil {
			return err
		}
	}
	sc.held, sc.lazyHeld = !lazy, lazy
	return nil
}

// OpenRowGroup starts decoding row group i into b a slice of rows at a
// time: each NextRows call then fills b with the next rows. b must have
// LazyContentID set; once NextRows has returned 0, ContentIDs gives the
// content ids of the rows wanted (indexes in the row group, b.Start + the
// row's index in its slice).
//
// The chunks are fetched and checked as by ReadRowGroup, but only a slice
// of rows plus the rest of one page per column is decoded at a time, and a
// content_id chunk of 1 MiB or more is fetched and checked by ContentIDs,
// into the memory the other chunks held. A compressed chunk larger than
// the read window (SetReadWindow) is read a window at a time instead, and
// its pages are checked as they are reached: NextRows may return rows of
// a row group a later page of which turns out damaged, so that the row
// group's rows can be trusted only once NextRows has returned 0 and
// ContentIDs nil. Errors are as ReadRowGroup's.
func (f *File) OpenRowGroup(i int, b *Batch) (err error) {
	if !b.LazyContentID {
		return &Error{File: f.name, RowGroup: i, Row: -1, Err: errors.New("internal error: OpenRowGroup needs LazyContentID")}
	}
	cur := -1 // no column is decoded here: a panic names none
	defer f.recoverDecode(i, b, &cur, &err)
	if b.sc != nil {
		b.sc.takeBuffers(roleAuthorID, roleContentID) // content ids are done with
	}
	chunks, err := f.begin(i, b, true)
	if err != nil {
		return err
	}
	sc := b.sc
	b.reset(0, 0, f.intIDs())
	for role := range f.cols {
		sc.pages[role] = nil
		sc.colRows[role] = 0
		h := &sc.rows[role] // buffers kept from row group to row group
		*h = heldRows{i64: h.i64[:0], valid: h.valid[:0], codes: h.codes[:0]}
		if role == roleContentID || f.cols[role].absent {
			continue
		}
		sc.st[role].reset()
		sc.useDict[role] = f.cols[role].kind == kString && f.dictCursorFor(role, i, &sc.plain[role])
		if sc.useDict[role] {
			sc.dict[role].reset(f, role, i, &sc.plain[role])
			continue
		}
		sc.useNum[role] = f.numCursorFor(role)
		if sc.useNum[role] {
			sc.num[role].reset(f, role, i, &sc.plain[role])
			continue
		}
		sc.pages[role] = chunks[role].PagesFrom(&sc.mem)
	}
	sc.streaming = true
	return nil
}

// dictCursorFor reports whether row group rg's chunk of role, walked into
// z, is decoded by a dictCursor rather than by parquet-go.
func (f *File) dictCursorFor(role, rg int, z *lazyChunk) bool {
	if f.sharesColumn(role) {
		return false // walked once, for the first role (see prepare)
	}
	c := &f.cols[role]
	return f.meta.RowGroups[rg].Columns[c.leaf].MetaData.Type == format.ByteArray && dictEligible(z)
}

// sharesColumn reports whether another audit role is mapped to role's
// column.
func (f *File) sharesColumn(role int) bool {
	for r := range f.cols {
		if r != role && !f.cols[r].absent && f.cols[r].leaf == f.cols[role].leaf {
			return true
		}
	}
	return false
}

// NextRows decodes the next rows of the row group opened by OpenRowGroup,
// at most max (> 0), into b, replacing the rows it held, and returns how
// many: b.N, the first of them being row b.Start of the row group. It
// returns 0 once every row has been read and every column checked to hold
// no more values than the row group's rows. The dictionaries of b's string
// columns only grow from one call to the next within a row group: a code
// keeps its meaning. On error it returns 0 and b is as after a failed
// ReadRowGroup.
func (f *File) NextRows(b *Batch, max int) (n int, err error) {
	sc := b.sc
	if sc == nil || !sc.streaming {
		return 0, &Error{File: b.File, RowGroup: b.RowGroup, Row: -1, Err: errors.New("internal error: NextRows without OpenRowGroup")}
	}
	cur := -1
	defer f.recoverDecode(b.RowGroup, b, &cur, &err)
	rg := b.RowGroup
	// Back to the whole buffers: the rows consumed are skipped, and
	// dropped once no more rows are left after them than before (so that
	// a long page is not moved down slice after slice).
	for role := range f.cols {
		if role == roleContentID {
			continue
		}
		b.restore(role, &sc.rows[role])
		h := &sc.rows[role]
		h.skip += b.N
		if left := b.held(role) - h.skip; h.skip > 0 && left <= h.skip {
			b.dropRows(role, h.skip)
			h.skip = 0
		}
	}
	b.Start += b.N
	b.N = 0
	want := min(max, b.rgRows-b.Start)
	for role := range f.cols {
		cur = role
		if role == roleContentID {
			continue
		}
		if f.cols[role].absent {
			b.fillNulls(role, want)
			continue
		}
		st := &sc.st[role]
		if sc.useDict[role] {
			d := &sc.dict[role]
			if want == 0 {
				if err := d.finish(b.strings(role), st, b.FirstRow); err != nil {
					return 0, err
				}
				continue
			}
			if need := want - (b.held(role) - sc.rows[role].skip); need > 0 {
				if err := d.appendCodes(b.strings(role), st, b.FirstRow, need); err != nil {
					return 0, err
				}
				sc.colRows[role] += need
			}
			continue
		}
		if sc.useNum[role] {
			nc := &sc.num[role]
			if want == 0 {
				if err := nc.finish(b.FirstRow); err != nil {
					return 0, err
				}
				continue
			}
			if need := want - (b.held(role) - sc.rows[role].skip); need > 0 {
				out, valid := b.numbers(role)
				if err := nc.appendValues(out, valid, b.FirstRow, need); err != nil {
					return 0, err
				}
				sc.colRows[role] += need
			}
			continue
		}
		for b.held(role)-sc.rows[role].skip < want || want == 0 {
			p, err := sc.pages[role].ReadPage()
			if errors.Is(err, io.EOF) {
				// A streamed chunk's pages after its last value are
				// checked now (a whole chunk's were, before its rows).
				if err := sc.plain[role].finishWalk(); err != nil {
					return 0, err
				}
				if want == 0 {
					break
				}
				return 0, f.errf(role, rg, -1, "the column holds %d values but the row group has %d rows", sc.colRows[role], b.rgRows)
			}
			if err != nil {
				return 0, f.pageErr(&sc.plain[role], role, rg, b.FirstRow+int64(sc.colRows[role]), err)
			}
			got, bad, err := f.decodePage(role, p, b, st)
			parquet.Release(p)
			if err != nil {
				row := int64(-1)
				if bad >= 0 {
					row = b.FirstRow + int64(sc.colRows[role]+bad)
				}
				return 0, f.wrap(role, rg, row, err)
			}
			if sc.colRows[role] += got; sc.colRows[role] > b.rgRows {
				return 0, f.errf(role, rg, -1, "the column holds more values than the row group's %d rows", b.rgRows)
			}
		}
	}
	if want == 0 {
		f.closePages(sc)
		sc.streaming, sc.lazyHeld = false, true
		return 0, nil
	}
	// The batch sees its rows only.
	for role := range f.cols {
		if role != roleContentID {
			b.keep(role, &sc.rows[role], want)
		}
	}
	b.N = want
	return want, nil
}

// wanted returns which audit columns' chunks of row group i begin fetches
// (want) and which it reads through a window instead (streamed), for a
// read with LazyContentID lazy, streamed (OpenRowGroup) or not.
func (f *File) wanted(i int, lazy, stream bool) (want, streamed [numRoles]bool) {
	// With LazyContentID, a content_id chunk of 1 MiB or more is fetched
	// by ContentIDs once the other columns are decoded, into the same
	// buffers, so that a row group's chunks are not all in memory at
	// once. A smaller one is fetched now: it is most likely read through
	// anyway, in the gap between the others (see coalesceGap).
	want = allRoles
	if c := &f.cols[roleContentID]; lazy && !c.absent {
		if _, n := f.fetchRange(i, c); n >= f.deferIDBytes {
			want[roleContentID] = false
		}
	}
	for role := range f.cols {
		if stream && role != roleContentID && f.streams(i, role) {
			want[role], streamed[role] = false, true
		}
	}
	return want, streamed
}

// begin checks row group i, fetches and checks its chunks, and sets b's
// header. It returns the audit columns' chunks by role (nil when absent
// or, with LazyContentID, content_id's, which is kept in sc.idChunk).
// With stream, the chunks File.streams picks are not fetched but set up to
// be read through a window as they are decoded.
func (f *File) begin(i int, b *Batch, stream bool) ([numRoles]*parquet.FileColumnChunk, error) {
	var out [numRoles]*parquet.FileColumnChunk
	if i < 0 || i >= len(f.meta.RowGroups) {
		return out, &Error{File: f.name, RowGroup: i, Row: -1,
			Err: fmt.Errorf("no such row group: the file has %d", len(f.meta.RowGroups))}
	}
	if b.sc == nil {
		b.sc = new(scratch)
	}
	sc := b.sc
	f.closePages(sc)
	sc.held, sc.lazyHeld, sc.streaming, sc.idChunk, sc.idFetched, sc.idStreamed = false, false, false, nil, false, false
	sc.owner, sc.ownerRG = f, i
	n := int(f.meta.RowGroups[i].NumRows)
	b.File, b.RowGroup, b.FirstRow, b.N, b.Start, b.rgRows = f.name, i, f.firstRow[i], 0, 0, n

	want, streamed := f.wanted(i, b.LazyContentID, stream)
	for role := range f.cols {
		// No walk of an earlier row group or file is left to finish:
		// prepare and streamChunk set up this row group's.
		sc.plain[role].clearWalk()
	}
	// The bytes Prefetch read, if it read these; else read them now.
	ok, err := sc.takeAhead(f, i, &want)
	if !ok {
		err = f.fetch(i, sc, &want)
	}
	if err != nil {
		return out, err
	}
	// Page headers are checked before anything is sized by the row count
	// (those of a streamed chunk, before parquet-go reads each page).
	if err := f.prepare(i, sc, &want); err != nil {
		return out, err
	}
	for role, s := range streamed {
		if s {
			f.streamChunk(i, role, sc)
		}
	}
	sc.idFetched = want[roleContentID]
	chunks := f.pf.RowGroups()[i].ColumnChunks()
	var plainChunks []parquet.ColumnChunk
	if f.plain != nil {
		plainChunks = f.plain.RowGroups()[i].ColumnChunks()
	}
	for role := range f.cols {
		c := &f.cols[role]
		if c.absent {
			continue
		}
		chunk := chunks[c.leaf]
		if c.rewrite {
			chunk = plainChunks[c.leaf]
		}
		cc, ok := chunk.(*parquet.FileColumnChunk)
		if !ok {
			return out, f.errf(role, i, -1, "internal error: unexpected column chunk type %T", chunk)
		}
		if role == roleContentID && b.LazyContentID {
			sc.idChunk = cc
			continue
		}
		out[role] = cc
	}
	return out, nil
}

// recoverDecode turns a panic of the decoder into an *Error naming the
// column being decoded (*cur, a role, or -1), and on error leaves b empty.
func (f *File) recoverDecode(rg int, b *Batch, cur *int, err *error) {
	if p := recover(); p != nil {
		col := ""
		if *cur >= 0 {
			col = f.cols[*cur].name
		}
		*err = &Error{File: f.name, Column: col, RowGroup: rg, Row: -1,
			Err: fmt.Errorf("malformed data: the decoder failed (%v)", p)}
	}
	if *err != nil {
		b.N = 0
		if b.sc != nil {
			f.closePages(b.sc)
			b.sc.held, b.sc.lazyHeld, b.sc.streaming = false, false, false
		}
	}
}

// closePages closes the page readers of a streamed row group.
func (f *File) closePages(sc *scratch) {
	for role := range sc.pages {
		if sc.pages[role] != nil {
			sc.pages[role].Close()
			sc.pages[role] = nil
		}
	}
}

// intIDs reports whether content ids are read as integers.
func (f *File) intIDs() bool {
	return !f.cols[roleContentID].absent && f.cols[roleContentID].kind != kIDString
}

// ContentIDs decodes the content_id column of the row group b holds, read
// by ReadRowGroup with b.LazyContentID set, and appends to dst the ids of
// the given rows (indexes into b, ascending): dst.Valid, and dst.Int or
// dst.Data and dst.Offsets (which, as in a Batch, starts with 0; call it
// on an empty dst, or one it filled before, of the same kind). It decodes
// and checks every page of the column, whatever rows are asked for, so
// that a damaged content_id column fails the row group even when no row
// of it is wanted. Errors are *Error, as ReadRowGroup's.
func (f *File) ContentIDs(b *Batch, rows []int32, dst *IDs) (err error) {
	sc := b.sc
	if sc == nil || !sc.lazyHeld || sc.owner != f || sc.ownerRG != b.RowGroup || b.File != f.name {
		return &Error{File: f.name, Column: f.cols[roleContentID].name, RowGroup: b.RowGroup, Row: -1,
			Err: errors.New("internal error: ContentIDs on a batch not read with LazyContentID from this file")}
	}
	rg := b.RowGroup
	c := &f.cols[roleContentID]
	dst.IsInt = !c.absent && c.kind != kIDString
	if !dst.IsInt && len(dst.Offsets) == 0 {
		dst.Offsets = append(dst.Offsets, 0)
	}
	if c.absent {
		for range rows {
			dst.Valid = append(dst.Valid, false)
			if !dst.IsInt {
				dst.Offsets = append(dst.Offsets, int32(len(dst.Data)))
			}
		}
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = &Error{File: f.name, Column: c.name, RowGroup: rg, Row: -1,
				Err: fmt.Errorf("malformed data: the decoder failed (%v)", p)}
		}
	}()
	pb := &sc.idPage
	if pb.sc == nil {
		pb.sc = new(scratch)
	}
	if !sc.idFetched {
		// The other columns are decoded: author_id's buffers are free.
		sc.takeBuffers(roleContentID, roleAuthorID)
	}
	if sc.idStreamed || !sc.idFetched && f.streams(rg, roleContentID) {
		// Read through a window as it is decoded (again, if it was
		// before: the window has moved on from its first pages).
		f.closePages(sc)
		f.streamChunk(rg, roleContentID, sc)
		sc.idFetched, sc.idStreamed = true, true
	}
	if !sc.idFetched {
		// The other columns are decoded: their page readers and
		// fetched bytes are no longer needed.
		f.closePages(sc)
		want := [numRoles]bool{roleContentID: true}
		if err := f.fetch(rg, sc, &want); err != nil {
			var se *Error
			if errors.As(err, &se) && se.Column == "" {
				se.Column = c.name // the read was content_id's alone
			}
			return err
		}
		if err := f.prepare(rg, sc, &want); err != nil {
			return err
		}
		sc.idFetched = true
	}
	if c.kind == kIDString && !f.sharesColumn(roleContentID) {
		return f.contentIDs(b, rows, dst)
	}
	st := &pb.sc.st[roleContentID]
	st.reset()
	pages := sc.idChunk.PagesFrom(&sc.mem)
	defer pages.Close()
	base, k := 0, 0 // rows before this page; next wanted row
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			if err := sc.plain[roleContentID].finishWalk(); err != nil {
				return err
			}
			break
		}
		if err != nil {
			return f.pageErr(&sc.plain[roleContentID], roleContentID, rg, b.FirstRow+int64(base), err)
		}
		pb.reset(0, 0, dst.IsInt)
		n, bad, err := f.decodePage(roleContentID, p, pb, st)
		parquet.Release(p)
		if err != nil {
			row := int64(-1)
			if bad >= 0 {
				row = b.FirstRow + int64(base+bad)
			}
			return f.wrap(roleContentID, rg, row, err)
		}
		if base+n > b.rgRows {
			return f.errf(roleContentID, rg, -1, "the column holds more values than the row group's %d rows", b.rgRows)
		}
		id := &pb.ContentID
		for ; k < len(rows) && int(rows[k]) < base+n; k++ {
			r := int(rows[k]) - base
			if r < 0 {
				return f.errf(roleContentID, rg, -1, "internal error: rows not ascending")
			}
			dst.Valid = append(dst.Valid, id.Valid[r])
			if dst.IsInt {
				dst.Int = append(dst.Int, id.Int[r])
				continue
			}
			dst.Data = append(dst.Data, id.Data[id.Offsets[r]:id.Offsets[r+1]]...)
			if len(dst.Data) > math.MaxInt32 {
				return f.errf(roleContentID, rg, -1, "more than 2 GiB of content_id bytes")
			}
			dst.Offsets = append(dst.Offsets, int32(len(dst.Data)))
		}
		base += n
	}
	if base != b.rgRows {
		return f.errf(roleContentID, rg, -1, "the column holds %d values but the row group has %d rows", base, b.rgRows)
	}
	if k != len(rows) {
		return f.errf(roleContentID, rg, -1, "internal error: row %d asked for, the row group has %d", rows[k], b.rgRows)
	}
	return nil
}

// ReadRow decodes the row group holding row rowInFile into b (unless b
// already holds it, as left by ReadRowGroup or ReadRow on f) and returns
// the row's index in b.
func (f *File) ReadRow(rowInFile int64, b *Batch) (idx int, err error) {
	if rowInFile < 0 || rowInFile >= f.NumRows() {
		return 0, &Error{File: f.name, RowGroup: -1, Row: rowInFile,
			Err: fmt.Errorf("no such row: the file has %d rows", f.NumRows())}
	}
	// The first row group whose end is past the row.
	rg := sort.Search(len(f.meta.RowGroups), func(k int) bool { return f.firstRow[k+1] > rowInFile })
	if sc := b.sc; sc == nil || !sc.held || sc.owner != f || sc.ownerRG != rg || b.File != f.name || b.RowGroup != rg {
		if err := f.ReadRowGroup(rg, b); err != nil {
			return 0, err
		}
	}
	return int(rowInFile - b.FirstRow), nil
}

// reset empties b's columns keeping their memory, with room for n rows
// (idRows for the content ids).
func (b *Batch) reset(n, idRows int, intIDs bool) {
	b.ContentID.IsInt = intIDs
	b.ContentID.Int = slices.Grow(b.ContentID.Int[:0], boolInt(intIDs)*idRows)
	b.ContentID.Data = b.ContentID.Data[:0]
	b.ContentID.Offsets = slices.Grow(b.ContentID.Offsets[:0], boolInt(!intIDs)*(idRows+1))
	if !intIDs {
		b.ContentID.Offsets = append(b.ContentID.Offsets, 0)
	}
	b.ContentID.Valid = slices.Grow(b.ContentID.Valid[:0], idRows)
	b.Author = slices.Grow(b.Author[:0], n)
	b.AuthorValid = slices.Grow(b.AuthorValid[:0], n)
	b.Created = slices.Grow(b.Created[:0], n)
	b.CreatedValid = slices.Grow(b.CreatedValid[:0], n)
	for _, s := range []*Strings{&b.Platform, &b.ContentType, &b.Visibility} {
		s.Codes = slices.Grow(s.Codes[:0], n)
		clear(s.Dict) // let the old strings go
		s.Dict = s.Dict[:0]
	}
}

// strings returns the Strings of a string role.
func (b *Batch) strings(role int) *Strings {
	switch role {
	case rolePlatform:
		return &b.Platform
	case roleContentType:
		return &b.ContentType
	}
	return &b.Visibility
}

// numbers returns the values and validity of a numeric role (author or
// created_at).
func (b *Batch) numbers(role int) (*[]int64, *[]bool) {
	if role == roleAuthorID {
		return &b.Author, &b.AuthorValid
	}
	return &b.Created, &b.CreatedValid
}

// held returns how many rows of role's column b holds (NextRows: the
// batch's rows and those decoded past them).
func (b *Batch) held(role int) int {
	switch role {
	case roleAuthorID:
		return len(b.Author)
	case roleCreatedAt:
		return len(b.Created)
	case rolePlatform, roleContentType, roleVisibility:
		return len(b.strings(role).Codes)
	}
	return len(b.ContentID.Valid)
}

// heldRows is one column's decoded rows while a row group is streamed:
// the batch's rows are i64[skip:skip+N] (and so on), those before them
// are consumed, those after them decoded ahead.
type heldRows struct {
	skip  int
	i64   []int64
	valid []bool
	codes []int32
}

// restore points role's slices in b at the whole buffers of h.
func (b *Batch) restore(role int, h *heldRows) {
	switch role {
	case roleAuthorID:
		b.Author, b.AuthorValid = h.i64, h.valid
	case roleCreatedAt:
		b.Created, b.CreatedValid = h.i64, h.valid
	case rolePlatform, roleContentType, roleVisibility:
		b.strings(role).Codes = h.codes
	}
}

// keep saves role's whole buffers in h and points b's slices at the n
// rows after the skipped ones.
func (b *Batch) keep(role int, h *heldRows, n int) {
	k := h.skip
	switch role {
	case roleAuthorID:
		h.i64, h.valid = b.Author, b.AuthorValid
		b.Author, b.AuthorValid = h.i64[k:k+n:k+n], h.valid[k:k+n:k+n]
	case roleCreatedAt:
		h.i64, h.valid = b.Created, b.CreatedValid
		b.Created, b.CreatedValid = h.i64[k:k+n:k+n], h.valid[k:k+n:k+n]
	case rolePlatform, roleContentType, roleVisibility:
		s := b.strings(role)
		h.codes = s.Codes
		s.Codes = h.codes[k : k+n : k+n]
	}
}

// dropRows removes the first n rows of role's column (not content_id).
func (b *Batch) dropRows(role, n int) {
	switch role {
	case roleAuthorID:
		b.Author, b.AuthorValid = b.Author[:copy(b.Author, b.Author[n:])], b.AuthorValid[:copy(b.AuthorValid, b.AuthorValid[n:])]
	case roleCreatedAt:
		b.Created, b.CreatedValid = b.Created[:copy(b.Created, b.Created[n:])], b.CreatedValid[:copy(b.CreatedValid, b.CreatedValid[n:])]
	case rolePlatform, roleContentType, roleVisibility:
		s := b.strings(role)
		s.Codes = s.Codes[:copy(s.Codes, s.Codes[n:])]
	}
}

// fillNulls sets an absent role's column to n nulls.
func (b *Batch) fillNulls(role, n int) {
	switch role {
	case roleContentID:
		b.ContentID.Valid = appendFill(b.ContentID.Valid, n, false)
		b.ContentID.Offsets = append(b.ContentID.Offsets, make([]int32, n)...)
	case roleAuthorID:
		b.Author = append(b.Author, make([]int64, n)...)
		b.AuthorValid = appendFill(b.AuthorValid, n, false)
	case roleCreatedAt:
		b.Created = append(b.Created, make([]int64, n)...)
		b.CreatedValid = appendFill(b.CreatedValid, n, false)
	default:
		s := &b.Platform
		if role == roleContentType {
			s = &b.ContentType
		} else if role == roleVisibility {
			s = &b.Visibility
		}
		for range n {
			s.Codes = append(s.Codes, -1)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (f *File) errf(role, rg int, row int64, format string, args ...any) error {
	return f.wrap(role, rg, row, fmt.Errorf(format, args...))
}

func (f *File) wrap(role, rg int, row int64, err error) error {
	col := ""
	if role >= 0 {
		col = f.cols[role].name
	}
	return &Error{File: f.name, Column: col, RowGroup: rg, Row: row, Err: err}
}

// byteRange is a span of the file.
type byteRange struct{ off, end int64 }

// allRoles has every role: fetch and prepare all the audit columns.
var allRoles = func() (a [numRoles]bool) {
	for r := range a {
		a[r] = true
	}
	return a
}()

// fetch reads the chunks of row group rg of the audit columns in want into
// sc.mem, replacing what it held.
func (f *File) fetch(rg int, sc *scratch, want *[numRoles]bool) error {
	sc.ranges = f.plan(rg, want, sc.ranges[:0])
	sc.buf, sc.bufs = cutRanges(sc.buf, sc.bufs[:0], sc.ranges)
	sc.setSegments()
	return f.readParts(rg, splitParts(sc.ranges, sc.bufs))
}

// plan appends to rs the byte ranges fetch reads for the chunks of row
// group rg of the audit columns in want: the chunks, sorted, with runs of
// chunks less than coalesceGap apart merged into one range.
func (f *File) plan(rg int, want *[numRoles]bool, rs []byteRange) []byteRange {
	for role := range f.cols {
		if f.cols[role].absent || !want[role] {
			continue
		}
		start, length := f.fetchRange(rg, &f.cols[role])
		if length > 0 {
			rs = append(rs, byteRange{start, start + length})
		}
	}
	slices.SortFunc(rs, func(a, b byteRange) int { return cmp.Compare(a.off, b.off) })
	// Coalesce: overlapping (the same chunk mapped twice) or close ranges,
	// but not across the chunk of an audit column left out (fetched later
	// or streamed): that would read it anyway.
	merged := rs[:0]
	for _, r := range rs {
		if k := len(merged) - 1; k >= 0 && r.off-merged[k].end < coalesceGap && !f.leftOutBetween(rg, want, merged[k].end, r.off) {
			merged[k].end = max(merged[k].end, r.end)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// cutRanges returns one slice of buf per range, in order, growing buf if
// it is too small. The ranges are cut from one buffer kept from row group
// to row group (and from file to file, whose layouts differ): buffers kept
// per range would each grow to the largest range seen at their index.
func cutRanges(buf []byte, bufs [][]byte, ranges []byteRange) ([]byte, [][]byte) {
	total := 0
	for _, r := range ranges {
		total += int(r.end - r.off)
	}
	if cap(buf) < total {
		// Room to spare: the next row group's chunks are often a little
		// larger than this one's.
		buf = make([]byte, total, total+total/8)
	}
	pos := 0
	for _, r := range ranges {
		// Ranges were checked against the file size at Open.
		n := int(r.end - r.off)
		bufs = append(bufs, buf[pos:pos+n:pos+n])
		pos += n
	}
	return buf, bufs
}

// setSegments makes sc.mem serve the fetched ranges (and nothing else).
func (sc *scratch) setSegments() {
	sc.mem.segs = sc.mem.segs[:0]
	for k, r := range sc.ranges {
		sc.mem.segs = append(sc.mem.segs, segment{off: r.off, data: sc.bufs[k]})
	}
}

// part is a read of fetched bytes: len(buf) bytes of the file at off.
type part struct {
	off int64
	buf []byte
}

// splitParts cuts each range, with its buffer, into parts of at most
// readPart bytes, for readParts.
func splitParts(ranges []byteRange, bufs [][]byte) []part {
	var parts []part
	for k, r := range ranges {
		for p := int64(0); p < r.end-r.off; p += readPart {
			n := min(readPart, r.end-r.off-p)
			parts = append(parts, part{r.off + p, bufs[k][p : p+n]})
		}
	}
	return parts
}

// readParts reads parts of row group rg into their buffers, up to
// maxParallelReads at a time.
func (f *File) readParts(rg int, parts []part) error {
	if len(parts) == 0 {
		return nil
	}
	errs := make([]error, len(parts))
	read := func(k int) {
		defer func() {
			if p := recover(); p != nil {
				errs[k] = fmt.Errorf("reader failed: %v", p)
			}
		}()
		errs[k] = readFull(f.r, parts[k].buf, parts[k].off)
	}
	if len(parts) == 1 {
		read(0)
	} else {
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxParallelReads)
		for k := range parts {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				read(k)
			}()
		}
		wg.Wait()
	}
	for k, err := range errs {
		if err != nil {
			p := parts[k]
			return f.wrap(-1, rg, -1, fmt.Errorf("reading bytes %d-%d: %w", p.off, p.off+int64(len(p.buf)), err))
		}
	}
	return nil
}

// leftOutBetween reports whether the chunk of an audit column of row group
// rg not in want lies between file offsets from and to.
func (f *File) leftOutBetween(rg int, want *[numRoles]bool, from, to int64) bool {
	for role := range f.cols {
		if f.cols[role].absent || want[role] {
			continue
		}
		if start, n := f.fetchRange(rg, &f.cols[role]); start < to && start+n > from {
			return true
		}
	}
	return false
}

// segment is fetched bytes of the file at off, or a rewritten chunk at a
// virtual offset (see plainFile), whose pages are decompressed on demand.
type segment struct {
	off  int64
	data []byte
	lazy *lazyChunk // a rewritten chunk; data is nil
}

// memReader serves reads at absolute file offsets from fetched segments,
// so that parquet-go's page reads never reach the underlying reader.
type memReader struct{ segs []segment }

var errNotFetched = errors.New("read outside the fetched column chunks")

func (m *memReader) ReadAt(p []byte, off int64) (int, error) {
	for _, s := range m.segs {
		if s.lazy != nil {
			if off >= s.off && off < s.off+virtualStride {
				// Its end reads as end of file: the chunk's metadata
				// gives only an upper bound of its size.
				return s.lazy.readAt(p, off-s.off)
			}
			continue
		}
		if off >= s.off && off < s.off+int64(len(s.data)) {
			n := copy(p, s.data[off-s.off:])
			if n < len(p) {
				return n, io.EOF
			}
			return n, nil
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	return 0, fmt.Errorf("%w (offset %d)", errNotFetched, off)
}

// slice returns the fetched bytes [off, off+n).
func (m *memReader) slice(off, n int64) []byte {
	for _, s := range m.segs {
		if off >= s.off && off+n <= s.off+int64(len(s.data)) {
			return s.data[off-s.off : off-s.off+n]
		}
	}
	return nil
}

// walkChunk checks the pages of a column chunk before parquet-go decodes
// it: every header must be well-formed Thrift, every page must fit in the
// chunk and be at most MaxPageSize uncompressed, and the data pages must
// hold exactly the row group's row count of values (parquet-go sizes its
// buffers from these headers, so this is what keeps a corrupt header from
// turning into a huge allocation).
//
// For a compressed chunk it also verifies page checksums when present and
// fills out with the chunk rewritten as an uncompressed one: the same pages
// with sizes updated and checksums dropped, each decompressed only when
// parquet-go reads it (see lazyChunk), so that a row group's decompressed
// chunks are never all in memory. For an uncompressed chunk out is left
// empty.
//
// size is the chunk's size as its metadata gives it: pages must start
// before it. A padded chunk (len(chunk) > size, see File.padChunks: the
// size leaves out the dictionary page header) may have its first page a
// dictionary page, which moves the limit by its header's length, and ends
// after the page that completes the row count: the padding holds the next
// chunk's bytes.
//
// A chunk streamed through a window (see streamChunk) is walked the same
// way, a page at a time, as parquet-go reads it.
func (f *File) walkChunk(role, rg int, chunk []byte, size int, out *lazyChunk) error {
	out.startWalk(f, role, rg, len(chunk), size, nil)
	out.whole = chunk
	for !out.walk.done {
		if err := out.walkPage(); err != nil {
			out.err = err
			return err
		}
	}
	return nil
}

// chunkWalk is where lazyChunk.walkPage is in a column chunk.
type chunkWalk struct {
	f        *File
	role, rg int
	n        int // the chunk's bytes (a padded chunk's include the padding)
	off      int // where the next page's header starts
	limit    int // pages start before it
	page     int // the next page's index
	padded   bool
	values   int64 // values of the data pages walked
	done     bool  // every page is walked and the values add up
}

// startWalk sets z up to be walked (walkPage) over a chunk of n bytes
// whose metadata gives size, read through win (nil: z.whole holds it).
func (z *lazyChunk) startWalk(f *File, role, rg, n, size int, win *chunkWindow) {
	c := &f.cols[role]
	z.reset(c.codec)
	z.optional, z.kind, z.dictN = c.optional, c.kind, -1
	z.win, z.whole, z.err = win, nil, nil
	z.walk = chunkWalk{f: f, role: role, rg: rg, n: n, limit: min(size, n), padded: n > size}
}

// bytes returns the chunk's bytes [off, off+n).
func (z *lazyChunk) bytes(off, n int) ([]byte, error) {
	if z.win == nil {
		return z.whole[off : off+n], nil
	}
	return z.win.get(off, n)
}

// headerProbe is how many bytes of a streamed chunk walkPage first reads
// for a page header (more if the header is longer).
const headerProbe = 4 << 10

// walkPage checks the chunk's next page and adds it to z, or, past the
// last page, checks that the pages' values add up to the row group's rows
// and sets z.walk.done.
func (z *lazyChunk) walkPage() error {
	w := &z.walk
	f, role, rg := w.f, w.role, w.rg
	rows := f.meta.RowGroups[rg].NumRows
	if w.off >= w.limit || (w.padded && w.values == rows && rows > 0) {
		if w.values != rows {
			return f.errf(role, rg, -1, "the column's pages hold %d values but the row group has %d rows", w.values, rows)
		}
		w.done = true
		return nil
	}
	c := &f.cols[role]
	codec, rewrite := c.codec, c.rewrite
	// The page's offset in the chunk and, once its header is read, the
	// row of the file it starts at (-1: a dictionary page).
	page, start, first := w.page, w.off, int64(-1)
	bad := func(format string, args ...any) error {
		return f.errf(role, rg, -1, "%s: %s", pageWhere(page, start, first), fmt.Sprintf(format, args...))
	}
	left := w.n - w.off // the chunk's bytes from the page on
	probe := left
	if z.win != nil {
		probe = min(headerProbe, left)
	}
	var (
		h  format.PageHeader
		hl int
		pb []byte // the page's header and body
	)
	for parsed := false; ; {
		gen := z.winGen()
		b, err := z.bytes(w.off, probe)
		if err != nil {
			return f.wrap(role, rg, -1, err)
		}
		if !parsed || z.winGen() != gen {
			// (Again if the window moved: the header's byte slices
			// pointed into the bytes it held.)
			h, hl, err = readPageHeader(b)
			if err != nil && probe < left {
				probe = min(4*probe, left) // a longer header than probed
				continue
			}
			if err != nil {
				return bad("header: %v", err)
			}
			parsed = true
		}
		if n := hl + int(h.CompressedPageSize); h.CompressedPageSize >= 0 && n <= left && n > len(b) {
			// The body is past the bytes read: read the whole page.
			probe = n
			continue
		}
		pb = b
		break
	}
	if h.Type != format.DictionaryPage {
		first = f.firstRow[rg] + w.values
	}
	if w.off == 0 && w.padded && h.Type == format.DictionaryPage {
		w.limit = min(w.limit+hl, w.n) // PARQUET-816
	}
	// levels: v2 bytes of levels before the (compressed) values.
	levels, plainValues, err := checkPageFrame(&h, left-hl)
	if err != nil {
		return bad("%v", err)
	}
	body := pb[hl : hl+int(h.CompressedPageSize)]
	var nv int64
	compressed := rewrite && codec != format.Uncompressed && !plainValues
	var enc format.Encoding // a data page's values'
	switch h.Type {
	case format.DataPage:
		nv, enc = int64(h.DataPageHeader.V.NumValues), h.DataPageHeader.V.Encoding
	case format.DataPageV2:
		nv, enc = int64(h.DataPageHeaderV2.V.NumValues), h.DataPageHeaderV2.V.Encoding
	case format.DictionaryPage:
		// Dictionary values are PLAIN: at least one byte each.
		if d := h.DictionaryPageHeader.V.NumValues; d < 0 || d > h.UncompressedPageSize {
			return bad("dictionary claims %d values in %d bytes", d, h.UncompressedPageSize)
		}
		// One dictionary, first: parquet-go keeps the first it meets
		// and skips any other.
		if page != 0 {
			return bad("a dictionary page that is not the chunk's first page")
		}
		z.dictN = int(h.DictionaryPageHeader.V.NumValues)
	}
	if h.Type != format.DictionaryPage && h.DictionaryPageHeader.Valid {
		// parquet-go would take this page's own bytes as the dictionary.
		return bad("a %s page with a dictionary page header", h.Type)
	}
	if isDictEncoding(enc) && z.dictN < 0 {
		return bad("dictionary indexes without a dictionary page")
	}
	if nv < 0 {
		return bad("claims %d values", nv)
	}
	w.values += nv
	if w.values > rows {
		return f.errf(role, rg, -1, "the column's pages hold more values than the row group's %d rows", rows)
	}
	w.off += hl + int(h.CompressedPageSize)
	w.page++
	if !rewrite {
		if err := checkPage(&h, body, z.check()); err != nil {
			return bad("%v", err)
		}
		// Pages as they are, for dictCursor.
		z.addRaw(h, body, page, start, first)
		return nil
	}

	if err := checkCRC(&h, body); err != nil {
		return bad("%v", err)
	}
	size := int(h.UncompressedPageSize)
	if !compressed {
		// An uncompressed v2 page in a compressed chunk.
		if size != len(body) {
			return bad("uncompressed page of %d bytes claims %d", len(body), size)
		}
	}
	h.CompressedPageSize = int32(size)
	h.CRC = 0
	if v := &h.DataPageHeaderV2.V; h.Type == format.DataPageV2 && z.optional && v.NumNulls == 0 && v.NumValues > 0 {
		// A v2 page whose header counts no nulls (arrow-go writes 0 with
		// statistics off; see nullsAgree): the count its levels give (v2
		// levels are never compressed), for parquet-go, which would
		// otherwise decode a value for every row. checkPage goes by the
		// levels, and the cursors too.
		r, d := int(v.RepetitionLevelsByteLength), int(v.DefinitionLevelsByteLength)
		if d > 0 && r+d <= len(body) {
			if nonNull, err := countLevels(body[r:r+d], int(v.NumValues)); err == nil {
				v.NumNulls = v.NumValues - int32(nonNull)
			}
		}
	}
	var proto thrift.CompactProtocol
	hdr, err := thrift.Marshal(&proto, &h)
	if err != nil {
		return bad("re-encoding the header: %v", err)
	}
	z.add(hdr, body, size, levels, compressed, page, start, first)
	pg := &z.pages[len(z.pages)-1]
	pg.hdr = h
	if !compressed {
		// Checked now, as a chunk that is not rewritten is: errors come
		// in page order.
		if err := checkPage(&h, body, z.check()); err != nil {
			return bad("%v", err)
		}
		pg.checked = true
	}
	return nil
}

// lazyChunk is a compressed column chunk as parquet-go reads it after
// walkChunk: a sequence of pages with re-encoded headers and uncompressed
// payloads, at offsets 0..size of a virtual file. Payloads are decompressed
// when read; the last page decompressed is kept, since parquet-go reads a
// page's header and payload in several reads. A payload that does not
// decompress to its header's size is an error naming the page, as
// walkChunk's are.
type lazyChunk struct {
	codec    format.CompressionCodec
	optional bool // the column's: its pages have definition levels
	kind     kind // the column's
	dictN    int  // values in its dictionary page, -1 if none
	pages    []lazyPage
	hdrs     []byte // the re-encoded headers, back to back
	size     int64

	cur  int    // page whose payload is in buf, -1 if none
	buf  []byte // that payload, uncompressed
	last int    // page of the last read, where the next one usually is

	// The walk (walkPage): whole holds the chunk, or win reads it a
	// window at a time, and readAt walks the next page as parquet-go reads
	// on. err is the walk's error, if it failed there.
	walk  chunkWalk
	whole []byte
	win   *chunkWindow
	err   error
}

type lazyPage struct {
	hdr        format.PageHeader // CompressedPageSize and CRC as rewritten
	off        int64             // of its header in the virtual chunk
	hdrEnd     int               // end of its header in hdrs (start: the previous page's)
	body       []byte
	size       int // payload size uncompressed
	levels     int // v2: bytes of levels before the compressed values
	compressed bool
	checked    bool  // its payload passed checkPage
	index      int   // page number in the chunk, for errors
	fileOff    int   // offset of its header in the column chunk, for errors
	firstRow   int64 // row of the file the page starts at (-1: dictionary), for errors
	gen        int   // the window's gen when the page was walked: body is valid while it holds
}

// where names the page for errors.
func (pg *lazyPage) where() string { return pageWhere(pg.index, pg.fileOff, pg.firstRow) }

// pageWhere names page index of a column chunk, at offset off in it and
// starting at row firstRow of the file (-1: a dictionary page), for errors.
func pageWhere(index, off int, firstRow int64) string {
	if firstRow < 0 {
		return fmt.Sprintf("page %d (offset %d in the column chunk)", index, off)
	}
	return fmt.Sprintf("page %d (offset %d in the column chunk, from row %d)", index, off, firstRow)
}

func (z *lazyChunk) reset(codec format.CompressionCodec) {
	z.codec = codec
	z.pages = z.pages[:0]
	z.hdrs = z.hdrs[:0]
	z.size, z.cur, z.last = 0, -1, 0
}

func (z *lazyChunk) add(hdr, body []byte, size, levels int, compressed bool, index, fileOff int, firstRow int64) {
	z.hdrs = append(z.hdrs, hdr...)
	z.pages = append(z.pages, lazyPage{off: z.size, hdrEnd: len(z.hdrs), body: body, size: size,
		levels: levels, compressed: compressed, index: index, fileOff: fileOff, firstRow: firstRow})
	z.size += int64(len(hdr)) + int64(size)
	z.pages[len(z.pages)-1].gen = z.winGen()
}

// clearWalk forgets z's walk: finishWalk has nothing to do until the next
// startWalk.
func (z *lazyChunk) clearWalk() {
	z.walk, z.whole, z.win, z.err = chunkWalk{}, nil, nil, nil
}

// finishWalk walks the pages of z not walked yet (a streamed chunk's after
// its last value), and returns the walk's error, if it failed.
func (z *lazyChunk) finishWalk() error {
	for z.err == nil && !z.walk.done && z.walk.f != nil {
		z.err = z.walkPage()
	}
	return z.err
}

// pageErr is the error for a page of z's column that parquet-go could not
// read: the walk's own, which names the page, when it is what failed.
func (f *File) pageErr(z *lazyChunk, role, rg int, row int64, err error) error {
	if z.err != nil {
		return z.err
	}
	return f.wrap(role, rg, row, fmt.Errorf("reading the page that starts at this row: %w", err))
}

// winGen is the window's generation (0 for a chunk held whole).
func (z *lazyChunk) winGen() int {
	if z.win == nil {
		return 0
	}
	return z.win.gen
}

// addRaw records a page of a chunk that is not rewritten: parquet-go reads
// the chunk itself, and only dictCursor reads these.
func (z *lazyChunk) addRaw(h format.PageHeader, body []byte, index, fileOff int, firstRow int64) {
	z.pages = append(z.pages, lazyPage{hdr: h, body: body, size: len(body), index: index, fileOff: fileOff, firstRow: firstRow,
		gen: z.winGen()})
}

// check describes the chunk for checkPage.
func (z *lazyChunk) check() pageCheck {
	return pageCheck{optional: z.optional, kind: z.kind, dictN: z.dictN}
}

// page returns the index of the page holding virtual offset rel (< size).
func (z *lazyChunk) page(rel int64) int {
	k := z.last
	if k >= len(z.pages) || z.pages[k].off > rel {
		k = 0
	}
	for k+1 < len(z.pages) && z.pages[k+1].off <= rel {
		k++
	}
	z.last = k
	return k
}

// payload returns page k's payload, uncompressed; with check, checked by
// checkPage first (once per page). dictCursor, which checks as strictly
// as it reads, asks without.
func (z *lazyChunk) payload(k int, check bool) ([]byte, error) {
	pg := &z.pages[k]
	data := pg.body
	if pg.gen != z.winGen() && !(pg.compressed && z.cur == k) {
		// parquet-go reads a chunk front to back, and a page is walked
		// (and the window moved on) only once the pages before it are read.
		return nil, fmt.Errorf("%s: internal error: the page was read after the window moved past it", pg.where())
	}
	if pg.compressed {
		if z.cur != k {
			z.cur = -1
			if cap(z.buf) < pg.size {
				z.buf = make([]byte, pg.size, pg.size+pg.size/8)
			}
			dst := z.buf[:pg.size]
			copy(dst, pg.body[:pg.levels]) // v2 levels are never compressed
			if err := decompress(z.codec, dst[pg.levels:], pg.body[pg.levels:]); err != nil {
				return nil, fmt.Errorf("%s: %w", pg.where(), err)
			}
			z.buf, z.cur = dst, k
		}
		data = z.buf
	}
	if check && !pg.checked {
		if err := checkPage(&pg.hdr, data, z.check()); err != nil {
			return nil, fmt.Errorf("%s: %w", pg.where(), err)
		}
		pg.checked = true
	}
	return data, nil
}

// readAt implements io.ReaderAt on the virtual chunk.
func (z *lazyChunk) readAt(p []byte, rel int64) (int, error) {
	n := 0
	for n < len(p) {
		if rel >= z.size {
			// Past the pages walked: walk the next one, if any.
			if z.err != nil {
				return n, z.err
			}
			if z.walk.done || z.walk.f == nil {
				break
			}
			if err := z.walkPage(); err != nil {
				z.err = err
				return n, err
			}
			continue
		}
		k := z.page(rel)
		pg := &z.pages[k]
		hdrStart := 0
		if k > 0 {
			hdrStart = z.pages[k-1].hdrEnd
		}
		hdr := z.hdrs[hdrStart:pg.hdrEnd]
		in := int(rel - pg.off)
		var c int
		if in < len(hdr) {
			c = copy(p[n:], hdr[in:])
		} else {
			data, err := z.payload(k, true)
			if err != nil {
				return n, err
			}
			c = copy(p[n:], data[in-len(hdr):])
		}
		n += c
		rel += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fetchRange is the byte range to fetch for a column chunk: chunkRange,
// plus padding for PARQUET-816 files (never past the footer).
func (f *File) fetchRange(rg int, c *column) (start, length int64) {
	start, length = chunkRange(&f.meta.RowGroups[rg].Columns[c.leaf].MetaData)
	if f.padChunks {
		length += min(maxDictHeaderSize, f.dataEnd-(start+length))
	}
	return start, length
}

// prepare checks the chunks of row group rg of the audit columns in want
// (see walkChunk) and rewrites the compressed ones, adding them to sc.mem
// at their virtual offsets.
func (f *File) prepare(rg int, sc *scratch, want *[numRoles]bool) error {
	var done [numRoles]bool
	for role := range f.cols {
		c := &f.cols[role]
		if done[role] || c.absent || !want[role] {
			continue
		}
		for r := role + 1; r < numRoles; r++ {
			if want[r] && !f.cols[r].absent && f.cols[r].leaf == c.leaf {
				done[r] = true // the same column mapped twice: one pass is enough
			}
		}
		start, length := f.fetchRange(rg, c)
		chunk := sc.mem.slice(start, length)
		if chunk == nil && length > 0 {
			return f.errf(role, rg, -1, "internal error: column chunk not fetched")
		}
		_, unpadded := chunkRange(&f.meta.RowGroups[rg].Columns[c.leaf].MetaData)
		out := &sc.plain[role]
		if err := f.walkChunk(role, rg, chunk, int(unpadded), out); err != nil {
			return err
		}
		if c.rewrite {
			if out.size >= virtualStride {
				return f.errf(role, rg, -1, "column chunk decompresses to %d bytes; too large", out.size)
			}
			sc.mem.segs = append(sc.mem.segs, segment{off: virtualOffset(c.leaf), lazy: out})
		}
	}
	return nil
}
