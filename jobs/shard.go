package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lookup"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// A partial result is what one shard of a snapshot (or one checkpointed
// nightly audit) writes: the snapshot is cut into units — whole corpus
// files, or ranges of row groups of a file — and every finished unit is a
// checkpoint of its own:
//
//	partial.json                 what was audited: plan, policy, tables, shard
//	units/<unit>.json            one finished unit: rows judged and flagged, the file's identity
//	units/<unit>/part-NNNNN.parquet  its findings, in row order
//
// A unit's findings are written first and its .json last, so a unit whose
// .json exists is whole. A run started again on the same folder keeps the
// finished units and audits only the others (if the plan, policy, tables
// and config are unchanged), and merge combines partial results into the
// outputs of one unsharded run, byte for byte.

const (
	partialFile     = "partial.json"
	unitsDir        = "units"
	partialVersion  = 1
	modeFile        = "file"
	modeRowGroup    = "row_group"
	holdEnv         = "CORPUS_AUDIT_TEST_HOLD"
	pauseEnv        = "CORPUS_AUDIT_TEST_PAUSE"
	defaultRGShards = 2 // fewer than this many files per shard: cut by row group
)

// Shard is the I-th of N parts of a snapshot, numbered from 0 as
// Kubernetes Indexed Jobs and AWS Batch array jobs number them.
type Shard struct{ Index, Count int }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// ShardIndexEnvs are the environment variables "auto" takes the shard
// index from, in order: Kubernetes Indexed Jobs, then AWS Batch array jobs.
var ShardIndexEnvs = []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"}

// ParseShard parses "I/N" (0 <= I < N), or "auto/N", which takes I from
// the first of ShardIndexEnvs that is set (getenv looks them up).
func ParseShard(s string, getenv func(string) string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("%w: --shard %q: want I/N, e.g. 0/8, or auto/N", ErrUsage, s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		return Shard{}, fmt.Errorf("%w: --shard %q: N must be a whole number >= 1", ErrUsage, s)
	}
	if is == "auto" {
		for _, e := range ShardIndexEnvs {
			if v := getenv(e); v != "" {
				is = v
				break
			}
		}
		if is == "auto" {
			return Shard{}, fmt.Errorf("%w: --shard %q: none of %s is set", ErrUsage, s, strings.Join(ShardIndexEnvs, ", "))
		}
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%w: --shard %q: I must be a whole number from 0 to %d", ErrUsage, s, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

// planFile is one corpus file of a plan.
type planFile struct {
	Key       string `json:"key"`
	Path      string `json:"path"` // as findings name it
	Size      int64  `json:"size"`
	ETag      string `json:"etag"`
	VersionID string `json:"version_id,omitempty"`
}

// unitSpec is one unit: row groups [From, To) of file File, or the whole
// file when To is -1.
type unitSpec struct {
	ID     string `json:"id"`
	File   int    `json:"file"`
	From   int    `json:"from"`
	To     int    `json:"to"`
	Weight int64  `json:"weight"` // bytes or rows, for balancing shards
}

func (u unitSpec) whole() bool { return u.To < 0 }

// plan is the deterministic cut of a snapshot into units: every shard that
// lists the same snapshot computes the same plan.
type plan struct {
	Mode  string     `json:"mode"`
	Files []planFile `json:"files"`
	Units []unitSpec `json:"units"`
}

func (p *plan) hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", p.Mode)
	for _, f := range p.Files {
		fmt.Fprintf(h, "f %q %d %q %q\n", f.Key, f.Size, f.ETag, f.VersionID)
	}
	for _, u := range p.Units {
		fmt.Fprintf(h, "u %s %d %d %d\n", u.ID, u.File, u.From, u.To)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// assign gives every unit a shard: the heaviest units first, each to the
// least loaded shard (ties: lowest index). Deterministic.
func (p *plan) assign(n int) []int {
	order := make([]int, len(p.Units))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		wa, wb := p.Units[a].Weight, p.Units[b].Weight
		switch {
		case wa > wb:
			return -1
		case wa < wb:
			return 1
		}
		return a - b
	})
	load := make([]int64, n)
	out := make([]int, len(p.Units))
	for _, u := range order {
		best := 0
		for s := 1; s < n; s++ {
			if load[s] < load[best] {
				best = s
			}
		}
		out[u] = best
		load[best] += max(p.Units[u].Weight, 1)
	}
	return out
}

// partialMeta is partial.json.
type partialMeta struct {
	Version    int                `json:"version"`
	Complete   bool               `json:"complete"`
	Shard      int                `json:"shard"`
	Shards     int                `json:"shards"`
	Snapshot   string             `json:"snapshot"`
	SnapshotAt time.Time          `json:"snapshot_at"`
	Corpus     string             `json:"corpus"`
	PlanHash   string             `json:"plan_hash"`
	Plan       plan               `json:"plan"`
	Units      []string           `json:"units"` // this shard's
	Policy     schema.PolicyRef   `json:"policy"`
	Tables     []schema.InputFile `json:"tables"`
	Config     *schema.InputFile  `json:"config,omitempty"`
	Hashed     bool               `json:"hashed"`
	Tool       schema.ToolInfo    `json:"tool"`
}

// unitResult is units/<id>.json: one finished unit.
type unitResult struct {
	Version     int                 `json:"version"`
	PlanHash    string              `json:"plan_hash"`
	Unit        unitSpec            `json:"unit"`
	Path        string              `json:"path"`
	RowGroups   int                 `json:"row_groups"`   // of the whole file
	RowsInFile  int64               `json:"rows_in_file"` // footer, whole file
	RowsInUnit  int64               `json:"rows_in_unit"` // footer, this unit
	RowsJudged  int64               `json:"rows_judged"`
	RowsFlagged int64               `json:"rows_flagged"`
	Input       *schema.InputFile   `json:"input,omitempty"` // the corpus file; in its first unit
	Parts       []schema.OutputFile `json:"parts"`           // relative to the partial folder
	Seconds     float64             `json:"seconds"`
}

// errStopped ends a checkpointed run that was asked to stop (SIGTERM):
// every finished unit is saved.
var errStopped = errors.New("stopped at a checkpoint on request; start it again to resume")

// ErrStopped is wrapped by the error of a run stopped at a checkpoint.
var ErrStopped = errStopped

// partialRun is one run writing a partial result.
type partialRun struct {
	o     RunOptions
	shard Shard
	work  lake.Location
	// fileMode cuts by file whatever the number of files (nightly).
	fileMode bool
	// stop, when closed, ends the run at the next checkpoint.
	stop <-chan struct{}
}

// PartialSummary says what one partial run did.
type PartialSummary struct {
	Shard       Shard
	Snapshot    string
	Mode        string
	Units       int // this shard's
	Resumed     int // of which were finished before this run
	Files       int // corpus files touched
	RowsJudged  int64
	RowsFlagged int64
	BytesRead   int64
}

// hold blocks forever at a named point when $CORPUS_AUDIT_TEST_HOLD says
// so ("point" or "point:N" for its N-th pass), after saying so on stderr.
// It lets the crash tests SIGKILL the process at a known moment. Without
// the variable it does nothing.
var hold = func() func(string) {
	want := os.Getenv(holdEnv)
	if want == "" {
		return func(string) {}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	return func(point string) {
		mu.Lock()
		seen[point]++
		n := seen[point]
		mu.Unlock()
		if want == point || want == fmt.Sprintf("%s:%d", point, n) {
			fmt.Fprintf(os.Stderr, "corpus-audit: test hold at %s:%d\n", point, n)
			select {}
		}
	}
}()

// pause waits at a named point until the run is asked to stop when
// $CORPUS_AUDIT_TEST_PAUSE says so ("point" or "point:N"), after saying so
// on stderr: the SIGTERM tests signal the process while it is known to be
// mid-snapshot. Without the variable it does nothing.
var pause = func() func(string, <-chan struct{}) {
	want := os.Getenv(pauseEnv)
	if want == "" {
		return func(string, <-chan struct{}) {}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	return func(point string, stop <-chan struct{}) {
		mu.Lock()
		seen[point]++
		n := seen[point]
		mu.Unlock()
		if want == point || want == fmt.Sprintf("%s:%d", point, n) {
			fmt.Fprintf(os.Stderr, "corpus-audit: test pause at %s:%d\n", point, n)
			<-stop
		}
	}
}()

// snapshotOf resolves a run's snapshot name and instant.
func snapshotOf(o RunOptions) (string, time.Time, error) {
	name, at, ok, err := snapshotFromPath(o.Corpus)
	if err != nil && o.SnapshotAt == "" {
		return "", time.Time{}, err
	}
	if o.SnapshotAt != "" {
		at, err = parseSnapshotAt(o.SnapshotAt)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("%w: --snapshot-at: %v", ErrUsage, err)
		}
		if !ok {
			name = at.Format(time.RFC3339)
		}
	} else if !ok {
		return "", time.Time{}, fmt.Errorf("%w: %s: no snapshot=YYYY-MM-DD (or snapshot=<RFC 3339>) element in the corpus path; give --snapshot-at", ErrUsage, o.Corpus)
	}
	return name, at, nil
}

// RunShard audits the o.Shard-th part of a snapshot and writes a partial
// result to o.Out; merge combines the parts. A run started again on the
// same --out resumes: finished units are kept.
func RunShard(ctx context.Context, o RunOptions, shard Shard) (PartialSummary, error) {
	if o.Out == "" {
		return PartialSummary{}, fmt.Errorf("%w: --out is required", ErrUsage)
	}
	out, err := lake.Open(ctx, o.Out, o.S3)
	if err != nil {
		return PartialSummary{}, fmt.Errorf("output %s: %w", o.Out, err)
	}
	defer out.Bucket.Close()
	ps, _, err := (&partialRun{o: o, shard: shard, work: out, stop: o.Stop}).run(ctx)
	if err != nil {
		err = foldedError{err}
	}
	return ps, err
}

func (p *partialRun) run(ctx context.Context) (PartialSummary, *partialMeta, error) {
	o := p.o
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = discardLog()
	}
	if o.Workers <= 0 {
		o.Workers = defaultWorkers()
	}
	ps := PartialSummary{Shard: p.shard}
	for _, req := range []struct{ name, v string }{{"--corpus", o.Corpus}, {"--ages", o.Ages}, {"--objections", o.Objections}} {
		if req.v == "" {
			return ps, nil, fmt.Errorf("%w: %s is required", ErrUsage, req.name)
		}
	}
	if p.shard.Count < 1 || p.shard.Index < 0 || p.shard.Index >= p.shard.Count {
		return ps, nil, fmt.Errorf("%w: shard %s", ErrUsage, p.shard)
	}
	cfg, cfgInput, err := loadConfig(ctx, o.ConfigPath, o.S3)
	if err != nil {
		return ps, nil, err
	}
	s3o := mergeS3(cfg.S3Options(), o.S3)
	pol, err := cfg.PolicyValue()
	if err != nil {
		return ps, nil, err
	}
	name, at, err := snapshotOf(o)
	if err != nil {
		return ps, nil, err
	}
	ps.Snapshot = name

	corpus, err := lake.Open(ctx, o.Corpus, s3o)
	if err != nil {
		return ps, nil, fmt.Errorf("corpus %s: %w", o.Corpus, err)
	}
	defer corpus.Bucket.Close()
	files, err := listCorpus(ctx, corpus, o.AllowUnmarked)
	if err != nil {
		return ps, nil, err
	}
	cols := cfg.ScanColumns()

	// The plan. Few files for many shards: cut by row group, which needs
	// every footer.
	pl := plan{Mode: modeFile}
	for _, f := range files {
		pl.Files = append(pl.Files, planFile{Key: f.Key, Path: corpus.URI(f.Key), Size: f.Attrs.Size, ETag: f.Attrs.ETag, VersionID: f.Attrs.VersionID})
	}
	opened := map[int]corpusFile{}
	if !p.fileMode && p.shard.Count > 1 && len(files) < defaultRGShards*p.shard.Count {
		pl.Mode = modeRowGroup
		all, err := openCorpusFiles(ctx, corpus, files, cols, o.Workers)
		if err != nil {
			return ps, nil, err
		}
		for i, f := range all {
			opened[i] = f
			n := f.file.NumRowGroups()
			if n == 0 {
				pl.Units = append(pl.Units, unitSpec{ID: fmt.Sprintf("f%06d", i), File: i, To: -1})
				continue
			}
			for rg := range n {
				pl.Units = append(pl.Units, unitSpec{ID: fmt.Sprintf("f%06d-rg%06d", i, rg), File: i, From: rg, To: rg + 1, Weight: f.file.RowGroupRows(rg)})
			}
		}
	} else {
		for i, f := range files {
			pl.Units = append(pl.Units, unitSpec{ID: fmt.Sprintf("f%06d", i), File: i, To: -1, Weight: f.Attrs.Size})
		}
	}
	ps.Mode = pl.Mode
	owner := pl.assign(p.shard.Count)
	var mine []unitSpec
	for i, u := range pl.Units {
		if owner[i] == p.shard.Index {
			mine = append(mine, u)
		}
	}
	ps.Units = len(mine)
	hashed := !o.NoHash && !lake.IsS3(o.Corpus)
	meta := &partialMeta{
		Version: partialVersion, Shard: p.shard.Index, Shards: p.shard.Count,
		Snapshot: name, SnapshotAt: at, Corpus: o.Corpus,
		PlanHash: pl.hash(), Plan: pl, Policy: pol.Ref(), Config: cfgInput, Hashed: hashed,
		Tool: report.Tool(o.Version),
	}
	for _, u := range mine {
		meta.Units = append(meta.Units, u.ID)
	}

	// The tables, then what an earlier run left here.
	tables, closeTables, err := openTables(ctx, o, s3o)
	if err != nil {
		return ps, nil, err
	}
	defer closeTables()
	t0 := time.Now()
	ix, tableInputs, err := lookup.Build(ctx, tables, lookup.Options{SnapshotAt: at, Policy: pol})
	if err != nil {
		return ps, nil, err
	}
	meta.Tables = tableInputs
	o.Log.Info("lookup tables loaded", "snapshot", name, "duration", time.Since(t0).Round(time.Millisecond).String())

	done, err := p.resume(ctx, meta)
	if err != nil {
		return ps, nil, err
	}
	if err := writeJSON(ctx, p.work, partialFile, meta); err != nil {
		return ps, nil, err
	}
	var pending []unitSpec
	for _, u := range mine {
		if r, ok := done[u.ID]; ok {
			ps.Resumed++
			ps.RowsJudged += r.RowsJudged
			ps.RowsFlagged += r.RowsFlagged
			continue
		}
		pending = append(pending, u)
	}
	o.Log.Info("partial audit started", "snapshot", name, "shard", p.shard.String(), "mode", pl.Mode,
		"units", len(mine), "resumed", ps.Resumed, "pending", len(pending), "policy_hash", meta.Policy.Hash)

	// Footers of the files still to do.
	var need []lake.Object
	var needIdx []int
	for _, u := range pending {
		if _, ok := opened[u.File]; ok || slices.Contains(needIdx, u.File) {
			continue
		}
		need = append(need, files[u.File])
		needIdx = append(needIdx, u.File)
	}
	more, err := openCorpusFiles(ctx, corpus, need, cols, o.Workers)
	if err != nil {
		return ps, nil, err
	}
	for i, f := range more {
		opened[needIdx[i]] = f
	}
	touched := map[int]bool{}
	for _, u := range mine {
		touched[u.File] = true
	}
	ps.Files = len(touched)

	if err := p.scanUnits(ctx, o, corpus, meta, pol, ix, pending, opened, hashed, &ps); err != nil {
		return ps, nil, err
	}
	meta.Complete = true
	if err := writeJSON(ctx, p.work, partialFile, meta); err != nil {
		return ps, nil, err
	}
	o.Log.Info("partial audit finished", "snapshot", name, "shard", p.shard.String(), "units", len(mine),
		"rows", ps.RowsJudged, "flagged", ps.RowsFlagged)
	return ps, meta, nil
}

// resume reads what an earlier run left in the partial folder. If it
// audited the same plan with the same policy, tables and config, and was
// made by the same version of corpus-audit, its finished units are
// returned; otherwise the folder is cleared. (A unit judged by another
// version may have been judged by rules since fixed: a run after an
// upgrade audits the snapshot again from the start.)
func (p *partialRun) resume(ctx context.Context, meta *partialMeta) (map[string]unitResult, error) {
	old, err := readPartialMeta(ctx, p.work)
	if err != nil && !lake.IsNotExist(err) {
		p.o.Log.Warn("unreadable partial.json: starting over", "dir", p.work.Raw, "error", err.Error())
	}
	if err != nil || !samePartial(old, meta) {
		return nil, clearPrefix(ctx, p.work, "")
	}
	results, err := readUnitResults(ctx, p.work)
	if err != nil {
		return nil, err
	}
	want := map[string]unitSpec{}
	for _, u := range meta.Plan.Units {
		want[u.ID] = u
	}
	done := map[string]unitResult{}
	for id, r := range results {
		if u, ok := want[id]; ok && r.PlanHash == meta.PlanHash && r.Unit == u {
			done[id] = r
		}
	}
	return done, nil
}

func samePartial(a, b *partialMeta) bool {
	if a == nil || b == nil {
		return false
	}
	ja, _ := json.Marshal(a.Tables)
	jb, _ := json.Marshal(b.Tables)
	ca, _ := json.Marshal(a.Config)
	cb, _ := json.Marshal(b.Config)
	return a.Version == b.Version && a.Shard == b.Shard && a.Shards == b.Shards && a.PlanHash == b.PlanHash &&
		a.Snapshot == b.Snapshot && a.SnapshotAt.Equal(b.SnapshotAt) && a.Corpus == b.Corpus &&
		a.Policy.Hash == b.Policy.Hash && a.Hashed == b.Hashed && bytes.Equal(ja, jb) && bytes.Equal(ca, cb) &&
		a.Tool.Version == b.Tool.Version
}

// scanUnits audits the pending units, checkpointing each.
func (p *partialRun) scanUnits(ctx context.Context, o RunOptions, corpus lake.Location, meta *partialMeta,
	pol policy.Policy, ix *lookup.Index, pending []unitSpec, opened map[int]corpusFile, hashed bool, ps *PartialSummary) (err error) {
	var entries []corpusFile
	var units []unitSpec
	var rowsTotal, bytesTotal int64
	// Checkpoints are written in the background (hashing a local file
	// takes a while); the scan goes on meanwhile.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(o.Workers, 2))
	var mu sync.Mutex
	checkpoint := func(u unitSpec, f corpusFile, rowsInUnit, judged, flagged int64, parts []schema.OutputFile, took time.Duration) {
		g.Go(func() error {
			res := unitResult{
				Version: partialVersion, PlanHash: meta.PlanHash, Unit: u, Path: f.uri,
				RowGroups: f.file.NumRowGroups(), RowsInFile: f.file.NumRows(), RowsInUnit: rowsInUnit,
				RowsJudged: judged, RowsFlagged: flagged, Parts: parts, Seconds: took.Seconds(),
			}
			// The file's first unit describes it, exactly as corpusInputs
			// does for a plain run.
			var in *schema.InputFile
			if u.whole() || u.From == 0 {
				ci := corpusInput(f)
				in = &ci
				if hashed {
					sum, err := hashObject(gctx, corpus.Bucket, f.obj.Key)
					if err != nil {
						return err
					}
					in.SHA256 = sum
				}
			}
			a, err := checkPinned(gctx, corpus.Bucket, f)
			if err != nil {
				return err
			}
			if in != nil {
				if in.VersionID == "" {
					// S3 listings carry no version IDs; HEAD does.
					in.VersionID = a.VersionID
				}
				res.Input = in
			}
			if err := writeJSON(gctx, p.work, path.Join(unitsDir, u.ID+".json"), &res); err != nil {
				return err
			}
			mu.Lock()
			ps.RowsJudged += judged
			ps.RowsFlagged += flagged
			ps.BytesRead += f.obj.Attrs.Size
			mu.Unlock()
			o.Log.Info("unit checkpointed", "snapshot", meta.Snapshot, "unit", u.ID, "file", f.uri,
				"rows", judged, "flagged", flagged, "duration", took.Round(time.Millisecond).String())
			hold("checkpoint")
			return nil
		})
	}
	for _, u := range pending {
		f := opened[u.File]
		from, to := 0, f.file.NumRowGroups()
		if !u.whole() {
			from, to = u.From, u.To
		}
		var rows int64
		for rg := from; rg < to; rg++ {
			rows += f.file.RowGroupRows(rg)
		}
		if u.whole() {
			rows = f.file.NumRows()
		}
		rowsTotal += rows
		bytesTotal += f.obj.Attrs.Size
		if to == from {
			// Nothing to scan: a file without row groups.
			if err := clearPrefix(ctx, p.work, path.Join(unitsDir, u.ID)+"/"); err != nil {
				return err
			}
			checkpoint(u, f, rows, 0, 0, []schema.OutputFile{}, 0)
			continue
		}
		entries = append(entries, f)
		units = append(units, u)
	}
	o.Progress.Start(meta.Snapshot, int64(len(pending)), rowsTotal, bytesTotal)

	var cur *findings.Writer
	curUnit := 0
	unitStart := time.Now()
	defer func() {
		if cur != nil {
			cur.Abort()
		}
	}()
	openCur := func() error {
		if cur != nil {
			return nil
		}
		u := units[curUnit]
		dir := path.Join(unitsDir, u.ID)
		// Whatever a killed run left of this unit goes first.
		if err := clearPrefix(ctx, p.work, dir+"/"); err != nil {
			return err
		}
		cur = findings.NewWriter(ctx, p.work.Bucket, p.work.Join(dir), findings.Options{})
		return nil
	}
	var counts schema.Counts
	counts.ByCategory = map[schema.Category]int64{}
	counts.ByPlatform = map[string]map[schema.Category]int64{}
	s := &scanner{
		readAhead: !o.NoReadAhead,
		policy:    pol,
		index:     ix,
		snapshot:  meta.Snapshot,
		files:     entries,
		workers:   o.Workers,
		counts:    &counts,
		log:       discardLog(),
		progress:  o.Progress,
		span: func(i int) (int, int) {
			if u := units[i]; !u.whole() {
				return u.From, u.To
			}
			return 0, entries[i].file.NumRowGroups()
		},
		sink: func(f *schema.Finding) error {
			if err := openCur(); err != nil {
				return err
			}
			return cur.Write(f)
		},
	}
	s.onFile = func(i int) error {
		if err := openCur(); err != nil {
			return err
		}
		parts, err := cur.Close()
		if err != nil {
			return err
		}
		cur = nil
		for j := range parts {
			parts[j].Path = strings.TrimPrefix(p.work.Rel(parts[j].Path), "/")
		}
		fc := s.counts.Files[i]
		checkpoint(units[i], entries[i], fc.RowsInFooter, fc.RowsJudged, fc.RowsFlagged, parts, time.Since(unitStart))
		curUnit++
		unitStart = time.Now()
		hold("unit-done")
		pause("unit-done", p.stop)
		select {
		case <-p.stop:
			return errStopped
		default:
		}
		return nil
	}
	scanErr := error(nil)
	if len(entries) > 0 {
		scanErr = s.run(gctx)
	}
	werr := g.Wait()
	if scanErr != nil {
		if errors.Is(scanErr, errStopped) && werr == nil {
			o.Log.Info("stopped at a checkpoint", "snapshot", meta.Snapshot, "units_done", curUnit)
		}
		return errors.Join(scanErr, werr)
	}
	if werr != nil {
		return werr
	}
	return nil
}

// readPartialMeta reads partial.json of a partial folder.
func readPartialMeta(ctx context.Context, loc lake.Location) (*partialMeta, error) {
	var m partialMeta
	if err := readJSON(ctx, loc, partialFile, &m); err != nil {
		return nil, err
	}
	if m.Version != partialVersion {
		return nil, fmt.Errorf("%s: version %d, want %d", loc.URI(loc.Join(partialFile)), m.Version, partialVersion)
	}
	return &m, nil
}

// readUnitResults reads every units/<id>.json of a partial folder.
func readUnitResults(ctx context.Context, loc lake.Location) (map[string]unitResult, error) {
	prefix := loc.Join(unitsDir) + "/"
	var keys []string
	err := loc.Bucket.Iter(ctx, prefix, func(key string, _ lake.Attrs) error {
		rest := key[len(prefix):]
		if !strings.Contains(rest, "/") && strings.HasSuffix(rest, ".json") && !strings.HasPrefix(rest, ".") {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]unitResult{}
	for _, k := range keys {
		var r unitResult
		if err := readJSONKey(ctx, loc.Bucket, k, &r); err != nil {
			return nil, err
		}
		if r.Version != partialVersion {
			return nil, fmt.Errorf("%s: version %d, want %d", loc.Bucket.URI(k), r.Version, partialVersion)
		}
		out[r.Unit.ID] = r
	}
	return out, nil
}

// clearPrefix deletes every object under rel (a folder ending in "/", or
// "" for the whole location).
func clearPrefix(ctx context.Context, loc lake.Location, rel string) error {
	prefix := loc.Key
	if prefix != "" {
		prefix += "/"
	}
	prefix += rel
	var keys []string
	if err := loc.Bucket.Iter(ctx, prefix, func(k string, _ lake.Attrs) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := loc.Bucket.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(ctx context.Context, loc lake.Location, rel string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return loc.Bucket.Upload(ctx, loc.Join(rel), bytes.NewReader(append(data, '\n')))
}

func readJSON(ctx context.Context, loc lake.Location, rel string, v any) error {
	return readJSONKey(ctx, loc.Bucket, loc.Join(rel), v)
}

func readJSONKey(ctx context.Context, b lake.Bucket, key string, v any) error {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return &lake.ObjectError{Op: "read", URI: b.URI(key), Err: err}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: unreadable: %v", b.URI(key), err)
	}
	return nil
}
