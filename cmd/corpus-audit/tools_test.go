package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/schema"
)

// TestToolsCLI runs the commands as a person would, and checks their exit
// codes: run, then verify, explain and diff on its outputs.
func TestToolsCLI(t *testing.T) {
	o := lakegen.DefaultOptions()
	o.Rows, o.Files, o.Accounts, o.RowGroupRows = 2000, 2, 400, 150
	res, err := lakegen.Generate(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(nil)
	p8, _ := x509.MarshalPKCS8PrivateKey(priv)
	pk, _ := x509.MarshalPKIXPublicKey(pub)
	sign, pubFile, pseudo := filepath.Join(dir, "sign.pem"), filepath.Join(dir, "sign.pub.pem"), filepath.Join(dir, "pseudo.key")
	os.WriteFile(sign, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600)
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), 0o644)
	os.WriteFile(pseudo, []byte("cli-test-pseudonym-key-0123456789"), 0o600)

	out := filepath.Join(dir, "out")
	tables := filepath.Join(res.Out, "tables")
	code := run([]string{"--log-format", "json", "--log-level", "error", "run",
		"--corpus", filepath.Join(res.Out, lakegen.CorpusDir(o.Snapshot)),
		"--ages", filepath.Join(tables, "ages"), "--objections", filepath.Join(tables, "objections"),
		"--links", filepath.Join(tables, "links"), "--out", out,
		"--sign-key", sign, "--pseudonym-key-file", pseudo})
	if code != schema.ExitFindings {
		t.Fatalf("run: exit %d, want %d", code, schema.ExitFindings)
	}
	for _, name := range []string{"report.html", "report.md", "manifest.json", "manifest.json.sig"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("run wrote no %s: %v", name, err)
		}
	}
	fs, err := findings.Read(context.Background(), lake.NewLocal(out), schema.FindingsDir)
	if err != nil || len(fs) == 0 {
		t.Fatalf("findings: %d, %v", len(fs), err)
	}
	last := fs[len(fs)-1]

	steps := []struct {
		name string
		args []string
		want int
	}{
		{"verify intact, signed", []string{"verify", out, "--pub", pubFile}, 0},
		{"verify intact, signature not checked", []string{"verify", out}, 0},
		{"verify a folder with no run", []string{"verify", filepath.Join(dir, "nothing")}, 2},
		{"explain by content_id", []string{"explain", out, "--content-id", *last.ContentID}, 0},
		{"explain by file and row", []string{"explain", out, "--file", last.SourceFile, "--row", strconv.FormatInt(last.RowInFile, 10)}, 0},
		{"explain an unknown id", []string{"explain", out, "--content-id", "no-such-id"}, 1},
		{"explain without a selector", []string{"explain", out}, 2},
		{"diff with itself", []string{"diff", out, out}, 0},
		{"diff --json", []string{"diff", "--json", out, out}, 0},
		{"diff with a missing run", []string{"diff", out, filepath.Join(dir, "nothing")}, 2},
	}
	for _, s := range steps {
		if got := run(append([]string{"--log-level", "error"}, s.args...)); got != s.want {
			t.Errorf("%s: exit %d, want %d", s.name, got, s.want)
		}
	}
	// One byte changed: verify fails with 1.
	p := filepath.Join(out, "report.html")
	data, _ := os.ReadFile(p)
	data[100] ^= 1
	os.WriteFile(p, data, 0o644)
	if got := run([]string{"verify", out}); got != 1 {
		t.Errorf("verify after a changed byte: exit %d, want 1", got)
	}
}
