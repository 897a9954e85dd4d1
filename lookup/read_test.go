package lookup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet/file"

	"github.com/corpus-audit/corpus-audit/internal/parquettesting"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

func TestCSVTables(t *testing.T) {
	dir := t.TempDir()
	// Extra columns, another column order, a byte-order mark, CRLF, quotes,
	// white space around values, empty fields as null, upper-case extension.
	writeFile(t, dir+"/ages/part-1.CSV", "\xef\xbb\xbfnote,birth_date,account_id\r\n"+
		"\"a, b\",2001-05-06,1\r\n"+
		"x,2009-01-02,1\r\n"+
		"y,,2\r\n"+
		"z, 1999-12-31 , 3 \r\n")
	writeFile(t, dir+"/ages/part-2.csv", "account_id,birth_date\n4,\n")
	writeFile(t, dir+"/ages/part-3.csv", "account_id,birth_date\n")             // header only
	writeFile(t, dir+"/ages/part-4.csv", "account_id,birth_date\n5,2003-03-03") // no final newline
	writeFile(t, dir+"/objections.csv", "account_id,objected_at,withdrawn_at,comment\n"+
		"10,2026-05-01T00:00:00Z,,rfc3339 Z\n"+
		"11,2026-05-31T23:00:00-02:00,,offset: after the snapshot\n"+
		"12,2026-05-31T23:59:59.999999,,no zone: UTC\n"+
		"13,2026-06-01 00:00:00,,space form exactly at snapshot\n"+
		"14,2026-06-01 00:00:00.000001,,1µs after\n"+
		"15,2026-01-01T00:00:00Z,2026-06-01T00:00:00Z,withdrawn at snapshot\n"+
		"16,2026-01-01T00:00:00Z,2026-06-01T02:00:00+02:00,withdrawn at snapshot (offset)\n"+
		"17,2026-01-01T00:00:00Z,2026-06-01 00:00:00.000001,withdrawn 1µs after\n"+
		"18,2026-01-01T00:00:00.5+01:00,,fraction and offset\n")
	writeFile(t, dir+"/links.csv", "accounts_center_id,account_id\n7,1\n7,18\n")
	l := open(t, dir+"/links.csv")
	ix, inputs, err := Build(context.Background(), Tables{Ages: open(t, dir+"/ages"), Objections: open(t, dir+"/objections.csv"), Links: &l}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]*int32{1: i32(day("2009-01-02")), 2: nil, 3: i32(day("1999-12-31")), 4: nil, 5: i32(day("2003-03-03"))} {
		if got := ix.Evidence(id).BirthDate; ptrStr(got) != ptrStr(want) {
			t.Errorf("account %d: birth %s, want %s", id, ptrStr(got), ptrStr(want))
		}
		if ix.Facts(id).BirthKnown != (want != nil) {
			t.Errorf("account %d: BirthKnown %v", id, !(want != nil))
		}
	}
	for id, want := range map[int64]bool{10: true, 11: false, 12: true, 13: true, 14: false, 15: false, 16: false, 17: true, 18: true, 1: true} {
		if got := ix.Facts(id).Objected; got != want {
			t.Errorf("account %d: Objected %v, want %v", id, got, want)
		}
	}
	if e := ix.Evidence(18); *e.ObjectedAt != micros("2025-12-31T23:00:00.5Z") {
		t.Errorf("account 18: ObjectedAt %d", *e.ObjectedAt)
	}
	if e := ix.Evidence(1); *e.ObjectionAccountID != 18 || *e.AccountsCenterID != 7 {
		t.Errorf("account 1: evidence %s", fmtEvidence(e))
	}
	wantRows := map[string]int64{"objections.csv": 9, "links.csv": 2, "part-1.CSV": 4, "part-2.csv": 1, "part-3.csv": 0, "part-4.csv": 1}
	if len(inputs) != len(wantRows) {
		t.Fatalf("%d inputs, want %d: %+v", len(inputs), len(wantRows), inputs)
	}
	for _, in := range inputs {
		if r, ok := wantRows[filepath.Base(in.Path)]; !ok || r != in.Rows {
			t.Errorf("input %s: %d rows, want %d", in.Path, in.Rows, r)
		}
		checkInput(t, in)
	}
}

// checkInput checks an InputFile's size and hash against the file.
func checkInput(t *testing.T, in schema.InputFile) {
	t.Helper()
	b, err := os.ReadFile(in.Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if in.SHA256 != hex.EncodeToString(sum[:]) || in.Size != int64(len(b)) || in.ETag == "" {
		t.Errorf("input %s: size %d sha %s etag %q, file has %d bytes, sha %x", in.Path, in.Size, in.SHA256, in.ETag, len(b), sum)
	}
}

func TestFolderListing(t *testing.T) {
	dir := t.TempDir()
	writeParquet(t, dir+"/ages/y=2024/part-0.parquet", 2, agesCols([]any{int64(1), int64(2), int64(3)}, []any{"2000-01-01", "2001-01-01", nil}))
	writeFile(t, dir+"/ages/y=2025/part-1.csv", "account_id,birth_date\n4,2002-02-02\n")
	writeFile(t, dir+"/ages/_SUCCESS", "")
	writeFile(t, dir+"/ages/.part-0.parquet.crc", "junk")
	writeFile(t, dir+"/ages/y=2024/_committed_123", "junk")
	writeFile(t, dir+"/ages/_delta_log/000.json", "{}") // inside a folder starting with "_": the file name is what counts
	writeParquet(t, dir+"/obj.parquet", 0, objCols(nil, nil, nil))

	// _delta_log/000.json is not skipped: its base name is 000.json.
	_, _, err := Build(context.Background(), Tables{Ages: open(t, dir+"/ages"), Objections: open(t, dir+"/obj.parquet")}, testOptions())
	if err == nil || !strings.Contains(err.Error(), "000.json: not a Parquet or CSV file") {
		t.Fatalf("err = %v, want 000.json: not a Parquet or CSV file", err)
	}
	os.RemoveAll(dir + "/ages/_delta_log")

	ix, inputs, err := Build(context.Background(), Tables{Ages: open(t, dir+"/ages"), Objections: open(t, dir+"/obj.parquet")}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range inputs {
		got = append(got, in.Role+":"+strings.TrimPrefix(in.Path, dir)+":"+string(rune('0'+in.Rows)))
		checkInput(t, in)
	}
	want := []string{"objections:/obj.parquet:0", "ages:/ages/y=2024/part-0.parquet:3", "ages:/ages/y=2025/part-1.csv:1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("inputs %v, want %v", got, want)
	}
	for id, known := range map[int64]bool{1: true, 2: true, 3: false, 4: true, 5: false} {
		if ix.Facts(id).BirthKnown != known {
			t.Errorf("account %d: BirthKnown %v, want %v", id, !known, known)
		}
	}
}

// TestManyRowGroupsAndBatches reads a file with more rows than a batch,
// in several row groups, and checks every row arrived.
func TestManyRowGroupsAndBatches(t *testing.T) {
	n := batchRows*2 + 1234
	ids := make([]any, n)
	births := make([]any, n)
	for i := range ids {
		ids[i] = int64(i * 7)
		if i%5 != 0 {
			births[i] = int32(10000 + i%3000)
		}
	}
	dir := t.TempDir()
	writeParquet(t, dir+"/a.parquet", 50000, agesCols(ids, births))
	writeParquet(t, dir+"/o.parquet", 0, objCols(nil, nil, nil))
	ix, inputs, err := Build(context.Background(), Tables{Ages: open(t, dir+"/a.parquet"), Objections: open(t, dir+"/o.parquet")}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if inputs[1].Rows != int64(n) {
		t.Errorf("rows %d, want %d", inputs[1].Rows, n)
	}
	for i := 0; i < n; i++ {
		f := ix.Facts(int64(i * 7))
		if f.BirthKnown != (i%5 != 0) {
			t.Fatalf("row %d: BirthKnown %v", i, f.BirthKnown)
		}
		if e := ix.Evidence(int64(i * 7)); f.BirthKnown && *e.BirthDate != int32(10000+i%3000) {
			t.Fatalf("row %d: birth %d", i, *e.BirthDate)
		}
	}
	if st := ix.Stats(); st.Accounts != int64(n-(n+4)/5) {
		t.Errorf("accounts %d, want %d", st.Accounts, n-(n+4)/5)
	}
}

func TestBadInputs(t *testing.T) {
	S := testSnapshot
	tsNS := &arrow.TimestampType{Unit: arrow.Nanosecond}
	goodAges := agesCols([]any{int64(1)}, []any{"2000-01-01"})
	goodObj := objCols([]any{int64(1)}, []any{S}, []any{nil})
	type files map[string]any // name → []tcol (Parquet) or string (raw)
	tests := []struct {
		name string
		ages files
		obj  files
		link files
		want []string // substrings of the error
	}{
		{"missing column (Parquet)", files{"a.parquet": []tcol{{"account_id", tInt64, []any{int64(1)}}}}, nil, nil,
			[]string{"a.parquet: missing column birth_date"}},
		{"missing column (CSV)", files{"a.csv": "account_id,birthdate\n1,2000-01-01\n"}, nil, nil,
			[]string{"a.csv: missing column birth_date"}},
		{"column name case matters", nil, files{"o.csv": "Account_ID,objected_at,withdrawn_at\n1,2026-01-01T00:00:00Z,\n"}, nil,
			[]string{"o.csv: missing column account_id"}},
		{"duplicate column (CSV)", files{"a.csv": "account_id,birth_date,account_id\n1,2000-01-01,2\n"}, nil, nil,
			[]string{"a.csv: column account_id appears more than once"}},
		{"duplicate column (Parquet)", files{"a.parquet": []tcol{{"account_id", tInt64, []any{int64(1)}}, {"birth_date", tDate, []any{"2000-01-01"}}, {"account_id", tInt64, []any{int64(2)}}}}, nil, nil,
			[]string{"a.parquet: column account_id appears more than once"}},
		{"account_id of type string", files{"a.parquet": []tcol{{"account_id", tString, []any{"1"}}, {"birth_date", tDate, []any{"2000-01-01"}}}}, nil, nil,
			[]string{"a.parquet: column account_id: type utf8, want int64 or int32"}},
		{"timestamp birth_date", files{"a.parquet": []tcol{{"account_id", tInt64, []any{int64(1)}}, {"birth_date", tTsUS, []any{S}}}}, nil, nil,
			[]string{"a.parquet: column birth_date: type timestamp[us, tz=UTC], want DATE (date32)"}},
		{"int64 objected_at", nil, files{"o.parquet": []tcol{{"account_id", tInt64, []any{int64(1)}}, {"objected_at", tInt64, []any{int64(5)}}, {"withdrawn_at", tTsUS, []any{nil}}}}, nil,
			[]string{"o.parquet: column objected_at: type int64, want TIMESTAMP"}},
		{"date withdrawn_at", nil, files{"o.parquet": []tcol{{"account_id", tInt64, []any{int64(1)}}, {"objected_at", tTsUS, []any{S}}, {"withdrawn_at", tDate, []any{nil}}}}, nil,
			[]string{"o.parquet: column withdrawn_at: type date32, want TIMESTAMP"}},
		{"null account_id (Parquet, second row group)", files{"a.parquet": agesCols([]any{int64(1), int64(2), int64(3), nil, int64(5)}, []any{nil, nil, nil, nil, nil})}, nil, nil,
			[]string{"a.parquet: column account_id, row 3: null value"}},
		{"null objected_at (Parquet)", nil, files{"o.parquet": objCols([]any{int64(1), int64(2)}, []any{S, nil}, []any{nil, nil})}, nil,
			[]string{"o.parquet: column objected_at, row 1: null value"}},
		{"null accounts_center_id (Parquet)", nil, nil, files{"l.parquet": linkCols([]any{int64(1), int64(2)}, []any{int64(1), nil})},
			[]string{"l.parquet: column accounts_center_id, row 1: null value"}},
		{"null account_id (CSV)", files{"a.csv": "account_id,birth_date\n1,2000-01-01\n2,\n,2000-01-01\n"}, nil, nil,
			[]string{"a.csv: column account_id, row 2: null (empty) value"}},
		{"null accounts_center_id (CSV)", nil, nil, files{"l.csv": "account_id,accounts_center_id\n1,2\n3,  \n"},
			[]string{"l.csv: column accounts_center_id, row 1: null (empty) value"}},
		{"null objected_at (CSV)", nil, files{"o.csv": "account_id,objected_at,withdrawn_at\n1,,\n"}, nil,
			[]string{"o.csv: column objected_at, row 0: null (empty) value"}},
		{"unparsable id (CSV)", files{"a.csv": "account_id,birth_date\n1,2000-01-01\n1.5,2000-01-01\n"}, nil, nil,
			[]string{"a.csv: column account_id, row 1:", `"1.5" is not an int64`}},
		{"id out of range (CSV)", files{"a.csv": "account_id,birth_date\n9223372036854775808,2000-01-01\n"}, nil, nil,
			[]string{"a.csv: column account_id, row 0:"}},
		{"unparsable date (CSV)", files{"a.csv": "account_id,birth_date\n1,2000-02-30\n"}, nil, nil,
			[]string{"a.csv: column birth_date, row 0:", `"2000-02-30" is not a date`}},
		{"timestamp as birth date (CSV)", files{"a.csv": "account_id,birth_date\n1,2000-02-03T00:00:00Z\n"}, nil, nil,
			[]string{"a.csv: column birth_date, row 0:"}},
		{"unparsable timestamp (CSV)", nil, files{"o.csv": "account_id,objected_at,withdrawn_at\n1,2026-01-01T00:00:00Z,\n2,2026-01-01T00:00:00Z,yesterday\n"}, nil,
			[]string{"o.csv: column withdrawn_at, row 1:", `"yesterday" is not a timestamp`}},
		{"wrong number of fields (CSV)", files{"a.csv": "account_id,birth_date\n1,2000-01-01\n2,2000-01-01,extra\n"}, nil, nil,
			[]string{"a.csv: row 1:", "wrong number of fields"}},
		{"bare quote (CSV)", files{"a.csv": "account_id,birth_date\n1,2000-01-01\n2,20\"00-01-01\n"}, nil, nil,
			[]string{"a.csv: row 1:", "bare \""}},
		{"empty CSV file", files{"a.csv": ""}, nil, nil,
			[]string{"a.csv: empty CSV file"}},
		{"not Parquet or CSV", files{"a.parquet": goodAges, "b.json": "{}"}, nil, nil,
			[]string{"b.json: not a Parquet or CSV file"}},
		{"no extension", files{"part-0": "x"}, nil, nil,
			[]string{"part-0: not a Parquet or CSV file"}},
		{"not Parquet despite the name", files{"a.parquet": "account_id,birth_date\n1,2000-01-01\n"}, nil, nil,
			[]string{"a.parquet: not a Parquet file (no PAR1 magic at the start)"}},
		{"tiny .parquet", files{"a.parquet": "PAR1"}, nil, nil,
			[]string{"a.parquet: not a Parquet file (only 4 bytes)"}},
		{"empty folder", files{}, nil, nil,
			[]string{"ages table", "no Parquet or CSV files found"}},
		{"folder of skipped files only", files{"_SUCCESS": "", ".hidden.parquet": "x"}, nil, nil,
			[]string{"ages table", "no Parquet or CSV files found"}},
		{"nanosecond objected_at null", nil, files{"o.parquet": []tcol{{"account_id", tInt64, []any{int64(1)}}, {"objected_at", tsNS, []any{nil}}, {"withdrawn_at", tsNS, []any{nil}}}}, nil,
			[]string{"o.parquet: column objected_at, row 0: null value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(sub string, fs files, def []tcol) lake.Location {
				if fs == nil {
					fs = files{"t.parquet": def}
				}
				os.MkdirAll(filepath.Join(dir, sub), 0o755)
				for name, c := range fs {
					p := filepath.Join(dir, sub, name)
					switch c := c.(type) {
					case string:
						writeFile(t, p, c)
					case []tcol:
						writeParquet(t, p, 3, c)
					}
				}
				return open(t, filepath.Join(dir, sub))
			}
			tb := Tables{Ages: write("ages", tc.ages, goodAges), Objections: write("obj", tc.obj, goodObj)}
			if tc.link != nil {
				l := write("links", tc.link, nil)
				tb.Links = &l
			}
			_, _, err := Build(context.Background(), tb, testOptions())
			if err == nil {
				t.Fatalf("Build succeeded, want error with %q", tc.want)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("error has several lines: %q", msg)
			}
			if !strings.Contains(msg, dir) && !strings.Contains(msg, "table") {
				t.Errorf("error %q does not name the file", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestTruncatedParquet cuts a valid file at several points: each must fail
// with an error naming the file, none may panic.
func TestTruncatedParquet(t *testing.T) {
	dir := t.TempDir()
	ids := make([]any, 5000)
	births := make([]any, 5000)
	for i := range ids {
		ids[i], births[i] = int64(i), int32(i)
	}
	writeParquet(t, dir+"/full.parquet", 1000, agesCols(ids, births))
	full, err := os.ReadFile(dir + "/full.parquet")
	if err != nil {
		t.Fatal(err)
	}
	writeParquet(t, dir+"/o.parquet", 0, objCols(nil, nil, nil))
	for _, cut := range []int{len(full) - 1, len(full) - 4, len(full) - 8, len(full) / 2, 12, 5} {
		p := filepath.Join(dir, "cut.parquet")
		writeFile(t, p, string(full[:cut]))
		_, _, err := Build(context.Background(), Tables{Ages: open(t, p), Objections: open(t, dir+"/o.parquet")}, testOptions())
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("cut at %d of %d: err = %v", cut, len(full), err)
		}
	}
	// The same bytes with a PAR1 trailer put back: the footer length is
	// then garbage.
	p := filepath.Join(dir, "cut2.parquet")
	writeFile(t, p, string(full[:len(full)/2])+"PAR1")
	if _, _, err := Build(context.Background(), Tables{Ages: open(t, p), Objections: open(t, dir+"/o.parquet")}, testOptions()); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("half file with trailer: err = %v", err)
	}
}

// TestCorruptParquet flips bytes inside the data pages of a valid file:
// the build must fail or succeed, never panic, and a failure must name the
// file.
func TestCorruptParquet(t *testing.T) {
	dir := t.TempDir()
	ids := make([]any, 3000)
	births := make([]any, 3000)
	for i := range ids {
		ids[i], births[i] = int64(i*1000003), int32(i%20000)
	}
	writeParquet(t, dir+"/full.parquet", 1000, agesCols(ids, births))
	full, _ := os.ReadFile(dir + "/full.parquet")
	writeParquet(t, dir+"/o.parquet", 0, objCols(nil, nil, nil))
	failures, runs := 0, 0
	for off := 4; off < len(full)-8; off += max(1, len(full)/31) {
		b := append([]byte(nil), full...)
		for i := off; i < min(off+8, len(b)-8); i++ {
			b[i] ^= 0xA5
		}
		p := filepath.Join(dir, "bad.parquet")
		writeFile(t, p, string(b))
		_, _, err := Build(context.Background(), Tables{Ages: open(t, p), Objections: open(t, dir+"/o.parquet")}, testOptions())
		runs++
		if err != nil {
			failures++
			if !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "\n") {
				t.Errorf("corrupt at %d: error %q", off, err)
			}
		}
	}
	t.Logf("%d of %d corruptions detected (Parquet has no checksums by default: flipped value bytes can go unnoticed)", failures, runs)
	if failures == 0 {
		t.Error("no corruption was detected at all")
	}
}

func TestFileChangedWhileReading(t *testing.T) {
	dir := t.TempDir()
	writeParquet(t, dir+"/a.parquet", 0, agesCols([]any{int64(1)}, []any{"2000-01-01"}))
	writeParquet(t, dir+"/o.parquet", 0, objCols(nil, nil, nil))
	loc := open(t, dir+"/a.parquet")
	// List, then rewrite the file: the pinned reads must refuse it.
	objs, err := loc.Files(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	writeParquet(t, dir+"/a.parquet", 0, agesCols([]any{int64(1), int64(2)}, []any{"2000-01-01", nil}))
	ra := lake.NewReaderAt(context.Background(), loc.Bucket, objs[0].Key, objs[0].Attrs)
	_, err = readParquet(context.Background(), loc.URI(objs[0].Key), ra, nil, agesSpec, func(*batch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("err = %v, want object changed", err)
	}
}

func TestSharedBadData(t *testing.T) {
	// Malformed files from the Parquet test suite must give errors, not
	// panics (they lack our columns, so most fail early; this guards the
	// footer parsing).
	root := filepath.Join(parquettesting.Dir(), "bad_data")
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("the Apache parquet-testing files: %v", err)
	}
	good := fixture(t, nil, nil, nil)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".parquet") {
			continue
		}
		p := filepath.Join(root, e.Name())
		for _, tb := range []Tables{{Ages: open(t, p), Objections: good.Objections}, {Ages: good.Ages, Objections: open(t, p)}} {
			_, _, err := Build(context.Background(), tb, testOptions())
			if err == nil || !strings.Contains(err.Error(), e.Name()) {
				t.Errorf("%s: err = %v", e.Name(), err)
			}
		}
	}
}

// footerCounter is a Bucket that counts, per key, the reads covering the
// 4-byte footer length that precedes the closing PAR1 magic, and the bytes
// read.
type footerCounter struct {
	lake.Bucket
	mu    sync.Mutex
	reads map[string]int
	bytes map[string]int64
}

func (b *footerCounter) GetRange(ctx context.Context, key string, off, length int64, etag string) (io.ReadCloser, error) {
	a, err := b.Bucket.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if at := a.Size - 8; off <= at && at < off+length {
		b.reads[key]++
	}
	if b.bytes != nil {
		b.bytes[key] += min(length, a.Size-off)
	}
	b.mu.Unlock()
	return b.Bucket.GetRange(ctx, key, off, length, etag)
}

// TestFooterReadOnce: the build sizes its buffers from the ages' and
// links' footers, then reads the same files; each footer is read once.
func TestFooterReadOnce(t *testing.T) {
	dir := t.TempDir()
	writeParquet(t, dir+"/ages/a.parquet", 0, agesCols([]any{int64(1), int64(2)}, []any{"2000-01-01", "2010-05-05"}))
	writeParquet(t, dir+"/ages/b.parquet", 0, agesCols([]any{int64(3)}, []any{"1990-01-01"}))
	writeParquet(t, dir+"/objections/o.parquet", 0, objCols([]any{int64(3)}, []any{"2026-01-01T00:00:00Z"}, []any{nil}))
	writeParquet(t, dir+"/links/l.parquet", 0, linkCols([]any{int64(1), int64(3)}, []any{int64(9), int64(9)}))
	counter := func(sub string) (lake.Location, *footerCounter) {
		l := open(t, dir+"/"+sub)
		c := &footerCounter{Bucket: l.Bucket, reads: map[string]int{}}
		l.Bucket = c
		return l, c
	}
	ages, ca := counter("ages")
	objs, co := counter("objections")
	links, cl := counter("links")
	ix := mustBuild(t, Tables{Ages: ages, Objections: objs, Links: &links}, testOptions())
	if f := ix.Facts(1); !f.Objected || !f.BirthKnown {
		t.Fatalf("account 1: %+v, want objected through centre 9 and a birth date", f)
	}
	for name, c := range map[string]*footerCounter{"ages": ca, "objections": co, "links": cl} {
		if len(c.reads) == 0 {
			t.Errorf("%s: no footer read seen: the counter does not see the reads", name)
		}
		for key, n := range c.reads {
			if n != 1 {
				t.Errorf("%s: footer of %s read %d times, want once", name, key, n)
			}
		}
	}
}

// TestTableReadOnce: each column chunk of a lookup table is read once,
// and checked and decoded from the same bytes (Arrow's reader, used
// before, read every chunk a second time after the page check: twice the
// GETs and bytes on S3).
func TestTableReadOnce(t *testing.T) {
	dir := t.TempDir()
	const n = 60000
	ids, births := make([]any, n), make([]any, n)
	for i := range ids {
		ids[i], births[i] = int64(i*7919%1000003), fmt.Sprintf("19%02d-%02d-%02d", 30+i%70, 1+i%12, 1+i%28)
	}
	writeParquet(t, dir+"/ages/a.parquet", 0, agesCols(ids, births))
	ages := open(t, dir+"/ages")
	c := &footerCounter{Bucket: ages.Bucket, reads: map[string]int{}, bytes: map[string]int64{}}
	ages.Bucket = c
	fi, err := os.Stat(dir + "/ages/a.parquet")
	if err != nil {
		t.Fatal(err)
	}
	ix := mustBuild(t, Tables{Ages: ages, Objections: fixture(t, nil, nil, nil).Objections}, testOptions())
	if st := ix.Stats(); st.AgeRows != n {
		t.Fatalf("%d age rows, want %d", st.AgeRows, n)
	}
	var read int64
	for _, b := range c.bytes {
		read += b
	}
	// The footer and the padding read after each chunk (for old files, see
	// openChunk) may be read twice: a few hundred bytes.
	if size := fi.Size(); read < size/2 || read > size+1024 {
		t.Fatalf("read %d bytes of a %d-byte table, want each byte about once", read, size)
	}
}

// pairedChunks is a bucket whose reads of a table's column chunks (chunks,
// by offset and length) wait for a second such read to be in flight, for
// up to a few seconds: it counts the reads that found their partner and
// those that waited in vain.
type pairedChunks struct {
	lake.Bucket
	chunks       map[[2]int64]bool
	mu           sync.Mutex
	gate         chan struct{}
	paired, lone int
}

func (b *pairedChunks) GetRange(ctx context.Context, key string, off, length int64, etag string) (io.ReadCloser, error) {
	if b.chunks[[2]int64{off, length}] {
		b.mu.Lock()
		if g := b.gate; g != nil {
			b.gate = nil
			close(g)
			b.paired += 2
			b.mu.Unlock()
		} else {
			g := make(chan struct{})
			b.gate = g
			b.mu.Unlock()
			select {
			case <-g:
			case <-time.After(3 * time.Second):
				b.mu.Lock()
				if b.gate == g {
					b.gate = nil
					b.lone++
				}
				b.mu.Unlock()
			}
		}
	}
	return b.Bucket.GetRange(ctx, key, off, length, etag)
}

// TestTableChunksReadTogether: a table's column chunks of one row group are
// read in parallel (on S3 each is a request).
func TestTableChunksReadTogether(t *testing.T) {
	dir := t.TempDir()
	const n, rg = 40000, 10000
	ids, births := make([]any, n), make([]any, n)
	for i := range ids {
		ids[i], births[i] = int64(i*7919%1000003), fmt.Sprintf("19%02d-%02d-%02d", 30+i%70, 1+i%12, 1+i%28)
	}
	p := dir + "/ages/a.parquet"
	writeParquet(t, p, rg, agesCols(ids, births))
	pf, err := file.OpenParquetFile(p, false)
	if err != nil {
		t.Fatal(err)
	}
	chunks := map[[2]int64]bool{}
	for g := range pf.NumRowGroups() {
		for c := range 2 {
			md, err := pf.MetaData().RowGroup(g).ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			start := md.DataPageOffset()
			if md.HasDictionaryPage() && md.DictionaryPageOffset() > 0 {
				start = min(start, md.DictionaryPageOffset())
			}
			chunks[[2]int64{start, md.TotalCompressedSize()}] = true
		}
	}
	pf.Close()
	if len(chunks) != 2*n/rg {
		t.Fatalf("%d chunks, want %d", len(chunks), 2*n/rg)
	}
	ages := open(t, dir+"/ages")
	pc := &pairedChunks{Bucket: ages.Bucket, chunks: chunks}
	ages.Bucket = pc
	ix := mustBuild(t, Tables{Ages: ages, Objections: fixture(t, nil, nil, nil).Objections}, testOptions())
	if pc.paired != len(chunks) || pc.lone != 0 {
		t.Errorf("%d chunk reads in parallel with another, %d alone; want all %d in pairs", pc.paired, pc.lone, len(chunks))
	}
	if st := ix.Stats(); st.AgeRows != n || st.Accounts != n {
		t.Errorf("%d age rows of %d accounts, want %d of %d", st.AgeRows, st.Accounts, n, n)
	}
}
