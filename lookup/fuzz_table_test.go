package lookup

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/corpus-audit/corpus-audit/internal/parquettesting"
	"github.com/corpus-audit/corpus-audit/lake"
	pgo "github.com/parquet-go/parquet-go"
)

// fuzzHang is how long FuzzReadTable gives one input.
const fuzzHang = 20 * time.Second

// FuzzReadTable feeds arbitrary bytes to the lookup's Parquet table reader
// as an ages, an objections and a links table: each must give its rows or
// a one-line error naming the file — never a panic, a hang or an
// allocation without bound.
//
//	go test ./lookup -run '^$' -fuzz FuzzReadTable -fuzztime 60s -fuzzminimizetime 200x
func FuzzReadTable(f *testing.F) {
	dir := f.TempDir()
	seed := func(name string, cols []tcol, opts ...pqarrow.WriterOption) {
		p := filepath.Join(dir, name)
		writeParquet(f, p, 2, cols, opts...)
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	seed("ages.parquet", agesCols([]any{int64(1), int64(2), nil}, []any{"2000-01-01", nil, "2010-02-28"}))
	seed("objections.parquet", objCols([]any{int64(3), int64(4)}, []any{"2026-01-01T00:00:00Z", "2025-01-01T00:00:00Z"}, []any{nil, "2026-02-01T00:00:00Z"}))
	seed("links.parquet", linkCols([]any{int64(1), int64(3), int64(5)}, []any{int64(9), int64(9), nil}))
	// parquet-go's writer: v2 pages, page checksums, dictionaries.
	type ageRow struct {
		AccountID int64     `parquet:"account_id"`
		BirthDate time.Time `parquet:"birth_date,date"`
	}
	var buf bytes.Buffer
	w := pgo.NewGenericWriter[ageRow](&buf, pgo.PageBufferSize(64), pgo.Compression(&pgo.Snappy))
	if _, err := w.Write([]ageRow{{1, time.Date(2001, 3, 4, 0, 0, 0, 0, time.UTC)}, {7, time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)}}); err != nil {
		f.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	files, _ := filepath.Glob(filepath.Join(parquettesting.Dir(), "*", "*.parquet"))
	for _, fn := range files {
		if data, err := os.ReadFile(fn); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure: the fuzzer does not time inputs out itself.
		// Panicking off the test's goroutine ends the worker, and the
		// fuzzer keeps the input.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(fuzzHang):
				buf := make([]byte, 1<<20)
				panic(fmt.Sprintf("input of %d bytes still being read after %v:\n%s", len(data), fuzzHang, buf[:runtime.Stack(buf, true)]))
			}
		}()
		p := filepath.Join(t.TempDir(), "table.parquet")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		loc, err := lake.Open(context.Background(), p, lake.S3Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer loc.Bucket.Close()
		for _, spec := range []tableSpec{agesSpec, objectionsSpec, linksSpec} {
			var rows int64
			in, err := readTable(context.Background(), loc, spec, func(b *batch) error {
				for i := range b.cols {
					c := &b.cols[i]
					if n := max(len(c.ids), len(c.dates), len(c.times)); n != b.n || (len(c.valid) != 0 && len(c.valid) != b.n) {
						t.Fatalf("%s: column %d has %d values and %d validity flags for a batch of %d rows", spec.role, i, n, len(c.valid), b.n)
					}
				}
				rows += int64(b.n)
				return nil
			})
			if err != nil {
				if msg := err.Error(); !strings.Contains(msg, p) || strings.Contains(msg, "\n") {
					t.Fatalf("%s: error does not name the file on one line: %q", spec.role, msg)
				}
				continue
			}
			if len(in) != 1 || in[0].Rows != rows {
				t.Fatalf("%s: read %d rows, the input record says %+v", spec.role, rows, in)
			}
		}
	})
}
