package lookup

import (
	"fmt"
	"strconv"
	"time"
)

// parseID parses a decimal int64 account or centre id.
func parseID(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an int64", s)
	}
	return v, nil
}

// parseDate parses a YYYY-MM-DD date into days since 1970-01-01.
func parseDate(s string) (int32, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return int32(t.Unix() / 86400), nil
}

// timestampLayouts are the accepted timestamp forms. Go's parser accepts
// an optional fractional second after the seconds in each. A timestamp
// without a zone is UTC.
var timestampLayouts = []string{
	"2006-01-02T15:04:05Z07:00", // RFC 3339
	"2006-01-02T15:04:05",       // RFC 3339 without zone: UTC
	"2006-01-02 15:04:05",       // SQL style: UTC
	"2006-01-02 15:04:05Z07:00", // SQL style with a zone
}

// parseTimestamp parses an RFC 3339 timestamp, with or without fractional
// seconds and zone, or YYYY-MM-DD HH:MM:SS[.ffffff]; no zone means UTC.
func parseTimestamp(s string) (time.Time, error) {
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp (RFC 3339 or YYYY-MM-DD HH:MM:SS[.ffffff])", s)
}
