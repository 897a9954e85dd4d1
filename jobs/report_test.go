package jobs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// testPseudonymKey is the pseudonym key of the report tests; no output may
// contain it.
const testPseudonymKey = "report-test-pseudonym-key-0123456789"

// keyFiles writes a pseudonym key file and an Ed25519 key pair (PEM) into a
// temporary folder and returns their paths.
func keyFiles(t *testing.T) (pseudoKey, signKey, pubKey string) {
	t.Helper()
	dir := t.TempDir()
	pseudoKey = filepath.Join(dir, "pseudonym.key")
	if err := os.WriteFile(pseudoKey, []byte(testPseudonymKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(priv)
	pk, _ := x509.MarshalPKIXPublicKey(pub)
	signKey, pubKey = filepath.Join(dir, "sign.pem"), filepath.Join(dir, "sign.pub.pem")
	if err := os.WriteFile(signKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubKey, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), 0o644); err != nil {
		t.Fatal(err)
	}
	return pseudoKey, signKey, pubKey
}

// auditWithReports generates a lake, audits it with a pseudonym key and a
// signing key, and returns the lake, the output folder and the public key.
func auditWithReports(t *testing.T, mod func(*lakegen.Options)) (*lakegen.Result, string, string, schema.Summary) {
	t.Helper()
	t.Setenv(report.PseudonymKeyEnv, "")
	res := genLake(t, mod)
	pk, sk, pub := keyFiles(t)
	out := t.TempDir()
	o := runOpts(res, out)
	o.PseudonymKeyFile, o.SignKeyFile = pk, sk
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != schema.StatusFindings {
		t.Fatalf("status %s, want findings", sum.Status)
	}
	return res, out, pub, sum
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var dataRowsRE = regexp.MustCompile(`<td class="num"([^>]*data-rows[^>]*)>`)
var dataAttrRE = regexp.MustCompile(`data-([a-z]+)="([^"]*)"`)

// tableCells returns the numeric cells of one table of report.html, by
// their data-* attributes.
func tableCells(t *testing.T, html, tableID string) []map[string]string {
	t.Helper()
	i := strings.Index(html, `<table id="`+tableID+`"`)
	if i < 0 {
		t.Fatalf("report.html has no table %s", tableID)
	}
	j := strings.Index(html[i:], "</table>")
	var cells []map[string]string
	for _, m := range dataRowsRE.FindAllStringSubmatch(html[i:i+j], -1) {
		c := map[string]string{}
		for _, a := range dataAttrRE.FindAllStringSubmatch(m[1], -1) {
			c[a[1]] = a[2]
		}
		cells = append(cells, c)
	}
	return cells
}

func rowsOf(t *testing.T, c map[string]string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(c["rows"], 10, 64)
	if err != nil {
		t.Fatalf("cell %v: %v", c, err)
	}
	return n
}

// TestReportGolden checks the numbers of report.html against summary.json
// and against the findings files, and that no raw identifier or key leaks.
func TestReportGolden(t *testing.T) {
	_, out, _, sum := auditWithReports(t, nil)
	html := readFile(t, filepath.Join(out, report.HTMLFile))
	md := readFile(t, filepath.Join(out, report.MDFile))
	fs := readFindings(t, out)

	// Counts from the findings files.
	byCat := map[schema.Category]int64{}
	byMonth := map[string]map[schema.Category]int64{}
	for _, f := range fs {
		m := "unknown (no created_at)"
		if f.CreatedAt != nil {
			m = time.UnixMicro(*f.CreatedAt).UTC().Format("2006-01")
		}
		if byMonth[m] == nil {
			byMonth[m] = map[schema.Category]int64{}
		}
		for _, c := range f.Categories {
			byCat[c]++
			byMonth[m][c]++
		}
	}
	if int64(len(fs)) != sum.Counts.RowsFlagged {
		t.Fatalf("%d findings, summary says %d flagged", len(fs), sum.Counts.RowsFlagged)
	}
	if !strings.Contains(html, `id="flagged-total">`+fmtThousands(int64(len(fs)))+`<`) {
		t.Errorf("report.html flagged total is not %d", len(fs))
	}

	// Per category: HTML = summary = findings.
	cells := tableCells(t, html, "by-category")
	if len(cells) != len(schema.Categories)+1 {
		t.Fatalf("by-category has %d cells", len(cells))
	}
	for _, c := range cells {
		cat := schema.Category(c["category"])
		if cat == "" {
			if rowsOf(t, c) != sum.Counts.RowsFlagged {
				t.Errorf("any category: %v, summary %d", c, sum.Counts.RowsFlagged)
			}
			continue
		}
		if n := rowsOf(t, c); n != sum.Counts.ByCategory[cat] || n != byCat[cat] {
			t.Errorf("%s: report %d, summary %d, findings %d", cat, n, sum.Counts.ByCategory[cat], byCat[cat])
		}
	}

	// Platform × content type × category: every cell of the summary, and
	// the column totals.
	want := map[string]int64{}
	for _, g := range sum.Counts.ByGroup {
		p, ct := g.Platform, g.ContentType
		if p == "" {
			p = "(no platform)"
		}
		if ct == "" {
			ct = "(no content type)"
		}
		want[p+"/"+ct+"/"+string(g.Category)] = g.Rows
	}
	colSum := map[schema.Category]int64{}
	got := map[string]int64{}
	for _, c := range tableCells(t, html, "results-table") {
		n := rowsOf(t, c)
		if c["total"] == "yes" {
			if n != byCat[schema.Category(c["category"])] {
				t.Errorf("results table total %s = %d, findings %d", c["category"], n, byCat[schema.Category(c["category"])])
			}
			continue
		}
		colSum[schema.Category(c["category"])] += n
		if n != 0 {
			got[c["platform"]+"/"+c["type"]+"/"+c["category"]] = n
		}
	}
	if len(got) != len(want) {
		t.Errorf("results table has %d non-zero cells, summary %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("results table %s = %d, summary %d", k, got[k], n)
		}
	}
	for cat, n := range colSum {
		if n != byCat[cat] {
			t.Errorf("results table column %s sums to %d, findings %d", cat, n, byCat[cat])
		}
	}

	// By month: HTML = findings.
	for _, c := range tableCells(t, html, "by-month") {
		if n := rowsOf(t, c); n != byMonth[c["month"]][schema.Category(c["category"])] {
			t.Errorf("month %s %s: report %d, findings %d", c["month"], c["category"], n, byMonth[c["month"]][schema.Category(c["category"])])
		}
	}
	// By platform: HTML = summary.
	for _, c := range tableCells(t, html, "by-platform") {
		if n := rowsOf(t, c); n != sum.Counts.ByPlatform[c["platform"]][schema.Category(c["category"])] {
			t.Errorf("platform %s %s: report %d, summary %d", c["platform"], c["category"], n, sum.Counts.ByPlatform[c["platform"]][schema.Category(c["category"])])
		}
	}

	// Coverage, in both reports.
	c := sum.Counts
	for _, r := range []string{html, md} {
		for _, w := range []string{
			"Rows counted in the Parquet footers (" + fmtThousands(c.RowsInFiles) + ") = rows read and judged (" + fmtThousands(c.RowsScanned) + ") = clean rows (" + fmtThousands(c.RowsClean) + ") + flagged rows (" + fmtThousands(c.RowsFlagged) + ")",
			"Flagged rows (" + fmtThousands(c.RowsFlagged) + ") = rows written to the findings files (" + fmtThousands(int64(len(fs))) + ")",
			sum.Policy.Hash,
		} {
			if !strings.Contains(strings.ReplaceAll(r, "&#43;", "+"), w) {
				t.Errorf("report lacks %q", w)
			}
		}
		for _, f := range c.Files {
			if !strings.Contains(r, f.Path) {
				t.Errorf("report lacks corpus file %s", f.Path)
			}
		}
		for _, in := range sum.Inputs {
			if in.SHA256 != "" && !strings.Contains(r, in.SHA256) {
				t.Errorf("report lacks the checksum of %s", in.Path)
			}
		}
	}

	// No raw identifier, no key.
	ids := map[string]bool{}
	for _, f := range fs {
		if f.ContentID != nil {
			ids[*f.ContentID] = true
		}
		for _, a := range []*int64{f.AuthorID, f.ObjectionAccountID, f.AccountsCenterID} {
			if a != nil {
				ids[strconv.FormatInt(*a, 10)] = true
			}
		}
	}
	for name, r := range map[string]string{"report.html": html, "report.md": md} {
		for _, tok := range regexp.MustCompile(`\b[0-9]{6,}\b`).FindAllString(r, -1) {
			if ids[tok] {
				t.Errorf("%s shows the raw identifier %s", name, tok)
			}
		}
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if strings.Contains(readFile(t, filepath.Join(out, e.Name())), testPseudonymKey) {
			t.Errorf("%s contains the pseudonym key", e.Name())
		}
	}

	// Examples: pseudonyms that the key maps back.
	ps := regexp.MustCompile(`pseudo:[0-9a-f]{16}`).FindAllString(md, -1)
	if len(ps) < 5 {
		t.Fatalf("report.md has %d pseudonyms, want examples of every category", len(ps))
	}
	t.Setenv(report.PseudonymKeyEnv, testPseudonymKey)
	r, err := Explain(context.Background(), ExplainOptions{Out: out, Pseudonym: ps[0]})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode() != ExplainOK || len(r.Explanations) == 0 {
		t.Errorf("explain --pseudonym %s: exit %d, %d findings", ps[0], r.ExitCode(), len(r.Explanations))
	}
}

func fmtThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestReportDeterministic: two runs over the same inputs give the same
// findings, summary (but for its run section) and reports (but for their
// run-metadata block).
func TestReportDeterministic(t *testing.T) {
	t.Setenv(report.PseudonymKeyEnv, testPseudonymKey)
	res := genLake(t, nil)
	outs := []string{t.TempDir(), t.TempDir()}
	for i, out := range outs {
		o := runOpts(res, out)
		o.Workers = i + 1
		o.Now = func() time.Time { return time.Date(2026, 6, 2+i, 3, 0, 0, 0, time.UTC) }
		o.Version = "v" + strconv.Itoa(i)
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{report.HTMLFile, report.MDFile} {
		a := readFile(t, filepath.Join(outs[0], name))
		b := readFile(t, filepath.Join(outs[1], name))
		if a == b {
			t.Errorf("%s identical across runs: its run metadata is missing", name)
		}
		if !bytes.Equal(report.StripRunMetadata([]byte(a)), report.StripRunMetadata([]byte(b))) {
			t.Errorf("%s differs between two runs outside its run-metadata block", name)
		}
	}
	sa, sb := readSummary(t, outs[0]), readSummary(t, outs[1])
	if sa.Run.Started.Equal(sb.Run.Started) {
		t.Error("the two runs have the same start time: the test proves nothing")
	}
}

func TestReportIncomplete(t *testing.T) {
	t.Setenv(report.PseudonymKeyEnv, testPseudonymKey)
	res := genLake(t, nil)
	_, sk, pub := keyFiles(t)
	tests := []struct {
		name    string
		mod     func(*RunOptions)
		wantErr string
		signed  bool
	}{
		{"missing ages table", func(o *RunOptions) { o.Ages = filepath.Join(res.Out, "no-such-table"); o.SignKeyFile = sk }, "no-such-table", true},
		{"bad signing key", func(o *RunOptions) {
			o.SignKeyFile = filepath.Join(res.Out, lakegen.CorpusDir(res.Options.Snapshot), "_SUCCESS")
		}, "signing key", false},
		{"short pseudonym key", func(o *RunOptions) {
			o.PseudonymKeyFile = filepath.Join(res.Out, lakegen.CorpusDir(res.Options.Snapshot), "_SUCCESS")
		}, "pseudonym key", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			o := runOpts(res, out)
			tc.mod(&o)
			sum, err := Run(context.Background(), o)
			if err == nil || sum.Status != schema.StatusIncomplete {
				t.Fatalf("Run = %s, %v; want incomplete", sum.Status, err)
			}
			disk := readSummary(t, out)
			if disk.Status != schema.StatusIncomplete || !strings.Contains(disk.Error, tc.wantErr) {
				t.Errorf("summary.json: %s, %q", disk.Status, disk.Error)
			}
			for _, name := range []string{report.HTMLFile, report.MDFile} {
				r := readFile(t, filepath.Join(out, name))
				if !strings.Contains(r, "INCOMPLETE — this audit did not finish") || !strings.Contains(r, tc.wantErr) {
					t.Errorf("%s does not say INCOMPLETE with the error", name)
				}
				if strings.Contains(r, "pseudo:") {
					t.Errorf("%s of a failed run shows examples", name)
				}
			}
			pk := ""
			if tc.signed {
				pk = pub
			}
			if _, err := Verify(context.Background(), VerifyOptions{Out: out, PubKeyFile: pk}); err != nil {
				t.Errorf("verify of a failed run's outputs: %v", err)
			}
		})
	}
}

// TestVerifyRun tampers with a real run's outputs.
func TestVerifyRun(t *testing.T) {
	_, out, pub, _ := auditWithReports(t, nil)
	ctx := context.Background()
	res, err := Verify(ctx, VerifyOptions{Out: out, PubKeyFile: pub})
	if err != nil || !res.SignatureOK || res.Files != 4 {
		t.Fatalf("intact run: %+v, %v", res, err)
	}
	// One byte of every output file.
	for _, name := range []string{"findings/part-00000.parquet", report.HTMLFile, report.MDFile, schema.SummaryFile} {
		p := filepath.Join(out, filepath.FromSlash(name))
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(orig)
		bad[len(bad)/2] ^= 0x20
		os.WriteFile(p, bad, 0o644)
		_, err = Verify(ctx, VerifyOptions{Out: out, PubKeyFile: pub})
		if !errors.Is(err, report.ErrTampered) || !strings.Contains(err.Error(), name) {
			t.Errorf("one byte of %s changed: Verify = %v", name, err)
		}
		os.WriteFile(p, orig, 0o644)
	}
	if _, err := Verify(ctx, VerifyOptions{Out: out, PubKeyFile: pub}); err != nil {
		t.Fatalf("restored outputs: %v", err)
	}
	// A removed file, an added file.
	p := filepath.Join(out, report.MDFile)
	orig, _ := os.ReadFile(p)
	os.Remove(p)
	if _, err := Verify(ctx, VerifyOptions{Out: out}); !errors.Is(err, report.ErrTampered) || !strings.Contains(err.Error(), "report.md: removed") {
		t.Errorf("removed file: %v", err)
	}
	os.WriteFile(p, orig, 0o644)
	extra := filepath.Join(out, schema.FindingsDir, "part-00001.parquet")
	os.WriteFile(extra, []byte("PAR1"), 0o644)
	if _, err := Verify(ctx, VerifyOptions{Out: out}); !errors.Is(err, report.ErrTampered) || !strings.Contains(err.Error(), "part-00001.parquet: added") {
		t.Errorf("added file: %v", err)
	}
	os.Remove(extra)
	// The wrong key.
	_, _, otherPub := keyFiles(t)
	if _, err := Verify(ctx, VerifyOptions{Out: out, PubKeyFile: otherPub}); !errors.Is(err, report.ErrTampered) || !strings.Contains(err.Error(), "bad signature") {
		t.Errorf("wrong public key: %v", err)
	}
	// A key file that is not a key is a usage error, not tampering.
	if _, err := Verify(ctx, VerifyOptions{Out: out, PubKeyFile: filepath.Join(out, schema.SummaryFile)}); !errors.Is(err, ErrUsage) {
		t.Errorf("bad key file: %v", err)
	}
}

// TestReportClean: a clean audit says so prominently, with the evidence of
// coverage, in both reports.
func TestReportClean(t *testing.T) {
	t.Setenv(report.PseudonymKeyEnv, testPseudonymKey)
	res := genLake(t, func(o *lakegen.Options) { o.LeakRate, o.NoEdges = 0, true })
	out := t.TempDir()
	sum, err := Run(context.Background(), runOpts(res, out))
	if err != nil || sum.Status != schema.StatusClean {
		t.Fatalf("run: %s, %v", sum.Status, err)
	}
	n := fmtThousands(sum.Counts.RowsScanned)
	for _, name := range []string{report.HTMLFile, report.MDFile} {
		r := strings.ReplaceAll(readFile(t, filepath.Join(out, name)), "&#43;", "+")
		for _, w := range []string{
			"CLEAN — no row of the corpus falls into any category",
			"the Parquet footers count " + n + " rows; " + n + " rows were judged; " + n + " clean + 0 flagged = " + n,
			"No examples: no row was flagged.",
		} {
			if !strings.Contains(r, w) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
		if strings.Contains(r, "FINDINGS —") || strings.Contains(r, "INCOMPLETE") {
			t.Errorf("%s of a clean run speaks of findings", name)
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(out, report.HTMLFile)), `data-status="clean"`) {
		t.Error("report.html has no clean status banner")
	}
	if _, err := Verify(context.Background(), VerifyOptions{Out: out}); err != nil {
		t.Errorf("verify: %v", err)
	}
}
