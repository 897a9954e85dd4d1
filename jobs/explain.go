package jobs

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/corpus-audit/corpus-audit/config"
	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/scan"
	"github.com/corpus-audit/corpus-audit/schema"
)

// ExplainOptions are the inputs of `corpus-audit explain`. Exactly one way
// of naming the row is given: ContentID, File and Row, or Pseudonym.
type ExplainOptions struct {
	Out       string // the run's output folder
	ContentID string
	File      string // a corpus file as the findings name it (or a path ending so)
	Row       int64  // row_in_file; used with File
	// Pseudonym is a pseudonym from a report ("pseudo:…"); it is mapped
	// back with the pseudonym key (PseudonymKeyFile or
	// $CORPUS_AUDIT_PSEUDONYM_KEY).
	Pseudonym        string
	PseudonymKeyFile string
	S3               lake.S3Options
}

// Explanation is one finding explained: the finding, the row as re-read
// from the corpus now, and how they differ.
type Explanation struct {
	Finding *schema.Finding // nil when the row was not flagged (File/Row only)
	Part    string          // the findings file holding it
	Source  *SourceRow      // nil when the row could not be read
	// SourceErr says why the row could not be read.
	SourceErr string
	// FileChanged: the corpus file's size or ETag differs from the audit's.
	FileChanged string
	// Differences between the finding and the source row; empty when the
	// row still says what the finding says.
	Differences []string
}

// SourceRow is one corpus row as read back from its file.
type SourceRow struct {
	File        string
	RowGroup    int
	RowInFile   int64
	RowGroups   int
	ContentID   *string
	AuthorID    *int64
	Platform    *string
	ContentType *string
	Visibility  *string
	CreatedAt   *int64
}

// ExplainResult is what Explain found.
type ExplainResult struct {
	Summary      *schema.Summary
	Policy       policy.Policy
	Explanations []Explanation
}

// Exit codes of explain.
const (
	ExplainOK       = 0 // found, and every source row matches its finding
	ExplainNotFound = 1 // no finding matches (a File/Row row is shown if it can be read)
	ExplainChanged  = 2 // a source row no longer matches its finding, or could not be read
)

// ExitCode is the exit code for r.
func (r *ExplainResult) ExitCode() int {
	found := false
	for _, e := range r.Explanations {
		if e.Finding == nil {
			continue
		}
		found = true
		if e.Source == nil || len(e.Differences) > 0 {
			return ExplainChanged
		}
	}
	if !found {
		return ExplainNotFound
	}
	return ExplainOK
}

// Explain finds the findings of a run that match o, re-reads each one's row
// from its corpus file (by row group and row number, local or S3) and
// compares it with the finding. Rows are read with the column names of the
// run's config (recorded in summary.json).
func Explain(ctx context.Context, o ExplainOptions) (*ExplainResult, error) {
	ways := 0
	for _, set := range []bool{o.ContentID != "", o.File != "", o.Pseudonym != ""} {
		if set {
			ways++
		}
	}
	if ways != 1 {
		return nil, fmt.Errorf("%w: give one of --content-id, --file with --row, or --pseudonym", ErrUsage)
	}
	if o.File != "" && o.Row < 0 {
		return nil, fmt.Errorf("%w: --file needs --row (0-based row in the file)", ErrUsage)
	}
	var pseudo *report.Pseudonymizer
	if o.Pseudonym != "" {
		p, err := report.LoadPseudonymizer(o.PseudonymKeyFile)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, fmt.Errorf("%w: --pseudonym needs the pseudonym key (--pseudonym-key-file or $%s)", ErrUsage, report.PseudonymKeyEnv)
		}
		pseudo = p
	}
	if o.Out == "" {
		return nil, fmt.Errorf("%w: give the run's output folder", ErrUsage)
	}
	out, err := lake.Open(ctx, o.Out, o.S3)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", o.Out, err)
	}
	defer out.Bucket.Close()
	sum, err := report.ReadSummary(ctx, out.Bucket, out.Join(schema.SummaryFile))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", o.Out, err)
	}
	res := &ExplainResult{Summary: sum, Policy: report.PolicyOf(sum.Policy)}

	match := func(f *schema.Finding) bool {
		switch {
		case o.ContentID != "":
			return f.ContentID != nil && *f.ContentID == o.ContentID
		case o.Pseudonym != "":
			return f.ContentID != nil && pseudo.ContentID(*f.ContentID) == o.Pseudonym ||
				f.AuthorID != nil && pseudo.Account(*f.AuthorID) == o.Pseudonym
		default:
			return f.RowInFile == o.Row && sameFile(f.SourceFile, o.File)
		}
	}
	keys, err := findings.Parts(ctx, out.Bucket, out.Join(schema.FindingsDir))
	if err != nil {
		return nil, err
	}
	var buf []schema.Finding
	for _, key := range keys {
		buf, err = findings.ReadPart(ctx, out.Bucket, key, buf[:0])
		if err != nil {
			return nil, err
		}
		for i := range buf {
			if match(&buf[i]) {
				f := buf[i]
				res.Explanations = append(res.Explanations, Explanation{Finding: &f, Part: out.URI(key)})
			}
		}
	}
	if len(res.Explanations) == 0 && o.File == "" {
		return res, nil
	}

	cols, s3o, err := runColumns(ctx, sum, o.S3)
	if err != nil {
		return nil, err
	}
	if len(res.Explanations) == 0 {
		// --file/--row of a row that was not flagged: show it anyway.
		file := o.File
		for _, in := range sum.Inputs {
			if in.Role == schema.RoleCorpus && sameFile(in.Path, o.File) {
				file = in.Path
			}
		}
		res.Explanations = append(res.Explanations, Explanation{})
		e := &res.Explanations[0]
		e.Source, e.FileChanged, err = readSourceRow(ctx, sum, file, o.Row, cols, s3o)
		if err != nil {
			e.SourceErr = err.Error()
		}
		return res, nil
	}
	for i := range res.Explanations {
		e := &res.Explanations[i]
		f := e.Finding
		e.Source, e.FileChanged, err = readSourceRow(ctx, sum, f.SourceFile, f.RowInFile, cols, s3o)
		if err != nil {
			e.SourceErr = err.Error()
			e.Differences = append(e.Differences, "the source row could not be read: "+err.Error())
			continue
		}
		e.Differences = compareRow(f, e.Source, res.Policy)
	}
	return res, nil
}

// sameFile reports whether a file named by the user is the file a finding
// or input names: the same string, the same cleaned local path, or a path
// the finding's ends with.
func sameFile(have, given string) bool {
	if have == given {
		return true
	}
	if !lake.IsS3(have) && !lake.IsS3(given) {
		a, err1 := filepath.Abs(have)
		b, err2 := filepath.Abs(given)
		if err1 == nil && err2 == nil && a == b {
			return true
		}
	}
	g := strings.TrimPrefix(given, "./")
	return g != "" && strings.HasSuffix(have, "/"+g)
}

// runColumns returns the corpus column names and S3 options the run used,
// from its config file (recorded among its inputs).
func runColumns(ctx context.Context, sum *schema.Summary, s3o lake.S3Options) (scan.Columns, lake.S3Options, error) {
	for _, in := range sum.Inputs {
		if in.Role != schema.RoleConfig {
			continue
		}
		cfg, _, err := loadConfig(ctx, in.Path, s3o)
		if err != nil {
			return scan.Columns{}, s3o, fmt.Errorf("the run's config: %w", err)
		}
		return cfg.ScanColumns(), mergeS3(cfg.S3Options(), s3o), nil
	}
	return config.Config{}.ScanColumns(), s3o, nil
}

// readSourceRow reads one row of a corpus file. changed says how the file
// differs from the one the run audited, if it does.
func readSourceRow(ctx context.Context, sum *schema.Summary, file string, row int64, cols scan.Columns, s3o lake.S3Options) (src *SourceRow, changed string, err error) {
	loc, err := lake.Open(ctx, file, s3o)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	defer loc.Bucket.Close()
	if loc.Key == "" {
		return nil, "", fmt.Errorf("%s: not a file", file)
	}
	a, err := loc.Bucket.Attributes(ctx, loc.Key)
	if err != nil {
		return nil, "", err
	}
	for _, in := range sum.Inputs {
		if in.Role != schema.RoleCorpus || in.Path != file {
			continue
		}
		switch {
		case in.Size != a.Size:
			changed = fmt.Sprintf("the file is %d bytes now, %d when audited", a.Size, in.Size)
		case in.ETag != "" && in.ETag != a.ETag:
			changed = fmt.Sprintf("the file's ETag is %s now, %s when audited (a local file's ETag changes with its modification time)", a.ETag, in.ETag)
		case in.VersionID != "" && in.VersionID != a.VersionID:
			changed = fmt.Sprintf("the object's version is %s now, %s when audited", a.VersionID, in.VersionID)
		}
	}
	uri := loc.URI(loc.Key)
	f, err := scan.Open(lake.NewReaderAt(ctx, loc.Bucket, loc.Key, a), a.Size, uri, cols)
	if err != nil {
		return nil, changed, err
	}
	var b scan.Batch
	i, err := f.ReadRow(row, &b)
	if err != nil {
		return nil, changed, err
	}
	s := &SourceRow{File: file, RowGroup: b.RowGroup, RowInFile: row, RowGroups: f.NumRowGroups()}
	if id := &b.ContentID; id.Valid[i] {
		var v string
		if id.IsInt {
			v = strconv.FormatInt(id.Int[i], 10)
		} else {
			v = string(id.Data[id.Offsets[i]:id.Offsets[i+1]])
		}
		s.ContentID = &v
	}
	if b.AuthorValid[i] {
		v := b.Author[i]
		s.AuthorID = &v
	}
	if b.CreatedValid[i] {
		v := b.Created[i]
		s.CreatedAt = &v
	}
	s.Platform = strAt(&b.Platform, i)
	s.ContentType = strAt(&b.ContentType, i)
	s.Visibility = strAt(&b.Visibility, i)
	return s, changed, nil
}

func showStr(p *string) string {
	if p == nil {
		return "null"
	}
	return strconv.Quote(*p)
}

func showInt(p *int64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatInt(*p, 10)
}

func showTime(p *int64) string {
	if p == nil {
		return "null"
	}
	return time.UnixMicro(*p).UTC().Format(time.RFC3339Nano)
}

func showDate(p *int32) string {
	if p == nil {
		return "null"
	}
	return time.Unix(int64(*p)*86400, 0).UTC().Format(time.DateOnly)
}

// rowCategories are the categories decided by the row alone (and, for
// minor, the birth date recorded in the finding): the ones a re-read row
// can confirm. objected and age_unknown depend on the lookup tables.
var rowCategories = policy.Unauditable | policy.Private | policy.Minor

// judgeSource applies the policy to a source row, with the facts the
// finding recorded.
func judgeSource(s *SourceRow, f *schema.Finding, pol policy.Policy) policy.Set {
	r := policy.Row{
		AuthorValid:  s.AuthorID != nil,
		CreatedValid: s.CreatedAt != nil,
		Type:         pol.ClassifyType(deref(s.ContentType), s.ContentType != nil),
		Public:       pol.IsPublic(deref(s.Visibility), s.Visibility != nil),
	}
	if s.AuthorID != nil {
		r.Author = *s.AuthorID
	}
	if s.CreatedAt != nil {
		r.CreatedAt = *s.CreatedAt
	}
	facts := policy.Facts{BirthKnown: true, AdultFrom: minInt64} // adult unless the finding says otherwise
	if f.BirthDate != nil {
		facts.AdultFrom = policy.AdultFrom(*f.BirthDate, pol.AdultAge)
	}
	return policy.Judge(r, facts) & rowCategories
}

const minInt64 = -1 << 63

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func eqStr(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
func eqInt(a, b *int64) bool  { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// compareRow lists how a re-read row differs from its finding.
func compareRow(f *schema.Finding, s *SourceRow, pol policy.Policy) []string {
	var d []string
	diff := func(col, was, now string) {
		d = append(d, fmt.Sprintf("%s: the finding says %s, the file now holds %s", col, was, now))
	}
	if !eqStr(f.ContentID, s.ContentID) {
		diff("content_id", showStr(f.ContentID), showStr(s.ContentID))
	}
	if !eqInt(f.AuthorID, s.AuthorID) {
		diff("author_id", showInt(f.AuthorID), showInt(s.AuthorID))
	}
	if !eqStr(f.Platform, s.Platform) {
		diff("platform", showStr(f.Platform), showStr(s.Platform))
	}
	if !eqStr(f.ContentType, s.ContentType) {
		diff("content_type", showStr(f.ContentType), showStr(s.ContentType))
	}
	if !eqStr(f.Visibility, s.Visibility) {
		diff("visibility", showStr(f.Visibility), showStr(s.Visibility))
	}
	if !eqInt(f.CreatedAt, s.CreatedAt) {
		diff("created_at", showTime(f.CreatedAt), showTime(s.CreatedAt))
	}
	if int(f.RowGroup) != s.RowGroup {
		diff("row group", strconv.Itoa(int(f.RowGroup)), strconv.Itoa(s.RowGroup))
	}
	var want policy.Set
	for _, c := range f.Categories {
		want |= policy.SetOf(c)
	}
	want &= rowCategories
	if got := judgeSource(s, f, pol); got != want {
		diff("categories decided by the row", catList(want), catList(got))
	}
	return d
}

func catList(s policy.Set) string {
	cs := s.Categories()
	if len(cs) == 0 {
		return "none"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}

// WriteExplanation writes r for the engineer on call: each finding, the
// row as re-read, the evidence and the rules that fired, in plain words.
func WriteExplanation(w io.Writer, r *ExplainResult) error {
	ew := &errWriter{w: w}
	p := func(format string, a ...any) { fmt.Fprintf(ew, format+"\n", a...) }
	sum, pol := r.Summary, r.Policy
	p("Run: snapshot %s (instant %s), status %s, policy %s %s (hash %.12s…)", sum.Snapshot, sum.SnapshotAt.UTC().Format(time.RFC3339), sum.Status, sum.Policy.Name, sum.Policy.Version, sum.Policy.Hash)
	if len(r.Explanations) == 0 {
		p("\nNo finding matches: this run did not flag such a row.")
		return ew.err
	}
	for n, e := range r.Explanations {
		f := e.Finding
		p("")
		if f == nil {
			p("No finding: this run did not flag this row (it was judged clean, or it is not a row of this run's corpus).")
		} else {
			p("Finding %d of %d (in %s)", n+1, len(r.Explanations), e.Part)
			p("  categories     %s", joinCats(f.Categories))
			p("  content_id     %s", showStr(f.ContentID))
			p("  author_id      %s", showInt(f.AuthorID))
			p("  platform       %s", showStr(f.Platform))
			p("  content_type   %s", showStr(f.ContentType))
			p("  visibility     %s", showStr(f.Visibility))
			p("  created_at     %s", showTime(f.CreatedAt))
			p("  location       %s, row group %d, row %d", f.SourceFile, f.RowGroup, f.RowInFile)
		}
		p("")
		switch {
		case e.Source == nil:
			p("Source row: could not be read: %s", e.SourceErr)
		default:
			s := e.Source
			state := "matches the finding"
			if f == nil {
				state = "not flagged in this run"
			} else if len(e.Differences) > 0 {
				state = "DOES NOT MATCH the finding: the corpus changed since the audit"
			}
			p("Source row, re-read now from %s (row group %d of %d, row %d): %s", s.File, s.RowGroup, s.RowGroups, s.RowInFile, state)
			p("  content_id     %s", showStr(s.ContentID))
			p("  author_id      %s", showInt(s.AuthorID))
			p("  platform       %s", showStr(s.Platform))
			p("  content_type   %s → %s", showStr(s.ContentType), typeWords(s.ContentType, pol))
			p("  visibility     %s → %s", showStr(s.Visibility), visWords(s.Visibility, pol))
			p("  created_at     %s", showTime(s.CreatedAt))
		}
		if e.FileChanged != "" {
			p("  note: %s", e.FileChanged)
		}
		for _, d := range e.Differences {
			p("  DIFFERENCE: %s", d)
		}
		if f == nil {
			continue
		}
		p("")
		p("Evidence")
		if f.BirthDate != nil {
			adult := time.UnixMicro(policy.AdultFrom(*f.BirthDate, pol.AdultAge)).UTC()
			age := ""
			if f.CreatedAt != nil {
				birth := time.Unix(int64(*f.BirthDate)*86400, 0).UTC()
				age = fmt.Sprintf(", aged %d at creation", report.AgeAt(birth, time.UnixMicro(*f.CreatedAt).UTC()))
			}
			p("  birth date     %s%s; adult (%d) from %s", showDate(f.BirthDate), age, pol.AdultAge, adult.Format(time.RFC3339))
		}
		if f.ObjectionAccountID != nil {
			via := "the author's own objection"
			if f.AuthorID == nil || *f.ObjectionAccountID != *f.AuthorID {
				via = "a linked account's objection"
				if f.AccountsCenterID != nil {
					via += fmt.Sprintf(", linked through accounts centre %d", *f.AccountsCenterID)
				}
			}
			p("  objection      account %d (%s), objected at %s; in effect at the snapshot instant %s (grace %s)",
				*f.ObjectionAccountID, via, showTime(f.ObjectedAt), sum.SnapshotAt.UTC().Format(time.RFC3339), pol.ObjectionGrace)
		}
		if f.BirthDate == nil && f.ObjectionAccountID == nil {
			p("  (no lookup-table evidence recorded: the categories follow from the row itself or from the author's absence from the ages table)")
		}
		p("")
		p("Why")
		for _, c := range f.Categories {
			p("  %-12s %s", c+":", report.Evidence(f, c, pol, nil)+ruleWords(c, pol))
		}
	}
	return ew.err
}

func typeWords(ct *string, pol policy.Policy) string {
	if ct == nil {
		return "no content type: always private"
	}
	n := strconv.Quote(policy.Normalize(*ct))
	switch pol.ClassifyType(*ct, true) {
	case policy.TypeExempt:
		return n + ": an AI-assistant interaction, exempt from the privacy and age rules"
	case policy.TypePublicable:
		return n + ": may be used when its visibility is public"
	}
	return n + ": not a public content type: always private"
}

func visWords(v *string, pol policy.Policy) string {
	if v == nil {
		return "no visibility: private"
	}
	n := strconv.Quote(policy.Normalize(*v))
	if pol.IsPublic(*v, true) {
		return n + ": public"
	}
	return n + ": not public (only " + strconv.Quote(policy.Normalize(pol.PublicVisibility)) + " is)"
}

func ruleWords(c schema.Category, pol policy.Policy) string {
	switch c {
	case schema.Minor:
		return fmt.Sprintf(" — content of anyone under %d must not be used", pol.AdultAge)
	case schema.Private:
		return " — only public content types with visibility " + strconv.Quote(policy.Normalize(pol.PublicVisibility)) + " may be used"
	case schema.Objected:
		return " — content of an account whose group objected must not be used"
	case schema.AgeUnknown:
		return " — without a birth date the minors rule cannot be decided"
	case schema.Unauditable:
		return " — nothing about the row can be vouched for"
	}
	return ""
}
