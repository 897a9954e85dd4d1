package findings

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// TestPoolAllocator: buffers come back zeroed, aligned and of the size
// asked; Reallocate keeps the contents; a freed buffer is reused.
func TestPoolAllocator(t *testing.T) {
	var p poolAllocator
	for _, size := range []int{0, 1, 63, 64, 65, 1000, 1 << 20, 1<<20 + 1} {
		b := p.Allocate(size)
		if len(b) != size {
			t.Fatalf("Allocate(%d): length %d", size, len(b))
		}
		if size > 0 && uintptrOf(b)%poolAlign != 0 {
			t.Fatalf("Allocate(%d): not %d-byte aligned", size, poolAlign)
		}
		for i := range b {
			b[i] = 0xAB
		}
		p.Free(b)
		again := p.Allocate(size)
		if size > 0 && uintptrOf(again) != uintptrOf(b) {
			t.Errorf("Allocate(%d) after Free: a new buffer, not the freed one", size)
		}
		if !bytes.Equal(again, make([]byte, size)) {
			t.Fatalf("Allocate(%d) after Free: not zeroed", size)
		}
		p.Free(again)
	}
	b := p.Allocate(10)
	copy(b, "0123456789")
	b = p.Reallocate(5000, b)
	if len(b) != 5000 || string(b[:10]) != "0123456789" || !bytes.Equal(b[10:], make([]byte, 4990)) {
		t.Fatal("Reallocate lost the contents or left garbage")
	}
	b = p.Reallocate(3, b)
	b = p.Reallocate(20, b)
	if string(b[:3]) != "012" || !bytes.Equal(b[3:], make([]byte, 17)) {
		t.Fatalf("shrink then grow within capacity: %q", b)
	}
	p.Free(make([]byte, 100)) // not the pool's: ignored
	var held [][]byte
	for range 2 * poolKeep {
		held = append(held, p.Allocate(64))
	}
	for _, b := range held {
		p.Free(b)
	}
	if n := len(p.free[6]); n > poolKeep {
		t.Errorf("%d buffers kept, at most %d", n, poolKeep)
	}
}

// TestPooledWriterSameBytes: the Writer writes the same bytes with its
// pooling allocator as with Go's, for findings of many shapes (nulls,
// empty and long strings, many distinct dictionary values) over many row
// groups and parts: a buffer reused while Arrow still read from it would
// change them.
func TestPooledWriterSameBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	in := make([]schema.Finding, 5000)
	for i := range in {
		in[i] = finding(i)
		f := &in[i]
		switch r.IntN(4) {
		case 0:
			f.ContentID = ptr(strings.Repeat("x", r.IntN(5000)))
		case 1:
			f.SourceFile = fmt.Sprintf("s3://corpus/part-%05d.parquet", r.IntN(3000))
			f.ContentType = ptr(fmt.Sprintf("type-%d", r.IntN(2000)))
		case 2:
			f.Platform = ptr(strings.Repeat("p", r.IntN(300)))
		}
	}
	write := func(alloc func() memory.Allocator) [][]byte {
		defer func(old func() memory.Allocator) { newAllocator = old }(newAllocator)
		newAllocator = alloc
		b := lake.NewLocal(t.TempDir())
		var parts [][]byte
		for _, out := range writeAll(t, b, "f", Options{MaxRows: 2100, RowGroupRows: 333}, in) {
			parts = append(parts, readObject(t, b, out.Path))
		}
		return parts
	}
	pooled := write(newAllocator)
	plain := write(func() memory.Allocator { return memory.NewGoAllocator() })
	if len(pooled) != 3 || len(plain) != 3 {
		t.Fatalf("parts: %d pooled, %d plain; want 3", len(pooled), len(plain))
	}
	for i := range pooled {
		if !bytes.Equal(pooled[i], plain[i]) {
			t.Errorf("part %d: %d bytes pooled, %d with Go's allocator: they differ", i, len(pooled[i]), len(plain[i]))
		}
	}
}
