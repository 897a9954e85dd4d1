package jobs

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/schema"
)

// The committed fixtures (see testdata/README.md), relative to this
// package's folder.
const (
	goldenDir = "../testdata/golden"
	duckdbDir = "../testdata/duckdb"
)

// fixtureOpts are the run options over a committed fixture lake; the
// output goes to a temporary folder.
func fixtureOpts(t *testing.T, corpus, ages, objections, links string) RunOptions {
	return RunOptions{
		Corpus:     corpus,
		Ages:       ages,
		Objections: objections,
		Links:      links,
		Out:        t.TempDir(),
		Workers:    2,
		Now:        func() time.Time { return time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC) },
	}
}

// fixtureFiles lists the files under dir with their sizes, to check that an
// audit leaves a committed fixture untouched.
func fixtureFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedSummary is testdata/golden/expected-summary.json: the counts
// copied from lakegen's truth JSON.
type expectedSummary struct {
	Snapshot   string                               `json:"snapshot"`
	Rows       int64                                `json:"rows"`
	Flagged    int64                                `json:"flagged"`
	Clean      int64                                `json:"clean"`
	ByCategory map[schema.Category]int64            `json:"by_category"`
	ByPlatform map[string]map[schema.Category]int64 `json:"by_platform"`
}

// TestGoldenTestdata audits the committed lakegen lake (testdata/golden) and
// checks the findings against its committed truth CSV, row for row, and the
// counts against expected-summary.json.
func TestGoldenTestdata(t *testing.T) {
	snap := "2026-06-01"
	truthCSV, truthJSON := lakegen.TruthFiles(snap)
	var exp expectedSummary
	data, err := os.ReadFile(filepath.Join(goldenDir, "expected-summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatal(err)
	}
	if exp.Rows == 0 || exp.Flagged == 0 || len(exp.ByCategory) != len(schema.Categories) {
		t.Fatalf("expected-summary.json is not filled in: %+v", exp)
	}
	// expected-summary.json is a copy of the truth JSON's counts.
	var truthCounts expectedSummary
	data, err = os.ReadFile(filepath.Join(goldenDir, truthJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &truthCounts); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(exp, truthCounts) {
		t.Fatalf("expected-summary.json and %s disagree:\n%+v\n%+v", truthJSON, exp, truthCounts)
	}
	truth, err := lakegen.ReadTruth(filepath.Join(goldenDir, truthCSV))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(truth)) != exp.Flagged {
		t.Fatalf("truth CSV has %d rows, expected-summary.json says %d flagged", len(truth), exp.Flagged)
	}

	before := fixtureFiles(t, goldenDir)
	o := fixtureOpts(t, filepath.Join(goldenDir, lakegen.CorpusDir(snap)),
		filepath.Join(goldenDir, "tables", "ages"),
		filepath.Join(goldenDir, "tables", "objections"),
		filepath.Join(goldenDir, "tables", "links"))
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(before, fixtureFiles(t, goldenDir)) {
		t.Errorf("the audit changed the files of %s", goldenDir)
	}
	if sum.Status != schema.StatusFindings || sum.Status.ExitCode() != schema.ExitFindings {
		t.Fatalf("status %s (exit %d), want findings (exit 1)", sum.Status, sum.Status.ExitCode())
	}
	if sum.Snapshot != exp.Snapshot || !sum.SnapshotAt.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("snapshot %q at %s", sum.Snapshot, sum.SnapshotAt)
	}

	got := map[string]string{}
	for _, f := range readFindings(t, o.Out) {
		if f.ContentID == nil {
			t.Fatalf("finding without content_id at %s row %d", f.SourceFile, f.RowInFile)
		}
		if _, dup := got[*f.ContentID]; dup {
			t.Fatalf("content_id %s flagged twice", *f.ContentID)
		}
		got[*f.ContentID] = catString(f.Categories)
	}
	for _, id := range slices.Sorted(maps.Keys(truth)) {
		if want := catString(truth[id]); got[id] != want {
			t.Errorf("content_id %s: got [%s], truth [%s]", id, got[id], want)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		if _, ok := truth[id]; !ok {
			t.Errorf("content_id %s: flagged [%s], truth says clean", id, got[id])
		}
	}

	c := sum.Counts
	if c.FilesScanned != 2 || c.RowsInFiles != exp.Rows || c.RowsScanned != exp.Rows ||
		c.RowsFlagged != exp.Flagged || c.RowsClean != exp.Clean {
		t.Errorf("counts: files %d, rows in files %d, scanned %d, flagged %d, clean %d; want 2 files, %d rows, %d flagged, %d clean",
			c.FilesScanned, c.RowsInFiles, c.RowsScanned, c.RowsFlagged, c.RowsClean, exp.Rows, exp.Flagged, exp.Clean)
	}
	if !maps.Equal(c.ByCategory, exp.ByCategory) {
		t.Errorf("by_category %v, want %v", c.ByCategory, exp.ByCategory)
	}
	if !maps.EqualFunc(c.ByPlatform, exp.ByPlatform, maps.Equal) {
		t.Errorf("by_platform %v, want %v", c.ByPlatform, exp.ByPlatform)
	}
	if s := readSummary(t, o.Out); s.Status != schema.StatusFindings || s.Counts.RowsFlagged != exp.Flagged {
		t.Errorf("summary.json: status %s, flagged %d", s.Status, s.Counts.RowsFlagged)
	}
}

// readExpectedCSV reads testdata/duckdb/expected.csv: a header, then
// content_id,categories per flagged row in corpus order (an empty
// content_id is a null one).
func readExpectedCSV(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) < 2 || strings.Join(recs[0], ",") != "content_id,categories" {
		t.Fatalf("%s: want the header content_id,categories and rows", path)
	}
	var out [][2]string
	for i, r := range recs[1:] {
		if len(r) != 2 || r[1] == "" {
			t.Fatalf("%s line %d: %q", path, i+2, r)
		}
		cats := strings.Split(r[1], "|")
		for _, c := range cats {
			if !slices.Contains(schema.Categories, schema.Category(c)) {
				t.Fatalf("%s line %d: unknown category %q", path, i+2, c)
			}
		}
		if !slices.IsSorted(cats) {
			t.Fatalf("%s line %d: categories not sorted: %s", path, i+2, r[1])
		}
		out = append(out, [2]string{r[0], r[1]})
	}
	return out
}

// day is a date as days since 1970-01-01; micros an instant as microseconds
// since the epoch (UTC).
func day(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func micros(y int, m time.Month, d, hh, mm, ss, us int) int64 {
	return time.Date(y, m, d, hh, mm, ss, us*1000, time.UTC).UnixMicro()
}

// TestDuckDBWrittenLake audits testdata/duckdb, a lake written entirely by
// DuckDB with hand-designed rows (see testdata/duckdb/README.md), and checks
// the findings against the hand-written expected.csv, in order, and the
// evidence and location columns of chosen rows.
func TestDuckDBWrittenLake(t *testing.T) {
	want := readExpectedCSV(t, filepath.Join(duckdbDir, "expected.csv"))
	corpus := filepath.Join(duckdbDir, "corpus", "snapshot=2026-06-01")
	before := fixtureFiles(t, duckdbDir)
	o := fixtureOpts(t, corpus,
		filepath.Join(duckdbDir, "tables", "ages.parquet"),
		filepath.Join(duckdbDir, "tables", "objections.parquet"),
		filepath.Join(duckdbDir, "tables", "links.parquet"))
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(before, fixtureFiles(t, duckdbDir)) {
		t.Errorf("the audit changed the files of %s", duckdbDir)
	}
	if sum.Status != schema.StatusFindings || sum.Status.ExitCode() != schema.ExitFindings {
		t.Fatalf("status %s (exit %d, error %q), want findings (exit 1)", sum.Status, sum.Status.ExitCode(), sum.Error)
	}
	if s := readSummary(t, o.Out); s.Status != schema.StatusFindings {
		t.Errorf("summary.json status %s", s.Status)
	}

	// Findings, in corpus order, against expected.csv.
	fs := readFindings(t, o.Out)
	var got [][2]string
	byID := map[string]schema.Finding{}
	for _, f := range fs {
		id := ""
		if f.ContentID != nil {
			id = *f.ContentID
		}
		got = append(got, [2]string{id, catString(f.Categories)})
		byID[id] = f
	}
	if !slices.Equal(got, want) {
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("audit flagged content_id %q [%s]; not in expected.csv", g[0], g[1])
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("expected.csv has content_id %q [%s]; not in the findings", w[0], w[1])
			}
		}
		t.Fatalf("findings differ from expected.csv (or are out of corpus order):\ngot  %q\nwant %q", got, want)
	}

	// Counts, hand-counted in testdata/duckdb/README.md.
	c := sum.Counts
	if c.FilesScanned != 2 || c.RowsInFiles != 39 || c.RowsScanned != 39 || c.RowsFlagged != 27 || c.RowsClean != 12 {
		t.Errorf("counts: files %d, rows in files %d, scanned %d, flagged %d, clean %d; want 2, 39, 39, 27, 12",
			c.FilesScanned, c.RowsInFiles, c.RowsScanned, c.RowsFlagged, c.RowsClean)
	}
	wantCat := map[schema.Category]int64{schema.AgeUnknown: 3, schema.Minor: 7, schema.Objected: 10, schema.Private: 10, schema.Unauditable: 6}
	if !maps.Equal(c.ByCategory, wantCat) {
		t.Errorf("by_category %v, want %v", c.ByCategory, wantCat)
	}
	wantPlat := map[string]map[schema.Category]int64{
		"facebook":  {schema.AgeUnknown: 2, schema.Minor: 4, schema.Objected: 1, schema.Private: 4, schema.Unauditable: 3},
		"instagram": {schema.AgeUnknown: 1, schema.Minor: 3, schema.Objected: 9, schema.Private: 5, schema.Unauditable: 3},
		"":          {schema.Private: 1},
	}
	for p, m := range wantPlat {
		for cat, n := range m {
			if c.ByPlatform[p][cat] != n {
				t.Errorf("by_platform[%q][%s] = %d, want %d", p, cat, c.ByPlatform[p][cat], n)
			}
		}
	}
	if len(c.Files) != 2 || c.Files[0].RowGroups != 3 || c.Files[0].RowsInFooter != 21 || c.Files[1].RowsInFooter != 18 {
		t.Errorf("file coverage %+v, want facebook (3 row groups, 21 rows) then instagram (18 rows)", c.Files)
	}

	// Evidence and location of chosen rows.
	p := func(v int64) *int64 { return &v }
	type ev struct {
		birth        int32 // 0: null
		objector     *int64
		objectedAt   int64 // 0: null
		centre       *int64
		rowGroup     int32
		rowInFile    int64
		file         string
		createdAt    int64 // 0: do not check
		nullPlatform bool
	}
	const fb, ig = "platform=facebook/part-0.parquet", "platform=instagram/part-0.parquet"
	cases := map[string]ev{
		"fb-02": {birth: day(2008, 2, 29), rowGroup: 0, rowInFile: 1, file: fb, createdAt: micros(2026, 2, 28, 23, 59, 59, 999999)},
		"fb-05": {birth: day(2008, 5, 20), rowGroup: 0, rowInFile: 4, file: fb},
		"fb-06": {birth: day(2009, 1, 1), rowGroup: 0, rowInFile: 5, file: fb},
		"fb-20": {birth: day(2012, 7, 1), rowGroup: 2, rowInFile: 19, file: fb},
		"ig-11": {birth: day(2008, 5, 20), rowInFile: 10, file: ig, createdAt: micros(2026, 5, 19, 23, 59, 59, 999999)},
		"ig-12": {birth: day(2009, 1, 1), rowInFile: 11, file: ig},
		"ig-14": {birth: day(2010, 1, 1), objector: p(5001), objectedAt: micros(2026, 2, 1, 0, 0, 0, 0), rowInFile: 13, file: ig},
		// Objected through a chain of two centres; 3003's smallest centre is 899.
		"fb-16": {objector: p(3001), objectedAt: micros(2025, 12, 1, 0, 0, 0, 0), centre: p(899), rowGroup: 1, rowInFile: 15, file: fb,
			createdAt: micros(2026, 5, 5, 15, 0, 0, 0)},
		"ig-06": {objector: p(3001), objectedAt: micros(2025, 12, 1, 0, 0, 0, 0), centre: p(899), rowInFile: 5, file: ig},
		// Self-objections: the author, its earliest effective objection, no centre.
		"ig-01": {objector: p(2001), objectedAt: micros(2026, 1, 1, 0, 0, 0, 0), rowInFile: 0, file: ig},
		"ig-02": {objector: p(2002), objectedAt: micros(2026, 6, 1, 0, 0, 0, 0), rowInFile: 1, file: ig},
		"ig-09": {objector: p(4002), objectedAt: micros(2026, 2, 15, 0, 0, 0, 0), rowInFile: 8, file: ig},
		"":      {rowGroup: 2, rowInFile: 18, file: fb, nullPlatform: true},
		"fb-21": {rowGroup: 2, rowInFile: 20, file: fb},
	}
	for id, w := range cases {
		f, ok := byID[id]
		if !ok {
			t.Errorf("content_id %q: no finding", id)
			continue
		}
		gotBirth := int32(0)
		if f.BirthDate != nil {
			gotBirth = *f.BirthDate
		}
		if gotBirth != w.birth || (w.birth == 0) != (f.BirthDate == nil) {
			t.Errorf("%q: birth_date %v, want %d", id, f.BirthDate, w.birth)
		}
		if !equalPtr(f.ObjectionAccountID, w.objector) {
			t.Errorf("%q: objection_account_id %v, want %v", id, nullable(f.ObjectionAccountID), nullable(w.objector))
		}
		if (w.objectedAt == 0) != (f.ObjectedAt == nil) || (f.ObjectedAt != nil && *f.ObjectedAt != w.objectedAt) {
			t.Errorf("%q: objected_at %v, want %d", id, nullable(f.ObjectedAt), w.objectedAt)
		}
		if !equalPtr(f.AccountsCenterID, w.centre) {
			t.Errorf("%q: accounts_center_id %v, want %v", id, nullable(f.AccountsCenterID), nullable(w.centre))
		}
		if f.RowGroup != w.rowGroup || f.RowInFile != w.rowInFile || !strings.HasSuffix(filepath.ToSlash(f.SourceFile), w.file) {
			t.Errorf("%q: at %s row group %d row %d, want %s row group %d row %d", id, f.SourceFile, f.RowGroup, f.RowInFile, w.file, w.rowGroup, w.rowInFile)
		}
		if w.createdAt != 0 && (f.CreatedAt == nil || *f.CreatedAt != w.createdAt) {
			t.Errorf("%q: created_at %v, want %d", id, nullable(f.CreatedAt), w.createdAt)
		}
		if w.nullPlatform != (f.Platform == nil) || f.Snapshot != "2026-06-01" {
			t.Errorf("%q: platform %v snapshot %q", id, f.Platform, f.Snapshot)
		}
	}
	// Evidence only where its category applies.
	for _, f := range fs {
		has := func(c schema.Category) bool { return slices.Contains(f.Categories, c) }
		id := nullable(f.ContentID)
		if has(schema.Minor) != (f.BirthDate != nil) {
			t.Errorf("%s: minor=%v, birth_date %v", id, has(schema.Minor), f.BirthDate)
		}
		if has(schema.Objected) != (f.ObjectionAccountID != nil && f.ObjectedAt != nil) {
			t.Errorf("%s: objected=%v, evidence %v %v", id, has(schema.Objected), f.ObjectionAccountID, f.ObjectedAt)
		}
	}
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// nullable renders a nullable value for messages.
func nullable[T any](p *T) any {
	if p == nil {
		return "null"
	}
	return *p
}
