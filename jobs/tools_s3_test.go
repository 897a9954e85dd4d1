package jobs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// TestToolsS3 runs the audit with everything on S3 (corpus, tables, config
// and outputs, signed), then verify, explain and diff on the S3 outputs.
func TestToolsS3(t *testing.T) {
	t.Parallel()
	res := genLake(t, func(o *lakegen.Options) { o.RowGroupRows = 120 })
	l := uploadLake(t, res)
	ctx := context.Background()
	if err := l.direct.Upload(ctx, "conf/audit.yaml", strings.NewReader(auditConfig)); err != nil {
		t.Fatal(err)
	}
	pk, sk, pub := keyFiles(t)
	o := l.opts("runs/a")
	o.ConfigPath = l.uri("conf/audit.yaml")
	o.PseudonymKeyFile, o.SignKeyFile = pk, sk
	sum, err := Run(ctx, o)
	if err != nil || sum.Status != schema.StatusFindings {
		t.Fatalf("run: %s, %v", sum.Status, err)
	}
	out := l.uri("runs/a")
	s3o := l.srv.Options()

	// Verify, then tamper with one object.
	v, err := Verify(ctx, VerifyOptions{Out: out, PubKeyFile: pub, S3: s3o})
	if err != nil || !v.SignatureOK || v.Files != 4 {
		t.Fatalf("verify on S3: %+v, %v", v, err)
	}
	rc, err := l.direct.Get(ctx, "runs/a/"+report.MDFile)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := io.ReadAll(rc)
	rc.Close()
	md[len(md)/3] ^= 1
	if err := l.direct.Upload(ctx, "runs/a/"+report.MDFile, bytes.NewReader(md)); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, VerifyOptions{Out: out, PubKeyFile: pub, S3: s3o}); !errors.Is(err, report.ErrTampered) || !strings.Contains(err.Error(), "report.md: changed") {
		t.Errorf("verify after a changed byte on S3: %v", err)
	}

	// Explain a finding of a late row group: the row is re-read from S3,
	// with the S3 settings and columns of the run's config (on S3 too).
	fs := l.findings(t, "runs/a")
	f := fs[len(fs)-1]
	r, err := Explain(ctx, ExplainOptions{Out: out, ContentID: *f.ContentID, S3: s3o})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode() != ExplainOK || r.Explanations[0].Source.RowGroup != int(f.RowGroup) || f.RowGroup < 3 {
		t.Errorf("explain on S3: exit %d, %+v (finding in row group %d)", r.ExitCode(), r.Explanations[0], f.RowGroup)
	}
	if !strings.HasPrefix(r.Explanations[0].Source.File, "s3://") {
		t.Errorf("source %s is not the S3 object", r.Explanations[0].Source.File)
	}

	// Diff of the run with itself.
	d, err := DiffRunsOf(ctx, DiffOptions{Old: out, New: out, S3: s3o})
	if err != nil || d.Persisting.Rows != int64(len(fs)) || d.New.Rows != 0 || d.Resolved.Rows != 0 {
		t.Errorf("diff on S3: %+v, %v", d, err)
	}
}
