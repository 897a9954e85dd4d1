package scan

import (
	"encoding/binary"

	"github.com/parquet-go/parquet-go/format"
)

// MinCreated returns the earliest created_at of the file, in microseconds
// since the epoch, according to the footer's column statistics. ok is false
// when any row group lacks a usable minimum (no statistics, INT96, whose
// statistics have no defined order, or a row group whose nulls cannot be
// told apart from missing statistics); then nothing may be pruned on it.
//
// Statistics are the writer's word, not the data's: callers that prune on
// them must check every decoded created_at against the value returned.
func (f *File) MinCreated() (micros int64, ok bool) {
	c := f.cols[roleCreatedAt]
	first := true
	for rg, g := range f.meta.RowGroups {
		if c.leaf >= len(g.Columns) {
			return 0, false
		}
		md := &g.Columns[c.leaf].MetaData
		st := &md.Statistics
		v := st.MinValue
		if v == nil {
			v = st.Min // INT64 timestamps sort signed, so the legacy field is right too
		}
		if v == nil {
			// No minimum: fine only if the row group has no non-null value.
			if st.NullCount == f.RowGroupRows(rg) && f.RowGroupRows(rg) > 0 && md.NumValues == st.NullCount {
				continue
			}
			return 0, false
		}
		if len(v) != 8 || md.Type != format.Int64 {
			return 0, false
		}
		x := int64(binary.LittleEndian.Uint64(v))
		var us int64
		switch c.kind {
		case kTsMicros:
			us = x
		case kTsMillis:
			if x > maxMillis || x < minMillis {
				return 0, false
			}
			us = x * 1000
		case kTsNanos:
			us = floorDiv1000(x)
		default:
			return 0, false
		}
		if first || us < micros {
			micros, first = us, false
		}
	}
	return micros, !first
}
