package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/corpus-audit/corpus-audit/jobs"
	"github.com/corpus-audit/corpus-audit/metrics/pgwtest"
	"github.com/corpus-audit/corpus-audit/schema"
)

// TestConfigPrecedence: a flag beats its environment variable, which
// beats the config file's settings:, which beat the default; the config
// command says which layer each value came from and masks secrets.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "audit.yaml")
	os.WriteFile(cfg, []byte(`policy:
  version: "7"
settings:
  lake: /from/file/lake
  state: /from/file/state
  workers: 3
  metrics_file: /from/file/metrics.prom
  pushgateway: http://ops:hunter2@pgw:9091
  lock-lease: 90s
`), 0o644)
	t.Setenv("CORPUS_AUDIT_STATE", "/from/env/state")
	t.Setenv("CORPUS_AUDIT_WORKERS", "5")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY")
	args := []string{"nightly", "--config", cfg, "--workers", "7"}

	// What the program itself parses.
	var c cli
	layer, err := loadSettings(args, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newParser(&c, layer, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse(args); err != nil {
		t.Fatal(err)
	}
	n := c.Nightly
	if n.Lake != "/from/file/lake" || n.State != "/from/env/state" || n.Workers != 7 ||
		n.MetricsFile != "/from/file/metrics.prom" || n.LockLease != 90*time.Second || n.CorpusDir != "corpus" {
		t.Errorf("parsed: lake %q state %q workers %d metrics %q lease %v corpus-dir %q", n.Lake, n.State, n.Workers, n.MetricsFile, n.LockLease, n.CorpusDir)
	}

	// What the config command prints.
	out, err := effectiveConfig(args, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Command string
		Flags   map[string]struct {
			Value  any
			Source string
		}
		Config map[string]any    `yaml:"config_file"`
		Env    map[string]string `yaml:"environment"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for name, want := range map[string][2]string{
		"lake":        {"/from/file/lake", "config file " + cfg},
		"state":       {"/from/env/state", "environment CORPUS_AUDIT_STATE"},
		"workers":     {"7", "flag --workers"},
		"corpus-dir":  {"corpus", "default"},
		"lock-lease":  {"1m30s", "config file " + cfg},
		"pushgateway": {"http://ops:xxxxx@pgw:9091", "config file " + cfg},
	} {
		got := doc.Flags[name]
		if v := strings.TrimSpace(yamlString(got.Value)); v != want[0] || got.Source != want[1] {
			t.Errorf("%s = %q from %q, want %q from %q", name, v, got.Source, want[0], want[1])
		}
	}
	if doc.Command != "nightly" {
		t.Errorf("command %q", doc.Command)
	}
	if bytes.Contains(out, []byte("hunter2")) || bytes.Contains(out, []byte("very-secret-value")) || bytes.Contains(out, []byte("EXAMPLEKEY")) {
		t.Errorf("a secret is printed:\n%s", out)
	}
	if doc.Env["AWS_SECRET_ACCESS_KEY"] == "" {
		t.Errorf("the environment section does not say the secret is set:\n%s", out)
	}
	if !strings.Contains(string(out), `version: "7"`) {
		t.Errorf("the config file's policy is not shown:\n%s", out)
	}

	// A settings key that is no flag is an error naming it.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("settings:\n  lakes: /x\n"), 0o644)
	if _, err := effectiveConfig([]string{"nightly", "--config", bad}, os.LookupEnv); err == nil || !strings.Contains(err.Error(), "settings.lakes") {
		t.Errorf("unknown setting: %v", err)
	}
}

func yamlString(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

// TestNightlyMetrics: the nightly command writes the textfile and pushes
// to the real Pushgateway; the series read back from its API.
func TestNightlyMetrics(t *testing.T) {
	bin := buildBinary(t)
	pgw := pgwtest.Start(t)
	lakeDir := t.TempDir()
	os.CopyFS(lakeDir, os.DirFS(genSnapshot(t, "2026-06-01", 2)))
	prom := filepath.Join(t.TempDir(), "corpus_audit.prom")
	args := []string{"nightly", "--lake", lakeDir, "--state", filepath.Join(t.TempDir(), "state"),
		"--metrics-file", prom, "--pushgateway", pgw.URL}
	r := runBin(t, bin, cliEnv(nil), args...)
	if r.code != schema.ExitFindings {
		t.Fatalf("nightly: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	data, _ := os.ReadFile(prom)
	for _, want := range []string{`corpus_audit_snapshots{result="audited"} 1`, "corpus_audit_snapshots_with_findings 1",
		"corpus_audit_exit_code 1", `corpus_audit_status{status="findings"} 1`, "corpus_audit_rows_scanned 800", "corpus_audit_last_success_timestamp_seconds"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("textfile lacks %q:\n%s", want, data)
		}
	}
	groups, err := pgw.Groups()
	if err != nil || len(groups) != 1 {
		t.Fatalf("groups %+v %v", groups, err)
	}
	g := groups[0]
	if g.Labels["job"] != "corpus_audit" || g.Labels["command"] != "nightly" {
		t.Errorf("labels %v", g.Labels)
	}
	if g.Metrics["corpus_audit_rows_scanned"][""] != "800" || g.Metrics["corpus_audit_snapshots"]["result=audited"] != "1" {
		t.Errorf("pushed %v", g.Metrics)
	}
	// No progress display when stderr is not a terminal.
	if strings.Contains(r.stderr, "\r") || strings.Contains(r.stderr, "rows/s") {
		t.Errorf("progress output in redirected stderr:\n%q", r.stderr)
	}
}

func TestProgressLine(t *testing.T) {
	p := &jobs.Progress{}
	if got := renderProgress(p, time.Now()); !strings.Contains(got, "starting") {
		t.Errorf("before the start: %q", got)
	}
	p.Start("2026-06-01", 10, 4_000_000, 0)
	p.FilesDone.Store(3)
	p.RowsDone.Store(1_000_000)
	_, started := p.Snapshot()
	got := renderProgress(p, started.Add(10*time.Second))
	for _, want := range []string{"2026-06-01", "files 3/10", "rows 1.0M/4.0M", "(25%)", "100k rows/s", "ETA 30s"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}
	for _, tc := range []struct {
		mode string
		tty  bool
		want bool
	}{{"auto", true, true}, {"auto", false, false}, {"always", false, true}, {"never", true, false}} {
		if got := progressEnabled(tc.mode, tc.tty); got != tc.want && os.Getenv("TERM") != "dumb" {
			t.Errorf("progressEnabled(%s, tty=%v) = %v", tc.mode, tc.tty, got)
		}
	}
	// Logs written while the line shows clear it and draw it again.
	var buf bytes.Buffer
	lw := &lineWriter{w: &buf}
	lw.setLine("files 1/2")
	lw.Write([]byte("a log line\n"))
	if got := buf.String(); got != "\r\x1b[Kfiles 1/2\r\x1b[Ka log line\nfiles 1/2" {
		t.Errorf("terminal output %q", got)
	}
}
