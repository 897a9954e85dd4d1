package findings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// partRE matches the name of a part file.
var partRE = regexp.MustCompile(`^part-([0-9]{5,})\.parquet$`)

// Parts lists the keys of the findings parts directly under dir in b, in
// part order. Other objects (temporary files of an upload in progress,
// markers) are ignored. The parts must be numbered 0, 1, 2, … without a
// gap: a missing part is an error, since its findings would be lost.
func Parts(ctx context.Context, b lake.Bucket, dir string) ([]string, error) {
	prefix := strings.TrimSuffix(dir, "/")
	if prefix != "" {
		prefix += "/"
	}
	type part struct {
		n   int
		key string
	}
	var parts []part
	err := b.Iter(ctx, prefix, func(key string, _ lake.Attrs) error {
		m := partRE.FindStringSubmatch(strings.TrimPrefix(key, prefix))
		if m == nil {
			return nil
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return fmt.Errorf("findings %s: bad part number", b.URI(key))
		}
		parts = append(parts, part{n, key})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].n < parts[j].n })
	keys := make([]string, len(parts))
	for i, p := range parts {
		if p.n != i {
			return nil, fmt.Errorf("findings %s: %s is missing (found %s)", b.URI(dir), PartName(i), b.URI(p.key))
		}
		keys[i] = p.key
	}
	return keys, nil
}

// Read reads every findings part under dir in b, in part order, and
// returns the findings in the order they were written. It is meant for
// tests and tools: it holds every finding in memory. Each part must be a
// findings file of SchemaVersion with the expected column types; any other
// file or a malformed one is an error naming it.
func Read(ctx context.Context, b lake.Bucket, dir string) ([]schema.Finding, error) {
	keys, err := Parts(ctx, b, dir)
	if err != nil {
		return nil, err
	}
	var out []schema.Finding
	for _, key := range keys {
		out, err = ReadPart(ctx, b, key, out)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadPart reads the findings file key of b and appends its findings to
// dst.
func ReadPart(ctx context.Context, b lake.Bucket, key string, dst []schema.Finding) (out []schema.Finding, err error) {
	uri := b.URI(key)
	rc, err := b.Get(ctx, key)
	if err != nil {
		return dst, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return dst, fmt.Errorf("read findings %s: %w", uri, err)
	}
	// The Arrow Parquet reader panics on some malformed input (e.g. a
	// corrupt zstd page); report that as an error naming the file.
	defer func() {
		if r := recover(); r != nil {
			out, err = dst, fmt.Errorf("read findings %s: malformed file: %v", uri, r)
		}
	}()
	return readPart(ctx, uri, data, dst)
}

func readPart(ctx context.Context, uri string, data []byte, dst []schema.Finding) ([]schema.Finding, error) {
	pr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return dst, fmt.Errorf("read findings %s: %w", uri, err)
	}
	defer pr.Close()
	v := pr.MetaData().KeyValueMetadata().FindValue(MetaSchemaKey)
	switch {
	case v == nil:
		return dst, fmt.Errorf("read findings %s: not a findings file (no %s metadata)", uri, MetaSchemaKey)
	case *v != SchemaVersion:
		return dst, fmt.Errorf("read findings %s: format %q, want %q", uri, *v, SchemaVersion)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, memory.DefaultAllocator)
	if err != nil {
		return dst, fmt.Errorf("read findings %s: %w", uri, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return dst, fmt.Errorf("read findings %s: %w", uri, err)
	}
	// Map the expected columns to the file's, checking their types.
	idx := make([]int, numCols)
	for i, want := range arrowSchema.Fields() {
		got := sc.FieldIndices(want.Name)
		if len(got) != 1 {
			return dst, fmt.Errorf("read findings %s: column %s: found %d times, want once", uri, want.Name, len(got))
		}
		f := sc.Field(got[0])
		if !sameType(f.Type, want.Type) {
			return dst, fmt.Errorf("read findings %s: column %s: type %s, want %s", uri, want.Name, f.Type, want.Type)
		}
		idx[i] = got[0]
	}
	rr, err := fr.GetRecordReader(ctx, idx, nil)
	if err != nil {
		return dst, fmt.Errorf("read findings %s: %w", uri, err)
	}
	defer rr.Release()
	var rows int64
	for rr.Next() {
		rec := rr.Record()
		if dst, err = appendRecord(dst, rec, rows); err != nil {
			return dst, fmt.Errorf("read findings %s: %w", uri, err)
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return dst, fmt.Errorf("read findings %s: row %d: %w", uri, rows, err)
	}
	if want := pr.NumRows(); rows != want {
		return dst, fmt.Errorf("read findings %s: read %d rows, footer says %d", uri, rows, want)
	}
	return dst, nil
}

// sameType compares types ignoring the names and nullability of list
// elements, which other writers may set differently.
func sameType(got, want arrow.DataType) bool {
	gl, ok1 := got.(*arrow.ListType)
	wl, ok2 := want.(*arrow.ListType)
	if ok1 && ok2 {
		return arrow.TypeEqual(gl.Elem(), wl.Elem())
	}
	return arrow.TypeEqual(got, want)
}

// appendRecord converts one record (columns in file order, types checked)
// to findings. first is the row number of its first row in the file.
func appendRecord(dst []schema.Finding, rec arrow.Record, first int64) ([]schema.Finding, error) {
	col := func(i int) arrow.Array { return rec.Column(i) }
	snapshot := col(iSnapshot).(*array.String)
	contentID := col(iContentID).(*array.String)
	authorID := col(iAuthorID).(*array.Int64)
	platform := col(iPlatform).(*array.String)
	contentType := col(iContentType).(*array.String)
	visibility := col(iVisibility).(*array.String)
	createdAt := col(iCreatedAt).(*array.Timestamp)
	categories := col(iCategories).(*array.List)
	catValues, ok := categories.ListValues().(*array.String)
	if !ok {
		return dst, fmt.Errorf("column %s: elements are %s, want string", ColCategories, categories.ListValues().DataType())
	}
	birthDate := col(iBirthDate).(*array.Date32)
	objectionAccountID := col(iObjectionAccountID).(*array.Int64)
	objectedAt := col(iObjectedAt).(*array.Timestamp)
	accountsCenterID := col(iAccountsCenterID).(*array.Int64)
	sourceFile := col(iSourceFile).(*array.String)
	rowGroup := col(iRowGroup).(*array.Int32)
	rowInFile := col(iRowInFile).(*array.Int64)

	// Repeated strings (snapshot, source file, platform…) share one copy.
	intern := map[string]string{}
	str := func(a *array.String, r int) string {
		v := a.Value(r)
		if s, ok := intern[v]; ok {
			return s
		}
		if len(intern) < 1<<16 {
			s := strings.Clone(v)
			intern[s] = s
			return s
		}
		return strings.Clone(v)
	}
	optStr := func(a *array.String, r int) *string {
		if a.IsNull(r) {
			return nil
		}
		s := str(a, r)
		return &s
	}
	optInt64 := func(a *array.Int64, r int) *int64 {
		if a.IsNull(r) {
			return nil
		}
		v := a.Value(r)
		return &v
	}
	optTS := func(a *array.Timestamp, r int) *int64 {
		if a.IsNull(r) {
			return nil
		}
		v := int64(a.Value(r))
		return &v
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		row := first + int64(r)
		for _, c := range []struct {
			name string
			a    arrow.Array
		}{{ColSnapshot, snapshot}, {ColCategories, categories}, {ColSourceFile, sourceFile}, {ColRowGroup, rowGroup}, {ColRowInFile, rowInFile}} {
			if c.a.IsNull(r) {
				return dst, fmt.Errorf("column %s row %d: null in a required column", c.name, row)
			}
		}
		f := schema.Finding{
			Snapshot:           str(snapshot, r),
			ContentID:          optStr(contentID, r),
			AuthorID:           optInt64(authorID, r),
			Platform:           optStr(platform, r),
			ContentType:        optStr(contentType, r),
			Visibility:         optStr(visibility, r),
			CreatedAt:          optTS(createdAt, r),
			ObjectionAccountID: optInt64(objectionAccountID, r),
			ObjectedAt:         optTS(objectedAt, r),
			AccountsCenterID:   optInt64(accountsCenterID, r),
			SourceFile:         str(sourceFile, r),
			RowGroup:           rowGroup.Value(r),
			RowInFile:          rowInFile.Value(r),
		}
		if birthDate.IsValid(r) {
			v := int32(birthDate.Value(r))
			f.BirthDate = &v
		}
		lo, hi := categories.ValueOffsets(r)
		f.Categories = make([]schema.Category, 0, hi-lo)
		for j := lo; j < hi; j++ {
			if catValues.IsNull(int(j)) {
				return dst, fmt.Errorf("column %s row %d: null category", ColCategories, row)
			}
			f.Categories = append(f.Categories, schema.Category(str(catValues, int(j))))
		}
		dst = append(dst, f)
	}
	return dst, nil
}
