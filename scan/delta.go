package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/parquet-go/parquet-go/format"
)

// deltaReader decodes DELTA_BINARY_PACKED INT32 or INT64 values one at a
// time, in constant memory, for ChunkReader. It checks what parquet-go's
// decoder (v0.32.0) lets through: a miniblock whose bytes are missing
// (parquet-go fills it with zeros) and bit widths wider than the type; and
// it does not size anything by the header's value count, which a tiny
// page can set to billions.
type deltaReader struct {
	data     []byte // the bytes after those read
	int32    bool
	vpm      int    // values per miniblock
	mbs      int    // miniblocks per block
	left     int    // values not returned yet
	first    bool   // the header's first value is not returned yet
	last     uint64 // the last value returned (two's complement, wrapping)
	minDelta uint64 // the block's minimum delta
	widths   []byte // the block's miniblocks' bit widths
	mb       int    // the block's next miniblock
	mbData   []byte // the current miniblock's packed deltas
	width    uint   // their bit width
	mbLeft   int    // its values not returned yet
	bit      uint64 // bit offset of its next value
}

// reset starts decoding data, which must hold exactly n values of type t.
func (d *deltaReader) reset(data []byte, t format.Type, n int) error {
	if t != format.Int32 && t != format.Int64 {
		return fmt.Errorf("not defined for %s", t)
	}
	var hdr [3]uint64 // block size, miniblocks per block, value count
	rest := data
	for i := range hdr {
		v, k := binary.Uvarint(rest)
		if k <= 0 {
			return errors.New("header cut short")
		}
		hdr[i], rest = v, rest[k:]
	}
	first, k := binary.Varint(rest)
	if k <= 0 {
		return errors.New("header cut short")
	}
	if t == format.Int32 && (first < math.MinInt32 || first > math.MaxInt32) {
		// (Read as int32 it would wrap; parquet-go refuses it.)
		return fmt.Errorf("first value %d out of the range of INT32", first)
	}
	rest = rest[k:]
	block, mbs := hdr[0], hdr[1]
	switch {
	case block == 0 || block%128 != 0 || block > 1<<31:
		return fmt.Errorf("block size %d (want a multiple of 128)", block)
	case mbs == 0 || block%mbs != 0 || (block/mbs)%32 != 0:
		return fmt.Errorf("%d miniblocks in blocks of %d values (want miniblocks of a multiple of 32 values)", mbs, block)
	case hdr[2] != uint64(n):
		return fmt.Errorf("%d values for %d non-null rows", hdr[2], n)
	}
	*d = deltaReader{data: rest, int32: t == format.Int32, vpm: int(block / mbs), mbs: int(mbs),
		left: n, first: n > 0, last: uint64(first)}
	return nil
}

// checkDelta decodes a DELTA_BINARY_PACKED page of at most limit values
// (exactly limit if exact) whole, for the corpus scan, whose pages
// parquet-go decodes: its decoder sizes its output by the header's value
// count, fills a miniblock whose bytes are missing with zeros and accepts
// bit widths wider than the type (v0.32.0).
func checkDelta(data []byte, t format.Type, limit int, exact bool) error {
	rest := data
	var count uint64
	for range 3 { // block size, miniblocks per block, value count
		v, k := binary.Uvarint(rest)
		if k <= 0 {
			return errors.New("header cut short")
		}
		count, rest = v, rest[k:]
	}
	if count > uint64(limit) || (exact && count != uint64(limit)) {
		return fmt.Errorf("%d values for the page's %d non-null values", count, limit)
	}
	var d deltaReader
	if err := d.reset(data, t, int(count)); err != nil {
		return err
	}
	for range count {
		if _, err := d.next(); err != nil {
			return err
		}
	}
	return nil
}

// checkDeltaStrings checks a DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY
// page's values, vals, holding nonNull values, by decoding their lengths
// whole: the bytes those measure must follow and nothing after them
// (parquet-go takes DELTA_BYTE_ARRAY's suffixes from the page's end, so
// bytes after them shift every value: a wrong answer, not an error), and
// the values DELTA_BYTE_ARRAY's prefixes and suffixes make may add up to
// at most maxPageSize bytes (parquet-go allocates their sum: shared
// prefixes can make a page of kilobytes decode to gigabytes).
func checkDeltaStrings(enc format.Encoding, vals []byte, nonNull int) error {
	rest, total, err := vals, int64(0), error(nil)
	if enc == format.DeltaByteArray {
		if rest, total, err = checkDeltaLengths(vals, nonNull, false); err != nil { // prefix lengths
			return err
		}
	}
	rest, suffixes, err := checkDeltaLengths(rest, nonNull, true)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d bytes after the page's %d values", len(rest), nonNull)
	}
	if total += suffixes; total > int64(maxPageSize) {
		return fmt.Errorf("the values add up to %d bytes (at most %d supported)", total, maxPageSize)
	}
	return nil
}

// checkDeltaLengths decodes n DELTA_BINARY_PACKED lengths (INT32) whole
// and returns the bytes after them and the lengths' sum; with bytes, the
// values those lengths measure must follow, and are skipped too.
func checkDeltaLengths(data []byte, n int, bytes bool) ([]byte, int64, error) {
	var d deltaReader
	if err := d.reset(data, format.Int32, n); err != nil {
		return nil, 0, err
	}
	var total int64
	for range n {
		l, err := d.next()
		if err != nil {
			return nil, 0, err
		}
		if l < 0 {
			return nil, 0, fmt.Errorf("a negative length %d", l)
		}
		total += l
	}
	rest := d.data
	if bytes {
		if total > int64(len(rest)) {
			return nil, 0, fmt.Errorf("lengths add up to %d bytes, the page has %d", total, len(rest))
		}
		rest = rest[total:]
	}
	return rest, total, nil
}

// next returns the next value.
func (d *deltaReader) next() (int64, error) {
	switch {
	case d.left == 0:
		return 0, errors.New("no values left")
	case d.first:
		d.first = false
	default:
		if d.mbLeft == 0 {
			if err := d.nextMiniblock(); err != nil {
				return 0, err
			}
		}
		d.last += d.minDelta + unpackBits(d.mbData, d.bit, d.width)
		d.bit += uint64(d.width)
		d.mbLeft--
	}
	d.left--
	if d.int32 {
		return int64(int32(d.last)), nil
	}
	return int64(d.last), nil
}

// nextMiniblock moves to the next miniblock, reading a block header first
// if the block's are used up. A miniblock that holds values must have
// their bytes; the last one's padding may be left out when nothing follows
// the values (DELTA_BINARY_PACKED pages; the lengths of DELTA string pages
// are followed by the strings, and writers pad them).
func (d *deltaReader) nextMiniblock() error {
	if d.mb == len(d.widths) {
		m, k := binary.Varint(d.data)
		if k <= 0 {
			return errors.New("block header cut short")
		}
		d.data = d.data[k:]
		if len(d.data) < d.mbs {
			return errors.New("bit widths cut short")
		}
		d.minDelta = uint64(m)
		d.widths, d.data = d.data[:d.mbs], d.data[d.mbs:]
		d.mb = 0
	}
	w := uint(d.widths[d.mb])
	d.mb++
	limit := uint(64)
	if d.int32 {
		limit = 32
	}
	if w > limit {
		return fmt.Errorf("miniblock bit width %d (at most %d)", w, limit)
	}
	used := min(d.vpm, d.left)
	need := (uint64(used)*uint64(w) + 7) / 8
	if uint64(len(d.data)) < need {
		return fmt.Errorf("miniblock cut short: %d bytes for %d values of %d bits", len(d.data), used, w)
	}
	take := min(uint64(d.vpm)*uint64(w)/8, uint64(len(d.data)))
	d.mbData, d.data = d.data[:take], d.data[take:]
	d.width, d.mbLeft, d.bit = w, used, 0
	return nil
}

// unpackBits returns the w-bit little-endian value at bit offset bit of
// data (w <= 64; the bits must be there).
func unpackBits(data []byte, bit uint64, w uint) uint64 {
	var v uint64
	for got := uint(0); got < w; {
		i, shift := bit>>3, uint(bit&7)
		n := min(8-shift, w-got)
		v |= uint64(data[i]>>shift&(1<<n-1)) << got
		got += n
		bit += uint64(n)
	}
	return v
}
