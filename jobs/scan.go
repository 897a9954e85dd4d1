package jobs

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
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
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 8))
	for i, obj := range objs {
		g.Go(func() error {
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
	if true {
		return nil // MINCREATED: pending scan.File.MinCreated
	}
	var lo int64
	for i, f := range files {
		v, ok := int64(0), false && f.file != nil
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

	groups map[groupKey]int64 // platform × content type × category
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
	for _, f := range s.files {
		total += f.file.NumRowGroups()
		s.counts.RowsInFiles += f.file.NumRows()
	}
	s.counts.FilesScanned = len(s.files)
	s.groups = map[groupKey]int64{}
	s.counts.ByMonth = map[string]map[schema.Category]int64{}
	s.counts.Files = make([]schema.FileCoverage, len(s.files))
	for i, f := range s.files {
		s.counts.Files[i] = schema.FileCoverage{Path: f.uri, RowGroups: f.file.NumRowGroups(), RowsInFooter: f.file.NumRows()}
	}

	tasks := make(chan task)
	results := make(chan result, s.workers)
	// inflight bounds the row groups decoded but not yet written: memory is
	// bounded by a few row groups, whatever the corpus size.
	inflight := make(chan struct{}, 2*s.workers)

	go func() {
		defer close(tasks)
		seq := 0
		for fi, f := range s.files {
			for rg := range f.file.NumRowGroups() {
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
			if fc := &s.counts.Files[r.task.file]; r.task.rowGroup == fc.RowGroups-1 {
				s.log.Info("file audited", "file", fc.Path, "rows", fc.RowsJudged, "flagged", fc.RowsFlagged)
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
	s.counts.ByGroup = s.counts.ByGroup[:0]
	for k, n := range s.groups {
		s.counts.ByGroup = append(s.counts.ByGroup, schema.GroupCount{Platform: k.platform, ContentType: k.contentType, Category: k.category, Rows: n})
	}
	slices.SortFunc(s.counts.ByGroup, func(a, b schema.GroupCount) int {
		return cmp.Or(cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.ContentType, b.ContentType), cmp.Compare(a.Category, b.Category))
	})
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
			s.groups[groupKey{plat, ct, cat}]++
		}
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
	for i := 0; i < b.N; i++ {
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
