package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/config"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lookup"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/scan"
	"github.com/corpus-audit/corpus-audit/schema"
)

// TestScanRejectsLyingStatistics: the lookup prunes birth dates on the
// footers' minimum created_at, so a row older than that minimum must fail
// the audit instead of being judged with pruned facts.
func TestScanRejectsLyingStatistics(t *testing.T) {
	ctx := context.Background()
	res := genLake(t, nil)
	o := runOpts(res, t.TempDir())
	corpus, err := lake.Open(ctx, o.Corpus, lake.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := listCorpus(ctx, corpus, false)
	if err != nil {
		t.Fatal(err)
	}
	files, err := openCorpusFiles(ctx, corpus, objs, config.Config{}.ScanColumns(), 2)
	if err != nil {
		t.Fatal(err)
	}
	floor := minCreated(files)
	if floor == nil {
		t.Fatal("the generated files have created_at statistics, but minCreated found none")
	}
	tables, closeTables, err := openTables(ctx, o, lake.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeTables()
	ix, _, err := lookup.Build(ctx, tables, lookup.Options{SnapshotAt: res.SnapshotAt, Policy: policy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		floor   time.Time
		wantErr bool
	}{
		"true minimum":          {*floor, false},
		"minimum one µs later":  {floor.Add(time.Microsecond), true},
		"minimum a year later":  {floor.AddDate(1, 0, 0), true},
		"minimum a second less": {floor.Add(-time.Second), false},
	} {
		counts := report.NewCounts()
		s := &scanner{policy: policy.Default(), index: ix, snapshot: "s", files: files, workers: 2,
			sink: func(*schema.Finding) error { return nil }, counts: &counts, log: o.Log, minCreated: &tc.floor}
		if s.log == nil {
			s.log = discardLog()
		}
		err := s.run(ctx)
		var se *scan.Error
		if tc.wantErr != (err != nil) {
			t.Errorf("%s: err = %v", name, err)
		} else if err != nil && (!errors.As(err, &se) || se.Column != "created_at" || !strings.Contains(err.Error(), "statistics")) {
			t.Errorf("%s: error does not name the column and the cause: %v", name, err)
		}
	}
}
