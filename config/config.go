// Package config is corpus-audit's configuration file: corpus column names,
// policy settings and S3 settings, read from YAML strictly (an unknown key
// is an error, so a typo cannot silently fall back to a default).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/policy"
	"github.com/corpus-audit/corpus-audit/scan"
	"github.com/corpus-audit/corpus-audit/schema"
)

// Config is the content of a --config file. Every field is optional; what
// is not set keeps its default.
type Config struct {
	Columns Columns `yaml:"columns"`
	Policy  Policy  `yaml:"policy"`
	S3      S3      `yaml:"s3"`
	// Settings sets command-line flags by their long name ("lake",
	// "metrics_file" or "metrics-file", …): the lowest layer of the
	// configuration, below CORPUS_AUDIT_* environment variables and flags.
	// The command line checks the names; the audit ignores them.
	Settings map[string]any `yaml:"settings"`
}

// Columns remaps corpus column names.
type Columns struct {
	ContentID   string `yaml:"content_id"`
	AuthorID    string `yaml:"author_id"`
	Platform    string `yaml:"platform"`
	ContentType string `yaml:"content_type"`
	Visibility  string `yaml:"visibility"`
	CreatedAt   string `yaml:"created_at"`
}

// Policy overrides settings of the default policy. A changed policy should
// get its own name or version: both go into every output, with a hash of
// the settings.
type Policy struct {
	Name             string    `yaml:"name"`
	Version          string    `yaml:"version"`
	PublicTypes      []string  `yaml:"public_types"`
	PublicVisibility string    `yaml:"public_visibility"`
	ExemptTypes      *[]string `yaml:"exempt_types"`
	AdultAge         int       `yaml:"adult_age"`
	// ObjectionGrace is a Go duration ("0s", "72h").
	ObjectionGrace string `yaml:"objection_grace"`
}

// S3 holds S3 settings; credentials never go here (the SDK's standard
// chain provides them).
type S3 struct {
	Endpoint    string `yaml:"endpoint"`
	PathStyle   bool   `yaml:"path_style"`
	Region      string `yaml:"region"`
	SSE         string `yaml:"sse"`
	SSEKMSKeyID string `yaml:"sse_kms_key_id"`
}

// Parse reads a config file strictly. name is used in errors.
func Parse(r io.Reader, name string) (Config, error) {
	var c Config
	data, err := io.ReadAll(r)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config %s: %w", name, err)
	}
	if _, err := c.PolicyValue(); err != nil {
		return c, fmt.Errorf("config %s: %w", name, err)
	}
	switch c.S3.SSE {
	case "", "AES256", "aws:kms":
	default:
		return c, fmt.Errorf("config %s: s3.sse %q: want AES256 or aws:kms", name, c.S3.SSE)
	}
	return c, nil
}

// ScanColumns returns the corpus column names, defaults filled in.
func (c Config) ScanColumns() scan.Columns {
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	return scan.Columns{
		ContentID:   pick(c.Columns.ContentID, schema.ColContentID),
		AuthorID:    pick(c.Columns.AuthorID, schema.ColAuthorID),
		Platform:    pick(c.Columns.Platform, schema.ColPlatform),
		ContentType: pick(c.Columns.ContentType, schema.ColContentType),
		Visibility:  pick(c.Columns.Visibility, schema.ColVisibility),
		CreatedAt:   pick(c.Columns.CreatedAt, schema.ColCreatedAt),
	}
}

// PolicyValue returns the default policy with the config's overrides.
func (c Config) PolicyValue() (policy.Policy, error) {
	p := policy.Default()
	o := c.Policy
	if o.Name != "" {
		p.Name = o.Name
	}
	if o.Version != "" {
		p.Version = o.Version
	}
	if o.PublicTypes != nil {
		p.PublicTypes = o.PublicTypes
	}
	if o.PublicVisibility != "" {
		p.PublicVisibility = o.PublicVisibility
	}
	if o.ExemptTypes != nil {
		p.ExemptTypes = *o.ExemptTypes
	}
	if o.AdultAge != 0 {
		p.AdultAge = o.AdultAge
	}
	if o.ObjectionGrace != "" {
		d, err := time.ParseDuration(o.ObjectionGrace)
		if err != nil {
			return p, fmt.Errorf("policy.objection_grace: %w", err)
		}
		p.ObjectionGrace = d
	}
	return p, p.Validate()
}

// S3Options returns the lake's S3 options.
func (c Config) S3Options() lake.S3Options {
	return lake.S3Options{
		Endpoint:    c.S3.Endpoint,
		PathStyle:   c.S3.PathStyle,
		Region:      c.S3.Region,
		SSE:         c.S3.SSE,
		SSEKMSKeyID: c.S3.SSEKMSKeyID,
	}
}
