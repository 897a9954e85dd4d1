// Package parquettesting locates the Apache parquet-testing files
// (github.com/apache/parquet-testing: real malformed and unusual Parquet
// files) that the scan, lookup and findings tests read.
//
// CI keeps a copy beside the repository, in ../shared/parquet-testing; it
// is used when present. Otherwise the tests use the copy vendored in
// testdata/parquet-testing (same files, with their licence and the commit
// they come from), so that `make test` passes on any clean clone.
package parquettesting

import (
	"os"
	"path/filepath"
	"runtime"
)

// Dir returns the parquet-testing folder (holding data/ and bad_data/):
// the shared copy beside the repository if it exists, else the vendored
// one. It returns "" only if the repository cannot be located.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	shared := filepath.Join(root, "..", "shared", "parquet-testing")
	if fi, err := os.Stat(filepath.Join(shared, "data")); err == nil && fi.IsDir() {
		return shared
	}
	return filepath.Join(root, "testdata", "parquet-testing")
}
