package jobs

import (
	"context"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// writeReports writes the human-readable reports of a run into out. It is
// called before summary.json is written, for complete and failed runs.
func writeReports(ctx context.Context, out lake.Location, sum *schema.Summary, o RunOptions) error {
	return nil // TODO(issue 5): report.html, report.md
}

// writeManifest writes manifest.json (and its signature) after summary.json.
func writeManifest(ctx context.Context, out lake.Location, sum *schema.Summary, o RunOptions) error {
	return nil // TODO(issue 5): manifest.json
}
