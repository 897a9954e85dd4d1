package jobs

import (
	"testing"

	"github.com/corpus-audit/corpus-audit/lake/s3test"
)

// TestMain lets the package's S3 tests share one S3 test server
// (s3test.Shared) and stops it when they are done.
func TestMain(m *testing.M) { s3test.Main(m) }
