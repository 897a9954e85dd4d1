package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// DiffOptions are the inputs of `corpus-audit diff`.
type DiffOptions struct {
	Old, New string // two runs' output folders, local or s3://
	S3       lake.S3Options
}

// Diff is what changed between two runs: findings new in the new run,
// resolved since the old one, and persisting in both. Findings are matched
// by content_id; rows without one by their file (relative to the snapshot
// folder) and row number. Several findings with one key are matched in
// order, the surplus counting as new or resolved.
type Diff struct {
	Runs       DiffRuns `json:"runs"`
	New        DiffSet  `json:"new"`
	Resolved   DiffSet  `json:"resolved"`
	Persisting DiffSet  `json:"persisting"`
	// Warnings: the runs applied different policies, or audited the same
	// snapshot, etc. The diff is still computed.
	Warnings []string `json:"warnings"`
}

// DiffRuns describes the two runs compared.
type DiffRuns struct {
	Old DiffRun `json:"old"`
	New DiffRun `json:"new"`
}

// DiffRun describes one run compared.
type DiffRun struct {
	Out         string        `json:"out"`
	Snapshot    string        `json:"snapshot"`
	Status      schema.Status `json:"status"`
	PolicyHash  string        `json:"policy_hash"`
	RowsScanned int64         `json:"rows_scanned"`
	RowsFlagged int64         `json:"rows_flagged"`
}

// DiffSet is one side of a diff: its rows, per category and listed.
type DiffSet struct {
	Rows int64 `json:"rows"`
	// ByCategory counts rows per category (every category present): for
	// new and persisting, the categories in the new run; for resolved, in
	// the old one.
	ByCategory map[schema.Category]int64 `json:"by_category"`
	Findings   []DiffItem                `json:"findings"`
}

// DiffItem is one finding of a diff, from the new run (new, persisting) or
// the old one (resolved).
type DiffItem struct {
	Key         string            `json:"key"`
	ContentID   *string           `json:"content_id"`
	AuthorID    *int64            `json:"author_id"`
	Platform    *string           `json:"platform"`
	ContentType *string           `json:"content_type"`
	Categories  []schema.Category `json:"categories"`
	// OldCategories is set for persisting findings whose categories changed.
	OldCategories []schema.Category `json:"old_categories,omitempty"`
	SourceFile    string            `json:"source_file"`
	RowGroup      int32             `json:"row_group"`
	RowInFile     int64             `json:"row_in_file"`
}

func newDiffSet() DiffSet {
	s := DiffSet{ByCategory: map[schema.Category]int64{}, Findings: []DiffItem{}}
	for _, c := range schema.Categories {
		s.ByCategory[c] = 0
	}
	return s
}

func (s *DiffSet) add(it DiffItem) {
	s.Rows++
	for _, c := range it.Categories {
		s.ByCategory[c]++
	}
	s.Findings = append(s.Findings, it)
}

// findingKey identifies a finding across runs.
func findingKey(f *schema.Finding) string {
	if f.ContentID != nil {
		return "content_id:" + *f.ContentID
	}
	return fmt.Sprintf("row:%s#%d", snapshotRel(f.SourceFile), f.RowInFile)
}

// snapshotRel strips a corpus file's path up to its snapshot=… element, so
// that the same file of two snapshots has the same name.
func snapshotRel(p string) string {
	parts := strings.Split(p, "/")
	for i, e := range parts {
		if strings.HasPrefix(e, "snapshot=") && i+1 < len(parts) {
			return strings.Join(parts[i+1:], "/")
		}
	}
	return p
}

func diffItem(f *schema.Finding) DiffItem {
	return DiffItem{
		Key: findingKey(f), ContentID: f.ContentID, AuthorID: f.AuthorID, Platform: f.Platform,
		ContentType: f.ContentType, Categories: f.Categories, SourceFile: f.SourceFile,
		RowGroup: f.RowGroup, RowInFile: f.RowInFile,
	}
}

// loadRun reads a complete run's summary and findings.
func loadRun(ctx context.Context, raw string, s3o lake.S3Options) (*schema.Summary, []schema.Finding, error) {
	loc, err := lake.Open(ctx, raw, s3o)
	if err != nil {
		return nil, nil, fmt.Errorf("run %s: %w", raw, err)
	}
	defer loc.Bucket.Close()
	sum, err := report.ReadSummary(ctx, loc.Bucket, loc.Join(schema.SummaryFile))
	if err != nil {
		return nil, nil, fmt.Errorf("run %s: %w", raw, err)
	}
	if sum.Status != schema.StatusClean && sum.Status != schema.StatusFindings {
		return nil, nil, fmt.Errorf("run %s: status %s: an incomplete audit cannot be compared (%s)", raw, sum.Status, sum.Error)
	}
	fs, err := findings.Read(ctx, loc.Bucket, loc.Join(schema.FindingsDir))
	if err != nil {
		return nil, nil, fmt.Errorf("run %s: %w", raw, err)
	}
	if int64(len(fs)) != sum.Counts.RowsFlagged {
		return nil, nil, fmt.Errorf("run %s: %d findings in %s/, but summary.json counts %d flagged rows", raw, len(fs), schema.FindingsDir, sum.Counts.RowsFlagged)
	}
	return sum, fs, nil
}

// DiffRunsOf compares two complete runs.
func DiffRunsOf(ctx context.Context, o DiffOptions) (*Diff, error) {
	if o.Old == "" || o.New == "" {
		return nil, fmt.Errorf("%w: give two runs' output folders, OLD and NEW", ErrUsage)
	}
	oldSum, oldF, err := loadRun(ctx, o.Old, o.S3)
	if err != nil {
		return nil, err
	}
	newSum, newF, err := loadRun(ctx, o.New, o.S3)
	if err != nil {
		return nil, err
	}
	return diffFindings(o.Old, oldSum, oldF, o.New, newSum, newF), nil
}

func runOf(out string, s *schema.Summary) DiffRun {
	return DiffRun{Out: out, Snapshot: s.Snapshot, Status: s.Status, PolicyHash: s.Policy.Hash, RowsScanned: s.Counts.RowsScanned, RowsFlagged: s.Counts.RowsFlagged}
}

func diffFindings(oldOut string, oldSum *schema.Summary, oldF []schema.Finding, newOut string, newSum *schema.Summary, newF []schema.Finding) *Diff {
	d := &Diff{
		Runs: DiffRuns{Old: runOf(oldOut, oldSum), New: runOf(newOut, newSum)},
		New:  newDiffSet(), Resolved: newDiffSet(), Persisting: newDiffSet(),
		Warnings: []string{},
	}
	if oldSum.Policy.Hash != newSum.Policy.Hash {
		d.Warnings = append(d.Warnings, fmt.Sprintf("the runs applied different policies (%s %s, hash %.12s… and %s %s, hash %.12s…): a change may come from the policy, not the corpus",
			oldSum.Policy.Name, oldSum.Policy.Version, oldSum.Policy.Hash, newSum.Policy.Name, newSum.Policy.Version, newSum.Policy.Hash))
	}
	if !oldSum.SnapshotAt.IsZero() && newSum.SnapshotAt.Before(oldSum.SnapshotAt) {
		d.Warnings = append(d.Warnings, fmt.Sprintf("NEW audits an earlier snapshot (%s) than OLD (%s)", newSum.SnapshotAt.Format(time.RFC3339), oldSum.SnapshotAt.Format(time.RFC3339)))
	}
	// The old findings by key, in order; matched ones are consumed.
	old := map[string][]int{}
	for i := range oldF {
		k := findingKey(&oldF[i])
		old[k] = append(old[k], i)
	}
	matched := make([]bool, len(oldF))
	for i := range newF {
		f := &newF[i]
		it := diffItem(f)
		if q := old[it.Key]; len(q) > 0 {
			j := q[0]
			old[it.Key] = q[1:]
			matched[j] = true
			if !sameCategories(oldF[j].Categories, f.Categories) {
				it.OldCategories = oldF[j].Categories
			}
			d.Persisting.add(it)
			continue
		}
		d.New.add(it)
	}
	for j := range oldF {
		if !matched[j] {
			d.Resolved.add(diffItem(&oldF[j]))
		}
	}
	return d
}

func sameCategories(a, b []schema.Category) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// WriteDiffJSON writes the diff as one JSON object with the keys new,
// resolved and persisting (and runs and warnings).
func WriteDiffJSON(w io.Writer, d *Diff) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteDiffText writes the diff for people: the counts per category, then
// up to limit findings of each list (0: all).
func WriteDiffText(w io.Writer, d *Diff, limit int) error {
	ew := &errWriter{w: w}
	r := d.Runs
	fmt.Fprintf(ew, "OLD %s: snapshot %s, %s, %d of %d rows flagged\n", r.Old.Out, r.Old.Snapshot, r.Old.Status, r.Old.RowsFlagged, r.Old.RowsScanned)
	fmt.Fprintf(ew, "NEW %s: snapshot %s, %s, %d of %d rows flagged\n", r.New.Out, r.New.Snapshot, r.New.Status, r.New.RowsFlagged, r.New.RowsScanned)
	for _, warn := range d.Warnings {
		fmt.Fprintf(ew, "warning: %s\n", warn)
	}
	fmt.Fprintln(ew)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "category\tnew\tresolved\tpersisting\t")
	for _, c := range schema.Categories {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", c, d.New.ByCategory[c], d.Resolved.ByCategory[c], d.Persisting.ByCategory[c])
	}
	fmt.Fprintf(tw, "rows\t%d\t%d\t%d\t\n", d.New.Rows, d.Resolved.Rows, d.Persisting.Rows)
	tw.Flush()
	list := func(title string, s DiffSet, only func(DiffItem) bool) {
		var items []DiffItem
		for _, it := range s.Findings {
			if only == nil || only(it) {
				items = append(items, it)
			}
		}
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(ew, "\n%s (%d):\n", title, len(items))
		for i, it := range items {
			if limit > 0 && i == limit {
				fmt.Fprintf(ew, "  … %d more (--limit 0 lists all, --json gives everything)\n", len(items)-limit)
				break
			}
			fmt.Fprintf(ew, "  %s\n", describeItem(it))
		}
	}
	list("New", d.New, nil)
	list("Resolved", d.Resolved, nil)
	list("Persisting, categories changed", d.Persisting, func(it DiffItem) bool { return it.OldCategories != nil })
	return ew.err
}

func describeItem(it DiffItem) string {
	id := "content_id (null)"
	if it.ContentID != nil {
		id = "content_id " + *it.ContentID
	}
	cats := joinCats(it.Categories)
	if it.OldCategories != nil {
		cats = joinCats(it.OldCategories) + " → " + cats
	}
	return fmt.Sprintf("%s  [%s]  %s row %d", id, cats, it.SourceFile, it.RowInFile)
}

func joinCats(cs []schema.Category) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, nil
}
