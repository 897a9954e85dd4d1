package findings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/metadata"
	pqschema "github.com/apache/arrow/go/v17/parquet/schema"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// Defaults of Options.
const (
	DefaultMaxRows = 1_000_000
	// DefaultRowGroupRows is small because the Writer holds a row group
	// in Arrow builders, which grow by doubling, and its pool keeps the
	// buffers of every size they passed through: at 128 Ki rows that was
	// about 30 MB on the bench lake, a tenth of the audit's peak RSS. At
	// 32 Ki the peak is 24 MB lower, for the same CPU time and 0.5 %
	// larger files.
	DefaultRowGroupRows = 32 * 1024
)

// Codec is the compression of a findings file.
type Codec string

// The codecs a findings file may be written with. The empty Codec means
// CodecZstd.
const (
	CodecZstd   Codec = "zstd"
	CodecSnappy Codec = "snappy"
	CodecGzip   Codec = "gzip"
	CodecNone   Codec = "none"
)

func (c Codec) arrow() (compress.Compression, error) {
	switch c {
	case "", CodecZstd:
		return compress.Codecs.Zstd, nil
	case CodecSnappy:
		return compress.Codecs.Snappy, nil
	case CodecGzip:
		return compress.Codecs.Gzip, nil
	case CodecNone:
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("findings: unknown compression %q (want zstd, snappy, gzip or none)", string(c))
}

// Options configure a Writer. The zero value means the defaults.
type Options struct {
	// MaxRows is the most rows in one part file (default DefaultMaxRows).
	MaxRows int
	// RowGroupRows is the most rows in one row group (default
	// DefaultRowGroupRows). It is also how many findings the Writer holds
	// in memory before encoding them.
	RowGroupRows int
	// Compression of every column (default zstd).
	Compression Codec
}

// PartName returns the file name of part i: part-00000.parquet, …
func PartName(i int) string { return fmt.Sprintf("part-%05d.parquet", i) }

// newAllocator returns a Writer's Arrow allocator (a variable for tests,
// which compare its output with Go's allocator's).
var newAllocator = func() memory.Allocator { return new(poolAllocator) }

// Writer writes findings, in the order given, to a sequence of part files
// under a folder of a bucket: dir/part-00000.parquet, part-00001.parquet, …,
// rolling over to a new part every MaxRows rows. Each part is streamed to
// Bucket.Upload as it is encoded (one upload per part, started with its
// first row group); Upload is atomic, so a part in the bucket is always a
// whole file, and a part that fails midway never appears. At most one row
// group of findings is held in memory, plus what the upload buffers.
//
// A Writer is not safe for concurrent use. After an error every later
// call returns the same error; the caller should then Abort.
type Writer struct {
	ctx    context.Context
	bucket lake.Bucket
	dir    string

	maxRows, rgRows int
	props           *parquet.WriterProperties
	mem             memory.Allocator // every Arrow buffer of the writer (newAllocator)

	root *pqschema.GroupNode
	bld  builders

	levels []int16             // scratch definition levels
	reps   []int16             // scratch repetition levels
	strs   []parquet.ByteArray // scratch values of a string column

	pw       *file.Writer // current part, nil between parts
	up       *upload      // its upload, nil between parts
	part     int          // index of the current part
	partRows int64        // rows in the current part, flushed or buffered
	rgBuf    int          // rows buffered in the builders
	pending  string       // key being uploaded, for Abort
	outputs  []schema.OutputFile
	keys     []string // keys uploaded
	err      error    // sticky error
	closed   bool
}

// builders hold the buffered row group, one per column. The
// low-cardinality string columns (and the categories' elements) are
// collected as dictionary codes and written as Arrow dictionary arrays,
// so that each distinct value is hashed once per row group rather than
// once per row.
type builders struct {
	contentID                                                 *array.StringBuilder
	authorID, objectionAccountID, accountsCenterID, rowInFile *array.Int64Builder
	createdAt, objectedAt                                     *array.TimestampBuilder
	birthDate                                                 *array.Date32Builder
	rowGroup                                                  *array.Int32Builder

	snapshot, platform, contentType, visibility, sourceFile dictStrings
	categoryValues                                          dictStrings
	categoryCounts                                          []int32 // categories per row
}

func newBuilders(mem memory.Allocator) builders {
	return builders{
		contentID:          array.NewStringBuilder(mem),
		authorID:           array.NewInt64Builder(mem),
		objectionAccountID: array.NewInt64Builder(mem),
		accountsCenterID:   array.NewInt64Builder(mem),
		rowInFile:          array.NewInt64Builder(mem),
		createdAt:          array.NewTimestampBuilder(mem, tsUTC),
		objectedAt:         array.NewTimestampBuilder(mem, tsUTC),
		birthDate:          array.NewDate32Builder(mem),
		rowGroup:           array.NewInt32Builder(mem),
	}
}

func (b *builders) release() {
	if b.contentID == nil {
		return // released already
	}
	for _, x := range []array.Builder{b.contentID, b.authorID, b.objectionAccountID, b.accountsCenterID,
		b.rowInFile, b.createdAt, b.objectedAt, b.birthDate, b.rowGroup} {
		x.Release()
	}
	*b = builders{}
}

// array returns column i of the buffered rows as an Arrow array and resets
// that column's builder. For the categories it returns the elements.
func (b *builders) array(i int, mem memory.Allocator) arrow.Array {
	switch i {
	case iSnapshot:
		return b.snapshot.array(mem)
	case iContentID:
		return b.contentID.NewArray()
	case iAuthorID:
		return b.authorID.NewArray()
	case iPlatform:
		return b.platform.array(mem)
	case iContentType:
		return b.contentType.array(mem)
	case iVisibility:
		return b.visibility.array(mem)
	case iCreatedAt:
		return b.createdAt.NewArray()
	case iCategories:
		return b.categoryValues.array(mem)
	case iBirthDate:
		return b.birthDate.NewArray()
	case iObjectionAccountID:
		return b.objectionAccountID.NewArray()
	case iObjectedAt:
		return b.objectedAt.NewArray()
	case iAccountsCenterID:
		return b.accountsCenterID.NewArray()
	case iSourceFile:
		return b.sourceFile.array(mem)
	case iRowGroup:
		return b.rowGroup.NewArray()
	case iRowInFile:
		return b.rowInFile.NewArray()
	}
	panic(fmt.Sprintf("findings: no column %d", i))
}

// maxDictBytes bounds the values of one dictionary written as an Arrow
// dictionary array: below Arrow's dictionary page limit (1 MiB), so that
// the column writer never falls back to plain encoding in the middle of a
// dictionary write. A larger dictionary (thousands of long source file
// names in one row group) is written as plain strings instead, which
// Arrow dictionary-encodes (or not) itself.
const maxDictBytes = 256 << 10

// dictStrings collects a string column as codes into a dictionary of its
// distinct values, in order of first appearance (the order Arrow's own
// dictionary encoder would give them).
type dictStrings struct {
	codes []int32
	valid []bool // nil while every row is valid
	vals  []string
	pos   map[string]int32
	bytes int
	last  string
	lastC int32 // code of last, -1 if none
}

func (d *dictStrings) add(s string) {
	c := d.lastC
	if c < 0 || len(d.vals) == 0 || s != d.last {
		var ok bool
		if c, ok = d.pos[s]; !ok {
			if d.pos == nil {
				d.pos = map[string]int32{}
			}
			c = int32(len(d.vals))
			d.vals = append(d.vals, s)
			d.pos[s] = c
			d.bytes += len(s)
		}
		d.last, d.lastC = s, c
	}
	d.codes = append(d.codes, c)
	if d.valid != nil {
		d.valid = append(d.valid, true)
	}
}

func (d *dictStrings) addPtr(s *string) {
	if s != nil {
		d.add(*s)
		return
	}
	if d.valid == nil {
		d.valid = make([]bool, len(d.codes), cap(d.codes))
		for i := range d.valid {
			d.valid[i] = true
		}
	}
	d.codes = append(d.codes, 0)
	d.valid = append(d.valid, false)
}

// array returns the collected rows as a dictionary<int32, utf8> array (or
// a plain utf8 array if the dictionary is too large) and resets d.
func (d *dictStrings) array(mem memory.Allocator) arrow.Array {
	defer d.reset()
	if d.bytes > maxDictBytes {
		sb := array.NewStringBuilder(mem)
		defer sb.Release()
		sb.Reserve(len(d.codes))
		for i, c := range d.codes {
			if d.valid != nil && !d.valid[i] {
				sb.AppendNull()
			} else {
				sb.Append(d.vals[c])
			}
		}
		return sb.NewArray()
	}
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	ib.AppendValues(d.codes, d.valid)
	idx := ib.NewArray()
	defer idx.Release()
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.AppendValues(d.vals, nil)
	dict := sb.NewArray()
	defer dict.Release()
	return array.NewDictionaryArray(dictType, idx, dict)
}

func (d *dictStrings) reset() {
	d.codes, d.valid, d.vals = d.codes[:0], nil, d.vals[:0]
	clear(d.pos)
	d.bytes, d.last, d.lastC = 0, "", -1
}

var dictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// NewWriter returns a Writer of findings under dir in b. Nothing is
// written to b until a part is complete. ctx is used for the uploads.
// Bad options are reported by the first Write or Close.
func NewWriter(ctx context.Context, b lake.Bucket, dir string, o Options) *Writer {
	w := &Writer{ctx: ctx, bucket: b, dir: dir, maxRows: o.MaxRows, rgRows: o.RowGroupRows}
	if w.maxRows <= 0 {
		w.maxRows = DefaultMaxRows
	}
	if w.rgRows <= 0 {
		w.rgRows = DefaultRowGroupRows
	}
	if w.rgRows > w.maxRows {
		w.rgRows = w.maxRows
	}
	codec, err := o.Compression.arrow()
	if err != nil {
		w.err = err
		return w
	}
	w.root, err = parquetSchema()
	if err != nil {
		w.err = err
		return w
	}
	w.mem = newAllocator()
	w.props = w.writerProps(codec)
	w.bld = newBuilders(w.mem)
	return w
}

// writerProps returns the Parquet writer properties of a findings file
// compressed with codec, plus extra (tests use it for other encodings).
func (w *Writer) writerProps(codec compress.Compression, extra ...parquet.WriterProperty) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(false),
		parquet.WithMaxRowGroupLength(int64(w.rgRows)),
		parquet.WithVersion(parquet.V2_LATEST),
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithCreatedBy(parquet.DefaultCreatedBy),
	}
	if codec == compress.Codecs.Zstd {
		// Level 1 (zstd's "fastest"): on the bench lake's findings it
		// writes files of the same size as the default level in 60 % of
		// the time.
		opts = append(opts, parquet.WithCompressionLevel(1))
	}
	for _, c := range dictColumns {
		opts = append(opts, parquet.WithDictionaryFor(c, true))
	}
	for _, c := range dictArrayColumns {
		// Arrow v17 gets the statistics of dictionary-array writes wrong
		// (min/max skip empty strings; required columns get negative null
		// counts), and a wrong min/max lets a reader skip a row group it
		// must read. These columns carry no statistics instead.
		opts = append(opts, parquet.WithStatsFor(c, false))
	}
	opts = append(opts, parquet.WithAllocator(w.mem))
	return parquet.NewWriterProperties(append(opts, extra...)...)

}

func (w *Writer) uri(key string) string { return w.bucket.URI(key) }

func (w *Writer) partKey(i int) string { return path.Join(w.dir, PartName(i)) }

// Write appends one finding. It fails if f has no categories (a finding
// is flagged for at least one reason) or if a part could not be encoded
// or uploaded.
func (w *Writer) Write(f *schema.Finding) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("findings %s: write after Close or Abort", w.uri(w.dir))
	}
	if len(f.Categories) == 0 {
		w.err = fmt.Errorf("findings %s: finding for %s row %d has no categories", w.uri(w.dir), f.SourceFile, f.RowInFile)
		return w.err
	}
	b := &w.bld
	b.snapshot.add(f.Snapshot)
	appendString(b.contentID, f.ContentID)
	appendInt64(b.authorID, f.AuthorID)
	b.platform.addPtr(f.Platform)
	b.contentType.addPtr(f.ContentType)
	b.visibility.addPtr(f.Visibility)
	appendTimestamp(b.createdAt, f.CreatedAt)
	for _, c := range f.Categories {
		b.categoryValues.add(string(c))
	}
	b.categoryCounts = append(b.categoryCounts, int32(len(f.Categories)))
	if f.BirthDate != nil {
		b.birthDate.Append(arrow.Date32(*f.BirthDate))
	} else {
		b.birthDate.AppendNull()
	}
	appendInt64(b.objectionAccountID, f.ObjectionAccountID)
	appendTimestamp(b.objectedAt, f.ObjectedAt)
	appendInt64(b.accountsCenterID, f.AccountsCenterID)
	b.sourceFile.add(f.SourceFile)
	b.rowGroup.Append(f.RowGroup)
	b.rowInFile.Append(f.RowInFile)
	w.rgBuf++
	w.partRows++

	if w.rgBuf >= w.rgRows || w.partRows >= int64(w.maxRows) {
		if err := w.flushRowGroup(); err != nil {
			return w.fail(err)
		}
	}
	if w.partRows >= int64(w.maxRows) {
		if err := w.finishPart(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func appendString(b *array.StringBuilder, v *string) {
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(*v)
	}
}

func appendInt64(b *array.Int64Builder, v *int64) {
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(*v)
	}
}

func appendTimestamp(b *array.TimestampBuilder, v *int64) {
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(arrow.Timestamp(*v))
	}
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// flushRowGroup encodes the buffered findings as one row group of the
// current part, starting the part (and its upload) if needed.
func (w *Writer) flushRowGroup() (err error) {
	if w.rgBuf == 0 {
		return nil
	}
	key := w.partKey(w.part)
	// The Arrow Parquet writer panics on some internal errors; never let
	// that escape as a panic.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write findings %s: row group: %v", w.uri(key), r)
		}
		if err != nil {
			err = w.up.failed(err)
		}
	}()
	if w.pw == nil {
		meta := metadata.NewKeyValueMetadata()
		if err := meta.Append(MetaSchemaKey, SchemaVersion); err != nil {
			return fmt.Errorf("write findings %s: %w", w.uri(key), err)
		}
		w.up = startUpload(w.ctx, w.bucket, key)
		w.pending = key
		w.pw = file.NewParquetWriter(w.up, w.root, file.WithWriterProps(w.props), file.WithWriteMetadata(meta))
	}
	w.rgBuf = 0

	rgw := w.pw.AppendRowGroup()
	for i := 0; i < numCols; i++ {
		cw, err := rgw.NextColumn()
		if err != nil {
			return fmt.Errorf("write findings %s: column %s: %w", w.uri(key), arrowSchema.Field(i).Name, err)
		}
		arr := w.bld.array(i, w.mem)
		err = w.writeColumn(cw, i, arr)
		arr.Release()
		if err != nil {
			return fmt.Errorf("write findings %s: column %s: %w", w.uri(key), arrowSchema.Field(i).Name, err)
		}
	}
	w.bld.categoryCounts = w.bld.categoryCounts[:0]
	if err := rgw.Close(); err != nil {
		return fmt.Errorf("write findings %s: row group: %w", w.uri(key), err)
	}
	return nil
}

// writeColumn writes one Arrow column as one Parquet column chunk,
// computing the definition and repetition levels itself. For the
// categories, arr holds the elements of every row's list.
func (w *Writer) writeColumn(cw file.ColumnChunkWriter, i int, arr arrow.Array) error {
	n := arr.Len()
	if i == iCategories {
		// Every list is non-empty (Write checks), so each element is one
		// level: definition 1, repetition 0 for a row's first element.
		w.levels = slices.Grow(w.levels[:0], n)
		w.reps = slices.Grow(w.reps[:0], n)
		for _, c := range w.bld.categoryCounts {
			for j := int32(0); j < c; j++ {
				w.levels = append(w.levels, 1)
				w.reps = append(w.reps, int16(min(j, 1)))
			}
		}
		if len(w.levels) != n {
			return fmt.Errorf("%d category levels for %d elements", len(w.levels), n)
		}
		return writeLeaf(w, cw, arr, w.levels, w.reps)
	}
	if !arrowSchema.Field(i).Nullable {
		if arr.NullN() != 0 {
			return errors.New("null in a required column")
		}
		return writeLeaf(w, cw, arr, nil, nil)
	}
	w.levels = w.levels[:0]
	for r := 0; r < n; r++ {
		if arr.IsValid(r) {
			w.levels = append(w.levels, 1)
		} else {
			w.levels = append(w.levels, 0)
		}
	}
	return writeLeaf(w, cw, arr, w.levels, nil)
}

// finishPart writes the current part's footer and completes its upload.
func (w *Writer) finishPart() (err error) {
	if w.pw == nil {
		return nil
	}
	key := w.partKey(w.part)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write findings %s: footer: %v", w.uri(key), r)
		}
		if err != nil {
			err = w.up.failed(err)
		}
	}()
	// Close loses FlushWithFooter's error (arrow v17); call it first.
	if err := w.pw.FlushWithFooter(); err != nil {
		return fmt.Errorf("write findings %s: footer: %w", w.uri(key), err)
	}
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("write findings %s: %w", w.uri(key), err)
	}
	w.pw = nil
	up := w.up
	w.up = nil
	if err := up.finish(); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	w.pending = ""
	w.keys = append(w.keys, key)
	w.outputs = append(w.outputs, schema.OutputFile{Path: key, Rows: w.partRows})
	w.part++
	w.partRows = 0
	return nil
}

// upload streams one part to Bucket.Upload through a pipe. Writes block
// until the upload has taken the bytes.
type upload struct {
	pw   *io.PipeWriter
	done chan struct{}
	err  error // Upload's result, set before done is closed
}

func startUpload(ctx context.Context, b lake.Bucket, key string) *upload {
	pr, pw := io.Pipe()
	u := &upload{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		u.err = b.Upload(ctx, key, pr)
		// An Upload that returned without reading everything must not
		// leave the writer blocked.
		pr.CloseWithError(errUploadEnded)
	}()
	return u
}

var errUploadEnded = errors.New("upload ended")

// Write implements io.Writer for the Parquet writer. A write the upload
// refused reports the upload's own error.
func (u *upload) Write(p []byte) (int, error) {
	n, err := u.pw.Write(p)
	if err != nil {
		<-u.done
		if u.err != nil {
			return n, u.err
		}
	}
	return n, err
}

// finish ends the part's bytes and waits for the upload.
func (u *upload) finish() error {
	u.pw.Close()
	<-u.done
	return u.err
}

// failed cancels the upload after err (so that no partial part is stored)
// and returns err — or the upload's own error if the upload had failed
// first, since that is the cause (the Arrow writer reports a failed write
// only as "failed to write magic number" and the like). It is a no-op
// without an upload.
func (u *upload) failed(err error) error {
	if u == nil {
		return err
	}
	u.pw.CloseWithError(err)
	<-u.done
	if u.err != nil && !errors.Is(u.err, err) {
		return fmt.Errorf("write findings: %w", u.err)
	}
	return err
}

// Close writes and uploads the last part and returns every part written,
// in order: Path is the key relative to the bucket's root (dir/part-…)
// and Rows its row count. With no findings, no part is written and the
// list is empty. Close releases the Writer's memory; calling it again
// returns the same list.
func (w *Writer) Close() ([]schema.OutputFile, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.closed {
		return w.outputs, nil
	}
	if err := w.flushRowGroup(); err != nil {
		return nil, w.fail(err)
	}
	if err := w.finishPart(); err != nil {
		return nil, w.fail(err)
	}
	w.closed = true
	w.release()
	if w.outputs == nil {
		return []schema.OutputFile{}, nil
	}
	return w.outputs, nil
}

func (w *Writer) release() {
	w.bld.release()
	w.pw = nil
	w.levels, w.reps, w.strs = nil, nil, nil
}

// abortTimeout bounds the deletes of Abort.
const abortTimeout = 2 * time.Minute

// Abort deletes every part already uploaded (and the one being uploaded,
// if an upload failed) and discards what is buffered, so that no findings
// file of a failed run can be mistaken for one of a finished run. It may
// be called at any time, also after Close; later Writes fail. The deletes
// run even if the Writer's context is cancelled. It returns the first
// delete error, having tried every part.
func (w *Writer) Abort() error {
	if w.err == nil {
		w.err = fmt.Errorf("findings %s: writer aborted", w.uri(w.dir))
	}
	w.closed = true
	if w.up != nil {
		w.up.failed(w.err) // the part being streamed is never stored
		w.up = nil
	}
	w.release()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
	defer cancel()
	keys := w.keys
	if w.pending != "" {
		keys = append(keys, w.pending)
	}
	var first error
	var left []string
	for _, k := range keys {
		if err := w.bucket.Delete(ctx, k); err != nil {
			left = append(left, k)
			if first == nil {
				first = fmt.Errorf("abort findings: %w", err)
			}
		}
	}
	w.keys, w.pending, w.outputs = left, "", nil
	return first
}
