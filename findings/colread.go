package findings

import (
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	pqschema "github.com/apache/arrow/go/v17/parquet/schema"

	"github.com/corpus-audit/corpus-audit/internal/pqtype"
	"github.com/corpus-audit/corpus-audit/scan"
	"github.com/corpus-audit/corpus-audit/schema"
)

// This file reads a findings file's columns with Arrow's Parquet column
// readers, a row group at a time (pqarrow is not linked; see colwrite.go).
// A file need not come from this package's Writer: the columns are found
// by name, in any order, among other columns, as long as each has the
// Arrow type of Schema() (internal/pqtype names the file's types as Arrow
// does). Required columns may be stored as optional, and categories as
// any Parquet LIST (3-level, or the legacy 2-level form) whose elements
// may be optional; a null where Schema() has none is an error naming the
// row. Arrow's readers trust their input (they can loop for ever or
// allocate what a header claims), so every chunk is vetted first:
// checkChunk (scan.CheckPages) and checkLevels (levels.go).

// column is where a findings column is in a file.
type column struct {
	name string
	leaf int // index of its leaf column
	// maxDef is the leaf's definition level of a present value: 0 for a
	// required flat column, 1 for an optional one; 1 to 3 for categories'
	// elements, by how many of the list and its elements are optional.
	maxDef int16
	// listDef, for categories: the definition level of a present, empty
	// list (a lower one is a null list; above it up to maxDef, a null
	// element).
	listDef int16
}

// locateColumns finds every column of Schema() in sc and checks its type.
func locateColumns(sc *pqschema.Schema) ([numCols]column, error) {
	var cols [numCols]column
	root := sc.Root()
	for i, want := range arrowSchema.Fields() {
		found := -1
		n := 0
		for j := 0; j < root.NumFields(); j++ {
			if root.Field(j).Name() == want.Name {
				found, n = j, n+1
			}
		}
		if n != 1 {
			return cols, fmt.Errorf("column %s: found %d times, want once", want.Name, n)
		}
		node := root.Field(found)
		c := column{name: want.Name}
		var err error
		if i == iCategories {
			err = c.locateList(sc, node)
		} else {
			err = c.locateFlat(sc, node, want.Type)
		}
		if err != nil {
			return cols, fmt.Errorf("column %s: %w", want.Name, err)
		}
		cols[i] = c
	}
	return cols, nil
}

func (c *column) locateFlat(sc *pqschema.Schema, node pqschema.Node, want arrow.DataType) error {
	p, ok := node.(*pqschema.PrimitiveNode)
	if !ok || node.RepetitionType() == parquet.Repetitions.Repeated {
		return fmt.Errorf("type %s, want %s", describe(node), want)
	}
	got, err := pqtype.Of(p.PhysicalType(), p.LogicalType(), p.TypeLength())
	if err != nil {
		return err
	}
	if !arrow.TypeEqual(got, want) {
		return fmt.Errorf("type %s, want %s", got, want)
	}
	c.leaf = sc.ColumnIndexByNode(p)
	if node.RepetitionType() == parquet.Repetitions.Optional {
		c.maxDef = 1
	}
	return nil
}

// locateList accepts a LIST of strings: a group annotated LIST holding one
// repeated field, which is either a group of one string field (the
// standard 3-level form) or a string itself (the legacy 2-level form).
func (c *column) locateList(sc *pqschema.Schema, node pqschema.Node) error {
	wrong := func() error { return fmt.Errorf("type %s, want %s", describe(node), categoriesType) }
	g, ok := node.(*pqschema.GroupNode)
	if !ok || node.RepetitionType() == parquet.Repetitions.Repeated || g.NumFields() != 1 ||
		!(g.LogicalType().Equals(pqschema.ListLogicalType{}) || g.ConvertedType() == pqschema.ConvertedTypes.List) {
		return wrong()
	}
	rep := g.Field(0)
	if rep.RepetitionType() != parquet.Repetitions.Repeated {
		return wrong()
	}
	var elem *pqschema.PrimitiveNode
	switch r := rep.(type) {
	case *pqschema.PrimitiveNode:
		elem = r
	case *pqschema.GroupNode:
		if r.NumFields() != 1 {
			return wrong()
		}
		if elem, ok = r.Field(0).(*pqschema.PrimitiveNode); !ok || elem.RepetitionType() == parquet.Repetitions.Repeated {
			return wrong()
		}
	}
	t, err := pqtype.Of(elem.PhysicalType(), elem.LogicalType(), elem.TypeLength())
	if err != nil {
		return err
	}
	if !arrow.TypeEqual(t, arrow.BinaryTypes.String) {
		return fmt.Errorf("elements are %s, want %s", t, arrow.BinaryTypes.String)
	}
	c.leaf = sc.ColumnIndexByNode(elem)
	if node.RepetitionType() == parquet.Repetitions.Optional {
		c.listDef = 1
	}
	c.maxDef = c.listDef + 1 // the repeated field
	if elem != rep && elem.RepetitionType() == parquet.Repetitions.Optional {
		c.maxDef++
	}
	if d := sc.Column(c.leaf).MaxDefinitionLevel(); d != c.maxDef {
		return fmt.Errorf("definition level %d, want %d", d, c.maxDef)
	}
	return nil
}

// describe names a node's type for errors.
func describe(n pqschema.Node) string {
	rep := ""
	if n.RepetitionType() == parquet.Repetitions.Repeated {
		rep = "repeated "
	}
	if p, ok := n.(*pqschema.PrimitiveNode); ok {
		if t, err := pqtype.Of(p.PhysicalType(), p.LogicalType(), p.TypeLength()); err == nil {
			return rep + t.String()
		}
		return rep + p.PhysicalType().String()
	}
	g := n.(*pqschema.GroupNode)
	if lt := g.LogicalType(); lt != nil && !lt.IsNone() {
		return rep + "group (" + lt.String() + ")"
	}
	return rep + "group"
}

// rowGroup holds one row group of a findings file, a value per row and
// column ("spaced": a null row has a zero value and null set).
type rowGroup struct {
	n     int
	first int64            // row number in the file of the first row
	ints  [numCols][]int64 // int64, timestamp, date32 and int32 columns
	strs  [numCols][]string
	null  [numCols][]bool
	cats  [][]schema.Category

	intern map[string]string // repeated strings share one copy
	def    []int16
	rep    []int16
	i64    []int64
	i32    []int32
	bytes  []parquet.ByteArray
}

// maxRep is the column's maximum repetition level: 1 for categories.
func (c *column) maxRep() int16 {
	if c.name == ColCategories {
		return 1
	}
	return 0
}

// checkChunk checks the pages of column c's chunk in rgr (scan.CheckPages)
// before Arrow's reader reads them, and that it holds a value (or null)
// for each of the row group's rows rows (at least one for categories).
func checkChunk(data []byte, rgr *file.RowGroupReader, c *column, rows int) error {
	cc, err := rgr.MetaData().ColumnChunk(c.leaf)
	if err != nil {
		return err
	}
	repeated := c.maxRep() > 0
	if nv := cc.NumValues(); nv != int64(rows) && !(repeated && nv >= int64(rows)) {
		return fmt.Errorf("the chunk holds %d values for the row group's %d rows", nv, rows)
	}
	start := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
		start = cc.DictionaryPageOffset()
	}
	size := cc.TotalCompressedSize()
	if start < 0 || size < 0 || start > int64(len(data)) || size > int64(len(data))-start {
		return fmt.Errorf("chunk at bytes %d+%d outside the file's %d", start, size, len(data))
	}
	return scan.CheckPages(data[start:start+size], cc.NumValues(), repeated)
}

// readBatch is how many levels a ReadBatch call reads at most.
const readBatch = 4096

// batchReader is a typed column chunk reader of Arrow's.
type batchReader[T any] interface {
	HasNext() bool
	ReadBatch(batchSize int64, values []T, defLvls, repLvls []int16) (int64, int, error)
	Err() error
}

// readChunk reads a column chunk to its end, calling put with every batch
// of levels and the batch's non-null values (valid until the next call).
func readChunk[T any](r batchReader[T], vals *[]T, def, rep *[]int16, put func(def, rep []int16, vals []T) error) error {
	if len(*vals) < readBatch {
		*vals = make([]T, readBatch)
	}
	if len(*def) < readBatch {
		*def, *rep = make([]int16, readBatch), make([]int16, readBatch)
	}
	for r.HasNext() {
		total, n, err := r.ReadBatch(readBatch, *vals, *def, *rep)
		if err != nil {
			return err
		}
		if total <= 0 || total > readBatch || n < 0 || n > int(total) {
			// A page that yields no levels would loop for ever.
			return fmt.Errorf("malformed page: read %d levels and %d values", total, n)
		}
		if err := put((*def)[:total], (*rep)[:total], (*vals)[:n]); err != nil {
			return err
		}
	}
	return r.Err()
}

// read reads the row group rgr's findings columns from data, the file;
// first is the row number in the file of the row group's first row. The
// caller has checked the row count against maxPartRows.
func (rg *rowGroup) read(data []byte, rgr *file.RowGroupReader, cols *[numCols]column, first int64) error {
	rg.n, rg.first = int(rgr.NumRows()), first
	if rg.intern == nil {
		rg.intern = map[string]string{}
	}
	// Every chunk's pages are vetted before any is decoded or anything is
	// sized by the row count.
	for i := range cols {
		c := &cols[i]
		if err := checkChunk(data, rgr, c, rg.n); err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
		if err := checkLevels(rgr, c.leaf, rgr.MetaData().Schema.Column(c.leaf).PhysicalType(), c.maxDef, c.maxRep()); err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
	}
	for i := range cols {
		c := &cols[i]
		cr, err := rgr.Column(c.leaf)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
		if i == iCategories {
			err = rg.readCategories(cr, c)
		} else {
			err = rg.readFlat(cr, c, i)
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
	}
	return nil
}

// readFlat reads flat column i.
func (rg *rowGroup) readFlat(cr file.ColumnChunkReader, c *column, i int) error {
	rg.null[i] = resize(rg.null[i], rg.n)
	clear(rg.null[i])
	row := 0
	// each visits the batch's levels: present(r, k) for the k-th value of
	// the batch at row r, and marks the nulls.
	each := func(def []int16, nvals int, present func(r, k int)) error {
		k := 0
		for j := range def {
			if row >= rg.n {
				return fmt.Errorf("more than the row group's %d rows", rg.n)
			}
			if c.maxDef > 0 && (def[j] < 0 || def[j] > c.maxDef) {
				return fmt.Errorf("definition level %d above the column's %d", def[j], c.maxDef)
			}
			if c.maxDef == 0 || def[j] == c.maxDef {
				if k >= nvals {
					return errors.New("fewer values than levels say")
				}
				present(row, k)
				k++
			} else {
				rg.null[i][row] = true
			}
			row++
		}
		return nil
	}
	var err error
	switch r := cr.(type) {
	case *file.Int64ColumnChunkReader:
		out := resize(rg.ints[i], rg.n)
		rg.ints[i] = out
		err = readChunk(r, &rg.i64, &rg.def, &rg.rep, func(def, _ []int16, vals []int64) error {
			return each(def, len(vals), func(r, k int) { out[r] = vals[k] })
		})
	case *file.Int32ColumnChunkReader:
		out := resize(rg.ints[i], rg.n)
		rg.ints[i] = out
		err = readChunk(r, &rg.i32, &rg.def, &rg.rep, func(def, _ []int16, vals []int32) error {
			return each(def, len(vals), func(r, k int) { out[r] = int64(vals[k]) })
		})
	case *file.ByteArrayColumnChunkReader:
		out := resize(rg.strs[i], rg.n)
		clear(out)
		rg.strs[i] = out
		err = readChunk(r, &rg.bytes, &rg.def, &rg.rep, func(def, _ []int16, vals []parquet.ByteArray) error {
			return each(def, len(vals), func(r, k int) { out[r] = rg.str(vals[k]) })
		})
	default:
		return fmt.Errorf("unexpected column reader %T", cr)
	}
	if err != nil {
		return err
	}
	if row != rg.n {
		return fmt.Errorf("%d values for the row group's %d rows", row, rg.n)
	}
	return nil
}

// readCategories reads the categories column, checking its nulls as it
// goes: a null list or element has no category to give.
func (rg *rowGroup) readCategories(cr file.ColumnChunkReader, c *column) error {
	r, ok := cr.(*file.ByteArrayColumnChunkReader)
	if !ok {
		return fmt.Errorf("unexpected column reader %T", cr)
	}
	rg.cats = resize(rg.cats, rg.n)
	row := -1
	err := readChunk(r, &rg.bytes, &rg.def, &rg.rep, func(def, rep []int16, vals []parquet.ByteArray) error {
		k := 0
		for j := range def {
			if rep[j] < 0 || rep[j] > 1 || def[j] < 0 || def[j] > c.maxDef {
				return fmt.Errorf("levels (repetition %d, definition %d) above the column's (1, %d)", rep[j], def[j], c.maxDef)
			}
			if rep[j] == 0 {
				row++
				if row >= rg.n {
					return fmt.Errorf("more than the row group's %d rows", rg.n)
				}
				rg.cats[row] = nil
			} else if row < 0 {
				return errors.New("the first level continues a list")
			}
			switch d := def[j]; {
			case d == c.maxDef:
				if k >= len(vals) {
					return errors.New("fewer values than levels say")
				}
				rg.cats[row] = append(rg.cats[row], schema.Category(rg.str(vals[k])))
				k++
			case d == c.listDef:
				// An empty list.
			case d < c.listDef:
				return fmt.Errorf("row %d: null in a required column", rg.first+int64(row))
			default:
				return fmt.Errorf("row %d: null category", rg.first+int64(row))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if row+1 != rg.n {
		return fmt.Errorf("%d lists for the row group's %d rows", row+1, rg.n)
	}
	return nil
}

// str returns b as a string, sharing one copy of repeated values (up to
// 64 Ki distinct ones: snapshot, platform, source file…).
func (rg *rowGroup) str(b parquet.ByteArray) string {
	if s, ok := rg.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(rg.intern) < 1<<16 {
		rg.intern[s] = s
	}
	return s
}

// appendTo appends the row group's findings to dst; first is the row
// number in the file of its first row.
func (rg *rowGroup) appendTo(dst []schema.Finding, first int64) ([]schema.Finding, error) {
	for r := 0; r < rg.n; r++ {
		for _, i := range []int{iSnapshot, iSourceFile, iRowGroup, iRowInFile} {
			if rg.null[i][r] {
				return dst, fmt.Errorf("column %s row %d: null in a required column", arrowSchema.Field(i).Name, first+int64(r))
			}
		}
		optStr := func(i int) *string {
			if rg.null[i][r] {
				return nil
			}
			s := rg.strs[i][r]
			return &s
		}
		optInt := func(i int) *int64 {
			if rg.null[i][r] {
				return nil
			}
			v := rg.ints[i][r]
			return &v
		}
		f := schema.Finding{
			Snapshot:           rg.strs[iSnapshot][r],
			ContentID:          optStr(iContentID),
			AuthorID:           optInt(iAuthorID),
			Platform:           optStr(iPlatform),
			ContentType:        optStr(iContentType),
			Visibility:         optStr(iVisibility),
			CreatedAt:          optInt(iCreatedAt),
			Categories:         rg.cats[r],
			ObjectionAccountID: optInt(iObjectionAccountID),
			ObjectedAt:         optInt(iObjectedAt),
			AccountsCenterID:   optInt(iAccountsCenterID),
			SourceFile:         rg.strs[iSourceFile][r],
			RowGroup:           int32(rg.ints[iRowGroup][r]),
			RowInFile:          rg.ints[iRowInFile][r],
		}
		if !rg.null[iBirthDate][r] {
			v := int32(rg.ints[iBirthDate][r])
			f.BirthDate = &v
		}
		if f.Categories == nil {
			f.Categories = []schema.Category{}
		}
		dst = append(dst, f)
	}
	return dst, nil
}

// resize returns s with length n, reusing its array when it can.
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
