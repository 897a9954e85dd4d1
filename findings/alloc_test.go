package findings

import (
	"bytes"
	"testing"
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
