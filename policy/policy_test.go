package policy

import (
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/schema"
)

func day(s string) int32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return int32(t.Unix() / 86400)
}

func micros(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

func TestAdultFrom(t *testing.T) {
	tests := []struct {
		birth string
		age   int
		want  string
	}{
		{"2008-06-01", 18, "2026-06-01T00:00:00Z"},
		{"2008-02-29", 18, "2026-03-01T00:00:00Z"}, // 2026 is a common year
		{"2000-02-29", 18, "2018-03-01T00:00:00Z"},
		{"2000-02-29", 20, "2020-02-29T00:00:00Z"}, // a leap year: the birthday exists
		{"1996-02-29", 18, "2014-03-01T00:00:00Z"},
		{"2007-12-31", 18, "2025-12-31T00:00:00Z"},
		{"1950-01-01", 18, "1968-01-01T00:00:00Z"}, // before the epoch
		{"1969-12-31", 1, "1970-12-31T00:00:00Z"},
	}
	for _, tc := range tests {
		if got, want := AdultFrom(day(tc.birth), tc.age), micros(tc.want); got != want {
			t.Errorf("AdultFrom(%s, %d) = %s, want %s", tc.birth, tc.age, time.UnixMicro(got).UTC(), tc.want)
		}
	}
}

func TestEffective(t *testing.T) {
	snap := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := snap.Add(d); return &v }
	tests := []struct {
		name      string
		objected  time.Time
		withdrawn *time.Time
		grace     time.Duration
		want      bool
	}{
		{"before snapshot, never withdrawn", snap.Add(-time.Hour), nil, 0, true},
		{"exactly at snapshot", snap, nil, 0, true},
		{"one nanosecond after snapshot", snap.Add(time.Nanosecond), nil, 0, false},
		{"after snapshot", snap.Add(24 * time.Hour), nil, 0, false},
		{"withdrawn before snapshot", snap.Add(-48 * time.Hour), at(-time.Hour), 0, false},
		{"withdrawn exactly at snapshot", snap.Add(-48 * time.Hour), at(0), 0, false},
		{"withdrawn after snapshot", snap.Add(-48 * time.Hour), at(time.Nanosecond), 0, true},
		{"grace not yet over", snap.Add(-time.Hour), nil, 2 * time.Hour, false},
		{"grace over exactly at snapshot", snap.Add(-2 * time.Hour), nil, 2 * time.Hour, true},
		{"grace over before snapshot", snap.Add(-3 * time.Hour), nil, 2 * time.Hour, true},
	}
	for _, tc := range tests {
		if got := Effective(tc.objected, tc.withdrawn, snap, tc.grace); got != tc.want {
			t.Errorf("%s: Effective = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	p := Default()
	types := []struct {
		raw   string
		valid bool
		want  TypeClass
	}{
		{"post", true, TypePublicable},
		{" Post ", true, TypePublicable},
		{"COMMENT", true, TypePublicable},
		{"photo", true, TypePublicable},
		{"video", true, TypePublicable},
		{"reel", true, TypePublicable},
		{"story", true, TypePublicable},
		{"caption", true, TypePublicable},
		{"ai_interaction", true, TypeExempt},
		{"\tAI_Interaction\n", true, TypeExempt},
		{"message", true, TypeOther},
		{"ai interaction", true, TypeOther},
		{"", true, TypeOther},
		{"post", false, TypeOther}, // null
		{"posts", true, TypeOther},
	}
	for _, tc := range types {
		if got := p.ClassifyType(tc.raw, tc.valid); got != tc.want {
			t.Errorf("ClassifyType(%q, %v) = %v, want %v", tc.raw, tc.valid, got, tc.want)
		}
	}
	vis := []struct {
		raw   string
		valid bool
		want  bool
	}{
		{"public", true, true},
		{" PUBLIC ", true, true},
		{"Public", true, true},
		{"friends", true, false},
		{"only_me", true, false},
		{"custom", true, false},
		{"public_friends", true, false},
		{"", true, false},
		{"public", false, false}, // null
	}
	for _, tc := range vis {
		if got := p.IsPublic(tc.raw, tc.valid); got != tc.want {
			t.Errorf("IsPublic(%q, %v) = %v, want %v", tc.raw, tc.valid, got, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	adult := Facts{BirthKnown: true, AdultFrom: micros("2000-01-01T00:00:00Z")}
	turns18 := micros("2026-03-01T00:00:00Z") // born 2008-02-29
	young := Facts{BirthKnown: true, AdultFrom: turns18}
	unknown := Facts{}
	objected := Facts{BirthKnown: true, AdultFrom: micros("2000-01-01T00:00:00Z"), Objected: true}
	pub := func(created int64) Row {
		return Row{AuthorValid: true, Author: 7, CreatedValid: true, CreatedAt: created, Type: TypePublicable, Public: true}
	}
	with := func(r Row, f func(*Row)) Row { f(&r); return r }
	now := micros("2026-05-01T00:00:00Z")
	tests := []struct {
		name  string
		row   Row
		facts Facts
		want  Set
	}{
		{"public post of an adult", pub(now), adult, 0},
		{"non-public visibility", with(pub(now), func(r *Row) { r.Public = false }), adult, Private},
		{"message", with(pub(now), func(r *Row) { r.Type = TypeOther }), adult, Private},
		{"unknown or null type", with(pub(now), func(r *Row) { r.Type = TypeOther; r.Public = false }), adult, Private},
		{"minor one microsecond before the 18th birthday", pub(turns18 - 1), young, Minor},
		{"adult at the exact instant of the 18th birthday", pub(turns18), young, 0},
		{"age unknown", pub(now), unknown, AgeUnknown},
		{"private and minor", with(pub(turns18-1), func(r *Row) { r.Public = false }), young, Minor | Private},
		{"null author", with(pub(now), func(r *Row) { r.AuthorValid = false }), Facts{}, Unauditable},
		{"null author, private", with(pub(now), func(r *Row) { r.AuthorValid = false; r.Public = false }), Facts{}, Unauditable | Private},
		{"null created_at, age known", with(pub(now), func(r *Row) { r.CreatedValid = false }), young, Unauditable},
		{"null created_at, age unknown", with(pub(now), func(r *Row) { r.CreatedValid = false }), unknown, Unauditable | AgeUnknown},
		{"objected", pub(now), objected, Objected},
		{"objected, null author ignores facts", with(pub(now), func(r *Row) { r.AuthorValid = false }), objected, Unauditable},
		{"ai interaction of a minor", with(pub(turns18-1), func(r *Row) { r.Type = TypeExempt; r.Public = false }), young, 0},
		{"ai interaction, age unknown", with(pub(now), func(r *Row) { r.Type = TypeExempt }), unknown, 0},
		{"ai interaction of an objector", with(pub(now), func(r *Row) { r.Type = TypeExempt }), objected, Objected},
		{"ai interaction, null created_at", with(pub(now), func(r *Row) { r.Type = TypeExempt; r.CreatedValid = false }), adult, Unauditable},
		{"everything", with(pub(turns18-1), func(r *Row) { r.Type = TypeOther }), Facts{BirthKnown: true, AdultFrom: turns18, Objected: true}, Minor | Private | Objected},
	}
	for _, tc := range tests {
		if got := Judge(tc.row, tc.facts); got != tc.want {
			t.Errorf("%s: Judge = %v, want %v", tc.name, got.Categories(), tc.want.Categories())
		}
	}
}

func TestSetCategoriesSorted(t *testing.T) {
	all := AgeUnknown | Minor | Objected | Private | Unauditable
	got := all.Categories()
	if len(got) != len(schema.Categories) {
		t.Fatalf("got %v", got)
	}
	for i, c := range schema.Categories {
		if got[i] != c {
			t.Errorf("category %d = %s, want %s", i, got[i], c)
		}
		if SetOf(c) != 1<<i {
			t.Errorf("SetOf(%s) = %b", c, SetOf(c))
		}
	}
	if Set(0).Categories() != nil {
		t.Error("empty set has categories")
	}
}

func TestPolicyHash(t *testing.T) {
	a, b := Default(), Default()
	if a.Hash() != b.Hash() {
		t.Fatal("hash not deterministic")
	}
	// Order and case of the lists do not change the policy, so not the hash.
	b.PublicTypes = []string{"Caption", "story", "reel", "video", "photo", "comment", "post"}
	if a.Hash() != b.Hash() {
		t.Error("hash depends on list order or case")
	}
	for name, mod := range map[string]func(*Policy){
		"grace":   func(p *Policy) { p.ObjectionGrace = time.Hour },
		"age":     func(p *Policy) { p.AdultAge = 16 },
		"types":   func(p *Policy) { p.PublicTypes = p.PublicTypes[:3] },
		"exempt":  func(p *Policy) { p.ExemptTypes = nil },
		"version": func(p *Policy) { p.Version = "2" },
		"vis":     func(p *Policy) { p.PublicVisibility = "everyone" },
	} {
		c := Default()
		mod(&c)
		if c.Hash() == a.Hash() {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Policy){
		"negative grace": func(p *Policy) { p.ObjectionGrace = -time.Second },
		"zero age":       func(p *Policy) { p.AdultAge = 0 },
		"no name":        func(p *Policy) { p.Name = "" },
		"empty public":   func(p *Policy) { p.PublicVisibility = "  " },
		"exempt public":  func(p *Policy) { p.ExemptTypes = []string{"POST"} },
	} {
		p := Default()
		mod(&p)
		if p.Validate() == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}
