package jobs

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// snapshotFromPath finds the snapshot=VALUE element of a corpus path (the
// last one, if several) and parses VALUE as a date (00:00 UTC) or an
// RFC 3339 instant. Hive escapes ':' as %3A in partition values, so VALUE is
// unescaped first. ok is false when the path has no such element.
func snapshotFromPath(p string) (name string, at time.Time, ok bool, err error) {
	elems := strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' })
	for i := len(elems) - 1; i >= 0; i-- {
		v, found := strings.CutPrefix(elems[i], "snapshot=")
		if !found {
			continue
		}
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		at, err := parseSnapshotAt(v)
		if err != nil {
			return v, time.Time{}, true, fmt.Errorf("corpus path element %q: %w", elems[i], err)
		}
		return v, at, true, nil
	}
	return "", time.Time{}, false, nil
}

// parseSnapshotAt parses a snapshot instant: YYYY-MM-DD (00:00 UTC) or RFC 3339.
func parseSnapshotAt(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("snapshot time %q is neither YYYY-MM-DD nor RFC 3339", v)
	}
	return t.UTC(), nil
}
