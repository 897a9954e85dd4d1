package jobs

import (
	"testing"

	"github.com/corpus-audit/corpus-audit/schema"
)

// TestTally: counts per category, platform, month and group, from the
// cells, for known and unknown categories, and finish twice is finish once.
func TestTally(t *testing.T) {
	for i, cat := range schema.Categories {
		if categoryIndex(cat) != i {
			t.Fatalf("categoryIndex(%s) = %d, want %d", cat, categoryIndex(cat), i)
		}
	}
	if categoryIndex("spam") != -1 {
		t.Fatal("an unknown category has an index")
	}
	s := func(v string) *string { return &v }
	us := func(v int64) *int64 { return &v }
	jan, feb := int64(1_767_225_600_000_000), int64(1_769_904_000_000_000) // 2026-01-01, 2026-02-01
	fs := []schema.Finding{
		{Platform: s("facebook"), ContentType: s(" Post "), CreatedAt: us(jan), Categories: []schema.Category{schema.Minor, schema.Private}},
		{Platform: s("facebook"), ContentType: s("post"), CreatedAt: us(jan + 1), Categories: []schema.Category{schema.Minor}},
		{Platform: s("threads"), ContentType: s("reel"), CreatedAt: us(feb), Categories: []schema.Category{schema.Objected}},
		{Platform: s("facebook"), ContentType: s("post"), CreatedAt: us(jan + 2), Categories: []schema.Category{schema.Minor}},
		{Categories: []schema.Category{schema.Unauditable, "spam"}},
	}
	c := schema.Counts{ByCategory: map[schema.Category]int64{}, ByPlatform: map[string]map[schema.Category]int64{}}
	tl := newTally(&c)
	for i := range fs {
		tl.add(&fs[i])
	}
	tl.finish()
	tl.finish()
	if c.RowsFlagged != 5 {
		t.Errorf("RowsFlagged = %d, want 5", c.RowsFlagged)
	}
	want := map[schema.Category]int64{schema.Minor: 3, schema.Private: 1, schema.Objected: 1, schema.Unauditable: 1, "spam": 1}
	for cat, n := range want {
		if c.ByCategory[cat] != n {
			t.Errorf("ByCategory[%s] = %d, want %d", cat, c.ByCategory[cat], n)
		}
	}
	if got := c.ByPlatform["facebook"][schema.Minor]; got != 3 {
		t.Errorf("facebook minor = %d, want 3", got)
	}
	if got := c.ByPlatform[""][schema.Unauditable]; got != 1 {
		t.Errorf("no platform, unauditable = %d, want 1", got)
	}
	if got := c.ByMonth["2026-01"][schema.Minor]; got != 3 {
		t.Errorf("2026-01 minor = %d, want 3", got)
	}
	if got := c.ByMonth["2026-02"][schema.Objected]; got != 1 {
		t.Errorf("2026-02 objected = %d, want 1", got)
	}
	groups := map[groupKey]int64{}
	for _, g := range c.ByGroup {
		groups[groupKey{g.Platform, g.ContentType, g.Category}] = g.Rows
	}
	if len(groups) != len(c.ByGroup) {
		t.Fatalf("ByGroup repeats a group: %+v", c.ByGroup)
	}
	wantGroups := map[groupKey]int64{
		{"facebook", "post", schema.Minor}:   3,
		{"facebook", "post", schema.Private}: 1,
		{"threads", "reel", schema.Objected}: 1,
		{"", "", schema.Unauditable}:         1,
		{"", "", "spam"}:                     1,
	}
	if len(groups) != len(wantGroups) {
		t.Errorf("ByGroup = %+v, want %v", c.ByGroup, wantGroups)
	}
	for k, n := range wantGroups {
		if groups[k] != n {
			t.Errorf("group %+v = %d, want %d", k, groups[k], n)
		}
	}
}
