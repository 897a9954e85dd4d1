package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
	"github.com/corpus-audit/corpus-audit/state"
)

// NightlyOptions are the inputs of `corpus-audit nightly`.
type NightlyOptions struct {
	// Lake is the lake's root: snapshots under <Lake>/<CorpusDir>/snapshot=…/,
	// tables under <Lake>/tables/ unless given.
	Lake string
	// State is the state location (state.json, the lock, checkpoints).
	State string
	// Runs is where each audit's outputs go, as
	// <Runs>/snapshot=<…>/<run-id>/ (default <State>/runs).
	Runs string
	// CorpusDir is the corpus folder under the lake (default "corpus").
	CorpusDir string
	// Ages, Objections, Links default to <Lake>/tables/ages, …/objections,
	// …/links. NoLinks audits without a links table.
	Ages, Objections, Links string
	NoLinks                 bool
	ConfigPath              string
	Workers                 int
	NoHash                  bool
	NoReadAhead             bool
	S3                      lake.S3Options
	// LockLease is the state lock's lease (default state.DefaultLease).
	LockLease time.Duration
	// PseudonymKeyFile and SignKeyFile as for RunOptions.
	PseudonymKeyFile string
	SignKeyFile      string
	// Stop, when closed, ends the run at the next checkpoint (SIGTERM):
	// the state is saved and a later run resumes.
	Stop <-chan struct{}
	// Progress, if set, follows the snapshot being audited.
	Progress *Progress

	Log     *slog.Logger
	Version string
	Now     func() time.Time
}

// Actions taken on a snapshot.
const (
	ActionAudited = "audited"
	ActionResumed = "resumed"
	ActionSkipped = "unchanged"
	ActionFailed  = "failed"
	ActionPending = "not audited"
)

// SnapshotResult is what a nightly run did with one snapshot.
type SnapshotResult struct {
	Name   string
	Action string
	// Audit is the stored result the snapshot now has (new or unchanged);
	// nil if it was never audited to the end.
	Audit *state.Audit
	// Summary is set for a snapshot audited in this run.
	Summary *schema.Summary
	// BytesScanned is the size of the corpus files read in this run.
	BytesScanned int64
	Duration     time.Duration
	Err          error
}

// ExitCode is the snapshot's contribution to the exit code.
func (s SnapshotResult) ExitCode() int {
	if s.Err != nil || s.Audit == nil {
		return schema.ExitFailed
	}
	return s.Audit.Status.ExitCode()
}

// Line is the one-line summary of the snapshot printed on stdout.
func (s SnapshotResult) Line() string {
	a := s.Audit
	switch {
	case s.Err != nil:
		return fmt.Sprintf("snapshot %s: %s: %s", s.Name, ActionFailed, oneLine(s.Err))
	case a == nil:
		return fmt.Sprintf("snapshot %s: %s", s.Name, s.Action)
	default:
		return fmt.Sprintf("snapshot %s: %s, %s: %d files, %d rows judged, %d flagged; run %s, outputs in %s",
			s.Name, s.Action, a.Status, a.Files, a.RowsScanned, a.RowsFlagged, a.RunID, a.Out)
	}
}

// NightlyResult is what a nightly run did.
type NightlyResult struct {
	// Locked is set when another run holds the state lock: nothing was done.
	Locked *state.LockedError
	// Snapshots lists every complete snapshot of the lake, oldest first.
	Snapshots []SnapshotResult
	Started   time.Time
	Duration  time.Duration
	// Err is a failure of the run as a whole (state, lock, listing); the
	// snapshots audited before it keep their results.
	Err error
}

// ExitCode is 0 when every snapshot's stored audit is clean, 1 when some
// has findings and none failed, 2 when anything failed or was not
// audited. A run that found the lock held exits 0: the holder reports.
func (r NightlyResult) ExitCode() int {
	if r.Locked != nil {
		return schema.ExitClean
	}
	code := schema.ExitClean
	if r.Err != nil {
		code = schema.ExitFailed
	}
	for _, s := range r.Snapshots {
		code = max(code, s.ExitCode())
	}
	return code
}

// snapshotDir is one complete snapshot folder of the lake.
type snapshotDir struct {
	name, elem string // name unescaped; elem as in the key
	at         time.Time
	files      []lake.Object
	err        error
}

// Nightly audits every complete snapshot of a lake that has no valid
// audit yet, oldest first, under the state lock; see NightlyOptions.
func Nightly(ctx context.Context, o NightlyOptions) NightlyResult {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = discardLog()
	}
	if o.CorpusDir == "" {
		o.CorpusDir = "corpus"
	}
	res := NightlyResult{Started: o.Now()}
	defer func() { res.Duration = o.Now().Sub(res.Started) }()
	n := &nightly{o: o, res: &res}
	res.Err = n.run(ctx)
	if res.Err != nil {
		res.Err = foldedError{res.Err}
	}
	return res
}

type nightly struct {
	o     NightlyOptions
	s3o   lake.S3Options // the flags' S3 settings over the config file's
	res   *NightlyResult
	store *state.Store
	lock  *state.Lock
	st    *state.State
}

func (n *nightly) run(ctx context.Context) error {
	o := n.o
	for _, req := range []struct{ name, v string }{{"--lake", o.Lake}, {"--state", o.State}} {
		if req.v == "" {
			return fmt.Errorf("%w: %s is required", ErrUsage, req.name)
		}
	}
	if o.Runs == "" {
		o.Runs = joinURI(o.State, "runs")
	}
	if o.Ages == "" {
		o.Ages = joinURI(o.Lake, "tables/ages")
	}
	if o.Objections == "" {
		o.Objections = joinURI(o.Lake, "tables/objections")
	}
	if o.Links == "" && !o.NoLinks {
		o.Links = joinURI(o.Lake, "tables/links")
	}
	if o.NoLinks {
		o.Links = ""
	}
	n.o = o
	cfg, _, err := loadConfig(ctx, o.ConfigPath, o.S3)
	if err != nil {
		return err
	}
	s3o := mergeS3(cfg.S3Options(), o.S3)
	n.s3o = s3o
	pol, err := cfg.PolicyValue()
	if err != nil {
		return err
	}
	policyHash := pol.Hash()
	// What of the config file decides the results: the policy and the
	// column names (not the S3 or job settings beside them).
	auditCfg := fmt.Sprintf("%s %+v", policyHash, cfg.ScanColumns())

	n.store, err = state.Open(ctx, o.State, s3o)
	if err != nil {
		return err
	}
	defer n.store.Close()
	runID := newRunID(o.Now())
	lock, lctx, err := n.store.Acquire(ctx, state.LockOptions{Owner: runID, Lease: o.LockLease, Now: o.Now})
	var le *state.LockedError
	if errors.As(err, &le) {
		n.res.Locked = le
		o.Log.Info("another nightly run holds the state lock: nothing to do", "lock", le.URI, "holder", le.Holder.Owner,
			"host", le.Holder.Host, "heartbeat_age", o.Now().Sub(le.Holder.Heartbeat).Round(time.Second).String())
		return nil
	}
	if err != nil {
		return err
	}
	n.lock = lock
	defer func() {
		if err := lock.Release(context.WithoutCancel(ctx)); err != nil {
			o.Log.Warn("releasing the state lock", "error", err.Error())
		}
	}()
	ctx = lctx
	o.Log.Info("state lock taken", "run_id", runID, "lock_generation", lock.Info().Generation, "lease", time.Duration(lock.Info().Lease).String())
	hold("locked")

	n.st, err = n.store.Load(ctx)
	if err != nil {
		return err
	}
	if n.st.Lake == "" {
		n.st.Lake = o.Lake
	} else if n.st.Lake != o.Lake {
		return fmt.Errorf("state %s belongs to lake %s, not %s: give each lake its own --state", n.store.URI(state.FileName), n.st.Lake, o.Lake)
	}

	snaps, err := n.discover(ctx, s3o)
	if err != nil {
		return err
	}
	tablesFP, err := n.tablesFingerprint(ctx, s3o)
	if err != nil {
		return err
	}
	n.cleanWork(ctx)
	o.Log.Info("snapshots discovered", "lake", o.Lake, "complete_snapshots", len(snaps))
	for i, sd := range snaps {
		if err := stopped(ctx, o.Stop); err != nil {
			for _, rest := range snaps[i:] {
				n.res.Snapshots = append(n.res.Snapshots, n.pendingResult(rest.name))
			}
			return err
		}
		sr := n.snapshot(ctx, sd, policyHash, tablesFP, auditCfg)
		n.res.Snapshots = append(n.res.Snapshots, sr)
		if cause := context.Cause(ctx); cause != nil {
			// Lock lost or hard stop: the snapshots left are not audited.
			for _, rest := range snaps[i+1:] {
				n.res.Snapshots = append(n.res.Snapshots, n.pendingResult(rest.name))
			}
			return cause
		}
		if errors.Is(sr.Err, errStopped) {
			for _, rest := range snaps[i+1:] {
				n.res.Snapshots = append(n.res.Snapshots, n.pendingResult(rest.name))
			}
			return nil
		}
	}
	return nil
}

// pendingResult is a snapshot this run did not get to: it keeps its
// stored result, which counts only if still valid (else "not audited").
func (n *nightly) pendingResult(name string) SnapshotResult {
	sr := SnapshotResult{Name: name, Action: ActionPending}
	if rec := n.st.Snapshots[name]; rec != nil && rec.InProgress == nil {
		sr.Audit = rec.Last
	}
	return sr
}

func stopped(ctx context.Context, stop <-chan struct{}) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	select {
	case <-stop:
		return errStopped
	default:
		return nil
	}
}

// discover lists the lake's complete snapshots (those with _SUCCESS),
// oldest first, with their files.
func (n *nightly) discover(ctx context.Context, s3o lake.S3Options) ([]snapshotDir, error) {
	root, err := lake.Open(ctx, joinURI(n.o.Lake, n.o.CorpusDir), s3o)
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", n.o.Lake, err)
	}
	defer root.Bucket.Close()
	prefix := root.Key
	if prefix != "" {
		prefix += "/"
	}
	byElem := map[string]*snapshotDir{}
	complete := map[string]bool{}
	err = root.Bucket.Iter(ctx, prefix, func(key string, a lake.Attrs) error {
		rel := key[len(prefix):]
		elem, rest, ok := strings.Cut(rel, "/")
		if !ok || !strings.HasPrefix(elem, "snapshot=") {
			return nil
		}
		sd := byElem[elem]
		if sd == nil {
			sd = &snapshotDir{elem: elem}
			byElem[elem] = sd
		}
		if rest == "_SUCCESS" {
			complete[elem] = true
		}
		if !skipped(rest) {
			sd.files = append(sd.files, lake.Object{Key: key, Attrs: a})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	var out []snapshotDir
	for elem, sd := range byElem {
		if !complete[elem] {
			n.o.Log.Info("snapshot not complete yet (no _SUCCESS): left for a later run", "snapshot", elem)
			continue
		}
		v := strings.TrimPrefix(elem, "snapshot=")
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		sd.name = v
		sd.at, sd.err = parseSnapshotAt(v)
		if sd.err != nil {
			sd.err = fmt.Errorf("%s: %w", root.URI(prefix+elem), sd.err)
		}
		out = append(out, *sd)
	}
	slices.SortFunc(out, func(a, b snapshotDir) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// tablesFingerprint hashes the table files' keys, sizes and ETags.
func (n *nightly) tablesFingerprint(ctx context.Context, s3o lake.S3Options) (string, error) {
	h := sha256.New()
	for _, t := range []struct{ role, raw string }{{schema.RoleAges, n.o.Ages}, {schema.RoleObjections, n.o.Objections}, {schema.RoleLinks, n.o.Links}} {
		if t.raw == "" {
			continue
		}
		loc, err := lake.Open(ctx, t.raw, s3o)
		if err != nil {
			return "", fmt.Errorf("%s table %s: %w", t.role, t.raw, err)
		}
		files, err := loc.Files(ctx)
		loc.Bucket.Close()
		if err != nil {
			return "", fmt.Errorf("%s table: %w", t.role, err)
		}
		if len(files) == 0 {
			return "", fmt.Errorf("%s table %s: no files", t.role, t.raw)
		}
		for _, f := range files {
			fmt.Fprintf(h, "%s %q %d %q %q\n", t.role, loc.URI(f.Key), f.Attrs.Size, f.Attrs.ETag, f.Attrs.VersionID)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fingerprint hashes what decides a snapshot's audit: its corpus files'
// keys, sizes and ETags, the tables' fingerprint, what of the config
// decides results, and the version of corpus-audit (tool). A stored audit
// made by another version is not trusted — a rule may have been fixed
// since — so after an upgrade (or a downgrade) every snapshot is audited
// again, and an audit interrupted under another version starts over.
func fingerprint(sd snapshotDir, tablesFP, auditCfg, tool string) (string, int) {
	h := sha256.New()
	fmt.Fprintf(h, "tables %s\nconfig %s\ntool %q\n", tablesFP, auditCfg, tool)
	for _, f := range sd.files {
		fmt.Fprintf(h, "corpus %q %d %q %q\n", f.Key, f.Attrs.Size, f.Attrs.ETag, f.Attrs.VersionID)
	}
	return hex.EncodeToString(h.Sum(nil)), len(sd.files)
}

// cleanWork deletes checkpoint folders no audit in progress refers to
// (left by a run killed after it saved its result). Best effort.
func (n *nightly) cleanWork(ctx context.Context) {
	keep := map[string]bool{}
	for _, rec := range n.st.Snapshots {
		if rec.InProgress != nil {
			keep[rec.InProgress.Work] = true
		}
	}
	work := n.store.Location()
	prefix := work.Join("work") + "/"
	var stale []string
	work.Bucket.Iter(ctx, prefix, func(key string, _ lake.Attrs) error {
		parts := strings.SplitN(key[len(prefix):], "/", 3)
		if len(parts) < 3 {
			return nil
		}
		if !keep[joinURI(n.o.State, "work/"+parts[0]+"/"+parts[1])] {
			stale = append(stale, key)
		}
		return nil
	})
	for _, k := range stale {
		work.Bucket.Delete(ctx, k)
	}
}

// snapshot audits one snapshot unless its stored audit is still valid:
// complete, with today's policy and fingerprint, which covers the inputs,
// the config and the version of corpus-audit (see fingerprint).
func (n *nightly) snapshot(ctx context.Context, sd snapshotDir, policyHash, tablesFP, auditCfg string) SnapshotResult {
	o := n.o
	t0 := o.Now()
	sr := SnapshotResult{Name: sd.name}
	defer func() { sr.Duration = o.Now().Sub(t0) }()
	if sd.err != nil {
		sr.Err = sd.err
		return sr
	}
	fp, nInputs := fingerprint(sd, tablesFP, auditCfg, report.Tool(o.Version).Version)
	rec := n.st.Snapshots[sd.name]
	if rec == nil {
		rec = &state.Snapshot{}
		n.st.Snapshots[sd.name] = rec
	}
	if last := rec.Last; rec.InProgress == nil && last.Complete() && last.PolicyHash == policyHash && last.Fingerprint == fp {
		sr.Action, sr.Audit = ActionSkipped, last
		o.Log.Info("snapshot unchanged since its last audit: skipped", "snapshot", sd.name, "run_id", last.RunID, "status", string(last.Status))
		return sr
	}
	a := rec.InProgress
	sr.Action = ActionResumed
	if a == nil || a.PolicyHash != policyHash || a.Fingerprint != fp {
		if a != nil {
			o.Log.Info("inputs, policy or corpus-audit version changed since the interrupted audit: starting over", "snapshot", sd.name, "old_run_id", a.RunID)
			if wl, err := lake.Open(ctx, a.Work, n.s3o); err == nil {
				clearPrefix(ctx, wl, "")
				wl.Bucket.Close()
			}
		}
		id := newRunID(o.Now())
		a = &state.Audit{
			RunID:      id,
			Out:        joinURI(o.Runs, sd.elem+"/"+id),
			Work:       joinURI(o.State, "work/"+sd.elem+"/"+id),
			PolicyHash: policyHash, Fingerprint: fp, Inputs: nInputs, Started: o.Now().UTC(),
		}
		rec.InProgress = a
		sr.Action = ActionAudited
		if err := n.save(ctx); err != nil {
			sr.Err = err
			return sr
		}
	}
	o.Log.Info("snapshot audit started", "snapshot", sd.name, "run_id", a.RunID, "action", sr.Action, "out", a.Out)

	ro := RunOptions{
		Corpus:      joinURI(o.Lake, o.CorpusDir+"/"+sd.elem),
		Ages:        o.Ages,
		Objections:  o.Objections,
		Links:       o.Links,
		Out:         a.Out,
		ConfigPath:  o.ConfigPath,
		Workers:     o.Workers,
		NoHash:      o.NoHash,
		NoReadAhead: o.NoReadAhead,
		S3:          n.s3o,
		Log:         o.Log.With("snapshot", sd.name),
		Version:     o.Version,
		Now:         o.Now,
		Progress:    o.Progress,

		PseudonymKeyFile: o.PseudonymKeyFile,
		SignKeyFile:      o.SignKeyFile,
	}
	work, err := lake.Open(ctx, a.Work, n.s3o)
	if err != nil {
		sr.Err = fmt.Errorf("checkpoints %s: %w", a.Work, err)
		return sr
	}
	defer work.Bucket.Close()
	pr := &partialRun{o: ro, shard: Shard{0, 1}, work: work, fileMode: true, stop: o.Stop}
	ps, _, perr := pr.run(ctx)
	if perr != nil {
		if errors.Is(perr, errStopped) || context.Cause(ctx) != nil {
			// Checkpoints are saved; the next run resumes.
			sr.Err = perr
			if errors.Is(perr, errStopped) {
				sr.Err = errStopped
			}
			o.Log.Info("snapshot audit interrupted: it resumes next time", "snapshot", sd.name, "run_id", a.RunID, "error", oneLine(perr))
			return sr
		}
		// The audit failed: say so in its output folder and in the state.
		sum, _ := runWith(ctx, ro, func(*run, context.Context) error { return perr })
		n.ended(ctx, rec, a, &sum, perr)
		sr.Err, sr.Summary = foldedError{perr}, &sum
		return sr
	}
	sr.BytesScanned = ps.BytesRead
	hold("scanned")
	sum, merr := runWith(ctx, ro, func(r *run, ctx context.Context) error {
		err := r.merge(ctx, []lake.Location{work})
		if err == nil {
			hold("merged")
		}
		return err
	})
	sr.Summary = &sum
	if merr != nil && context.Cause(ctx) != nil {
		sr.Err = merr
		return sr
	}
	if err := n.ended(ctx, rec, a, &sum, merr); err != nil {
		sr.Err = err
		return sr
	}
	hold("saved")
	if merr != nil {
		sr.Err = merr
		return sr
	}
	sr.Audit = rec.Last
	// The checkpoints have served.
	if err := clearPrefix(ctx, work, ""); err != nil {
		o.Log.Warn("deleting checkpoints", "dir", a.Work, "error", err.Error())
	}
	c := sum.Counts
	o.Log.Info("snapshot audited", "snapshot", sd.name, "run_id", a.RunID, "status", string(sum.Status),
		"files", c.FilesScanned, "rows", c.RowsScanned, "flagged", c.RowsFlagged, "resumed_units", ps.Resumed,
		"bytes", ps.BytesRead, "duration", o.Now().Sub(t0).Round(time.Millisecond).String(), "out", a.Out)
	return sr
}

// ended records an audit's end in the state and saves it. A failed audit
// stays in progress, so that the next run resumes it.
func (n *nightly) ended(ctx context.Context, rec *state.Snapshot, a *state.Audit, sum *schema.Summary, err error) error {
	done := *a
	done.Work = ""
	done.Ended = n.o.Now().UTC()
	done.Status = sum.Status
	done.RowsScanned, done.RowsFlagged, done.Files = sum.Counts.RowsScanned, sum.Counts.RowsFlagged, sum.Counts.FilesScanned
	if err != nil {
		done.Status = schema.StatusIncomplete
		done.Error = oneLine(err)
	} else {
		rec.InProgress = nil
	}
	rec.Last = &done
	return n.save(context.WithoutCancel(ctx))
}

// save writes the state, after checking the lock is still ours.
func (n *nightly) save(ctx context.Context) error {
	if err := n.lock.Check(ctx); err != nil {
		return err
	}
	n.st.Updated = n.o.Now().UTC()
	return n.store.Save(ctx, n.st)
}

// newRunID names a run: its UTC start time and a random suffix.
func newRunID(now time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// joinURI joins a slash-separated relative path to a local path or an S3 URI.
func joinURI(base, rel string) string {
	if lake.IsS3(base) {
		return strings.TrimSuffix(base, "/") + "/" + rel
	}
	return filepath.Join(base, filepath.FromSlash(rel))
}
