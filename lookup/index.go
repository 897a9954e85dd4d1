// Package lookup reads the ages, objections and account-link tables (Parquet
// or CSV, through the lake abstraction: Apache Arrow reads Parquet footers
// and schemas and parses CSV, scan.ChunkReader decodes and checks Parquet
// pages) and builds the compact in-memory Index the corpus scan probes
// once per row.
//
// Build resolves everything that does not depend on the corpus row before
// the scan: the most recent birth date of every account, which accounts can
// still be minors in the corpus's time span, and the set of accounts whose
// group (connected component of the account-link graph) holds an effective
// objection. Index.Facts is then one probe of a hashed, bucketed set of
// accounts with a known birth date and one of a smaller set of the same
// kind holding the objected accounts (objSet); it does not allocate.
// Index.FactsBatch answers a slice of authors the same way, overlapping
// their cache misses.
//
// # Memory
//
// The accounts with a known birth date live in a quotient set (ageSet):
// each account id is mixed by a bijective 64-bit hash h; the top b bits of
// h pick a bucket (b >= 16, 32 to 64 accounts per bucket), and each account
// is one uint64 record holding the low 48 bits of h and a 16-bit birth code.
// Bucket and record together give back h, so the set is exact. That is 8
// bytes per account plus 4 bytes per bucket, about 8.1 bytes per account
// in all: 400 million accounts take about 3.2 GB. Birth dates live in the
// same record, so keeping them costs nothing extra; dates outside the 179
// years the codes cover go to small side maps.
//
// When the ages table's account ids are dense (its Parquet footers'
// statistics give a range of at most 4 ids per row), the codes of the
// accounts in that range are kept instead in one array indexed by id - min
// (denseAges): 2 bytes an id, built in place as the rows are read, probed
// with one memory access. The objected accounts among those ids are then
// a bit each in a bitmap over the range, with their evidence in id order
// (denseObj: about 12 bytes an objected account, against about 22 in an
// objSet). The statistics only size the arrays: an id outside the range
// (a footer that lied) goes to the hashed sets, which are otherwise empty
// or hold only accounts outside the ages table.
//
// While building, the ages rows are held as those same 8-byte records
// (rows with a null birth date are not held at all), split by the top 16
// bits of h into 65,536 partitions (through 256 small stages, one per top
// byte, that stay in the CPU cache), pre-sized from the Parquet footers,
// that are sorted by distribution, de-duplicated and moved into place one
// at a time: the peak is about 8.5-11 bytes per non-null ages row. Account
// links are held as 16-byte (account, centre) pairs, radix-sorted, while
// the connected components are computed; the ages table is read at the
// same time, on another goroutine (the two builds touch disjoint parts of
// the Index), so that a second core is used.
package lookup

import (
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/corpus-audit/corpus-audit/policy"
)

// Index is what the lookup tables know of every account, resolved for one
// snapshot and policy. It is immutable after Build and safe for concurrent
// use.
type Index struct {
	// dense holds the accounts of the ids range it covers, ages the others
	// (all of them when dense is empty).
	dense denseAges
	ages  ageSet

	// prune: birth codes of 0 mean "born too early to be a minor in this
	// corpus" (Options.MinCreatedAt was set). Otherwise code 0 means "born
	// before codeBase" and lowBirth has the date.
	prune    bool
	codeBase int32   // the day birth code 1 stands for
	adultTab []int64 // AdultFrom by birth code, for codes 1..len-1
	lowBirth map[int64]int32
	lowAdult map[int64]int64
	// highBirth: accounts with code codeHigh (born after the code range).
	highBirth map[int64]int32
	highAdult map[int64]int64

	// dobj holds the objected accounts of dense's range, obj the others.
	dobj denseObj
	obj  objSet

	stats Stats
}

// Stats describes an Index.
type Stats struct {
	// Accounts is the number of accounts with at least one non-null birth
	// date (BirthKnown).
	Accounts int64 `json:"accounts"`
	// BirthDatesKept is the number of those whose birth date is kept
	// because they can be minors in the corpus (all of them when
	// Options.MinCreatedAt is nil).
	BirthDatesKept int64 `json:"birth_dates_kept"`
	// AgeRows and NullBirthRows count the rows of the ages table, and those
	// among them with a null birth date.
	AgeRows       int64 `json:"age_rows"`
	NullBirthRows int64 `json:"null_birth_rows"`
	// ObjectionRows counts the objections table's rows; Objectors the
	// accounts with at least one effective objection.
	ObjectionRows int64 `json:"objection_rows"`
	Objectors     int64 `json:"objectors"`
	// ObjectedAccounts is the number of accounts for which Facts reports
	// Objected: the objectors and every account linked to one.
	ObjectedAccounts int64 `json:"objected_accounts"`
	// LinkRows, LinkedAccounts and Centres describe the links table;
	// Components is the number of connected components of the link graph
	// and ObjectedComponents those holding an effective objection.
	LinkRows           int64 `json:"link_rows"`
	LinkedAccounts     int64 `json:"linked_accounts"`
	Centres            int64 `json:"centres"`
	Components         int64 `json:"components"`
	ObjectedComponents int64 `json:"objected_components"`
	// DenseSpan is the number of ids whose birth codes are kept in one
	// array (2 bytes an id) instead of the hashed set (about 8 bytes an
	// account), chosen when the ages table's footer statistics show dense
	// account ids; 0 when none are.
	DenseSpan int64 `json:"dense_span"`
	// Bytes approximates the memory held by the index's structures.
	Bytes int64 `json:"bytes"`
}

// Evidence is what supports a finding's minor and objected categories.
// Nil fields are written as null.
type Evidence struct {
	// BirthDate is the author's counted (most recent) birth date, in days
	// since 1970-01-01, when the index kept it.
	BirthDate *int32
	// ObjectionAccountID is the account whose objection counts: the author
	// itself if it objected effectively, else the smallest objecting account
	// in its group.
	ObjectionAccountID *int64
	// ObjectedAt is that account's earliest effective objected_at, in
	// microseconds since the epoch, UTC.
	ObjectedAt *int64
	// AccountsCenterID is null when the author objected itself, else the
	// smallest accounts centre the author belongs to.
	AccountsCenterID *int64
}

// Facts returns what the tables know of author. It is the scan's hot path:
// it does not allocate.
//
// For an account whose birth date was not kept (it turned AdultAge before
// Options.MinCreatedAt), AdultFrom is math.MinInt64: no corpus row of it
// can be a minor's.
func (ix *Index) Facts(author int64) policy.Facts {
	var f policy.Facts
	h := mix(uint64(author))
	if code, ok := ix.code(author, h); ok {
		f.BirthKnown = true
		f.AdultFrom = ix.adultFrom(author, code)
	}
	if u, in := ix.dense.slot(author); in {
		f.Objected = ix.dobj.find(u) >= 0
	} else {
		f.Objected = ix.obj.find(h) >= 0
	}
	return f
}

// batchChunk is how many probes FactsBatch overlaps.
const batchChunk = 64

// probeWindow is how far on either side of its interpolated position
// FactsBatch expects a record: it prefetches the lines holding positions
// i-probeWindow and i+probeWindow (often the same line). The record lies
// in another line than position i for about a quarter of probes, and
// within 3 positions of i for about four in five (measured at 5 million
// accounts, 64 per bucket), so one or two lines are in flight instead of
// a second, unprefetched miss in finish: BenchmarkFactsBatch 122 -> 102
// ns per probe here (alternating runs). Windows of 2 and 4 were slower.
const probeWindow = 3

// FactsBatch sets out[i] to Facts(authors[i]) for every i (out must be at
// least as long as authors). It gives the same answers as calling Facts in
// a loop, faster: for a chunk of probes it first prefetches the memory
// each will touch (the bucket indexes, then the age record and the first
// objected key of the bucket), in two
// passes so that the second pass's addresses are computed from cached
// data, then answers them: their cache misses overlap instead of queueing.
// Values at null positions are probed like any other; ignore their
// results. It does not allocate.
func (ix *Index) FactsBatch(authors []int64, out []policy.Facts) {
	out = out[:len(authors)]
	var (
		hs   [batchChunk]uint64
		pos  [batchChunk]int
		cand [batchChunk]uint8 // probes the objected filter lets through
	)
	d, s, t, dt := &ix.dense, &ix.ages, &ix.obj, &ix.dobj
	hasAges, hasObj := s.off != nil, t.off != nil
	for base := 0; base < len(authors); base += batchChunk {
		chunk := authors[base:min(base+batchChunk, len(authors))]
		nc := 0
		for k, a := range chunk {
			if u, in := d.slot(a); in {
				prefetch(unsafe.Pointer(&d.codes[u]))
				continue // no hash needed; its objected bit is in a small array
			}
			h := mix(uint64(a))
			hs[k] = h
			if hasAges {
				prefetch(unsafe.Pointer(&s.off[(h>>56)*s.stride+(h>>s.shift)&s.bmask]))
			}
			if hasObj {
				f := h >> t.fshift
				prefetch(unsafe.Pointer(&t.filter[f>>6]))
			}
		}
		for k, a := range chunk {
			h := hs[k]
			if _, in := d.slot(a); in {
				continue
			}
			if hasAges {
				g, i, lo, hi := s.locate(h)
				pos[k] = i
				if i < hi {
					recs := s.groups[g]
					prefetch(unsafe.Pointer(&recs[max(i-probeWindow, lo)]))
					prefetch(unsafe.Pointer(&recs[min(i+probeWindow, hi-1)]))
				}
			}
			if hasObj && t.mayHave(h) {
				prefetch(unsafe.Pointer(&t.off[h>>t.shift]))
				cand[nc] = uint8(k)
				nc++
			}
		}
		// The few probes the filter lets through: their keys.
		for _, k := range cand[:nc] {
			if lo, hi := t.bucketOf(hs[k]); lo < hi {
				prefetch(unsafe.Pointer(&t.keys[lo]))
			}
		}
		for k, a := range chunk {
			var (
				f    policy.Facts
				code uint64
				ok   bool
			)
			if u, in := d.slot(a); in {
				code, ok = fromDense(d.codes[u])
				f.Objected = dt.find(u) >= 0
			} else if hasAges {
				h := hs[k]
				g, _, lo, hi := s.locate(h)
				code, ok = finish(h, s.groups[g], pos[k], lo, hi)
			}
			if ok {
				f.BirthKnown = true
				f.AdultFrom = ix.adultFrom(a, code)
			}
			out[base+k] = f
		}
		for _, k := range cand[:nc] {
			out[base+int(k)].Objected = t.find(hs[k]) >= 0
		}
	}
}

// objected returns the objector (an index into ix.obj.objectors, |
// hasCentre) and centre of the account id, whose hash is h, if it is
// objected.
func (ix *Index) objected(id int64, h uint64) (who uint32, centre int64, ok bool) {
	if u, in := ix.dense.slot(id); in {
		if i := ix.dobj.find(u); i >= 0 {
			return ix.dobj.who[i], ix.dobj.centre[i], true
		}
		return 0, 0, false
	}
	if i := ix.obj.find(h); i >= 0 {
		return ix.obj.who[i], ix.obj.centre[i], true
	}
	return 0, 0, false
}

// code returns the birth code of the account id, whose hash is h.
func (ix *Index) code(id int64, h uint64) (uint64, bool) {
	if u, in := ix.dense.slot(id); in {
		return fromDense(ix.dense.codes[u])
	}
	return ix.ages.find(h)
}

func (ix *Index) adultFrom(author int64, code uint64) int64 {
	switch {
	case code == 0:
		if ix.prune {
			return math.MinInt64
		}
		return ix.lowAdult[author]
	case code == codeHigh:
		return ix.highAdult[author]
	default:
		return ix.adultTab[code]
	}
}

// birth returns the kept birth date of an account with the given code.
func (ix *Index) birth(author int64, code uint64) (int32, bool) {
	switch {
	case code == 0:
		if ix.prune {
			return 0, false
		}
		d, ok := ix.lowBirth[author]
		return d, ok
	case code == codeHigh:
		d, ok := ix.highBirth[author]
		return d, ok
	default:
		return ix.codeBase + int32(code) - 1, true
	}
}

// Evidence returns the evidence for author's minor and objected
// categories. It allocates; call it only for flagged rows (or use
// EvidenceOf, which does not).
func (ix *Index) Evidence(author int64) Evidence {
	v := ix.EvidenceOf(author)
	var e Evidence
	if v.HasBirthDate {
		d := v.BirthDate
		e.BirthDate = &d
	}
	if v.Objected {
		o, at := v.ObjectionAccountID, v.ObjectedAt
		e.ObjectionAccountID, e.ObjectedAt = &o, &at
		if v.HasCentre {
			c := v.AccountsCenterID
			e.AccountsCenterID = &c
		}
	}
	return e
}

// EvidenceValues is Evidence as plain values, with flags for the fields
// Evidence leaves nil.
type EvidenceValues struct {
	BirthDate          int32
	HasBirthDate       bool
	Objected           bool // ObjectionAccountID and ObjectedAt are set
	HasCentre          bool // AccountsCenterID is set
	ObjectionAccountID int64
	ObjectedAt         int64
	AccountsCenterID   int64
}

// EvidenceOf is Evidence without allocating: the scan calls it for every
// finding.
func (ix *Index) EvidenceOf(author int64) EvidenceValues {
	var e EvidenceValues
	h := mix(uint64(author))
	if code, ok := ix.code(author, h); ok {
		e.BirthDate, e.HasBirthDate = ix.birth(author, code)
	}
	if who, centre, ok := ix.objected(author, h); ok {
		ob := ix.obj.objectors[who&^hasCentre]
		e.Objected = true
		e.ObjectionAccountID, e.ObjectedAt = ob.id, ob.at
		if who&hasCentre != 0 {
			e.HasCentre, e.AccountsCenterID = true, centre
		}
	}
	return e
}

// Stats describes the index.
func (ix *Index) Stats() Stats { return ix.stats }

// mix is a bijection of uint64 with good avalanche (MurmurHash3's fmix64):
// every step is invertible, so distinct keys have distinct hashes.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// Birth codes: the low 16 bits of an ageSet record.
const (
	// codeHigh marks a birth date after the code range; the date is in a
	// side table.
	codeHigh = 0xFFFF
	// codeSpan is the number of days codes 1..codeHigh-1 stand for.
	// (Code codeHigh-1 is not used, so that a code fits in a denseAges
	// entry beside "unknown".)
	codeSpan = codeHigh - 2
)

// denseAges holds the birth codes of the accounts lo..lo+len(codes)-1:
// 2 bytes an id where the ids are dense, against about 8 an account in an
// ageSet. codes[id-lo] is 0 for an id without a known birth date, and
// code+1 for one with code 0..codeSpan, 0xFFFF for codeHigh: larger codes
// stay larger, so several rows of an account keep the largest by max.
// Build chooses it from the ages table's footer statistics (see readAges).
type denseAges struct {
	lo    int64
	codes []uint16
}

// slot returns id's position in d.codes, if d covers it.
func (d *denseAges) slot(id int64) (uint64, bool) {
	u := uint64(id) - uint64(d.lo)
	return u, u < uint64(len(d.codes))
}

// toDense returns the denseAges entry of a birth code.
func toDense(code uint64) uint16 {
	if code == codeHigh {
		return 0xFFFF
	}
	return uint16(code + 1)
}

// fromDense returns the birth code of a denseAges entry, and whether it
// has one.
func fromDense(v uint16) (uint64, bool) {
	switch v {
	case 0:
		return 0, false
	case 0xFFFF:
		return codeHigh, true
	}
	return uint64(v) - 1, true
}

// ageSet is an exact set of account ids with a 16-bit code each.
//
// h = mix(id). The top b bits of h (b >= 16) select a bucket; buckets are
// grouped by the top 8 bits of h into 256 groups, each a sorted []uint64 of
// records h<<16 | code (the low 48 bits of h, then the code). The top 16
// bits of h are implied by the bucket, so a record and its bucket identify
// h, and h identifies the id. off holds, for every group, the start of each
// of its buckets plus an end marker: bucket lb of group g spans
// groups[g][off[g*stride+lb]:off[g*stride+lb+1]].
type ageSet struct {
	b      uint   // bucket bits
	shift  uint   // 64 - b
	bmask  uint64 // buckets per group - 1
	stride uint64 // buckets per group + 1
	off    []uint32
	groups [256][]uint64
	n      int64
}

// find returns the code of the account whose hash is h.
func (s *ageSet) find(h uint64) (uint64, bool) {
	if s.off == nil {
		return 0, false
	}
	g, i, lo, hi := s.locate(h)
	return finish(h, s.groups[g], i, lo, hi)
}

// locate returns h's group, its bucket's bounds in the group and the
// interpolated position of its record. A bucket's records are sorted and
// spread uniformly over its range of hashes, so the record, if present, is
// usually within a few positions of i.
func (s *ageSet) locate(h uint64) (g uint64, i, lo, hi int) {
	g = h >> 56
	o := g*s.stride + (h>>s.shift)&s.bmask
	lo, hi = int(s.off[o]), int(s.off[o+1])
	return g, lo + int((uint64(hi-lo)*(h<<s.b>>32))>>32), lo, hi
}

// finish looks for h's record in the bucket recs[lo:hi] (sorted), walking
// from the interpolated position i. (A branch-free count over a fixed
// window around i measured twice as slow.)
func finish(h uint64, recs []uint64, i, lo, hi int) (uint64, bool) {
	want := h << 16
	if i < hi && recs[i] < want {
		for i++; i < hi && recs[i] < want; i++ {
		}
	} else {
		for i > lo && recs[i-1] >= want {
			i--
		}
	}
	if i < hi && recs[i]^want <= 0xFFFF {
		return recs[i] & 0xFFFF, true
	}
	return 0, false
}

// bytes approximates the memory the set holds.
func (s *ageSet) bytes() int64 {
	n := int64(len(s.off)) * 4
	for _, g := range s.groups {
		n += int64(cap(g)) * 8
	}
	return n
}

// bucketTarget is the most records a bucket holds on average. Larger
// buckets make the bucket index smaller (4/bucketTarget bytes per account)
// and so more likely to be in the CPU cache; find interpolates within the
// bucket, so their size costs little.
const bucketTarget = 64

// ageSetBuilder collects records and turns them into an ageSet.
//
// Records reach their partition through a stage per top byte of h:
// appending each row straight to one of 65,536 partitions touches a
// random slice header and a random destination line per row (two cache
// misses); staged, the 256 stages stay in cache and a full stage is
// flushed into its 256 partitions, whose headers and ends are then close
// together.
type ageSetBuilder struct {
	parts [][]uint64 // by the top 16 bits of h
	stage *[256]recStage
	n     int64 // records added
}

// stageRecs is the capacity of a recStage.
const stageRecs = 128

// recStage holds records of one top byte of h not yet in their partition,
// with the second byte of h that picks the partition.
type recStage struct {
	n    int
	recs [stageRecs]uint64
	lo   [stageRecs]uint8
}

func newAgeSetBuilder() *ageSetBuilder {
	return &ageSetBuilder{parts: make([][]uint64, 1<<16), stage: new([256]recStage)}
}

// reserve makes room for about rows records in total, spread evenly over
// the partitions (the hash is uniform), so that they are not grown by
// append, which leaves up to a fifth of their room unused.
func (b *ageSetBuilder) reserve(rows int64) {
	per := rows / int64(len(b.parts))
	if per < 64 {
		return // small tables: growing by append costs little
	}
	per += 4 * int64(math.Sqrt(float64(per))) // a 4-sigma margin
	for p := range b.parts {
		if cap(b.parts[p]) == 0 {
			b.parts[p] = make([]uint64, 0, per)
		}
	}
}

// add records one (account, code) row. Several rows for one account keep
// the largest code.
func (b *ageSetBuilder) add(id int64, code uint64) {
	h := mix(uint64(id))
	g := h >> 56
	b.n++
	st := &b.stage[g]
	st.recs[st.n] = h<<16 | code
	st.lo[st.n] = uint8(h >> 48)
	st.n++
	if st.n == stageRecs {
		b.flush(g)
	}
}

// flush moves stage g's records to their partitions.
func (b *ageSetBuilder) flush(g uint64) {
	st := &b.stage[g]
	parts := b.parts[g<<8 : (g+1)<<8]
	for i, r := range st.recs[:st.n] {
		p := st.lo[i]
		parts[p] = append(parts[p], r)
	}
	st.n = 0
}

// build sorts and de-duplicates the partitions one at a time, lays them out
// in groups and releases them. The builder is empty afterwards.
func (b *ageSetBuilder) build() ageSet {
	for g := range b.stage {
		b.flush(uint64(g))
	}
	b.stage = nil
	var n int64
	var us uniformSorter
	for p, s := range b.parts {
		if len(s) == 0 {
			continue
		}
		us.sort(s)
		w := 0
		for _, r := range s {
			if w > 0 && s[w-1]>>16 == r>>16 {
				s[w-1] = r // sorted: r has the larger code
				continue
			}
			s[w] = r
			w++
		}
		b.parts[p] = s[:w]
		n += int64(w)
	}
	// Buckets of bucketTarget/2 to bucketTarget records.
	nb := uint64((n + bucketTarget - 1) / bucketTarget)
	bb := bits.Len64(nb - 1)
	if nb == 0 {
		bb = 0
	}
	bb = min(max(bb, 16), 32)
	s := ageSet{b: uint(bb), shift: uint(64 - bb), n: n}
	bpg := uint64(1) << (bb - 8)
	s.bmask = bpg - 1
	s.stride = bpg + 1
	s.off = make([]uint32, 256*s.stride)
	for g := uint64(0); g < 256; g++ {
		size := 0
		for p := g << 8; p < (g+1)<<8; p++ {
			size += len(b.parts[p])
		}
		recs := make([]uint64, 0, size)
		off := s.off[g*s.stride : (g+1)*s.stride]
		for p := g << 8; p < (g+1)<<8; p++ {
			for _, r := range b.parts[p] {
				h := p<<48 | r>>16
				off[(h>>s.shift)&s.bmask+1]++
			}
			recs = append(recs, b.parts[p]...)
			b.parts[p] = nil
		}
		for i := 1; i < len(off); i++ {
			off[i] += off[i-1]
		}
		s.groups[g] = recs
	}
	b.parts = nil
	return s
}

// uniformSorter sorts slices of uniformly distributed uint64s (ageSet
// records: hashes in their high bits) by distribution: a counting sort
// on their top bits into about one slot per value, then an insertion
// sort of the nearly sorted result. That is a few passes per value where
// a comparison sort takes several times as long. Any input is sorted
// correctly; only the speed depends on the distribution.
type uniformSorter struct {
	tmp    []uint64
	counts []int32
}

func (u *uniformSorter) sort(s []uint64) {
	n := len(s)
	if n < 48 {
		insertionSort(s)
		return
	}
	k := uint(bits.Len(uint(n))) // 2^k > n: at most one value per slot on average
	slots := 1 << k
	if cap(u.counts) < slots+1 {
		u.counts = make([]int32, slots+1)
	}
	counts := u.counts[:slots+1]
	clear(counts)
	shift := 64 - k
	for _, v := range s {
		counts[(v>>shift)+1]++
	}
	for i := 1; i <= slots; i++ {
		counts[i] += counts[i-1]
	}
	if cap(u.tmp) < n {
		u.tmp = make([]uint64, n)
	}
	tmp := u.tmp[:n]
	for _, v := range s {
		d := v >> shift
		tmp[counts[d]] = v
		counts[d]++
	}
	copy(s, tmp)
	// Uniform values leave about one move per value to do. Values crowded
	// into a few slots (crafted account ids whose hashes share their top
	// bits) would make this quadratic: past a budget, sort by comparison.
	if !insertionSortBudget(s, 8*n) {
		slices.Sort(s)
	}
}

// insertionSort sorts s; fast when s is nearly sorted.
func insertionSort(s []uint64) { insertionSortBudget(s, math.MaxInt) }

// insertionSortBudget sorts s by insertion unless that takes more than
// budget moves; it reports whether s is sorted (if not, s is still a
// permutation of its values).
func insertionSortBudget(s []uint64, budget int) bool {
	for i := 1; i < len(s); i++ {
		v := s[i]
		j := i
		for ; j > 0 && s[j-1] > v; j-- {
			s[j] = s[j-1]
		}
		s[j] = v
		if budget -= i - j; budget < 0 {
			return false
		}
	}
	return true
}
