package config

import (
	"strings"
	"testing"
)

// FuzzParse: a config file is outside input; any bytes give a config or an
// error, never a panic, and an accepted config yields a valid policy.
func FuzzParse(f *testing.F) {
	f.Add("policy:\n  objection_grace: 72h\n  public_types: [post]\n")
	f.Add("columns:\n  author_id: user_id\ns3:\n  sse: aws:kms\n  sse_kms_key_id: k\n")
	f.Add("settings:\n  workers: 4\n")
	f.Add("policy: [\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, data string) {
		c, err := Parse(strings.NewReader(data), "fuzz.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if _, err := c.PolicyValue(); err != nil {
			t.Errorf("Parse accepted a config whose policy is invalid: %v", err)
		}
		_ = c.ScanColumns()
	})
}
