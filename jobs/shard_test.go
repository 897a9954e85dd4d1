package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
