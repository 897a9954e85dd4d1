package jobs

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/report"
)

// VerifyOptions are the inputs of `corpus-audit verify`.
type VerifyOptions struct {
	Out string // a run's output folder, local or s3://
	// PubKeyFile is the Ed25519 public key of the signer (PEM or raw). When
	// set, manifest.json.sig must exist and verify.
	PubKeyFile string
	S3         lake.S3Options
}

// Verify checks a run's outputs against its manifest: it re-hashes every
// file under o.Out (no file may be changed, removed or added) and, with a
// public key, checks the manifest's signature. The error wraps
// report.ErrTampered when the outputs differ, naming the first file that
// does; other errors (unreadable outputs, bad key) wrap nothing of it.
func Verify(ctx context.Context, o VerifyOptions) (*report.VerifyResult, error) {
	if o.Out == "" {
		return nil, fmt.Errorf("%w: give the run's output folder", ErrUsage)
	}
	var pub ed25519.PublicKey
	if o.PubKeyFile != "" {
		k, err := report.LoadPublicKey(o.PubKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		pub = k
	}
	out, err := lake.Open(ctx, o.Out, o.S3)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", o.Out, err)
	}
	defer out.Bucket.Close()
	return report.Verify(ctx, out, pub)
}
