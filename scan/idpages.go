package scan

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/parquet-go/parquet-go/format"
)

// idCursor decodes a string content_id column chunk for ContentIDs
// straight from its pages' bytes, keeping only the ids of the rows asked
// for (a few in a hundred). Through parquet-go, each page was copied into
// parquet-go's buffer and decoded whole, the chunk's dictionary decoded
// beside it, and the page's ids copied once more before the wanted ones
// were picked: some megabytes per worker for a column the audit reads a
// twentieth of.
//
// It reads every encoding parquet-go reads for BYTE_ARRAY pages (PLAIN,
// dictionary indexes, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY), data
// pages v1 (RLE definition levels) and v2, from a chunk held whole or
// streamed through a window (walked as reached, as numCursor does). Each
// page passes checkPage before it is decoded.
type idCursor struct {
	num numCursor // its page walk, payloads and errors

	dictData []byte  // the dictionary's values, back to back
	dictOff  []int32 // value i is dictData[dictOff[i]:dictOff[i+1]]
	levels   []uint32
	prev     []byte // DELTA_BYTE_ARRAY: the last value
}

// idBlock is how many rows idCursor reads the levels of at a time.
const idBlock = 4096

// stringValues reads one data page's non-null BYTE_ARRAY values in order.
type stringValues struct {
	enc   format.Encoding
	data  []byte    // PLAIN: the values not read yet; DELTA: the bytes of the values
	idx   rleReader // dictionary indexes
	lens  deltaReader
	pre   deltaReader // DELTA_BYTE_ARRAY: prefix lengths
	c     *idCursor
	value []byte // DELTA_BYTE_ARRAY: the value built
}

// contentIDs is ContentIDs for a string content_id column decoded by an
// idCursor: it appends the ids of rows (ascending indexes in the row group)
// to dst, after checking every page of the chunk.
func (f *File) contentIDs(b *Batch, rows []int32, dst *IDs) error {
	sc, rg := b.sc, b.RowGroup
	c := &sc.idCursor
	c.num.reset(f, roleContentID, rg, &sc.plain[roleContentID])
	nc := &c.num
	base, k := 0, 0 // rows before this page; next wanted row
	for {
		h, data, ok, err := nc.advance()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if h.Type == format.DictionaryPage {
			if err := c.readDictionary(data, int(h.DictionaryPageHeader.V.NumValues)); err != nil {
				return err
			}
			continue
		}
		defs, vals, nv, err := splitPage(h, data, nc.optional)
		if err != nil {
			return nc.errf(-1, "%v", err)
		}
		if base+nv > b.rgRows {
			return f.errf(roleContentID, rg, -1, "the column holds more values than the row group's %d rows", b.rgRows)
		}
		nonNull := nv
		if nc.optional {
			if nonNull, err = countLevels(defs, nv); err != nil {
				return nc.errf(-1, "definition levels: %v", err)
			}
		}
		var sv stringValues
		if err := sv.reset(c, h, vals, nonNull); err != nil {
			return nc.errf(-1, "%v", err)
		}
		dr := rleReader{data: defs, width: 1}
		for r := 0; r < nv; {
			n := min(idBlock, nv-r)
			lv := c.levels[:0]
			if nc.optional {
				if cap(c.levels) < n {
					c.levels = make([]uint32, idBlock)
				}
				lv = c.levels[:n]
				if _, bad, err := readLevels(&dr, lv); err != nil {
					return nc.errf(b.FirstRow+int64(base+r+bad), "%v", err)
				}
			}
			for i := range n {
				row := base + r + i
				valid := !nc.optional || lv[i] == 1
				var v []byte
				if valid {
					if v, err = sv.next(); err != nil {
						return nc.errf(b.FirstRow+int64(row), "%v", err)
					}
				}
				if k < len(rows) && int(rows[k]) == row {
					k++
					dst.Valid = append(dst.Valid, valid)
					dst.Data = append(dst.Data, v...)
					if len(dst.Data) > math.MaxInt32 {
						return f.errf(roleContentID, rg, -1, "more than 2 GiB of content_id bytes")
					}
					dst.Offsets = append(dst.Offsets, int32(len(dst.Data)))
				}
			}
			r += n
		}
		if err := sv.finish(); err != nil {
			return nc.errf(-1, "%v", err)
		}
		base += nv
	}
	if err := nc.chunk.finishWalk(); err != nil {
		return err
	}
	if base != b.rgRows {
		return f.errf(roleContentID, rg, -1, "the column holds %d values but the row group has %d rows", base, b.rgRows)
	}
	if k != len(rows) {
		return f.errf(roleContentID, rg, -1, "internal error: row %d asked for, the row group has %d", rows[k], b.rgRows)
	}
	return nil
}

// readDictionary keeps a PLAIN BYTE_ARRAY dictionary page's values.
func (c *idCursor) readDictionary(data []byte, n int) error {
	nc := &c.num
	if nc.seen {
		return nc.errf(-1, "a second dictionary page")
	}
	nc.seen = true
	c.dictData, c.dictOff = c.dictData[:0], append(c.dictOff[:0], 0)
	if err := plainByteArrays(data, n, "dictionary values", func(v []byte) {
		c.dictData = append(c.dictData, v...)
		c.dictOff = append(c.dictOff, int32(len(c.dictData)))
	}); err != nil {
		return nc.errf(-1, "%v", err)
	}
	return nil
}

// reset sets v up to read a data page's nonNull values, vals.
func (v *stringValues) reset(c *idCursor, h *format.PageHeader, vals []byte, nonNull int) error {
	enc := h.DataPageHeader.V.Encoding
	if h.Type == format.DataPageV2 {
		enc = h.DataPageHeaderV2.V.Encoding
	}
	*v = stringValues{enc: enc, c: c, value: c.prev[:0]}
	switch {
	case enc == format.Plain:
		v.data = vals
	case isDictEncoding(enc):
		if !c.num.seen {
			return fmt.Errorf("dictionary-encoded page without a dictionary page")
		}
		if nonNull == 0 {
			break
		}
		if len(vals) == 0 || vals[0] > 32 {
			return fmt.Errorf("dictionary indexes without a valid bit width")
		}
		v.idx = rleReader{data: vals[1:], width: int(vals[0])}
	case enc == format.DeltaLengthByteArray:
		var err error
		if v.data, err = startLengths(&v.lens, vals, nonNull); err != nil {
			return fmt.Errorf("%s values: %w", enc, err)
		}
	case enc == format.DeltaByteArray:
		rest, err := startLengths(&v.pre, vals, nonNull) // prefix lengths
		if err == nil {
			v.data, err = startLengths(&v.lens, rest, nonNull) // suffix lengths
		}
		if err != nil {
			return fmt.Errorf("%s values: %w", enc, err)
		}
	default:
		return fmt.Errorf("values encoded as %s, not supported for BYTE_ARRAY", enc)
	}
	return nil
}

// startLengths starts r on the n DELTA_BINARY_PACKED lengths data begins
// with and returns the bytes after them. (The lengths are decoded once to
// find where they end, and again as the values are read, so that a page's
// lengths are never held: checkPage has decoded them a first time.)
func startLengths(r *deltaReader, data []byte, n int) ([]byte, error) {
	rest, _, err := checkDeltaLengths(data, n, false)
	if err == nil {
		err = r.reset(data, format.Int32, n)
	}
	return rest, err
}

// next returns the next value: valid until the next call.
func (v *stringValues) next() ([]byte, error) {
	switch {
	case v.enc == format.Plain:
		if len(v.data) < 4 {
			return nil, fmt.Errorf("PLAIN value cut short")
		}
		l := binary.LittleEndian.Uint32(v.data)
		if uint64(l) > uint64(len(v.data)-4) {
			return nil, fmt.Errorf("PLAIN value claims %d bytes, %d left", l, len(v.data)-4)
		}
		s := v.data[4 : 4+l]
		v.data = v.data[4+l:]
		return s, nil
	case isDictEncoding(v.enc):
		var i [1]uint32
		if err := v.idx.read(i[:]); err != nil {
			return nil, fmt.Errorf("dictionary indexes: %v", err)
		}
		c := v.c
		if int(i[0]) >= len(c.dictOff)-1 {
			return nil, fmt.Errorf("dictionary index %d out of range (the dictionary has %d values)", i[0], len(c.dictOff)-1)
		}
		return c.dictData[c.dictOff[i[0]]:c.dictOff[i[0]+1]], nil
	}
	l, err := v.lens.next()
	if err != nil {
		return nil, err
	}
	if l < 0 || l > int64(len(v.data)) {
		return nil, fmt.Errorf("a value of %d bytes, %d left", l, len(v.data))
	}
	s := v.data[:l]
	v.data = v.data[l:]
	if v.enc == format.DeltaLengthByteArray {
		return s, nil
	}
	p, err := v.pre.next()
	if err != nil {
		return nil, err
	}
	if p < 0 || p > int64(len(v.value)) {
		return nil, fmt.Errorf("a prefix of %d bytes of a value of %d", p, len(v.value))
	}
	v.value = append(v.value[:p], s...)
	return v.value, nil
}

// finish checks that the page held no more PLAIN bytes than its values,
// and keeps the value buffer.
func (v *stringValues) finish() error {
	v.c.prev = v.value[:0]
	if v.enc == format.Plain && len(v.data) != 0 {
		return fmt.Errorf("%d bytes after the page's values", len(v.data))
	}
	return nil
}
