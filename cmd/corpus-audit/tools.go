package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/corpus-audit/corpus-audit/jobs"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// s3Flags are the S3 flags shared by the tools.
type s3Flags struct {
	S3Endpoint  string `name:"s3-endpoint" placeholder:"URL" help:"Custom S3 endpoint (S3-compatible stores); AWS_ENDPOINT_URL_S3 works too."`
	S3PathStyle bool   `name:"s3-path-style" help:"Path-style S3 addressing."`
}

func (f s3Flags) options() lake.S3Options {
	return lake.S3Options{Endpoint: f.S3Endpoint, PathStyle: f.S3PathStyle}
}

// Exit codes of verify.
const (
	verifyIntact   = 0
	verifyTampered = 1
)

type verifyCmd struct {
	Out string `arg:"" placeholder:"OUT" help:"A run's output folder (local path or s3://bucket/prefix)."`
	Pub string `placeholder:"KEY" help:"Ed25519 public key of the signer (PEM or raw); the signature must then verify."`
	s3Flags
}

func (c *verifyCmd) Run(ctx context.Context, log *slog.Logger) (int, error) {
	res, err := jobs.Verify(ctx, jobs.VerifyOptions{Out: c.Out, PubKeyFile: c.Pub, S3: c.options()})
	switch {
	case errors.Is(err, report.ErrTampered):
		return verifyTampered, err
	case err != nil:
		return schema.ExitFailed, err
	}
	sig := "unsigned"
	switch {
	case res.SignatureOK:
		sig = "signature valid"
	case res.Signed:
		sig = "signed, signature NOT checked (give --pub)"
	}
	fmt.Printf("intact: %d files match manifest.json; %s\n", res.Files, sig)
	return verifyIntact, nil
}

type explainCmd struct {
	Out              string `arg:"" placeholder:"OUT" help:"A run's output folder (local path or s3://bucket/prefix)."`
	ContentID        string `name:"content-id" placeholder:"ID" help:"The content_id of the flagged row."`
	File             string `placeholder:"FILE" help:"A corpus file, as the findings name it (or a path it ends with); with --row."`
	Row              int64  `default:"-1" placeholder:"N" help:"0-based row number in --file."`
	Pseudonym        string `placeholder:"PSEUDONYM" help:"A content or account pseudonym from a report (pseudo:…); needs the pseudonym key."`
	PseudonymKeyFile string `name:"pseudonym-key-file" placeholder:"FILE" help:"HMAC key of the pseudonyms (else $CORPUS_AUDIT_PSEUDONYM_KEY)."`
	s3Flags
}

func (c *explainCmd) Run(ctx context.Context, log *slog.Logger) (int, error) {
	res, err := jobs.Explain(ctx, jobs.ExplainOptions{
		Out: c.Out, ContentID: c.ContentID, File: c.File, Row: c.Row,
		Pseudonym: c.Pseudonym, PseudonymKeyFile: c.PseudonymKeyFile, S3: c.options(),
	})
	if err != nil {
		return schema.ExitFailed, err
	}
	if err := jobs.WriteExplanation(os.Stdout, res); err != nil {
		return schema.ExitFailed, err
	}
	code := res.ExitCode()
	switch code {
	case jobs.ExplainNotFound:
		return code, fmt.Errorf("no finding matches in %s", c.Out)
	case jobs.ExplainChanged:
		return code, fmt.Errorf("the source row no longer matches the finding: the corpus changed since the audit")
	}
	return code, nil
}

type diffCmd struct {
	Old   string `arg:"" placeholder:"OLD_OUT" help:"The earlier run's output folder."`
	New   string `arg:"" placeholder:"NEW_OUT" help:"The later run's output folder."`
	JSON  bool   `name:"json" help:"Print one JSON object with the keys new, resolved and persisting."`
	Limit int    `default:"20" help:"Findings listed per section in text (0: all)."`
	s3Flags
}

func (c *diffCmd) Run(ctx context.Context, log *slog.Logger) (int, error) {
	d, err := jobs.DiffRunsOf(ctx, jobs.DiffOptions{Old: c.Old, New: c.New, S3: c.options()})
	if err != nil {
		return schema.ExitFailed, err
	}
	if c.JSON {
		err = jobs.WriteDiffJSON(os.Stdout, d)
	} else {
		err = jobs.WriteDiffText(os.Stdout, d, c.Limit)
	}
	if err != nil {
		return schema.ExitFailed, err
	}
	return 0, nil
}
