package jobs

import (
	"testing"
	"time"
)

func TestSnapshotFromPath(t *testing.T) {
	tests := []struct {
		path, name, at string
		ok, err        bool
	}{
		{"lake/corpus/snapshot=2026-06-01", "2026-06-01", "2026-06-01T00:00:00Z", true, false},
		{"lake/corpus/snapshot=2026-06-01/", "2026-06-01", "2026-06-01T00:00:00Z", true, false},
		{"s3://b/corpus/snapshot=2026-06-01T12:30:00Z", "2026-06-01T12:30:00Z", "2026-06-01T12:30:00Z", true, false},
		{"s3://b/corpus/snapshot=2026-06-01T12%3A30%3A00%2B02%3A00", "2026-06-01T12:30:00+02:00", "2026-06-01T10:30:00Z", true, false},
		{"/x/snapshot=old/y/snapshot=2026-01-02", "2026-01-02", "2026-01-02T00:00:00Z", true, false},
		{"lake/corpus/2026-06-01", "", "", false, false},
		{"lake/corpus/snapshot=June", "June", "", true, true},
		{"lake/corpus/snapshot=2026-13-01", "2026-13-01", "", true, true},
	}
	for _, tc := range tests {
		name, at, ok, err := snapshotFromPath(tc.path)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("%s: ok=%v err=%v", tc.path, ok, err)
			continue
		}
		if name != tc.name {
			t.Errorf("%s: name %q, want %q", tc.path, name, tc.name)
		}
		if tc.at != "" {
			want, _ := time.Parse(time.RFC3339, tc.at)
			if !at.Equal(want) {
				t.Errorf("%s: at %s, want %s", tc.path, at, want)
			}
		}
	}
}

func TestSkipped(t *testing.T) {
	for rel, want := range map[string]bool{
		"part-0.parquet": false,
		"platform=facebook/part-0.snappy.parquet": false,
		"PART.PARQUET":                false,
		"_SUCCESS":                    true,
		"_temporary/0/part-0.parquet": true,
		".part-0.parquet.crc":         true,
		"platform=x/.hidden.parquet":  true,
		"README.md":                   true,
		"part-0.parquet.tmp":          true,
	} {
		if got := skipped(rel); got != want {
			t.Errorf("skipped(%q) = %v, want %v", rel, got, want)
		}
	}
}
