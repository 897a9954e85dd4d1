package lakegen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	acompress "github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/brotli"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/deprecated"
)

type codecPair struct {
	pq    compress.Codec
	arrow acompress.Compression
}

var codecs = map[string]codecPair{
	"snappy": {&snappy.Codec{}, acompress.Codecs.Snappy},
	"zstd":   {&zstd.Codec{}, acompress.Codecs.Zstd},
	"gzip":   {&gzip.Codec{}, acompress.Codecs.Gzip},
	"lz4":    {&lz4.Codec{}, acompress.Codecs.Snappy}, // Arrow v17 cannot write LZ4
	"brotli": {&brotli.Codec{}, acompress.Codecs.Brotli},
	"none":   {&uncompressed.Codec{}, acompress.Codecs.Uncompressed},
}

// Fixed writer metadata, so that files do not depend on the build.
const (
	pqCreatedByApp  = "parquet-go"
	pqCreatedByVer  = "0.32.0"
	pqCreatedBy     = "lakegen"
	arrowCreatedBy  = "parquet-go version 17.0.0" // arrow/go v17's own default
	batchSize       = 8192
	writeBufferSize = 1 << 20
)

// sink receives a corpus file's rows, batch by batch, row group by row group.
type sink interface {
	write(b *batch) error
	endRowGroup() error
	close() error
}

// FileInfo describes one written corpus file.
type FileInfo struct {
	Path      string `json:"path"` // relative to the output folder, slash-separated
	Platform  string `json:"platform"`
	Writer    string `json:"writer"`
	Rows      int64  `json:"rows"`
	RowGroups int    `json:"row_groups"`
	Flagged   int64  `json:"flagged"` // 0 when the truth is not computed
}

// writeCorpusFile generates and writes one corpus file; o may be nil (no truth).
func (g *fileGen) writeCorpusFile(ctx context.Context, out string, info *FileInfo, o *oracle) (*fileTruth, error) {
	m := g.m
	path := filepath.Join(out, filepath.FromSlash(info.Path))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lakegen: %w", err)
	}
	truth := &fileTruth{}
	err := writeAtomically(path, func(w io.Writer) error {
		var s sink
		var err error
		if info.Writer == WriterArrow {
			s, err = newArrowSink(w, m, info.Platform)
		} else {
			s, err = newPQSink(w, m, info.Platform)
		}
		if err != nil {
			return err
		}
		b := newBatch(batchSize)
		var view rowView
		rg := m.opt.RowGroupRows
		for start := int64(0); start < g.rows; start += rg {
			if err := ctx.Err(); err != nil {
				return err
			}
			end := min(start+rg, g.rows)
			for s0 := start; s0 < end; s0 += batchSize {
				n := int(min(batchSize, end-s0))
				g.fill(b, s0, n)
				if o != nil {
					for i := range n {
						view = rowView{authorOK: b.authorOK[i], author: b.author[i], ctype: b.ctype[i], vis: b.vis[i], createdOK: b.createdOK[i]}
						if view.createdOK {
							view.created = m.timeOf(b.created[i])
						}
						truth.add(b, i, o.judge(&view), m.opt.ContentIDInt)
					}
				}
				if err := s.write(b); err != nil {
					return err
				}
			}
			if err := s.endRowGroup(); err != nil {
				return err
			}
			info.RowGroups++
		}
		return s.close()
	})
	if err != nil {
		return nil, fmt.Errorf("lakegen: write corpus file %s: %w", path, err)
	}
	info.Flagged = truth.flagged
	return truth, nil
}

// writeAtomically writes path through a temporary file renamed into place.
func writeAtomically(path string, fn func(w io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, writeBufferSize)
	err = fn(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// pqRow is a corpus row as parquet-go writes it. content_id and platform
// are REQUIRED; the others OPTIONAL. created_at's logical type is set at
// run time (StructTag) for the chosen unit.
type pqRow[ID string | int64, TS int64 | deprecated.Int96] struct {
	ContentID   ID      `parquet:"content_id"`
	AuthorID    *int64  `parquet:"author_id,optional"`
	Platform    string  `parquet:"platform,dict"`
	ContentType *string `parquet:"content_type,optional,dict"`
	Visibility  *string `parquet:"visibility,optional,dict"`
	CreatedAt   *TS     `parquet:"created_at,optional"`
	Lang        *string `parquet:"lang,optional,dict"`
}

type pqSink[ID string | int64, TS int64 | deprecated.Int96] struct {
	w        *pq.GenericWriter[pqRow[ID, TS]]
	rows     []pqRow[ID, TS]
	ts       []TS
	idOf     func(b *batch, i int) ID
	tsOf     func(v int64) TS
	platform string
}

func newPQSink(w io.Writer, m *model, platform string) (sink, error) {
	strID := func(b *batch, i int) string { return b.idString(i) }
	intID := func(b *batch, i int) int64 { return b.ids[i] }
	ts64 := func(v int64) int64 { return v }
	if m.unit == unitInt96 {
		if m.opt.ContentIDInt {
			return newPQSinkT(w, m, platform, intID, int96Of), nil
		}
		return newPQSinkT(w, m, platform, strID, int96Of), nil
	}
	if m.opt.ContentIDInt {
		return newPQSinkT(w, m, platform, intID, ts64), nil
	}
	return newPQSinkT(w, m, platform, strID, ts64), nil
}

// int96Of encodes nanoseconds since the epoch the way Spark writes INT96:
// nanoseconds of the day, then the Julian day number.
func int96Of(ns int64) deprecated.Int96 {
	const nsPerDay = 86400 * 1_000_000_000
	day := ns / nsPerDay
	if ns%nsPerDay < 0 {
		day--
	}
	nod := uint64(ns - day*nsPerDay)
	return deprecated.Int96{uint32(nod), uint32(nod >> 32), uint32(day + 2440588)}
}

func newPQSinkT[ID string | int64, TS int64 | deprecated.Int96](w io.Writer, m *model, platform string, idOf func(*batch, int) ID, tsOf func(int64) TS) *pqSink[ID, TS] {
	opts := []pq.WriterOption{
		pq.Compression(codecs[m.opt.Codec].pq),
		pq.CreatedBy(pqCreatedByApp, pqCreatedByVer, pqCreatedBy),
		pq.MaxRowsPerRowGroup(m.opt.RowGroupRows),
	}
	var unit string
	switch m.unit {
	case unitMillis:
		unit = "millisecond"
	case unitNanos:
		unit = "nanosecond"
	case unitMicros:
		unit = "microsecond"
	}
	var schemaOpts []pq.SchemaOption
	if unit != "" {
		tag := reflect.StructTag(`parquet:"created_at,optional,timestamp(` + unit + `:utc)"`)
		st := pq.StructTag(tag, "CreatedAt") // the path is the Go field's
		schemaOpts = append(schemaOpts, st)
		opts = append(opts, st.(pq.WriterOption))
	}
	// The root is named like pyarrow's, not after the Go type.
	opts = append(opts, pq.NewSchema("schema", pq.SchemaOf(new(pqRow[ID, TS]), schemaOpts...)))
	return &pqSink[ID, TS]{
		w:        pq.NewGenericWriter[pqRow[ID, TS]](w, opts...),
		rows:     make([]pqRow[ID, TS], batchSize),
		ts:       make([]TS, batchSize),
		idOf:     idOf,
		tsOf:     tsOf,
		platform: platform,
	}
}

func (s *pqSink[ID, TS]) write(b *batch) error {
	rows := s.rows[:b.n]
	for i := range rows {
		r := &rows[i]
		r.ContentID = s.idOf(b, i)
		r.AuthorID = nil
		if b.authorOK[i] {
			r.AuthorID = &b.author[i]
		}
		r.Platform = s.platform
		r.ContentType, r.Visibility, r.Lang = b.ctype[i], b.vis[i], b.lang[i]
		r.CreatedAt = nil
		if b.createdOK[i] {
			s.ts[i] = s.tsOf(b.created[i])
			r.CreatedAt = &s.ts[i]
		}
	}
	_, err := s.w.Write(rows)
	return err
}

func (s *pqSink[ID, TS]) endRowGroup() error { return s.w.Flush() }
func (s *pqSink[ID, TS]) close() error       { return s.w.Close() }

// arrowSink writes corpus rows with pqarrow: every column nullable
// (OPTIONAL, as Spark writes), in a different order, created_at without a
// time zone (isAdjustedToUTC=false), data page v1, dictionaries on.
type arrowSink struct {
	fw       *pqarrow.FileWriter
	rb       *array.RecordBuilder
	m        *model
	platform string
	inGroup  bool // a row group is open
}

func newArrowSink(w io.Writer, m *model, platform string) (*arrowSink, error) {
	unit := map[tsUnit]arrow.TimeUnit{unitMicros: arrow.Microsecond, unitMillis: arrow.Millisecond, unitNanos: arrow.Nanosecond, unitInt96: arrow.Nanosecond}[m.unit]
	var idType arrow.DataType = arrow.BinaryTypes.String
	if m.opt.ContentIDInt {
		idType = arrow.PrimitiveTypes.Int64
	}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "created_at", Type: &arrow.TimestampType{Unit: unit}, Nullable: true},
		{Name: "content_id", Type: idType, Nullable: true},
		{Name: "platform", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "author_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "content_type", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "visibility", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "lang", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	props := parquet.NewWriterProperties(
		parquet.WithCompression(codecs[m.opt.Codec].arrow),
		parquet.WithMaxRowGroupLength(m.opt.RowGroupRows),
		parquet.WithCreatedBy(arrowCreatedBy),
		parquet.WithRootName("spark_schema"),
	)
	var aprops []pqarrow.WriterOption
	if m.unit == unitInt96 {
		aprops = append(aprops, pqarrow.WithDeprecatedInt96Timestamps(true))
	}
	fw, err := pqarrow.NewFileWriter(sc, w, props, pqarrow.NewArrowWriterProperties(aprops...))
	if err != nil {
		return nil, err
	}
	return &arrowSink{fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, sc), m: m, platform: platform}, nil
}

func appendStr(b *array.StringBuilder, v *string) {
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(*v)
	}
}

func (s *arrowSink) write(b *batch) error {
	if !s.inGroup {
		s.fw.NewBufferedRowGroup()
		s.inGroup = true
	}
	ts := s.rb.Field(0).(*array.TimestampBuilder)
	plat := s.rb.Field(2).(*array.StringBuilder)
	auth := s.rb.Field(3).(*array.Int64Builder)
	ct := s.rb.Field(4).(*array.StringBuilder)
	vis := s.rb.Field(5).(*array.StringBuilder)
	lang := s.rb.Field(6).(*array.StringBuilder)
	for _, f := range s.rb.Fields() {
		f.Reserve(b.n)
	}
	for i := range b.n {
		if b.createdOK[i] {
			ts.Append(arrow.Timestamp(b.created[i]))
		} else {
			ts.AppendNull()
		}
		plat.Append(s.platform)
		if b.authorOK[i] {
			auth.Append(b.author[i])
		} else {
			auth.AppendNull()
		}
		appendStr(ct, b.ctype[i])
		appendStr(vis, b.vis[i])
		appendStr(lang, b.lang[i])
	}
	if s.m.opt.ContentIDInt {
		s.rb.Field(1).(*array.Int64Builder).AppendValues(b.ids[:b.n], nil)
	} else {
		ids := s.rb.Field(1).(*array.StringBuilder)
		for i := range b.n {
			ids.Append(b.idString(i))
		}
	}
	rec := s.rb.NewRecord()
	defer rec.Release()
	return s.fw.WriteBuffered(rec)
}

func (s *arrowSink) endRowGroup() error {
	s.inGroup = false
	return nil
}

func (s *arrowSink) close() error {
	s.rb.Release()
	return s.fw.Close()
}

// partPath is the corpus path of file k, relative to the output folder.
func partPath(snapshot, platform string, k int) string {
	return "corpus/snapshot=" + snapshot + "/platform=" + platform + "/part-" + pad5(k) + ".parquet"
}

func pad5(k int) string {
	s := strconv.Itoa(k)
	for len(s) < 5 {
		s = "0" + s
	}
	return s
}
