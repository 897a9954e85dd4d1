// Package policy holds the audit rules: pure functions from what a corpus
// row says and what the lookup tables know of its author to the categories
// the row falls into. It does no I/O; everything here is tested by tables.
package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/corpus-audit/corpus-audit/schema"
)

// Policy is a set of audit rules with its settings. The zero value is not
// useful; start from Default.
type Policy struct {
	// Name and Version identify the policy in every output.
	Name    string
	Version string
	// PublicTypes are the content types (normalised) that may be used when
	// their visibility is PublicVisibility. Every other type is private.
	PublicTypes []string
	// PublicVisibility is the one visibility (normalised) that counts as public.
	PublicVisibility string
	// ExemptTypes are content types (normalised) used whatever the author's
	// age and visibility: interactions with the platform's AI assistant.
	// Objections still apply to them.
	ExemptTypes []string
	// AdultAge is the age in years from which content may be used.
	AdultAge int
	// ObjectionGrace is how long after objected_at an objection takes
	// effect: it counts when objected_at + ObjectionGrace <= snapshot_at.
	ObjectionGrace time.Duration
}

// Default returns the default policy, the one the README describes.
func Default() Policy {
	return Policy{
		Name:             "corpus-audit-default",
		Version:          "1",
		PublicTypes:      []string{"post", "comment", "photo", "video", "reel", "story", "caption"},
		PublicVisibility: "public",
		ExemptTypes:      []string{"ai_interaction"},
		AdultAge:         18,
		ObjectionGrace:   0,
	}
}

// Validate reports settings that cannot be applied.
func (p Policy) Validate() error {
	switch {
	case p.Name == "" || p.Version == "":
		return fmt.Errorf("policy: name and version must be set")
	case p.AdultAge <= 0 || p.AdultAge > 150:
		return fmt.Errorf("policy: adult_age %d out of range 1..150", p.AdultAge)
	case p.ObjectionGrace < 0:
		return fmt.Errorf("policy: objection_grace %s is negative", p.ObjectionGrace)
	case Normalize(p.PublicVisibility) == "":
		return fmt.Errorf("policy: public_visibility is empty")
	}
	for _, t := range p.ExemptTypes {
		if slices.Contains(p.normalizedList(p.PublicTypes), Normalize(t)) {
			return fmt.Errorf("policy: content type %q is both public and exempt", t)
		}
	}
	return nil
}

func (p Policy) normalizedList(l []string) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		out = append(out, Normalize(s))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Settings returns the policy's settings in canonical form: normalised,
// sorted, as written into summary.json and hashed by Hash.
func (p Policy) Settings() map[string]any {
	return map[string]any{
		"name":              p.Name,
		"version":           p.Version,
		"public_types":      p.normalizedList(p.PublicTypes),
		"public_visibility": Normalize(p.PublicVisibility),
		"exempt_types":      p.normalizedList(p.ExemptTypes),
		"adult_age":         p.AdultAge,
		"objection_grace":   p.ObjectionGrace.String(),
	}
}

// Hash is the SHA-256 (hex) of the canonical JSON of Settings.
func (p Policy) Hash() string {
	b, err := json.Marshal(p.Settings()) // map keys are sorted by encoding/json
	if err != nil {
		panic(err) // Settings holds only strings, ints and string slices
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Ref returns the policy's reference as written into summaries.
func (p Policy) Ref() schema.PolicyRef {
	return schema.PolicyRef{Name: p.Name, Version: p.Version, Hash: p.Hash(), Settings: p.Settings()}
}

// Normalize trims white space and lower-cases a content type or visibility.
func Normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// TypeClass is what the policy makes of a content type.
type TypeClass uint8

const (
	// TypeOther: unknown, null, or not allowed at all (messages): always private.
	TypeOther TypeClass = iota
	// TypePublicable: may be used when its visibility is public.
	TypePublicable
	// TypeExempt: an AI-assistant interaction, exempt from the privacy and age rules.
	TypeExempt
)

// ClassifyType classifies a raw (not yet normalised) content type; valid is
// false for null.
func (p Policy) ClassifyType(raw string, valid bool) TypeClass {
	if !valid {
		return TypeOther
	}
	n := Normalize(raw)
	for _, t := range p.ExemptTypes {
		if Normalize(t) == n {
			return TypeExempt
		}
	}
	for _, t := range p.PublicTypes {
		if Normalize(t) == n {
			return TypePublicable
		}
	}
	return TypeOther
}

// IsPublic reports whether a raw visibility is exactly the public one after
// normalisation; null is not public.
func (p Policy) IsPublic(raw string, valid bool) bool {
	return valid && Normalize(raw) == Normalize(p.PublicVisibility)
}
