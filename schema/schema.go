// Package schema holds corpus-audit's data contracts as code: the columns it
// reads from the corpus and the lookup tables, the categories a row can get,
// the findings it writes and the summary of a run.
//
// Everything here is plain data with no I/O. README.md in this folder says
// the same in words for data engineers; keep the two in step.
package schema

// Default column names of the corpus. Each can be remapped in the config
// (see config.Columns).
const (
	ColContentID   = "content_id"
	ColAuthorID    = "author_id"
	ColPlatform    = "platform"
	ColContentType = "content_type"
	ColVisibility  = "visibility"
	ColCreatedAt   = "created_at"
)

// Columns of the lookup tables.
const (
	ColAccountID        = "account_id"
	ColBirthDate        = "birth_date"
	ColObjectedAt       = "objected_at"
	ColWithdrawnAt      = "withdrawn_at"
	ColAccountsCenterID = "accounts_center_id"
)

// Category is one reason a corpus row must not be in the training corpus.
type Category string

// The categories, in the order they are listed in a finding (alphabetical).
const (
	AgeUnknown  Category = "age_unknown"
	Minor       Category = "minor"
	Objected    Category = "objected"
	Private     Category = "private"
	Unauditable Category = "unauditable"
)

// Categories lists every category in its canonical (sorted) order.
var Categories = []Category{AgeUnknown, Minor, Objected, Private, Unauditable}

// Status of a run, as written in summary.json.
type Status string

const (
	// StatusClean: every row of every corpus file was read and judged, and
	// none was flagged.
	StatusClean Status = "clean"
	// StatusFindings: every row was read and judged, and at least one was
	// flagged; the findings files list them all.
	StatusFindings Status = "findings"
	// StatusIncomplete: the audit failed or did not finish. Nothing may be
	// concluded from it; Error says why.
	StatusIncomplete Status = "incomplete"
)

// Exit codes of corpus-audit.
const (
	ExitClean    = 0 // audit complete, no findings
	ExitFindings = 1 // audit complete, findings written
	ExitFailed   = 2 // audit failed or incomplete, or bad usage
)

// ExitCode maps a run status to the process exit code.
func (s Status) ExitCode() int {
	switch s {
	case StatusClean:
		return ExitClean
	case StatusFindings:
		return ExitFindings
	default:
		return ExitFailed
	}
}
