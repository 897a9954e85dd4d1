package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// AuditInputs are what the DuckDB audit reads and writes.
type AuditInputs struct {
	// Corpus is one snapshot folder; every *.parquet below it is read.
	Corpus string
	// Ages, Objections and Links are table files or folders of *.parquet or
	// *.csv files. Links may be empty (no links: every group is one account).
	Ages, Objections, Links string
	// Snapshot is the snapshot's name written into the findings.
	Snapshot string
	// SnapshotAt is the instant objections are judged at.
	SnapshotAt time.Time
	// Out is the findings Parquet file to write.
	Out string
	// Objected is how the query tests a row's author against the objected
	// set: ObjectedSemiJoin (the default, "") or ObjectedLeftJoin.
	Objected string
}

// The two ways AuditSQL can write the objected flag. Both give the same
// findings (TestAuditSQLMatchesTruth runs both); DuckDB plans them very
// differently.
const (
	// ObjectedSemiJoin: author_id IN (SELECT account_id FROM objected).
	// DuckDB builds its hash table on the objected set. The bench's
	// baseline.
	ObjectedSemiJoin = "semi-join"
	// ObjectedLeftJoin: LEFT JOIN objected o ON o.account_id = author_id,
	// flag o.account_id IS NOT NULL. Just as natural to write, but DuckDB
	// cannot estimate the recursive CTE's size and builds its hash table
	// on the corpus side instead: several GB on the default bench lake
	// (the "3.2 GB" is of this order). Run with -duckdb-objected
	// left-join, for information.
	ObjectedLeftJoin = "left-join"
)

// whitespace is what Go's strings.TrimSpace strips in ASCII (the policy's
// "white space"): DuckDB's one-argument trim() strips only spaces, and the
// benchmark lake has content types such as "\tpost".
const whitespace = `chr(32) || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)`

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// tableScan returns the DuckDB table function reading one lookup table:
// read_parquet or read_csv over the file or the folder's files. CSV
// columns get the contract's types.
func tableScan(role, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s table: %w", role, err)
	}
	ext := filepath.Ext(path)
	src := path
	if st.IsDir() {
		var parquet, csv int
		ents, err := os.ReadDir(path)
		if err != nil {
			return "", fmt.Errorf("%s table: %w", role, err)
		}
		for _, e := range ents {
			switch n := e.Name(); {
			case strings.HasPrefix(n, "_") || strings.HasPrefix(n, "."):
			case strings.HasSuffix(n, ".parquet"):
				parquet++
			case strings.HasSuffix(n, ".csv"):
				csv++
			}
		}
		switch {
		case parquet > 0 && csv > 0:
			return "", fmt.Errorf("%s table %s: mixes Parquet and CSV files", role, path)
		case parquet > 0:
			ext, src = ".parquet", filepath.Join(path, "*.parquet")
		case csv > 0:
			ext, src = ".csv", filepath.Join(path, "*.csv")
		default:
			return "", fmt.Errorf("%s table %s: no *.parquet or *.csv files", role, path)
		}
	}
	switch ext {
	case ".parquet":
		return "read_parquet(" + sqlString(src) + ", union_by_name = true)", nil
	case ".csv":
		var cols string
		switch role {
		case "ages":
			cols = `{'account_id': 'BIGINT', 'birth_date': 'DATE'}`
		case "objections":
			cols = `{'account_id': 'BIGINT', 'objected_at': 'TIMESTAMPTZ', 'withdrawn_at': 'TIMESTAMPTZ'}`
		case "links":
			cols = `{'account_id': 'BIGINT', 'accounts_center_id': 'BIGINT'}`
		default:
			return "", fmt.Errorf("unknown table role %q", role)
		}
		return "read_csv(" + sqlString(src) + ", header = true, columns = " + cols + ")", nil
	default:
		return "", fmt.Errorf("%s table %s: not a .parquet or .csv file", role, path)
	}
}

// AuditSQL returns the DuckDB audit: one COPY statement that applies the
// default policy (schema/README.md, section 2) to the corpus and writes
// one row per flagged corpus row, with its sorted categories, to in.Out.
// The session's TimeZone must be UTC (see duckdbAudit).
//
// It is written the way a competent engineer would write it, not tuned to
// the benchmark lake:
//   - the youngest birth date per account (max ignores nulls); the 18th
//     birthday is make_date(y+18, m, 1) + (d-1) days, which turns 29
//     February into 1 March in common years (DuckDB's birth_date +
//     INTERVAL 18 YEAR would give 28 February);
//   - objected accounts are the closure of the accounts with an effective
//     objection over the account → centre → account graph: a recursive
//     CTE with UNION (set semantics, so it terminates and is exact for
//     chains of any length); a row's author is objected if it is IN that
//     set (a semi-join: DuckDB builds its hash table on the set, not on
//     the corpus, which it does with a LEFT JOIN of the CTE — see
//     ObjectedLeftJoin, which in.Objected selects);
//   - the flags are booleans, rows are filtered on them, and only the
//     flagged rows get a category list.
func AuditSQL(in AuditInputs) (string, error) {
	ages, err := tableScan("ages", in.Ages)
	if err != nil {
		return "", err
	}
	objections, err := tableScan("objections", in.Objections)
	if err != nil {
		return "", err
	}
	links := "(SELECT NULL::BIGINT AS account_id, NULL::BIGINT AS accounts_center_id WHERE false)"
	if in.Links != "" {
		if links, err = tableScan("links", in.Links); err != nil {
			return "", err
		}
	}
	objFlag, objJoin := "coalesce(c.author_id IN (SELECT account_id FROM objected), false)", ""
	switch in.Objected {
	case "", ObjectedSemiJoin:
	case ObjectedLeftJoin:
		objFlag, objJoin = "o.account_id IS NOT NULL", "\n    LEFT JOIN objected o ON o.account_id = c.author_id"
	default:
		return "", fmt.Errorf("objected flag %q: want %s or %s", in.Objected, ObjectedSemiJoin, ObjectedLeftJoin)
	}
	corpus := "read_parquet(" + sqlString(filepath.Join(in.Corpus, "**", "*.parquet")) + ", hive_partitioning = true, union_by_name = true)"
	at := "TIMESTAMPTZ " + sqlString(in.SnapshotAt.UTC().Format("2006-01-02 15:04:05.999999")+"+00")

	q := `COPY (
WITH RECURSIVE
links AS (
    SELECT account_id, accounts_center_id FROM ` + links + `
),
effective AS (      -- accounts with an objection in effect at snapshot_at (grace 0)
    SELECT DISTINCT account_id
    FROM ` + objections + `
    WHERE objected_at <= ` + at + `
      AND (withdrawn_at IS NULL OR withdrawn_at > ` + at + `)
),
objected(account_id) AS (   -- every account connected to one of them through shared centres
    SELECT account_id FROM effective
    UNION
    SELECT l2.account_id
    FROM objected o
    JOIN links l1 ON l1.account_id = o.account_id
    JOIN links l2 ON l2.accounts_center_id = l1.accounts_center_id
),
youngest AS (       -- the most recent known birth date per account
    SELECT account_id, max(birth_date) AS birth_date
    FROM ` + ages + `
    GROUP BY account_id
    HAVING max(birth_date) IS NOT NULL
),
adult AS (          -- 00:00 UTC of the 18th birthday; 29 Feb -> 1 Mar in common years
    SELECT account_id, birth_date,
           CAST(make_date(year(birth_date) + 18, month(birth_date), 1) + CAST(day(birth_date) - 1 AS INTEGER) AS TIMESTAMPTZ) AS adult_from
    FROM youngest
),
corpus AS (
    SELECT CAST(content_id AS VARCHAR) AS content_id, author_id, platform, content_type, visibility,
           CAST(created_at AS TIMESTAMPTZ) AS created_at,
           lower(trim(content_type, ` + whitespace + `)) AS ctype,
           lower(trim(visibility, ` + whitespace + `)) AS vis
    FROM ` + corpus + `
),
judged AS (
    SELECT c.*, a.birth_date,
           c.author_id IS NULL OR c.created_at IS NULL AS unauditable,
           coalesce(c.ctype = 'ai_interaction', false) AS ai,
           NOT coalesce(c.ctype IN ('post', 'comment', 'photo', 'video', 'reel', 'story', 'caption') AND c.vis = 'public', false) AS not_public,
           coalesce(c.created_at < a.adult_from, false) AS before_18,
           c.author_id IS NOT NULL AND a.account_id IS NULL AS no_birth_date,
           ` + objFlag + ` AS objected
    FROM corpus c
    LEFT JOIN adult a ON a.account_id = c.author_id` + objJoin + `
),
flagged AS (
    SELECT *,
           NOT ai AND not_public AS private,
           NOT ai AND before_18 AS minor,
           NOT ai AND no_birth_date AS age_unknown
    FROM judged
    WHERE unauditable OR objected OR (NOT ai AND (not_public OR before_18 OR no_birth_date))
)
SELECT ` + sqlString(in.Snapshot) + ` AS snapshot, content_id, author_id, platform, content_type, visibility, created_at,
       list_filter([
           CASE WHEN age_unknown THEN 'age_unknown' END,
           CASE WHEN minor       THEN 'minor' END,
           CASE WHEN objected    THEN 'objected' END,
           CASE WHEN private     THEN 'private' END,
           CASE WHEN unauditable THEN 'unauditable' END
       ], x -> x IS NOT NULL) AS categories,
       CASE WHEN minor THEN birth_date END AS birth_date
FROM flagged
) TO ` + sqlString(in.Out) + ` (FORMAT parquet, COMPRESSION zstd)`
	return q, nil
}

// compareSQL returns a query of one row: the rows of each side, the rows
// of a missing from b and of b missing from a (multisets of (content_id,
// sorted categories)). a and b are SELECTs of content_id VARCHAR and
// categories VARCHAR[].
func compareSQL(a, b string) string {
	return `WITH a AS MATERIALIZED (SELECT content_id, list_sort(categories) AS categories FROM (` + a + `)),
b AS MATERIALIZED (SELECT content_id, list_sort(categories) AS categories FROM (` + b + `))
SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b),
       (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)),
       (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a))`
}

// diffExamplesSQL lists up to n rows of a not in b, with b's categories
// for the same content_id.
func diffExamplesSQL(a, b string, n int) string {
	return fmt.Sprintf(`WITH a AS MATERIALIZED (SELECT content_id, list_sort(categories) AS categories FROM (%s)),
b AS MATERIALIZED (SELECT content_id, list_sort(categories) AS categories FROM (%s)),
d AS (SELECT * FROM a EXCEPT ALL SELECT * FROM b)
SELECT d.content_id, array_to_string(d.categories, '|'),
       coalesce((SELECT string_agg(array_to_string(b.categories, '|'), ' ; ') FROM b WHERE b.content_id IS NOT DISTINCT FROM d.content_id), '(none)')
FROM d ORDER BY d.content_id LIMIT %d`, a, b, n)
}

// findingsSelect reads findings Parquet files (corpus-audit's or the
// DuckDB audit's): content_id and categories.
func findingsSelect(glob string) string {
	return "SELECT CAST(content_id AS VARCHAR) AS content_id, categories FROM read_parquet(" + sqlString(glob) + ")"
}

// truthSelect reads lakegen's truth CSV (content_id,categories joined by '|').
func truthSelect(path string) string {
	return "SELECT content_id, string_split(categories, '|') AS categories FROM read_csv(" + sqlString(path) +
		", header = true, columns = {'content_id': 'VARCHAR', 'categories': 'VARCHAR'})"
}
