package lake

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestLocalIterSkipsUploadsInProgress: the temporary file of an Upload
// that is still writing is not an object (S3 lists an object only once
// its upload is complete), but other dot-files are.
func TestLocalIterSkipsUploadsInProgress(t *testing.T) {
	root := t.TempDir()
	b := NewLocal(root)
	ctx := context.Background()

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- b.Upload(ctx, "d/part-00000.parquet", pr) }()
	if _, err := pw.Write([]byte("PAR1 half")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".hidden", "ok.parquet", ".x.parquet.tmp"} {
		if err := os.WriteFile(filepath.Join(root, "d", name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list := func() []string {
		var keys []string
		if err := b.Iter(ctx, "d/", func(k string, _ Attrs) error {
			keys = append(keys, k)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	temps, _ := filepath.Glob(filepath.Join(root, "d", ".part-00000.parquet.tmp-*"))
	if len(temps) != 1 {
		t.Fatalf("upload in progress: temporary files %v, want one", temps)
	}
	if got, want := list(), []string{"d/.hidden", "d/.x.parquet.tmp", "d/ok.parquet"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("while uploading: listed %v, want %v", got, want)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := list(), []string{"d/.hidden", "d/.x.parquet.tmp", "d/ok.parquet", "d/part-00000.parquet"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the upload: listed %v, want %v", got, want)
	}
}
