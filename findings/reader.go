package findings

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/parquet/file"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// maxPartRows is the most rows a findings part may hold when read back
// (the Writer writes at most DefaultMaxRows): reading one holds all its
// findings and, for a row group, a value of every column per row.
const maxPartRows = 4 << 20

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
	return readPart(ctx, uri, data, dst)
}

// readPart reads the findings file data, named uri in errors. The Arrow
// Parquet reader panics on some malformed input (e.g. a corrupt zstd
// page); that is reported as an error naming the file.
func readPart(ctx context.Context, uri string, data []byte, dst []schema.Finding) (out []schema.Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = dst, fmt.Errorf("read findings %s: malformed file: %v", uri, r)
		}
	}()
	return decodePart(ctx, uri, data, dst)
}

func decodePart(ctx context.Context, uri string, data []byte, dst []schema.Finding) ([]schema.Finding, error) {
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
	cols, err := locateColumns(pr.MetaData().Schema)
	if err != nil {
		return dst, fmt.Errorf("read findings %s: %w", uri, err)
	}
	// The row counts size what is read, so they are checked first: a
	// small file can claim any number of rows (of nulls, say, in one RLE
	// run).
	var sum int64
	for g := 0; g < pr.NumRowGroups(); g++ {
		n := pr.MetaData().RowGroup(g).NumRows()
		if n < 0 || n > maxPartRows-sum {
			return dst, fmt.Errorf("read findings %s: row group %d: %d rows after %d: more than a findings part holds (at most %d; corpus-audit writes %d)",
				uri, g, n, sum, maxPartRows, DefaultMaxRows)
		}
		sum += n
	}
	if want := pr.NumRows(); sum != want {
		return dst, fmt.Errorf("read findings %s: the row groups hold %d rows, the footer says %d", uri, sum, want)
	}
	var (
		rows int64
		rg   rowGroup
	)
	for g := 0; g < pr.NumRowGroups(); g++ {
		if err := ctx.Err(); err != nil {
			return dst, fmt.Errorf("read findings %s: %w", uri, err)
		}
		if err := rg.read(data, pr.RowGroup(g), &cols, rows); err != nil {
			return dst, fmt.Errorf("read findings %s: row group %d: %w", uri, g, err)
		}
		if dst, err = rg.appendTo(dst, rows); err != nil {
			return dst, fmt.Errorf("read findings %s: %w", uri, err)
		}
		rows += int64(rg.n)
	}
	if want := pr.NumRows(); rows != want {
		return dst, fmt.Errorf("read findings %s: read %d rows, footer says %d", uri, rows, want)
	}
	return dst, nil
}
