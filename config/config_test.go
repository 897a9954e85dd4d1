package config

import (
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/policy"
)

func TestParse(t *testing.T) {
	c, err := Parse(strings.NewReader(`
columns:
  author_id: user_id
  created_at: ts
policy:
  name: strict
  version: "7"
  objection_grace: 72h
  public_types: [post]
s3:
  endpoint: http://127.0.0.1:9000
  path_style: true
  sse: aws:kms
  sse_kms_key_id: key-1
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cols := c.ScanColumns()
	if cols.AuthorID != "user_id" || cols.CreatedAt != "ts" || cols.ContentID != "content_id" || cols.Visibility != "visibility" {
		t.Errorf("columns = %+v", cols)
	}
	p, err := c.PolicyValue()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "strict" || p.Version != "7" || p.ObjectionGrace != 72*time.Hour || len(p.PublicTypes) != 1 {
		t.Errorf("policy = %+v", p)
	}
	if p.Hash() == policy.Default().Hash() {
		t.Error("overrides did not change the policy hash")
	}
	if o := c.S3Options(); o.Endpoint != "http://127.0.0.1:9000" || !o.PathStyle || o.SSE != "aws:kms" || o.SSEKMSKeyID != "key-1" {
		t.Errorf("s3 = %+v", o)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	c, err := Parse(strings.NewReader(""), "empty.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.PolicyValue()
	if p.Hash() != policy.Default().Hash() {
		t.Error("empty config changed the policy")
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"unknown top-level key": "colums:\n  author_id: x\n",
		"unknown nested key":    "policy:\n  grace: 1h\n",
		"bad duration":          "policy:\n  objection_grace: one day\n",
		"negative grace":        "policy:\n  objection_grace: -1h\n",
		"bad sse":               "s3:\n  sse: rot13\n",
		"not yaml":              "policy: [\n",
		"wrong type":            "policy:\n  adult_age: eighteen\n",
	}
	for name, in := range tests {
		_, err := Parse(strings.NewReader(in), "bad.yaml")
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
}
