package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/corpus-audit/corpus-audit/schema"
)

// Data is what the human-readable reports are rendered from: a run's
// summary and a few pseudonymised examples of its findings.
type Data struct {
	Summary *schema.Summary
	// Pseudonyms is true when a pseudonym key was given. Without one the
	// reports show no examples at all, and say so.
	Pseudonyms bool
	// Examples are a few findings per category, pseudonymised (see
	// CollectExamples), in findings order within a category.
	Examples []Example
}

// Example is one finding as a report shows it: no raw identifier, only
// keyed pseudonyms, and the evidence in words.
type Example struct {
	Category    schema.Category
	Content     string // pseudonym of the content_id, or "(no content_id)"
	Author      string // pseudonym of the author, or "(unknown author)"
	Platform    string
	ContentType string
	Visibility  string
	Created     string // the day created_at falls on, UTC, or "unknown"
	Evidence    string
}

// RunMetadataBegin and RunMetadataEnd enclose, in report.html and
// report.md, the one part of a report that differs between two runs over
// the same inputs and policy: the run's own metadata (tool, host, times).
// Everything outside them is reproducible byte for byte.
const (
	RunMetadataBegin = "<!-- run-metadata:begin (differs between runs) -->"
	RunMetadataEnd   = "<!-- run-metadata:end -->"
)

// StripRunMetadata removes the run-metadata block from a rendered report,
// leaving what must be identical between two runs over the same inputs.
func StripRunMetadata(report []byte) []byte {
	s := string(report)
	i := strings.Index(s, RunMetadataBegin)
	j := strings.Index(s, RunMetadataEnd)
	if i < 0 || j < i {
		return report
	}
	return []byte(s[:i] + s[j+len(RunMetadataEnd):])
}

// MaxGroupRows is the most platform × content type lines the results
// table shows; content types are free text in the corpus, and a table of
// thousands of lines helps no reader. summary.json keeps them all.
const MaxGroupRows = 200

// categoryInfo is how the reports name a category.
type categoryInfo struct {
	Label string
	Color string // Okabe–Ito palette: distinguishable with colour-blindness
}

var categoryInfos = map[schema.Category]categoryInfo{
	schema.Minor:       {"Minors' content", "#D55E00"},
	schema.Private:     {"Private content", "#009E73"},
	schema.Objected:    {"Objected users' content", "#0072B2"},
	schema.AgeUnknown:  {"Author's age unknown", "#E69F00"},
	schema.Unauditable: {"Unauditable rows", "#CC79A7"},
}

// reportCategories is the order categories are shown in: the three the
// law is about first, then the two that say the audit could not vouch.
var reportCategories = []schema.Category{schema.Minor, schema.Private, schema.Objected, schema.AgeUnknown, schema.Unauditable}

// settings is a policy's settings as decoded from JSON: the same whether
// the summary was built in memory or read from summary.json.
type settings map[string]any

func newSettings(ref schema.PolicyRef) settings {
	b, err := json.Marshal(ref.Settings)
	if err != nil {
		return settings{}
	}
	var s settings
	if json.Unmarshal(b, &s) != nil || s == nil {
		return settings{}
	}
	return s
}

func (s settings) str(k, def string) string {
	if v, ok := s[k].(string); ok && v != "" {
		return v
	}
	return def
}

func (s settings) list(k string) []string {
	var out []string
	if l, ok := s[k].([]any); ok {
		for _, v := range l {
			if t, ok := v.(string); ok {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (s settings) int(k string, def int) int {
	if v, ok := s[k].(float64); ok && v == math.Trunc(v) {
		return int(v)
	}
	return def
}

// The view is the report's content, computed once and rendered twice
// (HTML and Markdown), so that both say exactly the same.
type view struct {
	Title      string
	Status     string // clean, findings, incomplete
	Headline   string
	StatusText []string
	Clean      bool
	Incomplete bool
	Error      string

	Snapshot   string
	SnapshotAt string
	Policy     policyView
	Method     []para

	KeyFigures  []figure
	Judged      string // rows judged
	Flagged     string // rows flagged
	FlaggedN    int64
	FlaggedRate string
	Inputs      []inputRow
	InputsNote  string

	Categories  []catRow
	MaxCategory int64
	CatHeads    []catHead
	Groups      []groupRow
	GroupTotal  groupRow
	Platforms   []groupRow
	Months      []groupRow
	RatesNote   string
	// GroupsOmitted says how many groups beyond MaxGroupRows are left out.
	GroupsOmitted string

	ChartCategory template.HTML
	ChartMonth    template.HTML
	ChartPlatform template.HTML

	Coverage      []covRow
	CoverageTotal covRow
	Reconciled    bool
	Reconcile     []string
	Outputs       []outRow

	Pseudonyms   bool
	ExampleNote  string
	ExampleGroup []exampleGroup

	Limitations []string
	Run         runView
}

type para struct{ Title, Text string }

type figure struct{ ID, Label, Value, Note string }

type policyView struct {
	Name, Version, Hash string
	Rules               []para
	Settings            []para // name → value, sorted by name
}

type inputRow struct {
	Role, Path, Size, Rows, Checksum string
}

type catHead struct {
	Category schema.Category
	Label    string
}

type catRow struct {
	Category schema.Category
	Label    string
	Meaning  string
	Rows     string
	N        int64
	Rate     string
	Color    string
}

type cell struct {
	Category schema.Category
	N        int64
	Rows     string
	Rate     string
}

type groupRow struct {
	Platform, ContentType, Label string
	Cells                        []cell
	Sum                          string // sum over categories
}

type covRow struct {
	Path                                             string
	RowGroups, Footer, Judged, Clean, Flagged, Check string
	OK                                               bool
}

type outRow struct{ Path, Rows string }

type exampleGroup struct {
	Category schema.Category
	Label    string
	Items    []Example
}

type runView struct {
	Tool, Version, Go, Host, Started, Finished, Duration, Status, ExitCode, Error string
}

// fmtInt groups thousands with commas: 1234567 → "1,234,567".
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtRate renders n/d as a percentage: two decimals, "<0.01%" for a
// non-zero rate that would round to zero, "–" when d is zero.
func fmtRate(n, d int64) string {
	if d <= 0 {
		return "–"
	}
	if n == 0 {
		return "0%"
	}
	p := float64(n) * 100 / float64(d)
	if p < 0.005 {
		return "<0.01%"
	}
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

// fmtBytes renders a size as "12.3 MiB (12,345,678 bytes)".
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmtInt(n) + " bytes"
	}
	f, u := float64(n), ""
	for _, x := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		f /= unit
		u = x
		if f < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s (%s bytes)", f, u, fmtInt(n))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func monthLabel(m string) string {
	if m == "" {
		return "unknown (no created_at)"
	}
	return m
}

func platformLabel(p string) string {
	if p == "" {
		return "(no platform)"
	}
	return p
}

func typeLabel(t string) string {
	if t == "" {
		return "(no content type)"
	}
	return t
}

func quoteList(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = "“" + s + "”"
	}
	return strings.Join(q, ", ")
}

// buildView computes a report's content from its data. It reads nothing
// but d and is deterministic: maps are walked in sorted order.
func buildView(d Data) *view {
	s := d.Summary
	if s == nil {
		s = &schema.Summary{Status: schema.StatusIncomplete, Error: "no summary"}
	}
	c := s.Counts
	v := &view{
		Status:     string(s.Status),
		Snapshot:   s.Snapshot,
		SnapshotAt: fmtTime(s.SnapshotAt),
		Error:      s.Error,
		Pseudonyms: d.Pseudonyms,
	}
	if v.Snapshot == "" {
		v.Snapshot = "unknown"
	}
	v.Title = "Corpus audit report — snapshot " + v.Snapshot

	set := newSettings(s.Policy)
	adultAge := set.int("adult_age", 18)
	publicVis := set.str("public_visibility", "public")
	publicTypes := set.list("public_types")
	exempt := set.list("exempt_types")
	grace := set.str("objection_grace", "0s")

	// Status.
	switch s.Status {
	case schema.StatusClean:
		v.Clean = true
		v.Headline = "CLEAN — no row of the corpus falls into any category"
		v.StatusText = []string{
			fmt.Sprintf("All %s rows of the %d corpus files were read and judged against the policy; none is a minor's, private, or objected user's content, and every author's age was known.", fmtInt(c.RowsScanned), c.FilesScanned),
			fmt.Sprintf("Evidence of coverage: the Parquet footers count %s rows; %s rows were judged; %s clean + %s flagged = %s (see Coverage).", fmtInt(c.RowsInFiles), fmtInt(c.RowsScanned), fmtInt(c.RowsClean), fmtInt(c.RowsFlagged), fmtInt(c.RowsClean+c.RowsFlagged)),
		}
	case schema.StatusFindings:
		v.Headline = fmt.Sprintf("FINDINGS — %s of %s rows (%s) must not be in the training corpus", fmtInt(c.RowsFlagged), fmtInt(c.RowsScanned), fmtRate(c.RowsFlagged, c.RowsScanned))
		var parts []string
		for _, cat := range reportCategories {
			if n := c.ByCategory[cat]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s: %s", strings.ToLower(categoryInfos[cat].Label), fmtInt(n)))
			}
		}
		v.StatusText = []string{
			fmt.Sprintf("Every one of the %s rows of the %d corpus files was read and judged. %s rows were flagged (%s); a row may fall into several categories.", fmtInt(c.RowsScanned), c.FilesScanned, fmtInt(c.RowsFlagged), strings.Join(parts, "; ")),
			fmt.Sprintf("Evidence of coverage: the Parquet footers count %s rows; %s rows were judged; %s clean + %s flagged = %s (see Coverage).", fmtInt(c.RowsInFiles), fmtInt(c.RowsScanned), fmtInt(c.RowsClean), fmtInt(c.RowsFlagged), fmtInt(c.RowsClean+c.RowsFlagged)),
		}
	default:
		v.Incomplete = true
		v.Status = string(schema.StatusIncomplete)
		v.Headline = "INCOMPLETE — this audit did not finish; nothing may be concluded from it"
		v.StatusText = []string{
			"The audit stopped before every row was read and judged. It is neither a clean result nor a complete list of findings; any counts below are partial and are shown only to help find the cause.",
		}
		if s.Error != "" {
			v.StatusText = append(v.StatusText, "Reason: "+s.Error)
		}
	}

	// What was audited.
	v.KeyFigures = []figure{
		{"fig-files", "Corpus files", fmtInt(int64(c.FilesScanned)), ""},
		{"fig-rows-in-files", "Rows in the files (Parquet footers)", fmtInt(c.RowsInFiles), ""},
		{"fig-rows-scanned", "Rows read and judged", fmtInt(c.RowsScanned), ""},
		{"fig-rows-clean", "Clean rows", fmtInt(c.RowsClean), ""},
		{"fig-rows-flagged", "Flagged rows", fmtInt(c.RowsFlagged), fmtRate(c.RowsFlagged, c.RowsScanned) + " of rows judged"},
	}
	v.Judged, v.Flagged, v.FlaggedN, v.FlaggedRate = fmtInt(c.RowsScanned), fmtInt(c.RowsFlagged), c.RowsFlagged, fmtRate(c.RowsFlagged, c.RowsScanned)
	noHash := false
	for _, in := range s.Inputs {
		ck := ""
		switch {
		case in.SHA256 != "":
			ck = "SHA-256 " + in.SHA256
		case in.ETag != "":
			ck = "ETag " + in.ETag
			if in.Role == schema.RoleCorpus {
				noHash = true
			}
		}
		if in.SHA256 != "" && in.ETag != "" && strings.HasPrefix(in.Path, "s3://") {
			ck += "; ETag " + in.ETag
		}
		if in.VersionID != "" {
			ck += "; version " + in.VersionID
		}
		if ck == "" {
			ck = "none recorded"
		}
		v.Inputs = append(v.Inputs, inputRow{Role: in.Role, Path: in.Path, Size: fmtBytes(in.Size), Rows: fmtInt(in.Rows), Checksum: ck})
	}
	if len(s.Inputs) == 0 {
		v.InputsNote = "No inputs were recorded: the audit stopped before it had read them."
	}

	// Policy in plain language.
	v.Policy = policyView{Name: s.Policy.Name, Version: s.Policy.Version, Hash: s.Policy.Hash}
	if v.Policy.Name == "" {
		v.Policy.Name, v.Policy.Version, v.Policy.Hash = "unknown (the audit stopped before the policy was loaded)", "–", "–"
	}
	v.Policy.Rules = []para{
		{"Minors' content (minor)", fmt.Sprintf("Content created before 00:00 UTC on the author's %s birthday. Someone born on 29 February reaches that birthday on 1 March in a common year. When the ages table holds several birth dates for one account, the most recent one (the youngest age) counts. Does not apply to content types %s (interactions with the platform's AI assistant).", ordinal(adultAge), quoteList(exempt))},
		{"Private content (private)", fmt.Sprintf("Content is private unless its content type is one of %s and its visibility is exactly %s. Everything else is private: messages, any other visibility, unknown or missing content types, and missing visibility. Does not apply to content types %s.", quoteList(publicTypes), quoteList([]string{publicVis}), quoteList(exempt))},
		{"Objected users' content (objected)", fmt.Sprintf("Content whose author, or any account linked to the author through a shared Accounts Centre (directly or through a chain of such links), has an objection in effect at the snapshot instant: made at least %s before it and not withdrawn by then. Applies to every content type.", graceWords(grace))},
		{"Author's age unknown (age_unknown)", fmt.Sprintf("The author is known but the ages table holds no birth date for them, so the minors rule cannot be decided. Does not apply to content types %s.", quoteList(exempt))},
		{"Unauditable rows (unauditable)", "The row has no author (author_id is null) or no creation time (created_at is null): nothing about it can be vouched for."},
	}
	var keys []string
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, _ := json.Marshal(set[k])
		v.Policy.Settings = append(v.Policy.Settings, para{k, string(b)})
	}

	// Method.
	v.Method = []para{
		{"Every row, every file", "Every *.parquet file under the snapshot folder is read (names starting with “_” or “.” are skipped, as Spark and Hadoop write them), and every row of every row group is judged. The folder must carry Spark's _SUCCESS marker, which says the export finished."},
		{"Normalisation", "Content type and visibility are compared after trimming white space and lower-casing, so “ Public ” counts as “public”. Values are shown in findings as found."},
		{"What counts as public", fmt.Sprintf("Only the content types %s, and only with visibility exactly %s. This is an allow-list: anything not on it is treated as private.", quoteList(publicTypes), quoteList([]string{publicVis}))},
		{"How age is judged", fmt.Sprintf("The author's birth date comes from the ages table; the author is an adult from 00:00 UTC on their %s birthday. A row is a minor's content when created_at (read as UTC) is before that instant.", ordinal(adultAge))},
		{"How objections are judged", fmt.Sprintf("The snapshot instant is %s. An objection counts when objected_at plus the grace period (%s) is at or before the snapshot instant, and it was not withdrawn at or before that instant. Accounts listed in a shared Accounts Centre form one group; an account in two centres joins them. An objection by any account of the author's group covers the author's content.", v.SnapshotAt, grace)},
		{"Several categories", "A row gets every category that applies; it is counted once in “flagged rows” and once in each of its categories."},
		{"Failing closed", "Anything that cannot be read — a missing or malformed file, a column of the wrong type, a null where a table forbids it, a file that changed during the audit — stops the audit, which is then reported as incomplete, never as clean."},
	}

	// Results.
	for _, cat := range reportCategories {
		v.CatHeads = append(v.CatHeads, catHead{cat, categoryInfos[cat].Label})
		n := c.ByCategory[cat]
		v.Categories = append(v.Categories, catRow{
			Category: cat, Label: categoryInfos[cat].Label, Rows: fmtInt(n), N: n,
			Rate: fmtRate(n, c.RowsScanned), Color: categoryInfos[cat].Color,
			Meaning: categoryMeaning(cat, adultAge),
		})
	}
	for _, r := range v.Categories {
		v.MaxCategory = max(v.MaxCategory, r.N)
	}
	mkCells := func(m func(schema.Category) int64) ([]cell, string) {
		var cells []cell
		var sum int64
		for _, cat := range reportCategories {
			n := m(cat)
			sum += n
			cells = append(cells, cell{Category: cat, N: n, Rows: fmtInt(n), Rate: fmtRate(n, c.RowsScanned)})
		}
		return cells, fmtInt(sum)
	}
	type pt struct{ p, t string }
	groups := map[pt]map[schema.Category]int64{}
	var order []pt
	for _, g := range c.ByGroup {
		k := pt{g.Platform, g.ContentType}
		if groups[k] == nil {
			groups[k] = map[schema.Category]int64{}
			order = append(order, k)
		}
		groups[k][g.Category] += g.Rows
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].p != order[j].p {
			return order[i].p < order[j].p
		}
		return order[i].t < order[j].t
	})
	if len(order) > MaxGroupRows {
		v.GroupsOmitted = fmt.Sprintf("… and %s more platform × content type combinations with findings, not shown here: summary.json lists them all (counts.by_group), and the total line below counts them.", fmtInt(int64(len(order)-MaxGroupRows)))
		order = order[:MaxGroupRows]
	}
	for _, k := range order {
		cells, sum := mkCells(func(cat schema.Category) int64 { return groups[k][cat] })
		v.Groups = append(v.Groups, groupRow{Platform: platformLabel(k.p), ContentType: typeLabel(k.t), Cells: cells, Sum: sum})
	}
	v.GroupTotal.Cells, v.GroupTotal.Sum = mkCells(func(cat schema.Category) int64 { return c.ByCategory[cat] })
	v.GroupTotal.Label = "All platforms and content types"
	for _, p := range sortedKeys(c.ByPlatform) {
		cells, sum := mkCells(func(cat schema.Category) int64 { return c.ByPlatform[p][cat] })
		v.Platforms = append(v.Platforms, groupRow{Platform: platformLabel(p), Label: platformLabel(p), Cells: cells, Sum: sum})
	}
	months := sortedKeys(c.ByMonth)
	if len(months) > 0 && months[0] == "" { // unknown month last
		months = append(months[1:], "")
	}
	for _, m := range months {
		cells, sum := mkCells(func(cat schema.Category) int64 { return c.ByMonth[m][cat] })
		v.Months = append(v.Months, groupRow{Label: monthLabel(m), Cells: cells, Sum: sum})
	}
	v.RatesNote = fmt.Sprintf("Rates are rows in the cell divided by all %s rows judged (the whole snapshot): the audit does not count the rows of each platform or content type that were not flagged. A row in two categories is counted in both, so the categories of a line may add up to more than its flagged rows.", fmtInt(c.RowsScanned))

	v.ChartCategory = categoryChart(v.Categories, c.RowsScanned)
	v.ChartMonth = stackedColumns("chart-month-svg", "Findings by month of creation",
		"Rows flagged per month of created_at (UTC), stacked by category; a row in two categories is counted in both. The same numbers are in the table below the chart.", v.Months)
	v.ChartPlatform = stackedBars("chart-platform-svg", "Findings by platform",
		"Rows flagged per platform, stacked by category; a row in two categories is counted in both. The same numbers are in the table below the chart.", v.Platforms)

	// Coverage.
	var tot covRow
	var tf, tj, tc, tl, trg int64
	v.Reconciled = !v.Incomplete
	for _, f := range c.Files {
		clean := f.RowsJudged - f.RowsFlagged
		ok := f.RowsInFooter == f.RowsJudged && clean >= 0
		if !ok {
			v.Reconciled = false
		}
		check := "✓ reconciled"
		if !ok {
			check = "✗ NOT reconciled"
		}
		v.Coverage = append(v.Coverage, covRow{Path: f.Path, RowGroups: fmtInt(int64(f.RowGroups)), Footer: fmtInt(f.RowsInFooter),
			Judged: fmtInt(f.RowsJudged), Clean: fmtInt(clean), Flagged: fmtInt(f.RowsFlagged), Check: check, OK: ok})
		trg += int64(f.RowGroups)
		tf += f.RowsInFooter
		tj += f.RowsJudged
		tc += clean
		tl += f.RowsFlagged
	}
	totOK := tf == c.RowsInFiles && tj == c.RowsScanned && tc+tl == tj && tl == c.RowsFlagged
	if !totOK {
		v.Reconciled = false
	}
	tot = covRow{Path: fmt.Sprintf("All %d files", len(c.Files)), RowGroups: fmtInt(trg), Footer: fmtInt(tf), Judged: fmtInt(tj), Clean: fmtInt(tc), Flagged: fmtInt(tl), OK: totOK && v.Reconciled}
	tot.Check = "✓ reconciled"
	if !tot.OK {
		tot.Check = "✗ NOT reconciled"
	}
	v.CoverageTotal = tot
	var written int64
	for _, o := range s.Outputs {
		written += o.Rows
		v.Outputs = append(v.Outputs, outRow{o.Path, fmtInt(o.Rows)})
	}
	if v.Reconciled {
		v.Reconcile = []string{
			fmt.Sprintf("Rows counted in the Parquet footers (%s) = rows read and judged (%s) = clean rows (%s) + flagged rows (%s), for every file and in total.", fmtInt(c.RowsInFiles), fmtInt(c.RowsScanned), fmtInt(c.RowsClean), fmtInt(c.RowsFlagged)),
			fmt.Sprintf("Flagged rows (%s) = rows written to the findings files (%s).", fmtInt(c.RowsFlagged), fmtInt(written)),
		}
	} else {
		v.Reconcile = []string{"Coverage does NOT reconcile: not every row counted in the Parquet footers was judged. This audit proves nothing about the rows it did not judge."}
	}

	// Examples.
	switch {
	case !d.Pseudonyms:
		v.ExampleNote = "No examples are shown: no pseudonym key was given (--pseudonym-key-file or " + PseudonymKeyEnv + "), and this report never shows raw account or content identifiers. The findings files hold every flagged row for authorised staff."
	case v.Incomplete:
		v.ExampleNote = "No examples are shown: the audit is incomplete and its findings were discarded."
	case len(d.Examples) == 0:
		v.ExampleNote = "No examples: no row was flagged."
	default:
		v.ExampleNote = "A few flagged rows per category, the first in corpus order. Account and content identifiers are replaced by keyed pseudonyms (HMAC-SHA-256); only a holder of the key can map them back to the rows, as the README describes."
		by := map[schema.Category][]Example{}
		for _, e := range d.Examples {
			by[e.Category] = append(by[e.Category], e)
		}
		for _, cat := range reportCategories {
			if len(by[cat]) > 0 {
				v.ExampleGroup = append(v.ExampleGroup, exampleGroup{cat, categoryInfos[cat].Label, by[cat]})
			}
		}
	}

	// Limitations.
	v.Limitations = []string{
		"The audit checks the corpus snapshot named above, as it was when read. It says nothing about other snapshots, or about which rows a training run actually used.",
		"The result is only as good as the ages, objections and links tables it was given: an account missing from the ages table is reported as “age unknown”, but a wrong birth date or a missing link cannot be detected.",
		"Rows are identified by the corpus columns as found; two rows with the same content_id are judged and reported separately.",
		"Rates use all rows judged as the denominator; rows per platform and content type that were not flagged are not counted.",
		"Months are those of created_at in UTC.",
	}
	if noHash {
		v.Limitations = append(v.Limitations, "Some corpus files were not hashed (--no-hash or S3): they are identified by size and ETag (local files: size and modification time) only.")
	}
	if !d.Pseudonyms {
		v.Limitations = append(v.Limitations, "No pseudonym key was given, so the report holds no examples.")
	}

	// Run metadata.
	r := s.Run
	v.Run = runView{
		Tool: r.Tool.Name, Version: r.Tool.Version, Go: r.Tool.Go, Host: r.Host,
		Started: fmtTime(r.Started), Finished: fmtTime(r.Finished),
		Status: v.Status, ExitCode: strconv.Itoa(s.Status.ExitCode()), Error: s.Error,
	}
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		v.Run.Duration = r.Finished.Sub(r.Started).Round(time.Millisecond).String()
	}
	return v
}

func categoryMeaning(cat schema.Category, adultAge int) string {
	switch cat {
	case schema.Minor:
		return fmt.Sprintf("created before the author's %s birthday", ordinal(adultAge))
	case schema.Private:
		return "not a public content type with public visibility"
	case schema.Objected:
		return "the author or a linked account objected"
	case schema.AgeUnknown:
		return "no birth date on record for the author"
	case schema.Unauditable:
		return "no author or no creation time"
	}
	return ""
}

func graceWords(g string) string {
	if d, err := time.ParseDuration(g); err == nil && d == 0 {
		return "0s (no grace period: an objection counts from the instant it was made)"
	}
	return g + " (the grace period)"
}

func ordinal(n int) string {
	suf := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suf = "st"
	case n%10 == 2:
		suf = "nd"
	case n%10 == 3:
		suf = "rd"
	}
	return strconv.Itoa(n) + suf
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
