// Package report writes what a run tells people: summary.json now, and
// the human-readable reports built from it. It also clears an output
// folder before a run, so that nothing left there can pass for the
// result of the new run.
package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"golang.org/x/sync/errgroup"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// Tool describes this program for summaries. version is set at build time
// (-ldflags); when empty the module's build info is used.
func Tool(version string) schema.ToolInfo {
	if version == "" {
		version = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	return schema.ToolInfo{Name: "corpus-audit", Version: version, Go: runtime.Version()}
}

// NewCounts returns counts with every category present at zero.
func NewCounts() schema.Counts {
	c := schema.Counts{ByCategory: map[schema.Category]int64{}, ByPlatform: map[string]map[schema.Category]int64{}}
	for _, cat := range schema.Categories {
		c.ByCategory[cat] = 0
	}
	return c
}

// MarshalSummary renders a summary as written to summary.json: indented,
// keys in a fixed order, with a final newline.
func MarshalSummary(s *schema.Summary) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteSummary writes summary.json atomically.
func WriteSummary(ctx context.Context, b lake.Bucket, key string, s *schema.Summary) error {
	data, err := MarshalSummary(s)
	if err != nil {
		return err
	}
	return b.Upload(ctx, key, bytes.NewReader(data))
}

// ReadSummary reads a summary.json.
func ReadSummary(ctx context.Context, b lake.Bucket, key string) (*schema.Summary, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var s schema.Summary
	dec := json.NewDecoder(rc)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", b.URI(key), err)
	}
	return &s, nil
}

// Clear removes a previous run's outputs from an output folder: the
// summary first (so the folder stops looking complete at once), then the
// reports and the manifest, then the findings files.
func Clear(ctx context.Context, out lake.Location) error {
	// The summary first: the folder stops looking complete at once. Then
	// what vouches for an earlier result: its reports and manifest.
	if err := out.Bucket.Delete(ctx, out.Join(schema.SummaryFile)); err != nil {
		return err
	}
	keys := []string{out.Join(HTMLFile), out.Join(MDFile), out.Join(ManifestFile), out.Join(SignatureFile)}
	if err := deleteAll(ctx, out.Bucket, keys); err != nil {
		return err
	}
	return ClearFindings(ctx, out)
}

// deleteAll deletes keys, a few at a time (on S3 each is a request).
func deleteAll(ctx context.Context, b lake.Bucket, keys []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, k := range keys {
		g.Go(func() error { return b.Delete(gctx, k) })
	}
	return g.Wait()
}

// ClearFindings removes every file under an output folder's findings/.
func ClearFindings(ctx context.Context, out lake.Location) error {
	prefix := out.Join(schema.FindingsDir) + "/"
	var keys []string
	if err := out.Bucket.Iter(ctx, prefix, func(k string, _ lake.Attrs) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		return err
	}
	return deleteAll(ctx, out.Bucket, keys)
}

// ReadInput reads a small input file whole (a config file) and describes
// it for the summary.
func ReadInput(ctx context.Context, loc lake.Location, role string) (schema.InputFile, []byte, error) {
	if loc.Key == "" {
		return schema.InputFile{}, nil, fmt.Errorf("%s: not a file", loc.Raw)
	}
	a, err := loc.Bucket.Attributes(ctx, loc.Key)
	if err != nil {
		return schema.InputFile{}, nil, err
	}
	rc, err := loc.Bucket.Get(ctx, loc.Key)
	if err != nil {
		return schema.InputFile{}, nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return schema.InputFile{}, nil, &lake.ObjectError{Op: "read", URI: loc.URI(loc.Key), Err: err}
	}
	sum := sha256.Sum256(data)
	in := schema.InputFile{
		Role: role, Path: loc.URI(loc.Key), Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]),
		ETag:   a.ETag, VersionID: a.VersionID,
	}
	return in, data, nil
}
