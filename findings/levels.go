package findings

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
)

// Arrow's column reader loops for ever on a data page whose repetition or
// definition levels end before the page's count of values (its level
// decoder makes no progress and does not notice; FuzzReadPart found it).
// So before a column chunk is read, checkLevels walks its pages and
// checks every page's levels: RLE/bit-packed runs that hold at least the
// page's count of levels, none above the column's maximum.

var errLevelsShort = errors.New("levels end before the page's count of values")

// checkLevels checks the levels of every data page of column leaf of rgr.
func checkLevels(rgr *file.RowGroupReader, leaf int, maxDef, maxRep int16) error {
	pr, err := rgr.GetColumnPageReader(leaf)
	if err != nil {
		return err
	}
	for k := 0; pr.Next(); k++ {
		var err error
		switch p := pr.Page().(type) {
		case *file.DataPageV1:
			data := p.Data()
			n := int(p.NumValues())
			if maxRep > 0 {
				data, err = checkPrefixedLevels(data, n, maxRep, p.RepetitionLevelEncoding(), "repetition")
			}
			if err == nil && maxDef > 0 {
				_, err = checkPrefixedLevels(data, n, maxDef, p.DefinitionLevelEncoding(), "definition")
			}
		case *file.DataPageV2:
			data := p.Data()
			n := int(p.NumValues())
			rl, dl := int(p.RepetitionLevelByteLen()), int(p.DefinitionLevelByteLen())
			if rl < 0 || dl < 0 || rl+dl > len(data) {
				err = fmt.Errorf("levels of %d+%d bytes in a page of %d", rl, dl, len(data))
				break
			}
			if maxRep > 0 {
				err = levelError("repetition", checkRuns(data[:rl], n, maxRep))
			}
			if err == nil && maxDef > 0 {
				err = levelError("definition", checkRuns(data[rl:rl+dl], n, maxDef))
			}
		}
		if err != nil {
			return fmt.Errorf("page %d: %w", k, err)
		}
	}
	return pr.Err()
}

func levelError(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s levels: %w", what, err)
	}
	return nil
}

// checkPrefixedLevels checks the levels at the start of a v1 page's data
// (a 4-byte length, then the runs) and returns the data after them.
func checkPrefixedLevels(data []byte, n int, max int16, enc parquet.Encoding, what string) ([]byte, error) {
	if enc != parquet.Encodings.RLE {
		return nil, fmt.Errorf("%s levels encoded as %s (only RLE is read)", what, enc)
	}
	if len(data) < 4 {
		return nil, levelError(what, errLevelsShort)
	}
	l := binary.LittleEndian.Uint32(data)
	if uint64(l) > uint64(len(data)-4) {
		return nil, fmt.Errorf("%s levels claim %d bytes, the page has %d", what, l, len(data)-4)
	}
	if err := checkRuns(data[4:4+l], n, max); err != nil {
		return nil, levelError(what, err)
	}
	return data[4+l:], nil
}

// checkRuns checks that data holds at least n levels of at most max in
// RLE/bit-packed hybrid runs of bits.Len(max) bits.
func checkRuns(data []byte, n int, max int16) error {
	w := bits.Len16(uint16(max))
	vb := (w + 7) / 8 // bytes of an RLE run's value
	for left := n; left > 0; {
		h, k := binary.Uvarint(data)
		if k <= 0 {
			return errLevelsShort
		}
		data = data[k:]
		if h>>1 == 0 {
			return errors.New("an empty run")
		}
		if h&1 == 0 { // RLE: a count, then the level in vb bytes
			if len(data) < vb {
				return errLevelsShort
			}
			v := 0
			for i := vb - 1; i >= 0; i-- {
				v = v<<8 | int(data[i])
			}
			if v > int(max) {
				return fmt.Errorf("level %d above the column's %d", v, max)
			}
			left -= int(min(h>>1, uint64(left)))
			data = data[vb:]
			continue
		}
		// Bit-packed: groups of 8 levels in w bytes. The levels a page
		// needs must all be there (a run may be cut after them).
		if h>>1 > 1<<28 {
			return errors.New("oversized bit-packed run")
		}
		take := min(int(h>>1)*8, left)
		need := (take*w + 7) / 8
		if need > len(data) {
			return errLevelsShort
		}
		for i := range take {
			v := 0
			for b := range w {
				bit := i*w + b
				v |= int(data[bit/8]>>(bit%8)&1) << b
			}
			if v > int(max) {
				return fmt.Errorf("level %d above the column's %d", v, max)
			}
		}
		left -= take
		data = data[min(int(h>>1)*w, len(data)):]
	}
	return nil
}
