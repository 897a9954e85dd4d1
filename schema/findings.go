package schema

// Finding is one flagged corpus row: what it is, why it was flagged, the
// evidence, and where to find it. The findings Parquet files hold one row
// per Finding, with the columns named in the `parquet` tags, in this order.
//
// Nullable columns are pointers here; a nil pointer is written as null.
type Finding struct {
	Snapshot    string  `parquet:"snapshot"`     // the snapshot's name, e.g. "2026-06-01"
	ContentID   *string `parquet:"content_id"`   // as found, int64 ids rendered in decimal; null if the row had none
	AuthorID    *int64  `parquet:"author_id"`    // as found
	Platform    *string `parquet:"platform"`     // as found (not normalised)
	ContentType *string `parquet:"content_type"` // as found (not normalised)
	Visibility  *string `parquet:"visibility"`   // as found (not normalised)
	CreatedAt   *int64  `parquet:"created_at"`   // microseconds since the Unix epoch, UTC

	Categories []Category `parquet:"categories"` // sorted, never empty

	// Evidence; null where the category it supports does not apply.
	BirthDate          *int32 `parquet:"birth_date"`           // days since 1970-01-01, for minor
	ObjectionAccountID *int64 `parquet:"objection_account_id"` // the account whose objection counts, for objected
	ObjectedAt         *int64 `parquet:"objected_at"`          // microseconds since the epoch, for objected
	AccountsCenterID   *int64 `parquet:"accounts_center_id"`   // the centre linking author and objector, for objected via a link

	// Location.
	SourceFile string `parquet:"source_file"` // the corpus file, as given (local path or s3:// URI)
	RowGroup   int32  `parquet:"row_group"`   // 0-based row group in SourceFile
	RowInFile  int64  `parquet:"row_in_file"` // 0-based row number within SourceFile
}

// FindingsDir is the folder under a run's output that holds the findings
// Parquet files, named part-NNNNN.parquet.
const FindingsDir = "findings"

// SummaryFile is the name of the run summary under a run's output. It is
// written last: a reader who sees it sees every findings file of the run.
const SummaryFile = "summary.json"
