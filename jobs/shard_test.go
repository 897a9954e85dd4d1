package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/schema"
)

// sameOutputs fails unless two output folders hold byte-identical
// findings parts and the same summary apart from the run's own metadata.
func sameOutputs(t *testing.T, want, got string) {
	t.Helper()
	wp, _ := filepath.Glob(filepath.Join(want, schema.FindingsDir, "*.parquet"))
	gp, _ := filepath.Glob(filepath.Join(got, schema.FindingsDir, "*.parquet"))
	if len(wp) != len(gp) {
		t.Fatalf("%d findings parts, want %d", len(gp), len(wp))
	}
	for i := range wp {
		a, _ := os.ReadFile(wp[i])
		b, _ := os.ReadFile(gp[i])
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the single run's (%d and %d bytes)", gp[i], len(b), len(a))
		}
	}
	sw, sg := readSummary(t, want), readSummary(t, got)
	sw.Run, sg.Run = schema.RunInfo{}, schema.RunInfo{}
	jw, _ := json.MarshalIndent(sw, "", " ")
	jg, _ := json.MarshalIndent(sg, "", " ")
	if !bytes.Equal(jw, jg) {
		t.Errorf("summaries differ:\nsingle run: %s\nmerged:     %s", jw, jg)
	}
}

// runShards runs the n shards of a snapshot in parallel and returns their
// output folders.
func runShards(t *testing.T, o RunOptions, n int) []string {
	t.Helper()
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		outs[i] = filepath.Join(t.TempDir(), fmt.Sprintf("shard-%d", i))
		so := o
		so.Out = outs[i]
		so.Workers = 1
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = RunShard(context.Background(), so, Shard{Index: i, Count: n})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
	}
	return outs
}

// TestShardMergeMatchesRun: N shards merged give the findings and summary
// of one unsharded run, by file (many files) and by row group (few).
func TestShardMergeMatchesRun(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*lakegen.Options)
		n    []int
		mode string
	}{
		{"by file", func(o *lakegen.Options) { o.Files = 8; o.Rows = 2400 }, []int{1, 3}, modeFile},
		{"by row group", func(o *lakegen.Options) { o.Files = 3; o.Rows = 3000; o.RowGroupRows = 200 }, []int{8}, modeRowGroup},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := genLake(t, tc.mod)
			single := t.TempDir()
			if _, err := Run(context.Background(), runOpts(res, single)); err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.n {
				outs := runShards(t, runOpts(res, ""), n)
				m, err := readPartialMeta(context.Background(), mustOpen(t, outs[0]))
				if err != nil {
					t.Fatal(err)
				}
				if n > 1 && m.Plan.Mode != tc.mode {
					t.Errorf("N=%d: plan mode %s, want %s", n, m.Plan.Mode, tc.mode)
				}
				merged := t.TempDir()
				// The order the parts are given in does not matter.
				rev := append([]string(nil), outs...)
				for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
					rev[i], rev[j] = rev[j], rev[i]
				}
				sum, err := Merge(context.Background(), MergeOptions{Out: merged, Parts: rev})
				if err != nil {
					t.Fatalf("N=%d: merge: %v", n, err)
				}
				if sum.Status != schema.StatusFindings {
					t.Errorf("N=%d: status %s", n, sum.Status)
				}
				sameOutputs(t, single, merged)
			}
		})
	}
}

// TestMergeRefusesBadParts: a missing, duplicated or unfinished shard, or
// shards of different runs, fail the merge loudly and leave an incomplete
// summary.
func TestMergeRefusesBadParts(t *testing.T) {
	res := genLake(t, func(o *lakegen.Options) { o.Files = 6; o.Rows = 1200 })
	outs := runShards(t, runOpts(res, ""), 3)
	other := runShards(t, runOpts(res, ""), 2)
	unfinished := filepath.Join(t.TempDir(), "unfinished")
	if err := os.CopyFS(unfinished, os.DirFS(outs[2])); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(unfinished, partialFile))
	os.WriteFile(filepath.Join(unfinished, partialFile), bytes.Replace(data, []byte(`"complete": true`), []byte(`"complete": false`), 1), 0o644)
	lostUnit := filepath.Join(t.TempDir(), "lost-unit")
	if err := os.CopyFS(lostUnit, os.DirFS(outs[1])); err != nil {
		t.Fatal(err)
	}
	units, _ := filepath.Glob(filepath.Join(lostUnit, unitsDir, "*.json"))
	os.Remove(units[0])

	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"missing shard", outs[:2], "shard(s) 2 of 3 missing"},
		{"duplicated shard", []string{outs[0], outs[1], outs[1]}, "given twice"},
		{"unfinished shard", []string{outs[0], outs[1], unfinished}, "did not finish"},
		{"shards of two runs", []string{outs[0], other[1]}, "not parts of one sharded run"},
		{"not a shard", []string{outs[0], outs[1], t.TempDir()}, "partial.json"},
		{"lost unit", []string{outs[0], lostUnit, outs[2]}, "has no result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			sum, err := Merge(context.Background(), MergeOptions{Out: out, Parts: tc.parts})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("merge: %v, want an error saying %q", err, tc.want)
			}
			if sum.Status.ExitCode() != schema.ExitFailed || readSummary(t, out).Status != schema.StatusIncomplete {
				t.Errorf("status %s", sum.Status)
			}
		})
	}
}

// TestShardResumes: a shard run again on its folder keeps finished units;
// a changed input starts it over.
func TestShardResumes(t *testing.T) {
	res := genLake(t, func(o *lakegen.Options) { o.Files = 4; o.Rows = 1200 })
	o := runOpts(res, filepath.Join(t.TempDir(), "part"))
	ps, err := RunShard(context.Background(), o, Shard{0, 1})
	if err != nil || ps.Units != 4 || ps.Resumed != 0 {
		t.Fatalf("first run: %+v %v", ps, err)
	}
	// Lose two units' checkpoints, as if killed before they were written.
	units, _ := filepath.Glob(filepath.Join(o.Out, unitsDir, "*.json"))
	os.Remove(units[1])
	os.Remove(units[3])
	ps2, err := RunShard(context.Background(), o, Shard{0, 1})
	if err != nil || ps2.Resumed != 2 || ps2.RowsJudged != ps.RowsJudged || ps2.RowsFlagged != ps.RowsFlagged {
		t.Fatalf("resumed run: %+v %v (first %+v)", ps2, err, ps)
	}
	single := t.TempDir()
	if _, err := Run(context.Background(), runOpts(res, single)); err != nil {
		t.Fatal(err)
	}
	merged := t.TempDir()
	if _, err := Merge(context.Background(), MergeOptions{Out: merged, Parts: []string{o.Out}}); err != nil {
		t.Fatal(err)
	}
	sameOutputs(t, single, merged)

	// A changed policy starts over.
	cfg := filepath.Join(t.TempDir(), "audit.yaml")
	os.WriteFile(cfg, []byte("policy:\n  version: \"2\"\n"), 0o644)
	o.ConfigPath = cfg
	ps3, err := RunShard(context.Background(), o, Shard{0, 1})
	if err != nil || ps3.Resumed != 0 {
		t.Fatalf("run with a new policy: %+v %v", ps3, err)
	}
}

func TestParseShard(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		in   string
		env  map[string]string
		want Shard
		err  bool
	}{
		{"0/1", nil, Shard{0, 1}, false},
		{"7/8", nil, Shard{7, 8}, false},
		{"8/8", nil, Shard{}, true},
		{"-1/8", nil, Shard{}, true},
		{"1/0", nil, Shard{}, true},
		{"3", nil, Shard{}, true},
		{"auto/4", map[string]string{"JOB_COMPLETION_INDEX": "2"}, Shard{2, 4}, false},
		{"auto/4", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "3"}, Shard{3, 4}, false},
		{"auto/4", map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "4"}, Shard{}, true},
		{"auto/4", nil, Shard{}, true},
	} {
		env = tc.env
		got, err := ParseShard(tc.in, getenv)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseShard(%q, %v) = %v, %v", tc.in, tc.env, got, err)
		}
	}
}

// TestAssignBalances: the plan's assignment is deterministic, covers every
// unit once and balances the weight.
func TestAssignBalances(t *testing.T) {
	p := plan{}
	for i := range 20 {
		p.Units = append(p.Units, unitSpec{ID: fmt.Sprint(i), Weight: int64(100 + i*10)})
	}
	a, b := p.assign(4), p.assign(4)
	load := make([]int64, 4)
	for i, s := range a {
		if b[i] != s {
			t.Fatal("assignment not deterministic")
		}
		load[s] += p.Units[i].Weight
	}
	lo, hi := load[0], load[0]
	for _, l := range load {
		lo, hi = min(lo, l), max(hi, l)
	}
	if hi-lo > 290 { // at most the heaviest unit
		t.Errorf("unbalanced loads %v", load)
	}
}

func mustOpen(t *testing.T, raw string) lake.Location {
	t.Helper()
	l, err := lake.Open(context.Background(), raw, lake.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestMergeChecksUnits: merge checks coverage unit by unit — a unit that
// judged fewer rows than its row groups hold is an error even when another
// unit of the file judged as many more — and refuses units of one file
// that disagree on its footer.
func TestMergeChecksUnits(t *testing.T) {
	// Few files for two shards: cut by row group, several units a file.
	res := genLake(t, func(o *lakegen.Options) { o.Files = 2; o.Rows = 1200; o.RowGroupRows = 200 })
	outs := runShards(t, runOpts(res, ""), 2)
	const first, second = "f000000-rg000000", "f000000-rg000001"
	tests := []struct {
		name   string
		tamper map[string]func(*unitResult)
		want   string
	}{
		{"rows moved between units", map[string]func(*unitResult){
			first:  func(r *unitResult) { r.RowsJudged-- },
			second: func(r *unitResult) { r.RowsJudged++ },
		}, "unit " + first + " of "},
		{"footers disagree", map[string]func(*unitResult){
			first: func(r *unitResult) { r.RowsInFile++ },
		}, "units " + first + " and " + second + " of "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			todo := maps.Clone(tc.tamper)
			var parts []string
			for i, o := range outs {
				dir := filepath.Join(t.TempDir(), fmt.Sprintf("shard-%d", i))
				if err := os.CopyFS(dir, os.DirFS(o)); err != nil {
					t.Fatal(err)
				}
				parts = append(parts, dir)
				for id, f := range todo {
					p := filepath.Join(dir, unitsDir, id+".json")
					data, err := os.ReadFile(p)
					if os.IsNotExist(err) {
						continue // in the other shard
					}
					var r unitResult
					if err == nil {
						err = json.Unmarshal(data, &r)
					}
					if err != nil {
						t.Fatal(err)
					}
					f(&r)
					data, _ = json.MarshalIndent(r, "", "  ")
					if err := os.WriteFile(p, data, 0o644); err != nil {
						t.Fatal(err)
					}
					delete(todo, id)
				}
			}
			if len(todo) > 0 {
				t.Fatalf("units %v not found: the plan is not what the test expects", slices.Collect(maps.Keys(todo)))
			}
			out := t.TempDir()
			sum, err := Merge(context.Background(), MergeOptions{Out: out, Parts: parts})
			file := filepath.Join(res.Out, lakegen.CorpusDir(res.Options.Snapshot))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("merge: %v, want an error saying %q and naming the file", err, tc.want)
			}
			if sum.Status.ExitCode() != schema.ExitFailed || readSummary(t, out).Status != schema.StatusIncomplete {
				t.Errorf("status %s", sum.Status)
			}
		})
	}
}

// TestShardResumeToolVersion: a shard run again by the same version of
// corpus-audit keeps the finished units; by another version, it audits
// the snapshot again from the start.
func TestShardResumeToolVersion(t *testing.T) {
	res := genLake(t, func(o *lakegen.Options) { o.Files = 4; o.Rows = 1200 })
	o := runOpts(res, filepath.Join(t.TempDir(), "part"))
	for _, step := range []struct {
		version string
		resumed int
	}{{"1.4.0", 0}, {"1.4.0", 4}, {"1.4.1", 0}, {"1.4.1", 4}} {
		o.Version = step.version
		ps, err := RunShard(context.Background(), o, Shard{0, 1})
		if err != nil || ps.Units != 4 || ps.Resumed != step.resumed {
			t.Fatalf("run by %s: %+v %v; want %d units resumed", step.version, ps, err, step.resumed)
		}
	}
}

// TestShardMergeVersionIDs: on a versioned bucket, whose listings carry no
// version IDs, the merged summary names each corpus file's version (from
// a HEAD) exactly as a plain run does.
func TestShardMergeVersionIDs(t *testing.T) {
	res := genLake(t, func(o *lakegen.Options) { o.Files = 3; o.Rows = 900 })
	l := uploadLake(t, res)
	// The test server keeps no versions: a proxy gives every HEAD answer
	// one, as a versioned bucket's would have.
	target, _ := url.Parse(l.srv.Endpoint)
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // as signed
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Method == http.MethodHead && resp.StatusCode == http.StatusOK {
				sum := sha256.Sum256([]byte(resp.Request.URL.Path))
				resp.Header.Set("X-Amz-Version-Id", "v-"+hex.EncodeToString(sum[:8]))
			}
			return nil
		},
	})
	defer proxy.Close()
	o := l.opts("")
	o.S3.Endpoint = proxy.URL
	single := t.TempDir()
	o.Out = single
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	outs := runShards(t, o, 2)
	merged := t.TempDir()
	sum, err := Merge(context.Background(), MergeOptions{Out: merged, Parts: outs, S3: o.S3})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range sum.Inputs {
		if in.Role == schema.RoleCorpus {
			n++
			if !strings.HasPrefix(in.VersionID, "v-") {
				t.Errorf("merged summary: corpus input %s has version ID %q", in.Path, in.VersionID)
			}
		}
	}
	if n != res.Options.Files {
		t.Errorf("%d corpus inputs, want %d", n, res.Options.Files)
	}
	sameOutputs(t, single, merged)
}
