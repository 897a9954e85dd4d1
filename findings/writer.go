package findings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	pqschema "github.com/apache/arrow/go/v17/parquet/schema"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// Defaults of Options.
const (
	DefaultMaxRows      = 1_000_000
	DefaultRowGroupRows = 128 * 1024
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

// Writer writes findings, in the order given, to a sequence of part files
// under a folder of a bucket: dir/part-00000.parquet, part-00001.parquet, …,
// rolling over to a new part every MaxRows rows. Each part is built in
// memory and uploaded with Bucket.Upload (atomic) once complete, so a part
// in the bucket is always a whole file. At most one row group of findings
// is held in Arrow builders, plus the encoded bytes of the current part.
//
// A Writer is not safe for concurrent use. After an error every later
// call returns the same error; the caller should then Abort.
type Writer struct {
	ctx    context.Context
	bucket lake.Bucket
	dir    string

	maxRows, rgRows int
	props           *parquet.WriterProperties
	awctx           context.Context // pqarrow write context (reusable buffers)

	root *pqschema.GroupNode
	rb   *array.RecordBuilder
	bld  builders

	levels []int16 // scratch definition levels
	reps   []int16 // scratch repetition levels

	pw       *file.Writer // current part, nil between parts
	buf      bytes.Buffer // its bytes
	part     int          // index of the current part
	partRows int64        // rows in the current part, flushed or buffered
	rgBuf    int          // rows buffered in the builders
	pending  string       // key being uploaded, for Abort
	outputs  []schema.OutputFile
	keys     []string // keys uploaded
	err      error    // sticky error
	closed   bool
}

// builders are the typed field builders of the record builder.
type builders struct {
	snapshot, contentID, platform, contentType, visibility, sourceFile *array.StringBuilder
	authorID, objectionAccountID, accountsCenterID, rowInFile          *array.Int64Builder
	createdAt, objectedAt                                              *array.TimestampBuilder
	categories                                                         *array.ListBuilder
	categoryValues                                                     *array.StringBuilder
	birthDate                                                          *array.Date32Builder
	rowGroup                                                           *array.Int32Builder
}

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
	opts := []parquet.WriterProperty{
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(false),
		parquet.WithMaxRowGroupLength(int64(w.rgRows)),
		parquet.WithVersion(parquet.V2_LATEST),
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithCreatedBy(parquet.DefaultCreatedBy),
	}
	for _, c := range dictColumns {
		opts = append(opts, parquet.WithDictionaryFor(c, true))
	}
	w.props = parquet.NewWriterProperties(opts...)
	arrowProps := pqarrow.DefaultWriterProps()
	w.awctx = pqarrow.NewArrowWriteContext(context.Background(), &arrowProps)

	w.rb = array.NewRecordBuilder(memory.DefaultAllocator, arrowSchema)
	f := w.rb.Fields()
	w.bld = builders{
		snapshot:           f[iSnapshot].(*array.StringBuilder),
		contentID:          f[iContentID].(*array.StringBuilder),
		authorID:           f[iAuthorID].(*array.Int64Builder),
		platform:           f[iPlatform].(*array.StringBuilder),
		contentType:        f[iContentType].(*array.StringBuilder),
		visibility:         f[iVisibility].(*array.StringBuilder),
		createdAt:          f[iCreatedAt].(*array.TimestampBuilder),
		categories:         f[iCategories].(*array.ListBuilder),
		birthDate:          f[iBirthDate].(*array.Date32Builder),
		objectionAccountID: f[iObjectionAccountID].(*array.Int64Builder),
		objectedAt:         f[iObjectedAt].(*array.TimestampBuilder),
		accountsCenterID:   f[iAccountsCenterID].(*array.Int64Builder),
		sourceFile:         f[iSourceFile].(*array.StringBuilder),
		rowGroup:           f[iRowGroup].(*array.Int32Builder),
		rowInFile:          f[iRowInFile].(*array.Int64Builder),
	}
	w.bld.categoryValues = w.bld.categories.ValueBuilder().(*array.StringBuilder)
	return w
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
	b.snapshot.Append(f.Snapshot)
	appendString(b.contentID, f.ContentID)
	appendInt64(b.authorID, f.AuthorID)
	appendString(b.platform, f.Platform)
	appendString(b.contentType, f.ContentType)
	appendString(b.visibility, f.Visibility)
	appendTimestamp(b.createdAt, f.CreatedAt)
	b.categories.Append(true)
	for _, c := range f.Categories {
		b.categoryValues.Append(string(c))
	}
	if f.BirthDate != nil {
		b.birthDate.Append(arrow.Date32(*f.BirthDate))
	} else {
		b.birthDate.AppendNull()
	}
	appendInt64(b.objectionAccountID, f.ObjectionAccountID)
	appendTimestamp(b.objectedAt, f.ObjectedAt)
	appendInt64(b.accountsCenterID, f.AccountsCenterID)
	b.sourceFile.Append(f.SourceFile)
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
// current part, starting the part if needed.
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
	}()
	if w.pw == nil {
		w.buf.Reset()
		meta := metadata.NewKeyValueMetadata()
		if err := meta.Append(MetaSchemaKey, SchemaVersion); err != nil {
			return fmt.Errorf("write findings %s: %w", w.uri(key), err)
		}
		w.pw = file.NewParquetWriter(&w.buf, w.root, file.WithWriterProps(w.props), file.WithWriteMetadata(meta))
	}
	rec := w.rb.NewRecord()
	defer rec.Release()
	w.rgBuf = 0

	rgw := w.pw.AppendRowGroup()
	for i := 0; i < numCols; i++ {
		cw, err := rgw.NextColumn()
		if err != nil {
			return fmt.Errorf("write findings %s: column %s: %w", w.uri(key), arrowSchema.Field(i).Name, err)
		}
		if err := w.writeColumn(cw, i, rec.Column(i)); err != nil {
			return fmt.Errorf("write findings %s: column %s: %w", w.uri(key), arrowSchema.Field(i).Name, err)
		}
	}
	if err := rgw.Close(); err != nil {
		return fmt.Errorf("write findings %s: row group: %w", w.uri(key), err)
	}
	return nil
}

// writeColumn writes one Arrow column as one Parquet column chunk,
// computing the definition and repetition levels itself.
func (w *Writer) writeColumn(cw file.ColumnChunkWriter, i int, arr arrow.Array) error {
	n := arr.Len()
	if i == iCategories {
		list := arr.(*array.List)
		offs := list.Offsets()
		total := int(offs[n] - offs[0])
		if total < n {
			total = n // an empty list still takes one level
		}
		w.levels = slices.Grow(w.levels[:0], total)
		w.reps = slices.Grow(w.reps[:0], total)
		for r := 0; r < n; r++ {
			lo, hi := offs[r], offs[r+1]
			if lo == hi {
				w.levels = append(w.levels, 0)
				w.reps = append(w.reps, 0)
				continue
			}
			for j := lo; j < hi; j++ {
				w.levels = append(w.levels, 1)
				if j == lo {
					w.reps = append(w.reps, 0)
				} else {
					w.reps = append(w.reps, 1)
				}
			}
		}
		values := array.NewSlice(list.ListValues(), int64(offs[0]), int64(offs[n]))
		defer values.Release()
		return pqarrow.WriteArrowToColumn(w.awctx, cw, values, w.levels, w.reps, false)
	}
	if !arrowSchema.Field(i).Nullable {
		if arr.NullN() != 0 {
			return errors.New("null in a required column")
		}
		return pqarrow.WriteArrowToColumn(w.awctx, cw, arr, nil, nil, false)
	}
	w.levels = w.levels[:0]
	for r := 0; r < n; r++ {
		if arr.IsValid(r) {
			w.levels = append(w.levels, 1)
		} else {
			w.levels = append(w.levels, 0)
		}
	}
	return pqarrow.WriteArrowToColumn(w.awctx, cw, arr, w.levels, nil, true)
}

// finishPart writes the current part's footer and uploads it.
func (w *Writer) finishPart() (err error) {
	if w.pw == nil {
		return nil
	}
	key := w.partKey(w.part)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write findings %s: footer: %v", w.uri(key), r)
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
	w.pending = key
	if err := w.bucket.Upload(w.ctx, key, bytes.NewReader(w.buf.Bytes())); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	w.pending = ""
	w.keys = append(w.keys, key)
	w.outputs = append(w.outputs, schema.OutputFile{Path: key, Rows: w.partRows})
	w.part++
	w.partRows = 0
	w.buf.Reset()
	return nil
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
	if w.rb != nil {
		w.rb.Release()
		w.rb = nil
	}
	w.pw = nil
	w.buf = bytes.Buffer{}
	w.levels, w.reps = nil, nil
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
	if w.rb != nil {
		w.release()
	}
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
