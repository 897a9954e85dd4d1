// Package jobs holds corpus-audit's jobs. A job wires sources, the scan,
// the policy and the sinks together and owns nothing else: reading is in
// lake, scan and lookup, the rules in policy, writing in findings and
// report.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/corpus-audit/corpus-audit/config"
	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lookup"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/scan"
	"github.com/corpus-audit/corpus-audit/schema"
)

// RunOptions are the inputs of one audit run (`corpus-audit run`).
type RunOptions struct {
	Corpus     string // one snapshot folder: local path or s3:// URI
	Ages       string
	Objections string
	Links      string // optional
	Out        string // folder for this run's outputs
	// SnapshotAt overrides the instant taken from the corpus folder name.
	SnapshotAt string
	// ConfigPath is an optional YAML config file (local or s3://).
	ConfigPath string
	// AllowUnmarked audits a snapshot folder that has no _SUCCESS marker.
	AllowUnmarked bool
	// Workers is the number of row groups decoded at once (default: GOMAXPROCS).
	Workers int
	// NoHash skips the SHA-256 of local corpus files (size and modification
	// time are still pinned). Table files are always hashed.
	NoHash bool
	// NoReadAhead: from an object store, a worker does not read its next
	// row group while it judges the current one (scan.File.Prefetch):
	// one row group's chunks less per worker, and each row group's
	// requests wait on their own.
	NoReadAhead bool
	// S3 overrides the S3 settings of the config file where set.
	S3 lake.S3Options
	// PseudonymKeyFile holds the HMAC key for the pseudonyms in reports
	// (else $CORPUS_AUDIT_PSEUDONYM_KEY). SignKeyFile holds an Ed25519
	// private key (PEM or raw) to sign the manifest; empty: unsigned.
	PseudonymKeyFile string
	SignKeyFile      string

	// Progress, if set, is updated as the scan goes (files, rows, bytes),
	// for a progress display.
	Progress *Progress
	// Stop, when closed, ends a sharded run (RunShard) at its next
	// checkpoint; a plain Run ignores it (cancel its context instead).
	Stop <-chan struct{}

	Log     *slog.Logger
	Version string
	// Now is the clock (tests set it); default time.Now.
	Now func() time.Time
}

// ErrUsage marks errors in how the job was called.
var ErrUsage = errors.New("usage")

// Run audits one snapshot and writes its findings and summary.json into
// o.Out. It returns the summary it wrote. Whenever the output folder can be
// opened, a summary is written, also when the run fails (status
// incomplete, with the error); findings files of a failed run are removed.
func Run(ctx context.Context, o RunOptions) (schema.Summary, error) {
	return runWith(ctx, o, (*run).audit)
}

// runWith is Run with the audit itself (everything between clearing the
// output folder and the coverage check) given as audit: a plain scan, or
// the merge of partial results (sharded and checkpointed runs). Summary,
// reports and manifest are written the same way for both.
func runWith(ctx context.Context, o RunOptions, audit func(*run, context.Context) error) (schema.Summary, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	sum := schema.Summary{
		SchemaVersion: schema.SummarySchemaVersion,
		Status:        schema.StatusIncomplete,
		Run:           schema.RunInfo{Tool: report.Tool(o.Version), Host: hostname(), Started: o.Now().UTC()},
		Counts:        report.NewCounts(),
	}
	if o.Out == "" {
		return sum, fmt.Errorf("%w: --out is required", ErrUsage)
	}
	// The output takes the config file's S3 settings too (server-side
	// encryption above all: findings hold personal data). A config that
	// cannot be read fails the audit below, which says so in the summary.
	// The file is read once: the audit applies and records the same bytes.
	r := &run{o: o, sum: &sum}
	outS3 := o.S3
	if o.ConfigPath != "" {
		r.cfg, r.cfgInput, r.cfgErr = loadConfig(ctx, o.ConfigPath, o.S3)
		if r.cfgErr == nil {
			outS3 = mergeS3(r.cfg.S3Options(), o.S3)
		}
	}
	out, err := lake.Open(ctx, o.Out, outS3)
	if err != nil {
		return sum, fmt.Errorf("output %s: %w", o.Out, err)
	}
	defer out.Bucket.Close()
	r.out = out

	err = audit(r, ctx)
	sum.Run.Finished = o.Now().UTC()
	// Outputs are written even when the context was cancelled (SIGTERM):
	// a failed run must still say so.
	wctx := context.WithoutCancel(ctx)
	// fail marks the run incomplete. Nothing of a failed run may pass for a
	// result: its findings files go (best effort: the summary says
	// incomplete whatever remains).
	fail := func(werr error) {
		err = errors.Join(err, werr)
		sum.Status = schema.StatusIncomplete
		sum.Error = oneLine(err)
		sum.Outputs = nil
		sum.Counts.RowsClean = 0
		if cerr := report.ClearFindings(wctx, out); cerr != nil {
			o.Log.Warn("could not remove the findings of the failed run", "error", cerr)
		}
	}
	if err != nil {
		fail(nil)
	}
	// redoReports rewrites the reports after a late failure, so that they
	// say INCOMPLETE as the summary does (without examples), or removes
	// them if even that fails: no report may say more than the summary.
	redoReports := func() {
		if report.WriteReports(wctx, out, &sum, nil) == nil {
			return
		}
		for _, name := range []string{report.HTMLFile, report.MDFile} {
			_ = out.Bucket.Delete(wctx, out.Join(name))
		}
	}
	if werr := writeReports(wctx, out, &sum, r.o); werr != nil {
		fail(werr)
		redoReports()
	}
	if werr := report.WriteSummary(wctx, out.Bucket, out.Join(schema.SummaryFile), &sum); werr != nil {
		fail(werr)
		redoReports()
		return sum, foldedError{err}
	}
	if werr := writeManifest(wctx, out, &sum, r.o); werr != nil {
		fail(werr)
		redoReports()
		if werr := report.WriteSummary(wctx, out.Bucket, out.Join(schema.SummaryFile), &sum); werr != nil {
			return sum, foldedError{errors.Join(err, werr)}
		}
	}
	if err != nil {
		err = foldedError{err}
	}
	return sum, err
}

// foldedError prints an error on one line (YAML and joined errors span
// several) and keeps it unwrappable.
type foldedError struct{ err error }

func (e foldedError) Error() string { return oneLine(e.err) }
func (e foldedError) Unwrap() error { return e.err }

type run struct {
	o   RunOptions
	out lake.Location
	sum *schema.Summary
	// The config file (o.ConfigPath) as runWith read it, or the error
	// reading it; the audit reports that error.
	cfg      config.Config
	cfgInput *schema.InputFile
	cfgErr   error
}

func (r *run) audit(ctx context.Context) (err error) {
	o := r.o
	// Clear what an earlier run left in the output folder, summary first, so
	// that nothing there can be mistaken for the result of this run.
	if err := report.Clear(ctx, r.out); err != nil {
		return err
	}
	for _, req := range []struct{ name, v string }{{"--corpus", o.Corpus}, {"--ages", o.Ages}, {"--objections", o.Objections}} {
		if req.v == "" {
			return fmt.Errorf("%w: %s is required", ErrUsage, req.name)
		}
	}

	cfg, cfgInput := r.cfg, r.cfgInput
	if r.cfgErr != nil {
		return r.cfgErr
	}
	s3o := mergeS3(cfg.S3Options(), o.S3)
	pol, err := cfg.PolicyValue()
	if err != nil {
		return err
	}
	r.sum.Policy = pol.Ref()

	name, at, ok, err := snapshotFromPath(o.Corpus)
	if err != nil && o.SnapshotAt == "" {
		return err
	}
	if o.SnapshotAt != "" {
		at, err = parseSnapshotAt(o.SnapshotAt)
		if err != nil {
			return fmt.Errorf("%w: --snapshot-at: %v", ErrUsage, err)
		}
		if !ok {
			name = at.Format(time.RFC3339)
		}
	} else if !ok {
		return fmt.Errorf("%w: %s: no snapshot=YYYY-MM-DD (or snapshot=<RFC 3339>) element in the corpus path; give --snapshot-at", ErrUsage, o.Corpus)
	}
	r.sum.Snapshot, r.sum.SnapshotAt = name, at

	corpus, err := lake.Open(ctx, o.Corpus, s3o)
	if err != nil {
		return fmt.Errorf("corpus %s: %w", o.Corpus, err)
	}
	defer corpus.Bucket.Close()
	files, ignored, err := listSnapshot(ctx, corpus, o.AllowUnmarked)
	if err != nil {
		return err
	}
	if len(ignored) > 0 {
		o.Log.Warn("files in the snapshot folder that are not Parquet were not audited", "count", len(ignored), "first", ignored[0])
		r.sum.IgnoredFiles = ignored
	}

	tables, closeTables, err := openTables(ctx, o, s3o)
	if err != nil {
		return err
	}
	defer closeTables()

	o.Log.Info("audit started", "snapshot", name, "snapshot_at", at, "corpus_files", len(files), "policy", pol.Name, "policy_hash", pol.Hash())

	// Footers first: they give the row counts that coverage is checked against.
	opened, err := openCorpusFiles(ctx, corpus, files, cfg.ScanColumns(), o.Workers)
	if err != nil {
		return err
	}

	hashes := startHashing(ctx, corpus, opened, !o.NoHash && !lake.IsS3(o.Corpus))
	defer hashes.stop()

	t0 := time.Now()
	floor := minCreated(opened)
	ix, tableInputs, err := lookup.Build(ctx, tables, lookup.Options{SnapshotAt: at, Policy: pol, MinCreatedAt: floor})
	if err != nil {
		return err
	}
	o.Log.Info("lookup tables loaded", "duration", time.Since(t0).Round(time.Millisecond).String(), "stats", fmt.Sprintf("%+v", ix.Stats()))

	fw := findings.NewWriter(ctx, r.out.Bucket, r.out.Join(schema.FindingsDir), findings.Options{})
	defer func() {
		if err != nil {
			fw.Abort()
		}
	}()
	s := &scanner{
		readAhead:  !o.NoReadAhead,
		policy:     pol,
		index:      ix,
		snapshot:   name,
		files:      opened,
		workers:    o.Workers,
		sink:       fw.Write,
		counts:     &r.sum.Counts,
		log:        o.Log,
		minCreated: floor,
		progress:   o.Progress,
	}
	o.Progress.begin(name, opened)
	if err := s.run(ctx); err != nil {
		return err
	}
	sums, err := hashes.wait()
	if err != nil {
		return err
	}
	corpusInputs, err := corpusInputs(ctx, corpus, opened, sums, o.Workers)
	if err != nil {
		return err
	}
	parts, err := fw.Close()
	if err != nil {
		return err
	}
	for i := range parts {
		parts[i].Path = r.out.Rel(parts[i].Path)
	}

	r.sum.Inputs = append(corpusInputs, tableInputs...)
	if cfgInput != nil {
		r.sum.Inputs = append(r.sum.Inputs, *cfgInput)
	}
	// A local "ETag" is only size and mtime: it pins reads within the run
	// but would make two audits of copies of the same files differ. The
	// SHA-256 identifies local content.
	normalizeInputs(r.sum.Inputs)
	r.sum.Outputs = parts
	return r.finish()
}

// finish checks coverage and sets the status. Coverage is the promise the
// exit code makes: every row counted in the footers was read and judged.
func (r *run) finish() error {
	c := &r.sum.Counts
	for _, f := range c.Files {
		if f.RowsJudged != f.RowsInFooter {
			return fmt.Errorf("coverage: %s: %d rows judged but its footer counts %d", f.Path, f.RowsJudged, f.RowsInFooter)
		}
	}
	if c.RowsScanned != c.RowsInFiles {
		return fmt.Errorf("coverage: %d rows judged but the footers count %d", c.RowsScanned, c.RowsInFiles)
	}
	c.RowsClean = c.RowsScanned - c.RowsFlagged
	var written int64
	for _, p := range r.sum.Outputs {
		written += p.Rows
	}
	if written != c.RowsFlagged {
		return fmt.Errorf("findings: %d rows flagged but %d written", c.RowsFlagged, written)
	}
	if c.RowsFlagged > 0 {
		r.sum.Status = schema.StatusFindings
	} else {
		r.sum.Status = schema.StatusClean
	}
	return nil
}

func loadConfig(ctx context.Context, p string, s3o lake.S3Options) (config.Config, *schema.InputFile, error) {
	if p == "" {
		return config.Config{}, nil, nil
	}
	loc, err := lake.Open(ctx, p, s3o)
	if err != nil {
		return config.Config{}, nil, fmt.Errorf("config %s: %w", p, err)
	}
	defer loc.Bucket.Close()
	in, data, err := report.ReadInput(ctx, loc, schema.RoleConfig)
	if err != nil {
		return config.Config{}, nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := config.Parse(strings.NewReader(string(data)), p)
	return cfg, &in, err
}

func mergeS3(base, over lake.S3Options) lake.S3Options {
	if over.Endpoint != "" {
		base.Endpoint = over.Endpoint
	}
	if over.PathStyle {
		base.PathStyle = true
	}
	if over.Region != "" {
		base.Region = over.Region
	}
	if over.SSE != "" {
		base.SSE = over.SSE
	}
	if over.SSEKMSKeyID != "" {
		base.SSEKMSKeyID = over.SSEKMSKeyID
	}
	if over.MaxInFlight != 0 {
		base.MaxInFlight = over.MaxInFlight
	}
	// Credentials and retry settings are never in the config file; those
	// given to the run apply to its inputs as to its output.
	if over.AccessKeyID != "" {
		base.AccessKeyID, base.SecretAccessKey, base.SessionToken = over.AccessKeyID, over.SecretAccessKey, over.SessionToken
	}
	if over.MaxAttempts != 0 {
		base.MaxAttempts = over.MaxAttempts
	}
	if over.MaxBackoff != 0 {
		base.MaxBackoff = over.MaxBackoff
	}
	return base
}

func openTables(ctx context.Context, o RunOptions, s3o lake.S3Options) (lookup.Tables, func(), error) {
	var t lookup.Tables
	var opened []lake.Location
	closeAll := func() {
		for _, l := range opened {
			l.Bucket.Close()
		}
	}
	open := func(role, raw string) (lake.Location, error) {
		l, err := lake.Open(ctx, raw, s3o)
		if err != nil {
			return l, fmt.Errorf("%s table %s: %w", role, raw, err)
		}
		opened = append(opened, l)
		return l, nil
	}
	var err error
	if t.Ages, err = open(schema.RoleAges, o.Ages); err != nil {
		closeAll()
		return t, nil, err
	}
	if t.Objections, err = open(schema.RoleObjections, o.Objections); err != nil {
		closeAll()
		return t, nil, err
	}
	if o.Links != "" {
		l, err := open(schema.RoleLinks, o.Links)
		if err != nil {
			closeAll()
			return t, nil, err
		}
		t.Links = &l
	}
	return t, closeAll, nil
}

// skipped reports whether a key relative to the snapshot folder is left
// out of the corpus: any element that starts with _ or . (Spark's _SUCCESS
// and _temporary/, Hadoop's .crc files), and anything not *.parquet.
func skipped(rel string) bool {
	return hidden(rel) || !strings.HasSuffix(strings.ToLower(path.Base(rel)), ".parquet")
}

// hidden reports whether any element of rel starts with _ or .
func hidden(rel string) bool {
	for _, e := range strings.Split(rel, "/") {
		if strings.HasPrefix(e, "_") || strings.HasPrefix(e, ".") {
			return true
		}
	}
	return false
}

// listCorpus lists the Parquet files of a snapshot folder and checks its
// _SUCCESS marker.
func listCorpus(ctx context.Context, loc lake.Location, allowUnmarked bool) ([]lake.Object, error) {
	files, _, err := listSnapshot(ctx, loc, allowUnmarked)
	return files, err
}

// listSnapshot is listCorpus that also returns the visible files it
// ignored (not *.parquet, not hidden by a _ or . element), so that a run
// can say which files of the folder it did not audit.
func listSnapshot(ctx context.Context, loc lake.Location, allowUnmarked bool) (files []lake.Object, ignored []string, err error) {
	all, err := loc.Files(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("corpus: %w", err)
	}
	marked := false
	for _, f := range all {
		rel := loc.Rel(f.Key)
		if rel == "_SUCCESS" {
			marked = true
		}
		if skipped(rel) {
			if !hidden(rel) {
				ignored = append(ignored, loc.URI(f.Key))
			}
			continue
		}
		files = append(files, f)
	}
	if len(all) == 1 && all[0].Key == loc.Key {
		return nil, nil, fmt.Errorf("corpus %s: is a file; give the snapshot folder", loc.Raw)
	}
	if !marked && !allowUnmarked {
		return nil, nil, fmt.Errorf("corpus %s: no _SUCCESS marker: the export is incomplete (give --allow-unmarked to audit it anyway)", loc.Raw)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("corpus %s: no Parquet files in the snapshot", loc.Raw)
	}
	return files, ignored, nil
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// oneLine folds an error onto one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

var _ = scan.Columns{}
