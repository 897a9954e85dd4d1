package s3test_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lake/s3test"
)

func TestStartServesS3(t *testing.T) {
	srv := s3test.Start(t)
	b, name := srv.Bucket(t)
	if err := b.Upload(context.Background(), "a/b", strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	// The posix backend keeps objects as files under Dir.
	got, err := os.ReadFile(filepath.Join(srv.Dir, name, "a", "b"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("object file: %q, %v", got, err)
	}
	srv.Stop()
	if resp, err := http.Get(srv.Endpoint); err == nil {
		resp.Body.Close()
		t.Fatal("the server still answers after Stop")
	}
	srv.Stop() // a second Stop is harmless
}

// fatalTB records Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinaryFailsTheTest(t *testing.T) {
	t.Setenv("CORPUS_AUDIT_VERSITYGW", "")
	t.Setenv("CORPUS_AUDIT_CACHE", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); s3test.Start(tb) }()
	<-done
	if !strings.Contains(tb.msg, "scripts/install-s3-server.sh") {
		t.Fatalf("Start without a binary: %q, want a failure naming the install script", tb.msg)
	}
}

func TestBinaryLookup(t *testing.T) {
	cache := t.TempDir()
	inCache := filepath.Join(cache, "bin", "versitygw")
	if err := os.MkdirAll(filepath.Dir(inCache), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inCache, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	for _, tc := range []struct {
		name, env, cache, want, wantErr string
	}{
		{"env wins", inCache, t.TempDir(), inCache, ""},
		{"env names a missing file", filepath.Join(cache, "nope"), cache, "", "CORPUS_AUDIT_VERSITYGW"},
		{"cache", "", cache, inCache, ""},
		{"nowhere", "", t.TempDir(), "", "install-s3-server.sh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CORPUS_AUDIT_VERSITYGW", tc.env)
			t.Setenv("CORPUS_AUDIT_CACHE", tc.cache)
			got, err := s3test.Binary()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Binary() = %q, %v; want an error mentioning %s", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Binary() = %q, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestOptionsReachTheServer(t *testing.T) {
	srv := s3test.Start(t)
	name := srv.NewBucket(t)
	b, err := lake.NewS3(context.Background(), name, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Iter(context.Background(), "", func(string, lake.Attrs) error { return nil }); err != nil {
		t.Fatalf("listing a fresh bucket: %v", err)
	}
}
