package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/schema"
)

// TestExplainManyRowGroups finds rows in files of many row groups, by
// content_id and by file and row, and re-reads them.
func TestExplainManyRowGroups(t *testing.T) {
	res, out, _, _ := auditWithReports(t, func(o *lakegen.Options) { o.RowGroupRows = 97 })
	fs := readFindings(t, out)
	// Findings in late row groups of every file.
	var picks []schema.Finding
	seen := map[string]bool{}
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		if f.RowGroup >= 5 && f.ContentID != nil && !seen[f.SourceFile] {
			seen[f.SourceFile] = true
			picks = append(picks, f)
		}
	}
	if len(picks) < 2 {
		t.Fatalf("only %d findings in row groups >= 5", len(picks))
	}
	ctx := context.Background()
	for _, f := range picks {
		base := filepath.Base(filepath.Dir(f.SourceFile)) + "/" + filepath.Base(f.SourceFile) // platform=x/part-N.parquet
		for _, o := range []ExplainOptions{
			{Out: out, ContentID: *f.ContentID},
			{Out: out, File: f.SourceFile, Row: f.RowInFile},
			{Out: out, File: base, Row: f.RowInFile},
		} {
			r, err := Explain(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if r.ExitCode() != ExplainOK || len(r.Explanations) != 1 {
				t.Fatalf("explain %+v: exit %d, %d explanations: %+v", o, r.ExitCode(), len(r.Explanations), r.Explanations)
			}
			e := r.Explanations[0]
			if e.Source == nil || e.Source.RowGroup != int(f.RowGroup) || *e.Source.ContentID != *f.ContentID || len(e.Differences) != 0 {
				t.Errorf("explain %s: source %+v, differences %v", *f.ContentID, e.Source, e.Differences)
			}
			if e.Source.RowGroups < 10 {
				t.Errorf("file has %d row groups; the test wants many", e.Source.RowGroups)
			}
			var b bytes.Buffer
			if err := WriteExplanation(&b, r); err != nil {
				t.Fatal(err)
			}
			text := b.String()
			for _, w := range []string{"matches the finding", "Why", "content_id     \"" + *f.ContentID + "\"", "row group " + itoa(int64(f.RowGroup))} {
				if !strings.Contains(text, w) {
					t.Errorf("explanation lacks %q:\n%s", w, text)
				}
			}
			for _, c := range f.Categories {
				if !strings.Contains(text, string(c)+":") {
					t.Errorf("explanation does not say why %s:\n%s", c, text)
				}
			}
		}
	}

	// Not found.
	r, err := Explain(ctx, ExplainOptions{Out: out, ContentID: "no-such-id"})
	if err != nil || r.ExitCode() != ExplainNotFound {
		t.Errorf("unknown content_id: exit %v, %v", r, err)
	}
	// A row that was not flagged: shown, exit "not found".
	flagged := map[int64]bool{}
	for _, f := range fs {
		if f.SourceFile == picks[0].SourceFile {
			flagged[f.RowInFile] = true
		}
	}
	clean := int64(0)
	for flagged[clean] {
		clean++
	}
	r, err = Explain(ctx, ExplainOptions{Out: out, File: picks[0].SourceFile, Row: clean})
	if err != nil || r.ExitCode() != ExplainNotFound || len(r.Explanations) != 1 || r.Explanations[0].Source == nil {
		t.Errorf("clean row: %+v, %v", r, err)
	}

	// Usage errors.
	for _, o := range []ExplainOptions{
		{Out: out},
		{Out: out, ContentID: "x", File: "y", Row: 1},
		{Out: out, File: "y", Row: -1},
	} {
		if _, err := Explain(ctx, o); !errors.Is(err, ErrUsage) {
			t.Errorf("explain %+v: %v, want a usage error", o, err)
		}
	}

	// The corpus changes: a file is replaced by another lake's file of the
	// same name. The row no longer matches its finding.
	other := genLake(t, func(o *lakegen.Options) { o.Seed = 77; o.RowGroupRows = 97 })
	rel, err := filepath.Rel(res.Out, picks[0].SourceFile)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(other.Out, rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(picks[0].SourceFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = Explain(ctx, ExplainOptions{Out: out, ContentID: *picks[0].ContentID})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode() != ExplainChanged || len(r.Explanations[0].Differences) == 0 {
		t.Errorf("changed corpus: exit %d, differences %v", r.ExitCode(), r.Explanations[0].Differences)
	}
	var b bytes.Buffer
	WriteExplanation(&b, r)
	if !strings.Contains(b.String(), "DOES NOT MATCH") {
		t.Errorf("explanation of a changed row:\n%s", b.String())
	}
	// The file removed: the row cannot be read.
	os.Remove(picks[0].SourceFile)
	r, err = Explain(ctx, ExplainOptions{Out: out, ContentID: *picks[0].ContentID})
	if err != nil || r.ExitCode() != ExplainChanged || r.Explanations[0].SourceErr == "" {
		t.Errorf("removed corpus file: %+v, %v", r, err)
	}
}

func itoa(n int64) string { return strings.TrimSpace(strings.ReplaceAll(fmtThousands(n), ",", "")) }

// TestDiffSeeds audits two lakes of different seeds and checks the diff
// against the generator's ground truth of each.
func TestDiffSeeds(t *testing.T) {
	ctx := context.Background()
	var outs []string
	var truths []map[string][]schema.Category
	for _, seed := range []int64{1, 2} {
		res := genLake(t, func(o *lakegen.Options) { o.Seed = seed })
		out := t.TempDir()
		if _, err := Run(ctx, runOpts(res, out)); err != nil {
			t.Fatal(err)
		}
		truth, err := lakegen.ReadTruth(filepath.Join(res.Out, res.TruthCSV))
		if err != nil {
			t.Fatal(err)
		}
		outs, truths = append(outs, out), append(truths, truth)
	}
	d, err := DiffRunsOf(ctx, DiffOptions{Old: outs[0], New: outs[1]})
	if err != nil {
		t.Fatal(err)
	}
	old, cur := truths[0], truths[1]
	want := map[string]map[string][]schema.Category{"new": {}, "resolved": {}, "persisting": {}}
	for id, cats := range cur {
		if _, ok := old[id]; ok {
			want["persisting"][id] = cats
		} else {
			want["new"][id] = cats
		}
	}
	for id, cats := range old {
		if _, ok := cur[id]; !ok {
			want["resolved"][id] = cats
		}
	}
	for name, set := range map[string]DiffSet{"new": d.New, "resolved": d.Resolved, "persisting": d.Persisting} {
		w := want[name]
		if int(set.Rows) != len(w) || len(set.Findings) != len(w) {
			t.Errorf("%s: %d rows, truth %d", name, set.Rows, len(w))
		}
		byCat := map[schema.Category]int64{}
		for _, cats := range w {
			for _, c := range cats {
				byCat[c]++
			}
		}
		for _, c := range schema.Categories {
			if set.ByCategory[c] != byCat[c] {
				t.Errorf("%s %s: %d, truth %d", name, c, set.ByCategory[c], byCat[c])
			}
		}
		for _, it := range set.Findings {
			if it.ContentID == nil || w[*it.ContentID] == nil {
				t.Errorf("%s lists %s, not in the truth", name, it.Key)
				continue
			}
			if catString(it.Categories) != catString(w[*it.ContentID]) {
				t.Errorf("%s %s: categories %v, truth %v", name, *it.ContentID, it.Categories, w[*it.ContentID])
			}
		}
	}
	if len(want["new"]) == 0 || len(want["resolved"]) == 0 || len(want["persisting"]) == 0 {
		t.Fatalf("the two lakes do not exercise every side: %d new, %d resolved, %d persisting", len(want["new"]), len(want["resolved"]), len(want["persisting"]))
	}
	changed := 0
	for _, it := range d.Persisting.Findings {
		if it.OldCategories != nil {
			changed++
			if catString(it.OldCategories) != catString(old[*it.ContentID]) {
				t.Errorf("persisting %s: old categories %v, truth %v", *it.ContentID, it.OldCategories, old[*it.ContentID])
			}
		}
	}

	// JSON: an object with the keys new, resolved and persisting.
	var b bytes.Buffer
	if err := WriteDiffJSON(&b, d); err != nil {
		t.Fatal(err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &obj); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"new", "resolved", "persisting"} {
		var s struct {
			Rows     int64             `json:"rows"`
			Findings []json.RawMessage `json:"findings"`
		}
		if err := json.Unmarshal(obj[k], &s); err != nil || int(s.Rows) != len(want[k]) || len(s.Findings) != len(want[k]) {
			t.Errorf("JSON %s: %d rows, %d findings, %v; want %d", k, s.Rows, len(s.Findings), err, len(want[k]))
		}
	}
	// Text: the counts per category.
	b.Reset()
	if err := WriteDiffText(&b, d, 3); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, w := range []string{"new  resolved  persisting", "New (" + itoa(d.New.Rows) + "):", "Resolved (" + itoa(d.Resolved.Rows) + "):", "more (--limit 0 lists all"} {
		if !strings.Contains(text, w) {
			t.Errorf("text diff lacks %q:\n%s", w, text)
		}
	}
	if changed > 0 && !strings.Contains(text, "Persisting, categories changed ("+itoa(int64(changed))+")") {
		t.Errorf("text diff does not list the %d changed findings", changed)
	}

	// A run against itself: everything persists.
	same, err := DiffRunsOf(ctx, DiffOptions{Old: outs[0], New: outs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if same.New.Rows != 0 || same.Resolved.Rows != 0 || same.Persisting.Rows != int64(len(old)) {
		t.Errorf("self diff: %d new, %d resolved, %d persisting", same.New.Rows, same.Resolved.Rows, same.Persisting.Rows)
	}
}

func TestDiffRefusesIncomplete(t *testing.T) {
	res := genLake(t, nil)
	good, bad := t.TempDir(), t.TempDir()
	ctx := context.Background()
	if _, err := Run(ctx, runOpts(res, good)); err != nil {
		t.Fatal(err)
	}
	o := runOpts(res, bad)
	o.Ages = filepath.Join(res.Out, "missing")
	Run(ctx, o)
	for _, pair := range [][2]string{{good, bad}, {bad, good}} {
		_, err := DiffRunsOf(ctx, DiffOptions{Old: pair[0], New: pair[1]})
		if err == nil || !strings.Contains(err.Error(), "incomplete") || !strings.Contains(err.Error(), bad) {
			t.Errorf("diff with an incomplete run: %v", err)
		}
	}
	if _, err := DiffRunsOf(ctx, DiffOptions{Old: good, New: filepath.Join(good, "nothing-here")}); err == nil {
		t.Error("diff with a folder that holds no run succeeded")
	}
}

func TestSnapshotRel(t *testing.T) {
	tests := map[string]string{
		"lake/corpus/snapshot=2026-06-01/platform=x/part-1.parquet":      "platform=x/part-1.parquet",
		"s3://b/corpus/snapshot=2026-06-02/part-1.parquet":               "part-1.parquet",
		"plain/part-1.parquet":                                           "plain/part-1.parquet",
		"lake/snapshot=2026-06-01T12%3A00%3A00Z/platform=y/part.parquet": "platform=y/part.parquet",
	}
	for in, want := range tests {
		if got := snapshotRel(in); got != want {
			t.Errorf("snapshotRel(%s) = %s, want %s", in, got, want)
		}
	}
}
