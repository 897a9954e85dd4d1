package lakegen

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corpus-audit/corpus-audit/schema"
)

// catSet is a set of categories, one bit each in schema.Categories order.
type catSet uint8

const (
	cAgeUnknown catSet = 1 << iota
	cMinor
	cObjected
	cPrivate
	cUnauditable
)

var catNames = [...]schema.Category{schema.AgeUnknown, schema.Minor, schema.Objected, schema.Private, schema.Unauditable}

func (s catSet) categories() []schema.Category {
	out := []schema.Category{}
	for i, c := range catNames {
		if s&(1<<i) != 0 {
			out = append(out, c)
		}
	}
	return out
}

// appendTo appends the categories joined by '|'.
func (s catSet) appendTo(b []byte) []byte {
	first := true
	for i, c := range catNames {
		if s&(1<<i) != 0 {
			if !first {
				b = append(b, '|')
			}
			b = append(b, c...)
			first = false
		}
	}
	return b
}

// oracle is the reference evaluation of the policy behind the ground
// truth. It is written here from the policy's text, on purpose without the
// policy or lookup packages, with Go maps, time.Time and a union-find, so
// that the audit job can be checked against an independent implementation.
//
// Feed it the tables' rows (addAge, addObjection, addLink), call finish,
// then judge rows; judge is safe for concurrent use after finish.
type oracle struct {
	snapshotAt time.Time

	// facts holds every account with a birth date or (after finish) an
	// effective objection in its group: one map probe per row.
	facts map[int64]fact

	effective   []int64         // accounts with an effective objection
	parent      map[int64]int64 // union-find over accounts
	centreFirst map[int64]int64 // accounts_center_id -> first account seen in it
	publicTypes map[string]bool
}

func newOracle(snapshotAt time.Time, accountsHint int) *oracle {
	return &oracle{
		snapshotAt:  snapshotAt,
		facts:       make(map[int64]fact, accountsHint),
		parent:      make(map[int64]int64),
		centreFirst: make(map[int64]int64),
		publicTypes: map[string]bool{"post": true, "comment": true, "photo": true, "video": true, "reel": true, "story": true, "caption": true},
	}
}

func (o *oracle) addAge(account int64, day int32, valid bool) {
	if !valid {
		return
	}
	// The most recent (youngest) birth date counts.
	if cur, ok := o.facts[account]; !ok || day > cur.day {
		o.facts[account] = fact{day: day, known: true}
	}
}

// addObjection records an objection; it counts when objected_at + 0 is not
// after the snapshot instant and it was not withdrawn at or before it.
func (o *oracle) addObjection(account int64, objectedAt time.Time, withdrawnAt *time.Time) {
	if objectedAt.After(o.snapshotAt) {
		return
	}
	if withdrawnAt != nil && !withdrawnAt.After(o.snapshotAt) {
		return
	}
	o.effective = append(o.effective, account)
}

func (o *oracle) find(a int64) int64 {
	for {
		p, ok := o.parent[a]
		if !ok || p == a {
			return a
		}
		gp := o.parent[p]
		o.parent[a] = gp // path halving
		a = gp
	}
}

func (o *oracle) addLink(account, centre int64) {
	if _, ok := o.parent[account]; !ok {
		o.parent[account] = account
	}
	first, ok := o.centreFirst[centre]
	if !ok {
		o.centreFirst[centre] = account
		return
	}
	ra, rb := o.find(account), o.find(first)
	if ra != rb {
		o.parent[ra] = rb
	}
}

// fact is what the oracle knows of one account.
type fact struct {
	// day is, while the tables are read, the most recent birth date; after
	// finish, the day of the 18th birthday of that date (00:00 UTC of it
	// is the adult instant). Days since the epoch.
	day      int32
	known    bool // a non-null birth date exists
	objected bool // some account of its group has an effective objection
}

// finish resolves every account's group and adult instant, and freezes the oracle.
func (o *oracle) finish() {
	roots := make(map[int64]bool, len(o.effective))
	objected := make(map[int64]bool, len(o.effective))
	for _, a := range o.effective {
		roots[o.find(a)] = true
		objected[a] = true
	}
	for a := range o.parent {
		if roots[o.find(a)] {
			objected[a] = true
		}
	}
	for a, f := range o.facts {
		// AddDate normalises 29 February of a common year to 1 March.
		f.day = int32(time.Unix(int64(f.day)*86400, 0).UTC().AddDate(18, 0, 0).Unix() / 86400)
		o.facts[a] = f
	}
	for a := range objected {
		f := o.facts[a]
		f.objected = true
		o.facts[a] = f
	}
	o.parent, o.centreFirst, o.effective = nil, nil, nil
}

// rowView is what the oracle sees of a corpus row.
type rowView struct {
	authorOK  bool
	author    int64
	ctype     *string // nil: null
	vis       *string
	createdOK bool
	created   time.Time
}

func norm(s *string) string { return strings.ToLower(strings.TrimSpace(*s)) }

func (o *oracle) judge(v *rowView) catSet {
	var s catSet
	if !v.authorOK || !v.createdOK {
		s |= cUnauditable
	}
	var f fact
	if v.authorOK {
		f = o.facts[v.author]
	}
	typ := ""
	if v.ctype != nil {
		typ = norm(v.ctype)
	}
	if v.ctype == nil || typ != "ai_interaction" {
		public := v.vis != nil && norm(v.vis) == "public"
		if v.ctype == nil || !o.publicTypes[typ] || !public {
			s |= cPrivate
		}
		if v.authorOK {
			if !f.known {
				s |= cAgeUnknown
			} else if v.createdOK && v.created.Before(time.Unix(int64(f.day)*86400, 0)) {
				s |= cMinor
			}
		}
	}
	if f.objected {
		s |= cObjected
	}
	return s
}

// timeOf converts a created_at value in the model's unit to a time.
func (m *model) timeOf(v int64) time.Time {
	switch m.unit {
	case unitMillis:
		return time.UnixMilli(v).UTC()
	case unitNanos, unitInt96:
		return time.Unix(0, v).UTC()
	default:
		return time.UnixMicro(v).UTC()
	}
}

// buildOracle feeds the oracle the tables exactly as they are written.
func (m *model) buildOracle() *oracle {
	o := newOracle(m.snap, int(m.n))
	for idx := range m.n {
		m.emitAges(idx, o.addAge)
	}
	for _, l := range m.links {
		o.addLink(l.account, l.centre)
	}
	for _, ob := range m.objections {
		var w *time.Time
		if ob.withdrawn {
			t := time.UnixMicro(ob.withdrawnUS).UTC()
			w = &t
		}
		o.addObjection(ob.account, time.UnixMicro(ob.objectedUS).UTC(), w)
	}
	o.finish()
	return o
}

// fileTruth is the truth of one corpus file.
type fileTruth struct {
	lines      []byte // "content_id,categories\n" per flagged row, in row order
	flagged    int64
	byCategory [len(catNames)]int64
}

func (t *fileTruth) add(b *batch, i int, s catSet, intIDs bool) {
	if s == 0 {
		return
	}
	if intIDs {
		t.lines = strconv.AppendInt(t.lines, b.ids[i], 10)
		t.lines = append(t.lines, ',')
	} else {
		t.lines = append(t.lines, b.idString(i)...)
		t.lines = append(t.lines, ',')
	}
	t.lines = s.appendTo(t.lines)
	t.lines = append(t.lines, '\n')
	t.flagged++
	for c := range catNames {
		if s&(1<<c) != 0 {
			t.byCategory[c]++
		}
	}
}

// TruthHeader is the first line of the truth CSV.
const TruthHeader = "content_id,categories"

// ReadTruth reads a truth CSV: content_id -> its categories, sorted.
func ReadTruth(path string) (map[string][]schema.Category, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lakegen: read truth: %w", err)
	}
	defer f.Close()
	out := make(map[string][]schema.Category)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if line == 1 && t == TruthHeader {
			continue
		}
		id, cats, ok := strings.Cut(t, ",")
		if !ok || id == "" || cats == "" {
			return nil, fmt.Errorf("lakegen: %s line %d: want content_id,categories, got %q", path, line, t)
		}
		var list []schema.Category
		for c := range strings.SplitSeq(cats, "|") {
			if !slices.Contains(schema.Categories, schema.Category(c)) {
				return nil, fmt.Errorf("lakegen: %s line %d: unknown category %q", path, line, c)
			}
			list = append(list, schema.Category(c))
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("lakegen: %s line %d: content_id %s repeated", path, line, id)
		}
		out[id] = list
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lakegen: read %s: %w", path, err)
	}
	return out, nil
}
