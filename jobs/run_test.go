package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// genLake writes a lake with lakegen into a temporary folder.
func genLake(t *testing.T, mod func(*lakegen.Options)) *lakegen.Result {
	t.Helper()
	o := lakegen.DefaultOptions()
	o.Rows, o.Files, o.Accounts = 3000, 3, 600
	if mod != nil {
		mod(&o)
	}
	res, err := lakegen.Generate(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tablePath(res *lakegen.Result, name string) string {
	return filepath.Join(res.Out, "tables", name)
}

func runOpts(res *lakegen.Result, out string) RunOptions {
	return RunOptions{
		Corpus:     filepath.Join(res.Out, lakegen.CorpusDir(res.Options.Snapshot)),
		Ages:       tablePath(res, "ages"),
		Objections: tablePath(res, "objections"),
		Links:      tablePath(res, "links"),
		Out:        out,
		Workers:    2,
		Now:        func() time.Time { return time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC) },
	}
}

func readFindings(t *testing.T, out string) []schema.Finding {
	t.Helper()
	fs, err := findings.Read(context.Background(), lake.NewLocal(out), schema.FindingsDir)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func readSummary(t *testing.T, out string) schema.Summary {
	t.Helper()
	s, err := report.ReadSummary(context.Background(), lake.NewLocal(out), schema.SummaryFile)
	if err != nil {
		t.Fatal(err)
	}
	return *s
}

func catString(c []schema.Category) string {
	parts := make([]string, len(c))
	for i, x := range c {
		parts[i] = string(x)
	}
	return strings.Join(parts, "|")
}

// TestRunMatchesTruth audits lakes of every shape the generator makes and
// checks the findings against its independent ground truth, row by row.
func TestRunMatchesTruth(t *testing.T) {
	cases := map[string]func(*lakegen.Options){
		"default mixed writers":        nil,
		"csv tables, int ids, millis":  func(o *lakegen.Options) { o.TablesFormat = "csv"; o.ContentIDInt = true; o.Timestamp = "millis" },
		"int96, zstd, small groups":    func(o *lakegen.Options) { o.Timestamp = "int96"; o.Codec = "zstd"; o.RowGroupRows = 300 },
		"nanos, gzip, parquet-go only": func(o *lakegen.Options) { o.Timestamp = "nanos"; o.Codec = "gzip"; o.Writers = lakegen.WriterParquetGo },
		"arrow only, brotli":           func(o *lakegen.Options) { o.Writers = lakegen.WriterArrow; o.Codec = "brotli" },
		"lz4, uncompressed-ish":        func(o *lakegen.Options) { o.Codec = "lz4"; o.Seed = 7 },
		"no compression, seed 3":       func(o *lakegen.Options) { o.Codec = "none"; o.Seed = 3; o.Files = 5 },
		"sparse account ids":           func(o *lakegen.Options) { o.SparseIDs = true; o.Seed = 5 },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := genLake(t, mod)
			out := t.TempDir()
			sum, err := Run(context.Background(), runOpts(res, out))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Status != schema.StatusFindings || sum.Status.ExitCode() != 1 {
				t.Fatalf("status %s", sum.Status)
			}
			truth, err := lakegen.ReadTruth(filepath.Join(res.Out, res.TruthCSV))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range readFindings(t, out) {
				if f.ContentID == nil {
					t.Fatalf("finding without content_id at %s row %d", f.SourceFile, f.RowInFile)
				}
				if _, dup := got[*f.ContentID]; dup {
					t.Fatalf("content_id %s flagged twice", *f.ContentID)
				}
				got[*f.ContentID] = catString(f.Categories)
			}
			want := map[string]string{}
			for id, c := range truth {
				want[id] = catString(c)
			}
			diffs := 0
			for _, id := range slices.Sorted(maps.Keys(want)) {
				if got[id] != want[id] && diffs < 10 {
					t.Errorf("content_id %s: got [%s], want [%s]", id, got[id], want[id])
					diffs++
				}
			}
			for _, id := range slices.Sorted(maps.Keys(got)) {
				if _, ok := want[id]; !ok && diffs < 10 {
					t.Errorf("content_id %s: flagged [%s], truth says clean", id, got[id])
					diffs++
				}
			}
			c := sum.Counts
			if c.RowsScanned != res.Truth.Rows || c.RowsInFiles != res.Truth.Rows || c.RowsFlagged != res.Truth.Flagged || c.RowsClean != res.Truth.Clean {
				t.Errorf("counts %+v, truth rows %d flagged %d", c, res.Truth.Rows, res.Truth.Flagged)
			}
			if !maps.Equal(c.ByCategory, res.Truth.ByCategory) {
				t.Errorf("by category %v, truth %v", c.ByCategory, res.Truth.ByCategory)
			}
			for p, m := range res.Truth.ByPlatform {
				for cat, n := range m {
					if c.ByPlatform[p][cat] != n {
						t.Errorf("platform %s %s: %d, truth %d", p, cat, c.ByPlatform[p][cat], n)
					}
				}
			}
			if len(sum.Inputs) < res.Options.Files+3 {
				t.Errorf("inputs: %d", len(sum.Inputs))
			}
			for _, in := range sum.Inputs {
				if in.Role == schema.RoleCorpus && (in.SHA256 == "" || in.Rows == 0 || in.Size == 0) {
					t.Errorf("corpus input not described: %+v", in)
				}
			}
		})
	}
}

// TestRunEvidence checks the evidence and location columns on the planted
// edge rows.
func TestRunEvidence(t *testing.T) {
	res := genLake(t, nil)
	out := t.TempDir()
	if _, err := Run(context.Background(), runOpts(res, out)); err != nil {
		t.Fatal(err)
	}
	fs := readFindings(t, out)
	for _, f := range fs {
		has := func(c schema.Category) bool { return slices.Contains(f.Categories, c) }
		if has(schema.Minor) != (f.BirthDate != nil) {
			t.Errorf("%s: minor=%v but birth_date %v", *f.ContentID, has(schema.Minor), f.BirthDate)
		}
		if has(schema.Objected) != (f.ObjectionAccountID != nil && f.ObjectedAt != nil) {
			t.Errorf("%s: objected=%v but evidence %v %v", *f.ContentID, has(schema.Objected), f.ObjectionAccountID, f.ObjectedAt)
		}
		if f.AccountsCenterID != nil && (f.ObjectionAccountID == nil || f.AuthorID == nil || *f.ObjectionAccountID == *f.AuthorID) {
			t.Errorf("%s: accounts_center_id without an objection via a link", *f.ContentID)
		}
		if f.SourceFile == "" || f.RowInFile < 0 || f.Snapshot != res.Options.Snapshot {
			t.Errorf("%s: location %q row %d snapshot %q", *f.ContentID, f.SourceFile, f.RowInFile, f.Snapshot)
		}
		if has(schema.Unauditable) != (f.AuthorID == nil || f.CreatedAt == nil) {
			t.Errorf("%s: unauditable=%v with author %v created %v", *f.ContentID, has(schema.Unauditable), f.AuthorID, f.CreatedAt)
		}
	}
	// Findings come in file and row order.
	if !slices.IsSortedFunc(fs, func(a, b schema.Finding) int {
		if a.SourceFile != b.SourceFile {
			return strings.Compare(a.SourceFile, b.SourceFile)
		}
		return int(a.RowInFile - b.RowInFile)
	}) {
		t.Error("findings not in file and row order")
	}
}

func TestRunClean(t *testing.T) {
	res := genLake(t, func(o *lakegen.Options) { o.LeakRate = 0; o.NoEdges = true })
	out := t.TempDir()
	sum, err := Run(context.Background(), runOpts(res, out))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != schema.StatusClean || sum.Status.ExitCode() != 0 {
		t.Fatalf("status %s", sum.Status)
	}
	if sum.Counts.RowsClean != res.Truth.Rows || sum.Counts.RowsFlagged != 0 || len(sum.Outputs) != 0 {
		t.Errorf("counts %+v outputs %v", sum.Counts, sum.Outputs)
	}
	if got := readSummary(t, out); got.Status != schema.StatusClean {
		t.Errorf("summary.json status %s", got.Status)
	}
}

// TestRunDeterministic: the same inputs give byte-identical findings and
// summaries, apart from the run's own metadata.
func TestRunDeterministic(t *testing.T) {
	res := genLake(t, nil)
	outs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	for i, out := range outs {
		o := runOpts(res, out)
		o.Workers = i%2 + 1 // the worker count must not change the result
		if i == 2 {
			// Nor the slices row groups are judged in: 7 rows at a time,
			// so that a row group's findings, and its dictionaries'
			// entries, come from many slices.
			defer func(n int) { sliceRows = n }(sliceRows)
			sliceRows = 7
		}
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(outs); i++ {
		a, _ := os.ReadFile(filepath.Join(outs[0], schema.FindingsDir, findings.PartName(0)))
		b, _ := os.ReadFile(filepath.Join(outs[i], schema.FindingsDir, findings.PartName(0)))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("run %d: findings differ from run 0's (%d and %d bytes)", i, len(a), len(b))
		}
		sa, sb := readSummary(t, outs[0]), readSummary(t, outs[i])
		sa.Run, sb.Run = schema.RunInfo{}, schema.RunInfo{}
		ja, _ := json.Marshal(sa)
		jb, _ := json.Marshal(sb)
		if !bytes.Equal(ja, jb) {
			t.Errorf("run %d: summaries differ:\n%s\n%s", i, ja, jb)
		}
	}
}

// TestRunListsIgnoredFiles: visible files that are not Parquet are not
// audited, and the summary says which.
func TestRunListsIgnoredFiles(t *testing.T) {
	res := genLake(t, func(o *lakegen.Options) { o.Rows, o.Files = 400, 2 })
	o := runOpts(res, t.TempDir())
	for _, name := range []string{"README.txt", "platform=x/part-9.parq", ".hidden", "_committed_123"} {
		p := filepath.Join(o.Corpus, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(o.Corpus, "README.txt"), filepath.Join(o.Corpus, "platform=x", "part-9.parq")}
	if !slices.Equal(sum.IgnoredFiles, want) {
		t.Errorf("ignored files %q, want %q", sum.IgnoredFiles, want)
	}
	if sum.Counts.FilesScanned != 2 {
		t.Errorf("files scanned %d", sum.Counts.FilesScanned)
	}
}

// TestClearRemovesEarlierResult: what an earlier run left in --out (its
// summary, reports, manifest, findings) is gone before a new run starts, so
// a run killed mid-way leaves nothing that vouches for a result.
func TestClearRemovesEarlierResult(t *testing.T) {
	res := genLake(t, nil)
	out := t.TempDir()
	if _, err := Run(context.Background(), runOpts(res, out)); err != nil {
		t.Fatal(err)
	}
	before, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(before) < 5 {
		t.Fatalf("the first run wrote only %v", before)
	}
	loc, err := lake.Open(context.Background(), out, lake.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Clear(context.Background(), loc); err != nil {
		t.Fatal(err)
	}
	var left []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("left after Clear: %v", left)
	}
}
