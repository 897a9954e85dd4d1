package scan

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// colState is per-column decode state, reset for every row group.
type colState struct {
	table    map[string]int32   // string → code in the batch's Dict
	prevCode int32              // code of the last interned string, -1 if none
	lastDict parquet.Dictionary // dictionary remap/dictVals were built for
	remap    []int32            // dictionary index → Dict code (strings)
	dictVals []int64            // dictionary values, converted (numbers): dictBuf, or lastDict's own
	dictBuf  []int64            // dictionary values converted
	conv     []int64            // a page's values, converted (numbers)
}

func (st *colState) reset() {
	if st.table == nil {
		st.table = make(map[string]int32)
	}
	clear(st.table)
	st.prevCode = -1
	st.lastDict = nil
	st.remap = st.remap[:0]
	st.dictVals, st.dictBuf = nil, st.dictBuf[:0]
}

// decodeColumn reads every page of one audit column of row group rg from
// the fetched bytes and appends its rows to b.
func (f *File) decodeColumn(role, rg int, cc *parquet.FileColumnChunk, b *Batch) error {
	st := &b.sc.st[role]
	st.reset()
	pages := cc.PagesFrom(&b.sc.mem)
	defer pages.Close()
	rows := 0
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f.wrap(role, rg, b.FirstRow+int64(rows), fmt.Errorf("reading the page that starts at this row: %w", err))
		}
		n, bad, err := f.decodePage(role, p, b, st)
		parquet.Release(p)
		if err != nil {
			row := int64(-1)
			if bad >= 0 {
				row = b.FirstRow + int64(rows+bad)
			}
			return f.wrap(role, rg, row, err)
		}
		rows += n
		if rows > b.N {
			return f.errf(role, rg, -1, "the column holds more values than the row group's %d rows", b.N)
		}
	}
	if rows != b.N {
		return f.errf(role, rg, -1, "the column holds %d values but the row group has %d rows", rows, b.N)
	}
	return nil
}

// decodePage appends one page's rows to b. It returns the number of rows,
// and on error the page row it concerns (-1 if none).
func (f *File) decodePage(role int, p parquet.Page, b *Batch, st *colState) (rows, bad int, err error) {
	c := &f.cols[role]
	var defs []byte
	if c.optional {
		defs = p.DefinitionLevels()
	}
	data := p.Data()
	switch c.kind {
	case kString:
		var s *Strings
		switch role {
		case rolePlatform:
			s = &b.Platform
		case roleContentType:
			s = &b.ContentType
		default:
			s = &b.Visibility
		}
		base := len(s.Codes)
		nv, bad, err := stringCodes(p, data, s, st)
		if err != nil {
			return 0, rowOf(defs, c.optional, bad), err
		}
		if !c.optional {
			return nv, -1, nil
		}
		s.Codes, err = expandNulls(s.Codes, base, nv, defs, -1)
		return len(defs), -1, err
	case kIDString:
		return decodeIDStrings(p, data, defs, c.optional, &b.ContentID)
	}
	vals, bad, err := numbers(p, data, c.kind, st)
	if err != nil {
		return 0, rowOf(defs, c.optional, bad), err
	}
	switch role {
	case roleContentID:
		b.ContentID.Int, rows, err = scatter(vals, defs, c.optional, b.ContentID.Int, 0, &b.ContentID.Valid)
	case roleAuthorID:
		b.Author, rows, err = scatter(vals, defs, c.optional, b.Author, 0, &b.AuthorValid)
	default:
		b.Created, rows, err = scatter(vals, defs, c.optional, b.Created, 0, &b.CreatedValid)
	}
	return rows, -1, err
}

// rowOf maps the index of a non-null value in a page to its row in the page.
func rowOf[L byte | uint32](defs []L, optional bool, value int) int {
	if value < 0 || !optional {
		return value
	}
	for r, d := range defs {
		if d == 1 {
			if value == 0 {
				return r
			}
			value--
		}
	}
	return -1
}

// scatter appends a page's rows to out: vals holds the non-null values in
// order; defs (when optional) says which rows are non-null. Null rows get
// null. valid, when not nil, gets one flag per row.
func scatter[T int32 | int64](vals []T, defs []byte, optional bool, out []T, null T, valid *[]bool) ([]T, int, error) {
	if !optional {
		out = append(out, vals...)
		if valid != nil {
			*valid = appendFill(*valid, len(vals), true)
		}
		return out, len(vals), nil
	}
	n := len(defs)
	base := len(out)
	out = slices.Grow(out, n)[:base+n]
	o := out[base:]
	var v []bool
	if valid != nil {
		*valid = slices.Grow(*valid, n)[:base+n]
		v = (*valid)[base:]
	}
	j := 0
	for r, d := range defs {
		if d == 1 {
			if j >= len(vals) {
				return out, 0, fmt.Errorf("page has %d values but more non-null rows", len(vals))
			}
			o[r] = vals[j]
			j++
		} else {
			o[r] = null
		}
	}
	if v != nil {
		for r, d := range defs {
			v[r] = d == 1
		}
	}
	if j != len(vals) {
		return out, 0, fmt.Errorf("page has %d values for %d non-null rows", len(vals), j)
	}
	return out, n, nil
}

func appendFill(s []bool, n int, v bool) []bool {
	base := len(s)
	s = slices.Grow(s, n)[:base+n]
	t := s[base:]
	for i := range t {
		t[i] = v
	}
	return s
}

// numbers returns a page's non-null values as int64 (timestamps in
// microseconds): the page's own memory when no conversion is needed,
// st.conv otherwise. On error, bad is the index of the offending value
// (-1 if it is in the dictionary).
func numbers(p parquet.Page, data encoding.Values, k kind, st *colState) (vals []int64, bad int, err error) {
	if d := p.Dictionary(); d != nil {
		if d != st.lastDict {
			st.lastDict = nil
			dv := d.Page().Data()
			if (k == kInt64 || k == kTsMicros) && dv.Kind() == encoding.Int64 {
				// The dictionary's own values, as they need no
				// conversion: they live as long as d, the chunk's.
				st.dictVals = dv.Int64()
			} else {
				if st.dictBuf, bad, err = convert(&dv, k, st.dictBuf[:0]); err != nil {
					return nil, -1, fmt.Errorf("dictionary value %d: %w", bad, err)
				}
				st.dictVals = st.dictBuf
			}
			st.lastDict = d
		}
		if data.Kind() != encoding.Int32 {
			return nil, -1, fmt.Errorf("dictionary-encoded page holds %s, not indexes", data.Kind())
		}
		idx := data.Int32()
		dv := st.dictVals
		out := slices.Grow(st.conv[:0], len(idx))[:len(idx)]
		for i, c := range idx {
			if uint32(c) >= uint32(len(dv)) {
				return nil, i, fmt.Errorf("dictionary index %d out of range (the dictionary has %d values)", c, len(dv))
			}
			out[i] = dv[c]
		}
		st.conv = out
		return out, -1, nil
	}
	if (k == kInt64 || k == kTsMicros) && data.Kind() == encoding.Int64 {
		return data.Int64(), -1, nil
	}
	st.conv, bad, err = convert(&data, k, st.conv[:0])
	return st.conv, bad, err
}

// Bounds for converting to int64 microseconds without overflow.
const (
	maxMillis  = math.MaxInt64 / 1000
	minMillis  = math.MinInt64 / 1000
	microsDay  = 86_400_000_000
	maxEpochDy = math.MaxInt64 / microsDay
	julianUnix = 2_440_588 // Julian day of 1970-01-01
)

var errRange = errors.New("timestamp is outside the range of int64 microseconds since 1970")

// convert appends the values of v, decoded as kind k, to dst as int64
// (timestamps in microseconds since the epoch, UTC, floored).
func convert(v *encoding.Values, k kind, dst []int64) ([]int64, int, error) {
	want := encoding.Int64
	switch k {
	case kInt32, kUint32:
		want = encoding.Int32
	case kInt96:
		want = encoding.Int96
	}
	if v.Kind() != want {
		return dst, -1, fmt.Errorf("page holds %s values, expected %s", v.Kind(), want)
	}
	switch k {
	case kInt64, kTsMicros:
		return append(dst, v.Int64()...), -1, nil
	case kInt32:
		src := v.Int32()
		out := slices.Grow(dst, len(src))[:len(dst)+len(src)]
		o := out[len(dst):]
		for i, x := range src {
			o[i] = int64(x)
		}
		return out, -1, nil
	case kUint32:
		src := v.Uint32()
		out := slices.Grow(dst, len(src))[:len(dst)+len(src)]
		o := out[len(dst):]
		for i, x := range src {
			o[i] = int64(x)
		}
		return out, -1, nil
	case kUint64:
		src := v.Uint64()
		for i, x := range src {
			if x > math.MaxInt64 {
				return dst, i, fmt.Errorf("unsigned value %d does not fit in int64", x)
			}
			dst = append(dst, int64(x))
		}
		return dst, -1, nil
	case kTsMillis:
		src := v.Int64()
		for i, x := range src {
			if x > maxMillis || x < minMillis {
				return dst, i, errRange
			}
			dst = append(dst, x*1000)
		}
		return dst, -1, nil
	case kTsNanos:
		src := v.Int64()
		out := slices.Grow(dst, len(src))[:len(dst)+len(src)]
		o := out[len(dst):]
		for i, x := range src {
			o[i] = floorDiv1000(x)
		}
		return out, -1, nil
	case kInt96:
		for i, x := range v.Int96() {
			us, ok := int96Micros(x[0], x[1], x[2])
			if !ok {
				return dst, i, errRange
			}
			dst = append(dst, us)
		}
		return dst, -1, nil
	}
	return dst, -1, fmt.Errorf("internal error: kind %d is not numeric", k)
}

// floorDiv1000 divides by 1000 rounding toward negative infinity, so that
// nanoseconds before 1970 floor to the microsecond that contains them.
func floorDiv1000(x int64) int64 {
	q := x / 1000
	if x%1000 < 0 {
		q--
	}
	return q
}

// int96Micros converts an INT96 timestamp (8 bytes little-endian
// nanoseconds, then 4 bytes little-endian Julian day; here as three
// little-endian uint32 words) to microseconds since the epoch, flooring
// sub-microsecond nanoseconds.
//
// Writers disagree on the nanosecond part: Impala and Spark write the
// nanoseconds of the day, [0, 86400e9); Arrow truncates the day toward
// zero, so instants before 1970 carry negative nanoseconds. Both read as
// day + nanoseconds. Spark also computes with Java's wrapping long
// arithmetic, so for instants near the ends of the int64 microsecond range
// it writes a wrapped (day, nanos) pair; such a pair is accepted when it is
// exactly what Spark's writer produces for the wrapped result (Spark's
// round trip holds, as in parquet-testing's int96_from_spark.parquet).
// Anything else is out of range.
func int96Micros(w0, w1, w2 uint32) (int64, bool) {
	const nanosDay = 86_400_000_000_000
	nanos := int64(uint64(w0) | uint64(w1)<<32)
	days := int64(int32(w2)) - julianUnix
	if nanos > -nanosDay && nanos < nanosDay && days <= maxEpochDy && days >= -maxEpochDy {
		us := days * microsDay
		add := floorDiv1000(nanos)
		if !(add > 0 && us > math.MaxInt64-add) && !(add < 0 && us < math.MinInt64-add) {
			return us + add, true
		}
	}
	// Spark: DateTimeUtils.fromJulianDay, wrapping.
	us := days*microsDay + nanos/1000
	// Spark: DateTimeUtils.toJulianDay(us) must give back (day, nanos).
	julianUs := us + julianUnix*microsDay
	if d, r := julianUs/microsDay, julianUs%microsDay; int64(int32(d)) == d && int32(d) == int32(w2) && r*1000 == nanos {
		return us, true
	}
	return 0, false
}

// stringCodes appends a page's non-null values to s.Codes, as codes into
// s.Dict (interning each distinct string once per dictionary or value), and
// returns how many. On error it returns the index of the offending value
// (-1 if none).
func stringCodes(p parquet.Page, data encoding.Values, s *Strings, st *colState) (int, int, error) {
	if d := p.Dictionary(); d != nil {
		if d != st.lastDict {
			st.lastDict = nil
			dv := d.Page().Data()
			if dv.Kind() != encoding.ByteArray {
				return 0, -1, fmt.Errorf("dictionary holds %s values, expected BYTE_ARRAY", dv.Kind())
			}
			buf, offs := dv.ByteArray()
			n := d.Len()
			if n < 0 || (n > 0 && len(offs) < n+1) {
				return 0, -1, fmt.Errorf("malformed dictionary: %d values, %d offsets", n, len(offs))
			}
			remap := slices.Grow(st.remap[:0], n)[:n]
			for i := range n {
				remap[i] = st.intern(s, buf[offs[i]:offs[i+1]])
			}
			st.remap = remap
			st.lastDict = d
		}
		if data.Kind() != encoding.Int32 {
			return 0, -1, fmt.Errorf("dictionary-encoded page holds %s, not indexes", data.Kind())
		}
		idx := data.Int32()
		remap := st.remap
		base := len(s.Codes)
		s.Codes = slices.Grow(s.Codes, len(idx))[:base+len(idx)]
		out := s.Codes[base:]
		for i, c := range idx {
			if uint32(c) >= uint32(len(remap)) {
				return 0, i, fmt.Errorf("dictionary index %d out of range (the dictionary has %d values)", c, len(remap))
			}
			out[i] = remap[c]
		}
		return len(idx), -1, nil
	}
	if data.Kind() != encoding.ByteArray {
		return 0, -1, fmt.Errorf("page holds %s values, expected BYTE_ARRAY", data.Kind())
	}
	buf, offs := data.ByteArray()
	n := max(len(offs)-1, 0)
	s.Codes = slices.Grow(s.Codes, n)
	for i := range n {
		s.Codes = append(s.Codes, st.intern(s, buf[offs[i]:offs[i+1]]))
	}
	return n, -1, nil
}

// expandNulls spreads the nv values at out[base:base+nv] over a page's
// rows in place: out[base:base+len(defs)] gets value j at the row of the
// j-th non-null definition level and null elsewhere. Working from the last
// row back, a value is always read before its slot is written.
func expandNulls[T int32 | int64](out []T, base, nv int, defs []byte, null T) ([]T, error) {
	nonNull := 0
	for _, d := range defs {
		if d == 1 {
			nonNull++
		}
	}
	if nonNull > nv {
		return out, fmt.Errorf("page has %d values but more non-null rows", nv)
	}
	if nonNull != nv {
		return out, fmt.Errorf("page has %d values for %d non-null rows", nv, nonNull)
	}
	out = slices.Grow(out[:base+nv], len(defs)-nv)[:base+len(defs)]
	o := out[base:]
	j := nv - 1
	for r := len(defs) - 1; r >= 0; r-- {
		if defs[r] == 1 {
			o[r] = o[j]
			j--
		} else {
			o[r] = null
		}
	}
	return out, nil
}

// intern returns v's code in s.Dict, adding it if new.
func (st *colState) intern(s *Strings, v []byte) int32 {
	if c := st.prevCode; c >= 0 && s.Dict[c] == string(v) {
		return c
	}
	c, ok := st.table[string(v)]
	if !ok {
		str := string(v)
		c = int32(len(s.Dict))
		s.Dict = append(s.Dict, str)
		st.table[str] = c
	}
	st.prevCode = c
	return c
}

// decodeIDStrings appends a page of string content ids to ids.
func decodeIDStrings(p parquet.Page, data encoding.Values, defs []byte, optional bool, ids *IDs) (rows, bad int, err error) {
	var (
		buf  []byte
		offs []uint32
		idx  []int32 // dictionary indexes, when dictionary-encoded
		nv   int
	)
	if d := p.Dictionary(); d != nil {
		dv := d.Page().Data()
		if dv.Kind() != encoding.ByteArray {
			return 0, -1, fmt.Errorf("dictionary holds %s values, expected BYTE_ARRAY", dv.Kind())
		}
		buf, offs = dv.ByteArray()
		n := d.Len()
		if n < 0 || (n > 0 && len(offs) < n+1) {
			return 0, -1, fmt.Errorf("malformed dictionary: %d values, %d offsets", n, len(offs))
		}
		if data.Kind() != encoding.Int32 {
			return 0, -1, fmt.Errorf("dictionary-encoded page holds %s, not indexes", data.Kind())
		}
		idx = data.Int32()
		nv = len(idx)
		for i, c := range idx {
			if c < 0 || int(c) >= n {
				return 0, rowOf(defs, optional, i), fmt.Errorf("dictionary index %d out of range (the dictionary has %d values)", c, n)
			}
		}
	} else {
		if data.Kind() != encoding.ByteArray {
			return 0, -1, fmt.Errorf("page holds %s values, expected BYTE_ARRAY", data.Kind())
		}
		buf, offs = data.ByteArray()
		nv = max(len(offs)-1, 0)
	}
	value := func(j int) []byte {
		if idx != nil {
			c := idx[j]
			return buf[offs[c]:offs[c+1]]
		}
		return buf[offs[j]:offs[j+1]]
	}

	if !optional {
		rows = nv
		if idx == nil && nv > 0 {
			// One copy of the page's bytes, offsets shifted.
			base := int64(len(ids.Data)) - int64(offs[0])
			if int64(len(ids.Data))+int64(offs[nv]-offs[0]) > math.MaxInt32 {
				return 0, -1, errors.New("more than 2 GiB of content_id bytes in one row group")
			}
			ids.Data = append(ids.Data, buf[offs[0]:offs[nv]]...)
			for j := 1; j <= nv; j++ {
				ids.Offsets = append(ids.Offsets, int32(int64(offs[j])+base))
			}
		} else {
			for j := range nv {
				ids.Data = append(ids.Data, value(j)...)
				if len(ids.Data) > math.MaxInt32 {
					return 0, j, errors.New("more than 2 GiB of content_id bytes in one row group")
				}
				ids.Offsets = append(ids.Offsets, int32(len(ids.Data)))
			}
		}
		ids.Valid = appendFill(ids.Valid, nv, true)
		return rows, -1, nil
	}

	j := 0
	for r, d := range defs {
		if d == 1 {
			if j >= nv {
				return 0, -1, fmt.Errorf("page has %d values but more non-null rows", nv)
			}
			ids.Data = append(ids.Data, value(j)...)
			if len(ids.Data) > math.MaxInt32 {
				return 0, r, errors.New("more than 2 GiB of content_id bytes in one row group")
			}
			j++
		}
		ids.Offsets = append(ids.Offsets, int32(len(ids.Data)))
		ids.Valid = append(ids.Valid, d == 1)
	}
	if j != nv {
		return 0, -1, fmt.Errorf("page has %d values for %d non-null rows", nv, j)
	}
	return len(defs), -1, nil
}
