package schema

import "time"

// Summary is the content of summary.json: what a run audited, under which
// policy, what it found, and whether it finished.
type Summary struct {
	// SchemaVersion of this document; bumped on incompatible changes.
	SchemaVersion int    `json:"schema_version"`
	Status        Status `json:"status"`
	// Error is set when Status is incomplete: the first error, one line.
	Error string `json:"error,omitempty"`

	Snapshot   string    `json:"snapshot"`    // e.g. "2026-06-01"
	SnapshotAt time.Time `json:"snapshot_at"` // the instant objections are judged at
	Policy     PolicyRef `json:"policy"`

	Counts Counts `json:"counts"`

	// IgnoredFiles lists the visible files of the snapshot folder that
	// were not audited because they are not *.parquet (hidden files, whose
	// path has an element starting with _ or ., are not listed).
	IgnoredFiles []string `json:"ignored_files,omitempty"`

	// Inputs lists every file read, corpus and tables, sorted by role then path.
	Inputs []InputFile `json:"inputs"`

	// Run is the one place that differs between two runs over the same
	// inputs and policy: everything else in the summary, the findings and
	// the reports is reproducible byte for byte.
	Run RunInfo `json:"run"`

	// Outputs lists the findings files written, relative to the run's
	// output folder, with their row counts.
	Outputs []OutputFile `json:"outputs"`
}

// SummarySchemaVersion is the current Summary.SchemaVersion.
const SummarySchemaVersion = 1

// PolicyRef names the policy a run applied.
type PolicyRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Hash is the SHA-256 (hex) of the policy's canonical settings: two runs
	// with the same hash judged rows by the same rules.
	Hash     string         `json:"hash"`
	Settings map[string]any `json:"settings"`
}

// Counts are the results of a run.
type Counts struct {
	FilesScanned int   `json:"files_scanned"`
	RowsInFiles  int64 `json:"rows_in_files"` // rows according to the Parquet footers
	RowsScanned  int64 `json:"rows_scanned"`  // rows read and judged
	RowsClean    int64 `json:"rows_clean"`
	RowsFlagged  int64 `json:"rows_flagged"` // rows with at least one category
	// ByCategory counts flagged rows per category (a row with two
	// categories counts in both). Every category is present, zeros too.
	ByCategory map[Category]int64 `json:"by_category"`
	// ByPlatform counts flagged rows per platform (as found; "" for null)
	// and category.
	ByPlatform map[string]map[Category]int64 `json:"by_platform"`
	// ByGroup counts flagged rows per platform (as found), content type
	// (normalised; "" for null) and category, sorted by those three.
	ByGroup []GroupCount `json:"by_group"`
	// ByMonth counts flagged rows per month of created_at ("2026-05";
	// "" for null) and category.
	ByMonth map[string]map[Category]int64 `json:"by_month"`
	// Files is the per-file reconciliation: rows in the footer, rows
	// judged, rows flagged, in corpus file order.
	Files []FileCoverage `json:"files"`
}

// GroupCount is one cell of the platform × content type × category table.
type GroupCount struct {
	Platform    string   `json:"platform"`
	ContentType string   `json:"content_type"`
	Category    Category `json:"category"`
	Rows        int64    `json:"rows"`
}

// FileCoverage reconciles one corpus file: RowsInFooter == RowsJudged ==
// RowsClean + RowsFlagged in every complete run.
type FileCoverage struct {
	Path         string `json:"path"`
	RowGroups    int    `json:"row_groups"`
	RowsInFooter int64  `json:"rows_in_footer"`
	RowsJudged   int64  `json:"rows_judged"`
	RowsFlagged  int64  `json:"rows_flagged"`
}

// Input roles.
const (
	RoleCorpus     = "corpus"
	RoleAges       = "ages"
	RoleObjections = "objections"
	RoleLinks      = "links"
	RoleConfig     = "config"
)

// InputFile is one file a run read.
type InputFile struct {
	Role string `json:"role"`
	Path string `json:"path"` // as given: a local path or an s3:// URI
	Size int64  `json:"size"`
	Rows int64  `json:"rows"`
	// SHA256 of the whole file (local files), or the object's ETag and
	// version on S3.
	SHA256    string `json:"sha256,omitempty"`
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version_id,omitempty"`
}

// OutputFile is one findings file a run wrote.
type OutputFile struct {
	Path string `json:"path"`
	Rows int64  `json:"rows"`
}

// RunInfo describes the run itself rather than what it found.
type RunInfo struct {
	Tool     ToolInfo  `json:"tool"`
	Host     string    `json:"host"`
	Started  time.Time `json:"started_at"`
	Finished time.Time `json:"finished_at"`
}

// ToolInfo identifies the program that wrote a summary.
type ToolInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Go      string `json:"go"`
}
