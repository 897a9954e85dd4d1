// Package scan decodes the audit's columns out of corpus Parquet files,
// one row group at a time, with parquet-go's page API. It knows nothing of
// the policy: it turns bytes into typed column batches, and every error it
// returns names the file, and the column and row where it can.
//
// Use:
//
//	f, err := scan.Open(r, size, uri, cols) // reads and checks the footer
//	var b scan.Batch
//	for i := 0; i < f.NumRowGroups(); i++ {
//		if err := f.ReadRowGroup(i, &b); err != nil { ... }
//		// b.N rows, columns in b.Author, b.Created, ...
//	}
//
// or, in less memory, a slice of a row group at a time (the audit's way):
//
//	b := scan.Batch{LazyContentID: true}
//	if err := f.OpenRowGroup(i, &b); err != nil { ... }
//	for {
//		n, err := f.NextRows(&b, 1<<16)
//		if err != nil { ... }
//		if n == 0 { break } // every column read to its end and checked
//		// b.N = n rows, the first being row b.Start of the row group
//	}
//	err := f.ContentIDs(&b, rows, &ids) // the content ids of the rows wanted
//
// # I/O
//
// Open reads the end of the file once (twice if the footer is over 64 KiB)
// and the 4-byte header magic. ReadRowGroup fetches the audit columns'
// chunks with one ReadAt per run of chunks less than 1 MiB apart (up to
// four in parallel), so on S3 a row group costs one or a few ranged GETs;
// pages are then decoded from memory. A compressed page is decompressed
// only when its turn to be decoded comes (into one reused page buffer per
// column), so memory holds a row group's compressed chunks and its decoded
// columns, never its decompressed chunks. NextRows decodes the columns a
// slice at a time, so that of the decoded columns memory holds a slice plus
// the rest of one page per column. With Batch.LazyContentID, a content_id
// chunk of 1 MiB or more is fetched (and checked) only by ContentIDs, once
// the other columns are decoded, into the same memory: one more ranged GET
// per row group, and a row group's chunks are never all in memory at once.
// When streamed, a compressed chunk larger than the read window
// (File.SetReadWindow, 1 MiB by default) is not fetched with the others but
// read a window at a time as it is decoded, its pages checked as they are
// reached: a worker's memory does not grow with the row groups' size.
// File.Prefetch reads a row group's chunks (content_id's included) on
// another goroutine while the batch decodes the current one, for the next
// OpenRowGroup to take, and File.SetWindowAhead has the window after the
// current one read the same way: from an object store the requests' waits
// then overlap the decoding, at the cost of a second row group's chunks
// and a second window per chunk read through one.
//
// # Decoding
//
// Pages are decoded with parquet-go (FileColumnChunk.PagesFrom, Page.Data,
// dictionary indexes used directly for the string columns), except, when
// streamed, string columns whose pages are all dictionary indexes:
// parquet-go decodes a page's indexes all at once, and Arrow's writer puts
// a row group's indexes in one page of up to a million, so dictCursor reads
// those RLE/bit-packed runs itself, a slice at a time; when streamed, the
// INT64 columns (author_id, and created_at stored as INT64) are decoded
// the same way, by numCursor, from the pages' bytes a slice at a time, so
// that neither parquet-go's copy of a page, nor its decoded page or
// dictionary, nor the rest of a decoded page is held; and ContentIDs
// decodes a string content_id column the same way, by idCursor, keeping
// only the ids of the rows asked for. scan decompresses
// compressed pages itself and hands parquet-go uncompressed
// ones, because parquet-go v0.32.0 silently misreads LZ4_RAW pages and
// lets other codecs expand without bound (see codec.go). Page checksums
// (CRC32) are verified when present: by scan for compressed chunks, by
// parquet-go (or dictCursor) for uncompressed ones. parquet-testing's
// datapage_v1-corrupt-checksum.parquet therefore fails with "crc32
// checksum mismatch in page of column "a"".
//
// # Failing closed
//
// Malformed input gives an *Error, never a panic, a hang or a short batch:
// footers and page headers are checked (Thrift structure, offsets and
// sizes against the file, value counts against the row count) before
// anything is allocated from them, every column must yield exactly the row
// group's rows, decompressed pages must have exactly their stated size,
// and panics inside parquet-go are recovered at the API boundary. Every
// page must hold exactly what its header claims before parquet-go decodes
// it (checkPage: parquet-go pads a page that decodes short, and sizes its
// output by RLE run headers and DELTA counts): definition levels 0 or 1
// for all its values; the non-null values' PLAIN or BYTE_STREAM_SPLIT
// bytes, dictionary indexes within the chunk's one dictionary (its first
// page), or DELTA values and lengths of exactly their count; no other
// encoding. Audit column chunks may not overlap. (Damage to the values
// inside a page that has no checksum can decode to wrong values
// unnoticed; no reader can do better.) Limits: MaxRowGroupRows,
// MaxPageSize.
// Files from parquet-mr before 1.2.9, whose chunk sizes leave out the
// dictionary page header (PARQUET-816), are read as Arrow reads them.
package scan

import (
	"fmt"
	"strings"
)

// Columns names the corpus columns to read (after remapping by the config).
type Columns struct {
	ContentID   string
	AuthorID    string
	Platform    string
	ContentType string
	Visibility  string
	CreatedAt   string
}

// Strings is a dictionary-coded string column: row i holds Dict[Codes[i]],
// or null when Codes[i] is -1. Dict holds each distinct value once per
// batch (it may also hold values no row uses), so that callers can
// evaluate a rule once per entry instead of once per row.
type Strings struct {
	Codes []int32
	Dict  []string
}

// IDs is the content_id column: int64 ids (IsInt) or strings, with Valid
// marking non-null rows.
type IDs struct {
	IsInt bool
	Int   []int64
	// String ids: row i is Data[Offsets[i]:Offsets[i+1]].
	Data    []byte
	Offsets []int32
	Valid   []bool
}

// Batch is one row group's audit columns, decoded (ReadRowGroup), or a
// slice of its rows (NextRows). Slices have length N.
// A Batch is reused from one row group to the next: copy what you keep.
// A Batch must not be passed to two ReadRowGroup calls at the same time.
type Batch struct {
	File     string // the file's URI
	RowGroup int
	FirstRow int64 // row_in_file of the row group's row 0
	// Start is the row group's row the batch's row 0 is: 0 after
	// ReadRowGroup, which reads whole row groups; NextRows moves it on.
	Start int
	N     int

	ContentID IDs
	// LazyContentID, set by the caller before ReadRowGroup, leaves
	// ContentID empty: the column is decoded later, by File.ContentIDs,
	// for the rows the caller wants (content ids are only needed for
	// findings, a few rows in a hundred). A batch read this way must be
	// passed to ContentIDs, which checks the column, before its row group
	// is trusted: a content_id chunk of 1 MiB or more is not even read
	// until then.
	LazyContentID bool

	Author      []int64
	AuthorValid []bool

	// Created is in microseconds since the Unix epoch, UTC (timestamps in
	// nanoseconds are floored to microseconds).
	Created      []int64
	CreatedValid []bool

	Platform    Strings
	ContentType Strings
	Visibility  Strings

	// sc is decode scratch (I/O buffers, string intern tables, dictionary
	// remaps) kept with the Batch so that scanning row group after row
	// group allocates almost nothing. It is unexported and its zero value
	// (nil) is ready to use; added to the original type for that reason.
	sc *scratch

	rgRows int // rows in the row group
}

// Error is the type of every error scan returns. It names the file, and the
// column (as named in the file), row group and row (row_in_file) where they
// are known; RowGroup and Row are -1 when not.
type Error struct {
	File     string
	Column   string
	RowGroup int
	Row      int64
	Err      error
}

// Error renders the error on one line: "FILE: column C: row group G: row R: cause".
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString(e.File)
	if e.Column != "" {
		sb.WriteString(": column ")
		sb.WriteString(e.Column)
	}
	if e.RowGroup >= 0 {
		fmt.Fprintf(&sb, ": row group %d", e.RowGroup)
	}
	if e.Row >= 0 {
		fmt.Fprintf(&sb, ": row %d", e.Row)
	}
	sb.WriteString(": ")
	if e.Err != nil {
		sb.WriteString(oneLine(e.Err.Error()))
	} else {
		sb.WriteString("unknown error")
	}
	return sb.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// oneLine keeps error messages on one line (parquet-go and readers may
// embed newlines).
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")), " ")
}
