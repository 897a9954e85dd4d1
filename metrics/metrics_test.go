package metrics

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/metrics/pgwtest"
	"github.com/corpus-audit/corpus-audit/schema"
)

func sampleRun(status string, finished time.Time) Run {
	r := Run{
		Command: "nightly", Status: status, Finished: finished, Duration: 90 * time.Second,
		RowsScanned: 3000, RowsFlagged: 150, Files: 4, Bytes: 123456,
		Findings:  map[schema.Category]int64{schema.Minor: 12, schema.Private: 140},
		Snapshots: map[string]int{"audited": 1, "unchanged": 2}, SnapshotsWithFindings: 3,
	}
	switch status {
	case StatusFindings:
		r.ExitCode = 1
	case StatusFailed:
		r.ExitCode = 2
	}
	return r
}

// TestPushToPushgateway pushes to the real Pushgateway and reads the
// series back from its API; a failed run keeps the last success time.
func TestPushToPushgateway(t *testing.T) {
	srv := pgwtest.Start(t)
	ctx := context.Background()
	t1 := time.Unix(1780000000, 0)
	grouping := map[string]string{"lake": "s3://lake"}
	if err := Push(ctx, srv.URL, "corpus_audit", grouping, sampleRun(StatusFindings, t1)); err != nil {
		t.Fatal(err)
	}
	g := oneGroup(t, srv)
	if g.Labels["job"] != "corpus_audit" || g.Labels["lake"] != "s3://lake" {
		t.Errorf("group labels %v", g.Labels)
	}
	want := map[string]map[string]string{
		LastSuccess:           {"": "1.78e+09"},
		LastRun:               {"": "1.78e+09"},
		ExitCode:              {"": "1"},
		RowsScanned:           {"": "3000"},
		RowsFlagged:           {"": "150"},
		FilesScanned:          {"": "4"},
		BytesScanned:          {"": "123456"},
		Duration:              {"": "90"},
		SnapshotsWithFindings: {"": "3"},
		Status:                {"status=clean": "0", "status=findings": "1", "status=failed": "0"},
		Findings:              {"category=minor": "12", "category=private": "140", "category=objected": "0", "category=age_unknown": "0", "category=unauditable": "0"},
		Snapshots:             {"result=audited": "1", "result=unchanged": "2"},
	}
	checkSeries(t, g, want)

	// A failed run: status and exit code change, the last success stays.
	t2 := t1.Add(24 * time.Hour)
	if err := Push(ctx, srv.URL, "corpus_audit", grouping, sampleRun(StatusFailed, t2)); err != nil {
		t.Fatal(err)
	}
	g = oneGroup(t, srv)
	checkSeries(t, g, map[string]map[string]string{
		LastSuccess: {"": "1.78e+09"},
		LastRun:     {"": "1.7800864e+09"},
		ExitCode:    {"": "2"},
		Status:      {"status=clean": "0", "status=findings": "0", "status=failed": "1"},
	})
}

func oneGroup(t *testing.T, srv *pgwtest.Server) pgwtest.Group {
	t.Helper()
	groups, err := srv.Groups()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 {
		t.Fatalf("%d groups pushed: %+v", len(groups), groups)
	}
	return groups[0]
}

func checkSeries(t *testing.T, g pgwtest.Group, want map[string]map[string]string) {
	t.Helper()
	for name, samples := range want {
		got, ok := g.Metrics[name]
		if !ok {
			t.Errorf("%s not pushed", name)
			continue
		}
		for k, v := range samples {
			if got[k] != v {
				t.Errorf("%s{%s} = %q, want %q", name, k, got[k], v)
			}
		}
	}
}

// TestTextfile writes the node_exporter textfile; a failed run keeps the
// last success time of the file it replaces.
func TestTextfile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "corpus_audit.prom")
	t1 := time.Unix(1780000000, 0)
	if err := WriteTextfile(p, sampleRun(StatusClean, t1)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	for _, want := range []string{
		"# TYPE corpus_audit_last_success_timestamp_seconds gauge",
		"corpus_audit_last_success_timestamp_seconds 1.78e+09",
		`corpus_audit_status{status="clean"} 1`,
		`corpus_audit_findings{category="minor"} 12`,
		"corpus_audit_exit_code 0",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("textfile lacks %q:\n%s", want, data)
		}
	}
	if err := WriteTextfile(p, sampleRun(StatusFailed, t1.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(p)
	for _, want := range []string{
		"corpus_audit_last_success_timestamp_seconds 1.78e+09",
		"corpus_audit_last_run_timestamp_seconds 1.7800036e+09",
		`corpus_audit_status{status="failed"} 1`,
		"corpus_audit_exit_code 2",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("textfile after a failure lacks %q:\n%s", want, data)
		}
	}
	// A first run that fails has no success time at all.
	p2 := filepath.Join(t.TempDir(), "new.prom")
	WriteTextfile(p2, sampleRun(StatusFailed, t1))
	data, _ = os.ReadFile(p2)
	if strings.Contains(string(data), LastSuccess) {
		t.Errorf("a failed first run claims a success:\n%s", data)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"http://pgw:9091":                 "http://pgw:9091",
		"https://user:s3cret@pgw:9091/x":  "https://user:xxxxx@pgw:9091/x",
		"https://user@pgw:9091":           "https://user@pgw:9091",
		"http://pgw:9091/path@not-a-user": "http://pgw:9091/path@not-a-user",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
