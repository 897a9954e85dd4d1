package lookup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// objRow96 is an objections row with INT96 timestamps, as Spark writes it
// (Spark writes every column OPTIONAL; objected_at is REQUIRED here to
// cover both).
type objRow96 struct {
	AccountID   int64             `parquet:"account_id"`
	ObjectedAt  deprecated.Int96  `parquet:"objected_at"`
	WithdrawnAt *deprecated.Int96 `parquet:"withdrawn_at,optional"`
}

// objRow96Opt is objRow96 with an OPTIONAL objected_at.
type objRow96Opt struct {
	AccountID   int64             `parquet:"account_id"`
	ObjectedAt  *deprecated.Int96 `parquet:"objected_at,optional"`
	WithdrawnAt *deprecated.Int96 `parquet:"withdrawn_at,optional"`
}

// julian1970 is the Julian day number of 1970-01-01.
const julian1970 = 2_440_588

// objRow96Dict is objRow96Opt, dictionary-encoded (as Spark usually
// writes).
type objRow96Dict struct {
	AccountID   int64             `parquet:"account_id"`
	ObjectedAt  *deprecated.Int96 `parquet:"objected_at,optional,dict"`
	WithdrawnAt *deprecated.Int96 `parquet:"withdrawn_at,optional,dict"`
}

// raw96 is an INT96 value from its parts: nanoseconds of the day (signed,
// as Arrow's writer may produce) and Julian day number.
func raw96(jday uint32, nanos int64) deprecated.Int96 {
	return deprecated.Int96{uint32(uint64(nanos)), uint32(uint64(nanos) >> 32), jday}
}

// i96 encodes t the way Spark does: Julian day and nanoseconds of the day,
// computed without int64 nanoseconds so that any year 1..9999 works.
func i96(t time.Time) deprecated.Int96 {
	sec := t.Unix()
	d := sec / 86400
	if sec%86400 < 0 {
		d--
	}
	nod := (sec-d*86400)*1e9 + int64(t.Nanosecond())
	return raw96(uint32(d+julian1970), nod)
}

func p96(t time.Time) *deprecated.Int96 { v := i96(t); return &v }

// int96Tables writes rows as the objections table (rowGroup rows per row
// group, 0: one) and an empty ages table.
func int96Tables[T any](t *testing.T, rows []T, rowGroup int64) (Tables, string) {
	t.Helper()
	dir := t.TempDir()
	op := filepath.Join(dir, "objections.parquet")
	var opts []pq.WriterOption
	if rowGroup > 0 {
		opts = append(opts, pq.MaxRowsPerRowGroup(rowGroup))
	}
	if err := pq.WriteFile(op, rows, opts...); err != nil {
		t.Fatal(err)
	}
	ap := filepath.Join(dir, "ages.parquet")
	writeParquet(t, ap, 0, agesCols(nil, nil))
	return Tables{Ages: open(t, ap), Objections: open(t, op)}, op
}

var (
	d2020  = ts("2020-01-01T00:00:00Z")
	d2021  = ts("2021-01-01T00:00:00Z")
	never  = ts("9999-12-31T00:00:00Z")
	d1600  = ts("1600-03-01T12:34:56.789012345Z")
	d10000 = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// TestInt96Objections reads INT96 objected_at/withdrawn_at outside the
// int64-nanosecond range (1677..2262), which pqarrow would wrap: a
// 9999-12-31 "never withdrawn" marker must not read as a past withdrawal.
func TestInt96Objections(t *testing.T) {
	rows := []objRow96Opt{
		{7, p96(d2020), p96(never)},  // never withdrawn: objected
		{8, p96(d2020), p96(d2021)},  // withdrawn: not objected
		{9, p96(d2020), nil},         // objected
		{10, p96(d1600), p96(never)}, // long ago, never withdrawn: objected
		// Arrow's writer: day truncated toward zero, negative nanoseconds
		// (1969-12-31T12:00:00Z).
		{11, func() *deprecated.Int96 { v := raw96(julian1970, -12*3600*1e9); return &v }(), nil},
		{12, p96(never), nil}, // objects in 9999: not yet
		{13, p96(d2020), p96(time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC))},
	}
	dict := make([]objRow96Dict, len(rows))
	for i, r := range rows {
		dict[i] = objRow96Dict(r)
	}
	t.Run("plain", func(t *testing.T) {
		tb, _ := int96Tables(t, rows, 0)
		checkInt96Objections(t, mustBuild(t, tb, testOptions()))
	})
	t.Run("dictionary", func(t *testing.T) {
		tb, path := int96Tables(t, dict, 0)
		checkInt96Objections(t, mustBuild(t, tb, testOptions()))
		// The file really is dictionary-encoded.
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		pf, err := pq.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range pf.Metadata().RowGroups[0].Columns[1:] {
			if c.MetaData.DictionaryPageOffset == 0 {
				t.Fatalf("column %v is not dictionary-encoded", c.MetaData.PathInSchema)
			}
		}
	})
}

func checkInt96Objections(t *testing.T, ix *Index) {
	t.Helper()
	want := map[int64]bool{7: true, 8: false, 9: true, 10: true, 11: true, 12: false, 13: true}
	for id, w := range want {
		if got := ix.Facts(id).Objected; got != w {
			t.Errorf("account %d: Objected = %v, want %v", id, got, w)
		}
	}
	for id, at := range map[int64]time.Time{7: d2020, 10: d1600, 11: ts("1969-12-31T12:00:00Z")} {
		want := at.UnixMicro()
		if e := ix.Evidence(id); e.ObjectedAt == nil || *e.ObjectedAt != want {
			t.Errorf("account %d: ObjectedAt = %s, want %d", id, ptrStr(e.ObjectedAt), want)
		}
	}
}

// TestInt96Required reads a REQUIRED INT96 objected_at, in many row groups
// and in batches that span row groups, checking every row lines up with
// its account_id.
func TestInt96Required(t *testing.T) {
	const n = batchRows + 5000
	rows := make([]objRow96, n)
	for i := range rows {
		r := &rows[i]
		r.AccountID = int64(i)
		r.ObjectedAt = i96(d2020.Add(time.Duration(i) * time.Second))
		switch i % 3 {
		case 1:
			r.WithdrawnAt = p96(never)
		case 2:
			r.WithdrawnAt = p96(d2021)
		}
	}
	tb, _ := int96Tables(t, rows, 30_000)
	ix, in, err := Build(context.Background(), tb, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := 0; i < n; i++ {
		if got, want := ix.Facts(int64(i)).Objected, i%3 != 2; got != want {
			if bad++; bad <= 5 {
				t.Errorf("account %d: Objected = %v, want %v", i, got, want)
			}
		}
	}
	const last = n - 2 // in the last row group, objected (n-2 % 3 == 1)
	if e := ix.Evidence(last); e.ObjectedAt == nil || *e.ObjectedAt != d2020.Add(last*time.Second).UnixMicro() {
		t.Errorf("account %d: ObjectedAt = %s", last, ptrStr(e.ObjectedAt))
	}
	var got int64
	for _, f := range in {
		if strings.HasSuffix(f.Path, "objections.parquet") {
			got = f.Rows
		}
	}
	if got != n {
		t.Errorf("objections rows = %d, want %d", got, n)
	}
}

// TestInt96OutOfRange: INT96 values that are no instant in years 1..9999
// fail, naming the file, the column and the row.
func TestInt96OutOfRange(t *testing.T) {
	ok := p96(d2020)
	tests := []struct {
		name string
		bad  *deprecated.Int96
		col  string // objected_at or withdrawn_at
		want string
	}{
		{"Julian day 0", &deprecated.Int96{}, "objected_at", "Julian day 0"},
		{"Julian day 0 withdrawn", &deprecated.Int96{}, "withdrawn_at", "Julian day 0"},
		{"nanoseconds of day = 86400e9", func() *deprecated.Int96 { v := raw96(julian1970+18262, 86_400e9); return &v }(), "withdrawn_at", "nanoseconds of day 86400000000000"},
		{"nanoseconds of day = -86400e9", func() *deprecated.Int96 { v := raw96(julian1970+18262, -86_400e9); return &v }(), "objected_at", "nanoseconds of day -86400000000000"},
		{"nanoseconds of day huge", func() *deprecated.Int96 { v := raw96(julian1970, 1<<62); return &v }(), "objected_at", "out of range"},
		{"year 10000", p96(d10000), "withdrawn_at", "out of range"},
		{"before year 1", p96(time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)), "objected_at", "out of range"},
		{"Julian day 2^32-1", func() *deprecated.Int96 { v := raw96(1<<32-1, 0); return &v }(), "objected_at", "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := []objRow96Opt{{1, ok, nil}, {2, ok, ok}, {3, ok, nil}, {4, ok, nil}}
			if tc.col == "objected_at" {
				rows[2].ObjectedAt = tc.bad
			} else {
				rows[2].WithdrawnAt = tc.bad
			}
			tb, path := int96Tables(t, rows, 0)
			_, _, err := Build(context.Background(), tb, testOptions())
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range []string{path, "column " + tc.col + ", row 2:", "INT96", tc.want} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestInt96Nulls: a null INT96 objected_at fails naming the row; an INT96
// birth_date is refused.
func TestInt96Nulls(t *testing.T) {
	rows := []objRow96Opt{{1, p96(d2020), nil}, {2, nil, nil}}
	tb, path := int96Tables(t, rows, 0)
	_, _, err := Build(context.Background(), tb, testOptions())
	if err == nil || !strings.Contains(err.Error(), path+": column objected_at, row 1: null value") {
		t.Errorf("null objected_at: error %v", err)
	}

	type ageRow96 struct {
		AccountID int64            `parquet:"account_id"`
		BirthDate deprecated.Int96 `parquet:"birth_date"`
	}
	dir := t.TempDir()
	ap := filepath.Join(dir, "ages.parquet")
	if err := pq.WriteFile(ap, []ageRow96{{1, i96(d2020)}}); err != nil {
		t.Fatal(err)
	}
	tb, _ = int96Tables(t, rows[:1], 0)
	tb.Ages = open(t, ap)
	_, _, err = Build(context.Background(), tb, testOptions())
	if err == nil || !strings.Contains(err.Error(), ap+": column birth_date: type INT96") {
		t.Errorf("INT96 birth_date: error %v", err)
	}
}
