package lake_test

// Reads of the S3 provider through a proxy that injects faults: retried
// reads must give the same bytes as clean ones, and faults that outlast
// the retries must give a clear error naming the object.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lake/faultproxy"
	"github.com/corpus-audit/corpus-audit/lake/s3test"
)

// faultyBucket returns the bucket name seeded with objects, a bucket that
// reaches it directly and one that reaches it through a fault proxy.
func faultyBucket(t *testing.T, cfg faultproxy.Config) (direct, faulty lake.Bucket, p *faultproxy.Proxy) {
	t.Helper()
	srv := s3test.Shared(t)
	name := srv.NewBucket(t)
	o := srv.Options()
	direct = mustS3(t, name, o)
	p = faultproxy.Start(t, srv.Endpoint, cfg)
	o.Endpoint = p.URL
	o.MaxBackoff = 5 * time.Millisecond // keep retried tests quick
	faulty = mustS3(t, name, o)
	return direct, faulty, p
}

// onlyReads makes faults hit reads only, so that setting up is clean.
func onlyReads(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

func TestS3ReadsThroughFaults(t *testing.T) {
	direct, faulty, p := faultyBucket(t, faultproxy.Config{
		SlowDown: 0.15, Drop: 0.15, Delay: 0.1, DelayFor: time.Millisecond,
		Seed: 20240611, MaxFaults: 60, Match: onlyReads,
	})
	objects := map[string][]byte{}
	for i := range 6 {
		key := fmt.Sprintf("snap/part-%d.parquet", i)
		objects[key] = randomBytes(uint64(100+i), (i+1)*150_000)
		upload(t, direct, key, objects[key])
	}
	var many []string // listings of more than one page
	for i := range 1_100 {
		many = append(many, fmt.Sprintf("many/%04d", i))
	}
	uploadMany(t, direct, many)

	// Listing, attributes, whole reads, ranges and pinned random access.
	var keys []string
	err := faulty.Iter(ctx(), "snap/", func(key string, a lake.Attrs) error {
		keys = append(keys, key)
		if a.Size != int64(len(objects[key])) {
			return fmt.Errorf("%s: size %d, want %d", key, a.Size, len(objects[key]))
		}
		return nil
	})
	if err != nil || len(keys) != len(objects) {
		t.Fatalf("Iter: %v, %d keys", err, len(keys))
	}
	n := 0
	if err := faulty.Iter(ctx(), "many/", func(string, lake.Attrs) error { n++; return nil }); err != nil || n != 1_100 {
		t.Fatalf("Iter of a long listing: %v, %d keys", err, n)
	}
	for _, key := range keys {
		want := objects[key]
		if got := readAll(t)(faulty.Get(ctx(), key)); !bytes.Equal(got, want) {
			t.Fatalf("Get %s: bytes differ", key)
		}
		a, err := faulty.Attributes(ctx(), key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range [][2]int64{{0, 1000}, {a.Size / 3, a.Size / 2}, {a.Size - 10, 10}} {
			if got := readAll(t)(faulty.GetRange(ctx(), key, r[0], r[1], a.ETag)); !bytes.Equal(got, want[r[0]:r[0]+r[1]]) {
				t.Fatalf("GetRange %s %v: bytes differ", key, r)
			}
		}
		got, err := io.ReadAll(io.NewSectionReader(lake.NewReaderAt(ctx(), faulty, key, a), 0, a.Size))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReaderAt %s: %v, or bytes differ", key, err)
		}
	}
	// The faults happened: the test cannot pass on a clean path.
	c := p.Counts()
	t.Logf("proxy counts: %+v", c)
	if c.SlowDown == 0 || c.Drop == 0 || c.Delay == 0 {
		t.Fatalf("counts %+v: want faults of every kind", c)
	}
}

func TestS3ScriptedFaults(t *testing.T) {
	const size = 40_000
	S, D, L := faultproxy.SlowDown, faultproxy.Drop, faultproxy.Delay
	repeat := func(f faultproxy.Fault, n int) []faultproxy.Fault { return slices.Repeat([]faultproxy.Fault{f}, n) }
	for _, tc := range []struct {
		name      string
		script    []faultproxy.Fault
		dropAfter int64  // faultproxy.Config.DropAfter
		read      string // "get", "range" or "readerat"
		want      string // "" for success, else what the error says
		requests  int    // requests the proxy sees
	}{
		{"range: SlowDown four times then served", repeat(S, 4), 0, "range", "", 5},
		{"range: SlowDown outlasts 5 attempts", repeat(S, 6), 0, "range",
			"the server kept failing after 5 attempts; try again later (SlowDown, HTTP 503)", 5},
		{"range: cut off before a byte four times then served", repeat(D, 4), -1, "range", "", 5},
		{"range: cut off before a byte five times", repeat(D, 6), -1, "range",
			"connection lost at byte 0 after 5 attempts: unexpected EOF", 5},
		{"get: cut off before a byte five times", repeat(D, 6), -1, "get",
			"connection lost at byte 0 after 5 attempts: unexpected EOF", 5},
		{"readerat: cut off before a byte five times", repeat(D, 6), -1, "readerat",
			"connection lost at byte 0 after 5 attempts: unexpected EOF", 5},
		{"range: cut off halfway six times then served", repeat(D, 6), 0, "range", "", 7},
		{"get: one byte per try outlasts 20 tries in all", repeat(D, 30), 1, "get",
			"connection lost at byte 20 after 20 attempts: unexpected EOF", 20},
		{"get: mixed faults then served", []faultproxy.Fault{S, D, L, S}, 0, "get", "", 3},
		{"get: delays only", repeat(L, 6), 0, "get", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			direct, faulty, p := faultyBucket(t, faultproxy.Config{Script: tc.script, DropAfter: tc.dropAfter, Match: onlyReads})
			want := randomBytes(5, size)
			upload(t, direct, "obj", want)
			var rc io.ReadCloser
			var err error
			var got []byte
			switch tc.read {
			case "get":
				rc, err = faulty.Get(ctx(), "obj")
			case "range":
				rc, err = faulty.GetRange(ctx(), "obj", 0, size, "")
			case "readerat":
				var a lake.Attrs
				if a, err = direct.Attributes(ctx(), "obj"); err != nil {
					t.Fatal(err)
				}
				got = make([]byte, size)
				_, err = lake.NewReaderAt(ctx(), faulty, "obj", a).ReadAt(got, 0)
			}
			if rc != nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			if c := p.Counts(); c.Requests != tc.requests {
				t.Errorf("the proxy saw %d requests, want %d (%+v)", c.Requests, tc.requests, c)
			}
			if tc.want == "" {
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("error %v, or bytes differ", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			}
			if lake.IsNotExist(err) || errors.Is(err, lake.ErrChanged) {
				t.Fatalf("error %q says missing or changed", err)
			}
			assertNamesObject(t, err, faulty.URI("obj"))
		})
	}
}

// TestS3ResumedRangesArePinned checks that a range cut off mid-body is
// resumed from the byte where it broke, pinned to the same ETag.
func TestS3ResumedRangesArePinned(t *testing.T) {
	D := faultproxy.Drop
	direct, faulty, p := faultyBucket(t, faultproxy.Config{Script: []faultproxy.Fault{D, D}, Match: onlyReads})
	want := randomBytes(9, 10_000)
	upload(t, direct, "obj", want)
	a, err := direct.Attributes(ctx(), "obj")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t)(faulty.GetRange(ctx(), "obj", 1000, 8000, a.ETag)); !bytes.Equal(got, want[1000:9000]) {
		t.Fatal("bytes differ")
	}
	var ranges []string
	for _, e := range p.Log() {
		ranges = append(ranges, e.Header.Get("Range"))
		if e.Header.Get("If-Match") != a.ETag {
			t.Errorf("request %s %s has If-Match %q, want %s", e.Method, e.URL, e.Header.Get("If-Match"), a.ETag)
		}
	}
	// Each cut sends half of what was asked.
	if want := []string{"bytes=1000-8999", "bytes=5000-8999", "bytes=7000-8999"}; !slices.Equal(ranges, want) {
		t.Fatalf("ranges %q, want %q", ranges, want)
	}
}

// TestS3ListingThroughCutAnswers cuts every other listing answer.
func TestS3ListingThroughCutAnswers(t *testing.T) {
	D, N := faultproxy.Drop, faultproxy.None
	direct, faulty, p := faultyBucket(t, faultproxy.Config{
		Script: []faultproxy.Fault{D, N, D, N, D, N},
		Match:  func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Query().Has("list-type") },
	})
	var keys []string
	for i := range 1_500 {
		keys = append(keys, fmt.Sprintf("k/%04d", i))
	}
	uploadMany(t, direct, keys)
	n := 0
	if err := faulty.Iter(ctx(), "k/", func(string, lake.Attrs) error { n++; return nil }); err != nil || n != 1_500 {
		t.Fatalf("Iter: %v, %d keys", err, n)
	}
	if c := p.Counts(); c.Drop != 2 || c.Requests != 4 {
		t.Fatalf("counts %+v: want 2 pages, each cut once", c)
	}
}
