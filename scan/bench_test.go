package scan

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// benchFile is a ~1M-row snappy file shaped like a corpus snapshot: string
// ids, high-cardinality author_id (PLAIN), low-cardinality strings
// (dictionary), microsecond timestamps, optional columns with a few nulls,
// row groups of 256 Ki rows.
var benchFile = sync.OnceValue(func() []byte {
	const n = 1 << 20
	var buf bytes.Buffer
	sch := parquet.NewSchema("corpus", parquet.Group{
		"content_id":   parquet.Optional(parquet.String()),
		"author_id":    parquet.Optional(parquet.Int(64)),
		"platform":     parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
		"content_type": parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
		"visibility":   parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
		"created_at":   parquet.Optional(parquet.Timestamp(parquet.Microsecond)),
	})
	w := parquet.NewWriter(&buf, sch, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(1<<18))
	leaf := func(name string) int { l, _ := sch.Lookup(name); return l.ColumnIndex }
	id, au, pl, ct, vi, cr := leaf("content_id"), leaf("author_id"), leaf("platform"), leaf("content_type"), leaf("visibility"), leaf("created_at")
	rows := make([]parquet.Row, 0, 4096)
	state := uint64(42)
	for i := 0; i < n; i++ {
		state = state*6364136223846793005 + 1442695040888963407
		r := make(parquet.Row, 6)
		r[id] = parquet.ValueOf(fmt.Sprintf("c%012d", i)).Level(0, 1, id)
		if state%1000 == 0 {
			r[au] = parquet.NullValue().Level(0, 0, au)
		} else {
			r[au] = parquet.ValueOf(int64(state>>40)%50_000_000).Level(0, 1, au)
		}
		r[pl] = parquet.ValueOf(platforms[state>>10%4]).Level(0, 1, pl)
		r[ct] = parquet.ValueOf(contentTypes[state>>20%6]).Level(0, 1, ct)
		r[vi] = parquet.ValueOf(visibilities[state>>30%4]).Level(0, 1, vi)
		r[cr] = parquet.ValueOf(int64(1_600_000_000_000_000)+int64(state>>34)).Level(0, 1, cr)
		rows = append(rows, r)
		if len(rows) == cap(rows) {
			if _, err := w.WriteRows(rows); err != nil {
				panic(err)
			}
			rows = rows[:0]
		}
	}
	if _, err := w.WriteRows(rows); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// BenchmarkReadRowGroup decodes every row group of benchFile; it reports
// rows/s (wall time, one goroutine) and rows/cpu-s (rows per second of the
// process's CPU time, GC included: steadier than wall time on a shared
// machine).
//
//	go test ./scan -run '^$' -bench 'ReadRowGroup|NextRows' -benchmem
func BenchmarkReadRowGroup(b *testing.B) {
	var batch Batch
	benchDecode(b, DefaultReadWindow, func(f *File, i int) int64 {
		if err := f.ReadRowGroup(i, &batch); err != nil {
			b.Fatal(err)
		}
		return int64(batch.N)
	})
}

// BenchmarkNextRows decodes the same file as BenchmarkReadRowGroup the
// audit's way: OpenRowGroup, NextRows 64 Ki rows at a time, ContentIDs for
// one row in twenty; with the chunks fetched whole (window=0) and with
// those over the default read window (author_id, created_at and
// content_id, about 2 MB each) read through it.
func BenchmarkNextRows(b *testing.B) {
	for _, window := range []int64{0, DefaultReadWindow} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) { benchNextRows(b, window) })
	}
}

func benchNextRows(b *testing.B, window int64) {
	batch := Batch{LazyContentID: true}
	var want []int32
	var ids IDs
	benchDecode(b, window, func(f *File, i int) (rows int64) {
		if err := f.OpenRowGroup(i, &batch); err != nil {
			b.Fatal(err)
		}
		want = want[:0]
		for {
			n, err := f.NextRows(&batch, 1<<16)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
			for r := 0; r < n; r += 20 {
				want = append(want, int32(batch.Start+r))
			}
			rows += int64(n)
		}
		ids.Valid, ids.Int, ids.Data, ids.Offsets = ids.Valid[:0], ids.Int[:0], ids.Data[:0], ids.Offsets[:0]
		if err := f.ContentIDs(&batch, want, &ids); err != nil {
			b.Fatal(err)
		}
		return rows
	})
}

// benchDecode opens benchFile with the given read window and, b.N times,
// calls rowGroup for each of its row groups (which returns the rows it
// decoded), reporting rows/s and rows/cpu-s.
func benchDecode(b *testing.B, window int64, rowGroup func(f *File, i int) int64) {
	data := benchFile()
	f, err := Open(bytes.NewReader(data), int64(len(data)), "bench.parquet", defaultCols)
	if err != nil {
		b.Fatal(err)
	}
	f.SetReadWindow(window)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var rows int64
	cpu0 := cpuTime()
	for b.Loop() {
		for i := 0; i < f.NumRowGroups(); i++ {
			rows += rowGroup(f, i)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
	}
}
