package scan

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// arrowColumns reads a whole file with Arrow's pqarrow reader (an
// independent implementation) and returns each top-level column's values
// as the scan would give them: int64 for integers, string for strings and
// binaries, int64 microseconds (floored) for timestamps, nil for null, and
// an error value where the scan must fail (unsigned beyond int64). Columns
// of other types are left out.
func arrowColumns(data []byte) (_ map[string][]any, err error) {
	defer func() {
		if p := recover(); p != nil { // Arrow v17 panics on some bad files
			err = fmt.Errorf("arrow panicked: %v", p)
		}
	}()
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	out := map[string][]any{}
	for i := 0; i < int(tbl.NumCols()); i++ {
		col := tbl.Column(i)
		var vals []any
		ok := true
		for _, chunk := range col.Data().Chunks() {
			for j := 0; j < chunk.Len() && ok; j++ {
				v, good := arrowValue(chunk, j)
				if !good {
					ok = false
				}
				vals = append(vals, v)
			}
		}
		if ok {
			out[col.Name()] = vals
		}
	}
	return out, nil
}

type errValue struct{ msg string }

func arrowValue(a arrow.Array, j int) (any, bool) {
	if a.IsNull(j) {
		return nil, true
	}
	switch a := a.(type) {
	case *array.Int8:
		return int64(a.Value(j)), true
	case *array.Int16:
		return int64(a.Value(j)), true
	case *array.Int32:
		return int64(a.Value(j)), true
	case *array.Int64:
		return a.Value(j), true
	case *array.Uint8:
		return int64(a.Value(j)), true
	case *array.Uint16:
		return int64(a.Value(j)), true
	case *array.Uint32:
		return int64(a.Value(j)), true
	case *array.Uint64:
		if a.Value(j) > math.MaxInt64 {
			return errValue{"does not fit in int64"}, true
		}
		return int64(a.Value(j)), true
	case *array.String:
		return a.Value(j), true
	case *array.LargeString:
		return a.Value(j), true
	case *array.Binary:
		return string(a.Value(j)), true
	case *array.LargeBinary:
		return string(a.Value(j)), true
	case *array.Timestamp:
		v := int64(a.Value(j))
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			return v * 1_000_000, true
		case arrow.Millisecond:
			return v * 1000, true
		case arrow.Microsecond:
			return v, true
		case arrow.Nanosecond:
			return floorDiv1000(v), true
		}
	case *array.Dictionary:
		return arrowValue(a.Dictionary(), a.GetValueIndex(j))
	}
	return nil, false
}

// roleValues returns role's column of decoded rows in the oracle's form.
func roleValues(rows []row, role int) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		var v any
		switch role {
		case roleContentID:
			v = r.ID
		case roleAuthorID:
			if r.Author != nil {
				v = *r.Author
			}
		case rolePlatform:
			if r.Platform != nil {
				v = *r.Platform
			}
		case roleContentType:
			if r.ContentType != nil {
				v = *r.ContentType
			}
		case roleVisibility:
			if r.Visibility != nil {
				v = *r.Visibility
			}
		case roleCreatedAt:
			if r.Created != nil {
				v = *r.Created
			}
		}
		out[i] = v
	}
	return out
}

func fmtVals(v []any) string {
	if len(v) > 8 {
		return fmt.Sprint(v[:8]) + fmt.Sprintf("... (%d)", len(v))
	}
	return fmt.Sprint(v)
}
