package jobs

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/config"
	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/lookup"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// benchScan is a 1M-row lake shaped like the bench's (4 files of 250k-row
// groups, 250k accounts), its footers and its lookup index, built once.
var benchScan = sync.OnceValues(func() (*benchSetup, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "corpus-audit-bench-")
	if err != nil {
		return nil, err
	}
	o := lakegen.DefaultOptions()
	o.Rows, o.Files, o.RowGroupRows = 1_000_000, 4, 250_000
	o.Accounts, o.Links, o.Objections = 250_000, 100_000, 15_000
	res, err := lakegen.Generate(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	ro := runOpts(res, filepath.Join(dir, "out"))
	corpus, err := lake.Open(ctx, ro.Corpus, lake.S3Options{})
	if err != nil {
		return nil, err
	}
	objs, err := listCorpus(ctx, corpus, false)
	if err != nil {
		return nil, err
	}
	files, err := openCorpusFiles(ctx, corpus, objs, config.Config{}.ScanColumns(), 2)
	if err != nil {
		return nil, err
	}
	tables, _, err := openTables(ctx, ro, lake.S3Options{})
	if err != nil {
		return nil, err
	}
	floor := minCreated(files)
	ix, _, err := lookup.Build(ctx, tables, lookup.Options{SnapshotAt: res.SnapshotAt, Policy: policy.Default(), MinCreatedAt: floor})
	if err != nil {
		return nil, err
	}
	return &benchSetup{dir: dir, files: files, ix: ix, rows: o.Rows, floor: floor}, nil
})

type benchSetup struct {
	dir   string
	files []corpusFile
	ix    *lookup.Index
	rows  int64
	floor *time.Time
}

func (bs *benchSetup) scanner(sink func(*schema.Finding) error, workers int) *scanner {
	counts := report.NewCounts()
	s := &scanner{policy: policy.Default(), index: bs.ix, snapshot: "s", files: bs.files, workers: workers,
		sink: sink, counts: &counts, log: discardLog(), minCreated: bs.floor}
	return s
}

func setup(b *testing.B) *benchSetup {
	b.Helper()
	bs, err := benchScan()
	if err != nil {
		b.Fatal(err)
	}
	return bs
}

// BenchmarkJudgeRowGroup is one worker's hot path: decode a row group
// (content ids lazily), probe the index in batches, judge, copy the
// findings out. rows/s is per goroutine.
//
//	go test ./jobs -run '^$' -bench JudgeRowGroup -benchmem
func BenchmarkJudgeRowGroup(b *testing.B) {
	bs := setup(b)
	s := bs.scanner(nil, 1)
	bt := newBatch()
	var j judge
	var rows int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for fi, f := range bs.files {
			for rg := 0; rg < f.file.NumRowGroups(); rg++ {
				res := s.judgeRowGroup(task{file: fi, rowGroup: rg}, nil, &bt, &j)
				if res.err != nil {
					b.Fatal(res.err)
				}
				if res.hits != nil {
					putHits(res.hits)
				}
				rows += res.rows
			}
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkScan is the whole scan with GOMAXPROCS workers and the ordered
// sink: into a sink that drops findings ("discard"), and into the findings
// Parquet writer on local disk ("findings").
//
//	go test ./jobs -run '^$' -bench 'Scan$' -benchmem
func BenchmarkScan(b *testing.B) {
	bs := setup(b)
	ctx := context.Background()
	b.Run("discard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := bs.scanner(func(*schema.Finding) error { return nil }, defaultWorkers())
			if err := s.run(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(bs.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("findings", func(b *testing.B) {
		out, err := lake.Open(ctx, filepath.Join(bs.dir, "bench-out"), lake.S3Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			fw := findings.NewWriter(ctx, out.Bucket, "findings", findings.Options{})
			s := bs.scanner(fw.Write, defaultWorkers())
			if err := s.run(ctx); err != nil {
				b.Fatal(err)
			}
			if _, err := fw.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(bs.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
