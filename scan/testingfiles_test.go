package scan

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/corpus-audit/corpus-audit/internal/parquettesting"
)

// parquetTesting is the copy of apache/parquet-testing the tests read (see
// internal/parquettesting).
var parquetTesting = parquettesting.Dir()

func testingFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(parquetTesting, "*", "*.parquet"))
	if len(files) == 0 {
		t.Fatalf("no parquet-testing files under %s", parquetTesting)
	}
	return files
}

// readRole opens data with only role mapped (to column name) and reads
// every row group; it returns the role's values in oracle form.
func readRole(t *testing.T, data []byte, name string, role int, col string) ([]any, error) {
	t.Helper()
	var m [numRoles]string
	m[role] = col
	f, err := open(bytes.NewReader(data), int64(len(data)), name, m)
	if err != nil {
		return nil, err
	}
	var rows []row
	var b Batch
	for i := 0; i < f.NumRowGroups(); i++ {
		if err := f.ReadRowGroup(i, &b); err != nil {
			if _, serr := streamRows(t, f, 3); serr == nil {
				t.Fatalf("ReadRowGroup failed (%v), streaming did not", err)
			}
			return nil, err
		}
		rows = append(rows, batchRows(t, &b)...)
	}
	// Streamed a slice at a time, the rows are the same.
	for _, slice := range []int{3, 1000} {
		got, err := streamRows(t, f, slice)
		if err != nil {
			t.Fatalf("streamed %d rows at a time: %v (ReadRowGroup read the file)", slice, err)
		}
		compareRows(t, got, rows)
	}
	return roleValues(rows, role), nil
}

// Known contents of files Arrow v17 cannot read.
var (
	lz4Authors  = []any{int64(1593604800), int64(1593604800), int64(1593604801), int64(1593604801)}
	lz4Strings  = []any{"abc", "def", "abc", "def"}
	sparkInt96s = []any{int64(1704141296123456), int64(1704070800000000), int64(253402225200000000),
		int64(1735599600000000), nil, int64(9089380393200000000)} // from int96_from_spark.md
)

// TestParquetTestingFiles reads every column of every parquet-testing file
// in every role its type allows (one role at a time; the other roles read
// as null) and checks the outcome: the values Arrow's reader gives (files
// under data/), the values documented for the files Arrow v17 cannot read,
// or an error naming the file and column for the broken ones.
func TestParquetTestingFiles(t *testing.T) {
	// file/column → substring of the expected error. Columns not listed
	// must decode (and match the oracle where there is one).
	wantErr := map[string]string{
		"datapage_v1-corrupt-checksum.parquet/a":          "crc32 checksum mismatch",
		"datapage_v1-corrupt-checksum.parquet/b":          "crc32 checksum mismatch",
		"ARROW-GH-41317.parquet/timestamp_us_no_tz":       "hold 0 values but the row group has 3 rows",
		"ARROW-GH-41321.parquet/int64":                    "page 1 (offset 30 in the column chunk, from row 0): definition levels: runs end before the page's values do",
		"ARROW-GH-41321.parquet/large_binary":             "page 1 (offset 20 in the column chunk, from row 0): definition levels: runs end before the page's values do",
		"ARROW-RS-GH-6229-DICTHEADER.parquet/nation_key":  "missing required field",
		"ARROW-RS-GH-6229-DICTHEADER.parquet/name":        "does not lie between",
		"ARROW-RS-GH-6229-DICTHEADER.parquet/region_key":  "does not lie between",
		"ARROW-RS-GH-6229-DICTHEADER.parquet/comment_col": "does not lie between",
	}
	// PARQUET-1481's column has a corrupt physical type: every role
	// rejects it with "type unknown physical type 7 is not ..." (checked
	// by the not-accepted branch below).
	known := map[string][]any{
		"hadoop_lz4_compressed.parquet/c0": lz4Authors,
		"hadoop_lz4_compressed.parquet/c1": lz4Strings,
		"lz4_raw_compressed.parquet/c0":    lz4Authors,
		"lz4_raw_compressed.parquet/c1":    lz4Strings,
		"int96_from_spark.parquet/a":       sparkInt96s,
		"ARROW-GH-43605.parquet/min_fl":    nil, // checked below: 21186 zeros
	}
	seenErr := map[string]bool{}
	decoded := 0
	for _, fn := range testingFiles(t) {
		base := filepath.Base(fn)
		data, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(base, func(t *testing.T) {
			var oracle map[string][]any
			if filepath.Base(filepath.Dir(fn)) == "data" {
				// Arrow v17 panics in a goroutine on some bad_data files, so
				// it is asked about the good ones only.
				oracle, _ = arrowColumns(data)
			}
			pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
			if err != nil {
				t.Fatalf("parquet-go cannot open it: %v", err)
			}
			tops, err := topLevel(pf.Metadata(), pf.Root())
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range tops {
				name := tc.el.Name
				key := base + "/" + name
				for role := 0; role < numRoles; role++ {
					if !tc.el.Type.Valid || (tc.el.RepetitionType.Valid && tc.el.RepetitionType.V == 2) {
						// Nested or repeated: every role rejects it.
						_, err := readRole(t, data, base, role, name)
						wantError(t, err, base, "column "+name)
						continue
					}
					if _, ok := classify(role, tc.el); !ok {
						_, err := readRole(t, data, base, role, name)
						wantError(t, err, base, "column "+name, "type ")
						continue
					}
					got, err := readRole(t, data, base, role, name)
					if want, ok := wantErr[key]; ok {
						se := wantError(t, err, base, "column "+name, want)
						if se.Column != name {
							t.Errorf("%s: Error.Column = %q", key, se.Column)
						}
						seenErr[key] = true
						continue
					}
					if err != nil {
						t.Errorf("%s as %s: %v", key, roleNames[role], err)
						continue
					}
					decoded++
					if want, ok := known[key]; ok {
						if key == "ARROW-GH-43605.parquet/min_fl" {
							// One dictionary value (0) and indexes of bit width 0.
							want = make([]any, 21186)
							for i := range want {
								want[i] = int64(0)
							}
						}
						if !reflect.DeepEqual(got, want) {
							t.Errorf("%s as %s: got %s, want %s", key, roleNames[role], fmtVals(got), fmtVals(want))
						}
						continue
					}
					if want, ok := oracle[name]; ok {
						if !reflect.DeepEqual(got, want) {
							t.Errorf("%s as %s: got %s, Arrow reads %s", key, roleNames[role], fmtVals(got), fmtVals(want))
						}
					}
				}
			}
		})
	}
	for k := range wantErr {
		if !seenErr[k] {
			t.Errorf("%s: expected an error, column never tried", k)
		}
	}
	if decoded < 100 {
		t.Errorf("only %d column/role pairs decoded", decoded)
	}
}

// TestParquetTestingMappings opens alltypes_plain with all six roles mapped
// onto its columns and checks whole rows, then checks the errors of
// mappings onto columns of the wrong type, missing and nested columns.
func TestParquetTestingMappings(t *testing.T) {
	testingFiles(t)
	read := func(rel string) []byte {
		data, err := os.ReadFile(filepath.Join(parquetTesting, rel))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	plain := read("data/alltypes_plain.parquet")
	cols := Columns{
		ContentID:   "id",
		AuthorID:    "bigint_col",
		Platform:    "string_col",
		ContentType: "date_string_col",
		Visibility:  "string_col", // the same column twice is fine
		CreatedAt:   "timestamp_col",
	}
	got, _, err := readAll(t, plain, cols)
	if err != nil {
		t.Fatal(err)
	}
	// From parquet-testing's documentation of alltypes_plain.
	ids := []int64{4, 5, 6, 7, 2, 3, 0, 1}
	dates := []string{"03/01/09", "03/01/09", "04/01/09", "04/01/09", "02/01/09", "02/01/09", "01/01/09", "01/01/09"}
	created := []int64{1235865600000000, 1235865660000000, 1238544000000000, 1238544060000000,
		1233446400000000, 1233446460000000, 1230768000000000, 1230768060000000}
	var want []row
	for i := range ids {
		s := []string{"0", "1"}[i%2]
		want = append(want, row{ID: ids[i], Author: ptr(int64(10 * (i % 2))), Platform: ptr(s),
			ContentType: ptr(dates[i]), Visibility: ptr(s), Created: ptr(created[i])})
	}
	compareRows(t, got, want)

	bad := []struct {
		name   string
		data   []byte
		mutate func(c *Columns)
		want   []string
	}{
		{"int64 created_at", plain, func(c *Columns) { c.CreatedAt = "bigint_col" }, []string{"column bigint_col", "type INT64 is not a timestamp (read as created_at)"}},
		{"string created_at", plain, func(c *Columns) { c.CreatedAt = "date_string_col" }, []string{"type BYTE_ARRAY is not a timestamp"}},
		{"float author", plain, func(c *Columns) { c.AuthorID = "float_col" }, []string{"column float_col", "type FLOAT is not an integer"}},
		{"bool content_id", plain, func(c *Columns) { c.ContentID = "bool_col" }, []string{"type BOOLEAN is not a string or an integer"}},
		{"int platform", plain, func(c *Columns) { c.Platform = "int_col" }, []string{"type INT32 is not a string"}},
		{"missing", plain, func(c *Columns) { c.Visibility = "vis" }, []string{"column vis", "not found (read as visibility)", "timestamp_col"}},
		{"empty name", plain, func(c *Columns) { c.Visibility = "" }, []string{"no column name given for visibility"}},
		{"nested list", read("data/datapage_v2.snappy.parquet"), func(c *Columns) {
			*c = Columns{"a", "b", "a", "a", "e", "a"}
		}, []string{"column e", "nested group (group LIST)"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := cols
			tc.mutate(&c)
			_, err := Open(bytes.NewReader(tc.data), int64(len(tc.data)), "x.parquet", c)
			se := wantError(t, err, append([]string{"x.parquet: "}, tc.want...)...)
			if se.RowGroup != -1 || se.Row != -1 {
				t.Errorf("row group/row = %d/%d, want -1/-1", se.RowGroup, se.Row)
			}
		})
	}
}
