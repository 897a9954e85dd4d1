package lakegen

import (
	"fmt"
	"runtime"
	"time"
)

// Options says what lake to generate. Start from DefaultOptions and change
// what you need; Generate fills zero-valued counts and empty strings with
// the defaults too, so a partly filled literal also works.
type Options struct {
	// Seed selects the lake: the same Options give byte-identical files.
	Seed int64
	// Snapshot is the snapshot's date, YYYY-MM-DD (default 2026-06-01). The
	// snapshot instant (snapshot_at) is 00:00 UTC of that day.
	Snapshot string

	// Rows is the number of corpus rows (default 10_000), spread evenly over
	// Files corpus files (default 4).
	Rows  int64
	Files int
	// RowGroupRows is the most rows per row group (default 1_000_000; capped
	// by the rows of a file).
	RowGroupRows int64

	// Accounts is the number of accounts in the lookup tables (default
	// 2_000). Links and Objections are the number of rows of the links and
	// objections tables; 0 means Accounts*2/5 and Accounts*3/50. Both count
	// the planted rows, and are raised to at least that many.
	Accounts   int64
	Links      int64
	Objections int64

	// LeakRate is the share of the corpus's random rows that are planted
	// leaks (DefaultOptions: 0.05). 0 plants none: the random rows are then
	// all clean (the planted edge rows remain unless NoEdges).
	LeakRate float64
	// NoEdges leaves out the planted edge rows (see Edges). With LeakRate 0
	// the corpus is then clean.
	NoEdges bool

	// Codec of every Parquet file: snappy (default), zstd, gzip, lz4,
	// brotli or none. Arrow v17 cannot write LZ4, so with lz4 every corpus
	// file is written by parquet-go and the tables fall back to snappy.
	Codec string
	// Writers is the Parquet writer of the corpus files: "parquet-go",
	// "arrow" (pqarrow, arrow/go v17) or "mixed" (default: even-numbered
	// files parquet-go, odd-numbered files Arrow).
	Writers string
	// TablesFormat is the format of the lookup tables: parquet (default) or csv.
	TablesFormat string
	// ContentIDInt writes content_id as int64 instead of a string.
	ContentIDInt bool
	// SparseIDs spreads account ids over 63 bits (as Snowflake-style ids
	// are) instead of numbering them from 100,000,000: the audit's lookup
	// then keeps them in its hashed sets rather than its dense arrays.
	SparseIDs bool
	// Timestamp is the encoding of the corpus's created_at: micros
	// (default), millis, nanos, or int96 (legacy Spark INT96 nanoseconds).
	Timestamp string

	// NoTruth skips the ground truth (and the reference evaluation it
	// needs), for very large lakes.
	NoTruth bool
	// Overwrite removes an existing snapshot of the same date (its corpus
	// folder, its truth files) and the tables before writing. Without it,
	// an existing snapshot folder is an error.
	Overwrite bool
	// Workers is how many files are written at once (default GOMAXPROCS).
	Workers int
}

// Defaults.
const (
	DefaultSnapshot     = "2026-06-01"
	DefaultRows         = 10_000
	DefaultFiles        = 4
	DefaultRowGroupRows = 1_000_000
	DefaultAccounts     = 2_000
	DefaultLeakRate     = 0.05
)

// Writer names.
const (
	WriterParquetGo = "parquet-go"
	WriterArrow     = "arrow"
	WritersMixed    = "mixed"
)

// DefaultOptions returns the default options.
func DefaultOptions() Options {
	return Options{
		Seed:         1,
		Snapshot:     DefaultSnapshot,
		Rows:         DefaultRows,
		Files:        DefaultFiles,
		RowGroupRows: DefaultRowGroupRows,
		Accounts:     DefaultAccounts,
		LeakRate:     DefaultLeakRate,
		Codec:        "snappy",
		Writers:      WritersMixed,
		TablesFormat: "parquet",
		Timestamp:    "micros",
	}
}

// normalize fills defaults and validates; it returns the snapshot instant.
func (o *Options) normalize() (time.Time, error) {
	if o.Snapshot == "" {
		o.Snapshot = DefaultSnapshot
	}
	if o.Rows == 0 {
		o.Rows = DefaultRows
	}
	if o.Files == 0 {
		o.Files = DefaultFiles
	}
	if o.RowGroupRows == 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.Accounts == 0 {
		o.Accounts = DefaultAccounts
	}
	if o.Links == 0 {
		o.Links = o.Accounts * 2 / 5
	}
	if o.Objections == 0 {
		o.Objections = o.Accounts * 3 / 50
	}
	if o.Codec == "" {
		o.Codec = "snappy"
	}
	if o.Writers == "" {
		o.Writers = WritersMixed
	}
	if o.TablesFormat == "" {
		o.TablesFormat = "parquet"
	}
	if o.Timestamp == "" {
		o.Timestamp = "micros"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}

	snap, err := time.Parse(time.DateOnly, o.Snapshot)
	if err != nil {
		return time.Time{}, fmt.Errorf("lakegen: snapshot %q is not a date YYYY-MM-DD", o.Snapshot)
	}
	switch {
	case o.Rows < 0:
		return snap, fmt.Errorf("lakegen: rows %d is negative", o.Rows)
	case o.Files < 0:
		return snap, fmt.Errorf("lakegen: files %d is negative", o.Files)
	case int64(o.Files) > o.Rows:
		return snap, fmt.Errorf("lakegen: %d files for %d rows: every file needs a row", o.Files, o.Rows)
	case o.RowGroupRows < 0:
		return snap, fmt.Errorf("lakegen: row_group_rows %d is negative", o.RowGroupRows)
	case o.Accounts < minAccounts || o.Accounts > 1<<31-1:
		return snap, fmt.Errorf("lakegen: accounts %d is outside %d..%d", o.Accounts, minAccounts, 1<<31-1)
	case o.Links < 0 || o.Objections < 0:
		return snap, fmt.Errorf("lakegen: links %d and objections %d must not be negative", o.Links, o.Objections)
	case o.LeakRate < 0 || o.LeakRate > 1 || o.LeakRate != o.LeakRate:
		return snap, fmt.Errorf("lakegen: leak_rate %v is not within 0..1", o.LeakRate)
	}
	if _, ok := codecs[o.Codec]; !ok {
		return snap, fmt.Errorf("lakegen: unknown codec %q (want snappy, zstd, gzip, lz4, brotli or none)", o.Codec)
	}
	switch o.Writers {
	case WriterParquetGo, WriterArrow, WritersMixed:
	default:
		return snap, fmt.Errorf("lakegen: unknown writers %q (want parquet-go, arrow or mixed)", o.Writers)
	}
	switch o.TablesFormat {
	case "parquet", "csv":
	default:
		return snap, fmt.Errorf("lakegen: unknown tables format %q (want parquet or csv)", o.TablesFormat)
	}
	if _, ok := timestampUnits[o.Timestamp]; !ok {
		return snap, fmt.Errorf("lakegen: unknown timestamp unit %q (want micros, millis, nanos or int96)", o.Timestamp)
	}
	if !o.NoEdges {
		if per := o.Rows / int64(o.Files); per < int64(maxEdges) {
			return snap, fmt.Errorf("lakegen: %d rows per file: every file needs at least %d rows to hold the planted edge rows (raise rows or set no_edges)", per, maxEdges)
		}
	}
	return snap, nil
}

// minAccounts leaves room for the planted accounts and some random ones.
const minAccounts = 100

// unit of created_at.
type tsUnit uint8

const (
	unitMicros tsUnit = iota
	unitMillis
	unitNanos
	unitInt96
)

var timestampUnits = map[string]tsUnit{
	"micros": unitMicros, "millis": unitMillis, "nanos": unitNanos, "int96": unitInt96,
}

// writerFor returns the writer of corpus file k.
func (o *Options) writerFor(k int) string {
	if o.Codec == "lz4" {
		return WriterParquetGo // Arrow v17 has no LZ4 codec
	}
	switch o.Writers {
	case WritersMixed:
		if k%2 == 0 {
			return WriterParquetGo
		}
		return WriterArrow
	default:
		return o.Writers
	}
}
