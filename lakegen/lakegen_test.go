package lakegen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/schema"
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// small returns fast options: 3 files of 1000 rows, 3 row groups each.
func small() Options {
	o := DefaultOptions()
	o.Rows, o.Files, o.RowGroupRows = 3000, 3, 400
	o.Accounts = 500
	return o
}

func generate(t *testing.T, o Options) (*Result, string) {
	t.Helper()
	dir := t.TempDir()
	res, err := Generate(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", o, err)
	}
	return res, dir
}

// readAll returns every file under dir by relative path.
func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Options)
	}{
		{"default", func(*Options) {}},
		{"int_ids_nanos_csv_zstd", func(o *Options) {
			o.ContentIDInt, o.Timestamp, o.TablesFormat, o.Codec = true, "nanos", "csv", "zstd"
		}},
		{"int96_arrow_gzip_one_worker", func(o *Options) { o.Timestamp, o.Writers, o.Codec, o.Workers = "int96", WriterArrow, "gzip", 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := small()
			tc.mod(&o)
			_, d1 := generate(t, o)
			o.Workers = 3 // scheduling must not matter
			_, d2 := generate(t, o)
			a, b := readAll(t, d1), readAll(t, d2)
			if len(a) != len(b) || len(a) < 9 {
				t.Fatalf("file sets differ or too small: %d vs %d", len(a), len(b))
			}
			for p, x := range a {
				if !bytes.Equal(x, b[p]) {
					t.Errorf("%s differs between two runs with the same options", p)
				}
			}
			o.Seed++
			_, d3 := generate(t, o)
			c := readAll(t, d3)
			p := res0Path(o)
			if bytes.Equal(a[p], c[p]) {
				t.Errorf("%s is the same for seeds %d and %d", p, o.Seed-1, o.Seed)
			}
		})
	}
}

func res0Path(o Options) string { return partPath(o.Snapshot, platforms[0], 0) }

func TestLayout(t *testing.T) {
	res, dir := generate(t, small())
	want := []string{
		"corpus/snapshot=2026-06-01/_SUCCESS",
		"corpus/snapshot=2026-06-01/platform=facebook/part-00000.parquet",
		"corpus/snapshot=2026-06-01/platform=instagram/part-00001.parquet",
		"corpus/snapshot=2026-06-01/platform=threads/part-00002.parquet",
		"tables/ages/part-00000.parquet",
		"tables/links/part-00000.parquet",
		"tables/objections/part-00000.parquet",
		"truth/snapshot=2026-06-01.csv",
		"truth/snapshot=2026-06-01.json",
	}
	var got []string
	for p := range readAll(t, dir) {
		got = append(got, p)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("files:\n got %q\nwant %q", got, want)
	}
	if w := []string{res.Corpus[0].Writer, res.Corpus[1].Writer, res.Corpus[2].Writer}; !slices.Equal(w, []string{WriterParquetGo, WriterArrow, WriterParquetGo}) {
		t.Errorf("mixed writers = %v", w)
	}
	if !res.SnapshotAt.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("SnapshotAt = %v", res.SnapshotAt)
	}
}

// TestEdges checks that every planted edge row got exactly the categories
// written by hand in its spec, in every file, for several encodings.
func TestEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Options)
	}{
		{"micros_string_mixed", func(*Options) {}},
		{"millis_int_arrow_csv", func(o *Options) {
			o.Timestamp, o.ContentIDInt, o.Writers, o.TablesFormat = "millis", true, WriterArrow, "csv"
		}},
		{"nanos_string_parquet-go", func(o *Options) { o.Timestamp, o.Writers = "nanos", WriterParquetGo }},
		{"int96_int_mixed", func(o *Options) { o.Timestamp, o.ContentIDInt = "int96", true }},
		{"other_snapshot", func(o *Options) { o.Snapshot = "2023-02-28" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := small()
			tc.mod(&o)
			res, dir := generate(t, o)
			truth, err := ReadTruth(filepath.Join(dir, res.TruthCSV))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Edges) < 50 {
				t.Fatalf("only %d edges", len(res.Edges))
			}
			names := map[string]bool{}
			for _, e := range res.Edges {
				names[e.Name] = true
				if len(e.ContentIDs) != o.Files {
					t.Errorf("%s: %d content ids for %d files", e.Name, len(e.ContentIDs), o.Files)
				}
				for _, id := range e.ContentIDs {
					got := truth[id]
					if len(got) == 0 {
						got = []schema.Category{}
					}
					if !slices.Equal(got, e.Want) {
						t.Errorf("edge %s (content_id %s): truth %v, want %v", e.Name, id, got, e.Want)
					}
				}
			}
			for _, n := range []string{"feb29_at_18th_birthday", "feb29_1us_before_18th_birthday", "at_18th_birthday", "1us_before_18th_birthday",
				"conflicting_births_youngest_minor", "objection_withdrawn_at_snapshot", "objection_at_snapshot", "linked_chained_centre",
				"minor_ai_interaction_private", "null_author"} {
				if !names[n] {
					t.Errorf("edge %s missing", n)
				}
			}
			if nanos := o.Timestamp == "nanos" || o.Timestamp == "int96"; names["1ns_before_18th_birthday"] != nanos {
				t.Errorf("1ns edge present = %v, want %v", names["1ns_before_18th_birthday"], nanos)
			}
		})
	}
}

// TestEdgeAccounts checks the planted accounts in the model.
func TestEdgeAccounts(t *testing.T) {
	o := small()
	snap, err := o.normalize()
	if err != nil {
		t.Fatal(err)
	}
	m, err := newModel(o, snap)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := m.births(spFeb29)
	bd := time.Unix(int64(b[0])*86400, 0).UTC()
	if bd.Month() != time.February || bd.Day() != 29 {
		t.Errorf("feb29 account born %v", bd)
	}
	if got := time.UnixMicro(adultFromUS(b[0])).UTC(); got != time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("feb29 account adult from %v, want 2026-03-01", got)
	}
	if _, nb, nulls := m.births(spNullOnly); nb != 0 || nulls != 1 {
		t.Errorf("null-only account: %d dates %d nulls", nb, nulls)
	}
	if _, nb, nulls := m.births(spNoAges); nb+nulls != 0 {
		t.Errorf("no-ages account has rows")
	}
	// The random population has every kind of account.
	var none, nullOnly, two, feb29, young, old int
	for idx := int64(nSpecial); idx < m.n; idx++ {
		b, nb, nulls := m.births(idx)
		switch {
		case nb == 0 && nulls == 0:
			none++
		case nb == 0:
			nullOnly++
		case nb == 2:
			two++
		}
		if nb > 0 {
			d := time.Unix(int64(youngest(b, nb))*86400, 0).UTC()
			if d.Month() == 2 && d.Day() == 29 {
				feb29++
			}
			age := snap.Sub(d).Hours() / 24 / 365.25
			if age < 10 || age > 80.1 {
				t.Errorf("account %d aged %.1f", idx, age)
			}
			if age < 18 {
				young++
			} else {
				old++
			}
		}
	}
	if none == 0 || nullOnly == 0 || two == 0 || feb29 == 0 || young == 0 || old == 0 {
		t.Errorf("population: none=%d nullOnly=%d two=%d feb29=%d minors=%d adults=%d", none, nullOnly, two, feb29, young, old)
	}
}

func TestAccountIDsArePermutation(t *testing.T) {
	for _, n := range []int64{100, 997, 1000, 4096} {
		o := small()
		o.Accounts = n
		snap, _ := o.normalize()
		m, err := newModel(o, snap)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for idx := range n {
			id := m.accountID(idx)
			if id < idBase || id >= idBase+n || seen[id] {
				t.Fatalf("n=%d: id %d of index %d out of range or repeated", n, id, idx)
			}
			seen[id] = true
		}
		if f := m.foreignID(0); seen[f] {
			t.Errorf("foreign id %d is an account", f)
		}
	}
}

// TestSparseIDs checks that SparseIDs spreads the account ids over 63
// bits and keeps them distinct, and foreign ids out of them.
func TestSparseIDs(t *testing.T) {
	o := small()
	o.Accounts, o.SparseIDs = 5000, true
	snap, _ := o.normalize()
	m, err := newModel(o, snap)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	high := 0
	for idx := range o.Accounts {
		id := m.accountID(idx)
		if id < 0 || seen[id] {
			t.Fatalf("id %d of index %d negative or repeated", id, idx)
		}
		seen[id] = true
		if id > 1<<60 {
			high++
		}
	}
	if high < 4200 || high > 4550 { // 7 in 8 are above 2^60 if spread
		t.Errorf("%d of %d ids above 2^60: not spread over 63 bits", high, o.Accounts)
	}
	for k := range uint64(1000) {
		if f := m.foreignID(k); seen[f] {
			t.Fatalf("foreign id %d is an account", f)
		}
	}
}

func TestInt96(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond),
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
	} {
		v := int96Of(ts.UnixNano())
		nod := int64(v[0]) | int64(v[1])<<32
		got := time.Unix((int64(v[2])-2440588)*86400, nod).UTC()
		if !got.Equal(ts) {
			t.Errorf("int96 of %v decodes to %v", ts, got)
		}
	}
}

// TestTruthFiles checks the truth CSV against the JSON counts, its order,
// and the leak rate.
func TestTruthFiles(t *testing.T) {
	for _, intIDs := range []bool{false, true} {
		o := small()
		o.ContentIDInt = intIDs
		res, dir := generate(t, o)
		f, err := os.Open(filepath.Join(dir, res.TruthCSV))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan()
		if sc.Text() != TruthHeader {
			t.Errorf("header %q", sc.Text())
		}
		var prev int64
		var lines int64
		per := map[schema.Category]int64{}
		for sc.Scan() {
			id, cats, _ := strings.Cut(sc.Text(), ",")
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= prev || len(id) != 12 {
				t.Fatalf("line %q: content ids not increasing 12-digit numbers", sc.Text())
			}
			prev = n
			parts := strings.Split(cats, "|")
			if !slices.IsSorted(parts) {
				t.Errorf("line %q: categories not sorted", sc.Text())
			}
			for _, c := range parts {
				per[schema.Category(c)]++
			}
			lines++
		}
		f.Close()
		var js Truth
		b, _ := os.ReadFile(filepath.Join(dir, res.TruthJSON))
		if err := json.Unmarshal(b, &js); err != nil {
			t.Fatal(err)
		}
		if js.Rows != o.Rows || js.Flagged != lines || js.Clean != o.Rows-lines {
			t.Errorf("json rows/flagged/clean = %d/%d/%d, csv has %d flagged of %d", js.Rows, js.Flagged, js.Clean, lines, o.Rows)
		}
		for _, c := range schema.Categories {
			if js.ByCategory[c] != per[c] || per[c] == 0 {
				t.Errorf("%s: json %d, csv %d (want > 0)", c, js.ByCategory[c], per[c])
			}
		}
		// Random rows: about LeakRate flagged (edges excluded).
		edgeFlagged := int64(0)
		for _, e := range res.Edges {
			if len(e.Want) > 0 {
				edgeFlagged += int64(o.Files)
			}
		}
		random := float64(lines-edgeFlagged) / float64(o.Rows-int64(len(res.Edges)*o.Files))
		if random < 0.02 || random > 0.09 {
			t.Errorf("random rows flagged at %.3f, leak rate %.2f", random, o.LeakRate)
		}
	}
}

// TestCleanLake: no leaks and no edges give a clean truth, which checks
// the generator's model against the oracle: every row it meant clean is.
func TestCleanLake(t *testing.T) {
	o := small()
	o.LeakRate, o.NoEdges = 0, true
	o.Rows, o.Files = 6000, 2
	res, dir := generate(t, o)
	if res.Truth.Flagged != 0 {
		b, _ := os.ReadFile(filepath.Join(dir, res.TruthCSV))
		t.Fatalf("clean lake has %d flagged rows:\n%.500s", res.Truth.Flagged, b)
	}
	b, _ := os.ReadFile(filepath.Join(dir, res.TruthCSV))
	if string(b) != TruthHeader+"\n" {
		t.Errorf("truth csv = %q", b)
	}
}

func TestNoTruth(t *testing.T) {
	o := small()
	o.NoTruth = true
	res, dir := generate(t, o)
	if res.Truth != nil || res.TruthCSV != "" {
		t.Errorf("truth returned with NoTruth")
	}
	if _, err := os.Stat(filepath.Join(dir, "truth")); err == nil {
		t.Errorf("truth folder written with NoTruth")
	}
	if _, err := os.Stat(filepath.Join(dir, CorpusDir(o.Snapshot), "_SUCCESS")); err != nil {
		t.Error(err)
	}
}

func TestOverwrite(t *testing.T) {
	o := small()
	dir := t.TempDir()
	if _, err := Generate(context.Background(), dir, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), dir, o); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Generate without Overwrite: err = %v", err)
	}
	o.Overwrite, o.Files = true, 2
	res, err := Generate(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	// The old third file is gone.
	n := 0
	filepath.WalkDir(filepath.Join(dir, "corpus"), func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, ".parquet") {
			n++
		}
		return nil
	})
	if n != 2 || len(res.Corpus) != 2 {
		t.Errorf("%d corpus files after overwrite, want 2", n)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.Snapshot = "2026-13-01" }, "not a date"},
		{func(o *Options) { o.Rows = -1 }, "negative"},
		{func(o *Options) { o.Files, o.Rows = 5, 4 }, "every file needs a row"},
		{func(o *Options) { o.Rows, o.Files = 100, 4 }, "planted edge rows"},
		{func(o *Options) { o.Accounts = 50 }, "outside"},
		{func(o *Options) { o.LeakRate = 1.5 }, "leak_rate"},
		{func(o *Options) { o.Codec = "lzo" }, "unknown codec"},
		{func(o *Options) { o.Writers = "spark" }, "unknown writers"},
		{func(o *Options) { o.TablesFormat = "json" }, "unknown tables format"},
		{func(o *Options) { o.Timestamp = "seconds" }, "unknown timestamp"},
		{func(o *Options) { o.Links, o.Accounts = 100_000, 200 }, "too few for"},
	} {
		o := small()
		tc.mod(&o)
		_, err := Generate(context.Background(), t.TempDir(), o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("options %+v: err = %v, want %q", o, err, tc.want)
		}
	}
}

// TestParquetGoReadBack opens every corpus file with parquet-go and checks
// columns, row counts, row groups, codec and created_at's type.
func TestParquetGoReadBack(t *testing.T) {
	for _, tc := range []struct {
		codec, ts string
		wantCodec format.CompressionCodec
		wantPhys  pq.Kind
	}{
		{"snappy", "micros", format.Snappy, pq.Int64},
		{"zstd", "millis", format.Zstd, pq.Int64},
		{"gzip", "nanos", format.Gzip, pq.Int64},
		{"brotli", "int96", format.Brotli, pq.Int96},
		{"lz4", "micros", format.Lz4Raw, pq.Int64},
		{"none", "micros", format.Uncompressed, pq.Int64},
	} {
		t.Run(tc.codec+"_"+tc.ts, func(t *testing.T) {
			o := small()
			o.Codec, o.Timestamp = tc.codec, tc.ts
			res, dir := generate(t, o)
			for _, fi := range res.Corpus {
				if tc.codec == "lz4" && fi.Writer != WriterParquetGo {
					t.Errorf("%s written by %s with lz4", fi.Path, fi.Writer)
				}
				path := filepath.Join(dir, fi.Path)
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				st, _ := f.Stat()
				pf, err := pq.OpenFile(f, st.Size())
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if pf.NumRows() != fi.Rows || len(pf.RowGroups()) != 3 || fi.RowGroups != 3 {
					t.Errorf("%s: %d rows in %d row groups, want %d in 3", fi.Path, pf.NumRows(), len(pf.RowGroups()), fi.Rows)
				}
				var cols []string
				for _, c := range pf.Schema().Columns() {
					cols = append(cols, c[0])
				}
				slices.Sort(cols)
				if want := []string{"author_id", "content_id", "content_type", "created_at", "lang", "platform", "visibility"}; !slices.Equal(cols, want) {
					t.Errorf("%s: columns %v", fi.Path, cols)
				}
				leaf, _ := pf.Schema().Lookup("created_at")
				if k := leaf.Node.Type().Kind(); k != tc.wantPhys {
					t.Errorf("%s: created_at is %v, want %v", fi.Path, k, tc.wantPhys)
				}
				if lt := leaf.Node.Type().LogicalType(); tc.ts != "int96" && !isTimestamp(lt) {
					t.Errorf("%s: created_at logical type %v, want a timestamp", fi.Path, lt)
				}
				for _, rg := range pf.Metadata().RowGroups {
					for _, cc := range rg.Columns {
						if cc.MetaData.Codec != tc.wantCodec {
							t.Errorf("%s: column %v codec %v, want %v", fi.Path, cc.MetaData.PathInSchema, cc.MetaData.Codec, tc.wantCodec)
						}
					}
				}
				if got := pf.Metadata().CreatedBy; got == "" {
					t.Errorf("%s: no created_by", fi.Path)
				}
				f.Close()
			}
		})
	}
}

func isTimestamp(lt *format.LogicalType) bool {
	if lt == nil {
		return false
	}
	_, ok := lt.Value.(*format.TimestampType)
	return ok
}

// TestCSVTables checks the CSV tables: headers, null forms, the planted
// 29 February birth and the objection withdrawn exactly at snapshot_at,
// and the same rows as the Parquet tables of the same seed.
func TestCSVTables(t *testing.T) {
	o := small()
	o.TablesFormat = "csv"
	res, dir := generate(t, o)
	o.TablesFormat = "parquet"
	resPQ, _ := generate(t, o)
	read := func(role string) []string {
		b, err := os.ReadFile(filepath.Join(dir, "tables", role, "part-00000.csv"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	for i, tc := range []struct {
		role, header string
		contains     []string // line suffixes that must occur
	}{
		{"ages", "account_id,birth_date", []string{",", ",2008-02-29"}},
		{"objections", "account_id,objected_at,withdrawn_at", []string{",2026-06-01T00:00:00Z", ",2026-06-01T00:00:00Z,", ",2026-05-31T23:59:59.999999Z,", ",2026-06-01T00:00:00.000001Z,"}},
		{"links", "account_id,accounts_center_id", []string{",7000000000001", ",7000000000002"}},
	} {
		lines := read(tc.role)
		if lines[0] != tc.header {
			t.Errorf("%s header %q, want %q", tc.role, lines[0], tc.header)
		}
		if int64(len(lines)-1) != res.Tables[i].Rows || res.Tables[i].Rows != resPQ.Tables[i].Rows || res.Tables[i].Role != tc.role {
			t.Errorf("%s: %d lines, result says %d rows, parquet has %d", tc.role, len(lines)-1, res.Tables[i].Rows, resPQ.Tables[i].Rows)
		}
		for _, suf := range tc.contains {
			found := false
			for _, l := range lines[1:] {
				if strings.HasSuffix(l, suf) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: no line ends with %q", tc.role, suf)
			}
		}
	}
}
