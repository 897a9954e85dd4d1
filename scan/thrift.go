package scan

import (
	"errors"
	"fmt"
)

// checkThrift walks one Thrift compact-protocol struct at the start of b
// and returns its encoded length. It decodes nothing; it only proves that
// every length and element count in the struct fits in the bytes that are
// there and that nesting is shallow.
//
// Why: parquet-go's Thrift decoder sizes slices from the counts it reads
// (a 20-byte footer can claim two billion row groups) and recurses once per
// nesting level, so a malformed footer or page header could make it
// allocate gigabytes or exhaust the stack, which are fatal errors, not
// panics that can be recovered. Running this first turns those inputs into
// plain errors.
func checkThrift(b []byte) (int, error) {
	w := thriftWalker{b: b}
	if err := w.value(tStruct, 0); err != nil {
		return 0, err
	}
	return w.off, nil
}

// Compact protocol type ids.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

// maxThriftDepth bounds struct/list nesting. Parquet metadata nests about
// eight levels deep (footer → row group → column chunk → metadata →
// statistics ...); 64 leaves a wide margin.
const maxThriftDepth = 64

var errThriftEOF = errors.New("truncated Thrift data")

type thriftWalker struct {
	b   []byte
	off int
}

func (w *thriftWalker) byte() (byte, error) {
	if w.off >= len(w.b) {
		return 0, errThriftEOF
	}
	c := w.b[w.off]
	w.off++
	return c, nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 70; shift += 7 {
		c, err := w.byte()
		if err != nil {
			return 0, err
		}
		if shift == 63 && c > 1 {
			return 0, errors.New("malformed Thrift data: varint overflows 64 bits")
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("malformed Thrift data: varint too long")
}

func (w *thriftWalker) skip(n uint64) error {
	if n > uint64(len(w.b)-w.off) {
		return fmt.Errorf("malformed Thrift data: length %d exceeds the %d bytes left", n, len(w.b)-w.off)
	}
	w.off += int(n)
	return nil
}

// count reads a collection size and checks that size elements of at least
// minBytes bytes each can fit in what is left.
func (w *thriftWalker) count(n uint64, minBytes uint64) error {
	left := uint64(len(w.b) - w.off)
	if n > left/minBytes {
		return fmt.Errorf("malformed Thrift data: %d elements claimed with only %d bytes left", n, left)
	}
	return nil
}

func (w *thriftWalker) value(t byte, depth int) error {
	switch t {
	case tTrue, tFalse:
		// A bool struct field carries its value in the field header (bool
		// collection elements are one byte: see elem).
		return nil
	case tByte:
		return w.skip(1)
	case tI16, tI32, tI64:
		_, err := w.uvarint()
		return err
	case tDouble:
		return w.skip(8)
	case tBinary:
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		return w.skip(n)
	case tList, tSet:
		if depth >= maxThriftDepth {
			return errors.New("malformed Thrift data: nested too deeply")
		}
		h, err := w.byte()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		et := h & 0x0f
		if n == 15 {
			if n, err = w.uvarint(); err != nil {
				return err
			}
		}
		if !validElem(et) {
			return fmt.Errorf("malformed Thrift data: bad list element type %d", et)
		}
		if err := w.count(n, 1); err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if err := w.elem(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		if depth >= maxThriftDepth {
			return errors.New("malformed Thrift data: nested too deeply")
		}
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		kt, vt := kv>>4, kv&0x0f
		if !validElem(kt) || !validElem(vt) {
			return fmt.Errorf("malformed Thrift data: bad map types %d/%d", kt, vt)
		}
		if err := w.count(n, 2); err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if err := w.elem(kt, depth+1); err != nil {
				return err
			}
			if err := w.elem(vt, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		if depth >= maxThriftDepth {
			return errors.New("malformed Thrift data: nested too deeply")
		}
		for {
			h, err := w.byte()
			if err != nil {
				return err
			}
			ft := h & 0x0f
			if ft == tStop {
				return nil
			}
			if h>>4 == 0 { // long form: the field id follows as a zigzag varint
				if _, err := w.uvarint(); err != nil {
					return err
				}
			}
			if !validElem(ft) {
				return fmt.Errorf("malformed Thrift data: bad field type %d", ft)
			}
			if err := w.value(ft, depth+1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("malformed Thrift data: bad type %d", t)
	}
}

// elem reads one collection element of type t: bools take one byte there.
func (w *thriftWalker) elem(t byte, depth int) error {
	if t == tTrue || t == tFalse {
		_, err := w.byte()
		return err
	}
	return w.value(t, depth)
}

func validElem(t byte) bool { return t >= tTrue && t <= tStruct }
