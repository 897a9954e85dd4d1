package findings

import (
	"context"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// FuzzReadPart reads arbitrary bytes as a findings part: a findings file
// given to diff, explain or merge is outside input. It must give findings
// or an error, never hang or crash, and give the same answer twice.
func FuzzReadPart(f *testing.F) {
	b := lake.NewLocal(f.TempDir())
	writeAll(f, b, "f", Options{RowGroupRows: 4}, findingsN(9))
	f.Add(readObject(f, b, "f/part-00000.parquet"))
	rows := make([]otherFinding, 5)
	for i, fd := range findingsN(5) {
		rows[i] = toOther(fd)
	}
	f.Add(writeOther(f, rows, 2))
	f.Add(writeProps(f, findingsN(7),
		parquet.WithEncodingFor(ColRowInFile, parquet.Encodings.DeltaBinaryPacked),
		parquet.WithEncodingFor(ColContentID, parquet.Encodings.DeltaByteArray)))
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readWithin(t, data)
		again, err2 := readWithin(t, data)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(got, again) {
			t.Fatalf("two reads differ: %d findings, %v; then %d, %v", len(got), err, len(again), err2)
		}
	})
}

// readWithin reads data as a findings part, failing t if that takes more
// than 10 s (a hang is then a failure the fuzzer can save, not a stuck
// worker).
func readWithin(t *testing.T, data []byte) ([]schema.Finding, error) {
	t.Helper()
	var (
		got []schema.Finding
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		got, err = readPart(context.Background(), "part.parquet", data, nil)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("readPart still running after 10 s:\n%s", buf[:runtime.Stack(buf, true)])
	}
	return got, err
}
