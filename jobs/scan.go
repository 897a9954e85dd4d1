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
	"unsafe"

	"golang.org/x/sync/errgroup"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lookup"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/scan"
	"github.com/corpus-audit/corpus-audit/schema"
)

// s3ReadWindow is how much of a large column chunk a worker reads and
// holds at a time from S3 (scan.File.SetReadWindow): a GET costs about as
// much as transferring a megabyte, so windows of several (against 1 MiB
// from local files) keep the GETs per column chunk few.
const s3ReadWindow = 8 << 20

// corpusFile is one corpus file with its footer read.
type corpusFile struct {
	obj  lake.Object
	uri  string
	file *scan.File
	// remote: the file is in an object store, not on a local file
	// system. Its large chunks are read through s3ReadWindow and, unless
	// the scanner's readAhead is off, a worker reads its next row group
	// ahead (scan.File.Prefetch) and each next window (SetWindowAhead).
	remote bool
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
			_, local := loc.Bucket.(*lake.Local)
			if !local {
				f.SetReadWindow(s3ReadWindow)
			}
			out[i] = corpusFile{obj: obj, uri: uri, file: f, remote: !local}
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
	// readAhead: from an object store (corpusFile.remote), workers read
	// their next row group while they judge the current one.
	readAhead bool
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
// of partial results both do. Findings are counted per cell (platform,
// month, normalised content type), one small array of counts per cell,
// and folded into the counts' maps by finish: a finding costs one map
// lookup at most, not four per category.
type tally struct {
	c      *schema.Counts
	cells  map[cellKey]*cellCounts
	last   cellKey
	lastC  *cellCounts
	other  map[otherKey]int64 // categories outside schema.Categories (merge input)
	groups map[groupKey]int64 // platform × content type × category, as folded
	months map[int64]string   // year*16+month → "2006-01"
}

type cellKey struct{ platform, month, contentType string }

// cellCounts counts a cell's findings by category, in schema.Categories'
// order.
type cellCounts [5]int64

type otherKey struct {
	cell     cellKey
	category schema.Category
}

func newTally(c *schema.Counts) tally {
	if c.ByMonth == nil {
		c.ByMonth = map[string]map[schema.Category]int64{}
	}
	return tally{c: c, cells: map[cellKey]*cellCounts{}, groups: map[groupKey]int64{}}
}

// add counts one finding.
func (t *tally) add(f *schema.Finding) {
	ct := ""
	if f.ContentType != nil {
		ct = policy.Normalize(*f.ContentType)
	}
	t.addNorm(f, ct)
}

// addNorm counts one finding whose content type, normalised, is ct.
func (t *tally) addNorm(f *schema.Finding, ct string) {
	t.c.RowsFlagged++
	k := cellKey{contentType: ct}
	if f.Platform != nil {
		k.platform = *f.Platform
	}
	if f.CreatedAt != nil {
		k.month = t.month(*f.CreatedAt)
	}
	if t.lastC == nil || k != t.last {
		cc := t.cells[k]
		if cc == nil {
			cc = new(cellCounts)
			t.cells[k] = cc
		}
		t.last, t.lastC = k, cc
	}
	for _, cat := range f.Categories {
		if i := categoryIndex(cat); i >= 0 {
			t.lastC[i]++
			continue
		}
		if t.other == nil {
			t.other = map[otherKey]int64{}
		}
		t.other[otherKey{k, cat}]++
	}
}

// categoryIndex returns cat's index in schema.Categories, or -1.
func categoryIndex(cat schema.Category) int {
	switch cat {
	case schema.AgeUnknown:
		return 0
	case schema.Minor:
		return 1
	case schema.Objected:
		return 2
	case schema.Private:
		return 3
	case schema.Unauditable:
		return 4
	}
	return -1
}

// month renders the UTC month of a timestamp in microseconds, "2006-01",
// from a cache of the months seen.
func (t *tally) month(us int64) string {
	y, m, _ := time.UnixMicro(us).UTC().Date()
	key := int64(y)*16 + int64(m)
	if v, ok := t.months[key]; ok {
		return v
	}
	if t.months == nil {
		t.months = map[int64]string{}
	}
	v := time.UnixMicro(us).UTC().Format("2006-01")
	t.months[key] = v
	return v
}

// finish adds the cells to the counts' maps and fills ByGroup, sorted.
func (t *tally) finish() {
	c := t.c
	groups := t.groups
	count := func(k cellKey, cat schema.Category, n int64) {
		c.ByCategory[cat] += n
		mapFor(c.ByPlatform, k.platform)[cat] += n
		mapFor(c.ByMonth, k.month)[cat] += n
		groups[groupKey{k.platform, k.contentType, cat}] += n
	}
	for k, cc := range t.cells {
		mapFor(c.ByPlatform, k.platform)
		mapFor(c.ByMonth, k.month)
		for i, n := range cc {
			if n != 0 {
				count(k, schema.Categories[i], n)
			}
		}
	}
	for k, n := range t.other {
		count(k.cell, k.category, n)
	}
	t.cells, t.other, t.lastC = map[cellKey]*cellCounts{}, nil, nil
	c.ByGroup = c.ByGroup[:0]
	for k, n := range groups {
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
	seq  int
	task task
	rows int64
	hits *hits // the row group's findings, columnar; nil if none
	err  error
	took time.Duration
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
	for _, f := range s.files {
		// From an object store, a chunk read through the window has its
		// next window read while the current one is decoded.
		f.file.SetWindowAhead(s.readAhead && f.remote)
	}
	s.counts.FilesScanned = len(s.files)
	s.counts.ByMonth = map[string]map[schema.Category]int64{}
	s.tally = newTally(s.counts)

	tasks := make(chan task)
	results := make(chan result, s.workers)
	// inflight bounds the row groups decoded but not yet written: memory is
	// bounded by a few row groups, whatever the corpus size: one per
	// worker, and one judged but waiting for an earlier one to be written
	// (a worker that finishes a row group before the one before it waits
	// for that one only if it finishes another first). Workers that read
	// ahead each hold one more.
	held := s.workers + 1
	if s.readAhead && slices.ContainsFunc(s.files, func(f corpusFile) bool { return f.remote }) {
		held += s.workers
	}
	inflight := make(chan struct{}, held)

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
			b := newBatch()
			// A worker that stops early may leave a read ahead under way.
			defer b.DropPrefetch()
			var j judge
			t, ok := <-tasks
			for ok {
				// From an object store, the worker takes its next task
				// once this one's row group is open, if one is ready,
				// and reads that row group's chunks while it judges
				// this one. (Not waiting for one: the tasks in flight
				// may all be held by workers and the sink.)
				var next *task
				ahead := func() {
					if !s.readAhead || !s.files[t.file].remote {
						return
					}
					select {
					case n, more := <-tasks:
						if more {
							next = &n
							s.files[n.file].file.Prefetch(n.rowGroup, &b)
						}
					default:
					}
				}
				res := s.judgeRowGroup(t, ahead, &b, &j)
				select {
				case results <- res:
				case <-ctx.Done():
					return
				}
				if next != nil {
					t = *next
				} else {
					t, ok = <-tasks
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

// write hands one row group's findings to the sink and counts them. The
// sink gets one reused Finding whose pointers point into h: it must copy
// what it keeps before it returns (findings.Writer.Write does).
func (s *scanner) write(r result) error {
	c := s.counts
	c.RowsScanned += r.rows
	fc := &c.Files[r.task.file]
	fc.RowsJudged += r.rows
	h := r.hits
	if h == nil {
		return nil
	}
	defer putHits(h)
	fc.RowsFlagged += int64(len(h.row))
	var (
		fd                         schema.Finding
		contentID                  string
		author, created            int64
		birth                      int32
		objector, objectedAt, ctre int64
	)
	fd.Snapshot = s.snapshot
	fd.SourceFile = s.files[r.task.file].uri
	fd.RowGroup = int32(h.rowGroup)
	for k := range h.row {
		fd.RowInFile = h.firstRow + int64(h.row[k])
		set := h.set[k]
		fd.Categories = categoryLists[set]
		fd.ContentID = nil
		if id := &h.ids; id.Valid[k] {
			if id.IsInt {
				contentID = strconv.FormatInt(id.Int[k], 10)
			} else {
				// The sink copies the bytes before h is reused.
				lo, hi := id.Offsets[k], id.Offsets[k+1]
				contentID = unsafe.String(unsafe.SliceData(id.Data[lo:]), int(hi-lo))
			}
			fd.ContentID = &contentID
		}
		fd.Platform = dictAt(h.platDict, h.plat[k])
		fd.ContentType = dictAt(h.ctDict, h.ct[k])
		fd.Visibility = dictAt(h.visDict, h.vis[k])
		fd.AuthorID, fd.CreatedAt = nil, nil
		fd.BirthDate, fd.ObjectionAccountID, fd.ObjectedAt, fd.AccountsCenterID = nil, nil, nil, nil
		if h.authorValid[k] {
			author = h.author[k]
			fd.AuthorID = &author
			// The evidence is looked up here, not kept with the hit: the
			// index is immutable, and hits wait in memory for their turn.
			var ev lookup.EvidenceValues
			if set&(policy.Minor|policy.Objected) != 0 {
				ev = s.index.EvidenceOf(author)
			}
			if set.Has(policy.Minor) && ev.HasBirthDate {
				birth = ev.BirthDate
				fd.BirthDate = &birth
			}
			if set.Has(policy.Objected) && ev.Objected {
				objector, objectedAt = ev.ObjectionAccountID, ev.ObjectedAt
				fd.ObjectionAccountID, fd.ObjectedAt = &objector, &objectedAt
				if ev.HasCentre {
					ctre = ev.AccountsCenterID
					fd.AccountsCenterID = &ctre
				}
			}
		}
		if h.createdValid[k] {
			created = h.created[k]
			fd.CreatedAt = &created
		}
		ctNorm := ""
		if c := h.ct[k]; c >= 0 {
			ctNorm = h.ctNorm[c]
		}
		s.tally.addNorm(&fd, ctNorm)
		if err := s.sink(&fd); err != nil {
			return err
		}
	}
	return nil
}

func dictAt(dict []string, c int32) *string {
	if c < 0 {
		return nil
	}
	return &dict[c]
}

func mapFor(m map[string]map[schema.Category]int64, k string) map[schema.Category]int64 {
	v := m[k]
	if v == nil {
		v = map[schema.Category]int64{}
		m[k] = v
	}
	return v
}

// newBatch returns a worker's batch: content ids are decoded only for the
// findings (scan.File.ContentIDs in judgeRowGroup).
func newBatch() scan.Batch { return scan.Batch{LazyContentID: true} }

// judge holds a worker's per-batch tables, reused across row groups.
type judge struct {
	types  []policy.TypeClass
	public []bool
	facts  []policy.Facts
	ids    scan.IDs // content ids of a row group without findings (checked, dropped)
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

// hits is one row group's findings, columnar: what the sink needs of each
// flagged row, copied out of the batch (which the worker reuses) without a
// heap object per finding. Entry k is the row group's row row[k].
type hits struct {
	rowGroup int
	firstRow int64

	row          []int32
	set          []policy.Set
	author       []int64
	authorValid  []bool
	created      []int64
	createdValid []bool
	plat, ct     []int32
	vis          []int32

	ids scan.IDs // entry k's content id (scan.File.ContentIDs)

	platDict, ctDict, visDict []string
	ctNorm                    []string // ctDict, normalised
}

// hitsFree holds hits values for reuse. It is a bounded free list, not a
// sync.Pool: a pool is emptied by every garbage collection, and the audit
// collects often (GOGC=10), so its slices were reallocated, and collected
// again, row group after row group. A scan has at most workers+1+workers
// hits in use at a time.
var hitsFree = make(chan *hits, 8)

func getHits() *hits {
	var h *hits
	select {
	case h = <-hitsFree:
	default:
		h = new(hits)
	}
	h.row, h.set = h.row[:0], h.set[:0]
	h.author, h.authorValid = h.author[:0], h.authorValid[:0]
	h.created, h.createdValid = h.created[:0], h.createdValid[:0]
	h.plat, h.ct, h.vis = h.plat[:0], h.ct[:0], h.vis[:0]
	h.ids.Valid, h.ids.Int, h.ids.Data, h.ids.Offsets = h.ids.Valid[:0], h.ids.Int[:0], h.ids.Data[:0], h.ids.Offsets[:0]
	return h
}

func putHits(h *hits) {
	clear(h.platDict)
	clear(h.ctDict)
	clear(h.visDict)
	clear(h.ctNorm)
	h.platDict, h.ctDict, h.visDict, h.ctNorm = h.platDict[:0], h.ctDict[:0], h.visDict[:0], h.ctNorm[:0]
	select {
	case hitsFree <- h:
	default: // enough kept
	}
}

// add copies row i of b, flagged with set, into h.
func (h *hits) add(b *scan.Batch, i int, set policy.Set) {
	h.row = append(h.row, int32(b.Start+i))
	h.set = append(h.set, set)
	h.author = append(h.author, b.Author[i])
	h.authorValid = append(h.authorValid, b.AuthorValid[i])
	h.created = append(h.created, b.Created[i])
	h.createdValid = append(h.createdValid, b.CreatedValid[i])
	h.plat = append(h.plat, b.Platform.Codes[i])
	h.ct = append(h.ct, b.ContentType.Codes[i])
	h.vis = append(h.vis, b.Visibility.Codes[i])
}

// sliceRows is how many rows of a row group a worker decodes and judges
// at a time (scan.File.NextRows): the decoded columns of a slice take
// about 2 MB, against about 30 MB for a whole row group of a million rows.
// (A variable for tests.)
var sliceRows = 1 << 16

// judgeChunk is how many rows are probed in the lookup index at once
// (Index.FactsBatch), small enough for the facts to stay in cache.
const judgeChunk = 1024

// judgeRowGroup judges task t's row group, decoding it into b. It calls
// opened, if not nil, once the row group is open: the worker may then read
// its next row group ahead into b (scan.File.Prefetch).
func (s *scanner) judgeRowGroup(t task, opened func(), b *scan.Batch, j *judge) result {
	start := time.Now()
	f := s.files[t.file]
	res := result{seq: t.seq, task: t}
	var h *hits
	fail := func(err error) result {
		if h != nil {
			putHits(h)
		}
		res.err = err
		return res
	}
	if err := f.file.OpenRowGroup(t.rowGroup, b); err != nil {
		return fail(err)
	}
	if opened != nil {
		opened()
	}
	floor := int64(math.MinInt64)
	if s.minCreated != nil {
		floor = s.minCreated.UnixMicro()
	}
	if cap(j.facts) < judgeChunk {
		j.facts = make([]policy.Facts, judgeChunk)
	}
	j.types, j.public = j.types[:0], j.public[:0]
	rows := 0
	for {
		n, err := f.file.NextRows(b, sliceRows)
		if err != nil {
			return fail(err)
		}
		if n == 0 {
			break
		}
		rows += n
		// Evaluate the low-cardinality columns once per dictionary entry
		// (dictionaries only grow within a row group).
		for _, v := range b.ContentType.Dict[len(j.types):] {
			j.types = append(j.types, s.policy.ClassifyType(v, true))
		}
		for _, v := range b.Visibility.Dict[len(j.public):] {
			j.public = append(j.public, s.policy.IsPublic(v, true))
		}
		for c0 := 0; c0 < b.N; c0 += judgeChunk {
			c1 := min(c0+judgeChunk, b.N)
			facts := j.facts[:c1-c0]
			s.index.FactsBatch(b.Author[c0:c1], facts)
			for i := c0; i < c1; i++ {
				if b.CreatedValid[i] && b.Created[i] < floor {
					return fail(&scan.Error{File: f.uri, Column: "created_at", RowGroup: t.rowGroup, Row: b.FirstRow + int64(b.Start+i),
						Err: fmt.Errorf("value %s is before the minimum the footer statistics give (%s): the file's statistics are wrong", time.UnixMicro(b.Created[i]).UTC(), s.minCreated)})
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
				var fa policy.Facts
				if row.AuthorValid {
					fa = facts[i-c0]
				}
				set := policy.Judge(row, fa)
				if set == 0 {
					continue
				}
				if h == nil {
					h = getHits()
					h.rowGroup, h.firstRow = b.RowGroup, b.FirstRow
				}
				h.add(b, i, set)
			}
		}
	}
	if want := f.file.RowGroupRows(t.rowGroup); int64(rows) != want {
		return fail(&scan.Error{File: f.uri, RowGroup: t.rowGroup, Row: -1, Err: fmt.Errorf("decoded %d rows, footer says %d", rows, want)})
	}
	if h != nil {
		// The dictionaries as they ended the row group: they hold every
		// code the findings use.
		h.platDict = append(h.platDict, b.Platform.Dict...)
		h.ctDict = append(h.ctDict, b.ContentType.Dict...)
		h.visDict = append(h.visDict, b.Visibility.Dict...)
		for _, v := range b.ContentType.Dict {
			h.ctNorm = append(h.ctNorm, policy.Normalize(v))
		}
	}
	// Content ids only for the findings; the column is decoded and checked
	// all the same.
	ids, idRows := &j.ids, []int32(nil)
	if h != nil {
		ids, idRows = &h.ids, h.row
	} else {
		j.ids.Valid, j.ids.Int, j.ids.Data, j.ids.Offsets = j.ids.Valid[:0], j.ids.Int[:0], j.ids.Data[:0], j.ids.Offsets[:0]
	}
	if err := f.file.ContentIDs(b, idRows, ids); err != nil {
		return fail(err)
	}
	res.hits = h
	res.rows = int64(rows)
	res.took = time.Since(start)
	return res
}

// hashing computes the SHA-256 of every corpus file on one goroutine of
// its own, started before the lookup tables are built: the build keeps
// both cores busy only part of the time, and hashing after the scan used
// to add a pass over the corpus to the wall time. A file changed after it
// was hashed is caught by corpusInputs's pinned-ETag check after the scan.
type hashing struct {
	sums   []string
	err    error
	done   chan struct{}
	cancel context.CancelFunc
}

// startHashing starts hashing files; with enabled false it does nothing
// and wait returns nil sums.
func startHashing(ctx context.Context, loc lake.Location, files []corpusFile, enabled bool) *hashing {
	h := &hashing{done: make(chan struct{}), cancel: func() {}}
	if !enabled {
		close(h.done)
		return h
	}
	ctx, h.cancel = context.WithCancel(ctx)
	h.sums = make([]string, len(files))
	go func() {
		defer close(h.done)
		for i, f := range files {
			if err := ctx.Err(); err != nil {
				h.err = err
				return
			}
			sum, err := hashObject(ctx, loc.Bucket, f.obj.Key)
			if err != nil {
				h.err = err
				return
			}
			h.sums[i] = sum
		}
	}()
	return h
}

// wait returns the sums (nil if hashing was not enabled).
func (h *hashing) wait() ([]string, error) {
	<-h.done
	return h.sums, h.err
}

// stop cancels the hashing and waits for its goroutine.
func (h *hashing) stop() {
	h.cancel()
	<-h.done
}

// corpusInputs describes the corpus files for the summary, with their
// SHA-256 sums if sums is not nil, and checks that none changed while it
// was read (reads were pinned too; this also catches a local file
// rewritten between two reads, or after it was hashed).
func corpusInputs(ctx context.Context, loc lake.Location, files []corpusFile, sums []string, workers int) ([]schema.InputFile, error) {
	out := make([]schema.InputFile, len(files))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 8)) // a HEAD each, on S3
	for i, f := range files {
		g.Go(func() error {
			in := corpusInput(f)
			if sums != nil {
				in.SHA256 = sums[i]
			}
			a, err := checkPinned(ctx, loc.Bucket, f)
			if err != nil {
				return err
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

// corpusInput describes corpus file f for the summary, without its
// SHA-256.
func corpusInput(f corpusFile) schema.InputFile {
	return schema.InputFile{
		Role: schema.RoleCorpus, Path: f.uri, Size: f.obj.Attrs.Size, Rows: f.file.NumRows(),
		ETag: f.obj.Attrs.ETag, VersionID: f.obj.Attrs.VersionID,
	}
}

// checkPinned fails if corpus file f is no longer the object that was
// read (its ETag changed), and returns its current attributes.
func checkPinned(ctx context.Context, b lake.Bucket, f corpusFile) (lake.Attrs, error) {
	a, err := b.Attributes(ctx, f.obj.Key)
	if err != nil {
		return a, err
	}
	if a.ETag != f.obj.Attrs.ETag {
		return a, &lake.ObjectError{Op: "read", URI: f.uri, Err: fmt.Errorf("%w (etag %s, pinned %s)", lake.ErrChanged, a.ETag, f.obj.Attrs.ETag)}
	}
	return a, nil
}

func hashObject(ctx context.Context, b lake.Bucket, key string) (string, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, rc}); err != nil {
		return "", &lake.ObjectError{Op: "read", URI: b.URI(key), Err: err}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops reading once ctx is done: a local file's reader would
// otherwise read to its end after the run was cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func strAt(s *scan.Strings, i int) *string {
	c := s.Codes[i]
	if c < 0 {
		return nil
	}
	v := s.Dict[c]
	return &v
}
