package lookup

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/corpus-audit/corpus-audit/policy"
)

func TestAges(t *testing.T) {
	ages := agesCols(
		[]any{int64(1), int64(1), int64(1), int64(2), int64(2), int64(3), int64(3), int64(4), int64(-7), int64(math.MinInt64), int64(math.MaxInt64)},
		[]any{"2001-05-06", "2009-01-02", "2005-12-31", nil, "1990-03-04", nil, nil, "1899-12-31", "2010-10-10", "2012-01-01", "1950-06-07"},
	)
	ix := mustBuild(t, fixture(t, ages, nil, nil), testOptions())
	age := policy.Default().AdultAge
	tests := []struct {
		name   string
		author int64
		known  bool
		birth  *int32
	}{
		{"several birth dates: the most recent counts", 1, true, i32(day("2009-01-02"))},
		{"null and non-null: the non-null counts", 2, true, i32(day("1990-03-04"))},
		{"only null birth dates: age unknown", 3, false, nil},
		{"born before 1900 (side table)", 4, true, i32(day("1899-12-31"))},
		{"negative id", -7, true, i32(day("2010-10-10"))},
		{"min int64 id", math.MinInt64, true, i32(day("2012-01-01"))},
		{"max int64 id", math.MaxInt64, true, i32(day("1950-06-07"))},
		{"no ages row", 5, false, nil},
		{"no ages row 0", 0, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ix.Facts(tc.author)
			if f.BirthKnown != tc.known {
				t.Fatalf("BirthKnown = %v, want %v", f.BirthKnown, tc.known)
			}
			var wantAdult int64
			if tc.birth != nil {
				wantAdult = policy.AdultFrom(*tc.birth, age)
			}
			if f.AdultFrom != wantAdult {
				t.Errorf("AdultFrom = %d, want %d", f.AdultFrom, wantAdult)
			}
			if f.Objected {
				t.Errorf("Objected = true, want false")
			}
			e := ix.Evidence(tc.author)
			if ptrStr(e.BirthDate) != ptrStr(tc.birth) {
				t.Errorf("Evidence.BirthDate = %s, want %s", ptrStr(e.BirthDate), ptrStr(tc.birth))
			}
		})
	}
	st := ix.Stats()
	if st.Accounts != 6 || st.BirthDatesKept != 6 || st.AgeRows != 11 || st.NullBirthRows != 3 {
		t.Errorf("Stats = %+v, want 6 accounts, 6 kept, 11 rows, 3 null", st)
	}
}

func TestAgesInt32AccountID(t *testing.T) {
	ages := []tcol{{"account_id", tInt32, []any{int32(10), int32(-10)}}, {"birth_date", tDate, []any{"2000-01-01", "2001-01-01"}}}
	ix := mustBuild(t, fixture(t, ages, nil, nil), testOptions())
	for _, id := range []int64{10, -10} {
		if !ix.Facts(id).BirthKnown {
			t.Errorf("account %d: BirthKnown false", id)
		}
	}
}

// TestPruning checks that MinCreatedAt keeps a birth date exactly when its
// adult-from instant is after MinCreatedAt, and that pruning never changes
// a verdict for a row created at or after MinCreatedAt.
func TestPruning(t *testing.T) {
	births := []string{
		"2004-02-27", "2004-02-28", "2004-02-29", "2004-03-01", "2004-03-02",
		"2003-02-28", "2003-03-01", "2005-02-28", "2005-03-01", "2010-01-01", "1980-01-01",
		"2250-01-01", // beyond the code range: side table
	}
	ids := make([]any, len(births))
	bs := make([]any, len(births))
	for i, b := range births {
		ids[i], bs[i] = int64(i+1), b
	}
	tb := fixture(t, agesCols(ids, bs), nil, nil)
	full := mustBuild(t, tb, testOptions())

	tests := []struct {
		minCreated string
		kept       []string // births kept
	}{
		// Born 2004-02-29 turns 18 on 2022-03-01 00:00 UTC, as does 2004-03-01.
		{"2022-03-01T00:00:00Z", []string{"2004-03-02", "2005-02-28", "2005-03-01", "2010-01-01", "2250-01-01"}},
		{"2022-02-28T23:59:59.999999Z", []string{"2004-02-29", "2004-03-01", "2004-03-02", "2005-02-28", "2005-03-01", "2010-01-01", "2250-01-01"}},
		{"2022-02-28T00:00:00Z", []string{"2004-02-29", "2004-03-01", "2004-03-02", "2005-02-28", "2005-03-01", "2010-01-01", "2250-01-01"}},
		{"2022-02-27T23:59:59Z", []string{"2004-02-28", "2004-02-29", "2004-03-01", "2004-03-02", "2005-02-28", "2005-03-01", "2010-01-01", "2250-01-01"}},
		{"2021-03-01T00:00:00Z", []string{"2004-02-27", "2004-02-28", "2004-02-29", "2004-03-01", "2004-03-02", "2005-02-28", "2005-03-01", "2010-01-01", "2250-01-01"}},
		{"2021-02-28T23:59:59.999999Z", []string{"2003-03-01", "2004-02-27", "2004-02-28", "2004-02-29", "2004-03-01", "2004-03-02", "2005-02-28", "2005-03-01", "2010-01-01", "2250-01-01"}},
		{"1900-01-01T00:00:00Z", births},
		{"0001-01-01T00:00:00Z", births}, // a placeholder created_at
	}
	for _, tc := range tests {
		t.Run(tc.minCreated, func(t *testing.T) {
			mc := ts(tc.minCreated)
			o := testOptions()
			o.MinCreatedAt = &mc
			ix := mustBuild(t, tb, o)
			want := map[string]bool{}
			for _, b := range tc.kept {
				want[b] = true
			}
			for i, b := range births {
				id := int64(i + 1)
				e := ix.Evidence(id)
				if kept := e.BirthDate != nil; kept != want[b] {
					t.Errorf("born %s: kept = %v, want %v", b, kept, want[b])
				}
				if e.BirthDate != nil && *e.BirthDate != day(b) {
					t.Errorf("born %s: birth date %d, want %d", b, *e.BirthDate, day(b))
				}
				f := ix.Facts(id)
				if !f.BirthKnown {
					t.Errorf("born %s: BirthKnown false", b)
				}
				if !want[b] && f.AdultFrom != math.MinInt64 {
					t.Errorf("born %s: AdultFrom %d for a pruned account", b, f.AdultFrom)
				}
				// Verdicts agree with the full index for rows created at or
				// after MinCreatedAt.
				for _, c := range []int64{mc.UnixMicro(), mc.UnixMicro() + 1, micros("2022-03-01T00:00:00Z"), micros("2022-03-01T00:00:00Z") - 1, micros("2030-01-01T00:00:00Z")} {
					if c < mc.UnixMicro() {
						continue
					}
					r := policy.Row{AuthorValid: true, Author: id, CreatedValid: true, CreatedAt: c, Type: policy.TypePublicable, Public: true}
					if got, want := policy.Judge(r, f), policy.Judge(r, full.Facts(id)); got != want {
						t.Errorf("born %s, created %d: verdict %v, full index says %v", b, c, got.Categories(), want.Categories())
					}
				}
			}
			// Real birth dates stay in the compact code range whatever the
			// floor: only the year-2250 one goes to the side table.
			if n := len(ix.highBirth) + len(ix.lowBirth); n > 1 {
				t.Errorf("%d birth dates in the side tables, want at most 1", n)
			}
			if st := ix.Stats(); st.BirthDatesKept != int64(len(tc.kept)) || st.Accounts != int64(len(births)) {
				t.Errorf("Stats: kept %d of %d, want %d of %d", st.BirthDatesKept, st.Accounts, len(tc.kept), len(births))
			}
		})
	}
}

func TestKeptFrom(t *testing.T) {
	// keptFrom is the first day whose AdultFrom is after minCreated.
	for _, s := range []string{"2022-03-01T00:00:00Z", "2022-02-28T23:59:59.999999Z", "2024-02-29T12:00:00Z", "1970-01-01T00:00:00Z", "1960-05-05T05:05:05Z", "2000-03-01T00:00:00Z"} {
		for _, age := range []int{1, 13, 18, 21} {
			mc := ts(s)
			d := keptFrom(mc, age)
			if policy.AdultFrom(d, age) <= mc.UnixMicro() || policy.AdultFrom(d-1, age) > mc.UnixMicro() {
				t.Errorf("keptFrom(%s, %d) = %d: AdultFrom(d)=%d AdultFrom(d-1)=%d", s, age, d, policy.AdultFrom(d, age), policy.AdultFrom(d-1, age))
			}
		}
	}
}

func TestObjections(t *testing.T) {
	S := testSnapshot
	us := time.Microsecond
	type row struct {
		at time.Time
		wd any // nil or time.Time
	}
	tests := []struct {
		name   string
		grace  time.Duration
		rows   []row
		want   bool
		wantAt time.Time
	}{
		{"objected exactly at snapshot_at", 0, []row{{S, nil}}, true, S},
		{"objected 1µs after snapshot_at", 0, []row{{S.Add(us), nil}}, false, time.Time{}},
		{"objected long after snapshot_at", 0, []row{{S.AddDate(1, 0, 0), nil}}, false, time.Time{}},
		{"withdrawn exactly at snapshot_at", 0, []row{{S.AddDate(0, -1, 0), S}}, false, time.Time{}},
		{"withdrawn 1µs after snapshot_at", 0, []row{{S.AddDate(0, -1, 0), S.Add(us)}}, true, S.AddDate(0, -1, 0)},
		{"withdrawn before snapshot_at", 0, []row{{S.AddDate(0, -1, 0), S.Add(-us)}}, false, time.Time{}},
		{"grace: objected_at + grace == snapshot_at", 72 * time.Hour, []row{{S.Add(-72 * time.Hour), nil}}, true, S.Add(-72 * time.Hour)},
		{"grace: objected_at + grace 1µs after", 72 * time.Hour, []row{{S.Add(-72*time.Hour + us), nil}}, false, time.Time{}},
		{"earliest effective objection counts", 0, []row{{S.AddDate(0, -1, 0), nil}, {S.AddDate(0, -3, 0), S.AddDate(0, -2, 0)}, {S.AddDate(0, -2, 0), nil}, {S.Add(us), nil}}, true, S.AddDate(0, -2, 0)},
		{"only withdrawn and future objections", 0, []row{{S.AddDate(0, -3, 0), S.AddDate(0, -2, 0)}, {S.Add(time.Hour), nil}}, false, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ids, at, wd []any
			for _, r := range tc.rows {
				ids, at, wd = append(ids, int64(42)), append(at, r.at), append(wd, r.wd)
			}
			// A bystander with an effective objection, so the table is never empty.
			ids, at, wd = append(ids, int64(7)), append(at, S.AddDate(-1, 0, 0)), append(wd, nil)
			o := testOptions()
			o.Policy.ObjectionGrace = tc.grace
			ix := mustBuild(t, fixture(t, nil, objCols(ids, at, wd), nil), o)
			if got := ix.Facts(42).Objected; got != tc.want {
				t.Fatalf("Objected = %v, want %v", got, tc.want)
			}
			if !ix.Facts(7).Objected || ix.Facts(8).Objected {
				t.Fatalf("bystanders wrong")
			}
			e := ix.Evidence(42)
			want := Evidence{}
			if tc.want {
				want = Evidence{ObjectionAccountID: i64(42), ObjectedAt: i64(tc.wantAt.UnixMicro())}
			}
			if !reflect.DeepEqual(e, want) {
				t.Errorf("Evidence = %s, want %s", fmtEvidence(e), fmtEvidence(want))
			}
		})
	}
}

// TestTimestampUnits reads objected_at in every Parquet timestamp unit,
// and as INT96.
func TestTimestampUnits(t *testing.T) {
	S := testSnapshot
	for _, tc := range []struct {
		name string
		typ  arrow.DataType
		opts []pqarrow.WriterOption
	}{
		{"seconds (stored as millis)", &arrow.TimestampType{Unit: arrow.Second}, nil},
		{"millis", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, nil},
		{"micros, no zone", &arrow.TimestampType{Unit: arrow.Microsecond}, nil},
		{"nanos", &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, nil},
		{"int96", &arrow.TimestampType{Unit: arrow.Nanosecond}, []pqarrow.WriterOption{pqarrow.WithDeprecatedInt96Timestamps(true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeParquet(t, dir+"/o.parquet", 0, []tcol{
				{"account_id", tInt64, []any{int64(1), int64(2), int64(3), int64(4)}},
				{"objected_at", tc.typ, []any{S, S.Add(time.Second), S.Add(-time.Hour), S.Add(-time.Hour)}},
				{"withdrawn_at", tc.typ, []any{nil, nil, S, S.Add(time.Second)}},
			}, tc.opts...)
			writeParquet(t, dir+"/a.parquet", 0, agesCols(nil, nil))
			ix := mustBuild(t, Tables{Ages: open(t, dir+"/a.parquet"), Objections: open(t, dir+"/o.parquet")}, testOptions())
			for id, want := range map[int64]bool{1: true, 2: false, 3: false, 4: true} {
				if got := ix.Facts(id).Objected; got != want {
					t.Errorf("account %d: Objected = %v, want %v", id, got, want)
				}
			}
			if e := ix.Evidence(4); e.ObjectedAt == nil || *e.ObjectedAt != S.Add(-time.Hour).UnixMicro() {
				t.Errorf("account 4: ObjectedAt %s", ptrStr(e.ObjectedAt))
			}
		})
	}
}

func TestNanosecondObjection(t *testing.T) {
	// 500 ns after the snapshot is after it, although it rounds down to it
	// in micros.
	S := testSnapshot
	typ := &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	dir := t.TempDir()
	writeParquet(t, dir+"/o.parquet", 0, []tcol{
		{"account_id", tInt64, []any{int64(1), int64(2)}},
		{"objected_at", typ, []any{S.Add(500 * time.Nanosecond), S.Add(-500 * time.Nanosecond)}},
		{"withdrawn_at", typ, []any{nil, nil}},
	})
	writeParquet(t, dir+"/a.parquet", 0, agesCols(nil, nil))
	ix := mustBuild(t, Tables{Ages: open(t, dir+"/a.parquet"), Objections: open(t, dir+"/o.parquet")}, testOptions())
	if ix.Facts(1).Objected || !ix.Facts(2).Objected {
		t.Errorf("Objected: 1=%v (want false), 2=%v (want true)", ix.Facts(1).Objected, ix.Facts(2).Objected)
	}
	if e := ix.Evidence(2); *e.ObjectedAt != S.UnixMicro()-1 {
		t.Errorf("ObjectedAt %d, want %d (floor to micros)", *e.ObjectedAt, S.UnixMicro()-1)
	}
}

func TestLinks(t *testing.T) {
	S := testSnapshot
	early, later := S.AddDate(0, -2, 0), S.AddDate(0, -1, 0)
	// Accounts:
	//   chain: 1 –c100– 2 –c200– 3 (objector, at later) ; 1 also in c300 alone
	//   pair:  10 –c500– 11, 10 and 11 both objected (11 earlier)
	//   two centres: 20 in c600 and c700; 21 in c700; 22 in c600 (objector)
	//   lone objector 30 without links; 31 linked, not objected (c900 with 32)
	//   objector 40 whose only objection is withdrawn: c1000 with 41
	//   5 objectors in one component: 50..54 in c1100, 52 and 51 objected
	links := linkCols(
		[]any{int64(1), int64(2), int64(2), int64(3), int64(1), int64(10), int64(11), int64(20), int64(20), int64(21), int64(22), int64(31), int64(32), int64(40), int64(41), int64(50), int64(51), int64(52), int64(53), int64(54), int64(1)},
		[]any{int64(100), int64(100), int64(200), int64(200), int64(300), int64(500), int64(500), int64(600), int64(700), int64(700), int64(600), int64(900), int64(900), int64(1000), int64(1000), int64(1100), int64(1100), int64(1100), int64(1100), int64(1100), int64(100)},
	)
	objs := objCols(
		[]any{int64(3), int64(10), int64(11), int64(22), int64(30), int64(40), int64(52), int64(51), int64(51)},
		[]any{later, later, early, early, later, early, early, later, early},
		[]any{nil, nil, nil, nil, nil, later, nil, nil, nil},
	)
	ix := mustBuild(t, fixture(t, nil, objs, links), testOptions())
	ev := func(obj int64, at time.Time, centre *int64) Evidence {
		return Evidence{ObjectionAccountID: i64(obj), ObjectedAt: i64(at.UnixMicro()), AccountsCenterID: centre}
	}
	tests := []struct {
		name   string
		author int64
		want   *Evidence
	}{
		{"chain end A via c1–B–c2–C; smallest own centre", 1, &Evidence{ObjectionAccountID: i64(3), ObjectedAt: i64(later.UnixMicro()), AccountsCenterID: i64(100)}},
		{"chain middle B", 2, ptr(ev(3, later, i64(100)))},
		{"objector C itself: no centre", 3, ptr(ev(3, later, nil))},
		{"objected itself though its pair objected earlier", 10, ptr(ev(10, later, nil))},
		{"objector 11 itself", 11, ptr(ev(11, early, nil))},
		{"account in two centres joins them", 20, ptr(ev(22, early, i64(600)))},
		{"reached through the two-centre account", 21, ptr(ev(22, early, i64(700)))},
		{"objector without links", 30, ptr(ev(30, later, nil))},
		{"linked, nobody objected", 31, nil},
		{"linked, nobody objected 2", 32, nil},
		{"objection withdrawn", 40, nil},
		{"linked to a withdrawn objector", 41, nil},
		{"smallest objector of the component, its earliest objection", 50, ptr(ev(51, early, i64(1100)))},
		{"objector 51 itself, earliest of its two", 51, ptr(ev(51, early, nil))},
		{"objector 52 itself", 52, ptr(ev(52, early, nil))},
		{"53", 53, ptr(ev(51, early, i64(1100)))},
		{"not in any table", 99, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ix.Facts(tc.author)
			if f.Objected != (tc.want != nil) {
				t.Fatalf("Objected = %v, want %v", f.Objected, tc.want != nil)
			}
			want := Evidence{}
			if tc.want != nil {
				want = *tc.want
			}
			if e := ix.Evidence(tc.author); !reflect.DeepEqual(e, want) {
				t.Errorf("Evidence = %s, want %s", fmtEvidence(e), fmtEvidence(want))
			}
		})
	}
	st := ix.Stats()
	// Components: {100,200,300}, {500}, {600,700}, {900}, {1000}, {1100}.
	want := Stats{Centres: 9, Components: 6, ObjectedComponents: 4, LinkedAccounts: 17, LinkRows: 21,
		Objectors: 7, ObjectedAccounts: 14, ObjectionRows: 9}
	got := st
	got.Bytes, got.Accounts, got.AgeRows, got.NullBirthRows, got.BirthDatesKept = 0, 0, 0, 0, 0
	if got != want {
		t.Errorf("Stats = %+v\nwant    %+v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestNoLinksGroupIsSelf(t *testing.T) {
	// Without a links table, only the objector itself is objected.
	objs := objCols([]any{int64(5)}, []any{testSnapshot.AddDate(0, -1, 0)}, []any{nil})
	ix := mustBuild(t, fixture(t, nil, objs, nil), testOptions())
	if !ix.Facts(5).Objected || ix.Facts(6).Objected || ix.Facts(4).Objected {
		t.Error("wrong objected set")
	}
	// An empty links table behaves the same.
	ix = mustBuild(t, fixture(t, nil, objs, linkCols(nil, nil)), testOptions())
	if !ix.Facts(5).Objected || ix.Facts(6).Objected {
		t.Error("wrong objected set with empty links")
	}
}

func TestFactsDoesNotAllocate(t *testing.T) {
	ages := agesCols([]any{int64(1), int64(2), int64(3)}, []any{"2010-01-01", "1850-01-01", "2300-01-01"})
	objs := objCols([]any{int64(1)}, []any{testSnapshot.AddDate(0, -1, 0)}, []any{nil})
	ix := mustBuild(t, fixture(t, ages, objs, linkCols([]any{int64(1), int64(4)}, []any{int64(9), int64(9)})), testOptions())
	var sink policy.Facts
	allocs := testing.AllocsPerRun(100, func() {
		for id := int64(0); id < 8; id++ {
			f := ix.Facts(id)
			sink.Objected = sink.Objected != f.Objected
		}
	})
	if allocs != 0 {
		t.Errorf("Facts allocates %.1f times per run", allocs)
	}
	if !ix.Facts(4).Objected || !ix.Facts(2).BirthKnown || ix.Facts(3).AdultFrom != policy.AdultFrom(day("2300-01-01"), 18) {
		t.Error("wrong facts")
	}
}

func TestBuildOptions(t *testing.T) {
	tb := fixture(t, nil, nil, nil)
	for _, o := range []Options{
		{Policy: policy.Default()},
		{SnapshotAt: testSnapshot, Policy: policy.Policy{AdultAge: 0}},
		{SnapshotAt: testSnapshot, Policy: policy.Policy{AdultAge: 18, ObjectionGrace: -time.Second}},
	} {
		if _, _, err := Build(context.Background(), tb, o); err == nil {
			t.Errorf("Build(%+v) succeeded", o)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	tb := fixture(t, agesCols([]any{int64(1)}, []any{"2000-01-01"}), nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Build(ctx, tb, testOptions()); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ages := agesCols([]any{int64(1), int64(2)}, []any{"2010-01-01", "1990-01-01"})
	objs := objCols([]any{int64(2)}, []any{testSnapshot.AddDate(0, -1, 0)}, []any{nil})
	ix := mustBuild(t, fixture(t, ages, objs, linkCols([]any{int64(2), int64(3)}, []any{int64(9), int64(9)})), testOptions())
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]policy.Facts, 3)
			for i := 0; i < 1000; i++ {
				ix.FactsBatch([]int64{1, 2, 3}, out)
				if !out[0].BirthKnown || !out[1].Objected || !out[2].Objected || out[2].BirthKnown {
					errs <- fmt.Sprintf("wrong facts %+v", out)
					return
				}
				if e := ix.Evidence(3); e.AccountsCenterID == nil || *e.AccountsCenterID != 9 {
					errs <- "wrong evidence"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestDenseAgesFromFooters checks that Build keeps the birth codes of an
// ages table with dense account ids in a denseAges, and the objected
// accounts among those ids in a denseObj, chosen from the footers'
// statistics, and that it answers exactly as the hashed sets do for the
// same rows read from CSV (which has no statistics): objected accounts in
// and out of the range, by their own objection or through links that
// cross the range's ends.
func TestDenseAgesFromFooters(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var ids, births []any
	var csv strings.Builder
	csv.WriteString("account_id,birth_date\n")
	add := func(id int64, birth any) {
		ids, births = append(ids, id), append(births, birth)
		s, _ := birth.(string)
		fmt.Fprintf(&csv, "%d,%s\n", id, s)
	}
	for _, id := range rng.Perm(2000) {
		id := int64(5000 + id)
		switch id % 10 {
		case 0: // null only: age unknown
			add(id, nil)
		case 1: // no row at all
		case 2: // several rows: the most recent counts
			add(id, "1999-01-01")
			add(id, "2011-02-03")
		case 3: // outside the birth codes' range (side tables)
			add(id, "1850-01-01")
		default:
			add(id, time.Unix(int64(rng.IntN(60*365))*86400-10*365*86400, 0).UTC().Format("2006-01-02"))
		}
	}
	add(5000, "2001-01-01") // the range's ends
	add(6999, "2002-02-02")
	dir := t.TempDir()
	half := len(ids) / 2
	writeParquet(t, filepath.Join(dir, "pq/a.parquet"), 300, agesCols(ids[:half], births[:half]))
	writeParquet(t, filepath.Join(dir, "pq/b.parquet"), 300, agesCols(ids[half:], births[half:]))
	writeFile(t, filepath.Join(dir, "csv/ages.csv"), csv.String())
	writeParquet(t, filepath.Join(dir, "mixed/a.parquet"), 300, agesCols(ids[:half], births[:half]))
	writeFile(t, filepath.Join(dir, "mixed/b.csv"), csv.String())
	var objIDs, objAt, objWd []any
	for i, id := range []int64{5003, 5000, 6999, 5500, 5501, 4999, 7000, 1 << 40, -3, 6100, 6100} {
		objIDs, objAt, objWd = append(objIDs, id), append(objAt, fmt.Sprintf("2026-0%d-01T00:00:00Z", 1+i%5)), append(objWd, nil)
	}
	objWd[4] = "2026-05-30T00:00:00Z" // 5501 withdrew
	writeParquet(t, filepath.Join(dir, "obj.parquet"), 0, objCols(objIDs, objAt, objWd))
	var linkIDs, linkCentres []any
	for _, l := range [][2]int64{
		{5003, 70}, {6000, 70}, {1 << 41, 70}, // an objector in the range, linked in and out
		{7000, 71}, {5200, 71}, {5201, 71}, // an objector out of the range
		{5300, 72}, {5301, 72}, {5301, 73}, {5302, 73}, // no objection
		{5501, 74}, {5600, 74}, // withdrawn
		{5700, 75}, {6100, 75}, {5700, 76}, {-9, 76}, // two centres joined
	} {
		linkIDs, linkCentres = append(linkIDs, l[0]), append(linkCentres, l[1])
	}
	writeParquet(t, filepath.Join(dir, "links.parquet"), 0, linkCols(linkIDs, linkCentres))
	probes := []int64{1 << 40, 1 << 41, -3, -9}
	for id := int64(4990); id < 7010; id++ {
		probes = append(probes, id)
	}

	for _, minCreated := range []*time.Time{nil, ptr(ts("2019-01-01T00:00:00Z"))} {
		o := testOptions()
		o.MinCreatedAt = minCreated
		links := open(t, filepath.Join(dir, "links.parquet"))
		build := func(folder string) *Index {
			return mustBuild(t, Tables{Ages: open(t, filepath.Join(dir, folder)), Objections: open(t, filepath.Join(dir, "obj.parquet")), Links: &links}, o)
		}
		dense, hashed, mixed := build("pq"), build("csv"), build("mixed")
		if got := dense.Stats().DenseSpan; got != 2000 {
			t.Errorf("Parquet with dense ids: DenseSpan %d, want 2000", got)
		}
		if got := hashed.Stats().DenseSpan + mixed.Stats().DenseSpan; got != 0 {
			t.Errorf("CSV, or Parquet and CSV: DenseSpan %d, want 0", got)
		}
		ds, hs := dense.Stats(), hashed.Stats()
		ds.DenseSpan, ds.Bytes, hs.Bytes = 0, 0, 0
		if ds != hs {
			t.Errorf("stats differ:\ndense  %+v\nhashed %+v", ds, hs)
		}
		if dense.dobj.bits == nil || len(dense.dobj.who) == 0 || hashed.dobj.bits != nil {
			t.Fatalf("objected: %d in the dense set, want some (and none when hashed)", len(dense.dobj.who))
		}
		out := make([]policy.Facts, len(probes))
		dense.FactsBatch(probes, out)
		objected := 0
		for k, id := range probes {
			if out[k] != dense.Facts(id) {
				t.Fatalf("id %d: FactsBatch %+v, Facts %+v", id, out[k], dense.Facts(id))
			}
			if out[k].Objected {
				objected++
			}
			if d, h := dense.Facts(id), hashed.Facts(id); d != h {
				t.Fatalf("minCreated %v, id %d: dense %+v, hashed %+v", minCreated, id, d, h)
			}
			if d, h := fmtEvidence(dense.Evidence(id)), fmtEvidence(hashed.Evidence(id)); d != h {
				t.Fatalf("minCreated %v, id %d: dense evidence %s, hashed %s", minCreated, id, d, h)
			}
		}
		if !dense.Facts(5002).BirthKnown || dense.Facts(5001).BirthKnown || dense.Facts(5000).BirthKnown != true {
			t.Errorf("dense: unexpected BirthKnown for 5000..5002")
		}
		// 5003 6000 1<<41, 7000 5200 5201, 5000 6999 5500 4999 1<<40 -3,
		// 5700 6100 -9.
		if objected != 15 {
			t.Errorf("%d probes objected, want 15", objected)
		}
	}

	// Spread ids: the hashed set.
	sparse := agesCols([]any{int64(1), int64(1) << 40, int64(-5)}, []any{"2001-01-01", "2002-01-01", nil})
	ix := mustBuild(t, fixture(t, sparse, nil, nil), testOptions())
	if st := ix.Stats(); st.DenseSpan != 0 || st.Accounts != 2 {
		t.Errorf("spread ids: %+v, want no dense span and 2 accounts", st)
	}
}

// TestDenseWorth checks the choice of layout, at the overflow edges too.
func TestDenseWorth(t *testing.T) {
	for _, tc := range []struct {
		lo, hi, rows int64
		want         bool
	}{
		{0, 0, 1, true},
		{0, 3, 1, true},
		{0, 4, 1, false},                  // 5 ids for 1 row
		{100, 4_000_099, 1_000_000, true}, // 4 ids a row
		{math.MinInt64, math.MaxInt64, math.MaxInt64, false},
		{100, 4_000_100, 1_000_000, false},
		{0, 10, 0, false},
		{5, 4, 100, false}, // an empty range
		{math.MinInt64, math.MaxInt64, math.MaxInt64 / 4, false},
		{math.MaxInt64 - 2, math.MaxInt64, 1, true},
		{math.MinInt64, math.MinInt64 + 2, 1, true},
	} {
		if got := denseWorth(tc.lo, tc.hi, tc.rows); got != tc.want {
			t.Errorf("denseWorth(%d, %d, %d) = %v, want %v", tc.lo, tc.hi, tc.rows, got, tc.want)
		}
	}
}
