package lookup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	stdcsv "encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/corpus-audit/corpus-audit/internal/pqtype"
	"github.com/corpus-audit/corpus-audit/scan"
	"github.com/parquet-go/parquet-go/format"
	"hash"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/csv"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/metadata"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// Reading tunables.
const (
	batchRows   = 64 << 10 // rows per record batch
	csvBufSize  = 4 << 20  // read size for CSV files
	hashBufSize = 4 << 20  // read size when hashing a file
)

// kind is the type a table column is read as.
type kind uint8

const (
	kindID   kind = iota // int64 (Parquet INT64 or INT32); CSV: decimal integer
	kindDate             // days since the epoch (Parquet DATE); CSV: YYYY-MM-DD
	kindTime             // an instant (Parquet TIMESTAMP of any unit, or INT96); CSV: see parseTimestamp
)

func (k kind) String() string {
	switch k {
	case kindID:
		return "int64 or int32"
	case kindDate:
		return "DATE (date32)"
	default:
		return "TIMESTAMP"
	}
}

// colSpec is one column a table must have.
type colSpec struct {
	name     string
	kind     kind
	nullable bool
}

// tableSpec is one lookup table.
type tableSpec struct {
	role string // schema.RoleAges etc.
	cols []colSpec
}

var (
	agesSpec = tableSpec{schema.RoleAges, []colSpec{
		{schema.ColAccountID, kindID, false},
		{schema.ColBirthDate, kindDate, true},
	}}
	objectionsSpec = tableSpec{schema.RoleObjections, []colSpec{
		{schema.ColAccountID, kindID, false},
		{schema.ColObjectedAt, kindTime, false},
		{schema.ColWithdrawnAt, kindTime, true},
	}}
	linksSpec = tableSpec{schema.RoleLinks, []colSpec{
		{schema.ColAccountID, kindID, false},
		{schema.ColAccountsCenterID, kindID, false},
	}}
)

// column holds one batch of one column, converted. Only the slice of the
// column's kind is used; valid is set for nullable columns.
type column struct {
	ids   []int64
	dates []int32
	times []time.Time
	valid []bool
}

// batch is a run of consecutive rows of one file, columns in the order of
// the tableSpec. Non-nullable columns have no nulls.
type batch struct {
	n    int
	cols []column
}

func (b *batch) reset(n int) {
	b.n = n
	for i := range b.cols {
		c := &b.cols[i]
		c.ids, c.dates, c.times, c.valid = c.ids[:0], c.dates[:0], c.times[:0], c.valid[:0]
	}
}

// tableFile is one file of a table, as listed.
type tableFile struct {
	obj     lake.Object
	uri     string
	parquet bool
	// meta is the footer estimateRows read, so that readParquet need not
	// read it again; nil if it was not read or did not parse.
	meta *metadata.FileMetaData
}

// listTable lists the files a location names, skipping names that start
// with "_" or "." (such as _SUCCESS or .crc files). It fails on any other
// file that is not .parquet or .csv, and when there is no file at all.
func listTable(ctx context.Context, role string, loc lake.Location) ([]tableFile, error) {
	if loc.Bucket == nil {
		return nil, fmt.Errorf("%s table: no location", role)
	}
	objs, err := loc.Files(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s table %s: %w", role, loc.Raw, err)
	}
	var out []tableFile
	for _, o := range objs {
		base := path.Base(o.Key)
		if strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
			continue
		}
		uri := loc.URI(o.Key)
		ext := strings.ToLower(path.Ext(base))
		switch ext {
		case ".parquet", ".csv":
		default:
			return nil, fmt.Errorf("%s: not a Parquet or CSV file", uri)
		}
		out = append(out, tableFile{obj: o, uri: uri, parquet: ext == ".parquet"})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s table %s: no Parquet or CSV files found", role, loc.Raw)
	}
	return out, nil
}

// readTable reads every file of a table and calls fn for each batch of
// rows. It returns one InputFile per file.
func readTable(ctx context.Context, loc lake.Location, spec tableSpec, fn func(*batch) error) ([]schema.InputFile, error) {
	files, err := listTable(ctx, spec.role, loc)
	if err != nil {
		return nil, err
	}
	return readFiles(ctx, loc, files, spec, fn)
}

// estimateRows estimates how many rows files hold: for Parquet files from
// their footers (at most 64 rows a byte, in case a footer is corrupt), for
// CSV files by size (16 bytes a row). It is only used to size buffers, and
// ignores errors: reading the files reports them. It keeps each footer it
// parsed in its tableFile for readFiles.
func estimateRows(ctx context.Context, loc lake.Location, files []tableFile) int64 {
	// The footers are read a few at a time: on S3 each takes two
	// requests, one after the other.
	ns := make([]int64, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, footerReads)
	for i := range files {
		f := &files[i]
		if !f.parquet {
			ns[i] = f.obj.Attrs.Size / 16
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() { recover() }()
			ra := lake.NewReaderAt(ctx, loc.Bucket, f.obj.Key, f.obj.Attrs)
			pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, ra.Size()))
			if err != nil {
				return
			}
			defer pf.Close()
			ns[i] = min(max(pf.NumRows(), 0), 64*f.obj.Attrs.Size)
			f.meta = pf.MetaData()
		}()
	}
	wg.Wait()
	var n int64
	for _, k := range ns {
		n += k
	}
	return n
}

// idRange returns the smallest and largest value of column col that the
// footers estimateRows read vouch for, through their row groups'
// statistics. ok is false when any file is not Parquet, has no footer
// read, or any row group lacks the statistics (or has malformed ones).
// Like estimateRows it only sizes structures: the values themselves are
// not trusted (readAges puts any id outside the range elsewhere).
func idRange(files []tableFile, col string) (lo, hi int64, ok bool) {
	defer func() {
		if recover() != nil { // Arrow's statistics decoding, on a bad footer
			ok = false
		}
	}()
	first := true
	for _, f := range files {
		if f.meta == nil {
			return 0, 0, false
		}
		j := f.meta.Schema.ColumnIndexByName(col)
		if j < 0 {
			return 0, 0, false
		}
		for g := range len(f.meta.RowGroups) {
			rg := f.meta.RowGroup(g)
			if rg.NumRows() == 0 {
				continue
			}
			cc, err := rg.ColumnChunk(j)
			if err != nil {
				return 0, 0, false
			}
			st, err := cc.Statistics()
			if err != nil || st == nil || !st.HasMinMax() {
				return 0, 0, false
			}
			var a, b int64
			switch s := st.(type) {
			case *metadata.Int64Statistics:
				a, b = s.Min(), s.Max()
			case *metadata.Int32Statistics:
				a, b = int64(s.Min()), int64(s.Max())
			default:
				return 0, 0, false
			}
			if a > b {
				return 0, 0, false
			}
			if first || a < lo {
				lo = a
			}
			if first || b > hi {
				hi = b
			}
			first = false
		}
	}
	return lo, hi, !first
}

// footerReads is how many footers estimateRows reads at once.
const footerReads = 8

// readFiles reads listed files of a table; see readTable.
func readFiles(ctx context.Context, loc lake.Location, files []tableFile, spec tableSpec, fn func(*batch) error) ([]schema.InputFile, error) {
	var err error
	_, local := loc.Bucket.(*lake.Local)
	var out []schema.InputFile
	for i := range files {
		f := files[i]
		files[i].meta = nil // held by f only while this file is read
		in := schema.InputFile{
			Role:      spec.role,
			Path:      f.uri,
			Size:      f.obj.Attrs.Size,
			ETag:      f.obj.Attrs.ETag,
			VersionID: f.obj.Attrs.VersionID,
		}
		ra := lake.NewReaderAt(ctx, loc.Bucket, f.obj.Key, f.obj.Attrs)
		var h hash.Hash
		if local {
			h = sha256.New()
		}
		if f.parquet {
			in.Rows, err = readParquet(ctx, f.uri, ra, f.meta, spec, fn)
			if err == nil && h != nil {
				err = hashAll(h, ra)
			}
		} else {
			in.Rows, err = readCSV(ctx, f.uri, ra, spec, h, fn)
		}
		if err != nil {
			return nil, err
		}
		if h != nil {
			in.SHA256 = hex.EncodeToString(h.Sum(nil))
		}
		out = append(out, in)
	}
	return out, nil
}

// hashAll streams the whole (pinned) object through h.
func hashAll(h hash.Hash, ra *lake.ReaderAt) error {
	buf := make([]byte, hashBufSize)
	_, err := io.CopyBuffer(h, io.NewSectionReader(ra, 0, ra.Size()), buf)
	return err
}

// recoverInto turns a panic in a reader library into an error naming uri.
func recoverInto(err *error, uri string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: unreadable (reader panicked: %v)", uri, r)
	}
}

var parquetMagic = []byte("PAR1")

// readParquet reads the spec's columns of one Parquet file in record
// batches and returns its row count. meta, if not nil, is the file's
// footer, already read through ra.
func readParquet(ctx context.Context, uri string, ra *lake.ReaderAt, meta *metadata.FileMetaData, spec tableSpec, fn func(*batch) error) (rows int64, err error) {
	defer recoverInto(&err, uri)
	size := ra.Size()
	if size < 12 {
		return 0, fmt.Errorf("%s: not a Parquet file (only %d bytes)", uri, size)
	}
	// Both ends at once (on S3 each is a request).
	var head, tail [4]byte
	var herr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				herr = fmt.Errorf("reader panicked: %v", p)
			}
		}()
		_, herr = ra.ReadAt(head[:], 0)
	}()
	_, terr := ra.ReadAt(tail[:], size-4)
	<-done
	if herr != nil {
		return 0, fmt.Errorf("%s: %w", uri, herr)
	}
	if terr != nil && !errors.Is(terr, io.EOF) {
		return 0, fmt.Errorf("%s: %w", uri, terr)
	}
	if !bytes.Equal(head[:], parquetMagic) {
		return 0, fmt.Errorf("%s: not a Parquet file (no PAR1 magic at the start)", uri)
	}
	if !bytes.Equal(tail[:], parquetMagic) {
		return 0, fmt.Errorf("%s: not a Parquet file or truncated (no PAR1 magic at the end)", uri)
	}

	mem := memory.NewGoAllocator()
	props := parquet.NewReaderProperties(mem)
	opts := []file.ReadOption{file.WithReadProps(props)}
	if meta != nil {
		opts = append(opts, file.WithMetadata(meta))
	}
	pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, size), opts...)
	if err != nil {
		return 0, fmt.Errorf("%s: reading Parquet footer: %w", uri, err)
	}
	defer pf.Close()
	md := pf.MetaData()
	sc := md.Schema

	// Find each column among the top-level leaves, by exact name.
	indices := make([]int, len(spec.cols))
	for i, c := range spec.cols {
		indices[i] = -1
		for j := 0; j < sc.NumColumns(); j++ {
			col := sc.Column(j)
			if col.Path() != c.name {
				continue
			}
			if indices[i] >= 0 {
				return 0, fmt.Errorf("%s: column %s appears more than once", uri, c.name)
			}
			if col.MaxRepetitionLevel() > 0 {
				return 0, fmt.Errorf("%s: column %s: is repeated, want a single %s", uri, c.name, c.kind)
			}
			indices[i] = j
		}
		if indices[i] < 0 {
			return 0, fmt.Errorf("%s: missing column %s", uri, c.name)
		}
	}

	// Types are checked as Arrow sees them (pqarrow's mapping of the
	// Parquet types, internal/pqtype), so that errors read the same for
	// every table format. INT96 columns are checked here: pqarrow would
	// map them to int64 nanoseconds, which silently wraps for instants
	// outside 1677-09-21..2262-04-11 (such as 9999-12-31, a common "never"
	// marker).
	pad := md.WriterVersion().LessThan(metadata.Parquet816FixedVersion)
	cols := make([]*leafColumn, len(spec.cols))
	for i, c := range spec.cols {
		leaf := sc.Column(indices[i])
		lc := &leafColumn{pf: pf, ra: ra, col: indices[i], phys: leaf.PhysicalType(), maxDef: leaf.MaxDefinitionLevel(), pad: pad}
		if lc.phys == parquet.Types.Int96 {
			if c.kind != kindTime {
				return 0, fmt.Errorf("%s: column %s: type INT96, want %s", uri, c.name, c.kind)
			}
		} else {
			t, err := pqtype.Of(leaf.PhysicalType(), leaf.LogicalType(), leaf.TypeLength())
			if err != nil {
				return 0, fmt.Errorf("%s: column %s: %w", uri, c.name, err)
			}
			if err := checkArrowType(c, t); err != nil {
				return 0, fmt.Errorf("%s: column %s: %w", uri, c.name, err)
			}
			if ts, ok := t.(*arrow.TimestampType); ok {
				lc.unit = ts.Unit
			}
			if lc.phys != parquet.Types.Int64 && lc.phys != parquet.Types.Int32 {
				return 0, fmt.Errorf("%s: column %s: physical type %s, want INT64 or INT32", uri, c.name, lc.phys)
			}
			if c.kind == kindTime && lc.phys != parquet.Types.Int64 {
				return 0, fmt.Errorf("%s: column %s: TIMESTAMP stored as %s, want INT64", uri, c.name, lc.phys)
			}
		}
		cols[i] = lc
	}

	// The columns are read in batches of batchRows rows, each column
	// stepping through the row groups on its own (leafColumn): no Arrow
	// arrays are built, and nothing runs on goroutines of Arrow's (a panic
	// in its metadata code is recovered here, see recoverInto).
	b := &batch{cols: make([]column, len(spec.cols))}
	total := md.NumRows
	if total < 0 {
		return 0, fmt.Errorf("%s: the footer counts %d rows", uri, total)
	}
	for rows < total {
		if err := ctx.Err(); err != nil {
			return rows, fmt.Errorf("%s: %w", uri, err)
		}
		// At a row group's start every column opens its chunk of it, all
		// at once (on S3 each chunk is a request); a batch then stays
		// within the row group.
		if cols[0].left == 0 {
			if err := openRowGroup(uri, cols, spec, rows); err != nil {
				return rows, err
			}
		}
		n := int(min(total-rows, batchRows, cols[0].left))
		b.reset(n)
		for i, c := range spec.cols {
			if err := cols[i].read(&b.cols[i], c, n); err != nil {
				return rows, columnError(uri, c.name, rows, err)
			}
		}
		if err := fn(b); err != nil {
			return rows, fmt.Errorf("%s: %w", uri, err)
		}
		rows += int64(n)
	}
	for i, c := range spec.cols {
		if err := cols[i].finish(); err != nil {
			return rows, fmt.Errorf("%s: column %s: %w", uri, c.name, err)
		}
	}
	return rows, nil
}

// openRowGroup opens every column's next row group that has rows, reading
// the columns' chunks in parallel. rows is how many rows were read before.
func openRowGroup(uri string, cols []*leafColumn, spec tableSpec, rows int64) error {
	errs := make([]error, len(cols))
	var wg sync.WaitGroup
	for i, c := range cols {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("unreadable (reader panicked: %v)", p)
				}
			}()
			for c.left == 0 {
				if err := c.nextRowGroup(); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return columnError(uri, spec.cols[i].name, rows, err)
		}
	}
	return nil
}

// leafColumn reads one column of a Parquet file, row group after row
// group, in step with the file's other columns: INT64 (ids, timestamps),
// INT32 (ids, dates) and INT96 (timestamps, converted here rather than
// through int64 nanoseconds so that the whole range of years 1..9999 is
// kept and malformed values are refused). Each column chunk is read whole,
// once, and decoded by scan.ChunkReader, which checks every page before
// it decodes it: Arrow's column chunk readers, used before, verify no
// page checksums, so a damaged page of a lookup table could change a
// birth date, and spin forever in ReadBatch on a page whose levels or
// values decode short (found by FuzzReadTable).
type leafColumn struct {
	pf     *file.Reader
	col    int          // leaf index
	phys   parquet.Type // physical type
	unit   arrow.TimeUnit
	maxDef int16 // definition level of a non-null value
	rg     int   // next row group to open
	ra     *lake.ReaderAt
	pad    bool   // the file was written by parquet-mr before 1.2.9 (PARQUET-816)
	open   bool   // a row group's chunk is open in cr
	buf    []byte // the open column chunk's bytes
	cr     scan.ChunkReader
	left   int64 // rows of the open row group not read yet
	ints   []int64
	i96    [][12]byte
	valid  []bool
}

// read reads the next n rows into dst as c's kind (and validity, if c is
// nullable). Errors at a row are rowErrs, the row counted from the start
// of the batch.
func (r *leafColumn) read(dst *column, c colSpec, n int) error {
	for done := 0; done < n; {
		for r.left == 0 {
			if err := r.nextRowGroup(); err != nil {
				return err
			}
		}
		want := int(min(int64(n-done), r.left))
		if cap(r.valid) < want {
			r.valid = make([]bool, want)
		}
		valid := r.valid[:want]
		var ints []int64
		var i96 [][12]byte
		if r.phys == parquet.Types.Int96 {
			if cap(r.i96) < want {
				r.i96 = make([][12]byte, want)
			}
			i96 = r.i96[:want]
		} else {
			if cap(r.ints) < want {
				r.ints = make([]int64, want)
			}
			ints = r.ints[:want]
		}
		if err := r.cr.Read(ints, i96, valid); err != nil {
			return fmt.Errorf("row group %d: %w", r.rg-1, err)
		}
		for j, ok := range valid {
			row := done + j
			if !ok {
				if !c.nullable {
					return rowErr{row, "null value"}
				}
				dst.valid = append(dst.valid, false)
				switch c.kind {
				case kindID:
					dst.ids = append(dst.ids, 0)
				case kindDate:
					dst.dates = append(dst.dates, 0)
				case kindTime:
					dst.times = append(dst.times, time.Time{})
				}
				continue
			}
			if err := r.convert(dst, c, j, row); err != nil {
				return err
			}
			if c.nullable {
				dst.valid = append(dst.valid, true)
			}
		}
		done += want
		r.left -= int64(want)
	}
	return nil
}

// convert appends value v of the last read to dst.
func (r *leafColumn) convert(dst *column, c colSpec, v, row int) error {
	switch c.kind {
	case kindID:
		dst.ids = append(dst.ids, r.ints[v])
	case kindDate:
		dst.dates = append(dst.dates, int32(r.ints[v]))
	case kindTime:
		if r.phys == parquet.Types.Int96 {
			t, ok := int96Time(parquet.Int96(r.i96[v]))
			if !ok {
				return rowErr{row, "INT96 timestamp out of range: " + int96String(parquet.Int96(r.i96[v]))}
			}
			dst.times = append(dst.times, t)
		} else {
			dst.times = append(dst.times, timeOf(r.ints[v], r.unit))
		}
	}
	return nil
}

// nextRowGroup checks that the open column chunk is used up and opens the
// next row group's.
func (r *leafColumn) nextRowGroup() error {
	if err := r.checkChunkDone(); err != nil {
		return err
	}
	if r.rg >= r.pf.NumRowGroups() {
		return errors.New("fewer values than rows")
	}
	rg := r.pf.RowGroup(r.rg)
	r.rg++
	if err := r.openChunk(rg); err != nil {
		return fmt.Errorf("row group %d: %w", r.rg-1, err)
	}
	r.left = rg.NumRows() // (an empty row group's chunk is checked next time round)
	return nil
}

// openChunk reads the column's chunk in rg and starts decoding it.
func (r *leafColumn) openChunk(rg *file.RowGroupReader) error {
	rows := rg.NumRows()
	if rows < 0 {
		return fmt.Errorf("negative row count %d", rows)
	}
	md, err := rg.MetaData().ColumnChunk(r.col)
	if err != nil {
		return err
	}
	if md.NumValues() != rows {
		return fmt.Errorf("the column chunk's metadata counts %d values for the row group's %d rows", md.NumValues(), rows)
	}
	if rows == 0 && md.TotalCompressedSize() == 0 {
		return nil // no pages
	}
	// The chunk starts at its dictionary page, if any. (Arrow v17 writes a
	// data page offset of 0 for a chunk with no data page: an empty row
	// group's.)
	start := md.DataPageOffset()
	if md.HasDictionaryPage() && md.DictionaryPageOffset() > 0 && (md.DictionaryPageOffset() < start || start < int64(len(parquetMagic))) {
		start = md.DictionaryPageOffset()
	}
	n := md.TotalCompressedSize()
	switch {
	case n > int64(maxChunkBytes):
		return fmt.Errorf("column chunk of %d bytes: lookup tables may have at most %d per chunk (write smaller row groups)", n, maxChunkBytes)
	case start < 0 || n <= 0 || start > r.ra.Size()-n:
		return fmt.Errorf("column chunk at offset %d of %d bytes does not fit in the file's %d", start, n, r.ra.Size())
	}
	// Files of parquet-mr before 1.2.9 leave the dictionary page header
	// out of the chunk's size (PARQUET-816): for them read up to 100 bytes
	// more, as Arrow does (scan.ChunkSpec.Size).
	size := n
	if r.pad {
		n += min(100, r.ra.Size()-(start+n))
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	buf := r.buf[:n]
	if k, err := r.ra.ReadAt(buf, start); k != len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading the column chunk: %w", err)
	}
	r.open = true
	return r.cr.Reset(buf, scan.ChunkSpec{
		Codec:    format.CompressionCodec(md.Compression()),
		Type:     format.Type(r.phys),
		Optional: r.maxDef > 0,
		Rows:     rows,
		Size:     size,
	})
}

// maxChunkBytes bounds a lookup table's column chunk (openChunk reads it
// whole).
const maxChunkBytes = 1 << 30

// checkChunkDone fails if the open column chunk holds more values than its
// row group has rows.
func (r *leafColumn) checkChunkDone() error {
	if !r.open {
		return nil
	}
	if err := r.cr.Done(); err != nil {
		return fmt.Errorf("row group %d: %w", r.rg-1, err)
	}
	r.open = false
	return nil
}

// finish checks, after the last batch, that every value was read.
func (r *leafColumn) finish() error {
	if r.left != 0 {
		return fmt.Errorf("row group %d: %d rows not read", r.rg-1, r.left)
	}
	if err := r.checkChunkDone(); err != nil {
		return err
	}
	// Row groups after the last row must be empty, their chunks too.
	for r.rg < r.pf.NumRowGroups() {
		rg := r.pf.RowGroup(r.rg)
		r.rg++
		if n := rg.NumRows(); n != 0 {
			return fmt.Errorf("row group %d: %d rows not read", r.rg-1, n)
		}
		if err := r.openChunk(rg); err != nil {
			return fmt.Errorf("row group %d: %w", r.rg-1, err)
		}
		if err := r.checkChunkDone(); err != nil {
			return err
		}
	}
	return nil
}

// INT96 timestamp layout and the range of instants accepted.
const (
	julianUnix = 2_440_588 // Julian day number of 1970-01-01
	nanosDay   = 86_400_000_000_000
)

var (
	minInt96Time = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInt96Time = time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
)

// int96Time converts an INT96 timestamp (8 bytes little-endian nanoseconds
// of the day, then 4 bytes little-endian Julian day number) to a time in
// UTC, directly rather than through int64 nanoseconds so that the whole
// range of years 1..9999 is kept. As in scan, the nanoseconds are read as
// signed: Arrow's writer truncates the day toward zero, so instants before
// 1970 carry negative nanoseconds. It reports false for nanoseconds of a
// day outside (-86400e9, 86400e9) and for instants outside years 1..9999
// (including Julian day 0, which is in 4713 BC).
func int96Time(v parquet.Int96) (time.Time, bool) {
	nanos := int64(binary.LittleEndian.Uint64(v[:8]))
	jday := int64(binary.LittleEndian.Uint32(v[8:]))
	if nanos <= -nanosDay || nanos >= nanosDay {
		return time.Time{}, false
	}
	// |days*86400| < 2^32*86400 and |nanos| < 86400e9: no overflow.
	t := time.Unix((jday-julianUnix)*86400, nanos).UTC()
	if t.Before(minInt96Time) || t.After(maxInt96Time) {
		return time.Time{}, false
	}
	return t, true
}

// int96String shows an INT96 value's parts, for errors.
func int96String(v parquet.Int96) string {
	return fmt.Sprintf("Julian day %d, nanoseconds of day %d (want a day in years 1..9999 and nanoseconds within a day)",
		binary.LittleEndian.Uint32(v[8:]), int64(binary.LittleEndian.Uint64(v[:8])))
}

// checkArrowType reports whether t can be read as c's kind.
func checkArrowType(c colSpec, t arrow.DataType) error {
	ok := false
	switch c.kind {
	case kindID:
		ok = t.ID() == arrow.INT64 || t.ID() == arrow.INT32
	case kindDate:
		// A TIMESTAMP birth date is refused rather than truncated to a day:
		// which day it means depends on a time zone the file does not give.
		ok = t.ID() == arrow.DATE32
	case kindTime:
		ok = t.ID() == arrow.TIMESTAMP
	}
	if !ok {
		return fmt.Errorf("type %s, want %s", t, c.kind)
	}
	return nil
}

// rowErr is a conversion error at a row of the current batch.
type rowErr struct {
	row int
	msg string
}

func (e rowErr) Error() string { return fmt.Sprintf("row %d: %s", e.row, e.msg) }

// convertArrow converts one Arrow column of n rows into dst.
func convertArrow(dst *column, c colSpec, a arrow.Array, n int) error {
	if a.Len() != n {
		return fmt.Errorf("has %d values in a batch of %d rows", a.Len(), n)
	}
	nulls := a.NullN() > 0
	if nulls && !c.nullable {
		for j := 0; j < n; j++ {
			if a.IsNull(j) {
				return rowErr{j, "null value"}
			}
		}
	}
	if c.nullable {
		for j := 0; j < n; j++ {
			dst.valid = append(dst.valid, !nulls || a.IsValid(j))
		}
	}
	switch c.kind {
	case kindID:
		switch a := a.(type) {
		case *array.Int64:
			dst.ids = append(dst.ids, a.Int64Values()...)
		case *array.Int32:
			for _, v := range a.Int32Values() {
				dst.ids = append(dst.ids, int64(v))
			}
		default:
			return fmt.Errorf("unexpected array %T", a)
		}
	case kindDate:
		a, ok := a.(*array.Date32)
		if !ok {
			return fmt.Errorf("unexpected array %T", a)
		}
		for _, v := range a.Date32Values() {
			dst.dates = append(dst.dates, int32(v))
		}
	case kindTime:
		a, ok := a.(*array.Timestamp)
		if !ok {
			return fmt.Errorf("unexpected array %T", a)
		}
		unit := a.DataType().(*arrow.TimestampType).Unit
		for _, v := range a.TimestampValues() {
			dst.times = append(dst.times, timeOf(int64(v), unit))
		}
	}
	return nil
}

// timeOf converts a timestamp value to a time.Time in UTC. Values without a
// time zone are taken as UTC too.
func timeOf(v int64, unit arrow.TimeUnit) time.Time {
	switch unit {
	case arrow.Second:
		return time.Unix(v, 0).UTC()
	case arrow.Millisecond:
		return time.UnixMilli(v).UTC()
	case arrow.Microsecond:
		return time.UnixMicro(v).UTC()
	default:
		return time.Unix(0, v).UTC()
	}
}

// readCSV reads one CSV file with a header row and returns its row count.
// Every needed column is read as a string by Arrow and parsed here, so that
// errors can name the row and the column. Extra columns are ignored. If h is
// not nil the whole file is streamed through it.
func readCSV(ctx context.Context, uri string, ra *lake.ReaderAt, spec tableSpec, h hash.Hash, fn func(*batch) error) (rows int64, err error) {
	defer recoverInto(&err, uri)
	var src io.Reader = io.NewSectionReader(ra, 0, ra.Size())
	if h != nil {
		src = io.TeeReader(src, h)
	}
	br := bufio.NewReaderSize(src, csvBufSize)
	// A UTF-8 byte-order mark would otherwise become part of the first
	// column's name.
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	noRows, err := checkCSVHeader(br, spec)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", uri, err)
	}
	if noRows {
		// A header and nothing else (Arrow's reader panics on it).
		if h != nil {
			if _, err := io.Copy(io.Discard, br); err != nil {
				return 0, fmt.Errorf("%s: %w", uri, err)
			}
		}
		return 0, nil
	}
	names := make([]string, len(spec.cols))
	types := make(map[string]arrow.DataType, len(spec.cols))
	for i, c := range spec.cols {
		names[i] = c.name
		types[c.name] = arrow.BinaryTypes.String
	}
	r := csv.NewInferringReader(br,
		csv.WithHeader(true),
		csv.WithChunk(batchRows),
		csv.WithIncludeColumns(names),
		csv.WithColumnTypes(types),
		csv.WithNullReader(false),
	)
	defer r.Release()

	b := &batch{cols: make([]column, len(spec.cols))}
	for r.Next() {
		if err := ctx.Err(); err != nil {
			return rows, fmt.Errorf("%s: %w", uri, err)
		}
		rec := r.Record()
		n := int(rec.NumRows())
		b.reset(n)
		for i, c := range spec.cols {
			col, ok := rec.Column(i).(*array.String)
			if !ok {
				return rows, fmt.Errorf("%s: column %s: read as %s, not as text", uri, c.name, rec.Column(i).DataType())
			}
			if err := convertText(&b.cols[i], c, col, n); err != nil {
				return rows, columnError(uri, c.name, rows, err)
			}
		}
		if err := fn(b); err != nil {
			return rows, fmt.Errorf("%s: %w", uri, err)
		}
		rows += int64(n)
		if r.Err() != nil {
			break
		}
	}
	if err := r.Err(); err != nil {
		if rows == 0 && errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("%s: empty CSV file (a header row is required)", uri)
		}
		var pe *csvParseError
		if errors.As(err, &pe) {
			return rows, fmt.Errorf("%s: row %d: %v", uri, rows, pe.Err)
		}
		if errors.Is(err, csv.ErrMismatchFields) && strings.Contains(err.Error(), "doesn't exist") {
			return rows, fmt.Errorf("%s: missing column %s", uri, missingCSVColumn(err.Error(), names))
		}
		return rows, fmt.Errorf("%s: after row %d: %w", uri, rows, err)
	}
	if h != nil {
		// Hash whatever the CSV reader did not consume.
		if _, err := io.Copy(io.Discard, br); err != nil {
			return rows, fmt.Errorf("%s: %w", uri, err)
		}
	}
	return rows, nil
}

// checkCSVHeader checks the header row, when it is within the first 64 KiB:
// every needed column present, and exactly once (Arrow would silently take
// the last of two columns with one name). noRows reports a file that holds
// the header row and nothing else.
func checkCSVHeader(br *bufio.Reader, spec tableSpec) (noRows bool, err error) {
	const peekSize = 64 << 10
	peek, _ := br.Peek(peekSize)
	if len(peek) == 0 {
		return false, nil // empty: reported by the reader
	}
	hr := stdcsv.NewReader(bytes.NewReader(peek))
	header, err := hr.Read()
	if err != nil || (len(peek) == peekSize && int(hr.InputOffset()) >= len(peek)) {
		return false, nil // malformed or longer than the peek: left to the reader
	}
	if len(peek) < peekSize {
		// The whole file is in peek.
		_, err := hr.Read()
		noRows = err == io.EOF
	}
	for _, c := range spec.cols {
		n := 0
		for _, h := range header {
			if h == c.name {
				n++
			}
		}
		switch {
		case n == 0:
			return false, fmt.Errorf("missing column %s", c.name)
		case n > 1:
			return false, fmt.Errorf("column %s appears more than once", c.name)
		}
	}
	return noRows, nil
}

// csvParseError is encoding/csv's error for a malformed record.
type csvParseError = stdcsv.ParseError

// missingCSVColumn picks the column Arrow's error names.
func missingCSVColumn(msg string, names []string) string {
	for _, n := range names {
		if strings.Contains(msg, "'"+n+"'") {
			return n
		}
	}
	return strings.Join(names, " or ")
}

// convertText parses one text column of n rows into dst. An empty field
// (after trimming white space) is null.
func convertText(dst *column, c colSpec, a *array.String, n int) error {
	if a.Len() != n {
		return fmt.Errorf("has %d values in a batch of %d rows", a.Len(), n)
	}
	for j := 0; j < n; j++ {
		s := ""
		if a.IsValid(j) {
			s = strings.TrimSpace(a.Value(j))
		}
		null := s == ""
		if null && !c.nullable {
			return rowErr{j, "null (empty) value"}
		}
		if c.nullable {
			dst.valid = append(dst.valid, !null)
		}
		switch c.kind {
		case kindID:
			var v int64
			if !null {
				var err error
				if v, err = parseID(s); err != nil {
					return rowErr{j, err.Error()}
				}
			}
			dst.ids = append(dst.ids, v)
		case kindDate:
			var v int32
			if !null {
				var err error
				if v, err = parseDate(s); err != nil {
					return rowErr{j, err.Error()}
				}
			}
			dst.dates = append(dst.dates, v)
		case kindTime:
			var v time.Time
			if !null {
				var err error
				if v, err = parseTimestamp(s); err != nil {
					return rowErr{j, err.Error()}
				}
			}
			dst.times = append(dst.times, v)
		}
	}
	return nil
}

// columnError names the file, the column and, for a rowErr, the row
// (counted from the file's first row: the batch starts at row base).
func columnError(uri, col string, base int64, err error) error {
	var re rowErr
	if errors.As(err, &re) {
		return fmt.Errorf("%s: column %s, row %d: %s", uri, col, base+int64(re.row), re.msg)
	}
	return fmt.Errorf("%s: column %s: %w", uri, col, err)
}
