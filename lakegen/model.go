package lakegen

import (
	"fmt"
	"math/bits"
	"sort"
	"time"
)

// rng is SplitMix64: tiny, fast, and stable across Go releases, so a seed
// selects the same lake forever.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	return mix64(r.s)
}

// n returns a uniform number in [0, n).
func (r *rng) n(n uint64) uint64 {
	hi, _ := bits.Mul64(r.next(), n)
	return hi
}

// float returns a uniform number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// hash2 combines a seed with a value into a well-mixed 64-bit hash.
func hash2(seed, v uint64) uint64 {
	return mix64(mix64(seed+0x632BE59BD9B4E019) ^ (v * 0x9E3779B97F4A7C15))
}

const (
	usPerDay = 86400 * 1_000_000
	// corpusYears is the span of created_at before the snapshot.
	corpusYears = 4
	idBase      = 100_000_000       // account ids are idBase + a permutation of 0..Accounts-1
	centreBase  = 7_000_000_000_000 // accounts_center_id of centre c is centreBase + c
	contentBase = 100_000_000_000   // content ids are 12 digits, increasing in file then row order
)

func dayOf(y, m, d int) int32 {
	return int32(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// adultFromUS is the generator's own 18th-birthday instant, in microseconds.
func adultFromUS(day int32) int64 {
	y, m, d := time.Unix(int64(day)*86400, 0).UTC().Date()
	return time.Date(y+18, m, d, 0, 0, 0, 0, time.UTC).UnixMicro()
}

// The planted ("special") accounts occupy the first account indexes. Their
// birth dates, links and objections are fixed, and the edge rows use them.
const (
	spAdult              = iota // born long ago; the reference clean author
	spFeb29                     // born 29 February of a leap year; turns 18 on 1 March, inside the corpus period
	spBirthday                  // turns 18 inside the corpus period
	spConflict                  // two birth dates; the younger says minor
	spNullOnly                  // one ages row, birth date null
	spNullAndDate               // a null birth date and a real one
	spNoAges                    // no ages row
	spMinor                     // 14 at the snapshot
	spObjEffective              // effective objection
	spObjWithdrawnBefore        // objection withdrawn before the snapshot
	spObjWithdrawnAt            // objection withdrawn exactly at snapshot_at (not effective)
	spObjWithdrawnAfter         // objection withdrawn after the snapshot (effective)
	spObjAtSnapshot             // objected exactly at snapshot_at (effective with grace 0)
	spObjAfter                  // objected 1 µs after snapshot_at (not effective)
	spObjReobjected             // withdrawn once, then objected again (effective)
	spObjTwoIneffective         // one withdrawn, one after the snapshot
	spObj1usBefore              // objected 1 µs before snapshot_at (effective)
	spL1                        // centre 1, effective objection
	spL2                        // centre 1; a minor
	spL3                        // centres 1 and 2: the bridge
	spL4                        // centre 2 (chained to centre 1 through L3)
	spL5                        // centre 3, nothing objected
	spL6                        // centre 3
	spL7                        // centre 4, objection withdrawn at snapshot_at
	spL8                        // centre 4
	spL9                        // centre 5, alone, effective objection
	nSpecial
)

type linkRow struct{ account, centre int64 }

type objRow struct {
	account     int64
	objectedUS  int64
	withdrawnUS int64
	withdrawn   bool // withdrawn_at is not null
}

// model is everything the generator knows about accounts. Per-account
// facts (birth dates) are a pure function of the seed and the account's
// index, so files can be generated in parallel without shared state; links
// and objections are materialised (they are small next to the corpus).
type model struct {
	opt  Options
	unit tsUnit
	seed uint64

	snap          time.Time
	snapUS        int64
	periodUS      int64 // start of the corpus period
	snapDay       int32
	cleanMaxBirth int32 // a youngest birth date on or before it is adult for the whole period

	n            int64 // accounts
	permA, permB uint64

	feb29Year int // leap year of spFeb29's birth

	linkEnd    int64   // random linked accounts are indexes [nSpecial, linkEnd)
	compStarts []int64 // first index of each random component, ascending
	links      []linkRow
	objections []objRow

	objected     []uint64 // bit set over account indexes: in a component with an effective objection
	objectedList []int32  // the random (non-special) objected indexes
}

func newModel(opt Options, snap time.Time) (*model, error) {
	m := &model{
		opt:    opt,
		unit:   timestampUnits[opt.Timestamp],
		seed:   mix64(uint64(opt.Seed) ^ 0xD1B54A32D192ED03),
		snap:   snap,
		snapUS: snap.UnixMicro(),
		n:      opt.Accounts,
	}
	m.periodUS = snap.AddDate(-corpusYears, 0, 0).UnixMicro()
	m.snapDay = int32(snap.Unix() / 86400)

	// Largest birth date whose 18th birthday is on or before the period start.
	b := int32(snap.AddDate(-corpusYears-18, 0, 0).Unix() / 86400)
	for adultFromUS(b+1) <= m.periodUS {
		b++
	}
	for adultFromUS(b) > m.periodUS {
		b--
	}
	m.cleanMaxBirth = b

	// Account id permutation: idx -> (idx*A + B) mod n, A coprime with n.
	n := uint64(m.n)
	a := uint64(float64(n)*0.6180339887) | 1
	for gcd(a, n) != 1 {
		a++
	}
	m.permA = a % n
	m.permB = hash2(m.seed, 1) % n

	// spFeb29: the latest leap year L whose L+18 1 March lies in the corpus
	// period (L+18 is never a leap year, so 18th birthday is 1 March).
	m.feb29Year = 0
	for y := snap.Year(); y >= snap.Year()-corpusYears-1; y-- {
		l := y - 18
		if !isLeap(l) {
			continue
		}
		t := time.Date(y, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
		if t > m.periodUS && t < m.snapUS {
			m.feb29Year = l
			break
		}
	}
	if m.feb29Year == 0 {
		return nil, fmt.Errorf("lakegen: no 29 February birth turns 18 inside the corpus period of snapshot %s", opt.Snapshot)
	}

	m.objected = make([]uint64, (m.n+63)/64)
	if err := m.genLinks(); err != nil {
		return nil, err
	}
	m.genObjections()
	return m, nil
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// accountID maps an account index to its account_id.
func (m *model) accountID(idx int64) int64 {
	hi, lo := bits.Mul64(uint64(idx), m.permA)
	lo, carry := bits.Add64(lo, m.permB, 0)
	hi += carry
	return m.spread(idBase + int64(bits.Rem64(hi, lo, uint64(m.n))))
}

// foreignID is an author id that is in none of the tables.
func (m *model) foreignID(k uint64) int64 { return m.spread(idBase + m.n + 1 + int64(k%1_000_000)) }

// spread maps an id to itself, or with Options.SparseIDs to one spread
// over [0, 2^63): a bijection (multiplications by odd constants and
// xor-shifts, modulo 2^63), so distinct ids stay distinct.
func (m *model) spread(id int64) int64 {
	if !m.opt.SparseIDs {
		return id
	}
	const mask = 1<<63 - 1
	x := uint64(id) & mask
	x = x * 0x9E3779B97F4A7C15 & mask
	x ^= x >> 29
	x = x * 0xBF58476D1CE4E5B9 & mask
	x ^= x >> 32
	return int64(x)
}

func (m *model) setObjected(idx int64) { m.objected[idx>>6] |= 1 << (idx & 63) }

func (m *model) isObjected(idx int64) bool { return m.objected[idx>>6]&(1<<(idx&63)) != 0 }

// births returns an account's birth dates (days since the epoch) and how
// many null birth-date rows it has in the ages table. No dates and no nulls
// means no ages row.
func (m *model) births(idx int64) (b [2]int32, nb, nulls int) {
	if idx < nSpecial {
		return m.specialBirths(idx)
	}
	h := hash2(m.seed, uint64(idx)+0x1000)
	r := h % 10_000
	switch {
	case r < 300: // 3%: no ages row
		return b, 0, 0
	case r < 400: // 1%: only null birth dates
		if r < 330 {
			return b, 0, 2
		}
		return b, 0, 1
	}
	h2 := mix64(h)
	// Age at the snapshot spread over 10..80 years.
	span := uint64(70*365 + 17)
	day := m.snapDay - int32(10*365+2) - int32(h2%span)
	b[0], nb = day, 1
	switch {
	case r < 500: // 1%: 29 February of a leap year
		y, _, _ := time.Unix(int64(day)*86400, 0).UTC().Date()
		for !isLeap(y) {
			y--
		}
		b[0] = dayOf(y, 2, 29)
	case r < 700: // 2%: a second, older, conflicting birth date
		older := b[0] - 30 - int32(mix64(h2)%6000)
		if h2&(1<<40) != 0 {
			b[0], b[1] = older, b[0]
		} else {
			b[1] = older
		}
		nb = 2
	case r < 750: // 0.5%: a null birth date next to a real one
		nulls = 1
	}
	return b, nb, nulls
}

func youngest(b [2]int32, nb int) int32 {
	if nb == 2 && b[1] > b[0] {
		return b[1]
	}
	return b[0]
}

func (m *model) specialBirths(idx int64) (b [2]int32, nb, nulls int) {
	y := m.snap.Year()
	one := func(d int32) ([2]int32, int, int) { return [2]int32{d}, 1, 0 }
	switch idx {
	case spAdult:
		return one(dayOf(y-46, 5, 5))
	case spFeb29:
		return one(dayOf(m.feb29Year, 2, 29))
	case spBirthday:
		return one(dayOf(y-19, 9, 15))
	case spConflict:
		return [2]int32{dayOf(y-36, 1, 1), dayOf(y-19, 1, 10)}, 2, 0
	case spNullOnly:
		return b, 0, 1
	case spNullAndDate:
		return [2]int32{dayOf(y-41, 3, 3)}, 1, 1
	case spNoAges:
		return b, 0, 0
	case spMinor:
		return one(dayOf(y-14, 4, 4))
	case spL2:
		return one(dayOf(y-15, 7, 7))
	default:
		k := int(idx)
		return one(dayOf(y-30-k%20, 1+k%12, 1+k%28))
	}
}

// emitAges calls fn for each ages row of account idx, in table order.
func (m *model) emitAges(idx int64, fn func(account int64, day int32, valid bool)) {
	b, nb, nulls := m.births(idx)
	id := m.accountID(idx)
	nullsFirst := hash2(m.seed, uint64(idx)+0x2000)&1 == 0
	if nullsFirst {
		for range nulls {
			fn(id, 0, false)
		}
	}
	for i := range nb {
		fn(id, b[i], true)
	}
	if !nullsFirst {
		for range nulls {
			fn(id, 0, false)
		}
	}
}

// agesRows is the number of ages rows.
func (m *model) agesRows() int64 {
	var rows int64
	for idx := range m.n {
		_, nb, nulls := m.births(idx)
		rows += int64(nb + nulls)
	}
	return rows
}

// cleanAdult: birth date known and adult for the whole corpus period.
func (m *model) cleanAdult(idx int64) bool {
	b, nb, _ := m.births(idx)
	return nb > 0 && youngest(b, nb) <= m.cleanMaxBirth
}

// genLinks builds the links table: the planted centres first, then random
// centres of 1-4 accounts over consecutive account indexes; a fifth of the
// centres are chained to the previous one through a shared account, so
// components are runs of consecutive indexes.
func (m *model) genLinks() error {
	sp := func(idx int64) int64 { return m.accountID(idx) }
	planted := [][]int64{
		{spL1, spL2, spL3},
		{spL3, spL4},
		{spL5, spL6},
		{spL7, spL8},
		{spL9},
	}
	var c int64
	for _, members := range planted {
		c++
		for _, idx := range members {
			m.links = append(m.links, linkRow{sp(idx), centreBase + c})
		}
	}
	r := rng{s: hash2(m.seed, 0x11)}
	next := int64(nSpecial)
	last := int64(-1) // last member of the previous random centre
	for int64(len(m.links)) < m.opt.Links {
		c++
		size := 1 + int(r.n(4))
		var members []int64
		if last >= 0 && r.n(5) == 0 {
			members = append(members, last) // chained: same component
		} else {
			m.compStarts = append(m.compStarts, next)
		}
		for len(members) < size {
			if next >= m.n {
				return fmt.Errorf("lakegen: %d accounts are too few for %d links", m.n, m.opt.Links)
			}
			members = append(members, next)
			next++
		}
		for _, idx := range members {
			if int64(len(m.links)) == m.opt.Links {
				break
			}
			m.links = append(m.links, linkRow{sp(idx), centreBase + c})
			last = idx
		}
	}
	m.linkEnd = last + 1
	if last < 0 {
		m.linkEnd = nSpecial
	}
	return nil
}

// component returns the index range of the random component holding idx,
// or [idx, idx+1) if idx is not linked.
func (m *model) component(idx int64) (int64, int64) {
	if idx < nSpecial || idx >= m.linkEnd {
		return idx, idx + 1
	}
	i := sort.Search(len(m.compStarts), func(i int) bool { return m.compStarts[i] > idx }) - 1
	end := m.linkEnd
	if i+1 < len(m.compStarts) {
		end = m.compStarts[i+1]
	}
	return m.compStarts[i], end
}

// genObjections builds the objections table: the planted objections
// first, then random ones with every status, and marks the objected
// components.
func (m *model) genObjections() {
	s := m.snapUS
	d := int64(usPerDay)
	add := func(idx, objected int64, withdrawn *int64) {
		o := objRow{account: m.accountID(idx), objectedUS: objected}
		if withdrawn != nil {
			o.withdrawn, o.withdrawnUS = true, *withdrawn
		}
		m.objections = append(m.objections, o)
	}
	at := func(v int64) *int64 { return &v }
	add(spObjEffective, s-400*d, nil)
	add(spObjWithdrawnBefore, s-800*d, at(s-100*d))
	add(spObjWithdrawnAt, s-500*d, at(s))
	add(spObjWithdrawnAfter, s-300*d, at(s+30*d))
	add(spObjAtSnapshot, s, nil)
	add(spObjAfter, s+1, nil)
	add(spObjReobjected, s-900*d, at(s-600*d))
	add(spObjReobjected, s-200*d, nil)
	add(spObjTwoIneffective, s-900*d, at(s-600*d))
	add(spObjTwoIneffective, s+10*d, nil)
	add(spObj1usBefore, s-1, nil)
	add(spL1, s-250*d, nil)
	add(spL7, s-700*d, at(s))
	add(spL9, s-50*d, nil)
	for _, idx := range []int64{spObjEffective, spObjWithdrawnAfter, spObjAtSnapshot, spObjReobjected, spObj1usBefore, spL1, spL2, spL3, spL4, spL9} {
		m.setObjected(idx)
	}

	r := rng{s: hash2(m.seed, 0x22)}
	for int64(len(m.objections)) < m.opt.Objections {
		var idx int64
		if m.linkEnd > nSpecial && r.n(10) < 4 {
			idx = nSpecial + int64(r.n(uint64(m.linkEnd-nSpecial)))
		} else {
			idx = nSpecial + int64(r.n(uint64(m.n-nSpecial)))
		}
		o := objRow{account: m.accountID(idx)}
		p := r.n(100)
		past := s - int64(r.n(uint64(1500*d))) - 1 // strictly before the snapshot
		effective := false
		switch {
		case p < 70: // effective
			o.objectedUS, effective = past, true
		case p < 78: // withdrawn before the snapshot
			o.objectedUS = past
			o.withdrawn, o.withdrawnUS = true, past+int64(r.n(uint64(s-past)))
		case p < 82: // withdrawn exactly at the snapshot
			o.objectedUS = past
			o.withdrawn, o.withdrawnUS = true, s
		case p < 88: // withdrawn after the snapshot
			o.objectedUS, effective = past, true
			o.withdrawn, o.withdrawnUS = true, s+1+int64(r.n(uint64(300*d)))
		case p < 92: // objected exactly at the snapshot
			o.objectedUS, effective = s, true
		default: // objected after the snapshot
			o.objectedUS = s + 1 + int64(r.n(uint64(30*d)))
		}
		m.objections = append(m.objections, o)
		if effective {
			lo, hi := m.component(idx)
			for i := lo; i < hi; i++ {
				m.setObjected(i)
			}
		}
	}
	for idx := int64(nSpecial); idx < m.n; idx++ {
		if m.isObjected(idx) {
			m.objectedList = append(m.objectedList, int32(idx))
		}
	}
}
