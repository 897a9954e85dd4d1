package policy

import (
	"time"

	"github.com/corpus-audit/corpus-audit/schema"
)

// Set is a set of categories as a bit mask; the zero Set is a clean row.
type Set uint8

// The category bits, in canonical order.
const (
	AgeUnknown Set = 1 << iota
	Minor
	Objected
	Private
	Unauditable
)

var setCategories = [...]schema.Category{schema.AgeUnknown, schema.Minor, schema.Objected, schema.Private, schema.Unauditable}

// Has reports whether s holds every category of c.
func (s Set) Has(c Set) bool { return s&c == c }

// Categories lists the categories in s, sorted.
func (s Set) Categories() []schema.Category {
	var out []schema.Category
	for i, c := range setCategories {
		if s&(1<<i) != 0 {
			out = append(out, c)
		}
	}
	return out
}

// SetOf returns the bit of a category, or 0 if it is not one.
func SetOf(c schema.Category) Set {
	for i, k := range setCategories {
		if k == c {
			return 1 << i
		}
	}
	return 0
}

// Row is what the rules see of one corpus row.
type Row struct {
	AuthorValid  bool
	Author       int64
	CreatedValid bool
	// CreatedAt is in microseconds since the Unix epoch, UTC.
	CreatedAt int64
	Type      TypeClass
	Public    bool // the visibility is exactly the public one
}

// Facts is what the lookup tables know of a row's author.
type Facts struct {
	// BirthKnown: the author has at least one non-null birth date.
	BirthKnown bool
	// AdultFrom is the instant (microseconds since the epoch, UTC) from which
	// the author is an adult: 00:00 UTC on their AdultAge-th birthday,
	// computed from their most recent birth date.
	AdultFrom int64
	// Objected: some account in the author's group has an effective objection.
	Objected bool
}

// Judge applies the rules to one row. It is the reference the scan's
// batched evaluation must agree with.
func Judge(r Row, f Facts) Set {
	var s Set
	if !r.AuthorValid || !r.CreatedValid {
		s |= Unauditable
	}
	if r.Type != TypeExempt {
		if r.Type != TypePublicable || !r.Public {
			s |= Private
		}
		if r.AuthorValid {
			switch {
			case !f.BirthKnown:
				s |= AgeUnknown
			case r.CreatedValid && r.CreatedAt < f.AdultFrom:
				s |= Minor
			}
		}
	}
	if r.AuthorValid && f.Objected {
		s |= Objected
	}
	return s
}

const microsPerDay = 86400 * 1_000_000

// AdultFrom returns the instant, in microseconds since the epoch, at which
// someone born on birth (days since 1970-01-01) turns age: 00:00 UTC on that
// birthday. Someone born on 29 February turns age on 1 March in a year that
// is not a leap year.
func AdultFrom(birth int32, age int) int64 {
	b := time.Unix(int64(birth)*86400, 0).UTC()
	y, m, d := b.Date()
	// time.Date normalises 29 February of a common year to 1 March.
	t := time.Date(y+age, m, d, 0, 0, 0, 0, time.UTC)
	return t.Unix() * 1_000_000
}

// Effective reports whether an objection counts at snapshotAt: it was made
// at least grace before snapshotAt and not withdrawn by then (a withdrawal
// at exactly snapshotAt counts as withdrawn).
func Effective(objectedAt time.Time, withdrawnAt *time.Time, snapshotAt time.Time, grace time.Duration) bool {
	if objectedAt.Add(grace).After(snapshotAt) {
		return false
	}
	return withdrawnAt == nil || withdrawnAt.After(snapshotAt)
}
