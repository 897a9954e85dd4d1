// Package findings writes a run's findings — one row per flagged corpus
// row, see schema.Finding — as Parquet files in the data lake, and reads
// them back for tests and tools (diff, explain).
//
// A run's findings are a sequence of part files, dir/part-00000.parquet,
// part-00001.parquet, …, each uploaded whole (atomically) once complete.
// The files are written with Apache Arrow (v17) so that DuckDB, pandas
// (pyarrow) and Spark read them as they are: plain Parquet logical types
// (STRING, DATE, TIMESTAMP(isAdjustedToUTC=true, MICROS), a standard
// 3-level LIST), zstd by default, row groups of at most 32 Ki rows, and
// byte-identical output for identical findings.
//
// Arrow stays behind this package's API: callers see schema.Finding only.
package findings

import (
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet"
	pqschema "github.com/apache/arrow/go/v17/parquet/schema"
)

// Column names of a findings file, in file order (the `parquet` tags of
// schema.Finding).
const (
	ColSnapshot           = "snapshot"
	ColContentID          = "content_id"
	ColAuthorID           = "author_id"
	ColPlatform           = "platform"
	ColContentType        = "content_type"
	ColVisibility         = "visibility"
	ColCreatedAt          = "created_at"
	ColCategories         = "categories"
	ColBirthDate          = "birth_date"
	ColObjectionAccountID = "objection_account_id"
	ColObjectedAt         = "objected_at"
	ColAccountsCenterID   = "accounts_center_id"
	ColSourceFile         = "source_file"
	ColRowGroup           = "row_group"
	ColRowInFile          = "row_in_file"
)

// MetaSchemaKey is the key of the file key-value metadata entry that names
// the findings format; its value is SchemaVersion.
const MetaSchemaKey = "corpus-audit.schema"

// SchemaVersion identifies the findings file format. Read refuses files
// that carry another version.
const SchemaVersion = "findings/v1"

// Column indexes in file order.
const (
	iSnapshot = iota
	iContentID
	iAuthorID
	iPlatform
	iContentType
	iVisibility
	iCreatedAt
	iCategories
	iBirthDate
	iObjectionAccountID
	iObjectedAt
	iAccountsCenterID
	iSourceFile
	iRowGroup
	iRowInFile
	numCols
)

var (
	tsUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

	// categoriesType is list<element: utf8 not null>, the field names of a
	// standard Parquet LIST as Arrow reads it back.
	categoriesType = arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.BinaryTypes.String, Nullable: false})

	arrowSchema = arrow.NewSchema([]arrow.Field{
		{Name: ColSnapshot, Type: arrow.BinaryTypes.String, Nullable: false},
		{Name: ColContentID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColAuthorID, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: ColPlatform, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColContentType, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColVisibility, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColCreatedAt, Type: tsUTC, Nullable: true},
		{Name: ColCategories, Type: categoriesType, Nullable: false},
		{Name: ColBirthDate, Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: ColObjectionAccountID, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: ColObjectedAt, Type: tsUTC, Nullable: true},
		{Name: ColAccountsCenterID, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: ColSourceFile, Type: arrow.BinaryTypes.String, Nullable: false},
		{Name: ColRowGroup, Type: arrow.PrimitiveTypes.Int32, Nullable: false},
		{Name: ColRowInFile, Type: arrow.PrimitiveTypes.Int64, Nullable: false},
	}, ptrMeta(arrow.NewMetadata([]string{MetaSchemaKey}, []string{SchemaVersion})))
)

func ptrMeta(m arrow.Metadata) *arrow.Metadata { return &m }

// Schema returns the Arrow schema of a findings file: the columns of
// schema.Finding in order, with their Arrow types and nullability. Its
// metadata holds MetaSchemaKey = SchemaVersion. The schema is shared and
// must not be modified.
func Schema() *arrow.Schema { return arrowSchema }

// dictArrayColumns are the low-cardinality string columns, which the
// Writer collects as dictionary codes (see dictStrings) and writes without
// column statistics.
var dictArrayColumns = []string{
	ColSnapshot, ColPlatform, ColContentType, ColVisibility,
	ColCategories + ".list.element", ColSourceFile,
}

// dictColumns are the Parquet column paths written with dictionary
// encoding: the low-cardinality ones. The others (ids, timestamps, row
// numbers) are mostly distinct, where a dictionary only costs.
var dictColumns = append(slices.Clone(dictArrayColumns), ColRowGroup)

// parquetSchema builds the Parquet schema of a findings file by hand.
// pqarrow's own conversion would make the elements of categories OPTIONAL
// whatever the Arrow field says; here they are REQUIRED, as specified.
func parquetSchema() (*pqschema.GroupNode, error) {
	req, opt := parquet.Repetitions.Required, parquet.Repetitions.Optional
	str := pqschema.StringLogicalType{}
	ts := pqschema.NewTimestampLogicalTypeForce(true, pqschema.TimeUnitMicros)
	var firstErr error
	prim := func(name string, rep parquet.Repetition, lt pqschema.LogicalType, pt parquet.Type) pqschema.Node {
		n, err := pqschema.NewPrimitiveNodeLogical(name, rep, lt, pt, -1, -1)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("findings schema: column %s: %w", name, err)
		}
		return n
	}
	element := prim("element", req, str, parquet.Types.ByteArray)
	list, err := pqschema.NewGroupNode("list", parquet.Repetitions.Repeated, pqschema.FieldList{element}, -1)
	if err != nil {
		return nil, fmt.Errorf("findings schema: column %s: %w", ColCategories, err)
	}
	categories, err := pqschema.NewGroupNodeLogical(ColCategories, req, pqschema.FieldList{list}, pqschema.NewListLogicalType(), -1)
	if err != nil {
		return nil, fmt.Errorf("findings schema: column %s: %w", ColCategories, err)
	}
	fields := pqschema.FieldList{
		prim(ColSnapshot, req, str, parquet.Types.ByteArray),
		prim(ColContentID, opt, str, parquet.Types.ByteArray),
		prim(ColAuthorID, opt, nil, parquet.Types.Int64),
		prim(ColPlatform, opt, str, parquet.Types.ByteArray),
		prim(ColContentType, opt, str, parquet.Types.ByteArray),
		prim(ColVisibility, opt, str, parquet.Types.ByteArray),
		prim(ColCreatedAt, opt, ts, parquet.Types.Int64),
		categories,
		prim(ColBirthDate, opt, pqschema.DateLogicalType{}, parquet.Types.Int32),
		prim(ColObjectionAccountID, opt, nil, parquet.Types.Int64),
		prim(ColObjectedAt, opt, ts, parquet.Types.Int64),
		prim(ColAccountsCenterID, opt, nil, parquet.Types.Int64),
		prim(ColSourceFile, req, str, parquet.Types.ByteArray),
		prim(ColRowGroup, req, nil, parquet.Types.Int32),
		prim(ColRowInFile, req, nil, parquet.Types.Int64),
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return pqschema.NewGroupNode("schema", req, fields, -1)
}
