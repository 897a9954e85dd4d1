package report

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/corpus-audit/corpus-audit/lake"
)

// Manifest files under a run's output folder.
const (
	// ManifestFile lists every other file of the run's output folder with
	// its size and SHA-256.
	ManifestFile = "manifest.json"
	// SignatureFile holds the detached Ed25519 signature of the exact bytes
	// of manifest.json, base64 (standard encoding) and a newline.
	SignatureFile = "manifest.json.sig"
)

// ManifestVersion is the current Manifest.Version.
const ManifestVersion = 1

// Manifest is the content of manifest.json.
type Manifest struct {
	Version int `json:"manifest_version"`
	// Files lists every file under the output folder except manifest.json
	// and manifest.json.sig, sorted by path.
	Files []ManifestEntry `json:"files"`
}

// ManifestEntry is one file of a run's outputs.
type ManifestEntry struct {
	Path   string `json:"path"` // relative to the output folder, slash-separated
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// isManifestFile reports whether rel is one of the files the manifest
// does not list.
func isManifestFile(rel string) bool { return rel == ManifestFile || rel == SignatureFile }

// outputFiles lists the files under out (relative paths, sorted) except
// the manifest and its signature.
func outputFiles(ctx context.Context, out lake.Location) (map[string]string, []string, error) {
	prefix := ""
	if out.Key != "" {
		prefix = out.Key + "/"
	}
	keys := map[string]string{}
	var rels []string
	err := out.Bucket.Iter(ctx, prefix, func(key string, _ lake.Attrs) error {
		rel := out.Rel(key)
		if isManifestFile(rel) {
			return nil
		}
		keys[rel] = key
		rels = append(rels, rel)
		return nil
	})
	sort.Strings(rels)
	return keys, rels, err
}

func hashKey(ctx context.Context, b lake.Bucket, key string) (string, int64, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, &lake.ObjectError{Op: "read", URI: b.URI(key), Err: err}
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// BuildManifest hashes every file under out except manifest.json and
// manifest.json.sig.
func BuildManifest(ctx context.Context, out lake.Location) (*Manifest, error) {
	keys, rels, err := outputFiles(ctx, out)
	if err != nil {
		return nil, err
	}
	// The files are read a few at a time: on S3 each is a request (the
	// findings parts, many in a large run, are read back whole).
	m := &Manifest{Version: ManifestVersion, Files: make([]ManifestEntry, len(rels))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(manifestReads)
	for i, rel := range rels {
		g.Go(func() error {
			sum, n, err := hashKey(gctx, out.Bucket, keys[rel])
			if err != nil {
				return err
			}
			m.Files[i] = ManifestEntry{Path: rel, Size: n, SHA256: sum}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return m, nil
}

// manifestReads is how many outputs BuildManifest reads at once.
const manifestReads = 8

// MarshalManifest renders a manifest as written: indented JSON and a final
// newline. The signature covers exactly these bytes.
func MarshalManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteManifest hashes the run's outputs in out and writes manifest.json,
// and, when key is not nil, manifest.json.sig; without a key an earlier
// signature is removed. It must be called after every other output is
// written.
func WriteManifest(ctx context.Context, out lake.Location, key ed25519.PrivateKey) error {
	m, err := BuildManifest(ctx, out)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	data, err := MarshalManifest(m)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	sigKey := out.Join(SignatureFile)
	// The signature of an earlier run must not sit beside a new manifest.
	if err := out.Bucket.Delete(ctx, sigKey); err != nil {
		return err
	}
	if err := out.Bucket.Upload(ctx, out.Join(ManifestFile), bytes.NewReader(data)); err != nil {
		return err
	}
	if key == nil {
		return nil
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, data)) + "\n"
	return out.Bucket.Upload(ctx, sigKey, strings.NewReader(sig))
}

// LoadSigningKey reads an Ed25519 private key: PEM (PKCS #8, "PRIVATE
// KEY", as `openssl genpkey -algorithm ed25519` writes it), or raw — the
// 32-byte seed or the 64-byte private key, as bytes, hex or base64. The
// error never holds key material.
func LoadSigningKey(file string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	fail := func(why string) (ed25519.PrivateKey, error) {
		return nil, fmt.Errorf("signing key %s: %s", file, why)
	}
	if blk, _ := pem.Decode(data); blk != nil {
		if blk.Type != "PRIVATE KEY" {
			return fail(fmt.Sprintf("PEM block %q, want \"PRIVATE KEY\" (PKCS #8 Ed25519)", blk.Type))
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return fail("not a PKCS #8 private key")
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return fail(fmt.Sprintf("a %T, want Ed25519", k))
		}
		return ek, nil
	}
	raw, ok := rawKey(data, ed25519.SeedSize, ed25519.PrivateKeySize)
	if !ok {
		return fail("not an Ed25519 private key (want PEM PKCS #8, or a 32-byte seed or 64-byte key as bytes, hex or base64)")
	}
	if len(raw) == ed25519.SeedSize {
		return ed25519.NewKeyFromSeed(raw), nil
	}
	k := ed25519.PrivateKey(raw)
	if !bytes.Equal(ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize]).Public().(ed25519.PublicKey), raw[ed25519.SeedSize:]) {
		return fail("the 64-byte key's public half does not match its seed")
	}
	return k, nil
}

// LoadPublicKey reads an Ed25519 public key: PEM ("PUBLIC KEY", as
// `openssl pkey -pubout` writes it) or the raw 32 bytes, as bytes, hex or
// base64.
func LoadPublicKey(file string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	fail := func(why string) (ed25519.PublicKey, error) {
		return nil, fmt.Errorf("public key %s: %s", file, why)
	}
	if blk, _ := pem.Decode(data); blk != nil {
		if blk.Type != "PUBLIC KEY" {
			return fail(fmt.Sprintf("PEM block %q, want \"PUBLIC KEY\"", blk.Type))
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return fail("not a PKIX public key")
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return fail(fmt.Sprintf("a %T, want Ed25519", k))
		}
		return ek, nil
	}
	raw, ok := rawKey(data, ed25519.PublicKeySize)
	if !ok {
		return fail("not an Ed25519 public key (want PEM, or 32 bytes as bytes, hex or base64)")
	}
	return ed25519.PublicKey(raw), nil
}

// rawKey decodes key bytes given as they are, in hex or in base64, and
// returns them if their length is one of sizes.
func rawKey(data []byte, sizes ...int) ([]byte, bool) {
	okLen := func(b []byte) bool {
		for _, n := range sizes {
			if len(b) == n {
				return true
			}
		}
		return false
	}
	if okLen(data) {
		return bytes.Clone(data), true
	}
	t := strings.TrimSpace(string(data))
	if b, err := hex.DecodeString(t); err == nil && okLen(b) {
		return b, true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil && okLen(b) {
			return b, true
		}
	}
	return nil, false
}

// Problem is one way a run's outputs differ from their manifest.
type Problem struct {
	Path string // relative to the output folder
	// Kind is "changed", "removed", "added", "unsigned" or "bad signature".
	Kind   string
	Detail string
}

func (p Problem) String() string {
	if p.Detail == "" {
		return p.Path + ": " + p.Kind
	}
	return p.Path + ": " + p.Kind + " (" + p.Detail + ")"
}

// VerifyResult is what Verify found.
type VerifyResult struct {
	Files int // files listed in the manifest
	// Signed: a signature file is present. SignatureOK: it was checked
	// against a public key and is valid.
	Signed      bool
	SignatureOK bool
	// Problems, signature first, then files by path. Empty when intact.
	Problems []Problem
}

// ErrTampered is wrapped by Verify's error when outputs differ from the
// manifest or the signature is wrong.
var ErrTampered = errors.New("outputs do not match their manifest")

// Verify re-hashes every file under out and compares them with
// manifest.json: no file may be changed, removed or added. With a public
// key it also checks manifest.json.sig, which must exist. Without one, a
// signature present is reported (Signed) but not checked. The error wraps
// ErrTampered and names the first problem; errors reading the outputs are
// returned as they are.
func Verify(ctx context.Context, out lake.Location, pub ed25519.PublicKey) (*VerifyResult, error) {
	res := &VerifyResult{}
	rc, err := out.Bucket.Get(ctx, out.Join(ManifestFile))
	if err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	rc.Close()
	if err != nil {
		return res, fmt.Errorf("verify: read %s: %w", out.URI(out.Join(ManifestFile)), err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return res, fmt.Errorf("verify: %s: %w: not a manifest: %v", out.URI(out.Join(ManifestFile)), ErrTampered, err)
	}
	if m.Version != ManifestVersion {
		return res, fmt.Errorf("verify: %s: manifest_version %d, want %d", out.URI(out.Join(ManifestFile)), m.Version, ManifestVersion)
	}
	res.Files = len(m.Files)

	// The signature.
	sigData, err := readSmall(ctx, out.Bucket, out.Join(SignatureFile))
	switch {
	case err == nil:
		res.Signed = true
	case !lake.IsNotExist(err):
		return res, fmt.Errorf("verify: %w", err)
	}
	if pub != nil {
		switch {
		case !res.Signed:
			res.Problems = append(res.Problems, Problem{SignatureFile, "unsigned", "a public key was given but the manifest has no signature"})
		default:
			sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigData)))
			switch {
			case err != nil || len(sig) != ed25519.SignatureSize:
				res.Problems = append(res.Problems, Problem{SignatureFile, "bad signature", "not a base64 Ed25519 signature"})
			case !ed25519.Verify(pub, data, sig):
				res.Problems = append(res.Problems, Problem{SignatureFile, "bad signature", "does not verify with the public key: manifest.json or the signature was changed, or the key is not the signer's"})
			default:
				res.SignatureOK = true
			}
		}
	}

	// The files.
	keys, rels, err := outputFiles(ctx, out)
	if err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	listed := map[string]ManifestEntry{}
	for _, e := range m.Files {
		listed[e.Path] = e
	}
	all := append([]string(nil), rels...)
	for p := range listed {
		if _, ok := keys[p]; !ok {
			all = append(all, p)
		}
	}
	sort.Strings(all)
	for _, p := range all {
		e, inManifest := listed[p]
		key, present := keys[p]
		switch {
		case !present:
			res.Problems = append(res.Problems, Problem{p, "removed", "listed in the manifest, missing from the outputs"})
		case !inManifest:
			res.Problems = append(res.Problems, Problem{p, "added", "not listed in the manifest"})
		default:
			sum, n, err := hashKey(ctx, out.Bucket, key)
			if err != nil {
				return res, fmt.Errorf("verify: %w", err)
			}
			if sum != e.SHA256 || n != e.Size {
				res.Problems = append(res.Problems, Problem{p, "changed", fmt.Sprintf("sha256 %s, %d bytes; manifest: sha256 %s, %d bytes", sum, n, e.SHA256, e.Size)})
			}
		}
	}
	if len(res.Problems) > 0 {
		more := ""
		if n := len(res.Problems) - 1; n > 0 {
			more = fmt.Sprintf(" (and %d more)", n)
		}
		return res, fmt.Errorf("verify %s: %w: %s%s", out.Raw, ErrTampered, res.Problems[0], more)
	}
	return res, nil
}

func readSmall(ctx context.Context, b lake.Bucket, key string) ([]byte, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, &lake.ObjectError{Op: "read", URI: b.URI(key), Err: err}
	}
	return data, nil
}
