// Package pqtype gives the Apache Arrow type of a Parquet leaf column, as
// Arrow's pqarrow package maps it, without linking pqarrow: pqarrow brings
// Arrow's compute kernels, Flight and gRPC into a binary (about 15 MB of
// code, which Linux maps into every run's resident memory), and
// corpus-audit needs only the names of the types, for checking columns
// and for error messages that read the same whatever wrote the file.
//
// The type is the one the Parquet schema gives. pqarrow can also restore
// a type from the ARROW:schema metadata some writers store (a time zone
// other than UTC, large_utf8, a dictionary); Of does not, so such a
// column is named by the Parquet type it was stored as.
package pqtype

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/schema"
)

// Of returns the Arrow type of a Parquet leaf column of the given physical
// and logical type (typeLen is the length of a FIXED_LEN_BYTE_ARRAY). It
// fails for the combinations pqarrow refuses, such as a TIMESTAMP
// annotation on an INT32.
func Of(physical parquet.Type, logical schema.LogicalType, typeLen int) (arrow.DataType, error) {
	if logical == nil {
		logical = schema.NoLogicalType{}
	}
	if !logical.IsValid() || logical.Equals(schema.NullLogicalType{}) {
		return arrow.Null, nil
	}
	cannot := func() error { return fmt.Errorf("%s cannot annotate %s", logical, physical) }
	switch physical {
	case parquet.Types.Boolean:
		return arrow.FixedWidthTypes.Boolean, nil
	case parquet.Types.Int32:
		switch lt := logical.(type) {
		case schema.NoLogicalType:
			return arrow.PrimitiveTypes.Int32, nil
		case *schema.IntLogicalType:
			return intType(lt)
		case schema.DateLogicalType:
			return arrow.FixedWidthTypes.Date32, nil
		case *schema.DecimalLogicalType:
			return decimalType(lt), nil
		case *schema.TimeLogicalType:
			if lt.TimeUnit() == schema.TimeUnitMillis {
				return arrow.FixedWidthTypes.Time32ms, nil
			}
		}
		return nil, cannot()
	case parquet.Types.Int64:
		switch lt := logical.(type) {
		case schema.NoLogicalType:
			return arrow.PrimitiveTypes.Int64, nil
		case *schema.IntLogicalType:
			return intType(lt)
		case *schema.DecimalLogicalType:
			return decimalType(lt), nil
		case *schema.TimeLogicalType:
			switch lt.TimeUnit() {
			case schema.TimeUnitMicros:
				return arrow.FixedWidthTypes.Time64us, nil
			case schema.TimeUnitNanos:
				return arrow.FixedWidthTypes.Time64ns, nil
			}
		case *schema.TimestampLogicalType:
			return timestampType(lt)
		}
		return nil, cannot()
	case parquet.Types.Int96:
		return arrow.FixedWidthTypes.Timestamp_ns, nil
	case parquet.Types.Float:
		return arrow.PrimitiveTypes.Float32, nil
	case parquet.Types.Double:
		return arrow.PrimitiveTypes.Float64, nil
	case parquet.Types.ByteArray:
		switch lt := logical.(type) {
		case schema.StringLogicalType:
			return arrow.BinaryTypes.String, nil
		case *schema.DecimalLogicalType:
			return decimalType(lt), nil
		case schema.NoLogicalType, schema.EnumLogicalType, schema.JSONLogicalType, schema.BSONLogicalType:
			return arrow.BinaryTypes.Binary, nil
		}
		return nil, cannot()
	case parquet.Types.FixedLenByteArray:
		switch lt := logical.(type) {
		case *schema.DecimalLogicalType:
			return decimalType(lt), nil
		case schema.NoLogicalType, schema.IntervalLogicalType, schema.UUIDLogicalType:
			return &arrow.FixedSizeBinaryType{ByteWidth: typeLen}, nil
		case schema.Float16LogicalType:
			return arrow.FixedWidthTypes.Float16, nil
		}
		return nil, cannot()
	}
	return nil, fmt.Errorf("invalid physical type %s", physical)
}

func intType(lt *schema.IntLogicalType) (arrow.DataType, error) {
	signed := lt.IsSigned()
	switch lt.BitWidth() {
	case 8:
		return pick(signed, arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Uint8), nil
	case 16:
		return pick(signed, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Uint16), nil
	case 32:
		return pick(signed, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Uint32), nil
	case 64:
		return pick(signed, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Uint64), nil
	}
	return nil, fmt.Errorf("invalid logical type %s", lt)
}

func pick(signed bool, s, u arrow.DataType) arrow.DataType {
	if signed {
		return s
	}
	return u
}

// maxDecimal128 is the largest precision of a decimal128 (Arrow's
// decimal128.MaxPrecision).
const maxDecimal128 = 38

func decimalType(lt *schema.DecimalLogicalType) arrow.DataType {
	if lt.Precision() <= maxDecimal128 {
		return &arrow.Decimal128Type{Precision: lt.Precision(), Scale: lt.Scale()}
	}
	return &arrow.Decimal256Type{Precision: lt.Precision(), Scale: lt.Scale()}
}

// timestampType: an instant (isAdjustedToUTC, or a legacy converted
// type, which the format says to read as one) is in UTC; a local
// date-time has no zone.
func timestampType(lt *schema.TimestampLogicalType) (arrow.DataType, error) {
	tz := ""
	if lt.IsAdjustedToUTC() || lt.IsFromConvertedType() {
		tz = "UTC"
	}
	switch lt.TimeUnit() {
	case schema.TimeUnitMillis:
		return &arrow.TimestampType{TimeZone: tz, Unit: arrow.Millisecond}, nil
	case schema.TimeUnitMicros:
		return &arrow.TimestampType{TimeZone: tz, Unit: arrow.Microsecond}, nil
	case schema.TimeUnitNanos:
		return &arrow.TimestampType{TimeZone: tz, Unit: arrow.Nanosecond}, nil
	}
	return nil, fmt.Errorf("unrecognized unit in %s", lt)
}
