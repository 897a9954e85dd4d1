package report

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/schema"
)

// DefaultExamples is how many examples per category the reports show.
const DefaultExamples = 3

// CollectExamples reads the findings of the run in out, in order, and
// returns the first perCategory findings of each category as examples,
// pseudonymised with p. It returns nothing when p is nil: without a key
// the reports show no examples. It stops reading once every category has
// its examples.
func CollectExamples(ctx context.Context, out lake.Location, sum *schema.Summary, p *Pseudonymizer, perCategory int) ([]Example, error) {
	if !p.Enabled() || perCategory <= 0 {
		return nil, nil
	}
	keys, err := findings.Parts(ctx, out.Bucket, out.Join(schema.FindingsDir))
	if err != nil {
		return nil, err
	}
	set := newSettings(sum.Policy)
	pol := policyFromSettings(set)
	got := map[schema.Category]int{}
	// Examples of one category come from different authors where they can.
	authors := map[schema.Category]map[int64]bool{}
	var ex []Example
	full := func() bool {
		for _, c := range schema.Categories {
			if got[c] < perCategory {
				return false
			}
		}
		return true
	}
	var buf []schema.Finding
	for _, key := range keys {
		if full() {
			break
		}
		buf, err = findings.ReadPart(ctx, out.Bucket, key, buf[:0])
		if err != nil {
			return nil, err
		}
		for i := range buf {
			f := &buf[i]
			for _, c := range f.Categories {
				if got[c] >= perCategory {
					continue
				}
				if f.AuthorID != nil {
					if authors[c][*f.AuthorID] {
						continue
					}
					if authors[c] == nil {
						authors[c] = map[int64]bool{}
					}
					authors[c][*f.AuthorID] = true
				}
				got[c]++
				ex = append(ex, example(f, c, p, pol))
			}
		}
	}
	// Group by category in report order, findings order within a category.
	slices.SortStableFunc(ex, func(a, b Example) int {
		return slices.Index(reportCategories, a.Category) - slices.Index(reportCategories, b.Category)
	})
	return ex, nil
}

// PolicyOf rebuilds the rules a run applied from the settings recorded in
// its summary (as built in memory or read back from summary.json), for
// describing evidence; settings that are missing keep their defaults.
func PolicyOf(ref schema.PolicyRef) policy.Policy { return policyFromSettings(newSettings(ref)) }

func policyFromSettings(s settings) policy.Policy {
	p := policy.Default()
	p.Name = s.str("name", p.Name)
	p.Version = s.str("version", p.Version)
	if l := s.list("public_types"); l != nil {
		p.PublicTypes = l
	}
	if _, ok := s["exempt_types"]; ok {
		p.ExemptTypes = s.list("exempt_types")
	}
	p.PublicVisibility = s.str("public_visibility", p.PublicVisibility)
	p.AdultAge = s.int("adult_age", p.AdultAge)
	if d, err := time.ParseDuration(s.str("objection_grace", "0s")); err == nil {
		p.ObjectionGrace = d
	}
	return p
}

func orNull(v *string) string {
	if v == nil {
		return "(null)"
	}
	return *v
}

func example(f *schema.Finding, c schema.Category, p *Pseudonymizer, pol policy.Policy) Example {
	e := Example{
		Category: c, Content: "(no content_id)", Author: "(unknown author)",
		Platform: orNull(f.Platform), ContentType: orNull(f.ContentType), Visibility: orNull(f.Visibility),
		Created: "unknown",
	}
	if f.ContentID != nil {
		e.Content = p.ContentID(*f.ContentID)
	}
	if f.AuthorID != nil {
		e.Author = p.Account(*f.AuthorID)
	}
	if f.CreatedAt != nil {
		e.Created = time.UnixMicro(*f.CreatedAt).UTC().Format(time.DateOnly)
	}
	e.Evidence = Evidence(f, c, pol, p)
	return e
}

// Evidence says in words why a finding has category c. With a
// Pseudonymizer, accounts are named by their pseudonyms and no birth date
// is shown (only the age); with nil, by their ids, with the birth date.
func Evidence(f *schema.Finding, c schema.Category, pol policy.Policy, p *Pseudonymizer) string {
	account := func(id int64) string {
		if p != nil {
			return "account " + p.Account(id)
		}
		return fmt.Sprintf("account %d", id)
	}
	centre := func(id int64) string {
		if p != nil {
			return "accounts centre " + p.AccountsCenter(id)
		}
		return fmt.Sprintf("accounts centre %d", id)
	}
	switch c {
	case schema.Minor:
		if f.BirthDate == nil || f.CreatedAt == nil {
			return "created before the author's " + ordinal(pol.AdultAge) + " birthday"
		}
		birth := time.Unix(int64(*f.BirthDate)*86400, 0).UTC()
		created := time.UnixMicro(*f.CreatedAt).UTC()
		adult := time.UnixMicro(policy.AdultFrom(*f.BirthDate, pol.AdultAge)).UTC()
		s := fmt.Sprintf("the author was %d at creation (adult from %s)", AgeAt(birth, created), adult.Format(time.DateOnly))
		if p == nil {
			s = fmt.Sprintf("born %s: %s", birth.Format(time.DateOnly), s)
		}
		return s
	case schema.Objected:
		when := ""
		if f.ObjectedAt != nil {
			when = " on " + time.UnixMicro(*f.ObjectedAt).UTC().Format(time.DateOnly)
		}
		switch {
		case f.ObjectionAccountID == nil:
			return "an account of the author's group objected" + when
		case f.AuthorID != nil && *f.ObjectionAccountID == *f.AuthorID:
			return "the author objected" + when
		default:
			s := "linked " + account(*f.ObjectionAccountID) + " objected" + when
			if f.AccountsCenterID != nil {
				s += ", linked to the author through " + centre(*f.AccountsCenterID)
			}
			return s
		}
	case schema.Private:
		var why []string
		ct := pol.ClassifyType(deref(f.ContentType), f.ContentType != nil)
		switch {
		case f.ContentType == nil:
			why = append(why, "no content type")
		case ct != policy.TypePublicable:
			why = append(why, fmt.Sprintf("content type “%s” is never public", policy.Normalize(*f.ContentType)))
		}
		switch {
		case f.Visibility == nil:
			why = append(why, "no visibility")
		case !pol.IsPublic(*f.Visibility, true):
			why = append(why, fmt.Sprintf("visibility “%s” is not “%s”", policy.Normalize(*f.Visibility), policy.Normalize(pol.PublicVisibility)))
		}
		if len(why) == 0 {
			return "not public"
		}
		return strings.Join(why, "; ")
	case schema.AgeUnknown:
		return "no birth date on record for the author"
	case schema.Unauditable:
		var why []string
		if f.AuthorID == nil {
			why = append(why, "no author_id")
		}
		if f.CreatedAt == nil {
			why = append(why, "no created_at")
		}
		return strings.Join(why, "; ")
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// AgeAt returns someone's age in whole years at t, born on birth (both UTC).
func AgeAt(birth, t time.Time) int {
	y := t.Year() - birth.Year()
	if t.Month() < birth.Month() || t.Month() == birth.Month() && t.Day() < birth.Day() {
		y--
	}
	return y
}

// WriteReports renders report.html and report.md for a run and uploads
// them into out. It first removes the manifest of an earlier run (the new
// one is written after summary.json), so that a stale manifest never
// vouches for this run's files. Examples come from the run's findings,
// pseudonymised with p; with nil p the reports show none.
func WriteReports(ctx context.Context, out lake.Location, sum *schema.Summary, p *Pseudonymizer) error {
	// The manifest and its signature go before the reports change (each
	// pair at once: on S3 each is a request).
	if err := both(ctx, func(ctx context.Context) error { return out.Bucket.Delete(ctx, out.Join(ManifestFile)) },
		func(ctx context.Context) error { return out.Bucket.Delete(ctx, out.Join(SignatureFile)) }); err != nil {
		return err
	}
	d := Data{Summary: sum, Pseudonyms: p.Enabled()}
	if sum.Status != schema.StatusIncomplete {
		ex, err := CollectExamples(ctx, out, sum, p, DefaultExamples)
		if err != nil {
			return fmt.Errorf("report examples: %w", err)
		}
		d.Examples = ex
	}
	var h, m bytes.Buffer
	if err := RenderHTML(&h, d); err != nil {
		return fmt.Errorf("render %s: %w", HTMLFile, err)
	}
	if err := RenderMarkdown(&m, d); err != nil {
		return fmt.Errorf("render %s: %w", MDFile, err)
	}
	return both(ctx, func(ctx context.Context) error { return out.Bucket.Upload(ctx, out.Join(HTMLFile), &h) },
		func(ctx context.Context) error { return out.Bucket.Upload(ctx, out.Join(MDFile), &m) })
}

// both runs a and b at once and returns the first error.
func both(ctx context.Context, a, b func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a(gctx) })
	g.Go(func() error { return b(gctx) })
	return g.Wait()
}
