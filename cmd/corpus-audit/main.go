// Command corpus-audit audits an AI training corpus for rows it must not
// hold. It only parses flags and calls a job in package jobs; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/corpus-audit/corpus-audit/jobs"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

type cli struct {
	LogFormat string `enum:"auto,json,text" default:"auto" help:"Log format on stderr: json, text, or auto (text on a terminal, JSON otherwise)."`
	LogLevel  string `enum:"debug,info,warn,error" default:"info" help:"Least severe log level written."`

	Run     runCmd     `cmd:"" help:"Audit one corpus snapshot against the lookup tables."`
	Verify  verifyCmd  `cmd:"" help:"Check a run's outputs against manifest.json (and its signature). Exit 0 intact, 1 changed, 2 error."`
	Explain explainCmd `cmd:"" help:"Show a finding, re-read its row from the corpus and say why it was flagged. Exit 0 matches, 1 not found, 2 changed."`
	Diff    diffCmd    `cmd:"" help:"List findings new in NEW, resolved since OLD, and persisting."`
	Nightly nightlyCmd `cmd:"" help:"Audit every complete snapshot of a lake that has no valid audit yet, oldest first (incremental, locked, resumable)."`
	Merge   mergeCmd   `cmd:"" help:"Merge the partial results of the N shards of a sharded run into one run's outputs."`
	Config  configCmd  `cmd:"" help:"Print the effective configuration of a command line (config file < environment < flags), secrets masked."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

type runCmd struct {
	Corpus        string `required:"" placeholder:"PATH" help:"One snapshot folder (local path or s3://bucket/prefix), e.g. lake/corpus/snapshot=2026-06-01."`
	Ages          string `required:"" placeholder:"PATH" help:"Ages table: a Parquet or CSV file, or a folder of them."`
	Objections    string `required:"" placeholder:"PATH" help:"Objections table: a Parquet or CSV file, or a folder of them."`
	Links         string `placeholder:"PATH" help:"Optional account-links table (account -> accounts centre)."`
	Out           string `required:"" placeholder:"PATH" help:"Folder for this run's outputs (findings/, summary.json)."`
	SnapshotAt    string `name:"snapshot-at" placeholder:"RFC3339" help:"Instant objections are judged at; default from the folder name snapshot=YYYY-MM-DD (00:00 UTC) or snapshot=<RFC3339>."`
	Config        string `placeholder:"FILE" help:"YAML config: column names, policy and S3 settings."`
	AllowUnmarked bool   `help:"Audit a snapshot folder that has no _SUCCESS marker."`
	Workers       int    `help:"Row groups decoded at once (default: number of CPUs)."`
	NoHash        bool   `help:"Do not SHA-256 local corpus files (they are still pinned by size and modification time)."`
	NoReadAhead   bool   `name:"no-read-ahead" help:"From S3, do not read each worker's next row group while it judges the current one: less memory (one row group's chunks per worker), slower."`
	S3Endpoint    string `name:"s3-endpoint" placeholder:"URL" help:"Custom S3 endpoint (S3-compatible stores); AWS_ENDPOINT_URL_S3 works too."`
	S3PathStyle   bool   `name:"s3-path-style" help:"Path-style S3 addressing."`
	SignKey       string `name:"sign-key" placeholder:"FILE" help:"Ed25519 private key (PEM or raw) to sign manifest.json (manifest.json.sig)."`
	PseudonymKey  string `name:"pseudonym-key-file" placeholder:"FILE" help:"HMAC key for the pseudonyms in the reports' examples (else $CORPUS_AUDIT_PSEUDONYM_KEY; without a key, no examples)."`
	Shard         string `placeholder:"I/N" help:"Audit only the I-th of N parts of the snapshot (I from 0; auto/N takes I from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX) and write a partial result to --out ({shard} in --out becomes I); combine the parts with merge."`

	metricsFlags
	progressFlag
}

func (r *runCmd) Run(ctx context.Context, log *slog.Logger) (int, error) {
	prog := &jobs.Progress{}
	o := jobs.RunOptions{
		Corpus: r.Corpus, Ages: r.Ages, Objections: r.Objections, Links: r.Links, Out: r.Out,
		SnapshotAt: r.SnapshotAt, ConfigPath: r.Config, AllowUnmarked: r.AllowUnmarked,
		Workers: r.Workers, NoHash: r.NoHash, NoReadAhead: r.NoReadAhead,
		SignKeyFile: r.SignKey, PseudonymKeyFile: r.PseudonymKey,
		S3:  lake.S3Options{Endpoint: r.S3Endpoint, PathStyle: r.S3PathStyle},
		Log: log, Version: version, Progress: prog,
	}
	stopProgress := startProgress(r.Progress, prog)
	defer stopProgress()
	if r.Shard != "" {
		return r.runShard(ctx, log, o)
	}
	started := time.Now()
	sum, err := jobs.Run(ctx, o)
	stopProgress()
	code := sum.Status.ExitCode()
	if err != nil {
		code = schema.ExitFailed
	}
	r.publish(ctx, log, runMetrics("run", sum, code, started), map[string]string{"command": "run"})
	if err != nil {
		if errors.Is(err, jobs.ErrUsage) {
			return schema.ExitFailed, err
		}
		return schema.ExitFailed, fmt.Errorf("audit incomplete: %w", err)
	}
	c := sum.Counts
	fmt.Printf("%s: snapshot %s, %d files, %d rows judged, %d flagged; outputs in %s\n",
		sum.Status, sum.Snapshot, c.FilesScanned, c.RowsScanned, c.RowsFlagged, r.Out)
	return sum.Status.ExitCode(), nil
}

type versionCmd struct{}

func (versionCmd) Run(context.Context, *slog.Logger) (int, error) {
	v := version
	if v == "" {
		v = "devel"
	}
	fmt.Println("corpus-audit", v)
	return 0, nil
}

func newLogger(format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" || (format == "auto" && term.IsTerminal(int(os.Stderr.Fd()))) {
		return slog.New(slog.NewTextHandler(stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(stderr, opts))
}

func main() {
	tuneGC()
	stop := startProfiles()
	code := run(os.Args[1:])
	stop()
	os.Exit(code)
}

func run(args []string) int {
	var c cli
	layer, err := loadSettings(args, os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus-audit:", err)
		return schema.ExitFailed
	}
	parser, err := newParser(&c, layer, os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus-audit:", err)
		return schema.ExitFailed
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus-audit:", err)
		return schema.ExitFailed
	}
	log := newLogger(c.LogFormat, c.LogLevel)
	kctx.BindTo(context.Background(), (*context.Context)(nil))
	kctx.Bind(log)
	var code int
	cmd, ok := kctx.Selected().Target.Addr().Interface().(interface {
		Run(context.Context, *slog.Logger) (int, error)
	})
	if !ok {
		fmt.Fprintln(os.Stderr, "corpus-audit: no command")
		return schema.ExitFailed
	}
	ctx, stop := handleSignals(cmd, log)
	defer stop()
	code, err = cmd.Run(ctx, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus-audit:", err)
		if code == 0 {
			code = schema.ExitFailed
		}
	}
	return code
}
