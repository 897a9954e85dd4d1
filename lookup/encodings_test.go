package lookup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pgo "github.com/parquet-go/parquet-go"
)

// Ages tables as parquet-go writes them with each encoding and codec a
// writer may choose for an INT64 id and a DATE (INT32) birth date. Birth
// dates are days since 1970, 0 for null (parquet-go's "optional" on a
// non-pointer); not time.Time: parquet-go v0.32.0 writes a time.Time
// tagged "date" as its Unix nanoseconds cut to 32 bits.
type (
	agesPlain struct {
		AccountID int64 `parquet:"account_id,plain"`
		BirthDate int32 `parquet:"birth_date,date,optional,plain"`
	}
	agesDict struct {
		AccountID int64 `parquet:"account_id,dict,zstd"`
		BirthDate int32 `parquet:"birth_date,date,optional,dict,gzip"`
	}
	agesDelta struct {
		AccountID int64 `parquet:"account_id,delta,uncompressed"`
		BirthDate int32 `parquet:"birth_date,date,optional,delta,lz4"`
	}
	agesInt32 struct {
		AccountID int32 `parquet:"account_id,delta,brotli"`
		BirthDate int32 `parquet:"birth_date,date,optional,dict,snappy"`
	}
	agesSplit struct {
		AccountID int64 `parquet:"account_id"`
		BirthDate int32 `parquet:"birth_date,date,optional,split"`
	}
)

// TestTableEncodings: the values of an ages table decode the same whatever
// encoding (PLAIN, dictionary, DELTA_BINARY_PACKED), codec, data page
// version and page size its writer chose, nulls included; an encoding the
// reader does not decode is an error naming the file and column.
func TestTableEncodings(t *testing.T) {
	const n = 3000
	birth := func(i int) *time.Time {
		if i%7 == 3 {
			return nil
		}
		d := time.Date(1940+i%70, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
		return &d
	}
	days := func(b *time.Time) *int32 {
		if b == nil {
			return nil
		}
		d := int32(b.Unix() / 86400)
		return &d
	}
	id := func(i int) int64 { return int64(i)*13 - 5000 }
	rowsOf := func(mk func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = mk(i)
		}
		return out
	}
	type variant struct {
		name string
		rows []any
		opts []pgo.WriterOption
		want string
	}
	var variants []variant
	for _, v := range []struct {
		name string
		opts []pgo.WriterOption
	}{
		{"v1", nil},
		{"v2, small pages", []pgo.WriterOption{pgo.DataPageVersion(2), pgo.PageBufferSize(1024)}},
		{"v1, small pages", []pgo.WriterOption{pgo.DataPageVersion(1), pgo.PageBufferSize(512)}},
	} {
		variants = append(variants,
			variant{"plain, " + v.name, rowsOf(func(i int) any { return agesPlain{id(i), deref(days(birth(i)))} }), v.opts, ""},
			variant{"dictionary, " + v.name, rowsOf(func(i int) any { return agesDict{id(i), deref(days(birth(i)))} }), v.opts, ""},
			variant{"delta, " + v.name, rowsOf(func(i int) any { return agesDelta{id(i), deref(days(birth(i)))} }), v.opts, ""},
			variant{"int32 ids, " + v.name, rowsOf(func(i int) any { return agesInt32{int32(id(i)), deref(days(birth(i)))} }), v.opts, ""},
		)
	}
	variants = append(variants, variant{"byte stream split", rowsOf(func(i int) any { return agesSplit{id(i), deref(days(birth(i)))} }), nil,
		"column birth_date: row group 0: page 0 (offset 0 in the column chunk): values encoded as BYTE_STREAM_SPLIT (not supported)"})

	objs := fixture(t, nil, nil, nil).Objections
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var buf bytes.Buffer
			opts := append([]pgo.WriterOption{pgo.MaxRowsPerRowGroup(1000)}, v.opts...)
			var w interface {
				Close() error
			}
			switch v.rows[0].(type) {
			case agesPlain:
				w = writeAll[agesPlain](t, &buf, v.rows, opts)
			case agesDict:
				w = writeAll[agesDict](t, &buf, v.rows, opts)
			case agesDelta:
				w = writeAll[agesDelta](t, &buf, v.rows, opts)
			case agesInt32:
				w = writeAll[agesInt32](t, &buf, v.rows, opts)
			case agesSplit:
				w = writeAll[agesSplit](t, &buf, v.rows, opts)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "ages.parquet")
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			ix, _, err := Build(context.Background(), Tables{Ages: open(t, p), Objections: objs}, testOptions())
			if v.want != "" {
				if err == nil || !strings.Contains(err.Error(), v.want) || !strings.Contains(err.Error(), "ages.parquet") {
					t.Fatalf("error %v, want one naming ages.parquet and containing %q", err, v.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				a := id(i)
				if _, ok := v.rows[0].(agesInt32); ok {
					a = int64(int32(a))
				}
				e := ix.Evidence(a)
				want := days(birth(i))
				if ptrStr(e.BirthDate) != ptrStr(want) {
					t.Fatalf("account %d: birth date %s, want %s", a, ptrStr(e.BirthDate), ptrStr(want))
				}
			}
			if st := ix.Stats(); st.AgeRows != n || st.NullBirthRows != n/7+1 {
				t.Fatalf("stats %+v, want %d rows, %d null birth dates", st, n, n/7+1)
			}
		})
	}
}

// writeAll writes rows (all of type T) with a parquet-go writer and
// returns it, to be closed.
func writeAll[T any](t *testing.T, buf *bytes.Buffer, rows []any, opts []pgo.WriterOption) *pgo.GenericWriter[T] {
	t.Helper()
	w := pgo.NewGenericWriter[T](buf, opts...)
	typed := make([]T, len(rows))
	for i, r := range rows {
		typed[i] = r.(T)
	}
	if _, err := w.Write(typed); err != nil {
		t.Fatal(err)
	}
	return w
}

// deref is *p, or 0 (null, for parquet-go) if p is nil.
func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
