package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/schema"
	"github.com/corpus-audit/corpus-audit/state"
)

// nightlyLake builds a lake with the given snapshots (one lakegen lake
// each, small, the tables of the first) and returns its root.
func nightlyLake(t *testing.T, snapshots ...string) string {
	t.Helper()
	root := t.TempDir()
	for i, s := range snapshots {
		addSnapshot(t, root, s, i == 0)
	}
	return root
}

// addSnapshot generates a snapshot and copies it (and, with tables, the
// lookup tables) into the lake at root.
func addSnapshot(t *testing.T, root, snapshot string, tables bool) {
	t.Helper()
	res := genLake(t, func(o *lakegen.Options) { o.Snapshot = snapshot; o.Rows, o.Files, o.Accounts = 1200, 3, 400 })
	if err := os.CopyFS(filepath.Join(root, lakegen.CorpusDir(snapshot)), os.DirFS(filepath.Join(res.Out, lakegen.CorpusDir(snapshot)))); err != nil {
		t.Fatal(err)
	}
	if tables {
		if err := os.CopyFS(filepath.Join(root, "tables"), os.DirFS(filepath.Join(res.Out, "tables"))); err != nil {
			t.Fatal(err)
		}
	}
}

func nightlyOpts(lakeDir, stateDir string) NightlyOptions {
	return NightlyOptions{Lake: lakeDir, State: stateDir, Workers: 2}
}

func actions(r NightlyResult) string {
	var s []string
	for _, x := range r.Snapshots {
		s = append(s, x.Name+"="+x.Action)
	}
	return strings.Join(s, " ")
}

// checkAgainstRun compares a nightly audit's outputs with a plain run of
// the same snapshot.
func checkAgainstRun(t *testing.T, lakeDir string, sr SnapshotResult) {
	t.Helper()
	if sr.Audit == nil {
		t.Fatalf("snapshot %s: no audit", sr.Name)
	}
	single := t.TempDir()
	_, err := Run(context.Background(), RunOptions{
		Corpus: filepath.Join(lakeDir, "corpus", "snapshot="+sr.Name),
		Ages:   filepath.Join(lakeDir, "tables", "ages"), Objections: filepath.Join(lakeDir, "tables", "objections"),
		Links: filepath.Join(lakeDir, "tables", "links"), Out: single, Workers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	sameOutputs(t, single, sr.Audit.Out)
}

func TestNightlyIncremental(t *testing.T) {
	ctx := context.Background()
	lakeDir := nightlyLake(t, "2026-06-01", "2026-06-03", "2026-06-02")
	stateDir := filepath.Join(t.TempDir(), "state")
	// An incomplete export is left alone.
	os.MkdirAll(filepath.Join(lakeDir, "corpus", "snapshot=2026-06-09"), 0o755)
	os.WriteFile(filepath.Join(lakeDir, "corpus", "snapshot=2026-06-09", "part-0.parquet"), []byte("half"), 0o644)

	r := Nightly(ctx, nightlyOpts(lakeDir, stateDir))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got, want := actions(r), "2026-06-01=audited 2026-06-02=audited 2026-06-03=audited"; got != want {
		t.Fatalf("first run: %s, want %s (oldest first)", got, want)
	}
	if r.ExitCode() != schema.ExitFindings {
		t.Errorf("exit code %d", r.ExitCode())
	}
	for _, sr := range r.Snapshots {
		checkAgainstRun(t, lakeDir, sr)
		if !strings.Contains(sr.Audit.Out, filepath.Join("runs", "snapshot="+sr.Name, sr.Audit.RunID)) {
			t.Errorf("outputs in %s", sr.Audit.Out)
		}
		if left := filesUnder(filepath.Join(stateDir, "work")); len(left) > 0 {
			t.Errorf("checkpoints left: %v", left)
		}
	}

	// Nothing changed: nothing audited, the stored results decide the code.
	r2 := Nightly(ctx, nightlyOpts(lakeDir, stateDir))
	if got, want := actions(r2), "2026-06-01=unchanged 2026-06-02=unchanged 2026-06-03=unchanged"; got != want || r2.Err != nil {
		t.Fatalf("second run: %s %v", got, r2.Err)
	}
	if r2.ExitCode() != schema.ExitFindings {
		t.Errorf("second run exit code %d", r2.ExitCode())
	}
	for i, sr := range r2.Snapshots {
		if sr.Audit.RunID != r.Snapshots[i].Audit.RunID {
			t.Errorf("%s: stored run %s, first run %s", sr.Name, sr.Audit.RunID, r.Snapshots[i].Audit.RunID)
		}
		if !strings.Contains(sr.Line(), "unchanged, findings") {
			t.Errorf("line %q", sr.Line())
		}
	}

	// A new snapshot: only it is audited.
	addSnapshot(t, lakeDir, "2026-06-04", false)
	r3 := Nightly(ctx, nightlyOpts(lakeDir, stateDir))
	if got, want := actions(r3), "2026-06-01=unchanged 2026-06-02=unchanged 2026-06-03=unchanged 2026-06-04=audited"; got != want || r3.Err != nil {
		t.Fatalf("third run: %s %v", got, r3.Err)
	}
	checkAgainstRun(t, lakeDir, r3.Snapshots[3])

	// A changed input file: that snapshot again.
	f := filepath.Join(lakeDir, "corpus", "snapshot=2026-06-02", "platform=facebook", "part-00000.parquet")
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(f, future, future); err != nil {
		t.Fatal(err)
	}
	r4 := Nightly(ctx, nightlyOpts(lakeDir, stateDir))
	if got, want := actions(r4), "2026-06-01=unchanged 2026-06-02=audited 2026-06-03=unchanged 2026-06-04=unchanged"; got != want || r4.Err != nil {
		t.Fatalf("after a changed file: %s %v", got, r4.Err)
	}

	// A changed policy: all again.
	cfg := filepath.Join(t.TempDir(), "audit.yaml")
	os.WriteFile(cfg, []byte("policy:\n  version: \"2\"\n"), 0o644)
	o := nightlyOpts(lakeDir, stateDir)
	o.ConfigPath = cfg
	r5 := Nightly(ctx, o)
	if got, want := actions(r5), "2026-06-01=audited 2026-06-02=audited 2026-06-03=audited 2026-06-04=audited"; got != want || r5.Err != nil {
		t.Fatalf("after a policy change: %s %v", got, r5.Err)
	}

	// The state belongs to this lake.
	other := nightlyOpts(t.TempDir(), stateDir)
	if r := Nightly(ctx, other); r.Err == nil || !strings.Contains(r.Err.Error(), "belongs to lake") || r.ExitCode() != schema.ExitFailed {
		t.Errorf("another lake on the same state: %v", r.Err)
	}
}

// TestNightlyLocked: a second run while the lock is held does nothing and
// says so; after the lease of a dead holder, the lock is taken over.
func TestNightlyLocked(t *testing.T) {
	ctx := context.Background()
	lakeDir := nightlyLake(t, "2026-06-01")
	stateDir := filepath.Join(t.TempDir(), "state")
	st, err := state.Open(ctx, stateDir, lakeOpts())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	held, _, err := st.Acquire(ctx, state.LockOptions{Owner: "other", Host: "elsewhere", PID: 1, Lease: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	_ = held
	r := Nightly(ctx, nightlyOpts(lakeDir, stateDir))
	if r.Locked == nil || r.Err != nil || len(r.Snapshots) != 0 || r.ExitCode() != 0 {
		t.Fatalf("locked run: %+v", r)
	}
	if !strings.Contains(r.Locked.Error(), "other") {
		t.Errorf("message %q does not name the holder", r.Locked.Error())
	}
	// Later than the lease: the dead holder's lock is taken over.
	o := nightlyOpts(lakeDir, stateDir)
	o.Now = func() time.Time { return now.Add(2 * time.Minute) }
	r2 := Nightly(ctx, o)
	if r2.Locked != nil || r2.Err != nil || actions(r2) != "2026-06-01=audited" {
		t.Fatalf("after the lease: locked=%v err=%v %s", r2.Locked, r2.Err, actions(r2))
	}
}

// TestNightlyStopResumes: a run asked to stop (SIGTERM) ends at a
// checkpoint with exit code 2 and the state saved; the next run resumes
// without auditing the finished files again and ends with the outputs of
// an uninterrupted run.
func TestNightlyStopResumes(t *testing.T) {
	ctx := context.Background()
	lakeDir := nightlyLake(t, "2026-06-01")
	stateDir := filepath.Join(t.TempDir(), "state")
	stop := make(chan struct{})
	o := nightlyOpts(lakeDir, stateDir)
	o.Workers = 1
	o.Stop = stop
	o.Progress = &Progress{}
	// Stop as soon as the first file is done.
	go func() {
		for o.Progress.FilesDone.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		close(stop)
	}()
	r := Nightly(ctx, o)
	if r.ExitCode() != schema.ExitFailed || len(r.Snapshots) != 1 || !errors.Is(r.Snapshots[0].Err, ErrStopped) {
		t.Fatalf("stopped run: code %d, %+v", r.ExitCode(), r.Snapshots)
	}
	st, _ := state.Open(ctx, stateDir, lakeOpts())
	s, err := st.Load(ctx)
	if err != nil || s.Snapshots["2026-06-01"].InProgress == nil {
		t.Fatalf("state after the stop: %+v %v", s, err)
	}
	units, _ := filepath.Glob(filepath.Join(s.Snapshots["2026-06-01"].InProgress.Work, unitsDir, "*.json"))
	if len(units) == 0 || len(units) == 3 {
		t.Fatalf("%d units checkpointed, want some but not all", len(units))
	}
	r2 := Nightly(ctx, nightlyOpts(lakeDir, stateDir))
	if r2.Err != nil || actions(r2) != "2026-06-01=resumed" || r2.ExitCode() != schema.ExitFindings {
		t.Fatalf("resumed run: %s %v", actions(r2), r2.Err)
	}
	if r2.Snapshots[0].BytesScanned == 0 {
		t.Error("resumed run read nothing")
	}
	checkAgainstRun(t, lakeDir, r2.Snapshots[0])
}

func lakeOpts() lake.S3Options { return lake.S3Options{} }

// filesUnder lists the regular files under dir.
func filesUnder(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestNightlyToolVersion: a snapshot whose stored audit was made by
// another version of corpus-audit is audited again; by the same version,
// it is left unchanged.
func TestNightlyToolVersion(t *testing.T) {
	ctx := context.Background()
	lakeDir := nightlyLake(t, "2026-06-01")
	stateDir := filepath.Join(t.TempDir(), "state")
	for _, step := range []struct{ version, want string }{
		{"1.4.0", "2026-06-01=audited"},
		{"1.4.0", "2026-06-01=unchanged"},
		{"1.4.1", "2026-06-01=audited"},
		{"1.4.1", "2026-06-01=unchanged"},
	} {
		o := nightlyOpts(lakeDir, stateDir)
		o.Version = step.version
		r := Nightly(ctx, o)
		if got := actions(r); got != step.want || r.Err != nil {
			t.Fatalf("run by %s: %s %v, want %s", step.version, got, r.Err, step.want)
		}
	}
}
