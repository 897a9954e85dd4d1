package scan

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// FuzzOpen feeds arbitrary bytes to Open and ReadRowGroup (and to
// OpenRowGroup and NextRows, which must agree with it, with each next row
// group read ahead by Prefetch for half the inputs): they must return
// a row group or an *Error, never panic, hang or allocate without bound.
// Each input is read twice: with the default column names, and with each
// role mapped onto the first column of the file whose type it accepts (so
// that mutations of the parquet-testing seeds reach the page decoders).
//
//	go test ./scan -run '^$' -fuzz FuzzOpen -fuzztime 60s -fuzzminimizetime 200x
//
// (The seeds are up to 90 KB; without a small -fuzzminimizetime the
// fuzzer spends minutes minimizing each new input.)
func FuzzOpen(f *testing.F) {
	// Keep fuzzed inputs cheap: a tiny file may legitimately claim millions
	// of RLE-coded rows.
	defer func(r int64, p int32) { maxRowGroupRows, maxPageSize = r, p }(maxRowGroupRows, maxPageSize)
	maxRowGroupRows, maxPageSize = 1<<16, 4<<20

	files, _ := filepath.Glob(filepath.Join(parquetTesting, "*", "*.parquet"))
	for _, fn := range files {
		if data, err := os.ReadFile(fn); err == nil {
			f.Add(data)
		}
	}
	f.Add(writePG(f, pgCase{nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain, codec: &parquet.Snappy}.columns(sampleRows(40, true, false)),
		40, 20, parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(256)))
	f.Add(writePG(f, pgCase{intIDs: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain, pageV: 1}.columns(sampleRows(30, false, true)),
		30, 0, parquet.Compression(&parquet.Lz4Raw), parquet.DataPageVersion(1)))

	f.Fuzz(func(t *testing.T, data []byte) {
		// Streamed reads fetch content_id after the other columns for
		// half of the inputs (the real threshold, 1 MiB, is more than a
		// fuzzed file holds).
		deferID := map[bool]int64{true: 0, false: coalesceGap}[len(data)%2 == 0]
		// And read the chunks it streams (File.streams) through a window
		// of a byte, a page at a time, for half of them (another half).
		window := map[bool]int64{true: 1, false: DefaultReadWindow}[len(data)%4 < 2]
		// And read each next row group ahead (Prefetch) for half of them,
		// and each next window (SetWindowAhead) for another half.
		ahead := len(data)%8 < 4
		windowAhead := len(data)%16 < 8
		check := func(err error) {
			var se *Error
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not a *scan.Error", err, err)
			}
		}
		readAllGroups := func(file *File) {
			file.deferIDBytes = deferID
			file.SetReadWindow(window)
			file.SetWindowAhead(windowAhead)
			var b Batch
			for i := 0; i < file.NumRowGroups(); i++ {
				if err := file.ReadRowGroup(i, &b); err != nil {
					check(err)
					continue
				}
				if int64(b.N) != file.RowGroupRows(i) || len(b.Author) != b.N || len(b.Created) != b.N ||
					len(b.Platform.Codes) != b.N || len(b.ContentID.Valid) != b.N {
					t.Fatalf("row group %d: inconsistent batch (N=%d)", i, b.N)
				}
			}
			// Streamed: the same outcome per row group.
			sb := Batch{LazyContentID: true}
			for i := 0; i < file.NumRowGroups(); i++ {
				whole := file.ReadRowGroup(i, &b)
				var wrows, srows []row // the values of both reads, compared
				if whole == nil {
					wrows = batchRows(t, &b)
				}
				err := file.OpenRowGroup(i, &sb)
				if err == nil && ahead {
					file.Prefetch(i+1, &sb)
				}
				rows := 0
				for err == nil {
					var n int
					if n, err = file.NextRows(&sb, 5); err == nil && n == 0 {
						all := make([]int32, len(srows))
						for k := range all {
							all[k] = int32(k)
						}
						var ids IDs
						if err = file.ContentIDs(&sb, all, &ids); err == nil {
							setIDs(t, srows, &ids)
						}
						break
					}
					if err != nil {
						break
					}
					if n != sb.N || len(sb.Author) != n || len(sb.Created) != n || len(sb.Visibility.Codes) != n {
						t.Fatalf("row group %d: inconsistent slice (N=%d, n=%d)", i, sb.N, n)
					}
					rows += n
					srows = append(srows, rowsNoID(t, &sb)...)
				}
				check(err)
				if (whole == nil) != (err == nil) {
					t.Fatalf("row group %d: read whole: %v; streamed: %v", i, whole, err)
				}
				if err == nil {
					for k := range wrows {
						if !reflect.DeepEqual(wrows[k], srows[k]) {
							t.Fatalf("row group %d, row %d: read whole %v, streamed %v", i, k, wrows[k], srows[k])
						}
					}
				}
				if err == nil && int64(rows) != file.RowGroupRows(i) {
					t.Fatalf("row group %d: streamed %d rows, the footer says %d", i, rows, file.RowGroupRows(i))
				}
			}
			sb.DropPrefetch()
		}
		r := bytes.NewReader(data)
		file, err := Open(r, int64(len(data)), "fuzz.parquet", defaultCols)
		check(err)
		if err == nil {
			readAllGroups(file)
		}
		if m, ok := pickColumns(data); ok {
			file, err := open(r, int64(len(data)), "fuzz.parquet", m)
			check(err)
			if err == nil {
				readAllGroups(file)
			}
		}
	})
}

// pickColumns maps each role onto the first top-level column of the file
// whose type the role accepts (roles with none stay absent).
func pickColumns(data []byte) (m [numRoles]string, ok bool) {
	f, err := open(bytes.NewReader(data), int64(len(data)), "fuzz.parquet", m)
	if err != nil {
		return m, false
	}
	tops, err := topLevel(f.meta, f.pf.Root())
	if err != nil {
		return m, false
	}
	for role := range m {
		for _, tc := range tops {
			if tc.el.Type.Valid {
				if _, accepted := classify(role, tc.el); accepted {
					m[role], ok = tc.el.Name, true
					break
				}
			}
		}
	}
	return m, ok
}
