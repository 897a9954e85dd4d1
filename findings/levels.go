package findings

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	pgformat "github.com/parquet-go/parquet-go/format"

	"github.com/corpus-audit/corpus-audit/scan"
)

// Arrow's column reader loops for ever on a data page whose repetition or
// definition levels end before the page's count of values (its level
// decoder makes no progress and does not notice; FuzzReadPart found it).
// So before a column chunk is read, checkLevels walks its pages and
// checks every page's levels: RLE/bit-packed runs that hold at least the
// page's count of levels, none above the column's maximum.

var errLevelsShort = errors.New("levels end before the page's count of values")

// checkLevels checks the levels of every data page of column leaf of rgr
// (of physical type phys), and the values of the pages whose encoding
// Arrow decodes without noticing a short page: the delta encodings,
// checked by scan.CheckDeltaValues. PLAIN and dictionary pages are left to
// Arrow, whose decoders report running out of bytes; other encodings are
// refused.
func checkLevels(rgr *file.RowGroupReader, leaf int, phys parquet.Type, maxDef, maxRep int16) error {
	pr, err := rgr.GetColumnPageReader(leaf)
	if err != nil {
		return err
	}
	for k := 0; pr.Next(); k++ {
		var err error
		switch p := pr.Page().(type) {
		case *file.DictionaryPage:
			if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict {
				err = fmt.Errorf("dictionary encoded as %s, want PLAIN", e)
			}
		case *file.DataPageV1:
			data, n, nonNull := p.Data(), int(p.NumValues()), int(p.NumValues())
			if maxRep > 0 {
				data, _, err = checkPrefixedLevels(data, n, maxRep, p.RepetitionLevelEncoding(), "repetition")
			}
			if err == nil && maxDef > 0 {
				data, nonNull, err = checkPrefixedLevels(data, n, maxDef, p.DefinitionLevelEncoding(), "definition")
			}
			if err == nil {
				err = checkValues(parquet.Encoding(p.Encoding()), phys, data, nonNull)
			}
		case *file.DataPageV2:
			data, n, nonNull := p.Data(), int(p.NumValues()), int(p.NumValues())
			rl, dl := int(p.RepetitionLevelByteLen()), int(p.DefinitionLevelByteLen())
			if rl < 0 || dl < 0 || rl+dl > len(data) {
				err = fmt.Errorf("levels of %d+%d bytes in a page of %d", rl, dl, len(data))
				break
			}
			if maxRep > 0 {
				_, err = checkRuns(data[:rl], n, maxRep)
				err = levelError("repetition", err)
			}
			if err == nil && maxDef > 0 {
				nonNull, err = checkRuns(data[rl:rl+dl], n, maxDef)
				err = levelError("definition", err)
			}
			if err == nil {
				err = checkValues(parquet.Encoding(p.Encoding()), phys, data[rl+dl:], nonNull)
			}
		}
		if err != nil {
			return fmt.Errorf("page %d: %w", k, err)
		}
	}
	return pr.Err()
}

// checkValues checks a data page's values (vals, nonNull of them) where
// Arrow would not: see checkLevels.
func checkValues(enc parquet.Encoding, phys parquet.Type, vals []byte, nonNull int) error {
	switch enc {
	case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLEDict:
		return nil
	case parquet.Encodings.DeltaBinaryPacked, parquet.Encodings.DeltaLengthByteArray, parquet.Encodings.DeltaByteArray:
		// Arrow's and parquet-go's enums are both the Parquet format's.
		return scan.CheckDeltaValues(pgformat.Encoding(enc), pgformat.Type(phys), vals, nonNull)
	}
	return fmt.Errorf("values encoded as %s (this reader takes PLAIN, dictionary and delta encodings)", enc)
}

func levelError(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s levels: %w", what, err)
	}
	return nil
}

// checkPrefixedLevels checks the levels at the start of a v1 page's data
// (a 4-byte length, then the runs) and returns the data after them and
// how many of the first n levels are max.
func checkPrefixedLevels(data []byte, n int, max int16, enc parquet.Encoding, what string) ([]byte, int, error) {
	if enc != parquet.Encodings.RLE {
		return nil, 0, fmt.Errorf("%s levels encoded as %s (only RLE is read)", what, enc)
	}
	if len(data) < 4 {
		return nil, 0, levelError(what, errLevelsShort)
	}
	l := binary.LittleEndian.Uint32(data)
	if uint64(l) > uint64(len(data)-4) {
		return nil, 0, fmt.Errorf("%s levels claim %d bytes, the page has %d", what, l, len(data)-4)
	}
	atMax, err := checkRuns(data[4:4+l], n, max)
	if err != nil {
		return nil, 0, levelError(what, err)
	}
	return data[4+l:], atMax, nil
}

// checkRuns checks that data holds at least n levels of at most max in
// RLE/bit-packed hybrid runs of bits.Len(max) bits, and returns how many of
// the first n are max.
func checkRuns(data []byte, n int, max int16) (atMax int, err error) {
	w := bits.Len16(uint16(max))
	vb := (w + 7) / 8 // bytes of an RLE run's value
	for left := n; left > 0; {
		h, k := binary.Uvarint(data)
		if k <= 0 {
			return 0, errLevelsShort
		}
		data = data[k:]
		if h>>1 == 0 {
			return 0, errors.New("an empty run")
		}
		// Arrow's decoder takes a run's count as 32 bits and stops at a
		// longer run, reading on from wherever it stopped: such a run is
		// refused here, not read one way here and another there.
		if h&1 == 0 && h>>1 > math.MaxInt32 || h&1 == 1 && h>>1 > math.MaxInt32/8 {
			return 0, fmt.Errorf("a run of %d levels is longer than the decoder takes", h>>1)
		}
		if h&1 == 0 { // RLE: a count, then the level in vb bytes
			if len(data) < vb {
				return 0, errLevelsShort
			}
			v := 0
			for i := vb - 1; i >= 0; i-- {
				v = v<<8 | int(data[i])
			}
			if v > int(max) {
				return 0, fmt.Errorf("level %d above the column's %d", v, max)
			}
			take := int(min(h>>1, uint64(left)))
			if v == int(max) {
				atMax += take
			}
			left -= take
			data = data[vb:]
			continue
		}
		// Bit-packed: groups of 8 levels in w bytes. The levels a page
		// needs must all be there (a run may be cut after them).
		take := min(int(h>>1)*8, left)
		need := (take*w + 7) / 8
		if need > len(data) {
			return 0, errLevelsShort
		}
		for i := range take {
			v := 0
			for b := range w {
				bit := i*w + b
				v |= int(data[bit/8]>>(bit%8)&1) << b
			}
			if v > int(max) {
				return 0, fmt.Errorf("level %d above the column's %d", v, max)
			}
			if v == int(max) {
				atMax++
			}
		}
		left -= take
		data = data[min(int(h>>1)*w, len(data)):]
	}
	return atMax, nil
}
