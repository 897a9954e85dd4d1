package report

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corpus-audit/corpus-audit/lake"
)

// outFolder writes a fake run's outputs and returns its location.
func outFolder(t *testing.T) (string, lake.Location) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"findings/part-00000.parquet": "PAR1 fake findings PAR1",
		"findings/part-00001.parquet": "PAR1 more PAR1",
		"report.html":                 "<!DOCTYPE html><p>report</p>",
		"report.md":                   "# report\n",
		"summary.json":                `{"status":"findings"}` + "\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loc, err := lake.Open(context.Background(), dir, lake.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, loc
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestManifestContent(t *testing.T) {
	dir, loc := outFolder(t)
	ctx := context.Background()
	if err := WriteManifest(ctx, loc, nil); err != nil {
		t.Fatal(err)
	}
	m, err := BuildManifest(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
		data, _ := os.ReadFile(filepath.Join(dir, f.Path))
		if f.Size != int64(len(data)) || len(f.SHA256) != 64 {
			t.Errorf("%s: size %d sha %q", f.Path, f.Size, f.SHA256)
		}
	}
	want := "findings/part-00000.parquet findings/part-00001.parquet report.html report.md summary.json"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("manifest lists %s, want %s (sorted, without manifest.json)", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, SignatureFile)); !os.IsNotExist(err) {
		t.Error("an unsigned manifest has a signature file")
	}
	// Writing twice gives the same bytes.
	a, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err := WriteManifest(ctx, loc, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if string(a) != string(b) {
		t.Error("manifest not deterministic")
	}
}

// TestVerify tampers with a signed run's outputs in every way the issue
// names and checks that Verify catches each, naming the file.
func TestVerify(t *testing.T) {
	pub, priv := newKey(t)
	otherPub, otherPriv := newKey(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		pub      ed25519.PublicKey
		tamper   func(t *testing.T, dir string)
		wantPath string // "" means intact
		wantKind string
	}{
		{"intact, signature checked", pub, nil, "", ""},
		{"intact, signature not checked", nil, nil, "", ""},
		{"one byte of report.html", pub, flipByte("report.html", 10), "report.html", "changed"},
		{"one byte of a findings file", pub, flipByte("findings/part-00001.parquet", 0), "findings/part-00001.parquet", "changed"},
		{"one byte of summary.json, unsigned check", nil, flipByte("summary.json", 3), "summary.json", "changed"},
		{"one byte of report.md", nil, flipByte("report.md", 2), "report.md", "changed"},
		{"a byte appended", nil, appendByte("report.md"), "report.md", "changed"},
		{"file removed", nil, remove("findings/part-00000.parquet"), "findings/part-00000.parquet", "removed"},
		{"file added", nil, write("findings/part-00002.parquet", "PAR1"), "findings/part-00002.parquet", "added"},
		{"hidden file added", nil, write(".extra", "x"), ".extra", "added"},
		{"wrong public key", otherPub, nil, SignatureFile, "bad signature"},
		{"signature by another key", pub, resign(otherPriv), SignatureFile, "bad signature"},
		{"manifest edited", pub, editManifest, SignatureFile, "bad signature"},
		{"signature removed", pub, remove(SignatureFile), SignatureFile, "unsigned"},
		{"signature garbage", pub, write(SignatureFile, "not base64!"), SignatureFile, "bad signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, loc := outFolder(t)
			if err := WriteManifest(ctx, loc, priv); err != nil {
				t.Fatal(err)
			}
			if tc.tamper != nil {
				tc.tamper(t, dir)
			}
			res, err := Verify(ctx, loc, tc.pub)
			if tc.wantPath == "" {
				if err != nil {
					t.Fatalf("intact outputs: %v", err)
				}
				if !res.Signed || res.SignatureOK != (tc.pub != nil) || res.Files != 5 {
					t.Errorf("result %+v", res)
				}
				return
			}
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("Verify = %v, want ErrTampered", err)
			}
			if len(res.Problems) == 0 || res.Problems[0].Path != tc.wantPath || res.Problems[0].Kind != tc.wantKind {
				t.Fatalf("problems %v, want first %s: %s", res.Problems, tc.wantPath, tc.wantKind)
			}
			if !strings.Contains(err.Error(), tc.wantPath) {
				t.Errorf("error %q does not name %s", err, tc.wantPath)
			}
		})
	}
}

func TestVerifyNoManifest(t *testing.T) {
	_, loc := outFolder(t)
	_, err := Verify(context.Background(), loc, nil)
	if err == nil || !strings.Contains(err.Error(), ManifestFile) {
		t.Errorf("Verify without a manifest = %v", err)
	}
}

func TestWriteManifestRemovesOldSignature(t *testing.T) {
	dir, loc := outFolder(t)
	_, priv := newKey(t)
	ctx := context.Background()
	if err := WriteManifest(ctx, loc, priv); err != nil {
		t.Fatal(err)
	}
	if err := WriteManifest(ctx, loc, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, SignatureFile)); !os.IsNotExist(err) {
		t.Error("the signature of an earlier manifest was left beside an unsigned one")
	}
}

func flipByte(name string, at int) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data[at] ^= 0x01
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func appendByte(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{' '})
		f.Close()
	}
}

func remove(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
}

func write(name, body string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func resign(k ed25519.PrivateKey) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		write(SignatureFile, base64.StdEncoding.EncodeToString(ed25519.Sign(k, data))+"\n")(t, dir)
	}
}

// editManifest changes a hash in the manifest to match a changed file,
// as someone covering their tracks would: only the signature catches it.
func editManifest(t *testing.T, dir string) {
	flipByte("report.md", 0)(t, dir)
	_, loc := func() (string, lake.Location) {
		l, err := lake.Open(context.Background(), dir, lake.S3Options{})
		if err != nil {
			t.Fatal(err)
		}
		return dir, l
	}()
	m, err := BuildManifest(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := MarshalManifest(m)
	write(ManifestFile, string(data))(t, dir)
}

func TestLoadKeys(t *testing.T) {
	pub, priv := newKey(t)
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	pkix, _ := x509.MarshalPKIXPublicKey(pub)
	seed := priv.Seed()
	privs := map[string][]byte{
		"pem":           pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"raw seed":      seed,
		"raw key":       priv,
		"hex seed":      []byte(hex.EncodeToString(seed) + "\n"),
		"base64 key":    []byte(base64.StdEncoding.EncodeToString(priv) + "\n"),
		"base64 seed":   []byte(base64.StdEncoding.EncodeToString(seed)),
		"hex 64 bytes ": []byte(hex.EncodeToString(priv)),
	}
	for name, data := range privs {
		k, err := LoadSigningKey(file("priv", data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !k.Equal(priv) {
			t.Errorf("%s: wrong key", name)
		}
	}
	pubs := map[string][]byte{
		"pem":    pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		"raw":    pub,
		"hex":    []byte(hex.EncodeToString(pub) + "\n"),
		"base64": []byte(base64.StdEncoding.EncodeToString(pub)),
	}
	for name, data := range pubs {
		k, err := LoadPublicKey(file("pub", data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !k.Equal(pub) {
			t.Errorf("%s: wrong key", name)
		}
	}
	bad := priv.Seed()
	badKey := append(append([]byte{}, priv[:32]...), make([]byte, 32)...)
	for name, data := range map[string][]byte{
		"public key as private": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		"too short":             bad[:31],
		"text":                  []byte("hello"),
		"inconsistent 64 bytes": badKey,
	} {
		if _, err := LoadSigningKey(file("bad", data)); err == nil {
			t.Errorf("signing key %s accepted", name)
		} else if strings.Contains(err.Error(), hex.EncodeToString(seed[:8])) {
			t.Errorf("signing key error shows key material: %v", err)
		}
	}
	if _, err := LoadPublicKey(file("bad", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))); err == nil {
		t.Error("a private key was accepted as the public key")
	}
	if _, err := LoadSigningKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file was accepted")
	}
}
