package report

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadKeys: key files are outside input; any bytes give a key or an
// error, never a panic, and a key that loads signs and verifies.
func FuzzLoadKeys(f *testing.F) {
	seed := make([]byte, ed25519.SeedSize)
	f.Add(seed)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"))
	f.Add([]byte("not a key"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "key")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if k, err := LoadSigningKey(p); err == nil {
			msg := []byte("manifest")
			if !ed25519.Verify(k.Public().(ed25519.PublicKey), msg, ed25519.Sign(k, msg)) {
				t.Error("a loaded signing key does not verify its own signature")
			}
		}
		if k, err := LoadPublicKey(p); err == nil && len(k) != ed25519.PublicKeySize {
			t.Errorf("public key of %d bytes", len(k))
		}
	})
}
