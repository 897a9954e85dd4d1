package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver
)

// duckdbSubcommand is the hidden subcommand the bench re-executes itself
// with to run the DuckDB audit in a child process of its own, so that its
// peak RSS and CPU time are measured like corpus-audit's.
const duckdbSubcommand = "__duckdb-audit"

// childReport is what the DuckDB child prints on stdout (one JSON object).
type childReport struct {
	RowsOut       int64   `json:"rows_out"`
	DuckDBVersion string  `json:"duckdb_version"`
	Threads       string  `json:"threads"`
	MemoryLimit   string  `json:"memory_limit"`
	QuerySeconds  float64 `json:"query_seconds"`
}

// duckdbChild is the hidden subcommand: run the DuckDB audit once.
func duckdbChild(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(duckdbSubcommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var in AuditInputs
	var at string
	fs.StringVar(&in.Corpus, "corpus", "", "snapshot folder")
	fs.StringVar(&in.Ages, "ages", "", "ages table")
	fs.StringVar(&in.Objections, "objections", "", "objections table")
	fs.StringVar(&in.Links, "links", "", "links table")
	fs.StringVar(&in.Snapshot, "snapshot", "", "snapshot name")
	fs.StringVar(&at, "snapshot-at", "", "snapshot instant, RFC 3339")
	fs.StringVar(&in.Out, "out", "", "findings Parquet file")
	fs.StringVar(&in.Objected, "objected", ObjectedSemiJoin, "how the query tests the objected set: "+ObjectedSemiJoin+" or "+ObjectedLeftJoin)
	explain := fs.Bool("explain", false, "print the query and DuckDB's EXPLAIN ANALYZE profile to stderr instead of a report")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		fmt.Fprintf(stderr, "duckdb audit: -snapshot-at %q: %v\n", at, err)
		return 2
	}
	in.SnapshotAt = t
	if *explain {
		q, err := AuditSQL(in)
		if err == nil {
			fmt.Fprintln(stderr, q)
			err = explainAnalyze(context.Background(), q, stderr)
		}
		if err != nil {
			fmt.Fprintln(stderr, "duckdb audit:", err)
			return 2
		}
		return 0
	}
	rep, err := duckdbAudit(context.Background(), in)
	if err != nil {
		fmt.Fprintln(stderr, "duckdb audit:", err)
		return 2
	}
	if err := json.NewEncoder(stdout).Encode(rep); err != nil {
		fmt.Fprintln(stderr, "duckdb audit:", err)
		return 2
	}
	return 0
}

// duckdbAudit runs AuditSQL in an in-memory DuckDB with its defaults
// (threads = CPUs, memory_limit = 80% of RAM), the session time zone set to
// UTC.
func duckdbAudit(ctx context.Context, in AuditInputs) (childReport, error) {
	q, err := AuditSQL(in)
	if err != nil {
		return childReport{}, err
	}
	return execAudit(ctx, q)
}

// execAudit runs one audit statement (a COPY) as duckdbAudit does.
func execAudit(ctx context.Context, q string) (childReport, error) {
	var rep childReport
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return rep, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return rep, fmt.Errorf("set time zone: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT version(), current_setting('threads')::VARCHAR, current_setting('memory_limit')").
		Scan(&rep.DuckDBVersion, &rep.Threads, &rep.MemoryLimit); err != nil {
		return rep, fmt.Errorf("settings: %w", err)
	}
	start := time.Now()
	res, err := conn.ExecContext(ctx, q)
	if err != nil {
		return rep, fmt.Errorf("audit query: %w", err)
	}
	rep.QuerySeconds = time.Since(start).Seconds()
	if rep.RowsOut, err = res.RowsAffected(); err != nil {
		return rep, fmt.Errorf("audit query: rows written: %w", err)
	}
	return rep, nil
}

// explainAnalyze runs q under EXPLAIN ANALYZE (as execAudit would run it)
// and writes DuckDB's profile to w.
func explainAnalyze(ctx context.Context, q string, w io.Writer) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return err
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN ANALYZE "+q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		fmt.Fprintln(w, v)
	}
	return rows.Err()
}

// comparison is the result of comparing two sets of findings.
type comparison struct {
	What       string     `json:"what"`
	RowsA      int64      `json:"rows_a"`
	RowsB      int64      `json:"rows_b"`
	OnlyA      int64      `json:"only_a"`
	OnlyB      int64      `json:"only_b"`
	ExamplesA  [][]string `json:"examples_only_a,omitempty"`
	ExamplesB  [][]string `json:"examples_only_b,omitempty"`
	NameA      string     `json:"name_a"`
	NameB      string     `json:"name_b"`
	Equal      bool       `json:"equal"`
	DurationMS int64      `json:"duration_ms"`
}

// compareSubcommand is the hidden subcommand the bench re-executes itself
// with to compare findings (compareFindings) in a child process: DuckDB in
// the bench's own process grew it to hundreds of MB, which Linux then
// counted in the peak RSS of every tool the bench started afterwards (see
// Run.BenchRSSKiB).
const compareSubcommand = "__compare"

// compareInChild runs compareFindings in a child process (self, the bench
// binary) and returns its result.
func compareInChild(ctx context.Context, self, what, nameA, selA, nameB, selB string, examples int) (comparison, error) {
	cmd := exec.CommandContext(ctx, self, compareSubcommand, what, nameA, selA, nameB, selB, strconv.Itoa(examples))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return comparison{What: what}, fmt.Errorf("compare %s: %w: %s", what, err, strings.TrimSpace(stderr.String()))
	}
	var c comparison
	if err := json.Unmarshal(out, &c); err != nil {
		return comparison{What: what}, fmt.Errorf("compare %s: child's report %q: %w", what, out, err)
	}
	return c, nil
}

// compareChild is the hidden subcommand: compareFindings once, its result
// as JSON on stdout. Arguments: what, nameA, selA, nameB, selB, examples.
func compareChild(args []string, stdout, stderr io.Writer) int {
	if len(args) != 6 {
		fmt.Fprintf(stderr, "%s: want 6 arguments, got %d\n", compareSubcommand, len(args))
		return 2
	}
	examples, err := strconv.Atoi(args[5])
	if err != nil {
		fmt.Fprintf(stderr, "%s: examples: %v\n", compareSubcommand, err)
		return 2
	}
	c, err := compareFindings(context.Background(), args[0], args[1], args[2], args[3], args[4], examples)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(c); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// compareFindings compares the (content_id, sorted categories) multisets
// of two SELECTs with DuckDB: counts and EXCEPT ALL both ways, and up to
// examples rows of each difference.
func compareFindings(ctx context.Context, what, nameA, selA, nameB, selB string, examples int) (comparison, error) {
	c := comparison{What: what, NameA: nameA, NameB: nameB}
	start := time.Now()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return c, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return c, err
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, compareSQL(selA, selB)).Scan(&c.RowsA, &c.RowsB, &c.OnlyA, &c.OnlyB); err != nil {
		return c, fmt.Errorf("compare %s: %w", what, err)
	}
	c.Equal = c.OnlyA == 0 && c.OnlyB == 0 && c.RowsA == c.RowsB
	list := func(a, b string) ([][]string, error) {
		rows, err := conn.QueryContext(ctx, diffExamplesSQL(a, b, examples))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			var id sql.NullString
			var mine, theirs string
			if err := rows.Scan(&id, &mine, &theirs); err != nil {
				return nil, err
			}
			s := id.String
			if !id.Valid {
				s = "(null)"
			}
			out = append(out, []string{s, mine, theirs})
		}
		return out, rows.Err()
	}
	if c.OnlyA > 0 {
		if c.ExamplesA, err = list(selA, selB); err != nil {
			return c, fmt.Errorf("compare %s: examples: %w", what, err)
		}
	}
	if c.OnlyB > 0 {
		if c.ExamplesB, err = list(selB, selA); err != nil {
			return c, fmt.Errorf("compare %s: examples: %w", what, err)
		}
	}
	c.DurationMS = time.Since(start).Milliseconds()
	return c, nil
}

// print writes the comparison in a few lines.
func (c comparison) print(w io.Writer) {
	verdict := "SAME"
	if !c.Equal {
		verdict = "MISMATCH"
	}
	fmt.Fprintf(w, "check %s: %s — %s %d rows, %s %d rows, only in %s %d, only in %s %d\n",
		c.What, verdict, c.NameA, c.RowsA, c.NameB, c.RowsB, c.NameA, c.OnlyA, c.NameB, c.OnlyB)
	for _, e := range c.ExamplesA {
		fmt.Fprintf(w, "  only in %s: content_id %s categories %s (%s has: %s)\n", c.NameA, e[0], e[1], c.NameB, e[2])
	}
	for _, e := range c.ExamplesB {
		fmt.Fprintf(w, "  only in %s: content_id %s categories %s (%s has: %s)\n", c.NameB, e[0], e[1], c.NameA, e[2])
	}
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
