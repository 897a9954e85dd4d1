package scan

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/corpus-audit/corpus-audit/schema"
)

// Limits that keep malformed files from making scan allocate without bound.
// Real files are far inside them.
const (
	// MaxRowGroupRows is the most rows a row group may claim. Decoded
	// batches take about 50 bytes a row, so a row group this large already
	// needs several gigabytes; writers use 122,880 (DuckDB) to 1,048,576
	// (Arrow) rows, 64 Mi in old pyarrow.
	MaxRowGroupRows = 1 << 27
	// MaxPageSize is the largest uncompressed page (data or dictionary) scan
	// accepts, in bytes. Writers cut pages at about 1 MiB.
	MaxPageSize = 256 << 20
	// maxFooterSize bounds the footer (file metadata) length.
	maxFooterSize = 256 << 20
	// tailSize is how much of the end of the file Open reads in one go: the
	// footer of a typical file fits in it.
	tailSize = 64 << 10
)

// The limits in force; the fuzz test lowers them to keep its inputs cheap.
var (
	maxRowGroupRows int64 = MaxRowGroupRows
	maxPageSize     int32 = MaxPageSize
)

// role indexes the six audit columns in File.cols.
const (
	roleContentID = iota
	roleAuthorID
	rolePlatform
	roleContentType
	roleVisibility
	roleCreatedAt
	numRoles
)

var roleNames = [numRoles]string{
	schema.ColContentID, schema.ColAuthorID, schema.ColPlatform,
	schema.ColContentType, schema.ColVisibility, schema.ColCreatedAt,
}

// kind is how a column's values are decoded.
type kind uint8

const (
	kString   kind = iota // BYTE_ARRAY → Strings
	kIDString             // BYTE_ARRAY → IDs (string content_id)
	kInt64                // INT64, signed
	kInt32                // INT32, signed
	kUint32               // INT32 holding an unsigned integer
	kUint64               // INT64 holding an unsigned integer (values ≥ 2^63 are errors)
	kTsMillis             // INT64 timestamp, milliseconds
	kTsMicros             // INT64 timestamp, microseconds
	kTsNanos              // INT64 timestamp, nanoseconds
	kInt96                // INT96 timestamp (Spark)
)

// column is one audit column as found in the file.
type column struct {
	name     string // in the file
	leaf     int    // leaf (column chunk) index
	kind     kind
	optional bool
	codec    format.CompressionCodec // of every chunk (mixed codecs are rejected)
	rewrite  bool                    // decoded through plainFile (compressed, or padded)
	absent   bool                    // not read: all nulls (tests only; see open)
}

// File is one opened corpus Parquet file. Safe for concurrent ReadRowGroup
// calls on different row groups (each with its own Batch).
type File struct {
	name     string
	size     int64
	r        io.ReaderAt
	pf       *parquet.File
	plain    *parquet.File // the same metadata with the audit columns uncompressed; see plainFile
	meta     *format.FileMetaData
	cols     [numRoles]column
	firstRow []int64 // firstRow[i] is row_in_file of row group i's row 0; one extra entry at the end
	dataEnd  int64   // offset where the footer starts: column chunks end before it
	// padChunks: the file comes from parquet-mr before 1.2.9, whose chunk
	// sizes leave out the dictionary page header (PARQUET-816); like Arrow,
	// read up to maxDictHeaderSize more bytes and stop after the last page.
	padChunks bool
	// deferIDBytes is the smallest content_id chunk a read with
	// Batch.LazyContentID fetches in ContentIDs rather than with the
	// other columns (coalesceGap; tests lower it).
	deferIDBytes int64
	// window is File.SetReadWindow's, windowAhead SetWindowAhead's.
	window      int64
	windowAhead bool
}

// maxDictHeaderSize is the padding for PARQUET-816 files (Arrow's value).
const maxDictHeaderSize = 100

// Open reads the footer of a Parquet file of size bytes, and checks that it
// has the six columns, top-level (not nested, not repeated), each of an
// accepted type:
//
//   - content_id: BYTE_ARRAY (STRING or no annotation), or INT64/INT32
//     (integer or no annotation);
//   - author_id: INT64 or INT32, signed or unsigned integer annotation or
//     none (unsigned values are widened; a UINT_64 value of 2^63 or more is
//     an error when read);
//   - platform, content_type, visibility: BYTE_ARRAY (STRING, ENUM or none);
//   - created_at: INT64 TIMESTAMP(MILLIS|MICROS|NANOS), UTC-adjusted or not
//     (both read as UTC), legacy TIMESTAMP_MILLIS/TIMESTAMP_MICROS, or
//     INT96 as Spark writes it.
//
// Columns may be REQUIRED or OPTIONAL. name is the file's URI, used in
// errors. ReadRowGroup reads from r later, so r must stay usable while the
// File is. Every error is an *Error.
func Open(r io.ReaderAt, size int64, name string, cols Columns) (*File, error) {
	mapped := [numRoles]string{cols.ContentID, cols.AuthorID, cols.Platform,
		cols.ContentType, cols.Visibility, cols.CreatedAt}
	for role, colName := range mapped {
		if colName == "" {
			return nil, &Error{File: name, RowGroup: -1, Row: -1,
				Err: fmt.Errorf("no column name given for %s", roleNames[role])}
		}
	}
	return open(r, size, name, mapped)
}

// open is Open with the column names by role. A role with no name is
// absent: it reads as all nulls. Only tests use that, to read single-column
// files such as parquet-testing's.
func open(r io.ReaderAt, size int64, name string, mapped [numRoles]string) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f = nil
			err = &Error{File: name, RowGroup: -1, Row: -1,
				Err: fmt.Errorf("malformed Parquet file: the decoder failed (%v)", p)}
		}
	}()
	fail := func(col string, err error) (*File, error) {
		return nil, &Error{File: name, Column: col, RowGroup: -1, Row: -1, Err: err}
	}

	if size < 12 {
		return fail("", fmt.Errorf("not a Parquet file: %d bytes is too short", size))
	}
	tr, footerLen, err := readTail(r, size)
	if err != nil {
		return fail("", err)
	}
	pf, err := parquet.OpenFile(tr, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
	)
	if err != nil {
		return fail("", fmt.Errorf("reading the footer: %w", err))
	}
	f = &File{
		name:    name,
		size:    size,
		r:       r,
		pf:      pf,
		meta:    pf.Metadata(),
		dataEnd: size - 8 - footerLen,

		deferIDBytes: coalesceGap,
		window:       DefaultReadWindow,
	}

	tops, err := topLevel(f.meta, pf.Root())
	if err != nil {
		return fail("", err)
	}
	for role, colName := range mapped {
		if colName == "" {
			f.cols[role] = column{absent: true}
			continue
		}
		c, err := f.resolve(role, colName, tops)
		if err != nil {
			return fail(colName, err)
		}
		f.cols[role] = c
	}
	if err := f.checkRowGroups(); err != nil {
		return nil, err
	}
	f.padChunks = parquetMRBefore129(f.meta.CreatedBy)
	var rewritten []int
	for role := range f.cols {
		c := &f.cols[role]
		c.codec = format.Uncompressed
		if c.absent {
			continue
		}
		if len(f.meta.RowGroups) > 0 {
			c.codec = f.meta.RowGroups[0].Columns[c.leaf].MetaData.Codec
		}
		if !codecSupported(c.codec) {
			return fail(c.name, fmt.Errorf("compression codec %s is not supported", c.codec))
		}
		// Optional columns are rewritten uncompressed too, so that a v2
		// page's null count can be set from its levels (walkPage).
		c.rewrite = c.codec != format.Uncompressed || f.padChunks || c.optional
		if c.rewrite {
			rewritten = append(rewritten, c.leaf)
		}
	}
	if len(rewritten) > 0 {
		if f.plain, err = plainFile(f.meta, rewritten); err != nil {
			return fail("", fmt.Errorf("internal error: %w", err))
		}
	}
	return f, nil
}

// parquetMRBefore129 reports whether created_by names parquet-mr older
// than 1.2.9, or parquet-mr with no version (as Arrow reads it).
func parquetMRBefore129(createdBy string) bool {
	app, rest, _ := strings.Cut(strings.TrimSpace(createdBy), " ")
	if app != "parquet-mr" {
		return false
	}
	rest = strings.TrimSpace(rest)
	v, ok := strings.CutPrefix(rest, "version ")
	if !ok {
		return true
	}
	v, _, _ = strings.Cut(v, " ")
	var major, minor, patch int
	n, _ := fmt.Sscanf(strings.NewReplacer("-", " ", ".", " ").Replace(v), "%d %d %d", &major, &minor, &patch)
	if n == 0 {
		return true
	}
	switch {
	case major != 1:
		return major < 1
	case minor != 2:
		return minor < 2
	}
	return patch < 9
}

func codecSupported(c format.CompressionCodec) bool {
	switch c {
	case format.Uncompressed, format.Snappy, format.Gzip, format.Brotli, format.Zstd, format.Lz4Raw, format.Lz4:
		return true
	}
	return false
}

// Virtual offsets of rewritten (decompressed) column chunks: far past any
// real file, one slot per leaf column.
const (
	virtualBase   = int64(1) << 56
	virtualStride = int64(1) << 40
)

func virtualOffset(leaf int) int64 { return virtualBase + int64(leaf)*virtualStride }

// plainFile opens a copy of the footer in which the given leaf columns are
// UNCOMPRESSED and each column's chunks start at its virtual offset. Scan
// decompresses those chunks itself (see codec.go) and decodes the result
// through this file's column chunks, so parquet-go never runs its own
// decompressors on them. The copy has no data: only its footer is read.
func plainFile(meta *format.FileMetaData, leaves []int) (*parquet.File, error) {
	m := *meta
	m.RowGroups = slices.Clone(meta.RowGroups)
	for i := range m.RowGroups {
		rg := &m.RowGroups[i]
		rg.Columns = slices.Clone(rg.Columns)
		for _, leaf := range leaves {
			md := &rg.Columns[leaf].MetaData
			md.Codec = format.Uncompressed
			md.DictionaryPageOffset = 0
			md.IndexPageOffset = 0
			md.BloomFilterOffset = 0
			md.DataPageOffset = virtualOffset(leaf)
			md.TotalCompressedSize = virtualStride - 1
			md.TotalUncompressedSize = virtualStride - 1
			rg.Columns[leaf].ColumnIndexOffset = 0
			rg.Columns[leaf].OffsetIndexOffset = 0
		}
	}
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &m)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, len(footer)+12)
	buf = append(buf, "PAR1"...)
	buf = append(buf, footer...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(footer)))
	buf = append(buf, "PAR1"...)
	return parquet.OpenFile(bytes.NewReader(buf), int64(len(buf)),
		parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
}

// NumRows returns the number of rows in the file.
func (f *File) NumRows() int64 { return f.firstRow[len(f.firstRow)-1] }

// NumRowGroups returns the number of row groups in the file.
func (f *File) NumRowGroups() int { return len(f.meta.RowGroups) }

// RowGroupRows returns the number of rows of row group i (0 when i is out of range).
func (f *File) RowGroupRows(i int) int64 {
	if i < 0 || i >= len(f.meta.RowGroups) {
		return 0
	}
	return f.meta.RowGroups[i].NumRows
}

// Name returns the file's URI as given to Open.
func (f *File) Name() string { return f.name }

// readTail reads the end of the file with one ReadAt (two if the footer is
// larger than tailSize), checks the magic and the footer length, proves the
// footer's Thrift is well-formed (see checkThrift), and returns a reader
// that serves the tail from memory so that parquet-go's footer reads do
// not go back to r.
func readTail(r io.ReaderAt, size int64) (*tailReader, int64, error) {
	n := min(size, tailSize)
	tail := make([]byte, n)
	if err := readFull(r, tail, size-n); err != nil {
		return nil, 0, fmt.Errorf("reading the footer: %w", err)
	}
	switch string(tail[n-4:]) {
	case "PAR1":
	case "PARE":
		return nil, 0, errors.New("encrypted Parquet files are not supported")
	default:
		return nil, 0, fmt.Errorf("not a Parquet file: it ends with %q, not \"PAR1\"", tail[n-4:])
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail[n-8:]))
	if footerLen > size-12 || footerLen > maxFooterSize {
		return nil, 0, fmt.Errorf("malformed Parquet file: footer length %d does not fit in a file of %d bytes", footerLen, size)
	}
	if footerLen+8 > n {
		more := make([]byte, footerLen+8)
		copy(more[footerLen+8-n:], tail)
		if err := readFull(r, more[:footerLen+8-n], size-footerLen-8); err != nil {
			return nil, 0, fmt.Errorf("reading the footer: %w", err)
		}
		tail = more
		n = int64(len(tail))
	}
	footer := tail[n-8-footerLen : n-8]
	used, err := checkThrift(footer)
	if err != nil {
		return nil, 0, fmt.Errorf("malformed footer: %w", err)
	}
	if int64(used) != footerLen {
		return nil, 0, fmt.Errorf("malformed footer: %d bytes of metadata in a %d-byte footer", used, footerLen)
	}
	return &tailReader{r: r, off: size - n, tail: tail}, footerLen, nil
}

// tailReader serves reads that fall in the cached tail from memory, others
// from r.
type tailReader struct {
	r    io.ReaderAt
	off  int64
	tail []byte
}

func (t *tailReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= t.off && off-t.off <= int64(len(t.tail)) {
		n := copy(p, t.tail[off-t.off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	return t.r.ReadAt(p, off)
}

// readFull fills p from r at off with one ReadAt.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read %d bytes at offset %d: got %d: %w", len(p), off, n, err)
}

// topCol is one top-level field of the schema.
type topCol struct {
	el   *format.SchemaElement
	col  *parquet.Column
	leaf int // first leaf index of the field's subtree
}

// topLevel lists the top-level fields of the schema with their leaf
// indexes, walking the flattened schema as the format defines it.
func topLevel(meta *format.FileMetaData, root *parquet.Column) ([]topCol, error) {
	s := meta.Schema
	children := root.Columns()
	var tops []topCol
	idx, leaf := 1, 0
	// skip returns the index after the subtree at i, counting leaves.
	var skip func(i, depth int) (int, error)
	skip = func(i, depth int) (int, error) {
		if i >= len(s) || depth > 64 {
			return 0, errors.New("malformed schema in the footer")
		}
		if s[i].Type.Valid {
			leaf++
			return i + 1, nil
		}
		j := i + 1
		for range max(s[i].NumChildren.V, 0) {
			var err error
			if j, err = skip(j, depth+1); err != nil {
				return 0, err
			}
		}
		return j, nil
	}
	n := 0
	if s[0].NumChildren.Valid {
		n = int(s[0].NumChildren.V)
	}
	if n != len(children) {
		return nil, fmt.Errorf("malformed schema: root claims %d fields, parquet-go found %d", n, len(children))
	}
	for k := 0; k < n; k++ {
		first := leaf
		next, err := skip(idx, 1)
		if err != nil {
			return nil, err
		}
		c := children[k]
		if c.Name() != s[idx].Name {
			return nil, fmt.Errorf("malformed schema: field %d is %q, parquet-go read %q", k, s[idx].Name, c.Name())
		}
		tops = append(tops, topCol{el: &s[idx], col: c, leaf: first})
		idx = next
	}
	return tops, nil
}

// resolve finds the column mapped to role and checks its type.
func (f *File) resolve(role int, name string, tops []topCol) (column, error) {
	var found []topCol
	for _, t := range tops {
		if t.el.Name == name {
			found = append(found, t)
		}
	}
	what := roleNames[role]
	if what == name {
		what = ""
	} else {
		what = " (read as " + what + ")"
	}
	switch len(found) {
	case 0:
		names := make([]string, 0, len(tops))
		for _, t := range tops {
			names = append(names, t.el.Name)
		}
		sort.Strings(names)
		list := strings.Join(names, ", ")
		if len(names) > 20 {
			list = strings.Join(names[:20], ", ") + fmt.Sprintf(", ... (%d in all)", len(names))
		}
		return column{}, fmt.Errorf("not found%s; the file's top-level columns are: %s", what, list)
	case 1:
	default:
		return column{}, fmt.Errorf("appears %d times at the top level of the schema%s", len(found), what)
	}
	t := found[0]
	el, c := t.el, t.col
	if !el.Type.Valid || !c.Leaf() {
		return column{}, fmt.Errorf("is a nested group (%s), not a primitive column%s", groupDesc(el), what)
	}
	rep := format.Required
	if el.RepetitionType.Valid {
		rep = el.RepetitionType.V
	}
	switch {
	case rep == format.Repeated || c.MaxRepetitionLevel() != 0:
		return column{}, fmt.Errorf("is repeated (a list of %s), not a single value%s", typeDesc(el), what)
	case rep != format.Required && rep != format.Optional:
		return column{}, fmt.Errorf("has unknown repetition %d%s", rep, what)
	}
	optional := rep == format.Optional
	if want := 0; optional {
		want = 1
		if c.MaxDefinitionLevel() != want {
			return column{}, fmt.Errorf("has definition level %d, expected %d%s", c.MaxDefinitionLevel(), want, what)
		}
	} else if c.MaxDefinitionLevel() != 0 {
		return column{}, fmt.Errorf("has definition level %d, expected 0%s", c.MaxDefinitionLevel(), what)
	}
	if c.Index() != t.leaf {
		return column{}, fmt.Errorf("internal error: leaf index %d, parquet-go says %d", t.leaf, c.Index())
	}

	k, ok := classify(role, el)
	if !ok {
		var want string
		switch role {
		case roleContentID:
			want = "a string or an integer"
		case roleAuthorID:
			want = "an integer"
		case roleCreatedAt:
			want = "a timestamp"
		default:
			want = "a string"
		}
		return column{}, fmt.Errorf("type %s is not %s%s", typeDesc(el), want, what)
	}
	// parquet-go picks its decoder from the annotation; make sure it
	// agrees with the physical type, or it would misread the bytes.
	if got, want := c.Type().Kind(), parquet.Kind(el.Type.V); got != want {
		return column{}, fmt.Errorf("type %s: parquet-go would decode it as %s%s", typeDesc(el), got, what)
	}
	return column{name: name, leaf: t.leaf, kind: k, optional: optional}, nil
}

// classify decides how a column of the given schema element is decoded
// for role, or reports that its type is not accepted.
func classify(role int, el *format.SchemaElement) (kind, bool) {
	phys := el.Type.V
	lt := el.LogicalType.Value
	ct, hasCT := el.ConvertedType.V, el.ConvertedType.Valid
	switch role {
	case roleContentID:
		if phys == format.ByteArray && isPlainString(lt, ct, hasCT, false) {
			return kIDString, true
		}
		return intKind(phys, lt, ct, hasCT)
	case roleAuthorID:
		return intKind(phys, lt, ct, hasCT)
	case rolePlatform, roleContentType, roleVisibility:
		if phys == format.ByteArray && isPlainString(lt, ct, hasCT, true) {
			return kString, true
		}
		return 0, false
	case roleCreatedAt:
		switch phys {
		case format.Int64:
			if lt != nil {
				ts, ok := lt.(*format.TimestampType)
				if !ok {
					return 0, false
				}
				switch ts.Unit.Value.(type) {
				case *format.MilliSeconds:
					return kTsMillis, true
				case *format.MicroSeconds:
					return kTsMicros, true
				case *format.NanoSeconds:
					return kTsNanos, true
				}
				return 0, false
			}
			if hasCT {
				switch ct {
				case deprecated.TimestampMillis:
					return kTsMillis, true
				case deprecated.TimestampMicros:
					return kTsMicros, true
				}
			}
			return 0, false
		case format.Int96:
			if lt == nil && !hasCT {
				return kInt96, true
			}
		}
		return 0, false
	}
	return 0, false
}

func isPlainString(lt format.LogicalTypeValue, ct deprecated.ConvertedType, hasCT, enumOK bool) bool {
	if lt != nil {
		switch lt.(type) {
		case *format.StringType:
			return true
		case *format.EnumType:
			return enumOK
		}
		return false
	}
	if !hasCT {
		return true
	}
	return ct == deprecated.UTF8 || (enumOK && ct == deprecated.Enum)
}

func intKind(phys format.Type, lt format.LogicalTypeValue, ct deprecated.ConvertedType, hasCT bool) (kind, bool) {
	if phys != format.Int32 && phys != format.Int64 {
		return 0, false
	}
	signed := true
	switch {
	case lt != nil:
		it, ok := lt.(*format.IntType)
		if !ok {
			return 0, false
		}
		signed = it.IsSigned
	case hasCT:
		switch ct {
		case deprecated.Int8, deprecated.Int16, deprecated.Int32, deprecated.Int64:
		case deprecated.Uint8, deprecated.Uint16, deprecated.Uint32, deprecated.Uint64:
			signed = false
		default:
			return 0, false
		}
	}
	switch {
	case phys == format.Int64 && signed:
		return kInt64, true
	case phys == format.Int64:
		return kUint64, true
	case signed:
		return kInt32, true
	default:
		return kUint32, true
	}
}

// typeDesc describes a leaf's type for error messages, e.g. "INT32 (DATE)".
func typeDesc(el *format.SchemaElement) string {
	if !el.Type.Valid {
		return groupDesc(el)
	}
	s := el.Type.V.String()
	if el.Type.V < format.Boolean || el.Type.V > format.FixedLenByteArray {
		s = fmt.Sprintf("unknown physical type %d", el.Type.V)
	}
	if el.LogicalType.Value != nil {
		return s + " (" + el.LogicalType.Value.String() + ")"
	}
	if el.ConvertedType.Valid {
		return s + " (" + convertedName(el.ConvertedType.V) + ")"
	}
	return s
}

func groupDesc(el *format.SchemaElement) string {
	if el.LogicalType.Value != nil {
		return "group " + el.LogicalType.Value.String()
	}
	if el.ConvertedType.Valid {
		return "group " + convertedName(el.ConvertedType.V)
	}
	return "group"
}

var convertedNames = [...]string{
	"UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE",
	"TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS",
	"UINT_8", "UINT_16", "UINT_32", "UINT_64", "INT_8", "INT_16", "INT_32",
	"INT_64", "JSON", "BSON", "INTERVAL",
}

func convertedName(ct deprecated.ConvertedType) string {
	if ct >= 0 && int(ct) < len(convertedNames) {
		return convertedNames[ct]
	}
	return fmt.Sprintf("converted type %d", ct)
}

// checkRowGroups checks the row counts and, for the audit columns, the
// column chunk metadata of every row group, and fills firstRow.
func (f *File) checkRowGroups() error {
	rgs := f.meta.RowGroups
	f.firstRow = make([]int64, len(rgs)+1)
	var total int64
	for i := range rgs {
		rg := &rgs[i]
		n := rg.NumRows
		if n < 0 || n > maxRowGroupRows {
			return &Error{File: f.name, RowGroup: i, Row: -1,
				Err: fmt.Errorf("row group claims %d rows (at most %d supported)", n, maxRowGroupRows)}
		}
		f.firstRow[i] = total
		total += n
		for role := range f.cols {
			c := &f.cols[role]
			if c.absent {
				continue
			}
			if err := f.checkChunk(i, c); err != nil {
				return &Error{File: f.name, Column: c.name, RowGroup: i, Row: -1, Err: err}
			}
		}
		if err := f.checkOverlap(i); err != nil {
			return err
		}
	}
	f.firstRow[len(rgs)] = total
	if total != f.meta.NumRows {
		return &Error{File: f.name, RowGroup: -1, Row: -1,
			Err: fmt.Errorf("malformed footer: the file claims %d rows but its row groups hold %d", f.meta.NumRows, total)}
	}
	return nil
}

// checkChunk validates one column chunk's metadata against the file: the
// byte range must lie between the header magic and the footer, and the
// physical type and codec must be what parquet-go will decode it with.
func (f *File) checkChunk(rg int, c *column) error {
	cols := f.meta.RowGroups[rg].Columns
	if c.leaf >= len(cols) {
		return fmt.Errorf("row group has only %d column chunks", len(cols))
	}
	cc := &cols[c.leaf]
	if cc.FilePath != "" {
		return fmt.Errorf("column chunk is stored in another file (%q); not supported", cc.FilePath)
	}
	if cc.CryptoMetadata.Value != nil || len(cc.EncryptedColumnMetadata) > 0 {
		return errors.New("encrypted columns are not supported")
	}
	md := &cc.MetaData
	if md.Type != fileLeafType(c) {
		return fmt.Errorf("column chunk has physical type %s, the schema says %s", md.Type, fileLeafType(c))
	}
	if rg > 0 {
		// parquet-go v0.32 decodes every chunk of a column with the codec of
		// the chunk in row group 0; a file mixing codecs would be misread.
		if first := f.meta.RowGroups[0].Columns[c.leaf].MetaData.Codec; md.Codec != first {
			return fmt.Errorf("column chunk uses codec %s but row group 0 uses %s; files that mix codecs within a column are not supported", md.Codec, first)
		}
	}
	start, length := chunkRange(md)
	if length < 0 || start < 4 || start > f.dataEnd || length > f.dataEnd-start {
		return fmt.Errorf("malformed footer: column chunk at offset %d, %d bytes, does not lie between the header (4 bytes) and the footer (at %d)",
			start, length, f.dataEnd)
	}
	return nil
}

// checkOverlap fails if two audit columns' chunks in row group rg share
// bytes (a footer that points one column at another's chunk would give it
// the other's values). A column mapped to two roles is one chunk.
func (f *File) checkOverlap(rg int) error {
	type span struct {
		start, end int64
		role       int
	}
	var spans []span
	seen := map[int]bool{}
	for role := range f.cols {
		c := &f.cols[role]
		if c.absent || seen[c.leaf] {
			continue
		}
		seen[c.leaf] = true
		start, n := chunkRange(&f.meta.RowGroups[rg].Columns[c.leaf].MetaData)
		spans = append(spans, span{start, start + n, role})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if a, b := spans[i-1], spans[i]; b.start < a.end {
			return &Error{File: f.name, Column: f.cols[b.role].name, RowGroup: rg, Row: -1,
				Err: fmt.Errorf("malformed footer: column chunk at offset %d overlaps column %s's (%d..%d)", b.start, f.cols[a.role].name, a.start, a.end)}
		}
	}
	return nil
}

// fileLeafType is the physical type of an audit column.
func fileLeafType(c *column) format.Type {
	switch c.kind {
	case kString, kIDString:
		return format.ByteArray
	case kInt32, kUint32:
		return format.Int32
	case kInt96:
		return format.Int96
	default:
		return format.Int64
	}
}

// chunkRange is where a column chunk's bytes are, as parquet-go reads them:
// from the dictionary page if there is one, else from the first data page,
// for total_compressed_size bytes.
func chunkRange(md *format.ColumnMetaData) (start, length int64) {
	start = md.DataPageOffset
	if md.DictionaryPageOffset != 0 {
		start = md.DictionaryPageOffset
	}
	return start, md.TotalCompressedSize
}
