package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// validFile is a small parquet-go file with every audit column (two row
// groups, snappy, with page checksums).
func validFile(t testing.TB, opts ...parquet.WriterOption) []byte {
	t.Helper()
	want := sampleRows(300, true, false)
	cols := pgCase{nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain}.columns(want)
	return writePG(t, cols, 300, 150, append([]parquet.WriterOption{parquet.Compression(&parquet.Snappy)}, opts...)...)
}

// footerOf decodes a file's footer.
func footerOf(t testing.TB, data []byte) (format.FileMetaData, int) {
	t.Helper()
	n := len(data)
	flen := int(binary.LittleEndian.Uint32(data[n-8:]))
	var m format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), data[n-8-flen:n-8], &m); err != nil {
		t.Fatal(err)
	}
	return m, n - 8 - flen
}

// withFooter replaces a file's footer by an edited copy.
func withFooter(t testing.TB, data []byte, edit func(m *format.FileMetaData)) []byte {
	t.Helper()
	m, start := footerOf(t, data)
	edit(&m)
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &m)
	if err != nil {
		t.Fatal(err)
	}
	return withRawFooter(data[:start], footer)
}

func withRawFooter(body, footer []byte) []byte {
	out := slices.Clone(body)
	out = append(out, footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...)
}

// leafIndex is the leaf column index of a top-level column.
func leafIndex(t testing.TB, data []byte, name string) int {
	t.Helper()
	f, err := open(bytes.NewReader(data), int64(len(data)), "x", [numRoles]string{})
	if err != nil {
		t.Fatal(err)
	}
	tops, _ := topLevel(f.meta, f.pf.Root())
	for _, tc := range tops {
		if tc.el.Name == name {
			return tc.leaf
		}
	}
	t.Fatalf("no column %q", name)
	return -1
}

// chunkOf returns the byte range of a column chunk in row group rg.
func chunkOf(t testing.TB, data []byte, rg int, name string) (int, int) {
	t.Helper()
	m, _ := footerOf(t, data)
	start, n := chunkRange(&m.RowGroups[rg].Columns[leafIndex(t, data, name)].MetaData)
	return int(start), int(n)
}

// readFile opens data and reads every row group, returning the first error.
func readFile(data []byte, cols Columns) error {
	err := readFileAs(data, cols, false, coalesceGap)
	// Read with LazyContentID (then ContentIDs for no row), the file must
	// fail just the same: a damaged content_id column is caught although
	// no id is wanted. So it must when content_id is fetched after the
	// other columns, as a chunk of 1 MiB or more is (File.deferIDBytes).
	for _, d := range []int64{coalesceGap, 0} {
		if lazyErr := readFileAs(data, cols, true, d); (err == nil) != (lazyErr == nil) {
			return fmt.Errorf("read: %v; read with LazyContentID (deferred from %d bytes): %v", err, d, lazyErr)
		}
		// Streamed with OpenRowGroup and NextRows, a few rows at a time,
		// too, with the chunks fetched whole and read through a window
		// of one byte (a page at a time), without and with each next
		// window read ahead.
		for _, slice := range []int{1, 7, 1 << 16} {
			for _, w := range []int64{DefaultReadWindow, 1, -1} {
				if serr := streamFile(data, cols, slice, d, w); (err == nil) != (serr == nil) {
					return fmt.Errorf("read: %v; streamed %d rows at a time (content_id deferred from %d bytes, window %d): %v", err, slice, d, w, serr)
				}
			}
		}
	}
	return err
}

// streamFile reads every row group of data with OpenRowGroup, NextRows and
// ContentIDs (for no row), returning the first error; content_id chunks of
// deferID bytes or more are fetched by ContentIDs, and the read window is
// window (File.SetReadWindow), or -window with each next window read ahead
// (File.SetWindowAhead).
func streamFile(data []byte, cols Columns, slice int, deferID, window int64) error {
	return streamFileInto(&Batch{LazyContentID: true}, data, cols, slice, deferID, window)
}

// streamFileInto is streamFile reading into b (LazyContentID set), which
// may be reused from file to file.
func streamFileInto(b *Batch, data []byte, cols Columns, slice int, deferID, window int64) error {
	f, err := Open(bytes.NewReader(data), int64(len(data)), "bad.parquet", cols)
	if err != nil {
		return err
	}
	f.deferIDBytes = deferID
	f.SetReadWindow(abs(window))
	f.SetWindowAhead(window < 0)
	defer b.DropPrefetch()
	for i := 0; i < f.NumRowGroups(); i++ {
		if err := f.OpenRowGroup(i, b); err != nil {
			return err
		}
		for {
			n, err := f.NextRows(b, slice)
			if err != nil {
				return err
			}
			if n == 0 {
				break
			}
		}
		if err := f.ContentIDs(b, nil, new(IDs)); err != nil {
			return err
		}
	}
	return nil
}

func readFileAs(data []byte, cols Columns, lazy bool, deferID int64) error {
	f, err := Open(bytes.NewReader(data), int64(len(data)), "bad.parquet", cols)
	if err != nil {
		return err
	}
	f.deferIDBytes = deferID
	b := Batch{LazyContentID: lazy}
	for i := 0; i < f.NumRowGroups(); i++ {
		if err := f.ReadRowGroup(i, &b); err != nil {
			return err
		}
		if lazy {
			if err := f.ContentIDs(&b, nil, new(IDs)); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestMalformedFiles: damaged files give an *Error naming the file (and
// the column and row group where the damage is), never a panic or a hang.
func TestMalformedFiles(t *testing.T) {
	valid := validFile(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 5000)
	for i := range garbage {
		garbage[i] = byte(rnd.IntN(256))
	}
	platLeaf := leafIndex(t, valid, "platform")
	authorLeaf := leafIndex(t, valid, "author_id")
	pStart, pLen := chunkOf(t, valid, 1, "platform")
	aStart, _ := chunkOf(t, valid, 0, "author_id")

	// Thrift bombs: a footer claiming 2^31-1 row groups in a few bytes, and
	// one nested ten thousand structs deep.
	listBomb := []byte{0x49, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}
	deep := bytes.Repeat([]byte{0x1c}, 10000) // field 1, type struct, nested

	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"too short"}},
		{"garbage", garbage, []string{"not a Parquet file"}},
		{"garbage with magic", append(append([]byte("PAR1"), garbage...), "PAR1"...), []string{"footer"}},
		{"truncated to half", valid[:len(valid)/2], []string{"not a Parquet file"}},
		{"last byte missing", valid[:len(valid)-1], []string{"not a Parquet file"}},
		{"footer only", valid[len(valid)-8:], []string{"too short"}},
		{"footer length past the start", append(slices.Clone(valid[:len(valid)-8]), 0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'), []string{"footer length"}},
		{"footer list bomb", withRawFooter([]byte("PAR1"), listBomb), []string{"malformed footer", "elements claimed"}},
		{"footer nesting bomb", withRawFooter([]byte("PAR1"), deep), []string{"malformed footer", "nested too deeply"}},
		{"encrypted footer", append(slices.Clone(valid[:len(valid)-4]), "PARE"...), []string{"encrypted"}},
		{"chunk past the end", withFooter(t, valid, func(m *format.FileMetaData) {
			m.RowGroups[1].Columns[platLeaf].MetaData.DictionaryPageOffset = int64(len(valid)) + 100
		}), []string{"column platform", "row group 1", "does not lie between"}},
		{"chunk of a terabyte", withFooter(t, valid, func(m *format.FileMetaData) {
			m.RowGroups[0].Columns[authorLeaf].MetaData.TotalCompressedSize = 1 << 40
		}), []string{"column author_id", "row group 0", "does not lie between"}},
		{"negative chunk size", withFooter(t, valid, func(m *format.FileMetaData) {
			m.RowGroups[0].Columns[authorLeaf].MetaData.TotalCompressedSize = -5
		}), []string{"column author_id", "does not lie between"}},
		{"file row count wrong", withFooter(t, valid, func(m *format.FileMetaData) { m.NumRows++ }), []string{"claims 301 rows but its row groups hold 300"}},
		{"row group of 2^40 rows", withFooter(t, valid, func(m *format.FileMetaData) {
			m.RowGroups[0].NumRows = 1 << 40
			m.NumRows = 1<<40 + 150
		}), []string{"row group 0", "claims 1099511627776 rows"}},
		{"row group count short", withFooter(t, valid, func(m *format.FileMetaData) {
			m.RowGroups[1].NumRows--
			m.NumRows--
		}), []string{"row group 1", "more values than the row group's 149 rows"}},
		{"row group count long", withFooter(t, valid, func(m *format.FileMetaData) {
			m.RowGroups[1].NumRows++
			m.NumRows++
		}), []string{"row group 1", "hold 150 values but the row group has 151 rows"}},
		{"mixed codecs", withFooter(t, valid, func(m *format.FileMetaData) {
			m.RowGroups[1].Columns[platLeaf].MetaData.Codec = format.Gzip
		}), []string{"column platform", "row group 1", "codec GZIP but row group 0 uses SNAPPY"}},
		{"unsupported codec", withFooter(t, valid, func(m *format.FileMetaData) {
			for i := range m.RowGroups {
				m.RowGroups[i].Columns[platLeaf].MetaData.Codec = format.LZO
			}
		}), []string{"column platform", "codec LZO is not supported"}},
		{"chunk type differs from schema", withFooter(t, valid, func(m *format.FileMetaData) {
			m.RowGroups[0].Columns[authorLeaf].MetaData.Type = format.Int32
		}), []string{"column author_id", "physical type INT32, the schema says INT64"}},
		{"page header garbage", overwrite(valid, pStart, bytes.Repeat([]byte{0xff}, 16)), []string{"column platform", "row group 1", "page 0"}},
		{"page body corrupt (checksum)", overwrite(valid, pStart+pLen-8, []byte{1, 2, 3, 4, 5}), []string{"column platform", "row group 1", "checksum mismatch"}},
		{"page header zeroed", overwrite(valid, aStart, make([]byte, 40)), []string{"column author_id", "row group 0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- readFile(tc.data, defaultCols) }()
			select {
			case err := <-done:
				wantError(t, err, append([]string{"bad.parquet: "}, tc.want...)...)
				if strings.Contains(err.Error(), "decoder failed") {
					t.Errorf("a decoder panicked (recovered): %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("hangs")
			}
		})
	}
}

func overwrite(data []byte, off int, b []byte) []byte {
	out := slices.Clone(data)
	copy(out[off:], b)
	return out
}

// TestCorruptPages damages compressed pages without checksums (Arrow
// writes none), for every codec: the result is an error naming the
// column, not garbage and not a hang. LZ4_RAW matters most: parquet-go's
// own LZ4 decoder loops forever on a corrupt block.
func TestCorruptPages(t *testing.T) {
	cs := compress.Codecs
	for _, codec := range []compress.Compression{cs.Snappy, cs.Gzip, cs.Brotli, cs.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			c := arrowCase{n: 400, noDict: true, unit: arrow.Microsecond, codec: codec}
			want, raw := c.rows()
			data := c.write(t, want, raw)
			start, _ := chunkOf(t, data, 0, "created_at")
			// Keep the page header, break the start of the compressed body
			// (its framing: lengths, magic numbers, window sizes). Damage
			// further in can decode to wrong values unnoticed when a
			// writer stores no checksum; that is the format's limit.
			hl, err := checkThrift(data[start:])
			if err != nil {
				t.Fatal(err)
			}
			bad := overwrite(data, start+hl, []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
			wantError(t, readFile(bad, defaultCols), "bad.parquet: column created_at", "row group 0", "page 0", codec.String())
		})
	}
	t.Run("LZ4_RAW", func(t *testing.T) {
		want := sampleRows(400, false, false)
		data := writePG(t, pgCase{strEnc: &parquet.Plain, intEnc: &parquet.Plain}.columns(want), 400, 0, parquet.Compression(&parquet.Lz4Raw))
		// Drop the checksums so that the corrupt block reaches the decoder.
		m, start := footerOf(t, data)
		leaf := leafIndex(t, data, "created_at")
		cstart, _ := chunkRange(&m.RowGroups[0].Columns[leaf].MetaData)
		var h format.PageHeader
		hl, err := checkThrift(data[cstart:])
		if err != nil {
			t.Fatal(err)
		}
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), data[cstart:int(cstart)+hl], &h); err != nil {
			t.Fatal(err)
		}
		if h.CRC == 0 {
			t.Fatal("expected parquet-go to write a checksum")
		}
		h.CRC = 0
		nh, _ := thrift.Marshal(new(thrift.CompactProtocol), &h)
		body := data[int(cstart)+hl : int(cstart)+hl+int(h.CompressedPageSize)]
		bad := slices.Clone(body)
		for i := 0; i < len(bad); i += 7 {
			bad[i] ^= 0xa5
		}
		out := slices.Clone(data[:cstart])
		out = append(out, nh...)
		out = append(out, bad...)
		shift := int64(len(nh) - hl)
		out = append(out, data[int(cstart)+hl+len(body):start]...)
		footer := m
		for i := range footer.RowGroups {
			for j := range footer.RowGroups[i].Columns {
				md := &footer.RowGroups[i].Columns[j].MetaData
				if j == leaf {
					md.TotalCompressedSize += shift
				} else if md.DataPageOffset > cstart {
					md.DataPageOffset += shift
					if md.DictionaryPageOffset > 0 {
						md.DictionaryPageOffset += shift
					}
				}
			}
		}
		raw, _ := thrift.Marshal(new(thrift.CompactProtocol), &footer)
		damaged := withRawFooter(out, raw)
		done := make(chan error, 1)
		go func() { done <- readFile(damaged, defaultCols) }()
		select {
		case err := <-done:
			wantError(t, err, "column created_at", "row group 0", "LZ4_RAW")
		case <-time.After(20 * time.Second):
			t.Fatal("hangs")
		}
	})
}

// TestColumnTypes: columns of types the audit cannot read are rejected at
// Open with the found type; accepted legacy annotations decode.
func TestColumnTypes(t *testing.T) {
	base := pgCase{nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain}
	want := sampleRows(50, true, false)
	replace := func(name string, node parquet.Node, value func(i int) any) []byte {
		cols := base.columns(want)
		for k := range cols {
			if cols[k].name == name {
				cols[k] = pgCol{name, node, value}
			}
		}
		return writePG(t, cols, 50, 0)
	}
	str := func(i int) any { return "x" }
	i64 := func(i int) any { return int64(i) }
	i32 := func(i int) any { return int32(i) }
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"created_at plain int64", replace("created_at", parquet.Int(64), i64), []string{"column created_at", "type INT64 (INT(64,true)) is not a timestamp"}},
		{"created_at unannotated int64", withFooter(t, replace("created_at", parquet.Int(64), i64), func(m *format.FileMetaData) {
			for i := range m.Schema {
				if m.Schema[i].Name == "created_at" {
					m.Schema[i].LogicalType = format.LogicalType{}
					m.Schema[i].ConvertedType.Valid = false
				}
			}
		}), []string{"type INT64 is not a timestamp"}},
		{"created_at date", replace("created_at", parquet.Date(), i32), []string{"type INT32 (DATE) is not a timestamp"}},
		{"created_at time", replace("created_at", parquet.Time(parquet.Microsecond), i64), []string{"type INT64 (TIME(isAdjustedToUTC=true,unit=MICROS)) is not a timestamp"}},
		{"created_at string", replace("created_at", parquet.String(), str), []string{"type BYTE_ARRAY (STRING) is not a timestamp"}},
		{"author string", replace("author_id", parquet.String(), str), []string{"column author_id", "type BYTE_ARRAY (STRING) is not an integer"}},
		{"author double", replace("author_id", parquet.Leaf(parquet.DoubleType), func(i int) any { return float64(i) }), []string{"type DOUBLE is not an integer"}},
		{"author decimal", replace("author_id", parquet.Decimal(0, 18, parquet.Int64Type), i64), []string{"type INT64 (DECIMAL(18,0)) is not an integer"}},
		{"author timestamp", replace("author_id", parquet.Timestamp(parquet.Millisecond), i64), []string{"is not an integer"}},
		{"content_id uuid", replace("content_id", parquet.UUID(), func(i int) any { return [16]byte{byte(i)} }), []string{"column content_id", "FIXED_LEN_BYTE_ARRAY (UUID) is not a string or an integer"}},
		{"content_id json", replace("content_id", parquet.JSON(), func(i int) any { return `{}` }), []string{"BYTE_ARRAY (JSON) is not a string or an integer"}},
		{"platform int", replace("platform", parquet.Int(64), i64), []string{"column platform", "type INT64 (INT(64,true)) is not a string"}},
		{"visibility list", writeRows(t, []listRow{{Visibility: []string{"a"}}}), []string{"column visibility", "nested group (group LIST)"}},
		{"visibility repeated", writeRows(t, []repeatedRow{{Visibility: []string{"a"}}}), []string{"column visibility", "is repeated (a list of BYTE_ARRAY (STRING))"}},
		{"content_type struct", writeRows(t, []structRow{{}}), []string{"column content_type", "nested group"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(bytes.NewReader(tc.data), int64(len(tc.data)), "types.parquet", defaultCols)
			wantError(t, err, append([]string{"types.parquet: "}, tc.want...)...)
		})
	}
	t.Run("missing column", func(t *testing.T) {
		data := replace("visibility", parquet.String(), str)
		c := defaultCols
		c.Visibility = "audience"
		_, err := Open(bytes.NewReader(data), int64(len(data)), "types.parquet", c)
		wantError(t, err, "column audience: not found (read as visibility)", "author_id, body, content_id")
	})
}

// TestLegacyAnnotations: converted types without logical types (older
// writers) are read: TIMESTAMP_MILLIS/MICROS, INT_32/INT_64, UINT_8, UTF8
// and ENUM.
func TestLegacyAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name string
		unit parquet.TimeUnit
		ct   deprecated.ConvertedType
	}{
		{"TIMESTAMP_MILLIS", parquet.Millisecond, deprecated.TimestampMillis},
		{"TIMESTAMP_MICROS", parquet.Microsecond, deprecated.TimestampMicros},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := sampleRows(200, true, false)
			c := pgCase{nullable: true, unit: tc.unit, strEnc: &parquet.RLEDictionary, intEnc: &parquet.Plain}
			data := writePG(t, c.columns(want), 200, 0, parquet.Compression(&parquet.Zstd))
			legacy := map[string]deprecated.ConvertedType{"created_at": tc.ct, "author_id": deprecated.Int64, "platform": deprecated.UTF8, "visibility": deprecated.Enum}
			data = withFooter(t, data, func(m *format.FileMetaData) {
				for i := range m.Schema {
					if ct, ok := legacy[m.Schema[i].Name]; ok {
						m.Schema[i].LogicalType = format.LogicalType{}
						m.Schema[i].ConvertedType.V, m.Schema[i].ConvertedType.Valid = ct, true
					}
				}
			})
			got, f, err := readAll(t, data, defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			if el := schemaElement(t, f, "created_at"); el.LogicalType.Value != nil || !el.ConvertedType.Valid {
				t.Fatalf("created_at still %s", typeDesc(el))
			}
			compareRows(t, got, want)
		})
	}
	t.Run("UINT_8 author", func(t *testing.T) {
		want := sampleRows(20, false, false)
		cols := pgCase{}.columns(want)
		for i := range want {
			want[i].Author = ptr(int64(i * 13 % 256))
		}
		cols[1] = pgCol{"author_id", parquet.Uint(8), func(i int) any { return uint32(i * 13 % 256) }}
		got, _, err := readAll(t, writePG(t, cols, 20, 0), defaultCols)
		if err != nil {
			t.Fatal(err)
		}
		compareRows(t, got, want)
	})
}

// Rows with a nested or repeated audit column, written by parquet-go's
// GenericWriter.
type listRow struct {
	ContentID   string    `parquet:"content_id"`
	AuthorID    int64     `parquet:"author_id"`
	Platform    string    `parquet:"platform"`
	ContentType string    `parquet:"content_type"`
	Visibility  []string  `parquet:"visibility,list"`
	CreatedAt   time.Time `parquet:"created_at,timestamp(microsecond)"`
}

type repeatedRow struct {
	ContentID   string    `parquet:"content_id"`
	AuthorID    int64     `parquet:"author_id"`
	Platform    string    `parquet:"platform"`
	ContentType string    `parquet:"content_type"`
	Visibility  []string  `parquet:"visibility"`
	CreatedAt   time.Time `parquet:"created_at,timestamp(microsecond)"`
}

type structRow struct {
	ContentID   string `parquet:"content_id"`
	AuthorID    int64  `parquet:"author_id"`
	Platform    string `parquet:"platform"`
	ContentType struct {
		Name string `parquet:"name"`
	} `parquet:"content_type"`
	Visibility string    `parquet:"visibility"`
	CreatedAt  time.Time `parquet:"created_at,timestamp(microsecond)"`
}

func writeRows[T any](t testing.TB, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func abs(n int64) int64 { return max(n, -n) }
