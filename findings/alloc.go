package findings

import (
	"math/bits"
	"sync"
)

// poolAllocator is an Arrow memory.Allocator that keeps the buffers Arrow
// frees and hands them out again. A Writer builds the same arrays and
// pages row group after row group; with Go's allocator every row group
// allocated them anew (about 470 MB per million findings), and the garbage
// collector, which the audit runs often, collected them. Buffers are
// zeroed when handed out, as Go's allocator's are, and 64-byte aligned.
//
// It is for the Writer only: Arrow's column chunk readers free page
// buffers they still read from (the lookup tables, which Arrow read then,
// came out wrong when read through it), and TestPooledWriterSameBytes checks that the
// Writer's output is the same with Go's allocator.
//
// Buffers are kept by power-of-two capacity, at most poolKeep of each and
// at most poolKeepBytes of each capacity above that; buffers Arrow never
// frees are left to the garbage collector.
type poolAllocator struct {
	mu   sync.Mutex
	free [64][][]byte // by log2 of the capacity
}

const (
	poolKeep      = 16
	poolKeepBytes = 4 << 20
	poolAlign     = 64
)

func (p *poolAllocator) Allocate(size int) []byte {
	if size <= 0 {
		return []byte{}
	}
	c := uint(bits.Len(uint(size - 1))) // 2^c >= size
	p.mu.Lock()
	if l := p.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		p.free[c] = l[:len(l)-1]
		p.mu.Unlock()
		b = b[:size]
		clear(b)
		return b
	}
	p.mu.Unlock()
	n := 1 << c
	raw := make([]byte, n+poolAlign)
	off := 0
	if r := uintptrOf(raw) % poolAlign; r != 0 {
		off = int(poolAlign - r)
	}
	return raw[off : off+size : off+n]
}

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) {
	n := cap(b)
	if n == 0 || n&(n-1) != 0 {
		return // not one of ours
	}
	c := bits.TrailingZeros(uint(n))
	p.mu.Lock()
	if len(p.free[c]) < min(poolKeep, max(1, poolKeepBytes>>c)) {
		p.free[c] = append(p.free[c], b[:0])
	}
	p.mu.Unlock()
}
