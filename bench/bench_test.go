package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the bench's children: the DuckDB audit
// (re-executed by benchMain as os.Executable()) and, with fakeAuditEnv
// set, a stand-in for bin/corpus-audit, or a memory hog for TestMeasure.
const (
	fakeAuditEnv = "CORPUS_BENCH_TEST_FAKE_AUDIT" // "same" or "drop"
	hogEnv       = "CORPUS_BENCH_TEST_HOG_MIB"
	bigParentEnv = "CORPUS_BENCH_TEST_BIG_PARENT"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == duckdbSubcommand {
		os.Exit(duckdbChild(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == compareSubcommand {
		os.Exit(compareChild(os.Args[2:], os.Stdout, os.Stderr))
	}
	if os.Getenv(bigParentEnv) != "" {
		// A bench grown to 300 MiB measures a child touching 16 MiB.
		big := make([]byte, 300<<20)
		for i := 0; i < len(big); i += 4096 {
			big[i] = 1
		}
		os.Unsetenv(bigParentEnv)
		os.Setenv(hogEnv, "16")
		r, _, err := measure(context.Background(), "hog", os.Args[0], nil, os.DevNull)
		fmt.Printf("%d %d %t %v %d\n", r.MaxRSSKiB, r.BenchRSSKiB, r.RSSIsBench, err, big[len(big)-4096])
		os.Exit(0)
	}
	if mode := os.Getenv(fakeAuditEnv); mode != "" {
		os.Exit(fakeAudit(mode, os.Args[1:]))
	}
	if s := os.Getenv(hogEnv); s != "" {
		var mib int
		fmt.Sscan(s, &mib)
		b := make([]byte, mib<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		b[len(b)-1] = 7
		os.Exit(int(b[len(b)-1]))
	}
	os.Exit(m.Run())
}

// lakegenBin is bin/lakegen of the repository (tests run in bench/).
const lakegenBin = "../bin/lakegen"

func needLakegen(t *testing.T) {
	t.Helper()
	if !exists(lakegenBin) {
		t.Skipf("%s is missing: build it first (`make build` at the repository root, or `go build -o bin/ ./cmd/lakegen`); these tests generate tiny lakes with it", lakegenBin)
	}
}

// tinyLake generates a small lake with its truth into a temporary cache.
func tinyLake(t *testing.T, p LakeParams) *Lake {
	t.Helper()
	needLakegen(t)
	var log bytes.Buffer
	l, err := ensureLake(lakegenBin, t.TempDir(), p, false, &log)
	if err != nil {
		t.Fatalf("generate lake: %v\n%s", err, log.String())
	}
	if l.Truth == "" {
		t.Fatalf("lake %s has no truth CSV", l.Dir)
	}
	return l
}

func tinyParams() LakeParams {
	p := DefaultLakeParams()
	p.Rows, p.Files, p.RowGroupRows = 40_000, 4, 7_000
	p.Accounts, p.Links, p.Objections = 3_000, 1_500, 400
	p.Truth = true
	return p
}

func inputs(t *testing.T, l *Lake, out string) AuditInputs {
	at, err := l.Params.snapshotAt()
	if err != nil {
		t.Fatal(err)
	}
	return AuditInputs{Corpus: l.Corpus, Ages: l.Ages, Objections: l.Objections, Links: l.Links,
		Snapshot: l.Params.Snapshot, SnapshotAt: at, Out: out}
}

// TestAuditSQLMatchesTruth verifies the DuckDB audit's policy against the
// generator's independent ground truth, over the lake variants the
// contract allows.
func TestAuditSQLMatchesTruth(t *testing.T) {
	needLakegen(t)
	tests := []struct {
		name string
		edit func(*LakeParams)
	}{
		{"default", func(*LakeParams) {}},
		{"csv tables", func(p *LakeParams) { p.TablesFormat = "csv" }},
		{"int96 timestamps", func(p *LakeParams) { p.Timestamp = "int96" }},
		{"nanos, arrow writer, zstd", func(p *LakeParams) { p.Timestamp, p.Writers, p.Codec = "nanos", "arrow", "zstd" }},
		{"millis, int content ids, parquet-go writer", func(p *LakeParams) { p.Timestamp, p.ContentIDInt, p.Writers = "millis", true, "parquet-go" }},
		{"other seed, many links", func(p *LakeParams) { p.Seed, p.Links, p.Objections = 7, 2_900, 900 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tinyParams()
			tt.edit(&p)
			l := tinyLake(t, p)
			for _, objected := range []string{ObjectedSemiJoin, ObjectedLeftJoin} {
				out := filepath.Join(t.TempDir(), "duck.parquet")
				in := inputs(t, l, out)
				in.Objected = objected
				rep, err := duckdbAudit(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				if rep.RowsOut == 0 {
					t.Fatalf("objected as %s: the DuckDB audit flagged no rows; the lake has planted leaks", objected)
				}
				cmp, err := compareFindings(context.Background(), "duckdb vs truth", toolDuckDB, findingsSelect(out), "truth", truthSelect(l.Truth), 10)
				if err != nil {
					t.Fatal(err)
				}
				if !cmp.Equal || cmp.RowsA != rep.RowsOut {
					var b strings.Builder
					cmp.print(&b)
					t.Fatalf("DuckDB audit, objected as %s (%d rows written), differs from the truth:\n%s", objected, rep.RowsOut, b.String())
				}
			}
		})
	}
}

// TestComparisonCatchesPolicyBugs: the lake and the cross-check are
// sensitive enough that plausible mistakes in the SQL are caught, with
// examples. Each mutant must differ from the truth.
func TestComparisonCatchesPolicyBugs(t *testing.T) {
	l := tinyLake(t, tinyParams())
	good, err := AuditSQL(inputs(t, l, "OUT"))
	if err != nil {
		t.Fatal(err)
	}
	mutants := []struct{ name, old, new string }{
		{"INTERVAL 18 YEAR (29 Feb -> 28 Feb)",
			"CAST(make_date(year(birth_date) + 18, month(birth_date), 1) + CAST(day(birth_date) - 1 AS INTEGER) AS TIMESTAMPTZ)",
			"CAST(birth_date + INTERVAL 18 YEAR AS TIMESTAMPTZ)"},
		{"one-argument trim()", "trim(content_type, " + whitespace + ")", "trim(content_type)"},
		{"oldest birth date", "max(birth_date) AS birth_date", "min(birth_date) AS birth_date"},
		{"no component closure (objectors only)",
			"    SELECT l2.account_id\n    FROM objected o\n    JOIN links l1 ON l1.account_id = o.account_id\n    JOIN links l2 ON l2.accounts_center_id = l1.accounts_center_id\n",
			"    SELECT account_id FROM objected WHERE false\n"},
		{"one hop only (chains through a bridge account missed)",
			"    FROM objected o\n",
			"    FROM objected o\n    SEMI JOIN effective e ON e.account_id = o.account_id\n"},
		{"withdrawal at the snapshot still effective", "withdrawn_at > ", "withdrawn_at >= "},
		{"ai_interaction recognised before normalising", "coalesce(c.ctype = 'ai_interaction', false) AS ai", "coalesce(c.content_type = 'ai_interaction', false) AS ai"},
		{"null visibility public", "AND c.vis = 'public', false)", "AND coalesce(c.vis, 'public') = 'public', false)"},
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			if !strings.Contains(good, m.old) {
				t.Fatalf("the audit SQL no longer contains %q", m.old)
			}
			out := filepath.Join(t.TempDir(), "mutant.parquet")
			q := strings.Replace(strings.Replace(good, m.old, m.new, 1), "'OUT'", sqlString(out), 1)
			if _, err := execAudit(context.Background(), q); err != nil {
				t.Fatalf("mutant failed to run: %v", err)
			}
			cmp, err := compareFindings(context.Background(), m.name, "mutant", findingsSelect(out), "truth", truthSelect(l.Truth), 3)
			if err != nil {
				t.Fatal(err)
			}
			if cmp.Equal {
				t.Fatalf("mutant %q agrees with the truth: the check cannot see this bug", m.name)
			}
			if len(cmp.ExamplesA)+len(cmp.ExamplesB) == 0 {
				t.Fatalf("mismatch without examples: %+v", cmp)
			}
		})
	}
}

// TestCompareFindings checks the multiset comparison on hand-made findings.
func TestCompareFindings(t *testing.T) {
	vals := func(rows ...string) string {
		if len(rows) == 0 {
			return "SELECT NULL::VARCHAR AS content_id, NULL::VARCHAR[] AS categories WHERE false"
		}
		return "SELECT * FROM (VALUES " + strings.Join(rows, ", ") + ") t(content_id, categories)"
	}
	tests := []struct {
		name         string
		a, b         string
		onlyA, onlyB int64
		equal        bool
	}{
		{"same, category order ignored", vals(`('1', ['minor', 'private'])`, `('2', ['objected'])`), vals(`('2', ['objected'])`, `('1', ['private', 'minor'])`), 0, 0, true},
		{"different categories", vals(`('1', ['minor'])`), vals(`('1', ['minor', 'private'])`), 1, 1, false},
		{"row missing", vals(`('1', ['minor'])`, `('2', ['private'])`), vals(`('1', ['minor'])`), 1, 0, false},
		{"duplicate row", vals(`('1', ['minor'])`, `('1', ['minor'])`), vals(`('1', ['minor'])`), 1, 0, false},
		{"null content ids", vals(`(NULL, ['unauditable'])`), vals(`(NULL, ['unauditable'])`), 0, 0, true},
		{"both empty", vals(), vals(), 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compareFindings(context.Background(), tt.name, "a", tt.a, "b", tt.b, 5)
			if err != nil {
				t.Fatal(err)
			}
			if c.OnlyA != tt.onlyA || c.OnlyB != tt.onlyB || c.Equal != tt.equal {
				t.Fatalf("got only_a %d only_b %d equal %v, want %d %d %v", c.OnlyA, c.OnlyB, c.Equal, tt.onlyA, tt.onlyB, tt.equal)
			}
			if int64(len(c.ExamplesA)) != tt.onlyA || int64(len(c.ExamplesB)) != tt.onlyB {
				t.Fatalf("examples %v / %v, want %d / %d", c.ExamplesA, c.ExamplesB, tt.onlyA, tt.onlyB)
			}
		})
	}
}

// TestMeasure: exit codes are reported, and peak RSS is the child's own.
func TestMeasure(t *testing.T) {
	t.Setenv(hogEnv, "256")
	r, _, err := measure(context.Background(), "hog", os.Args[0], nil, filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 7 {
		t.Fatalf("exit code %d, want 7", r.ExitCode)
	}
	if r.MaxRSSKiB < 256*1024 || r.MaxRSSKiB > 2*1024*1024 {
		t.Fatalf("peak RSS %d KiB of a child touching 256 MiB: want between 256 MiB and 2 GiB", r.MaxRSSKiB)
	}
	if r.WallSeconds <= 0 || r.CPUSeconds <= 0 || r.CPUSeconds != r.UserSeconds+r.SysSeconds {
		t.Fatalf("times: %+v", r)
	}
	if _, _, err := measure(context.Background(), "missing", filepath.Join(t.TempDir(), "no-such-binary"), nil, filepath.Join(t.TempDir(), "log")); err == nil {
		t.Fatal("a missing binary gave no error")
	}
}

// TestMeasureBigBench: Linux counts the bench's own peak RSS in a child's
// (the child is forked on the bench's memory), so a bench grown large
// reports its own size for every tool; measure flags such a figure.
func TestMeasureBigBench(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), bigParentEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var child, bench int64
	var flagged bool
	if _, err := fmt.Sscan(string(out), &child, &bench, &flagged); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if bench < 300<<10 || child < 300<<10 || !flagged {
		t.Fatalf("a 16 MiB child measured from a 300 MiB bench: child %d KiB, bench %d KiB, flagged %t; want the child's figure inflated to the bench's and flagged", child, bench, flagged)
	}
}

func TestMedianAndGroup(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 20_000_000: "20,000,000", -1234: "-1,234"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPairedWall: the paired ratio pairs runs by index, skips unpaired
// runs, and is the median of the pairs' ratios, which the ratio of the
// medians is not.
func TestPairedWall(t *testing.T) {
	runs := []Run{
		{Tool: toolAudit, Index: 1, WallSeconds: 4}, {Tool: toolDuckDB, Index: 1, WallSeconds: 10},
		{Tool: toolAudit, Index: 2, WallSeconds: 3}, {Tool: toolDuckDB, Index: 2, WallSeconds: 5},
		{Tool: toolAudit, Index: 3, WallSeconds: 9}, {Tool: toolDuckDB, Index: 3, WallSeconds: 20},
		{Tool: toolAudit, Index: 4, WallSeconds: 1}, // no DuckDB run 4
	}
	if got, want := pairedWall(runs), 0.45; got != want { // median of 0.4, 0.6, 0.45
		t.Errorf("pairedWall = %v, want %v", got, want)
	}
	if got := pairedWall(runs[6:]); got != 0 {
		t.Errorf("pairedWall without pairs = %v, want 0", got)
	}
	res := &Results{Runs: runs, Medians: map[string]Stats{}}
	summarize(res)
	if res.Ratios == nil || res.Ratios.PairedWall != 0.45 || res.Ratios.Wall == 0.45 {
		t.Errorf("summarize ratios = %+v", res.Ratios)
	}
}

func TestLakeParamsHash(t *testing.T) {
	a, b := DefaultLakeParams(), DefaultLakeParams()
	if a.Hash() != b.Hash() {
		t.Fatal("equal parameters, different hashes")
	}
	b.Rows = 100_000_000
	if a.Hash() == b.Hash() {
		t.Fatal("different rows, same hash")
	}
	b = DefaultLakeParams()
	b.Truth = true
	if a.Hash() == b.Hash() {
		t.Fatal("truth or not, same hash")
	}
}

// writeFakeSummary writes a corpus-audit-like summary.json.
func writeFakeSummary(out string, rows, flagged int64) error {
	return writeJSON(filepath.Join(out, "summary.json"), map[string]any{
		"status": "findings",
		"counts": map[string]int64{"rows_in_files": rows, "rows_scanned": rows, "rows_flagged": flagged},
	})
}

// fakeAudit stands in for `corpus-audit run`: it writes the DuckDB audit's
// findings (minus one row with mode "drop") and a summary.
func fakeAudit(mode string, args []string) int {
	if len(args) > 0 && args[0] == "version" {
		fmt.Println("corpus-audit fake")
		return 0
	}
	var in AuditInputs
	for i := 1; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--corpus":
			in.Corpus = args[i+1]
		case "--ages":
			in.Ages = args[i+1]
		case "--objections":
			in.Objections = args[i+1]
		case "--links":
			in.Links = args[i+1]
		case "--out":
			in.Out = args[i+1]
		}
	}
	out := in.Out
	if err := os.MkdirAll(filepath.Join(out, "findings"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	in.Out = filepath.Join(out, "all.parquet")
	in.Snapshot = "2026-06-01"
	in.SnapshotAt = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := duckdbAudit(context.Background(), in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return 2
	}
	defer db.Close()
	where := ""
	if mode == "drop" {
		where = " WHERE content_id <> (SELECT max(content_id) FROM read_parquet(" + sqlString(in.Out) + "))"
	}
	if _, err := db.Exec("COPY (SELECT * FROM read_parquet(" + sqlString(in.Out) + ")" + where + ") TO " +
		sqlString(filepath.Join(out, "findings", "part-00000.parquet")) + " (FORMAT parquet)"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var rows, flagged int64
	if err := db.QueryRow("SELECT (SELECT count(*) FROM read_parquet("+sqlString(filepath.Join(in.Corpus, "**", "*.parquet"))+")), (SELECT count(*) FROM read_parquet("+
		sqlString(filepath.Join(out, "findings", "*.parquet"))+"))").Scan(&rows, &flagged); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := writeFakeSummary(out, rows, flagged); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 1
}

// TestBenchEndToEnd runs the whole harness on a tiny lake with a stand-in
// corpus-audit: agreeing findings pass and give figures and ratios; one
// dropped finding fails the bench with exit 1 and an example.
func TestBenchEndToEnd(t *testing.T) {
	needLakegen(t)
	cache := t.TempDir()
	tests := []struct {
		mode     string
		wantCode int
		wantOK   bool
	}{{"same", 0, true}, {"drop", 1, false}}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Setenv(fakeAuditEnv, tt.mode)
			results := filepath.Join(t.TempDir(), "r.json")
			var stdout, stderr bytes.Buffer
			code := benchMain([]string{"-rows", "20000", "-files", "2", "-accounts", "2000", "-links", "800", "-objections", "200", "-truth",
				"-runs", "2", "-lakegen", lakegenBin, "-corpus-audit", os.Args[0], "-cache", cache, "-results", results}, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			var res Results
			b, err := os.ReadFile(results)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			if res.OK != tt.wantOK || res.Machine.NProc < 1 || res.Lake.Params.Rows != 20000 {
				t.Fatalf("results: ok %v, machine %+v, lake %+v", res.OK, res.Machine, res.Lake)
			}
			if !tt.wantOK {
				if !strings.Contains(stdout.String(), "MISMATCH") || !strings.Contains(stdout.String(), "only in corpus-audit") && !strings.Contains(stdout.String(), "only in duckdb") {
					t.Fatalf("mismatch not shown with examples:\n%s", stdout.String())
				}
				return
			}
			if len(res.Runs) != 4 || res.Ratios == nil || res.Ratios.Wall <= 0 || res.Ratios.MaxRSS <= 0 {
				t.Fatalf("runs %d, ratios %+v", len(res.Runs), res.Ratios)
			}
			for _, r := range res.Runs {
				if r.MaxRSSKiB <= 0 || r.WallSeconds <= 0 || r.Findings == 0 || r.RowsPerSec <= 0 {
					t.Fatalf("run %+v", r)
				}
			}
			if res.Runs[0].Tool != toolAudit || res.Runs[1].Tool != toolDuckDB || res.Runs[2].Tool != toolAudit {
				t.Fatalf("runs do not alternate: %v %v %v", res.Runs[0].Tool, res.Runs[1].Tool, res.Runs[2].Tool)
			}
			for _, s := range []string{"machine:", "lake:", "corpus-audit / DuckDB (medians)", "check corpus-audit vs truth: SAME", "check duckdb vs truth: SAME"} {
				if !strings.Contains(stdout.String(), s) {
					t.Fatalf("output lacks %q:\n%s", s, stdout.String())
				}
			}
		})
	}
}

// TestBenchWithRealAudit runs the harness once with bin/corpus-audit on a
// tiny lake, when it has been built.
func TestBenchWithRealAudit(t *testing.T) {
	needLakegen(t)
	if !exists("../bin/corpus-audit") {
		t.Skip("../bin/corpus-audit is missing: build it (`make build`) to cross-check it against DuckDB here")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	var stdout, stderr bytes.Buffer
	code := benchMain([]string{"-rows", "40000", "-files", "4", "-accounts", "3000", "-links", "1500", "-objections", "400", "-truth",
		"-runs", "1", "-lakegen", lakegenBin, "-corpus-audit", "../bin/corpus-audit", "-cache", t.TempDir(), "-results", "-"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}

// TestFlags: bad flags are refused; sizes are flags.
func TestFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-runs", "0"}, false},
		{[]string{"-only", "spark"}, false},
		{[]string{"extra"}, false},
		{[]string{"-duckdb-objected", "hash-join"}, false},
		{[]string{"-duckdb-objected", "left-join", "-rows", "100000000", "-accounts", "400000000"}, true},
		{[]string{"-duckdb-objected", "left-join", "-only", "corpus-audit"}, false},
		{[]string{"-only", "duckdb", "-rows", "100000000", "-accounts", "400000000"}, true},
	} {
		c, err := parseFlags(tt.args, &bytes.Buffer{})
		if (err == nil) != tt.ok {
			t.Errorf("parseFlags(%q): err %v, want ok %v", tt.args, err, tt.ok)
		}
		if tt.ok && (c.Lake.Rows != 100_000_000 || c.Lake.Accounts != 400_000_000 || c.Lake.Files != 10) {
			t.Errorf("parseFlags(%q): lake %+v", tt.args, c.Lake)
		}
	}
}

// TestResultsDefault: a bench against the left-join form does not
// overwrite the baseline's results file unless told to.
func TestResultsDefault(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "latest.json"},
		{[]string{"-duckdb-objected", "left-join"}, "duckdb-left-join.json"},
		{[]string{"-duckdb-objected", "left-join", "-results", "x.json"}, "x.json"},
	} {
		c, err := parseFlags(tt.args, &bytes.Buffer{})
		if err != nil || filepath.Base(c.Results) != tt.want {
			t.Errorf("parseFlags(%q): results %q, err %v; want %s", tt.args, c.Results, err, tt.want)
		}
	}
}

// TestAuditSQLObjectedForm: an unknown form of the objected test is
// refused, not silently run as the default.
func TestAuditSQLObjectedForm(t *testing.T) {
	dir := t.TempDir()
	in := AuditInputs{Corpus: dir, Ages: dir + "/a.csv", Objections: dir + "/o.csv", Links: dir + "/l.csv", Out: dir + "/out.parquet"}
	for _, f := range []string{in.Ages, in.Objections, in.Links} {
		if err := os.WriteFile(f, []byte("account_id\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for form, want := range map[string]string{
		"":               "c.author_id IN (SELECT account_id FROM objected)",
		ObjectedSemiJoin: "c.author_id IN (SELECT account_id FROM objected)",
		ObjectedLeftJoin: "LEFT JOIN objected o ON o.account_id = c.author_id",
	} {
		in.Objected = form
		q, err := AuditSQL(in)
		if err != nil || !strings.Contains(q, want) {
			t.Errorf("objected %q: err %v, query without %q", form, err, want)
		}
	}
	in.Objected = "hash-join"
	if _, err := AuditSQL(in); err == nil {
		t.Error("objected \"hash-join\": no error")
	}
}
