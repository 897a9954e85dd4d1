package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// MergeOptions are the inputs of `corpus-audit merge`.
type MergeOptions struct {
	// Out is the folder for the merged outputs, as a run's --out.
	Out string
	// Parts are the --out folders of the N shards, in any order.
	Parts []string
	S3    lake.S3Options
	// PseudonymKeyFile and SignKeyFile as for RunOptions.
	PseudonymKeyFile string
	SignKeyFile      string

	Log     *slog.Logger
	Version string
	Now     func() time.Time
}

// Merge combines the partial results of the N shards of one snapshot into
// the outputs of one unsharded run (findings, summary.json, reports,
// manifest), identical to what `run` writes for the same inputs. A missing
// or duplicated shard, a shard that did not finish, or shards that saw
// different inputs or policies are errors; the merged summary then says
// incomplete.
func Merge(ctx context.Context, o MergeOptions) (schema.Summary, error) {
	ro := RunOptions{
		Out: o.Out, S3: o.S3, PseudonymKeyFile: o.PseudonymKeyFile, SignKeyFile: o.SignKeyFile,
		Log: o.Log, Version: o.Version, Now: o.Now,
	}
	return runWith(ctx, ro, func(r *run, ctx context.Context) error {
		if len(o.Parts) == 0 {
			return fmt.Errorf("%w: merge needs the output folders of the shards", ErrUsage)
		}
		var locs []lake.Location
		defer func() {
			for _, l := range locs {
				l.Bucket.Close()
			}
		}()
		for _, p := range o.Parts {
			l, err := lake.Open(ctx, p, o.S3)
			if err != nil {
				return fmt.Errorf("partial result %s: %w", p, err)
			}
			locs = append(locs, l)
		}
		return r.merge(ctx, locs)
	})
}

// source is one partial result being merged.
type source struct {
	loc   lake.Location
	meta  *partialMeta
	units map[string]unitResult
}

// merge is the audit step of a merged run: it checks the partial results
// against each other and replays their findings, unit by unit in plan
// order, into the run's findings writer, counting them as the scan would.
func (r *run) merge(ctx context.Context, locs []lake.Location) (err error) {
	if err := report.Clear(ctx, r.out); err != nil {
		return err
	}
	srcs := make([]source, len(locs))
	for i, l := range locs {
		m, err := readPartialMeta(ctx, l)
		if lake.IsNotExist(err) {
			return fmt.Errorf("partial result %s: no %s: not the output of a shard, or the shard never started", l.Raw, partialFile)
		}
		if err != nil {
			return fmt.Errorf("partial result %s: %w", l.Raw, err)
		}
		if !m.Complete {
			return fmt.Errorf("partial result %s: shard %d/%d did not finish", l.Raw, m.Shard, m.Shards)
		}
		srcs[i] = source{loc: l, meta: m}
	}
	first := srcs[0].meta
	// Every shard once.
	n := first.Shards
	seen := make([]string, n)
	for _, s := range srcs {
		m := s.meta
		if m.Shards != n {
			return fmt.Errorf("partial result %s is shard %d/%d but %s is shard %d/%d: they are not parts of one sharded run",
				s.loc.Raw, m.Shard, m.Shards, srcs[0].loc.Raw, first.Shard, first.Shards)
		}
		if m.Shard < 0 || m.Shard >= n {
			return fmt.Errorf("partial result %s: shard %d/%d out of range", s.loc.Raw, m.Shard, m.Shards)
		}
		if seen[m.Shard] != "" {
			return fmt.Errorf("shard %d/%d given twice: %s and %s", m.Shard, n, seen[m.Shard], s.loc.Raw)
		}
		seen[m.Shard] = s.loc.Raw
	}
	var missing []string
	for i, s := range seen {
		if s == "" {
			missing = append(missing, fmt.Sprint(i))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("merge: shard(s) %s of %d missing: %d partial results given", strings.Join(missing, ", "), n, len(srcs))
	}
	// The same snapshot, plan, policy, tables and config everywhere.
	for _, s := range srcs[1:] {
		if d := partialDiff(first, s.meta); d != "" {
			return fmt.Errorf("partial results %s and %s differ in %s: the shards audited different inputs; run them again", srcs[0].loc.Raw, s.loc.Raw, d)
		}
	}
	r.sum.Policy = first.Policy
	r.sum.Snapshot, r.sum.SnapshotAt = first.Snapshot, first.SnapshotAt
	r.o.Corpus = first.Corpus

	// Every unit of the plan exactly once.
	owner := map[string]int{}
	for i := range srcs {
		res, err := readUnitResults(ctx, srcs[i].loc)
		if err != nil {
			return err
		}
		srcs[i].units = map[string]unitResult{}
		for _, id := range srcs[i].meta.Units {
			u, ok := res[id]
			if !ok {
				return fmt.Errorf("partial result %s: unit %s of shard %d/%d has no result", srcs[i].loc.Raw, id, srcs[i].meta.Shard, n)
			}
			if u.PlanHash != first.PlanHash {
				return fmt.Errorf("partial result %s: unit %s belongs to another plan", srcs[i].loc.Raw, id)
			}
			if j, dup := owner[id]; dup {
				return fmt.Errorf("unit %s is in two partial results: %s and %s", id, srcs[j].loc.Raw, srcs[i].loc.Raw)
			}
			owner[id] = i
			srcs[i].units[id] = u
		}
	}
	pl := first.Plan
	for _, u := range pl.Units {
		if _, ok := owner[u.ID]; !ok {
			return fmt.Errorf("merge: unit %s (%s) is in no partial result", u.ID, pl.Files[u.File].Path)
		}
	}
	if len(owner) != len(pl.Units) {
		return fmt.Errorf("merge: %d units found, the plan has %d", len(owner), len(pl.Units))
	}

	fw := findings.NewWriter(ctx, r.out.Bucket, r.out.Join(schema.FindingsDir), findings.Options{})
	defer func() {
		if err != nil {
			fw.Abort()
		}
	}()
	c := &r.sum.Counts
	c.FilesScanned = len(pl.Files)
	c.Files = make([]schema.FileCoverage, len(pl.Files))
	for i, f := range pl.Files {
		c.Files[i] = schema.FileCoverage{Path: f.Path}
	}
	inputs := make([]*schema.InputFile, len(pl.Files))
	unitRows := make([]int64, len(pl.Files))
	// footerFrom names, per file, the unit whose footer counts were taken:
	// every other unit of the file must agree with it.
	footerFrom := make([]string, len(pl.Files))
	t := newTally(c)
	var buf []schema.Finding
	for _, u := range pl.Units {
		s := srcs[owner[u.ID]]
		res := s.units[u.ID]
		fc := &c.Files[u.File]
		if res.Unit != u {
			return fmt.Errorf("partial result %s: unit %s does not match the plan", s.loc.Raw, u.ID)
		}
		if res.Path != fc.Path {
			return fmt.Errorf("partial result %s: unit %s names %s, the plan %s", s.loc.Raw, u.ID, res.Path, fc.Path)
		}
		// Coverage unit by unit: a unit that judged fewer rows than its
		// range holds is not made good by another that judged more.
		if res.RowsJudged != res.RowsInUnit {
			return fmt.Errorf("coverage: partial result %s: unit %s of %s judged %d rows but its row groups count %d",
				s.loc.Raw, u.ID, fc.Path, res.RowsJudged, res.RowsInUnit)
		}
		if u.whole() && res.RowsInUnit != res.RowsInFile {
			return fmt.Errorf("coverage: partial result %s: unit %s covers the whole of %s but counts %d rows, the file's footer %d",
				s.loc.Raw, u.ID, fc.Path, res.RowsInUnit, res.RowsInFile)
		}
		if footerFrom[u.File] == "" {
			footerFrom[u.File] = u.ID
			fc.RowGroups, fc.RowsInFooter = res.RowGroups, res.RowsInFile
		} else if res.RowsInFile != fc.RowsInFooter || res.RowGroups != fc.RowGroups {
			return fmt.Errorf("coverage: units %s and %s of %s disagree on its footer: %d rows in %d row groups, and %d rows in %d row groups",
				footerFrom[u.File], u.ID, fc.Path, fc.RowsInFooter, fc.RowGroups, res.RowsInFile, res.RowGroups)
		}
		fc.RowsJudged += res.RowsJudged
		fc.RowsFlagged += res.RowsFlagged
		c.RowsScanned += res.RowsJudged
		unitRows[u.File] += res.RowsInUnit
		if res.Input != nil {
			if inputs[u.File] != nil {
				return fmt.Errorf("merge: two units describe %s", fc.Path)
			}
			inputs[u.File] = res.Input
		}
		var got int64
		for _, p := range res.Parts {
			buf, err = findings.ReadPart(ctx, s.loc.Bucket, s.loc.Join(p.Path), buf[:0])
			if err != nil {
				return err
			}
			if int64(len(buf)) != p.Rows {
				return fmt.Errorf("partial result %s: %s holds %d findings, the unit says %d", s.loc.Raw, s.loc.URI(s.loc.Join(p.Path)), len(buf), p.Rows)
			}
			for i := range buf {
				t.add(&buf[i])
				if err := fw.Write(&buf[i]); err != nil {
					return err
				}
			}
			got += int64(len(buf))
		}
		if got != res.RowsFlagged {
			return fmt.Errorf("partial result %s: unit %s flagged %d rows but its findings hold %d", s.loc.Raw, u.ID, res.RowsFlagged, got)
		}
	}
	t.finish()
	for i, fc := range c.Files {
		c.RowsInFiles += fc.RowsInFooter
		if unitRows[i] != fc.RowsInFooter {
			return fmt.Errorf("coverage: the units of %s cover %d rows, its footer counts %d", fc.Path, unitRows[i], fc.RowsInFooter)
		}
		if inputs[i] == nil {
			return fmt.Errorf("merge: no unit describes %s", fc.Path)
		}
	}
	parts, err := fw.Close()
	if err != nil {
		return err
	}
	for i := range parts {
		parts[i].Path = r.out.Rel(parts[i].Path)
	}
	for _, in := range inputs {
		r.sum.Inputs = append(r.sum.Inputs, *in)
	}
	r.sum.Inputs = append(r.sum.Inputs, first.Tables...)
	if first.Config != nil {
		r.sum.Inputs = append(r.sum.Inputs, *first.Config)
	}
	normalizeInputs(r.sum.Inputs)
	r.sum.Outputs = parts
	return r.finish()
}

// partialDiff names the first thing two partial results of one sharded
// run disagree on, or returns "".
func partialDiff(a, b *partialMeta) string {
	eq := func(x, y any) bool {
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		return string(jx) == string(jy)
	}
	switch {
	case a.Snapshot != b.Snapshot || !a.SnapshotAt.Equal(b.SnapshotAt):
		return "snapshot"
	case a.Corpus != b.Corpus:
		return "corpus path"
	case a.PlanHash != b.PlanHash:
		return "the corpus files they listed (plan)"
	case a.Policy.Hash != b.Policy.Hash:
		return "policy"
	case !eq(a.Tables, b.Tables):
		return "lookup tables"
	case !eq(a.Config, b.Config):
		return "config file"
	case a.Hashed != b.Hashed:
		return "--no-hash"
	case a.Tool.Version != b.Tool.Version:
		// Shards judged by two versions of the rules are not one audit.
		return "corpus-audit version"
	}
	return ""
}

// normalizeInputs drops the local "ETag" (size and mtime) of inputs that
// have a SHA-256: it would make two audits of copies of the same files
// differ.
func normalizeInputs(ins []schema.InputFile) {
	for i := range ins {
		if in := &ins[i]; !lake.IsS3(in.Path) && in.SHA256 != "" {
			in.ETag = ""
		}
	}
}
