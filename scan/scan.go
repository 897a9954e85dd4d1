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
// Reading a row group costs one ReadAt per run of nearby column chunks
// (chunks less than 1 MiB apart are fetched together), so on S3 a row group
// is one or a few ranged GETs; pages are then decoded from memory.
//
// Scan fails closed: malformed files give an *Error (never a panic, never a
// silently short or wrong batch). Limits that protect against malformed
// footers and page headers are listed with MaxRowGroupRows and MaxPageSize.
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

// Batch is one row group's audit columns, decoded. Slices have length N.
// A Batch is reused from one row group to the next: copy what you keep.
// A Batch must not be passed to two ReadRowGroup calls at the same time.
type Batch struct {
	File     string // the file's URI
	RowGroup int
	FirstRow int64 // row_in_file of the batch's row 0
	N        int

	ContentID IDs

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
