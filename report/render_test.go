package report

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	stdhtml "html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/schema"
)

// testSummary is a small complete run with findings.
func testSummary(status schema.Status) *schema.Summary {
	c := NewCounts()
	c.FilesScanned = 2
	c.RowsInFiles, c.RowsScanned = 1000, 1000
	c.RowsFlagged, c.RowsClean = 7, 993
	c.ByCategory[schema.Minor] = 3
	c.ByCategory[schema.Private] = 4
	c.ByCategory[schema.Objected] = 1
	c.ByPlatform = map[string]map[schema.Category]int64{
		"facebook": {schema.Minor: 3, schema.Private: 1},
		"":         {schema.Private: 3, schema.Objected: 1},
	}
	c.ByGroup = []schema.GroupCount{
		{Platform: "", ContentType: "message", Category: schema.Private, Rows: 3},
		{Platform: "", ContentType: "post", Category: schema.Objected, Rows: 1},
		{Platform: "facebook", ContentType: "post", Category: schema.Minor, Rows: 3},
		{Platform: "facebook", ContentType: "post", Category: schema.Private, Rows: 1},
	}
	c.ByMonth = map[string]map[schema.Category]int64{
		"2026-01": {schema.Minor: 2, schema.Private: 4},
		"2025-12": {schema.Minor: 1},
		"":        {schema.Objected: 1},
	}
	c.Files = []schema.FileCoverage{
		{Path: "lake/snapshot=2026-06-01/a.parquet", RowGroups: 2, RowsInFooter: 600, RowsJudged: 600, RowsFlagged: 5},
		{Path: "lake/snapshot=2026-06-01/b.parquet", RowGroups: 1, RowsInFooter: 400, RowsJudged: 400, RowsFlagged: 2},
	}
	s := &schema.Summary{
		SchemaVersion: schema.SummarySchemaVersion,
		Status:        status,
		Snapshot:      "2026-06-01",
		SnapshotAt:    time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		Policy:        policy.Default().Ref(),
		Counts:        c,
		Inputs: []schema.InputFile{
			{Role: schema.RoleCorpus, Path: "lake/snapshot=2026-06-01/a.parquet", Size: 12345, Rows: 600, SHA256: strings.Repeat("ab", 32)},
			{Role: schema.RoleAges, Path: "s3://bucket/ages/part-0.parquet", Size: 99, Rows: 10, ETag: `"e1"`, VersionID: "v1"},
		},
		Outputs: []schema.OutputFile{{Path: "findings/part-00000.parquet", Rows: 7}},
		Run: schema.RunInfo{
			Tool: schema.ToolInfo{Name: "corpus-audit", Version: "v1.2.3", Go: "go1.26"}, Host: "auditor-1",
			Started:  time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC),
			Finished: time.Date(2026, 6, 2, 3, 4, 5, 0, time.UTC),
		},
	}
	if status == schema.StatusClean {
		s.Counts = NewCounts()
		s.Counts.FilesScanned, s.Counts.RowsInFiles, s.Counts.RowsScanned, s.Counts.RowsClean = 1, 50, 50, 50
		s.Counts.Files = []schema.FileCoverage{{Path: "x.parquet", RowGroups: 1, RowsInFooter: 50, RowsJudged: 50}}
		s.Outputs = nil
	}
	if status == schema.StatusIncomplete {
		s.Error = "lake/snapshot=2026-06-01/b.parquet: column created_at: row group 0: type BYTE_ARRAY, want a timestamp"
		s.Outputs = nil
		s.Counts.RowsClean = 0
	}
	return s
}

func render(t *testing.T, d Data) (html, md string) {
	t.Helper()
	var h, m bytes.Buffer
	if err := RenderHTML(&h, d); err != nil {
		t.Fatal(err)
	}
	if err := RenderMarkdown(&m, d); err != nil {
		t.Fatal(err)
	}
	return h.String(), m.String()
}

func TestRenderStatus(t *testing.T) {
	tests := []struct {
		status        schema.Status
		class         string
		want, notWant []string
	}{
		{schema.StatusClean, "status-clean", []string{"CLEAN — no row of the corpus falls into any category", "the Parquet footers count 50 rows; 50 rows were judged; 50 clean + 0 flagged = 50"}, []string{"INCOMPLETE", "FINDINGS"}},
		{schema.StatusFindings, "status-findings", []string{"FINDINGS — 7 of 1,000 rows (0.70%) must not be in the training corpus", "993 clean + 7 flagged = 1,000"}, []string{"INCOMPLETE", "CLEAN —"}},
		{schema.StatusIncomplete, "status-incomplete", []string{"INCOMPLETE — this audit did not finish; nothing may be concluded from it", "column created_at: row group 0", "these counts are partial and prove nothing", "Coverage does NOT reconcile"}, []string{"CLEAN —", "FINDINGS —"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.status), func(t *testing.T) {
			html, md := render(t, Data{Summary: testSummary(tc.status)})
			html = stdhtml.UnescapeString(html)
			if !strings.Contains(html, `class="status `+tc.class+`"`) {
				t.Errorf("report.html has no %s banner", tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(html, w) {
					t.Errorf("report.html lacks %q", w)
				}
				if !strings.Contains(md, w) {
					t.Errorf("report.md lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(html, w) || strings.Contains(md, w) {
					t.Errorf("report holds %q", w)
				}
			}
		})
	}
}

// TestRenderSelfContained: no scripts, no external resources of any kind,
// and a content security policy that forbids loading any.
func TestRenderSelfContained(t *testing.T) {
	html, _ := render(t, Data{Summary: testSummary(schema.StatusFindings)})
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "<object", "src=", "url(", "@import", "javascript:", `href="http`, "@font-face"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	// The only http URL is the SVG namespace.
	for _, m := range regexp.MustCompile(`https?://[^"' ]+`).FindAllString(html, -1) {
		if m != "http://www.w3.org/2000/svg" {
			t.Errorf("report.html refers to %s", m)
		}
	}
	if !strings.Contains(html, `content="default-src 'none'; style-src 'unsafe-inline'`) {
		t.Error("report.html has no content security policy")
	}
	for _, id := range []string{"chart-category-svg", "chart-month-svg", "chart-platform-svg"} {
		re := regexp.MustCompile(`<svg [^>]*id="` + id + `"[^>]*role="img"[^>]*aria-labelledby="` + id + `-title ` + id + `-desc"`)
		if !re.MatchString(html) {
			t.Errorf("chart %s missing or not labelled for screen readers", id)
		}
		if !strings.Contains(html, `<title id="`+id+`-title">`) || !strings.Contains(html, `<desc id="`+id+`-desc">`) {
			t.Errorf("chart %s has no title or desc", id)
		}
	}
}

// TestRenderNumbers: the numbers of the summary are in the tables, in
// both reports.
func TestRenderNumbers(t *testing.T) {
	s := testSummary(schema.StatusFindings)
	html, md := render(t, Data{Summary: s})
	for cat, n := range s.Counts.ByCategory {
		want := `data-category="` + string(cat) + `" data-rows="` + itoa(n) + `"`
		if !strings.Contains(html, want) {
			t.Errorf("report.html: no %s", want)
		}
	}
	for _, want := range []string{
		`data-platform="(no platform)" data-type="message" data-category="private" data-rows="3"`,
		`data-platform="facebook" data-type="post" data-category="minor" data-rows="3"`,
		`data-month="2026-01" data-category="private" data-rows="4"`,
		`data-month="unknown (no created_at)" data-category="objected" data-rows="1"`,
		`id="flagged-total">7<`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html: no %s", want)
		}
	}
	for _, want := range []string{
		"| facebook | post | 3 (0.30%) | 1 (0.10%) | – | – | – |",
		"| (no platform) | message | – | 3 (0.30%) | – | – | – |",
		"| 2025-12 | 1 | – | – | – | – |",
		"| unknown (no created_at) | – | – | 1 | – | – |",
		"| `lake/snapshot=2026-06-01/a.parquet` | 2 | 600 | 600 | 595 | 5 | ✓ reconciled |",
		"| **All 2 files** | **3** | **1,000** | **1,000** | **993** | **7** | **✓ reconciled** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md: no line %s", want)
		}
	}
	// The unknown month comes last.
	if strings.Index(md, "| unknown (no created") < strings.Index(md, "| 2026-01 |") {
		t.Error("the unknown month is not last")
	}
	// Inputs with size, rows and checksum.
	for _, want := range []string{"12.1 KiB (12,345 bytes)", "SHA-256 " + strings.Repeat("ab", 32), `ETag "e1"; version v1`} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md: no %s", want)
		}
	}
}

func itoa(n int64) string { return strings.ReplaceAll(fmtInt(n), ",", "") }

// TestRunMetadataIsolated: the run's own metadata is the only part of a
// report that differs between two runs.
func TestRunMetadataIsolated(t *testing.T) {
	a := testSummary(schema.StatusFindings)
	b := testSummary(schema.StatusFindings)
	b.Run.Host, b.Run.Tool.Version = "auditor-2", "v9.9.9"
	b.Run.Started = b.Run.Started.Add(time.Hour)
	b.Run.Finished = b.Run.Finished.Add(2 * time.Hour)
	ha, ma := render(t, Data{Summary: a})
	hb, mb := render(t, Data{Summary: b})
	if ha == hb || ma == mb {
		t.Fatal("reports of different runs are identical: the run metadata is not shown")
	}
	for _, r := range []string{ha, ma} {
		if strings.Count(r, RunMetadataBegin) != 1 || strings.Count(r, RunMetadataEnd) != 1 {
			t.Fatal("report lacks exactly one run-metadata block")
		}
		if !strings.Contains(r, "auditor-1") || !strings.Contains(r, "2026-06-02T03:04:05Z") || !strings.Contains(r, "4m5s") {
			t.Error("run metadata lacks host, finish time or duration")
		}
	}
	if string(StripRunMetadata([]byte(ha))) != string(StripRunMetadata([]byte(hb))) {
		t.Error("report.html differs outside the run-metadata block")
	}
	if string(StripRunMetadata([]byte(ma))) != string(StripRunMetadata([]byte(mb))) {
		t.Error("report.md differs outside the run-metadata block")
	}
	if strings.Contains(string(StripRunMetadata([]byte(ha))), "auditor-1") {
		t.Error("the host appears outside the run-metadata block")
	}
}

func TestExamples(t *testing.T) {
	s := testSummary(schema.StatusFindings)
	html, md := render(t, Data{Summary: s})
	for _, r := range []string{html, md} {
		if !strings.Contains(r, "No examples are shown: no pseudonym key was given") {
			t.Error("a report without a key does not say why it has no examples")
		}
	}
	ex := []Example{{Category: schema.Minor, Content: "pseudo:0123456789abcdef", Author: "pseudo:fedcba9876543210", Platform: "facebook", ContentType: "post", Visibility: "public", Created: "2026-01-02", Evidence: "the author was 15 at creation (adult from 2028-03-01)"}}
	html, md = render(t, Data{Summary: s, Pseudonyms: true, Examples: ex})
	for _, r := range []string{html, md} {
		for _, want := range []string{"pseudo:0123456789abcdef", "the author was 15 at creation"} {
			if !strings.Contains(r, want) {
				t.Errorf("report lacks example text %q", want)
			}
		}
	}
}

func TestEvidence(t *testing.T) {
	p, err := NewPseudonymizer([]byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	pol := policy.Default()
	ptr := func(s string) *string { return &s }
	i64 := func(v int64) *int64 { return &v }
	day := func(s string) *int32 {
		d, _ := time.Parse(time.DateOnly, s)
		v := int32(d.Unix() / 86400)
		return &v
	}
	us := func(s string) *int64 {
		d, _ := time.Parse(time.RFC3339, s)
		v := d.UnixMicro()
		return &v
	}
	f := &schema.Finding{
		ContentID: ptr("c1"), AuthorID: i64(7), ContentType: ptr(" Message "), Visibility: ptr("Friends"),
		CreatedAt: us("2025-02-28T23:00:00Z"), BirthDate: day("2008-02-29"),
		ObjectionAccountID: i64(9), ObjectedAt: us("2026-01-02T00:00:00Z"), AccountsCenterID: i64(55),
	}
	tests := []struct {
		cat  schema.Category
		p    *Pseudonymizer
		want string
	}{
		{schema.Minor, p, "the author was 16 at creation (adult from 2026-03-01)"},
		{schema.Minor, nil, "born 2008-02-29: the author was 16 at creation (adult from 2026-03-01)"},
		{schema.Objected, nil, "linked account 9 objected on 2026-01-02, linked to the author through accounts centre 55"},
		{schema.Objected, p, "linked account " + p.Account(9) + " objected on 2026-01-02, linked to the author through accounts centre " + p.AccountsCenter(55)},
		{schema.Private, nil, "content type “message” is never public; visibility “friends” is not “public”"},
		{schema.AgeUnknown, nil, "no birth date on record for the author"},
	}
	for _, tc := range tests {
		if got := Evidence(f, tc.cat, pol, tc.p); got != tc.want {
			t.Errorf("Evidence(%s, key=%v) = %q, want %q", tc.cat, tc.p != nil, got, tc.want)
		}
	}
	self := &schema.Finding{AuthorID: i64(9), ObjectionAccountID: i64(9)}
	if got := Evidence(self, schema.Objected, pol, nil); got != "the author objected" {
		t.Errorf("own objection: %q", got)
	}
	un := &schema.Finding{}
	if got := Evidence(un, schema.Unauditable, pol, nil); got != "no author_id; no created_at" {
		t.Errorf("unauditable: %q", got)
	}
}

func TestAgeAt(t *testing.T) {
	d := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	tests := []struct {
		birth, at string
		want      int
	}{
		{"2008-06-01T00:00:00Z", "2026-05-31T23:59:59Z", 17},
		{"2008-06-01T00:00:00Z", "2026-06-01T00:00:00Z", 18},
		{"2008-02-29T00:00:00Z", "2026-02-28T12:00:00Z", 17},
		{"2008-02-29T00:00:00Z", "2026-03-01T00:00:00Z", 18},
	}
	for _, tc := range tests {
		if got := AgeAt(d(tc.birth), d(tc.at)); got != tc.want {
			t.Errorf("AgeAt(%s, %s) = %d, want %d", tc.birth, tc.at, got, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	ints := map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"}
	for n, want := range ints {
		if got := fmtInt(n); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", n, got, want)
		}
	}
	rates := []struct {
		n, d int64
		want string
	}{{0, 10, "0%"}, {1, 3, "33.33%"}, {1, 1_000_000, "<0.01%"}, {5, 0, "–"}, {10, 10, "100.00%"}}
	for _, tc := range rates {
		if got := fmtRate(tc.n, tc.d); got != tc.want {
			t.Errorf("fmtRate(%d, %d) = %q, want %q", tc.n, tc.d, got, tc.want)
		}
	}
	if got := fmtBytes(512); got != "512 bytes" {
		t.Errorf("fmtBytes(512) = %q", got)
	}
	if got := fmtBytes(3 << 20); got != "3.0 MiB (3,145,728 bytes)" {
		t.Errorf("fmtBytes(3 MiB) = %q", got)
	}
	for v, want := range map[int64]int64{0: 4, 3: 4, 5: 8, 9: 20, 37: 40, 150: 200, 1001: 2000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", v, got, want)
		}
	}
}

func TestMarkdownEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"created_at and age_unknown", "created_at and age_unknown"},
		{"_SUCCESS", "\\_SUCCESS"},
		{"a|b", "a\\|b"},
		{"<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"},
		{"*bold* [link](x)", "\\*bold\\* \\[link\\](x)"},
		{"two\nlines", "two lines"},
		{"# heading", "\\# heading"},
	}
	for _, tc := range tests {
		if got := mdEscape(tc.in); got != tc.want {
			t.Errorf("mdEscape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	codes := []struct{ in, want string }{
		{"a.parquet", "`a.parquet`"},
		{"a`b", "``a`b``"},
		{"x|y", "`x\\|y`"},
		{"", ""},
	}
	for _, tc := range codes {
		if got := mdCode(tc.in); got != tc.want {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestHostileValues: values from the corpus cannot inject markup into
// either report.
func TestHostileValues(t *testing.T) {
	s := testSummary(schema.StatusFindings)
	evil := `<script>alert("x")</script>|**`
	s.Counts.ByPlatform[evil] = map[schema.Category]int64{schema.Private: 1}
	s.Counts.ByGroup = append(s.Counts.ByGroup, schema.GroupCount{Platform: evil, ContentType: evil, Category: schema.Private, Rows: 1})
	html, md := render(t, Data{Summary: s})
	if strings.Contains(html, "<script>") || strings.Contains(md, "<script>") {
		t.Error("a platform name injected a script tag")
	}
	if !strings.Contains(html, "&lt;script&gt;") {
		t.Error("the hostile platform name is not shown escaped")
	}
}

func TestPseudonymizer(t *testing.T) {
	key := []byte("a key of at least sixteen bytes")
	p, err := NewPseudonymizer(key)
	if err != nil {
		t.Fatal(err)
	}
	want := func(msg string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return "pseudo:" + hex.EncodeToString(m.Sum(nil))[:16]
	}
	if got := p.ContentID("abc"); got != want("content_id:abc") {
		t.Errorf("ContentID = %s, want %s", got, want("content_id:abc"))
	}
	if got := p.Account(42); got != want("account:42") {
		t.Errorf("Account = %s, want %s", got, want("account:42"))
	}
	if p.ContentID("42") == p.Account(42) {
		t.Error("content and account pseudonyms of the same id collide")
	}
	q, _ := NewPseudonymizer([]byte("another key of sixteen bytes"))
	if q.ContentID("abc") == p.ContentID("abc") {
		t.Error("pseudonyms do not depend on the key")
	}
	if _, err := NewPseudonymizer([]byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}

	dir := t.TempDir()
	f := filepath.Join(dir, "key")
	if err := os.WriteFile(f, append(key, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PseudonymKeyEnv, "")
	got, err := LoadPseudonymizer(f)
	if err != nil || got.ContentID("abc") != p.ContentID("abc") {
		t.Errorf("key file with a final newline: %v", err)
	}
	if got, err := LoadPseudonymizer(""); got != nil || err != nil {
		t.Errorf("no key: got %v, %v; want nil, nil", got, err)
	}
	t.Setenv(PseudonymKeyEnv, string(key))
	if got, err := LoadPseudonymizer(""); err != nil || got.ContentID("abc") != p.ContentID("abc") {
		t.Errorf("key from the environment: %v", err)
	}
	t.Setenv(PseudonymKeyEnv, "too-short-secret")
	if _, err := LoadPseudonymizer(""); err != nil {
		t.Errorf("16-byte key refused: %v", err)
	}
	t.Setenv(PseudonymKeyEnv, "tiny-secret")
	_, err = LoadPseudonymizer("")
	if err == nil || strings.Contains(err.Error(), "tiny-secret") {
		t.Errorf("short key: error %v (must fail without showing the key)", err)
	}
	if _, err := LoadPseudonymizer(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file was accepted")
	}
}

func TestGroupsCapped(t *testing.T) {
	s := testSummary(schema.StatusFindings)
	s.Counts.ByGroup = nil
	for i := 0; i < MaxGroupRows+25; i++ {
		s.Counts.ByGroup = append(s.Counts.ByGroup, schema.GroupCount{Platform: "p", ContentType: fmt.Sprintf("type-%04d", i), Category: schema.Private, Rows: 1})
	}
	html, md := render(t, Data{Summary: s})
	if n := strings.Count(html, `data-type="type-`); n != MaxGroupRows*len(schema.Categories) {
		t.Errorf("results table has %d cells, want %d", n, MaxGroupRows*len(schema.Categories))
	}
	for _, r := range []string{html, md} {
		if !strings.Contains(r, "and 25 more platform × content type combinations") {
			t.Error("the report does not say how many lines it left out")
		}
	}
}
