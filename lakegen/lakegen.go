// Package lakegen writes a realistic synthetic data lake, of any size and
// from a seed, for testing and benchmarking the audit: a Hive-partitioned
// corpus snapshot in Parquet (written by parquet-go and by Arrow), the
// ages, objections and links tables (Parquet or CSV), planted leaks of
// every category with the quirks real data has, and the ground truth: which
// rows the audit must flag and why.
//
// The truth comes from the package's own reference evaluation of the
// policy (see oracle), written independently of the policy and lookup
// packages so that it can check them. Every corpus file starts with the
// same planted edge rows (Edges), whose expected categories are written by
// hand.
//
// Layout under the output folder:
//
//	corpus/snapshot=<date>/platform=<p>/part-NNNNN.parquet
//	corpus/snapshot=<date>/_SUCCESS
//	tables/{ages,objections,links}/part-00000.{parquet,csv}
//	truth/snapshot=<date>.csv   header, then content_id,categories per flagged row, sorted by content_id
//	truth/snapshot=<date>.json  counts (Truth)
//
// The same Options give byte-identical files.
package lakegen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/corpus-audit/corpus-audit/schema"
)

// Result describes a generated lake.
type Result struct {
	Out        string    // the output folder
	Options    Options   // the options, with defaults filled in
	SnapshotAt time.Time // 00:00 UTC of the snapshot date
	Corpus     []FileInfo
	Tables     []TableInfo // ages, objections, links
	Edges      []Edge      // planted edge rows; empty with NoEdges
	// Truth holds the counts written to the truth JSON; nil with NoTruth.
	Truth *Truth
	// TruthCSV and TruthJSON are the truth files, relative to Out; empty with NoTruth.
	TruthCSV, TruthJSON string
}

// Truth is the content of truth/snapshot=<date>.json: what the audit of the
// snapshot must report.
type Truth struct {
	Snapshot   string    `json:"snapshot"`
	SnapshotAt time.Time `json:"snapshot_at"`
	Seed       int64     `json:"seed"`
	Rows       int64     `json:"rows"`
	Flagged    int64     `json:"flagged"`
	Clean      int64     `json:"clean"`
	// ByCategory counts flagged rows per category; every category is present.
	ByCategory map[schema.Category]int64 `json:"by_category"`
	// ByPlatform counts flagged rows per platform and category.
	ByPlatform map[string]map[schema.Category]int64 `json:"by_platform"`
	Files      []FileInfo                           `json:"files"`
	Tables     []TableInfo                          `json:"tables"`
	Edges      []Edge                               `json:"edges"`
}

// CorpusDir is the snapshot's corpus folder relative to the output folder.
func CorpusDir(snapshot string) string { return "corpus/snapshot=" + snapshot }

// TruthFiles returns the truth CSV and JSON paths relative to the output folder.
func TruthFiles(snapshot string) (csv, json string) {
	return "truth/snapshot=" + snapshot + ".csv", "truth/snapshot=" + snapshot + ".json"
}

// Generate writes a lake under out according to opt.
func Generate(ctx context.Context, out string, opt Options) (*Result, error) {
	snap, err := opt.normalize()
	if err != nil {
		return nil, err
	}
	if err := prepareOut(out, opt); err != nil {
		return nil, err
	}
	m, err := newModel(opt, snap)
	if err != nil {
		return nil, err
	}
	res := &Result{Out: out, Options: opt, SnapshotAt: snap}

	// Corpus files: rows spread evenly, platforms in turn.
	var edges []edgeSpec
	if !opt.NoEdges {
		edges = m.edges()
	}
	gens := make([]*fileGen, opt.Files)
	var first int64
	for k := range opt.Files {
		rows := opt.Rows / int64(opt.Files)
		if int64(k) < opt.Rows%int64(opt.Files) {
			rows++
		}
		plat := platforms[k%len(platforms)]
		res.Corpus = append(res.Corpus, FileInfo{
			Path: partPath(opt.Snapshot, plat, k), Platform: plat, Writer: opt.writerFor(k), Rows: rows,
		})
		gens[k] = &fileGen{m: m, k: k, firstRow: first, rows: rows, edges: edges, r: rng{s: hash2(m.seed, 0x100000+uint64(k))},
			int96Arrow: m.unit == unitInt96 && opt.writerFor(k) == WriterArrow}
		first += rows
	}
	for j, e := range edges {
		x := Edge{Name: e.name, Want: e.want.categories()}
		for _, g := range gens {
			x.ContentIDs = append(x.ContentIDs, strconv.FormatInt(m.contentID(g.firstRow+int64(j)), 10))
		}
		res.Edges = append(res.Edges, x)
	}
	format := opt.TablesFormat
	for _, role := range []string{schema.RoleAges, schema.RoleObjections, schema.RoleLinks} {
		res.Tables = append(res.Tables, TableInfo{Role: role, Path: tablePath(role, format)})
	}

	// Jobs: the oracle (when the truth is wanted), the tables, then the
	// corpus files, largest first, on opt.Workers goroutines. Corpus jobs
	// wait for the oracle.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var o *oracle
	oracleReady := make(chan struct{})
	truths := make([]*fileTruth, opt.Files)
	type job func() error
	var jobs []job
	if !opt.NoTruth {
		jobs = append(jobs, func() error { o = m.buildOracle(); close(oracleReady); return nil })
	} else {
		close(oracleReady)
	}
	for i := range res.Tables {
		jobs = append(jobs, func() error { return m.writeTable(out, &res.Tables[i]) })
	}
	for k := range gens {
		jobs = append(jobs, func() error {
			select {
			case <-oracleReady:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			t, err := gens[k].writeCorpusFile(ctx, out, &res.Corpus[k], o)
			truths[k] = t
			return err
		})
	}
	queue := make(chan job)
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if ctx.Err() != nil {
					continue
				}
				if err := j(); err != nil {
					errOnce.Do(func() { firstErr = err; cancel(err) })
				}
			}
		}()
	}
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(CorpusDir(opt.Snapshot)), "_SUCCESS"), nil, 0o644); err != nil {
		return nil, fmt.Errorf("lakegen: %w", err)
	}
	if opt.NoTruth {
		return res, nil
	}
	if err := res.writeTruth(truths); err != nil {
		return nil, err
	}
	return res, nil
}

// prepareOut refuses to mix two generations of the same snapshot, or
// removes the old one with Overwrite.
func prepareOut(out string, opt Options) error {
	csvPath, jsonPath := TruthFiles(opt.Snapshot)
	olds := []string{CorpusDir(opt.Snapshot), "tables", csvPath, jsonPath}
	for _, p := range olds {
		full := filepath.Join(out, filepath.FromSlash(p))
		_, err := os.Lstat(full)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return fmt.Errorf("lakegen: %w", err)
		case !opt.Overwrite:
			return fmt.Errorf("lakegen: %s already exists (set overwrite to replace it)", full)
		}
		if err := os.RemoveAll(full); err != nil {
			return fmt.Errorf("lakegen: remove old %s: %w", full, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(out, filepath.FromSlash(CorpusDir(opt.Snapshot))), 0o755); err != nil {
		return fmt.Errorf("lakegen: %w", err)
	}
	return nil
}

func (res *Result) writeTruth(truths []*fileTruth) error {
	opt := res.Options
	t := &Truth{
		Snapshot: opt.Snapshot, SnapshotAt: res.SnapshotAt, Seed: opt.Seed,
		ByCategory: map[schema.Category]int64{},
		ByPlatform: map[string]map[schema.Category]int64{},
		Files:      res.Corpus, Tables: res.Tables, Edges: res.Edges,
	}
	if t.Edges == nil {
		t.Edges = []Edge{}
	}
	for _, c := range catNames {
		t.ByCategory[c] = 0
	}
	csvRel, jsonRel := TruthFiles(opt.Snapshot)
	csvPath := filepath.Join(res.Out, filepath.FromSlash(csvRel))
	if err := os.MkdirAll(filepath.Dir(csvPath), 0o755); err != nil {
		return fmt.Errorf("lakegen: %w", err)
	}
	// Content ids increase with the file index then the row, so the files'
	// truths concatenated in file order are sorted by content_id.
	err := writeAtomically(csvPath, func(w io.Writer) error {
		if _, err := io.WriteString(w, TruthHeader+"\n"); err != nil {
			return err
		}
		for k, ft := range truths {
			if _, err := w.Write(ft.lines); err != nil {
				return err
			}
			plat := res.Corpus[k].Platform
			if t.ByPlatform[plat] == nil {
				t.ByPlatform[plat] = map[schema.Category]int64{}
				for _, c := range catNames {
					t.ByPlatform[plat][c] = 0
				}
			}
			t.Rows += res.Corpus[k].Rows
			t.Flagged += ft.flagged
			for c, n := range ft.byCategory {
				t.ByCategory[catNames[c]] += n
				t.ByPlatform[plat][catNames[c]] += n
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("lakegen: write truth %s: %w", csvPath, err)
	}
	t.Clean = t.Rows - t.Flagged
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("lakegen: truth json: %w", err)
	}
	jsonPath := filepath.Join(res.Out, filepath.FromSlash(jsonRel))
	if err := writeAtomically(jsonPath, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
		return fmt.Errorf("lakegen: write truth %s: %w", jsonPath, err)
	}
	res.Truth, res.TruthCSV, res.TruthJSON = t, csvRel, jsonRel
	return nil
}
