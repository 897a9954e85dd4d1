package jobs

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/report"
)

// The browser test renders report.html in Debian's chromium, headless, as
// a reader would open it: it takes a screenshot, prints it to PDF, checks
// the rendered DOM for the result table and charts, and checks that the
// browser logged no console message (the page has no scripts, and its
// content security policy turns any attempt to load something from
// outside the file into a logged violation). scripts/install-test-deps.sh
// installs chromium; `make test` runs it first.
//
// The screenshot and the PDF are kept under $CORPUS_AUDIT_ARTEFACTS (else
// a temporary folder) as test artefacts.

// chromium returns the browser's path, or skips the test when it is not
// installed.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed: run scripts/install-test-deps.sh (Debian package chromium) to run the browser test")
	return ""
}

// browse runs headless chromium on a local HTML file with extra flags and
// returns its stdout and stderr.
func browse(t *testing.T, bin, page string, flags ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0",
	}
	args = append(args, flags...)
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, "file://"+abs)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(flags, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleErrors returns the lines of chromium's log that report something
// the page printed or raised: console messages, uncaught exceptions and
// content-security-policy violations.
func consoleErrors(log string) []string {
	var bad []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") || strings.Contains(l, "Content Security Policy") {
			bad = append(bad, l)
		}
	}
	return bad
}

func artefactDir(t *testing.T) string {
	if d := os.Getenv("CORPUS_AUDIT_ARTEFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestConsoleErrorDetection checks the check: a page with a script error
// and a blocked external image must be caught.
func TestConsoleErrorDetection(t *testing.T) {
	bin := chromium(t)
	page := filepath.Join(t.TempDir(), "bad.html")
	os.WriteFile(page, []byte(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'"></head>`+
		`<body><img src="https://example.invalid/x.png"><script>throw new Error("boom")</script></body></html>`), 0o644)
	_, log := browse(t, bin, page, "--dump-dom")
	bad := consoleErrors(log)
	if len(bad) < 2 {
		t.Fatalf("the console check missed an uncaught error and a CSP violation; log:\n%s", log)
	}
}

func TestReportInBrowser(t *testing.T) {
	bin := chromium(t)
	_, out, _, sum := auditWithReports(t, nil)
	page := filepath.Join(out, report.HTMLFile)
	art := artefactDir(t)

	dom, log := browse(t, bin, page, "--dump-dom", "--window-size=1200,3000")
	if bad := consoleErrors(log); len(bad) > 0 {
		t.Errorf("the browser logged console messages:\n%s", strings.Join(bad, "\n"))
	}
	for _, want := range []string{
		`id="status"`, `data-status="findings"`, `id="results-table"`, `id="by-category"`, `id="coverage-table"`,
		`id="chart-category-svg"`, `id="chart-month-svg"`, `id="chart-platform-svg"`,
		`id="run-metadata"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %s", want)
		}
	}
	// The charts have bars, one per non-zero category at least.
	for _, id := range []string{"chart-category-svg", "chart-month-svg", "chart-platform-svg"} {
		i := strings.Index(dom, `id="`+id+`"`)
		if i < 0 {
			continue
		}
		j := strings.Index(dom[i:], "</svg>")
		if n := len(regexp.MustCompile(`<rect [^>]*data-rows="[1-9]`).FindAllString(dom[i:i+j], -1)); n < 5 {
			t.Errorf("chart %s has %d bars", id, n)
		}
	}
	// No element the browser would fetch.
	for _, bad := range []string{"<script", "<img", "<link", "<iframe"} {
		if strings.Contains(dom, bad) {
			t.Errorf("the rendered DOM holds %s", bad)
		}
	}
	if !strings.Contains(dom, ">"+fmtThousands(sum.Counts.RowsFlagged)+"<") {
		t.Errorf("the rendered page does not show the %d flagged rows", sum.Counts.RowsFlagged)
	}

	shot := filepath.Join(art, "report.png")
	_, log = browse(t, bin, page, "--screenshot="+shot, "--window-size=1200,3000")
	if bad := consoleErrors(log); len(bad) > 0 {
		t.Errorf("the browser logged console messages:\n%s", strings.Join(bad, "\n"))
	}
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 10_000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %d bytes, %v", shot, len(png), err)
	}
	pdf := filepath.Join(art, "report.pdf")
	browse(t, bin, page, "--print-to-pdf="+pdf, "--no-pdf-header-footer")
	data, err := os.ReadFile(pdf)
	if err != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("print to PDF: %v", err)
	}
	pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(data, -1))
	if pages < 2 || pages > 40 {
		t.Errorf("the PDF has %d pages", pages)
	}
	t.Logf("artefacts: %s (screenshot), %s (%d pages)", shot, pdf, pages)
}
