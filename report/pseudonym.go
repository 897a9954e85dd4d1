package report

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PseudonymKeyEnv is the environment variable that holds the pseudonym key
// when no key file is given.
const PseudonymKeyEnv = "CORPUS_AUDIT_PSEUDONYM_KEY"

// MinPseudonymKeyLen is the shortest pseudonym key accepted, in bytes. The
// identifiers pseudonymised are small integers or short strings that anyone
// can enumerate; only the key keeps the pseudonyms from being reversed.
const MinPseudonymKeyLen = 16

// PseudonymPrefix starts every pseudonym.
const PseudonymPrefix = "pseudo:"

// Pseudonymizer turns identifiers into keyed pseudonyms: "pseudo:" and the
// first 16 hex digits of HMAC-SHA-256(key, kind + ":" + id), where kind is
// "content_id", "account" or "accounts_center". The same key gives the
// same pseudonyms, so pseudonyms can be compared across reports; without
// the key they cannot be mapped back. A nil *Pseudonymizer has no key:
// reports then show no examples at all.
type Pseudonymizer struct {
	key []byte
}

// NewPseudonymizer returns a Pseudonymizer with the given key, which must
// be at least MinPseudonymKeyLen bytes long.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinPseudonymKeyLen {
		return nil, fmt.Errorf("pseudonym key: %d bytes, want at least %d", len(key), MinPseudonymKeyLen)
	}
	return &Pseudonymizer{key: bytes.Clone(key)}, nil
}

// LoadPseudonymizer loads the pseudonym key from file, or, when file is
// empty, from the environment variable CORPUS_AUDIT_PSEUDONYM_KEY. White
// space at both ends of the key is dropped (a key file usually ends with a
// newline). It returns nil and no error when neither is set. The error
// never holds the key.
func LoadPseudonymizer(file string) (*Pseudonymizer, error) {
	var key []byte
	src := "$" + PseudonymKeyEnv
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("pseudonym key file: %w", err)
		}
		key, src = bytes.TrimSpace(b), "pseudonym key file "+file
	} else {
		v := strings.TrimSpace(os.Getenv(PseudonymKeyEnv))
		if v == "" {
			return nil, nil
		}
		key = []byte(v)
	}
	p, err := NewPseudonymizer(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return p, nil
}

// Enabled reports whether p has a key.
func (p *Pseudonymizer) Enabled() bool { return p != nil && len(p.key) > 0 }

func (p *Pseudonymizer) of(kind, id string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(kind))
	m.Write([]byte{':'})
	m.Write([]byte(id))
	return PseudonymPrefix + hex.EncodeToString(m.Sum(nil))[:16]
}

// ContentID returns the pseudonym of a content_id.
func (p *Pseudonymizer) ContentID(id string) string { return p.of("content_id", id) }

// Account returns the pseudonym of an account id.
func (p *Pseudonymizer) Account(id int64) string {
	return p.of("account", strconv.FormatInt(id, 10))
}

// AccountsCenter returns the pseudonym of an accounts centre id.
func (p *Pseudonymizer) AccountsCenter(id int64) string {
	return p.of("accounts_center", strconv.FormatInt(id, 10))
}
