package pqtype

import (
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/apache/arrow/go/v17/parquet/schema"
)

// TestSameAsPqarrow checks Of against pqarrow.FromParquet for every
// physical type under every logical and converted type annotation the
// schema package accepts for it: the same Arrow type, or an error from
// both.
func TestSameAsPqarrow(t *testing.T) {
	physical := []parquet.Type{
		parquet.Types.Boolean, parquet.Types.Int32, parquet.Types.Int64, parquet.Types.Int96,
		parquet.Types.Float, parquet.Types.Double, parquet.Types.ByteArray, parquet.Types.FixedLenByteArray,
	}
	logical := []schema.LogicalType{
		nil, schema.NoLogicalType{}, schema.StringLogicalType{}, schema.EnumLogicalType{},
		schema.JSONLogicalType{}, schema.BSONLogicalType{}, schema.DateLogicalType{},
		schema.UUIDLogicalType{}, schema.Float16LogicalType{}, schema.IntervalLogicalType{},
		schema.NullLogicalType{},
		schema.NewDecimalLogicalType(5, 2), schema.NewDecimalLogicalType(20, 3), schema.NewDecimalLogicalType(38, 3), schema.NewDecimalLogicalType(39, 3),
	}
	for _, utc := range []bool{true, false} {
		for _, u := range []schema.TimeUnitType{schema.TimeUnitMillis, schema.TimeUnitMicros, schema.TimeUnitNanos} {
			logical = append(logical, schema.NewTimeLogicalType(utc, u), schema.NewTimestampLogicalType(utc, u),
				schema.NewTimestampLogicalTypeWithOpts(schema.WithTSTimeUnitType(u), schema.WithTSFromConverted()))
		}
	}
	for _, w := range []int8{8, 16, 32, 64} {
		logical = append(logical, schema.NewIntLogicalType(w, true), schema.NewIntLogicalType(w, false))
	}
	var nodes []*schema.PrimitiveNode
	for _, pt := range physical {
		for _, lt := range logical {
			n, err := schema.NewPrimitiveNodeLogical("c", parquet.Repetitions.Optional, lt, pt, 16, -1)
			if err == nil {
				nodes = append(nodes, n)
			}
		}
		for ct := schema.ConvertedTypes.UTF8; ct <= schema.ConvertedTypes.Interval; ct++ {
			n, err := schema.NewPrimitiveNodeConverted("c", parquet.Repetitions.Required, pt, ct, 16, 10, 2, -1)
			if err == nil {
				nodes = append(nodes, n)
			}
		}
	}
	if len(nodes) < 60 {
		t.Fatalf("only %d annotated columns built", len(nodes))
	}
	for _, n := range nodes {
		name := fmt.Sprintf("%s/%s/%s", n.PhysicalType(), n.LogicalType(), n.ConvertedType())
		t.Run(name, func(t *testing.T) {
			root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, schema.FieldList{n}, -1)
			if err != nil {
				t.Fatal(err)
			}
			sc := schema.NewSchema(root)
			want, wantErr := pqarrow.FromParquet(sc, nil, nil)
			col := sc.Column(0)
			got, err := Of(col.PhysicalType(), col.LogicalType(), col.TypeLength())
			switch {
			case wantErr != nil && err != nil:
			case wantErr != nil || err != nil:
				t.Fatalf("Of = %v, %v; pqarrow: %v", got, err, wantErr)
			case !arrow.TypeEqual(got, want.Field(0).Type):
				t.Fatalf("Of = %s; pqarrow: %s", got, want.Field(0).Type)
			}
		})
	}
}
