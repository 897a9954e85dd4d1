package main

// End-to-end tests of the operations commands: the corpus-audit binary is
// built and run as cron, Kubernetes or AWS Batch would run it, against a
// real S3 server on loopback.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lake/s3test"
	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// buildBinary builds corpus-audit into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "corpus-audit")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cliEnv is a clean environment for the binary: no inherited
// CORPUS_AUDIT_* or AWS_* settings, the S3 server's credentials.
func cliEnv(srv *s3test.Server, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CORPUS_AUDIT_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	if srv != nil {
		env = append(env,
			"AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey, "AWS_REGION="+s3test.Region,
			// The S3 settings through the environment layer.
			"CORPUS_AUDIT_S3_ENDPOINT="+srv.Endpoint, "CORPUS_AUDIT_S3_PATH_STYLE=true")
	}
	// Clipped: callers append to it concurrently.
	return slices.Clip(append(env, extra...))
}

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return result{code, out.String(), errb.String()}
}

// startUntil starts the binary and waits until its stderr has a line
// containing marker; the rest of its output is drained in the background.
func startUntil(t *testing.T, bin string, env []string, marker string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout = io.Discard
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan struct{})
	var log bytes.Buffer
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := false
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if !once && strings.Contains(sc.Text(), marker) {
				once = true
				close(found)
			}
		}
		if !once {
			close(found)
		}
	}()
	select {
	case <-found:
	case <-time.After(2 * time.Minute):
		t.Fatalf("no %q from %v", marker, args)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(log.String(), marker) {
		t.Fatalf("%v exited without %q:\n%s", args, marker, log.String())
	}
	return cmd
}

// genSnapshot generates one small snapshot (and tables) into a new folder.
func genSnapshot(t *testing.T, snapshot string, files int) string {
	t.Helper()
	o := lakegen.DefaultOptions()
	o.Snapshot, o.Rows, o.Files, o.Accounts, o.RowGroupRows = snapshot, int64(files)*400, files, 400, 150
	res, err := lakegen.Generate(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res.Out
}

// upload copies a local folder to s3://bucket/prefix/.
func upload(t *testing.T, srv *s3test.Server, bucket, local, prefix string) {
	t.Helper()
	b, err := lake.NewS3(context.Background(), bucket, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = filepath.WalkDir(local, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return b.Upload(context.Background(), path.Join(prefix, filepath.ToSlash(rel)), f)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addToLake uploads a generated snapshot's corpus folder (and, with
// tables, its lookup tables) into the S3 lake.
func addToLake(t *testing.T, srv *s3test.Server, bucket, lakePrefix, snapshot string, files int, tables bool) {
	t.Helper()
	dir := genSnapshot(t, snapshot, files)
	upload(t, srv, bucket, filepath.Join(dir, lakegen.CorpusDir(snapshot)), lakePrefix+"/"+lakegen.CorpusDir(snapshot))
	if tables {
		upload(t, srv, bucket, filepath.Join(dir, "tables"), lakePrefix+"/tables")
	}
}

// download copies s3://bucket/prefix/ into a new local folder.
func download(t *testing.T, srv *s3test.Server, uri string) string {
	t.Helper()
	loc, err := lake.Open(context.Background(), uri, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Bucket.Close()
	dst := t.TempDir()
	files, err := loc.Files(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rc, err := loc.Bucket.Get(context.Background(), f.Key)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, filepath.FromSlash(loc.Rel(f.Key)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, data, 0o644)
	}
	return dst
}

func readSummaryFile(t *testing.T, dir string) schema.Summary {
	t.Helper()
	s, err := report.ReadSummary(context.Background(), lake.NewLocal(dir), schema.SummaryFile)
	if err != nil {
		t.Fatal(err)
	}
	return *s
}

// sameResult fails unless two output folders hold byte-identical findings
// and the same summary apart from the run's own metadata.
func sameResult(t *testing.T, want, got string) {
	t.Helper()
	wp, _ := filepath.Glob(filepath.Join(want, schema.FindingsDir, "*.parquet"))
	gp, _ := filepath.Glob(filepath.Join(got, schema.FindingsDir, "*.parquet"))
	if len(wp) == 0 || len(wp) != len(gp) {
		t.Fatalf("%d findings parts, want %d", len(gp), len(wp))
	}
	for i := range wp {
		a, _ := os.ReadFile(wp[i])
		b, _ := os.ReadFile(gp[i])
		if !bytes.Equal(a, b) {
			t.Errorf("findings %s differ from the reference (%d and %d bytes)", filepath.Base(gp[i]), len(b), len(a))
		}
	}
	sw, sg := readSummaryFile(t, want), readSummaryFile(t, got)
	sw.Run, sg.Run = schema.RunInfo{}, schema.RunInfo{}
	jw, _ := json.Marshal(sw)
	jg, _ := json.Marshal(sg)
	if !bytes.Equal(jw, jg) {
		t.Errorf("summaries differ:\nreference: %s\ngot:       %s", jw, jg)
	}
}

// stateOf reads state.json from S3.
func stateOf(t *testing.T, srv *s3test.Server, uri string) map[string]any {
	t.Helper()
	dir := download(t, srv, uri)
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	return m
}

// outOf returns the outputs folder a stdout line names for a snapshot.
func outOf(t *testing.T, stdout, snapshot string) string {
	t.Helper()
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "snapshot "+snapshot+":") {
			if _, o, ok := strings.Cut(l, "outputs in "); ok {
				return o
			}
		}
	}
	t.Fatalf("no outputs of snapshot %s in:\n%s", snapshot, stdout)
	return ""
}

// referenceRun audits one S3 snapshot with the plain run command.
func referenceRun(t *testing.T, bin string, env []string, lakeURI, snapshot string) string {
	t.Helper()
	out := t.TempDir()
	r := runBin(t, bin, env, "run", "--corpus", lakeURI+"/corpus/snapshot="+snapshot,
		"--ages", lakeURI+"/tables/ages", "--objections", lakeURI+"/tables/objections", "--links", lakeURI+"/tables/links",
		"--out", out)
	if r.code != schema.ExitFindings {
		t.Fatalf("reference run: exit %d\n%s", r.code, r.stderr)
	}
	return out
}

// TestNightlyS3 is the acceptance test: three snapshots audited,
// none the second time (exit code from the stored results), only a new
// fourth one, a run killed mid-way resumed to identical results, and a
// second run refused while the first holds the lock.
func TestNightlyS3(t *testing.T) {
	bin := buildBinary(t)
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	lakeURI := "s3://" + bucket + "/lake"
	stateURI := "s3://" + bucket + "/audit"
	env := cliEnv(srv)
	for i, s := range []string{"2026-06-01", "2026-06-02", "2026-06-03"} {
		addToLake(t, srv, bucket, "lake", s, 2, i == 0)
	}
	nightly := func(extra ...string) result {
		return runBin(t, bin, env, append([]string{"nightly", "--lake", lakeURI, "--state", stateURI}, extra...)...)
	}

	r := nightly()
	if r.code != schema.ExitFindings {
		t.Fatalf("first nightly: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("stdout has %d lines, want one per snapshot:\n%s", len(lines), r.stdout)
	}
	for i, s := range []string{"2026-06-01", "2026-06-02", "2026-06-03"} {
		if !strings.HasPrefix(lines[i], "snapshot "+s+": audited, findings") {
			t.Errorf("line %d: %q", i, lines[i])
		}
	}
	// One snapshot's outputs against a plain run of it.
	got := download(t, srv, outOf(t, r.stdout, "2026-06-02"))
	sameResult(t, referenceRun(t, bin, env, lakeURI, "2026-06-02"), got)
	if !strings.Contains(outOf(t, r.stdout, "2026-06-02"), stateURI+"/runs/snapshot=2026-06-02/") {
		t.Errorf("outputs not under runs/: %s", outOf(t, r.stdout, "2026-06-02"))
	}
	checkLogs(t, r.stderr, srv.SecretKey)

	// Again: nothing to do, the stored results give the exit code.
	r2 := nightly()
	if r2.code != schema.ExitFindings || strings.Count(r2.stdout, ": unchanged, findings") != 3 || strings.Contains(r2.stdout, "audited") {
		t.Fatalf("second nightly: exit %d\n%s\n%s", r2.code, r2.stdout, r2.stderr)
	}

	// A fourth snapshot: only it.
	addToLake(t, srv, bucket, "lake", "2026-06-04", 2, false)
	r3 := nightly()
	if r3.code != schema.ExitFindings || strings.Count(r3.stdout, ": unchanged") != 3 || !strings.Contains(r3.stdout, "snapshot 2026-06-04: audited") {
		t.Fatalf("third nightly: exit %d\n%s\n%s", r3.code, r3.stdout, r3.stderr)
	}

	// A second run while the first holds the lock exits cleanly.
	addToLake(t, srv, bucket, "lake", "2026-06-05", 4, false)
	first := startUntil(t, bin, append(env, "CORPUS_AUDIT_TEST_HOLD=unit-done:2"), "test hold at unit-done:2",
		"nightly", "--lake", lakeURI, "--state", stateURI, "--workers", "1")
	r4 := nightly()
	if r4.code != 0 || !strings.Contains(r4.stdout, "another nightly run holds the lock") || strings.Contains(r4.stdout, "snapshot ") {
		t.Fatalf("nightly while locked: exit %d\n%s\n%s", r4.code, r4.stdout, r4.stderr)
	}
	// The first is killed mid-way; the next run takes over its lock (its
	// process is gone) and resumes it.
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	r5 := nightly()
	if r5.code != schema.ExitFindings || !strings.Contains(r5.stdout, "snapshot 2026-06-05: resumed, findings") {
		t.Fatalf("nightly after the kill: exit %d\n%s\n%s", r5.code, r5.stdout, r5.stderr)
	}
	if !strings.Contains(r5.stderr, `"resumed":`) && !strings.Contains(r5.stderr, `"resumed_units":`) {
		t.Errorf("no resume logged:\n%s", r5.stderr)
	}
	sameResult(t, referenceRun(t, bin, env, lakeURI, "2026-06-05"), download(t, srv, outOf(t, r5.stdout, "2026-06-05")))
	st := stateOf(t, srv, stateURI)
	snaps := st["snapshots"].(map[string]any)
	if len(snaps) != 5 {
		t.Errorf("state has %d snapshots", len(snaps))
	}
}

// checkLogs: JSON events per unit and per snapshot with counts and
// durations, and never the secret key.
func checkLogs(t *testing.T, stderr, secret string) {
	t.Helper()
	if strings.Contains(stderr, secret) {
		t.Error("the logs hold the S3 secret key")
	}
	events := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Errorf("log line is not JSON (stderr is not a terminal): %q", l)
			continue
		}
		msg, _ := ev["msg"].(string)
		events[msg]++
		switch msg {
		case "unit checkpointed", "snapshot audited":
			for _, k := range []string{"rows", "flagged", "duration", "snapshot"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("%q event without %s: %s", msg, k, l)
				}
			}
		}
	}
	if events["unit checkpointed"] == 0 || events["snapshot audited"] == 0 {
		t.Errorf("events logged: %v", events)
	}
}

// TestNightlyKillResume kills nightly with SIGKILL at several points and
// checks that the next run ends with the outputs of an uninterrupted run.
func TestNightlyKillResume(t *testing.T) {
	bin := buildBinary(t)
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	lakeURI := "s3://" + bucket + "/lake"
	env := cliEnv(srv)
	addToLake(t, srv, bucket, "lake", "2026-06-01", 5, true)
	ref := referenceRun(t, bin, env, lakeURI, "2026-06-01")
	points := []string{"locked", "checkpoint:1", "unit-done:3", "checkpoint:5", "scanned", "merged", "saved"}
	if os.Getenv("CORPUS_AUDIT_SOAK") != "" {
		points = append(points, "checkpoint:2", "checkpoint:3", "checkpoint:4", "unit-done:1", "unit-done:5")
	}
	for i, point := range points {
		t.Run(point, func(t *testing.T) {
			stateURI := fmt.Sprintf("s3://%s/audit-%d", bucket, i)
			args := []string{"nightly", "--lake", lakeURI, "--state", stateURI, "--workers", "1"}
			cmd := startUntil(t, bin, append(env, "CORPUS_AUDIT_TEST_HOLD="+point), "test hold at "+point, args...)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			r := runBin(t, bin, env, args...)
			if r.code != schema.ExitFindings {
				t.Fatalf("resumed run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			sameResult(t, ref, download(t, srv, outOf(t, r.stdout, "2026-06-01")))
			// Files checkpointed before the kill are not read again.
			if k, ok := strings.CutPrefix(point, "checkpoint:"); ok {
				var resumed int
				for _, l := range strings.Split(r.stderr, "\n") {
					if strings.Contains(l, `"msg":"partial audit started"`) {
						var ev struct{ Resumed int }
						json.Unmarshal([]byte(l), &ev)
						resumed = ev.Resumed
					}
				}
				if want, _ := strconv.Atoi(k); resumed < want {
					t.Errorf("resumed run kept %d finished files, want at least %d", resumed, want)
				}
			}
			// A third run has nothing to do.
			r2 := runBin(t, bin, env, args...)
			if r2.code != schema.ExitFindings || !strings.Contains(r2.stdout, "unchanged") {
				t.Errorf("run after the resume: exit %d\n%s", r2.code, r2.stdout)
			}
		})
	}
}

// TestNightlySIGTERM: SIGTERM stops at the next checkpoint, exits 2 with
// the state saved, and the next run resumes from there.
func TestNightlySIGTERM(t *testing.T) {
	bin := buildBinary(t)
	lakeDir := t.TempDir()
	gen := genSnapshot(t, "2026-06-01", 4)
	os.CopyFS(lakeDir, os.DirFS(gen))
	stateDir := filepath.Join(t.TempDir(), "state")
	env := cliEnv(nil)
	args := []string{"nightly", "--lake", lakeDir, "--state", stateDir, "--workers", "1"}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(env, "CORPUS_AUDIT_TEST_PAUSE=unit-done:2")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	pr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "test pause at unit-done:2") {
			cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != schema.ExitFailed {
		t.Fatalf("after SIGTERM: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped on request") {
		t.Errorf("no stop message:\n%s", stderr.String())
	}
	units, _ := filepath.Glob(filepath.Join(stateDir, "work", "snapshot=2026-06-01", "*", "units", "*.json"))
	if len(units) != 2 {
		t.Errorf("%d units checkpointed at the stop, want 2", len(units))
	}
	r := runBin(t, bin, env, args...)
	if r.code != schema.ExitFindings || !strings.Contains(r.stdout, "resumed") {
		t.Fatalf("next run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, `"resumed":2`) {
		t.Errorf("the next run did not keep the 2 finished units:\n%s", r.stderr)
	}
	ref := t.TempDir()
	rr := runBin(t, bin, env, "run", "--corpus", filepath.Join(lakeDir, "corpus", "snapshot=2026-06-01"),
		"--ages", filepath.Join(lakeDir, "tables", "ages"), "--objections", filepath.Join(lakeDir, "tables", "objections"),
		"--links", filepath.Join(lakeDir, "tables", "links"), "--out", ref)
	if rr.code != schema.ExitFindings {
		t.Fatal(rr.stderr)
	}
	sameResult(t, ref, outOf(t, r.stdout, "2026-06-01"))
}

// TestShardProcessesS3: N = 1, 3 and 8 shard processes started in
// parallel against S3, merged, give the findings and summary of one run.
func TestShardProcessesS3(t *testing.T) {
	bin := buildBinary(t)
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	lakeURI := "s3://" + bucket + "/lake"
	env := cliEnv(srv)
	addToLake(t, srv, bucket, "lake", "2026-06-01", 6, true)
	ref := referenceRun(t, bin, env, lakeURI, "2026-06-01")
	counts := []int{1, 3, 8}
	for _, n := range counts {
		t.Run(fmt.Sprint("N=", n), func(t *testing.T) {
			parts := fmt.Sprintf("s3://%s/parts-%d", bucket, n)
			var wg sync.WaitGroup
			results := make([]result, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Shards find their index as Kubernetes gives it.
					results[i] = runBin(t, bin, append(env, fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)),
						"run", "--shard", fmt.Sprintf("auto/%d", n), "--workers", "1",
						"--corpus", lakeURI+"/corpus/snapshot=2026-06-01",
						"--ages", lakeURI+"/tables/ages", "--objections", lakeURI+"/tables/objections", "--links", lakeURI+"/tables/links",
						"--out", parts+"/{shard}")
				}()
			}
			wg.Wait()
			var partOuts []string
			for i, r := range results {
				if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("shard %d/%d", i, n)) {
					t.Fatalf("shard %d/%d: exit %d\n%s\n%s", i, n, r.code, r.stdout, r.stderr)
				}
				partOuts = append(partOuts, fmt.Sprintf("%s/%d", parts, i))
			}
			merged := parts + "/merged"
			r := runBin(t, bin, env, append([]string{"merge", "--out", merged}, partOuts...)...)
			if r.code != schema.ExitFindings {
				t.Fatalf("merge: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			sameResult(t, ref, download(t, srv, merged))
			if n > 1 {
				// A missing shard fails loudly.
				r := runBin(t, bin, env, append([]string{"merge", "--out", parts + "/bad"}, partOuts[1:]...)...)
				if r.code != schema.ExitFailed || !strings.Contains(r.stderr, "missing") {
					t.Errorf("merge without shard 0: exit %d\n%s", r.code, r.stderr)
				}
			}
		})
	}
}
