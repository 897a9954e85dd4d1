package lookup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/schema"
)

// Tables names the lookup tables. Each Location names one file or a
// folder/prefix of .parquet and .csv files. Links is optional (nil: no
// account links; every account is its own group).
type Tables struct {
	Ages, Objections lake.Location
	Links            *lake.Location
}

// Options are the snapshot and policy settings the index is resolved for.
type Options struct {
	// SnapshotAt is the instant objections are judged at.
	SnapshotAt time.Time
	// Policy gives AdultAge and ObjectionGrace.
	Policy policy.Policy
	// MinCreatedAt, when set, is the earliest created_at in the corpus:
	// birth dates are only kept for accounts whose adult-from instant
	// (policy.AdultFrom) is after it (others can never be minors in this
	// corpus); the rest are kept only as "age known", with Facts.AdultFrom
	// math.MinInt64. nil keeps every birth date.
	MinCreatedAt *time.Time
}

// Build reads the tables and builds the index. It returns one InputFile per
// file read (objections, then links, then ages). Any file it cannot read,
// any missing column, column of the wrong type, null key or unparsable value
// is an error naming the file (and the column and 0-based row where there
// is one).
//
// Column types: account_id and accounts_center_id int64 or int32;
// birth_date DATE (a TIMESTAMP birth_date is refused: the day it means
// depends on a time zone); objected_at and withdrawn_at TIMESTAMP of any
// unit, or INT96. account_id, accounts_center_id and objected_at must not
// be null.
func Build(ctx context.Context, t Tables, o Options) (*Index, []schema.InputFile, error) {
	if o.SnapshotAt.IsZero() {
		return nil, nil, errors.New("lookup: snapshot time not set")
	}
	if o.Policy.AdultAge <= 0 || o.Policy.AdultAge > 150 {
		return nil, nil, fmt.Errorf("lookup: adult age %d out of range 1..150", o.Policy.AdultAge)
	}
	if o.Policy.ObjectionGrace < 0 {
		return nil, nil, fmt.Errorf("lookup: objection grace %s is negative", o.Policy.ObjectionGrace)
	}
	ix := &Index{}
	var inputs []schema.InputFile

	// The ages table's footers first: they decide whether ix.dense covers
	// a range of ids, which the objected set uses too.
	ab, agesFiles, err := ix.prepareAges(ctx, t.Ages, o)
	if err != nil {
		return nil, nil, err
	}

	// The ages table is independent of the other two: read it on another
	// goroutine while objections and links are read and resolved (they
	// touch disjoint fields of ix; ix.dense's range is set). Inputs keep
	// their order.
	type agesDone struct {
		in  []schema.InputFile
		err error
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	agesc := make(chan agesDone, 1)
	go func() {
		in, err := ab.read(actx, t.Ages, agesFiles)
		agesc <- agesDone{in, err}
	}()
	fail := func(err error) (*Index, []schema.InputFile, error) {
		cancel()
		<-agesc
		return nil, nil, err
	}

	// Objections first: links are only worth resolving against them.
	objectors, in, err := readObjections(ctx, t.Objections, o, &ix.stats)
	if err != nil {
		return fail(err)
	}
	inputs = append(inputs, in...)

	var links []link
	if t.Links != nil {
		links, in, err = readLinks(ctx, *t.Links, &ix.stats)
		if err != nil {
			return fail(err)
		}
		inputs = append(inputs, in...)
	}
	if err := ix.resolveObjected(objectors, links); err != nil {
		return fail(err)
	}
	links = nil

	ad := <-agesc
	if ad.err != nil {
		return nil, nil, ad.err
	}
	inputs = append(inputs, ad.in...)

	ix.stats.Objectors = int64(len(objectors))
	ix.stats.ObjectedAccounts = int64(ix.obj.len() + len(ix.dobj.who))
	ix.stats.Bytes = ix.bytes()
	return ix, inputs, nil
}

// objector is an account with an effective objection and its earliest
// effective objected_at (micros).
type objector struct {
	id int64
	at int64
}

// readObjections returns the accounts with an effective objection, sorted
// by id.
func readObjections(ctx context.Context, loc lake.Location, o Options, st *Stats) ([]objector, []schema.InputFile, error) {
	var out []objector
	in, err := readTable(ctx, loc, objectionsSpec, func(b *batch) error {
		ids, at, wd := b.cols[0].ids, b.cols[1].times, b.cols[2]
		for i := 0; i < b.n; i++ {
			var w *time.Time
			if wd.valid[i] {
				w = &wd.times[i]
			}
			if policy.Effective(at[i], w, o.SnapshotAt, o.Policy.ObjectionGrace) {
				out = append(out, objector{ids[i], at[i].UnixMicro()})
			}
		}
		st.ObjectionRows += int64(b.n)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(out, func(a, b objector) int {
		return cmp2(a.id, b.id, a.at, b.at)
	})
	// Keep the earliest objection of each account (the first after sorting).
	out = slices.CompactFunc(out, func(a, b objector) bool { return a.id == b.id })
	return slices.Clip(out), in, nil
}

// cmp2 orders by (a1, a2) against (b1, b2). Unlike cmp.Or over two
// cmp.Compare, it skips the second comparison when the first decides (the
// sorts of the links table are a large part of Build).
func cmp2(a1, b1, a2, b2 int64) int {
	switch {
	case a1 < b1:
		return -1
	case a1 > b1:
		return 1
	case a2 < b2:
		return -1
	case a2 > b2:
		return 1
	}
	return 0
}

// link is one row of the links table. While components are computed,
// centre is replaced by the centre's dense index.
type link struct {
	account, centre int64
}

func readLinks(ctx context.Context, loc lake.Location, st *Stats) ([]link, []schema.InputFile, error) {
	files, err := listTable(ctx, linksSpec.role, loc)
	if err != nil {
		return nil, nil, err
	}
	out := make([]link, 0, estimateRows(ctx, loc, files))
	in, err := readFiles(ctx, loc, files, linksSpec, func(b *batch) error {
		a, c := b.cols[0].ids, b.cols[1].ids
		for i := 0; i < b.n; i++ {
			out = append(out, link{a[i], c[i]})
		}
		st.LinkRows += int64(b.n)
		return nil
	})
	return out, in, err
}

// resolveObjected computes, once, every account that is objected and its
// evidence, and fills ix.obj. It reorders links.
func (ix *Index) resolveObjected(objectors []objector, links []link) error {
	st := &ix.stats
	if len(objectors) >= hasCentre {
		return fmt.Errorf("objections table: %d objecting accounts, more than %d", len(objectors), hasCentre-1)
	}

	// Dense centre indexes (in centre order), then sort by (account,
	// centre): repeated links are adjacent.
	sortLinks(links, true, true)
	var centres []int64
	for i := range links {
		if len(centres) == 0 || centres[len(centres)-1] != links[i].centre {
			centres = append(centres, links[i].centre)
		}
		links[i].centre = int64(len(centres) - 1)
	}
	st.Centres = int64(len(centres))
	if len(centres) > math.MaxInt32 {
		return fmt.Errorf("links table: %d accounts centres, more than %d", len(centres), math.MaxInt32)
	}
	sortLinks(links, false, false)
	links = slices.Compact(links)

	// Union-find over centres: an account in several centres joins them.
	uf := newUnionFind(len(centres))
	for i := 0; i < len(links); {
		j := i + 1
		for j < len(links) && links[j].account == links[i].account {
			uf.union(int32(links[i].centre), int32(links[j].centre))
			j++
		}
		st.LinkedAccounts++
		i = j
	}
	for c := range centres {
		if uf.find(int32(c)) == int32(c) {
			st.Components++
		}
	}

	// The smallest objector of each component (objectors are sorted).
	compObj := make([]int32, len(centres))
	for i := range compObj {
		compObj[i] = -1
	}
	for oi, o := range objectors {
		k, ok := slices.BinarySearchFunc(links, o.id, func(l link, id int64) int { return cmp.Compare(l.account, id) })
		if !ok {
			continue
		}
		r := uf.find(int32(links[k].centre))
		if compObj[r] < 0 {
			compObj[r] = int32(oi)
			st.ObjectedComponents++
		}
	}

	// Every centre's component objector, in place: roots keep theirs,
	// the others take their root's, so that the merge below reads one
	// array instead of walking the union-find forest per account.
	for c := range compObj {
		if r := uf.find(int32(c)); r != int32(c) {
			compObj[c] = compObj[r]
		}
	}
	centreObj := compObj

	// Size the outputs exactly: objectors, plus the linked accounts whose
	// (smallest) centre's component holds an objection; those in
	// ix.dense's range go to ix.dobj, the others to ix.obj.
	var inDense, hashed int
	count := func(id int64) {
		if _, in := ix.dense.slot(id); in {
			inDense++
		} else {
			hashed++
		}
	}
	for _, o := range objectors {
		count(o.id)
	}
	for i := 0; i < len(links); {
		j := i + 1
		for j < len(links) && links[j].account == links[i].account {
			j++
		}
		if centreObj[links[i].centre] >= 0 {
			count(links[i].account) // may count an objector twice: an upper bound
		}
		i = j
	}
	recs := make([]objRec, 0, hashed)
	dob := newDenseObjBuilder(len(ix.dense.codes), inDense)
	add := func(id int64, who uint32, centre int64) {
		if u, in := ix.dense.slot(id); in {
			dob.add(u, who, centre) // in id order, as the merge emits
		} else {
			recs = append(recs, objRec{h: mix(uint64(id)), who: who, centre: centre})
		}
	}

	// Merge the linked accounts (sorted, each run's first link is its
	// smallest centre) with the objectors (sorted).
	oi := 0
	emitObjectorsBelow := func(id int64, inclusive bool) {
		for oi < len(objectors) && (objectors[oi].id < id || inclusive && objectors[oi].id == id) {
			add(objectors[oi].id, uint32(oi), 0)
			oi++
		}
	}
	for i := 0; i < len(links); {
		a := links[i].account
		j := i + 1
		for j < len(links) && links[j].account == a {
			j++
		}
		emitObjectorsBelow(a, false)
		if oi < len(objectors) && objectors[oi].id == a {
			emitObjectorsBelow(a, true) // objected itself
		} else if ci := centreObj[links[i].centre]; ci >= 0 {
			add(a, uint32(ci)|hasCentre, centres[links[i].centre])
		}
		i = j
	}
	emitObjectorsBelow(math.MaxInt64, true)

	ix.obj = newObjSet(recs, objectors)
	ix.dobj = dob.finish()
	return nil
}

// unionFind is a disjoint-set forest over dense int32 indexes, with union
// by size and path halving.
type unionFind struct {
	parent, size []int32
}

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int32, n), size: make([]int32, n)}
	for i := range u.parent {
		u.parent[i] = int32(i)
		u.size[i] = 1
	}
	return u
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *unionFind) union(a, b int32) {
	a, b = u.find(a), u.find(b)
	if a == b {
		return
	}
	if u.size[a] < u.size[b] {
		a, b = b, a
	}
	u.parent[b] = a
	u.size[a] += u.size[b]
}

// minBirthDay is the first day birth codes stand for when every birth date
// is kept: 1900-01-01.
const minBirthDay = -25567

// keptFrom returns the first birth day whose adult-from instant is after
// minCreated: accounts born that day or later can be minors in a corpus
// whose rows are all created at or after minCreated.
func keptFrom(minCreated time.Time, age int) int32 {
	m := minCreated.UnixMicro()
	// AdultFrom(d) <= d's midnight + age*366 days, so this start is safe.
	d := int32(minCreated.Unix()/86400) - int32(age)*366 - 2
	for policy.AdultFrom(d, age) <= m {
		d++
	}
	return d
}

// prepareAges lists the ages table, reads its footers and sizes the
// structures its rows will go to: ix.dense when the footers show dense
// account ids, else the ageSet.
func (ix *Index) prepareAges(ctx context.Context, loc lake.Location, o Options) (*agesBuilder, []tableFile, error) {
	files, err := listTable(ctx, agesSpec.role, loc)
	if err != nil {
		return nil, nil, err
	}
	ab := ix.newAgesBuilder(o)
	rows := estimateRows(ctx, loc, files)
	if lo, hi, ok := idRange(files, agesSpec.cols[0].name); ok && denseWorth(lo, hi, rows) {
		ab.setDense(lo, hi)
	} else {
		ab.sb.reserve(rows)
	}
	return ab, files, nil
}

// read reads the ages table's files into ix.ages or ix.dense and the
// birth-date tables.
func (ab *agesBuilder) read(ctx context.Context, loc lake.Location, files []tableFile) ([]schema.InputFile, error) {
	ix := ab.ix
	in, err := readFiles(ctx, loc, files, agesSpec, func(b *batch) error {
		ids, births := b.cols[0].ids, b.cols[1]
		for i := 0; i < b.n; i++ {
			if !births.valid[i] {
				ix.stats.NullBirthRows++
				continue // only null birth dates: age unknown
			}
			ab.add(ids[i], births.dates[i])
		}
		ix.stats.AgeRows += int64(b.n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ab.finish()
	return in, nil
}

// denseFactor is how many ids per ages row a denseAges may span: at 2
// bytes an id it then costs at most 8 bytes a row, about what an ageSet
// costs an account, and less than the ageSet's build (8.5-11 bytes a row).
const denseFactor = 4

// maxDenseSpan bounds a denseAges (256 GiB of codes): a wider range with
// as many rows can only come from a corrupt footer's row count.
const maxDenseSpan = 1 << 37

// denseWorth reports whether a denseAges over lo..hi costs less than an
// ageSet for about rows ages rows.
func denseWorth(lo, hi, rows int64) bool {
	span := uint64(hi) - uint64(lo) // ids in the range, less one
	// span/denseFactor < rows: span < rows*denseFactor, without overflow.
	return hi >= lo && rows > 0 && span < maxDenseSpan && span/denseFactor < uint64(rows)
}

// agesBuilder turns ages rows with a birth date into ix.ages and the
// birth-date side tables.
type agesBuilder struct {
	ix   *Index
	age  int
	base int64
	sb   *ageSetBuilder
}

func (ix *Index) newAgesBuilder(o Options) *agesBuilder {
	ix.codeBase = minBirthDay
	// Prune only when it starts after minBirthDay: a placeholder created_at
	// (0001-01-01, 1900-01-01) would otherwise put every real birth date
	// past the code range into the side maps, at ~100 bytes an account.
	if o.MinCreatedAt != nil {
		if from := keptFrom(*o.MinCreatedAt, o.Policy.AdultAge); from > minBirthDay {
			ix.prune = true
			ix.codeBase = from
		}
	}
	ix.lowBirth, ix.highBirth = map[int64]int32{}, map[int64]int32{}
	return &agesBuilder{ix: ix, age: o.Policy.AdultAge, base: int64(ix.codeBase), sb: newAgeSetBuilder()}
}

func keepMax(m map[int64]int32, id int64, d int32) {
	if old, ok := m[id]; !ok || d > old {
		m[id] = d
	}
}

// setDense has the accounts lo..hi kept in ix.dense instead of ix.ages.
// Call it before add.
func (ab *agesBuilder) setDense(lo, hi int64) {
	ab.ix.dense = denseAges{lo: lo, codes: make([]uint16, uint64(hi)-uint64(lo)+1)}
}

// add records one ages row with a non-null birth date.
func (ab *agesBuilder) add(id int64, d int32) {
	ix := ab.ix
	var code uint64
	switch off := int64(d) - ab.base; {
	case off < 0:
		code = 0
		if !ix.prune {
			keepMax(ix.lowBirth, id, d)
		}
	case off < codeSpan:
		code = uint64(off) + 1
	default:
		code = codeHigh
		keepMax(ix.highBirth, id, d)
	}
	if u, in := ix.dense.slot(id); in {
		ix.dense.codes[u] = max(ix.dense.codes[u], toDense(code))
		return
	}
	ab.sb.add(id, code)
}

// finish builds the set and the tables that depend on it.
func (ab *agesBuilder) finish() {
	ix, st, age := ab.ix, &ab.ix.stats, ab.age
	if ab.sb.n > 0 {
		ix.ages = ab.sb.build()
	}
	ab.sb = nil
	st.Accounts = ix.ages.n
	if ix.dense.codes != nil {
		st.DenseSpan = int64(len(ix.dense.codes))
	}

	// Side tables: drop accounts whose counted birth date is elsewhere.
	for id := range ix.lowBirth {
		if code, _ := ix.code(id, mix(uint64(id))); code != 0 {
			delete(ix.lowBirth, id)
		}
	}
	ix.lowAdult = make(map[int64]int64, len(ix.lowBirth))
	for id, d := range ix.lowBirth {
		ix.lowAdult[id] = policy.AdultFrom(d, age)
	}
	ix.highAdult = make(map[int64]int64, len(ix.highBirth))
	for id, d := range ix.highBirth {
		ix.highAdult[id] = policy.AdultFrom(d, age)
	}

	// AdultFrom by code, up to the largest code in use; count kept dates.
	maxCode := uint64(0)
	count := func(code uint64) {
		if code != 0 || !ix.prune {
			st.BirthDatesKept++
		}
		if code != codeHigh {
			maxCode = max(maxCode, code)
		}
	}
	for _, v := range ix.dense.codes {
		if code, ok := fromDense(v); ok {
			st.Accounts++
			count(code)
		}
	}
	for _, g := range ix.ages.groups {
		for _, r := range g {
			count(r & 0xFFFF)
		}
	}
	ix.adultTab = make([]int64, maxCode+1)
	for c := uint64(1); c <= maxCode; c++ {
		ix.adultTab[c] = policy.AdultFrom(ix.codeBase+int32(c)-1, age)
	}
}

// bytes approximates the memory the index holds.
func (ix *Index) bytes() int64 {
	const mapEntry = 48 // rough cost of one small map entry
	n := ix.ages.bytes() + int64(cap(ix.dense.codes))*2
	n += int64(cap(ix.adultTab)) * 8
	n += int64(len(ix.lowBirth)+len(ix.lowAdult)+len(ix.highBirth)+len(ix.highAdult)) * mapEntry
	n += ix.obj.bytes() + ix.dobj.bytes()
	return n
}
