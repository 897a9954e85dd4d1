package jobs

import (
	"context"
	"crypto/ed25519"
	"errors"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// writeReports writes the human-readable reports of a run into out. It is
// called before summary.json is written, for complete and failed runs (a
// failed run's reports say INCOMPLETE). Examples are pseudonymised with the
// key from o.PseudonymKeyFile or $CORPUS_AUDIT_PSEUDONYM_KEY; without a key
// the reports show none.
//
// It also loads the signing key, so that a bad key fails the run here,
// before summary.json, and the reports and summary agree that it failed.
func writeReports(ctx context.Context, out lake.Location, sum *schema.Summary, o RunOptions) error {
	p, err := report.LoadPseudonymizer(o.PseudonymKeyFile)
	if o.SignKeyFile != "" {
		if _, kerr := report.LoadSigningKey(o.SignKeyFile); kerr != nil {
			err = errors.Join(err, kerr)
		}
	}
	if err != nil {
		// The reports are still written, without examples and saying
		// INCOMPLETE with the error the summary will hold.
		failed := *sum
		failed.Status = schema.StatusIncomplete
		failed.Error = oneLine(err)
		if sum.Error != "" {
			failed.Error = sum.Error + "; " + failed.Error
		}
		if werr := report.WriteReports(ctx, out, &failed, nil); werr != nil {
			err = errors.Join(err, werr)
		}
		return err
	}
	return report.WriteReports(ctx, out, sum, p)
}

// writeManifest writes manifest.json (and its signature, when o.SignKeyFile
// is set) after summary.json: the size and SHA-256 of every other file in
// out.
func writeManifest(ctx context.Context, out lake.Location, sum *schema.Summary, o RunOptions) error {
	var key ed25519.PrivateKey
	if o.SignKeyFile != "" {
		k, err := report.LoadSigningKey(o.SignKeyFile)
		if err != nil {
			if sum.Status == schema.StatusIncomplete {
				// writeReports met this error already and the summary
				// records it: hash the outputs without signing them.
				o.Log.Warn("manifest not signed", "error", err)
				return report.WriteManifest(ctx, out, nil)
			}
			return err
		}
		key = k
	}
	return report.WriteManifest(ctx, out, key)
}
