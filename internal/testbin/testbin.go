// Package testbin finds the real servers the tests run against (the S3
// gateway, the Pushgateway), installed by the scripts in scripts/ into the
// project's cache folder.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Find returns the path of the binary name: from the environment variable
// env if set, else ${CORPUS_AUDIT_CACHE:-~/.cache/corpus-audit}/bin/name,
// else the PATH. The error says what is missing and how to install it
// (hint).
func Find(env, name, what, hint string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %v", env, p, err)
		}
		return p, nil
	}
	cache := os.Getenv("CORPUS_AUDIT_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "corpus-audit")
		}
	}
	if cache != "" {
		p := filepath.Join(cache, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s is not installed: %s", what, hint)
}
