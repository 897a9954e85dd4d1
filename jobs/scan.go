package jobs

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lookup"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/scan"
	"github.com/corpus-audit/corpus-audit/schema"
)

// corpusFile is one corpus file with its footer read.
type corpusFile struct {
	obj  lake.Object
	uri  string
	file *scan.File
}

// openCorpusFiles reads every footer, a few at a time (on S3 each costs a
// round trip or two).
func openCorpusFiles(ctx context.Context, loc lake.Location, objs []lake.Object, cols scan.Columns, workers int) ([]corpusFile, error) {
	out := make([]corpusFile, len(objs))
	// The readers outlive the group: they read the row groups later, so
	// they hold the run's context, not the group's (cancelled by Wait).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 8))
	for i, obj := range objs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			uri := loc.URI(obj.Key)
			r := lake.NewReaderAt(ctx, loc.Bucket, obj.Key, obj.Attrs)
			f, err := scan.Open(r, obj.Attrs.Size, uri, cols)
			if err != nil {
				return err
			}
			out[i] = corpusFile{obj: obj, uri: uri, file: f}
			return nil
		})
	}
	return out, g.Wait()
}

// minCreated is the earliest created_at the footers' statistics vouch for,
// or nil when any file lacks them. The lookup keeps birth dates only for
// accounts that could be minors after it.
func minCreated(files []corpusFile) *time.Time {
	var lo int64
	for i, f := range files {
		v, ok := f.file.MinCreated()
		if !ok {
			return nil
		}
		if i == 0 || v < lo {
			lo = v
		}
	}
	t := time.UnixMicro(lo).UTC()
	return &t
}

// scanner judges every row group of the corpus files, in parallel, and
// hands findings to sink in file and row order, from one goroutine.
type scanner struct {
	policy   policy.Policy
	index    *lookup.Index
	snapshot string
	files    []corpusFile
	workers  int
	sink     func(*schema.Finding) error
	counts   *schema.Counts
	log      *slog.Logger
	// minCreated, when set, is the footers' minimum created_at the lookup
	// pruned birth dates on; a row before it means the statistics lied,
	// and the audit fails rather than trust the pruning.
	minCreated *time.Time

	// span, if set, limits file i to row groups [from, to) (a unit of a
	// sharded or checkpointed run); nil means every row group.
	span func(i int) (from, to int)
	// onFile, if set, is called in order, from the ordered sink, after the
	// last row group of file i was handed to sink. An error stops the scan.
	onFile func(i int) error
	// onRowGroup, if set, is called from the ordered sink after each row
	// group (progress).
	onRowGroup func(file int, rows int64)
	// progress, if set, is updated from the ordered sink.
	progress *Progress

	tally tally
}

// tally counts findings into a summary's counts, as the scan and the merge
// of partial results both do.
type tally struct {
	c      *schema.Counts
	groups map[groupKey]int64 // platform × content type × category
}

func newTally(c *schema.Counts) tally {
	if c.ByMonth == nil {
		c.ByMonth = map[string]map[schema.Category]int64{}
	}
	return tally{c: c, groups: map[groupKey]int64{}}
}

// add counts one finding.
func (t *tally) add(f *schema.Finding) {
	c := t.c
	c.RowsFlagged++
	plat, ct, month := "", "", ""
	if f.Platform != nil {
		plat = *f.Platform
	}
	if f.ContentType != nil {
		ct = policy.Normalize(*f.ContentType)
	}
	if f.CreatedAt != nil {
		month = time.UnixMicro(*f.CreatedAt).UTC().Format("2006-01")
	}
	bp := mapFor(c.ByPlatform, plat)
	bm := mapFor(c.ByMonth, month)
	for _, cat := range f.Categories {
		c.ByCategory[cat]++
		bp[cat]++
		bm[cat]++
		t.groups[groupKey{plat, ct, cat}]++
	}
}

// finish fills ByGroup, sorted.
func (t *tally) finish() {
	c := t.c
	c.ByGroup = c.ByGroup[:0]
	for k, n := range t.groups {
		c.ByGroup = append(c.ByGroup, schema.GroupCount{Platform: k.platform, ContentType: k.contentType, Category: k.category, Rows: n})
	}
	slices.SortFunc(c.ByGroup, func(a, b schema.GroupCount) int {
		return cmp.Or(cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.ContentType, b.ContentType), cmp.Compare(a.Category, b.Category))
	})
}

// rowGroups returns the row groups of file i the scan covers.
func (s *scanner) rowGroups(i int) (from, to int) {
	if s.span != nil {
		return s.span(i)
	}
	return 0, s.files[i].file.NumRowGroups()
}

type groupKey struct {
	platform, contentType string
	category              schema.Category
}

type task struct{ seq, file, rowGroup int }

type result struct {
	seq      int
	task     task
	rows     int64
	findings []schema.Finding
	err      error
	took     time.Duration
}

func (s *scanner) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	total := 0
	s.counts.Files = make([]schema.FileCoverage, len(s.files))
	for i, f := range s.files {
		from, to := s.rowGroups(i)
		total += to - from
		rows := f.file.NumRows()
		if s.span != nil {
			rows = 0
			for rg := from; rg < to; rg++ {
				rows += f.file.RowGroupRows(rg)
			}
		}
		s.counts.RowsInFiles += rows
		s.counts.Files[i] = schema.FileCoverage{Path: f.uri, RowGroups: to - from, RowsInFooter: rows}
	}
	s.counts.FilesScanned = len(s.files)
	s.counts.ByMonth = map[string]map[schema.Category]int64{}
	s.tally = newTally(s.counts)

	tasks := make(chan task)
	results := make(chan result, s.workers)
	// inflight bounds the row groups decoded but not yet written: memory is
	// bounded by a few row groups, whatever the corpus size.
	inflight := make(chan struct{}, 2*s.workers)

	go func() {
		defer close(tasks)
		seq := 0
		for fi := range s.files {
			from, to := s.rowGroups(fi)
			for rg := from; rg < to; rg++ {
				select {
				case inflight <- struct{}{}:
				case <-ctx.Done():
					return
				}
				select {
				case tasks <- task{seq: seq, file: fi, rowGroup: rg}:
				case <-ctx.Done():
					return
				}
				seq++
			}
		}
	}()

	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b scan.Batch
			var j judge
			for t := range tasks {
				res := s.judgeRowGroup(t, &b, &j)
				select {
				case results <- res:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	pending := map[int]result{}
	next := 0
	var firstErr error
	for res := range results {
		pending[res.seq] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-inflight
			if firstErr != nil {
				continue
			}
			if r.err != nil {
				firstErr = r.err
				cancel()
				continue
			}
			if err := s.write(r); err != nil {
				firstErr = err
				cancel()
				continue
			}
			if s.onRowGroup != nil {
				s.onRowGroup(r.task.file, r.rows)
			}
			s.progress.rowGroup(r.rows)
			if _, to := s.rowGroups(r.task.file); r.task.rowGroup == to-1 {
				fc := &s.counts.Files[r.task.file]
				s.progress.fileDone(s.files[r.task.file].obj.Attrs.Size)
				s.log.Info("file audited", "file", fc.Path, "rows", fc.RowsJudged, "flagged", fc.RowsFlagged)
				if s.onFile != nil {
					if err := s.onFile(r.task.file); err != nil {
						firstErr = err
						cancel()
						continue
					}
				}
			}
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit interrupted: %w", err)
	}
	if next != total {
		return fmt.Errorf("coverage: %d of %d row groups judged", next, total)
	}
	s.tally.finish()
	return nil
}

// write hands one row group's findings to the sink and counts them.
func (s *scanner) write(r result) error {
	c := s.counts
	c.RowsScanned += r.rows
	fc := &c.Files[r.task.file]
	fc.RowsJudged += r.rows
	fc.RowsFlagged += int64(len(r.findings))
	for i := range r.findings {
		f := &r.findings[i]
		s.tally.add(f)
		if err := s.sink(f); err != nil {
			return err
		}
	}
	return nil
}

func mapFor(m map[string]map[schema.Category]int64, k string) map[schema.Category]int64 {
	v := m[k]
	if v == nil {
		v = map[schema.Category]int64{}
		m[k] = v
	}
	return v
}

// judge holds a worker's per-batch tables, reused across row groups.
type judge struct {
	types  []policy.TypeClass
	public []bool
}

// categoryLists holds the sorted category list of every Set, shared
// read-only by all findings.
var categoryLists = func() [32][]schema.Category {
	var l [32][]schema.Category
	for s := range l {
		l[s] = policy.Set(s).Categories()
	}
	return l
}()

func (s *scanner) judgeRowGroup(t task, b *scan.Batch, j *judge) result {
	start := time.Now()
	f := s.files[t.file]
	res := result{seq: t.seq, task: t}
	if err := f.file.ReadRowGroup(t.rowGroup, b); err != nil {
		res.err = err
		return res
	}
	if want := f.file.RowGroupRows(t.rowGroup); int64(b.N) != want {
		res.err = &scan.Error{File: f.uri, RowGroup: t.rowGroup, Row: -1, Err: fmt.Errorf("decoded %d rows, footer says %d", b.N, want)}
		return res
	}
	// Evaluate the low-cardinality columns once per dictionary entry.
	j.types = j.types[:0]
	for _, v := range b.ContentType.Dict {
		j.types = append(j.types, s.policy.ClassifyType(v, true))
	}
	j.public = j.public[:0]
	for _, v := range b.Visibility.Dict {
		j.public = append(j.public, s.policy.IsPublic(v, true))
	}
	floor := int64(math.MinInt64)
	if s.minCreated != nil {
		floor = s.minCreated.UnixMicro()
	}
	for i := 0; i < b.N; i++ {
		if b.CreatedValid[i] && b.Created[i] < floor {
			res.err = &scan.Error{File: f.uri, Column: "created_at", RowGroup: t.rowGroup, Row: b.FirstRow + int64(i),
				Err: fmt.Errorf("value %s is before the minimum the footer statistics give (%s): the file's statistics are wrong", time.UnixMicro(b.Created[i]).UTC(), s.minCreated)}
			return res
		}
		row := policy.Row{
			AuthorValid:  b.AuthorValid[i],
			Author:       b.Author[i],
			CreatedValid: b.CreatedValid[i],
			CreatedAt:    b.Created[i],
		}
		if c := b.ContentType.Codes[i]; c >= 0 {
			row.Type = j.types[c]
		}
		if c := b.Visibility.Codes[i]; c >= 0 {
			row.Public = j.public[c]
		}
		var facts policy.Facts
		if row.AuthorValid {
			facts = s.index.Facts(row.Author)
		}
		set := policy.Judge(row, facts)
		if set == 0 {
			continue
		}
		res.findings = append(res.findings, s.finding(f, b, i, row, set))
	}
	res.rows = int64(b.N)
	res.took = time.Since(start)
	return res
}

func strAt(s *scan.Strings, i int) *string {
	c := s.Codes[i]
	if c < 0 {
		return nil
	}
	v := s.Dict[c]
	return &v
}

func (s *scanner) finding(f corpusFile, b *scan.Batch, i int, row policy.Row, set policy.Set) schema.Finding {
	fd := schema.Finding{
		Snapshot:    s.snapshot,
		Platform:    strAt(&b.Platform, i),
		ContentType: strAt(&b.ContentType, i),
		Visibility:  strAt(&b.Visibility, i),
		Categories:  categoryLists[set],
		SourceFile:  f.uri,
		RowGroup:    int32(b.RowGroup),
		RowInFile:   b.FirstRow + int64(i),
	}
	if id := &b.ContentID; id.Valid[i] {
		var v string
		if id.IsInt {
			v = strconv.FormatInt(id.Int[i], 10)
		} else {
			v = string(id.Data[id.Offsets[i]:id.Offsets[i+1]])
		}
		fd.ContentID = &v
	}
	if row.AuthorValid {
		a := row.Author
		fd.AuthorID = &a
		ev := s.index.Evidence(a)
		if set.Has(policy.Minor) {
			fd.BirthDate = ev.BirthDate
		}
		if set.Has(policy.Objected) {
			fd.ObjectionAccountID, fd.ObjectedAt, fd.AccountsCenterID = ev.ObjectionAccountID, ev.ObjectedAt, ev.AccountsCenterID
		}
	}
	if row.CreatedValid {
		c := row.CreatedAt
		fd.CreatedAt = &c
	}
	return fd
}

// corpusInputs describes the corpus files for the summary, and checks that
// none changed while it was read (reads were pinned too; this also catches
// a local file rewritten between two reads).
func corpusInputs(ctx context.Context, loc lake.Location, files []corpusFile, hash bool, workers int) ([]schema.InputFile, error) {
	out := make([]schema.InputFile, len(files))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, f := range files {
		g.Go(func() error {
			in := schema.InputFile{
				Role: schema.RoleCorpus, Path: f.uri, Size: f.obj.Attrs.Size, Rows: f.file.NumRows(),
				ETag: f.obj.Attrs.ETag, VersionID: f.obj.Attrs.VersionID,
			}
			if hash {
				sum, err := hashObject(ctx, loc.Bucket, f.obj.Key)
				if err != nil {
					return err
				}
				in.SHA256 = sum
			}
			a, err := loc.Bucket.Attributes(ctx, f.obj.Key)
			if err != nil {
				return err
			}
			if a.ETag != f.obj.Attrs.ETag {
				return &lake.ObjectError{Op: "read", URI: f.uri, Err: fmt.Errorf("%w (etag %s, pinned %s)", lake.ErrChanged, a.ETag, f.obj.Attrs.ETag)}
			}
			if in.VersionID == "" {
				// S3 listings carry no version IDs; HEAD does.
				in.VersionID = a.VersionID
			}
			out[i] = in
			return nil
		})
	}
	return out, g.Wait()
}

func hashObject(ctx context.Context, b lake.Bucket, key string) (string, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", &lake.ObjectError{Op: "read", URI: b.URI(key), Err: err}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
