package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// TestHashing: the corpus files are hashed on their own goroutine; sums
// come back in file order, a missing file is an error naming it, and a
// cancelled run stops hashing instead of reading every file to its end.
func TestHashing(t *testing.T) {
	dir := t.TempDir()
	b := lake.NewLocal(dir)
	ctx := context.Background()
	var files []corpusFile
	for i, body := range []string{"a", "bb", strings.Repeat("c", 1<<20)} {
		key := fmt.Sprintf("f%d", i)
		if err := b.Upload(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		files = append(files, corpusFile{obj: lake.Object{Key: key}})
	}
	loc := lake.Location{Bucket: b}

	h := startHashing(ctx, loc, files, true)
	sums, err := h.wait()
	h.stop()
	if err != nil {
		t.Fatal(err)
	}
	if want := "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"; len(sums) != 3 || sums[0] != want {
		t.Fatalf("sums %v, want sha256(a) first", sums)
	}

	if sums, err := startHashing(ctx, loc, files, false).wait(); sums != nil || err != nil {
		t.Fatalf("hashing off: %v, %v", sums, err)
	}

	missing := append(slices.Clone(files), corpusFile{obj: lake.Object{Key: "gone"}})
	if _, err := startHashing(ctx, loc, missing, true).wait(); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("missing file: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := startHashing(cctx, loc, files, true).wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
	// Mid-file too: the reader stops at the next read.
	if _, err := hashObject(cctx, b, "f2"); !errors.Is(err, context.Canceled) {
		t.Fatalf("hashObject after cancel: %v, want context.Canceled", err)
	}
}
