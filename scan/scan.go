// Package scan decodes the audit's columns out of corpus Parquet files,
// one row group at a time, with parquet-go's page API. It knows nothing of
// the policy: it turns bytes into typed column batches, and every error it
// returns names the file, and the column and row where it can.
package scan

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
}
