package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go/format"
)

// TestLazyChunkReads: reads of a lazily decompressed chunk at any offset
// and of any length — within a header, across a header and its payload,
// across pages, backwards, past the end — return exactly the bytes of the
// chunk rewritten eagerly, including v2 pages (uncompressed levels) and
// uncompressed pages in a compressed chunk.
func TestLazyChunkReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var z lazyChunk
	z.reset(format.Snappy)
	var want []byte
	for k := 0; k < 7; k++ {
		hdr := []byte(fmt.Sprintf("<header %d%s>", k, strings.Repeat("h", k*3)))
		payload := make([]byte, 1+rng.IntN(5000))
		for i := range payload {
			payload[i] = byte(rng.IntN(7)) // compressible
		}
		levels := 0
		compressed := k != 3
		var body []byte
		switch {
		case !compressed:
			body = payload
		case k == 5: // v2: levels stay uncompressed
			levels = min(17, len(payload))
			body = append(append([]byte{}, payload[:levels]...), snappy.Encode(nil, payload[levels:])...)
		default:
			body = snappy.Encode(nil, payload)
		}
		z.add(hdr, body, len(payload), levels, compressed, k, 1000*k, int64(100*k))
		want = append(append(want, hdr...), payload...)
	}
	if z.size != int64(len(want)) {
		t.Fatalf("size %d, want %d", z.size, len(want))
	}
	check := func(off, n int) {
		t.Helper()
		p := make([]byte, n)
		got, err := z.readAt(p, int64(off))
		end := min(off+n, len(want))
		if got != end-off || !bytes.Equal(p[:got], want[off:end]) {
			t.Fatalf("readAt(%d, %d) = %d bytes, want %d (or different bytes)", off, n, got, end-off)
		}
		if (off+n > len(want)) != errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, io.EOF)) {
			t.Fatalf("readAt(%d, %d): error %v", off, n, err)
		}
	}
	// Sequentially in small steps, as parquet-go's buffered reader does.
	for off := 0; off < len(want); off += 100 {
		check(off, 100)
	}
	for range 2000 {
		off := rng.IntN(len(want) + 1)
		check(off, rng.IntN(len(want)-off+50))
	}
	check(0, len(want))
	check(len(want), 10)
}

// TestLazyChunkCorruptPayload: a payload that does not decompress fails the
// read with an error naming the page, its offset in the column chunk and
// the row it starts at; pages before it read fine.
func TestLazyChunkCorruptPayload(t *testing.T) {
	var z lazyChunk
	z.reset(format.Snappy)
	good := snappy.Encode(nil, []byte("hello hello hello"))
	z.add([]byte("H0"), good, 17, 0, true, 0, 0, 500)
	z.add([]byte("H1"), []byte{0xff, 0xff, 0xff, 0x01, 0x02}, 17, 0, true, 1, 40, 517)
	p := make([]byte, 19)
	if n, err := z.readAt(p, 0); n != 19 || err != nil || string(p[2:]) != "hello hello hello" {
		t.Fatalf("first page: %d %v %q", n, err, p)
	}
	_, err := z.readAt(make([]byte, 30), 0)
	if err == nil || !strings.Contains(err.Error(), "page 1 (offset 40 in the column chunk, from row 517)") {
		t.Fatalf("error %v, want one naming page 1 at offset 40, from row 517", err)
	}
	// A payload of the wrong size is refused too.
	z.reset(format.Snappy)
	z.add([]byte("H"), good, 16, 0, true, 0, 0, -1)
	if _, err := z.readAt(make([]byte, 5), 1); err == nil || !strings.Contains(err.Error(), "header says 16") {
		t.Fatalf("wrong size: error %v", err)
	}
}
