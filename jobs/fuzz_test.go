package jobs

import (
	"testing"
	"time"
)

// FuzzSnapshotFromPath: corpus paths come from users and listings; any
// path gives a snapshot, "none", or an error, never a panic.
func FuzzSnapshotFromPath(f *testing.F) {
	for _, s := range []string{
		"lake/corpus/snapshot=2026-06-01",
		"s3://b/corpus/snapshot=2026-06-01T12%3A30%3A00%2B02%3A00/",
		"snapshot=",
		"snapshot=%zz",
		"/a/snapshot=2026-02-30",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		_, at, ok, err := snapshotFromPath(p)
		if ok && err == nil && at.Location() != time.UTC {
			t.Errorf("%q: snapshot instant %s is not in UTC", p, at)
		}
		if !ok && err != nil {
			t.Errorf("%q: an error without a snapshot element: %v", p, err)
		}
	})
}
