package lake_test

// The acceptance suite: the same tests run against every provider (a local
// folder and a real S3 server), each at the bucket's root and under a key
// prefix, so that the providers cannot drift apart.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lake/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// store is one provider under test, with keys placed under root.
type store struct {
	b    lake.Bucket
	root string // "" or a prefix ending in "/"
	// raw returns how a user names key on the command line (for lake.Open).
	raw  func(key string) string
	opts lake.S3Options
}

func (s store) key(name string) string { return s.root + name }

// forEachStore runs fn against a local folder and the S3 server, each at
// the root and under a prefix.
func forEachStore(t *testing.T, fn func(t *testing.T, s store)) {
	t.Helper()
	providers := []struct {
		name string
		open func(t *testing.T) store
	}{
		{"local", func(t *testing.T) store {
			dir := t.TempDir()
			return store{b: lake.NewLocal(dir), raw: func(k string) string { return filepath.Join(dir, filepath.FromSlash(k)) }}
		}},
		{"s3", func(t *testing.T) store {
			srv := s3test.Shared(t)
			b, name := srv.Bucket(t)
			return store{b: b, opts: srv.Options(), raw: func(k string) string { return "s3://" + name + "/" + k }}
		}},
	}
	for _, p := range providers {
		for _, root := range []string{"", "nested/root/"} {
			t.Run(fmt.Sprintf("%s/root=%q", p.name, root), func(t *testing.T) {
				s := p.open(t)
				s.root = root
				fn(t, s)
			})
		}
	}
}

func ctx() context.Context { return context.Background() }

func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

func upload(t *testing.T, b lake.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Upload(ctx(), key, bytes.NewReader(data)); err != nil {
		t.Fatalf("upload %s: %v", key, err)
	}
}

// readAll returns a function that reads a reader whole, failing the test
// on an error: readAll(t)(b.Get(ctx, key)).
// uploadMany uploads keys, each holding its own name, in parallel.
func uploadMany(t *testing.T, b lake.Bucket, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	work := make(chan string)
	for range 8 {
		wg.Go(func() {
			for k := range work {
				if err := b.Upload(ctx(), k, strings.NewReader(k)); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func readAll(t *testing.T) func(io.ReadCloser, error) []byte {
	t.Helper()
	return func(rc io.ReadCloser, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
}

// assertNamesObject checks err is an *lake.ObjectError naming uri.
func assertNamesObject(t *testing.T, err error, uri string) {
	t.Helper()
	var oe *lake.ObjectError
	if !errors.As(err, &oe) {
		t.Fatalf("error %q (%T) is not a *lake.ObjectError", err, err)
	}
	if oe.URI != uri || !strings.Contains(err.Error(), uri) {
		t.Fatalf("error %q names %q, want %q", err, oe.URI, uri)
	}
	if inner := (*lake.ObjectError)(nil); errors.As(oe.Err, &inner) {
		t.Fatalf("error %q names the object twice", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error spans lines: %q", err)
	}
}

func TestAcceptance(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store)
	}{
		{"UploadGet", testUploadGet},
		{"GetRange", testGetRange},
		{"StaleETag", testStaleETag},
		{"Missing", testMissing},
		{"Iter", testIter},
		{"IterPagination", testIterPagination},
		{"Delete", testDelete},
		{"Location", testLocation},
		{"ReaderAt", testReaderAt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { forEachStore(t, tc.fn) })
	}
}

func testUploadGet(t *testing.T, s store) {
	for _, tc := range []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"1 MiB", 1 << 20},
		{"17 MiB, multipart on S3", 17 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := s.key("objects/" + strings.ReplaceAll(tc.name, " ", "_"))
			data := randomBytes(uint64(tc.size), tc.size)
			upload(t, s.b, key, data)
			if got := readAll(t)(s.b.Get(ctx(), key)); !bytes.Equal(got, data) {
				t.Fatalf("Get returned %d bytes that differ from the %d uploaded", len(got), len(data))
			}
			a, err := s.b.Attributes(ctx(), key)
			if err != nil {
				t.Fatal(err)
			}
			if a.Size != int64(tc.size) || a.ETag == "" || a.ModTime.IsZero() {
				t.Fatalf("attributes %+v, want size %d, an ETag and a time", a, tc.size)
			}
		})
	}
	t.Run("overwrite", func(t *testing.T) {
		key := s.key("objects/overwritten")
		upload(t, s.b, key, []byte("first version"))
		upload(t, s.b, key, []byte("second"))
		if got := readAll(t)(s.b.Get(ctx(), key)); string(got) != "second" {
			t.Fatalf("Get after overwrite = %q", got)
		}
	})
}

func testGetRange(t *testing.T, s store) {
	const size = 100_000
	key := s.key("ranges/data.bin")
	data := randomBytes(7, size)
	upload(t, s.b, key, data)
	a, err := s.b.Attributes(ctx(), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		off, n   int64
		etag     string
		wantFail bool
	}{
		{"start", 0, 10, "", false},
		{"middle", 4_000, 30_000, "", false},
		{"last byte", size - 1, 1, "", false},
		{"whole", 0, size, "", false},
		{"empty", 500, 0, "", false},
		{"empty at end", size, 0, "", false},
		{"pinned", 123, 4_567, a.ETag, false},
		{"past the end", size - 10, 20, "", true},
		{"starts past the end", size + 10, 5, "", true},
		{"negative offset", -1, 5, "", true},
		{"negative length", 0, -5, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := s.b.GetRange(ctx(), key, tc.off, tc.n, tc.etag)
			if tc.wantFail {
				if err == nil {
					_, err = io.ReadAll(rc)
					rc.Close()
				}
				if err == nil {
					t.Fatal("no error")
				}
				if lake.IsNotExist(err) || errors.Is(err, lake.ErrChanged) {
					t.Fatalf("error %q says missing or changed", err)
				}
				if pastEnd := tc.off >= 0 && tc.n >= 0; pastEnd != errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %q: wraps io.ErrUnexpectedEOF %v, want %v", err, !pastEnd, pastEnd)
				}
				assertNamesObject(t, err, s.b.URI(key))
				return
			}
			got := readAll(t)(rc, err)
			if want := data[tc.off : tc.off+tc.n]; !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d bytes from %d", len(got), len(want), tc.off)
			}
		})
	}
}

func testStaleETag(t *testing.T, s store) {
	key := s.key("stale/obj")
	upload(t, s.b, key, []byte("the first version of the object"))
	old, err := s.b.Attributes(ctx(), key)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t)(s.b.GetRange(ctx(), key, 0, 5, old.ETag)) // still current: reads
	upload(t, s.b, key, []byte("the second version, of another length"))
	cur, err := s.b.Attributes(ctx(), key)
	if err != nil {
		t.Fatal(err)
	}
	if cur.ETag == old.ETag {
		t.Fatalf("ETag %q did not change with the content", cur.ETag)
	}
	for _, n := range []int64{5, 0} {
		_, err = s.b.GetRange(ctx(), key, 0, n, old.ETag)
		if !errors.Is(err, lake.ErrChanged) {
			t.Fatalf("GetRange of %d bytes pinned to the old ETag: error %v, want ErrChanged", n, err)
		}
		assertNamesObject(t, err, s.b.URI(key))
	}
	// A pinned reader sees the change too.
	_, err = lake.NewReaderAt(ctx(), s.b, key, old).ReadAt(make([]byte, 4), 0)
	if !errors.Is(err, lake.ErrChanged) {
		t.Fatalf("ReaderAt pinned to the old version: error %v, want ErrChanged", err)
	}
	if got := readAll(t)(s.b.GetRange(ctx(), key, 4, 6, cur.ETag)); string(got) != "second" {
		t.Fatalf("GetRange pinned to the new ETag = %q", got)
	}
}

func testMissing(t *testing.T, s store) {
	key := s.key("no/such/object.parquet")
	upload(t, s.b, s.key("no/other"), []byte("x")) // the folder exists, the key does not
	uri := s.b.URI(key)
	ops := []struct {
		name string
		fn   func() error
	}{
		{"Attributes", func() error { _, err := s.b.Attributes(ctx(), key); return err }},
		{"Get", func() error { _, err := s.b.Get(ctx(), key); return err }},
		{"GetRange", func() error { _, err := s.b.GetRange(ctx(), key, 0, 10, ""); return err }},
		{"GetRange pinned", func() error { _, err := s.b.GetRange(ctx(), key, 0, 10, `"abc"`); return err }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			err := op.fn()
			if !lake.IsNotExist(err) {
				t.Fatalf("error %v, want IsNotExist", err)
			}
			assertNamesObject(t, err, uri)
		})
	}
	t.Run("Delete", func(t *testing.T) {
		if err := s.b.Delete(ctx(), key); err != nil {
			t.Fatalf("deleting a missing object: %v", err)
		}
	})
}

// list returns the keys Iter reports under prefix, relative to the root.
func list(t *testing.T, s store, prefix string) []string {
	t.Helper()
	keys := []string{}
	err := s.b.Iter(ctx(), s.key(prefix), func(key string, a lake.Attrs) error {
		if !strings.HasPrefix(key, s.root) {
			t.Errorf("Iter reported %q outside the root %q", key, s.root)
		}
		keys = append(keys, strings.TrimPrefix(key, s.root))
		return nil
	})
	if err != nil {
		t.Fatalf("Iter(%q): %v", s.key(prefix), err)
	}
	return keys
}

func testIter(t *testing.T, s store) {
	// Lexical order is by whole key: "b-c" < "b/x" < "b0" because
	// '-' < '/' < '0', which a folder-by-folder walk gets wrong.
	files := []string{"c.parquet", "b/y/z.parquet", "b0", "b/x.parquet", "a.parquet", "b-c.parquet"}
	for i, f := range files {
		upload(t, s.b, s.key(f), bytes.Repeat([]byte{'x'}, i+1))
	}
	if s.root != "" {
		// Neighbours of the root that must not show under it.
		upload(t, s.b, strings.TrimSuffix(s.root, "/")+"-sibling/a.parquet", []byte("x"))
		upload(t, s.b, strings.TrimSuffix(s.root, "/")+"x", []byte("x"))
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a.parquet", "b-c.parquet", "b/x.parquet", "b/y/z.parquet", "b0", "c.parquet"}},
		{"b", []string{"b-c.parquet", "b/x.parquet", "b/y/z.parquet", "b0"}},
		{"b/", []string{"b/x.parquet", "b/y/z.parquet"}},
		{"b/y", []string{"b/y/z.parquet"}},
		{"b/y/z.parquet", []string{"b/y/z.parquet"}},
		{"a.parq", []string{"a.parquet"}},
		{"nothing/", []string{}},
		{"nothing", []string{}},
	} {
		t.Run(fmt.Sprintf("prefix=%q", tc.prefix), func(t *testing.T) {
			if got := list(t, s, tc.prefix); !slices.Equal(got, tc.want) {
				t.Fatalf("Iter = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("attributes", func(t *testing.T) {
		err := s.b.Iter(ctx(), s.key(""), func(key string, a lake.Attrs) error {
			i := slices.Index(files, strings.TrimPrefix(key, s.root))
			if a.Size != int64(i+1) || a.ModTime.IsZero() || a.ETag == "" {
				return fmt.Errorf("%s: attributes %+v, want size %d, a time and an ETag", key, a, i+1)
			}
			st, err := s.b.Attributes(ctx(), key)
			if err != nil {
				return err
			}
			if st.ETag != a.ETag || st.Size != a.Size {
				return fmt.Errorf("%s: Iter says %+v, Attributes %+v", key, a, st)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("stops at the first error", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := s.b.Iter(ctx(), s.key(""), func(string, lake.Attrs) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Iter returned %v after %d calls, want the callback's error after 1", err, calls)
		}
	})
}

func testIterPagination(t *testing.T, s store) {
	// More than the 1,000 keys one ListObjectsV2 page holds.
	const n = 1_050
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("many/%05d.parquet", i))
	}
	keys := make([]string, len(want))
	for i, k := range want {
		keys[i] = s.key(k)
	}
	uploadMany(t, s.b, keys)
	upload(t, s.b, s.key("many-not/x"), []byte("x"))
	if got := list(t, s, "many/"); !slices.Equal(got, want) {
		t.Fatalf("Iter listed %d keys, want %d (first %q)", len(got), len(want), got[:min(3, len(got))])
	}
}

func testDelete(t *testing.T, s store) {
	key := s.key("del/obj")
	upload(t, s.b, key, []byte("doomed"))
	upload(t, s.b, s.key("del/kept"), []byte("kept"))
	if err := s.b.Delete(ctx(), key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.b.Attributes(ctx(), key); !lake.IsNotExist(err) {
		t.Fatalf("Attributes after Delete: %v, want IsNotExist", err)
	}
	if got := list(t, s, "del/"); !slices.Equal(got, []string{"del/kept"}) {
		t.Fatalf("Iter after Delete = %q", got)
	}
	if err := s.b.Delete(ctx(), key); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func testLocation(t *testing.T, s store) {
	for _, f := range []string{"snap/part-0.parquet", "snap/sub/part-1.parquet", "snap-other/x.parquet", "snapx"} {
		upload(t, s.b, s.key(f), []byte(f))
	}
	for _, tc := range []struct {
		name    string
		raw     string
		want    []string // keys relative to the root
		wantRel []string // Location.Rel of each
	}{
		{"one object", s.raw(s.key("snap/part-0.parquet")), []string{"snap/part-0.parquet"}, []string{""}},
		{"a prefix", s.raw(s.key("snap")), []string{"snap/part-0.parquet", "snap/sub/part-1.parquet"}, []string{"part-0.parquet", "sub/part-1.parquet"}},
		{"a prefix with a slash", s.raw(s.key("snap/")), []string{"snap/part-0.parquet", "snap/sub/part-1.parquet"}, []string{"part-0.parquet", "sub/part-1.parquet"}},
		{"nothing there", s.raw(s.key("none")), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := lake.Open(ctx(), tc.raw, s.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer loc.Bucket.Close()
			objs, err := loc.Files(ctx())
			if err != nil {
				t.Fatal(err)
			}
			// Compare what users see: a local file opens as a bucket at its
			// folder, so keys differ between providers but URIs do not.
			var got, want, rel []string
			for _, k := range tc.want {
				want = append(want, s.raw(s.key(k)))
			}
			for _, o := range objs {
				got = append(got, loc.URI(o.Key))
				rel = append(rel, loc.Rel(o.Key))
				if o.Attrs.Size == 0 || o.Attrs.ETag == "" {
					t.Errorf("%s: attributes %+v", o.Key, o.Attrs)
				}
				data := readAll(t)(loc.Bucket.GetRange(ctx(), o.Key, 0, o.Attrs.Size, o.Attrs.ETag))
				if !strings.HasSuffix(loc.URI(o.Key), string(data)) {
					t.Errorf("%s holds %q", loc.URI(o.Key), data)
				}
			}
			if !slices.Equal(got, want) || !slices.Equal(rel, tc.wantRel) {
				t.Fatalf("Files = %q (relative %q), want %q (%q)", got, rel, want, tc.wantRel)
			}
		})
	}
}

func testReaderAt(t *testing.T, s store) {
	const size = 50_000
	key := s.key("readerat/obj")
	data := randomBytes(11, size)
	upload(t, s.b, key, data)
	a, err := s.b.Attributes(ctx(), key)
	if err != nil {
		t.Fatal(err)
	}
	r := lake.NewReaderAt(ctx(), s.b, key, a)
	for _, tc := range []struct {
		off, n  int64
		wantN   int
		wantEOF bool
	}{
		{0, 100, 100, false},
		{size - 100, 100, 100, false},
		{size - 50, 100, 50, true},
		{size, 10, 0, true},
	} {
		p := make([]byte, tc.n)
		n, err := r.ReadAt(p, tc.off)
		if n != tc.wantN || (err == io.EOF) != tc.wantEOF || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d (EOF %v)", tc.n, tc.off, n, err, tc.wantN, tc.wantEOF)
		}
		if !bytes.Equal(p[:n], data[tc.off:tc.off+int64(n)]) {
			t.Fatalf("ReadAt(%d bytes at %d) read other bytes", tc.n, tc.off)
		}
	}
}
