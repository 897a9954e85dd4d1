package lookup

import (
	"strconv"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC; "" for an error
	}{
		{"2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z"},
		{"2026-06-01T02:00:00+02:00", "2026-06-01T00:00:00Z"},
		{"2026-05-31T19:30:00-04:30", "2026-06-01T00:00:00Z"},
		{"2026-06-01T00:00:00.123456Z", "2026-06-01T00:00:00.123456Z"},
		{"2026-06-01T00:00:00.1Z", "2026-06-01T00:00:00.1Z"},
		{"2026-06-01T00:00:00.123456789Z", "2026-06-01T00:00:00.123456789Z"},
		{"2026-06-01T00:00:00", "2026-06-01T00:00:00Z"},
		{"2026-06-01T00:00:00.5", "2026-06-01T00:00:00.5Z"},
		{"2026-06-01 00:00:00", "2026-06-01T00:00:00Z"},
		{"2026-06-01 00:00:00.000001", "2026-06-01T00:00:00.000001Z"},
		{"2026-06-01 01:00:00+01:00", "2026-06-01T00:00:00Z"},
		{"2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"},
		{"2023-02-29T12:00:00Z", ""},
		{"2026-06-01", ""},
		{"2026-06-01T24:00:00Z", ""},
		{"2026-06-01T23:59:60Z", ""},
		{"2026-6-1T00:00:00Z", ""},
		{"2026-06-01T00:00Z", ""},
		{"1717200000", ""},
		{"2026-06-01t00:00:00z", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, err := parseTimestamp(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseTimestamp(%q) = %s, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(ts(tc.want)) || got.Location() != time.UTC {
			t.Errorf("parseTimestamp(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDateAndID(t *testing.T) {
	for in, want := range map[string]int32{"1970-01-01": 0, "1969-12-31": -1, "2000-02-29": 11016, "0001-01-01": -719162, "9999-12-31": 2932896} {
		if got, err := parseDate(in); err != nil || got != want {
			t.Errorf("parseDate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"2001-02-29", "2000-1-01", "20000101", "2000/01/01", "2000-01-01 00:00:00", "-2000-01-01", ""} {
		if got, err := parseDate(in); err == nil {
			t.Errorf("parseDate(%q) = %d, want an error", in, got)
		}
	}
	for in, want := range map[string]int64{"0": 0, "-5": -5, "+7": 7, "9223372036854775807": 9223372036854775807, "-9223372036854775808": -9223372036854775808} {
		if got, err := parseID(in); err != nil || got != want {
			t.Errorf("parseID(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"1.0", "1e3", "0x10", "9223372036854775808", "", " 1"} {
		if got, err := parseID(in); err == nil {
			t.Errorf("parseID(%q) = %d, want an error", in, got)
		}
	}
}

// FuzzParseValues checks that the CSV value parsers never panic and that
// what they accept round-trips.
func FuzzParseValues(f *testing.F) {
	for _, s := range []string{"2026-06-01T00:00:00Z", "2026-06-01 00:00:00.000001", "2026-06-01T02:00:00+02:00",
		"2000-02-29", "0000-01-01", "9999-12-31T23:59:59-23:59", "-1", "9223372036854775807", "", "2026-06-01T00:00:00.1234567890123Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := parseID(s); err == nil {
			if back, err := parseID(strconv.FormatInt(v, 10)); err != nil || back != v {
				t.Errorf("parseID(%q) = %d does not round-trip", s, v)
			}
		}
		if d, err := parseDate(s); err == nil {
			back := time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
			if back != s {
				t.Errorf("parseDate(%q) = %d, which is %s", s, d, back)
			}
		}
		if tm, err := parseTimestamp(s); err == nil {
			if tm.Location() != time.UTC {
				t.Errorf("parseTimestamp(%q) is not in UTC", s)
			}
			if y := tm.Year(); y >= 0 && y <= 9999 {
				back, err := parseTimestamp(tm.Format(time.RFC3339Nano))
				if err != nil || !back.Equal(tm) {
					t.Errorf("parseTimestamp(%q) = %s does not round-trip: %s, %v", s, tm, back, err)
				}
			}
		}
	})
}
