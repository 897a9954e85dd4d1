package findings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/corpus-audit/corpus-audit/internal/parquettesting"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

func ptr[T any](v T) *T { return &v }

// finding returns the i-th test finding. Every 3rd has all evidence and
// optional columns null, every 3rd has all of them present, the rest a
// mix; categories vary in number.
func finding(i int) schema.Finding {
	f := schema.Finding{
		Snapshot:   "2026-06-01",
		SourceFile: fmt.Sprintf("s3://corpus/2026-06-01/part-%03d.parquet", i/100),
		RowGroup:   int32(i / 10 % 7),
		RowInFile:  int64(i),
	}
	switch i % 3 {
	case 0: // all optional columns null
		f.Categories = []schema.Category{schema.Unauditable}
	case 1: // all present
		f.ContentID = ptr(fmt.Sprintf("c%d", i))
		f.AuthorID = ptr(int64(1_000_000_000_000 + i))
		f.Platform = ptr("facebook")
		f.ContentType = ptr(" Post ")
		f.Visibility = ptr("public")
		f.CreatedAt = ptr(int64(1_700_000_000_000_000 + int64(i)*1_000_003))
		f.Categories = []schema.Category{schema.Minor, schema.Objected, schema.Private}
		f.BirthDate = ptr(int32(-3650 + i))   // before and after 1970
		f.ObjectionAccountID = ptr(int64(-i)) // negative ids are still ids
		f.ObjectedAt = ptr(int64(1_600_000_000_000_000 - int64(i)))
		f.AccountsCenterID = ptr(int64(42))
	default: // a mix, with empty strings (not null)
		f.ContentID = ptr("")
		f.AuthorID = ptr(int64(i))
		f.Visibility = ptr("")
		f.CreatedAt = ptr(int64(-1)) // before the epoch
		f.Categories = []schema.Category{schema.AgeUnknown, schema.Private}
		f.ObjectionAccountID = ptr(int64(i))
		f.ObjectedAt = ptr(int64(0))
	}
	return f
}

func findingsN(n int) []schema.Finding {
	out := make([]schema.Finding, n)
	for i := range out {
		out[i] = finding(i)
	}
	return out
}

func writeAll(t testing.TB, b lake.Bucket, dir string, o Options, fs []schema.Finding) []schema.OutputFile {
	t.Helper()
	w := NewWriter(context.Background(), b, dir, o)
	for i := range fs {
		if err := w.Write(&fs[i]); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	out, err := w.Close()
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out
}

// objects lists every object in the bucket.
func objects(t *testing.T, b lake.Bucket) []string {
	t.Helper()
	var keys []string
	if err := b.Iter(context.Background(), "", func(k string, _ lake.Attrs) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		opts     Options
		wantRows []int64
	}{
		{"zero findings", 0, Options{}, nil},
		{"one finding", 1, Options{}, []int64{1}},
		{"one part default", 1000, Options{}, []int64{1000}},
		{"parts with remainder", 10, Options{MaxRows: 3}, []int64{3, 3, 3, 1}},
		{"exact multiple", 9, Options{MaxRows: 3}, []int64{3, 3, 3}},
		{"one row per part", 3, Options{MaxRows: 1}, []int64{1, 1, 1}},
		{"several row groups per part", 1000, Options{MaxRows: 300, RowGroupRows: 64}, []int64{300, 300, 300, 100}},
		{"row group larger than part", 7, Options{MaxRows: 2, RowGroupRows: 100}, []int64{2, 2, 2, 1}},
		{"snappy", 50, Options{Compression: CodecSnappy}, []int64{50}},
		{"gzip", 50, Options{Compression: CodecGzip}, []int64{50}},
		{"uncompressed", 50, Options{Compression: CodecNone, MaxRows: 20}, []int64{20, 20, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lake.NewLocal(t.TempDir())
			in := findingsN(tt.n)
			out := writeAll(t, b, "run/findings", tt.opts, in)

			if out == nil {
				t.Fatal("Close returned a nil list")
			}
			var want []schema.OutputFile
			for i, r := range tt.wantRows {
				want = append(want, schema.OutputFile{Path: fmt.Sprintf("run/findings/part-%05d.parquet", i), Rows: r})
			}
			if len(out) != len(want) || (len(want) > 0 && !reflect.DeepEqual(out, want)) {
				t.Fatalf("outputs = %v, want %v", out, want)
			}
			var wantKeys []string
			for _, o := range want {
				wantKeys = append(wantKeys, o.Path)
			}
			if got := objects(t, b); !reflect.DeepEqual(got, wantKeys) {
				t.Fatalf("objects in bucket = %v, want %v", got, wantKeys)
			}

			got, err := Read(context.Background(), b, "run/findings")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(in) {
				t.Fatalf("read %d findings, wrote %d", len(got), len(in))
			}
			for i := range in {
				if !reflect.DeepEqual(got[i], in[i]) {
					t.Fatalf("finding %d:\n got %s\nwant %s", i, show(got[i]), show(in[i]))
				}
			}
		})
	}
}

// show prints a finding with its pointers followed.
func show(f schema.Finding) string {
	var sb strings.Builder
	v := reflect.ValueOf(f)
	for i := 0; i < v.NumField(); i++ {
		x := v.Field(i)
		if x.Kind() == reflect.Pointer {
			if x.IsNil() {
				fmt.Fprintf(&sb, "%s=<nil> ", v.Type().Field(i).Name)
				continue
			}
			x = x.Elem()
		}
		fmt.Fprintf(&sb, "%s=%v ", v.Type().Field(i).Name, x.Interface())
	}
	return sb.String()
}

func TestRowGroupsBounded(t *testing.T) {
	b := lake.NewLocal(t.TempDir())
	writeAll(t, b, "f", Options{MaxRows: 250, RowGroupRows: 100}, findingsN(600))
	// 250 rows per part in row groups of 100, 100, 50; the last part 100.
	want := map[string][]int64{
		"f/part-00000.parquet": {100, 100, 50},
		"f/part-00001.parquet": {100, 100, 50},
		"f/part-00002.parquet": {100},
	}
	for key, rgs := range want {
		md := openMeta(t, b, key)
		var got []int64
		for i := 0; i < len(md.RowGroups); i++ {
			got = append(got, md.RowGroup(i).NumRows())
		}
		if !reflect.DeepEqual(got, rgs) {
			t.Errorf("%s: row groups %v, want %v", key, got, rgs)
		}
	}
}

func TestDeterministic(t *testing.T) {
	in := findingsN(2000)
	o := Options{MaxRows: 700, RowGroupRows: 300}
	b1 := lake.NewLocal(t.TempDir())
	b2 := lake.NewLocal(t.TempDir())
	out1 := writeAll(t, b1, "a", o, in)
	out2 := writeAll(t, b2, "b/c", o, in)
	if len(out1) != 3 || len(out2) != 3 {
		t.Fatalf("parts: %d and %d, want 3", len(out1), len(out2))
	}
	for i := range out1 {
		d1 := readObject(t, b1, out1[i].Path)
		d2 := readObject(t, b2, out2[i].Path)
		if !bytes.Equal(d1, d2) {
			t.Errorf("part %d differs between two writes of the same findings (%d and %d bytes)", i, len(d1), len(d2))
		}
	}
	// And a different finding gives a different file (the comparison
	// above can fail).
	in[5].RowInFile++
	b3 := lake.NewLocal(t.TempDir())
	out3 := writeAll(t, b3, "a", o, in)
	if bytes.Equal(readObject(t, b1, out1[0].Path), readObject(t, b3, out3[0].Path)) {
		t.Error("changing a finding did not change the file")
	}
}

func readObject(t testing.TB, b lake.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	d, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAbort(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		close      bool // Close before Abort
		cancel     bool // cancel the writer's context before Abort
		wantBefore int  // parts in the bucket before Abort
	}{
		{"nothing written", 0, false, false, 0},
		{"buffered only", 1, false, false, 0},
		{"parts uploaded and rows buffered", 7, false, false, 3},
		{"after Close", 7, true, false, 4},
		{"context cancelled", 7, false, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			b := lake.NewLocal(root)
			// An unrelated object must survive.
			if err := b.Upload(context.Background(), "other/keep.txt", strings.NewReader("x")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := NewWriter(ctx, b, "out/findings", Options{MaxRows: 2})
			in := findingsN(tt.n)
			for i := range in {
				if err := w.Write(&in[i]); err != nil {
					t.Fatal(err)
				}
			}
			if tt.close {
				if _, err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(objects(t, b)) - 1; got != tt.wantBefore {
				t.Fatalf("before Abort: %d parts, want %d", got, tt.wantBefore)
			}
			if tt.cancel {
				cancel()
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if got := objects(t, b); !reflect.DeepEqual(got, []string{"other/keep.txt"}) {
				t.Fatalf("after Abort the bucket holds %v, want only other/keep.txt", got)
			}
			// The writer is dead now.
			f := finding(0)
			if err := w.Write(&f); err == nil {
				t.Error("Write after Abort succeeded")
			}
			if _, err := w.Close(); err == nil {
				t.Error("Close after Abort succeeded")
			}
			if err := w.Abort(); err != nil {
				t.Errorf("second Abort: %v", err)
			}
			// No temporary files left behind either.
			var files []string
			filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, p)
				}
				return nil
			})
			if len(files) != 1 {
				t.Errorf("files left: %v", files)
			}
		})
	}
}

// failingBucket fails uploads after the first ok ones.
type failingBucket struct {
	lake.Bucket
	ok int
}

func (f *failingBucket) Upload(ctx context.Context, key string, r io.Reader) error {
	if f.ok == 0 {
		return &lake.ObjectError{Op: "write", URI: f.URI(key), Err: errors.New("disk full")}
	}
	f.ok--
	return f.Bucket.Upload(ctx, key, r)
}

func TestUploadFailure(t *testing.T) {
	b := &failingBucket{Bucket: lake.NewLocal(t.TempDir()), ok: 1}
	w := NewWriter(context.Background(), b, "f", Options{MaxRows: 2})
	in := findingsN(5)
	var err error
	for i := range in {
		if err = w.Write(&in[i]); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "part-00001.parquet") {
		t.Fatalf("Write error = %v, want the upload error naming part-00001.parquet", err)
	}
	// The error sticks.
	if _, err2 := w.Close(); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("Close error = %v, want %v", err2, err)
	}
	if got := objects(t, b); len(got) != 1 {
		t.Fatalf("bucket holds %v, want part 0", got)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := objects(t, b); len(got) != 0 {
		t.Fatalf("after Abort the bucket holds %v", got)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		f       schema.Finding
		wantErr string
	}{
		{"no categories", Options{}, schema.Finding{Snapshot: "s", SourceFile: "a.parquet", RowInFile: 7}, "a.parquet row 7 has no categories"},
		{"empty categories", Options{}, schema.Finding{Snapshot: "s", SourceFile: "a.parquet", Categories: []schema.Category{}}, "no categories"},
		{"unknown codec", Options{Compression: "lzo"}, finding(1), `unknown compression "lzo"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lake.NewLocal(t.TempDir())
			w := NewWriter(context.Background(), b, "f", tt.opts)
			err := w.Write(&tt.f)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write error = %v, want %q", err, tt.wantErr)
			}
			if _, err := w.Close(); err == nil {
				t.Fatal("Close after a failed Write succeeded")
			}
			if got := objects(t, b); len(got) != 0 {
				t.Fatalf("bucket holds %v", got)
			}
		})
	}
}

func TestZeroFindingsNoParts(t *testing.T) {
	b := lake.NewLocal(t.TempDir())
	w := NewWriter(context.Background(), b, "f", Options{})
	out, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out == nil || len(out) != 0 {
		t.Fatalf("Close = %#v, want an empty list", out)
	}
	if got := objects(t, b); len(got) != 0 {
		t.Fatalf("bucket holds %v", got)
	}
	got, err := Read(context.Background(), b, "f")
	if err != nil || len(got) != 0 {
		t.Fatalf("Read = %v, %v; want nothing", got, err)
	}
	// Close is idempotent.
	if out2, err := w.Close(); err != nil || len(out2) != 0 {
		t.Fatalf("second Close = %v, %v", out2, err)
	}
}

func TestReadErrors(t *testing.T) {
	good := func(t *testing.T) []byte {
		b := lake.NewLocal(t.TempDir())
		writeAll(t, b, "f", Options{}, findingsN(10))
		return readObject(t, b, "f/part-00000.parquet")
	}
	foreign, err := os.ReadFile(filepath.Join(parquettesting.Dir(), "data", "alltypes_plain.parquet"))
	if err != nil {
		t.Fatalf("shared test data: %v", err)
	}
	tests := []struct {
		name    string
		files   func(t *testing.T) map[string][]byte
		wantErr string
	}{
		{"gap in parts", func(t *testing.T) map[string][]byte {
			g := good(t)
			return map[string][]byte{"f/part-00000.parquet": g, "f/part-00002.parquet": g}
		}, "part-00001.parquet is missing"},
		{"no part 0", func(t *testing.T) map[string][]byte {
			return map[string][]byte{"f/part-00001.parquet": good(t)}
		}, "part-00000.parquet is missing"},
		{"truncated", func(t *testing.T) map[string][]byte {
			g := good(t)
			return map[string][]byte{"f/part-00000.parquet": g[:len(g)/2]}
		}, "part-00000.parquet"},
		{"not parquet", func(t *testing.T) map[string][]byte {
			return map[string][]byte{"f/part-00000.parquet": []byte("hello, world")}
		}, "part-00000.parquet"},
		{"corrupt page", func(t *testing.T) map[string][]byte {
			g := bytes.Clone(good(t))
			for i := 8; i < len(g)/3; i++ { // scribble over the first column chunks
				g[i] ^= 0x5a
			}
			return map[string][]byte{"f/part-00000.parquet": g}
		}, "part-00000.parquet"},
		{"corrupt zstd payload", func(t *testing.T) map[string][]byte {
			g := bytes.Clone(good(t))
			r, err := file.NewParquetReader(bytes.NewReader(g))
			if err != nil {
				t.Fatal(err)
			}
			cc, err := r.MetaData().RowGroup(0).ColumnChunk(iAuthorID)
			if err != nil {
				t.Fatal(err)
			}
			// The end of the column chunk is the end of its last page's
			// compressed payload (the zstd frame's checksum).
			end := cc.DataPageOffset() + cc.TotalCompressedSize()
			for i := end - 4; i < end; i++ {
				g[i] ^= 0xff
			}
			return map[string][]byte{"f/part-00000.parquet": g}
		}, "part-00000.parquet"},
		{"foreign parquet", func(t *testing.T) map[string][]byte {
			return map[string][]byte{"f/part-00000.parquet": foreign}
		}, "not a findings file"},
		{"other version", func(t *testing.T) map[string][]byte {
			g := good(t)
			return map[string][]byte{"f/part-00000.parquet": bytes.Replace(g, []byte("findings/v1"), []byte("findings/v9"), 1)}
		}, `format "findings/v9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lake.NewLocal(t.TempDir())
			for k, d := range tt.files(t) {
				if err := b.Upload(context.Background(), k, bytes.NewReader(d)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Read(context.Background(), b, "f")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read = %d findings, error %v; want an error containing %q", len(got), err, tt.wantErr)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

func TestReadIgnoresOtherObjects(t *testing.T) {
	b := lake.NewLocal(t.TempDir())
	in := findingsN(5)
	writeAll(t, b, "f", Options{MaxRows: 3}, in)
	for _, k := range []string{"f/.part-00002.parquet.tmp-123", "f/_SUCCESS", "f/sub/part-00002.parquet", "fx/part-00002.parquet"} {
		if err := b.Upload(context.Background(), k, strings.NewReader("junk")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(context.Background(), b, "f")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("read %d findings, want the %d written", len(got), len(in))
	}
}

func BenchmarkWrite(b *testing.B) {
	in := findingsN(10_000)
	bucket := lake.NewLocal(b.TempDir())
	b.ReportAllocs()
	b.ResetTimer()
	w := NewWriter(context.Background(), bucket, "f", Options{})
	for i := 0; i < b.N; i++ {
		f := &in[i%len(in)]
		if err := w.Write(f); err != nil {
			b.Fatal(err)
		}
	}
	out, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	var size int64
	for _, o := range out {
		a, err := bucket.Attributes(context.Background(), o.Path)
		if err != nil {
			b.Fatal(err)
		}
		size += a.Size
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "findings/s")
	b.ReportMetric(float64(size)/float64(b.N), "bytes/finding")
}
