package main

// The operations commands: nightly, merge, config; and what run shares
// with them: metrics, the progress display, the graceful stop, and the
// configuration layers (config file < environment < flags).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"gopkg.in/yaml.v3"

	"github.com/corpus-audit/corpus-audit/config"
	"github.com/corpus-audit/corpus-audit/jobs"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/metrics"
	"github.com/corpus-audit/corpus-audit/schema"
)

// envPrefix prefixes the environment variable of every flag:
// --metrics-file is CORPUS_AUDIT_METRICS_FILE.
const envPrefix = "CORPUS_AUDIT"

// stopRequested is closed on the first SIGTERM or interrupt when the
// command stops gracefully (at its next checkpoint); a second signal
// cancels at once.
var stopRequested = make(chan struct{})

// gracefulCmd is a command that stops at a checkpoint on the first signal.
type gracefulCmd interface{ graceful() bool }

// opsS3 are the S3 flags of the operations commands.
type opsS3 struct {
	S3Endpoint  string `name:"s3-endpoint" placeholder:"URL" help:"Custom S3 endpoint (S3-compatible stores); AWS_ENDPOINT_URL_S3 works too."`
	S3PathStyle bool   `name:"s3-path-style" help:"Path-style S3 addressing."`
}

func (f opsS3) options() lake.S3Options {
	return lake.S3Options{Endpoint: f.S3Endpoint, PathStyle: f.S3PathStyle}
}

// metricsFlags say where a run's metrics go.
type metricsFlags struct {
	Pushgateway string `placeholder:"URL" help:"Push the run's metrics to this Prometheus Pushgateway when it ends."`
	MetricsFile string `name:"metrics-file" placeholder:"FILE" help:"Write the run's metrics to FILE for node_exporter's textfile collector (atomically; use a name ending in .prom)."`
	MetricsJob  string `name:"metrics-job" default:"corpus_audit" help:"Job label of the pushed metrics."`
}

// publish sends a run's metrics where the flags say. Failures are logged:
// they do not change the audit's exit code.
func (m metricsFlags) publish(ctx context.Context, log *slog.Logger, r metrics.Run, grouping map[string]string) {
	if m.MetricsFile != "" {
		if err := metrics.WriteTextfile(m.MetricsFile, r); err != nil {
			log.Error("writing metrics", "error", err.Error())
		} else {
			log.Info("metrics written", "file", m.MetricsFile)
		}
	}
	if m.Pushgateway != "" {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := metrics.Push(pctx, m.Pushgateway, m.MetricsJob, grouping, r); err != nil {
			log.Error("pushing metrics", "error", err.Error())
		} else {
			log.Info("metrics pushed", "pushgateway", metrics.Redact(m.Pushgateway), "job", m.MetricsJob)
		}
	}
}

// runMetrics describes one finished run (or merge) for metrics.
func runMetrics(command string, sum schema.Summary, code int, started time.Time) metrics.Run {
	r := metrics.Run{
		Command: command, Status: metrics.StatusOf(sum.Status), ExitCode: code,
		Finished: time.Now(), Duration: time.Since(started),
		RowsScanned: sum.Counts.RowsScanned, RowsFlagged: sum.Counts.RowsFlagged,
		Findings: sum.Counts.ByCategory, Files: sum.Counts.FilesScanned,
	}
	if code == schema.ExitFailed {
		r.Status = metrics.StatusFailed
	}
	for _, in := range sum.Inputs {
		if in.Role == schema.RoleCorpus {
			r.Bytes += in.Size
		}
	}
	if sum.Status == schema.StatusFindings {
		r.SnapshotsWithFindings = 1
	}
	return r
}

// progressFlag chooses the progress display.
type progressFlag struct {
	Progress string `enum:"auto,always,never" default:"auto" help:"Progress display on stderr (files, rows, throughput, ETA): auto shows it only on an interactive terminal."`
}

type nightlyCmd struct {
	Lake        string        `placeholder:"URI" help:"The lake: snapshots in <lake>/corpus/snapshot=…/ (with _SUCCESS when complete), tables in <lake>/tables/. Local path or s3://bucket/prefix."`
	State       string        `placeholder:"URI" help:"State location: state.json, the lock, checkpoints; runs go to <state>/runs/ unless --runs. Local path or s3://."`
	Runs        string        `placeholder:"URI" help:"Where each audit's outputs go, as <runs>/snapshot=<…>/<run-id>/ (default <state>/runs)."`
	CorpusDir   string        `name:"corpus-dir" default:"corpus" help:"The corpus folder under the lake."`
	Ages        string        `placeholder:"PATH" help:"Ages table (default <lake>/tables/ages)."`
	Objections  string        `placeholder:"PATH" help:"Objections table (default <lake>/tables/objections)."`
	Links       string        `placeholder:"PATH" help:"Account-links table (default <lake>/tables/links)."`
	NoLinks     bool          `name:"no-links" help:"Audit without an account-links table."`
	Config      string        `placeholder:"FILE" help:"YAML config: column names, policy, S3 settings, and settings: for any flag."`
	Workers     int           `help:"Row groups decoded at once (default: number of CPUs)."`
	NoHash      bool          `help:"Do not SHA-256 local corpus files."`
	NoReadAhead bool          `name:"no-read-ahead" help:"From S3, do not read each worker's next row group while it judges the current one: less memory, slower."`
	LockLease   time.Duration `name:"lock-lease" default:"2m" help:"Lease of the state lock: a lock whose heartbeat is older is taken over (its holder is presumed dead)."`

	PseudonymKeyFile string `name:"pseudonym-key-file" placeholder:"FILE" help:"HMAC key for pseudonyms in reports (else $CORPUS_AUDIT_PSEUDONYM_KEY)."`
	SignKeyFile      string `name:"sign-key" placeholder:"FILE" help:"Ed25519 private key (PEM or raw) to sign each run's manifest.json."`

	opsS3
	metricsFlags
	progressFlag
}

func (nightlyCmd) graceful() bool { return true }

func (c *nightlyCmd) Run(ctx context.Context, log *slog.Logger) (int, error) {
	prog := &jobs.Progress{}
	stopProgress := startProgress(c.Progress, prog)
	res := jobs.Nightly(ctx, jobs.NightlyOptions{
		Lake: c.Lake, State: c.State, Runs: c.Runs, CorpusDir: c.CorpusDir,
		Ages: c.Ages, Objections: c.Objections, Links: c.Links, NoLinks: c.NoLinks,
		ConfigPath: c.Config, Workers: c.Workers, NoHash: c.NoHash, NoReadAhead: c.NoReadAhead, S3: c.options(),
		LockLease: c.LockLease, PseudonymKeyFile: c.PseudonymKeyFile, SignKeyFile: c.SignKeyFile,
		Stop: stopRequested, Progress: prog, Log: log, Version: version,
	})
	stopProgress()
	if res.Locked != nil {
		fmt.Printf("not started: another nightly run holds the lock (%v)\n", res.Locked)
		return res.ExitCode(), nil
	}
	for _, s := range res.Snapshots {
		fmt.Println(s.Line())
	}
	code := res.ExitCode()
	log.Info("nightly finished", "snapshots", len(res.Snapshots), "exit_code", code, "duration", res.Duration.Round(time.Millisecond).String())
	c.publish(ctx, log, nightlyMetrics(res, code), map[string]string{"command": "nightly"})
	if res.Err != nil {
		if errors.Is(res.Err, jobs.ErrStopped) {
			return schema.ExitFailed, fmt.Errorf("stopped on request; the state is saved and the next run resumes")
		}
		return schema.ExitFailed, res.Err
	}
	for _, s := range res.Snapshots {
		if errors.Is(s.Err, jobs.ErrStopped) {
			return schema.ExitFailed, fmt.Errorf("stopped on request at a checkpoint of snapshot %s; the state is saved and the next run resumes", s.Name)
		}
	}
	return code, nil
}

func nightlyMetrics(res jobs.NightlyResult, code int) metrics.Run {
	r := metrics.Run{
		Command: "nightly", ExitCode: code, Finished: time.Now(), Duration: res.Duration,
		Findings: map[schema.Category]int64{}, Snapshots: map[string]int{},
	}
	switch code {
	case schema.ExitClean:
		r.Status = metrics.StatusClean
	case schema.ExitFindings:
		r.Status = metrics.StatusFindings
	default:
		r.Status = metrics.StatusFailed
	}
	for _, s := range res.Snapshots {
		action := s.Action
		if s.Err != nil {
			action = jobs.ActionFailed
		}
		r.Snapshots[action]++
		if s.Audit != nil && s.Audit.Status == schema.StatusFindings {
			r.SnapshotsWithFindings++
		}
		if s.Summary != nil && s.Err == nil {
			c := s.Summary.Counts
			r.RowsScanned += c.RowsScanned
			r.RowsFlagged += c.RowsFlagged
			r.Files += c.FilesScanned
			for k, v := range c.ByCategory {
				r.Findings[k] += v
			}
		}
		r.Bytes += s.BytesScanned
	}
	return r
}

type mergeCmd struct {
	Out   string   `required:"" placeholder:"OUT" help:"Folder for the merged outputs (as a run's --out)."`
	Parts []string `arg:"" placeholder:"PART_OUT" help:"The --out folders of all N shards of one sharded run."`

	PseudonymKeyFile string `name:"pseudonym-key-file" placeholder:"FILE" help:"HMAC key for pseudonyms in reports (else $CORPUS_AUDIT_PSEUDONYM_KEY)."`
	SignKeyFile      string `name:"sign-key" placeholder:"FILE" help:"Ed25519 private key (PEM or raw) to sign manifest.json."`
	opsS3
	metricsFlags
}

func (c *mergeCmd) Run(ctx context.Context, log *slog.Logger) (int, error) {
	started := time.Now()
	sum, err := jobs.Merge(ctx, jobs.MergeOptions{
		Out: c.Out, Parts: c.Parts, S3: c.options(), PseudonymKeyFile: c.PseudonymKeyFile, SignKeyFile: c.SignKeyFile,
		Log: log, Version: version,
	})
	code := sum.Status.ExitCode()
	if err != nil {
		code = schema.ExitFailed
	}
	c.publish(ctx, log, runMetrics("merge", sum, code, started), map[string]string{"command": "merge"})
	if err != nil {
		return schema.ExitFailed, fmt.Errorf("merge incomplete: %w", err)
	}
	cn := sum.Counts
	fmt.Printf("%s: snapshot %s, %d files, %d rows judged, %d flagged; merged from %d shards into %s\n",
		sum.Status, sum.Snapshot, cn.FilesScanned, cn.RowsScanned, cn.RowsFlagged, len(c.Parts), c.Out)
	return code, nil
}

// runShard runs `run --shard`.
func (r *runCmd) runShard(ctx context.Context, log *slog.Logger, o jobs.RunOptions) (int, error) {
	sh, err := jobs.ParseShard(r.Shard, os.Getenv)
	if err != nil {
		return schema.ExitFailed, err
	}
	o.Out = strings.ReplaceAll(o.Out, "{shard}", fmt.Sprint(sh.Index))
	o.Stop = stopRequested
	started := time.Now()
	ps, err := jobs.RunShard(ctx, o, sh)
	m := metrics.Run{
		Command: "shard", Status: metrics.StatusClean, Finished: time.Now(), Duration: time.Since(started),
		RowsScanned: ps.RowsJudged, RowsFlagged: ps.RowsFlagged, Files: ps.Files, Bytes: ps.BytesRead,
	}
	if err != nil {
		m.Status, m.ExitCode = metrics.StatusFailed, schema.ExitFailed
	}
	r.publish(ctx, log, m, map[string]string{"command": "shard", "shard": fmt.Sprint(sh.Index)})
	if err != nil {
		if errors.Is(err, jobs.ErrStopped) {
			return schema.ExitFailed, fmt.Errorf("shard %s stopped on request; run it again on the same --out to resume", sh)
		}
		return schema.ExitFailed, fmt.Errorf("shard %s incomplete: %w", sh, err)
	}
	// A shard's findings are not a result until merged: its exit code is 0.
	fmt.Printf("shard %s of snapshot %s: %d units (%d resumed, by %s), %d rows judged, %d flagged; partial result in %s\n",
		sh, ps.Snapshot, ps.Units, ps.Resumed, ps.Mode, ps.RowsJudged, ps.RowsFlagged, o.Out)
	return 0, nil
}

func (r *runCmd) graceful() bool { return r.Shard != "" }

// configCmd prints the effective configuration.
type configCmd struct {
	Args []string `arg:"" optional:"" passthrough:"" placeholder:"COMMAND [FLAGS]" help:"The command line to show the configuration of (default: nightly), e.g. corpus-audit config nightly --lake s3://lake."`
}

func (c *configCmd) Run(ctx context.Context, log *slog.Logger) (int, error) {
	args := c.Args
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		args = append([]string{"nightly"}, args...)
	}
	out, err := effectiveConfig(args, os.LookupEnv)
	if err != nil {
		return schema.ExitFailed, err
	}
	os.Stdout.Write(out)
	return 0, nil
}

// settingsLayer is the config file's settings: section, for the resolver.
type settingsLayer struct {
	path     string
	settings map[string]any
}

// configPathIn finds --config in a command line, else $CORPUS_AUDIT_CONFIG.
func configPathIn(args []string, lookup func(string) (string, bool)) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v
		}
		if a == "--config" && i+1 < len(args) {
			return args[i+1]
		}
	}
	v, _ := lookup(envPrefix + "_CONFIG")
	return v
}

// loadSettings reads the settings: section of the config file a command
// line names (local or S3, with the default S3 configuration).
func loadSettings(args []string, lookup func(string) (string, bool)) (*settingsLayer, error) {
	p := configPathIn(args, lookup)
	if p == "" {
		return &settingsLayer{}, nil
	}
	ctx := context.Background()
	loc, err := lake.Open(ctx, p, lake.S3Options{})
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", p, err)
	}
	defer loc.Bucket.Close()
	if loc.Key == "" {
		return nil, fmt.Errorf("config %s: not a file", p)
	}
	rc, err := loc.Bucket.Get(ctx, loc.Key)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer rc.Close()
	cfg, err := config.Parse(io.LimitReader(rc, 16<<20), p)
	if err != nil {
		return nil, err
	}
	norm := map[string]any{}
	for k, v := range cfg.Settings {
		norm[strings.ReplaceAll(k, "_", "-")] = v
	}
	return &settingsLayer{path: p, settings: norm}, nil
}

// resolver gives kong the config file's settings for flags neither the
// command line nor the environment set: kong consults resolvers after
// environment variables are applied and lets them override those, so a
// flag with its variable set is left alone here.
func (l *settingsLayer) resolver(lookup func(string) (string, bool)) kong.Resolver {
	return settingsResolver{l: l, lookup: lookup}
}

type settingsResolver struct {
	l      *settingsLayer
	lookup func(string) (string, bool)
}

func (r settingsResolver) Validate(app *kong.Application) error {
	known := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			known[f.Name] = true
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(app.Node)
	for _, k := range slices.Sorted(maps.Keys(r.l.settings)) {
		if !known[k] || k == "config" || k == "help" {
			return fmt.Errorf("config %s: settings.%s: no such flag (settings take the long flag names, e.g. metrics_file)", r.l.path, strings.ReplaceAll(k, "-", "_"))
		}
	}
	return nil
}

func (r settingsResolver) Resolve(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	v, ok := r.l.settings[flag.Name]
	if !ok {
		return nil, nil
	}
	for _, e := range flag.Envs {
		if _, set := r.lookup(e); set {
			return nil, nil
		}
	}
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ","), nil
	case map[string]any:
		return nil, fmt.Errorf("config %s: settings.%s: a value, not a map", r.l.path, flag.Name)
	default:
		return fmt.Sprint(x), nil
	}
}

// effectiveConfig parses a command line as the program would and renders
// every setting of the selected command with its value and where it came
// from, secrets masked.
func effectiveConfig(args []string, lookup func(string) (string, bool)) ([]byte, error) {
	var c cli
	layer, err := loadSettings(args, lookup)
	if err != nil {
		return nil, err
	}
	parser, err := newParser(&c, layer, lookup)
	if err != nil {
		return nil, err
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return nil, err
	}
	onCommandLine := map[string]bool{}
	for _, a := range args {
		if a == "--" {
			break
		}
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			onCommandLine[strings.TrimPrefix(name, "no-")] = true
			onCommandLine[name] = true
		}
	}
	type setting struct {
		Value  any    `yaml:"value"`
		Source string `yaml:"source"`
	}
	flags := map[string]setting{}
	for _, f := range kctx.Flags() {
		if f.Name == "help" || f.Hidden {
			continue
		}
		src := "default"
		switch {
		case onCommandLine[f.Name]:
			src = "flag --" + f.Name
		case envSet(f.Envs, lookup) != "":
			src = "environment " + envSet(f.Envs, lookup)
		case layer.settings[f.Name] != nil:
			src = "config file " + layer.path
		}
		flags[f.Name] = setting{Value: mask(f.Name, kctx.FlagValue(f)), Source: src}
	}
	doc := map[string]any{
		"command":    kctx.Command(),
		"precedence": "flag > environment (" + envPrefix + "_*) > config file (settings:) > default",
		"flags":      flags,
	}
	if layer.path != "" {
		cfg, err := readConfigFile(layer.path)
		if err != nil {
			return nil, err
		}
		pol, err := cfg.PolicyValue()
		if err != nil {
			return nil, err
		}
		doc["config_file"] = map[string]any{
			"path":    layer.path,
			"policy":  map[string]any{"name": pol.Name, "version": pol.Version, "hash": pol.Hash(), "settings": pol.Settings()},
			"columns": columnsOf(cfg),
			"s3":      cfg.S3,
		}
	}
	env := map[string]string{}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
		"AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"CORPUS_AUDIT_PSEUDONYM_KEY"} {
		if v, ok := lookup(k); ok {
			env[k] = maskEnv(k, v)
		}
	}
	if len(env) > 0 {
		doc["environment"] = env
	}
	var b strings.Builder
	b.WriteString("# corpus-audit: effective configuration\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func readConfigFile(p string) (config.Config, error) {
	ctx := context.Background()
	loc, err := lake.Open(ctx, p, lake.S3Options{})
	if err != nil {
		return config.Config{}, err
	}
	defer loc.Bucket.Close()
	rc, err := loc.Bucket.Get(ctx, loc.Key)
	if err != nil {
		return config.Config{}, err
	}
	defer rc.Close()
	return config.Parse(rc, p)
}

func envSet(envs []string, lookup func(string) (string, bool)) string {
	for _, e := range envs {
		if _, ok := lookup(e); ok {
			return e
		}
	}
	return ""
}

// secretWords mark flags and variables whose values are secrets.
var secretWords = []string{"secret", "password", "token", "pseudonym_key", "credential"}

func isSecret(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "-", "_"))
	if strings.HasSuffix(n, "_file") {
		return false // a path, not the secret itself
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// mask hides a flag's value if it is a secret, and passwords in URLs.
func mask(name string, v any) any {
	s, ok := v.(string)
	if !ok {
		if d, ok := v.(time.Duration); ok {
			return d.String()
		}
		return v
	}
	if isSecret(name) && s != "" {
		return "***** (set)"
	}
	return metrics.Redact(s)
}

func maskEnv(name, v string) string {
	switch {
	case isSecret(name):
		return "***** (set)"
	case name == "AWS_ACCESS_KEY_ID" && len(v) > 4:
		return v[:4] + strings.Repeat("*", 8)
	}
	return metrics.Redact(v)
}

// newParser builds the command line parser: every flag can also be set
// by its environment variable (CORPUS_AUDIT_ and the flag's name, e.g.
// CORPUS_AUDIT_METRICS_FILE) and by the settings: section of the config
// file, in that order of precedence below the command line.
func newParser(c *cli, layer *settingsLayer, lookup func(string) (string, bool)) (*kong.Kong, error) {
	return kong.New(c,
		kong.Name("corpus-audit"),
		kong.Description("Audit an AI training corpus for minors', private and objected users' content.\n\n"+
			"Exit codes: 0 clean, 1 findings, 2 failed or incomplete.\n\n"+
			"Every flag can also be set by the environment variable "+envPrefix+"_<FLAG> (e.g. "+envPrefix+"_METRICS_FILE) "+
			"and by settings: in the --config file; a flag beats the environment, which beats the file."),
		kong.UsageOnError(),
		kong.Exit(func(code int) { os.Exit(code) }),
		kong.DefaultEnvars(envPrefix),
		kong.PostBuild(fixEnvNames),
		kong.Resolvers(layer.resolver(lookup)),
	)
}

// fixEnvNames renames the variables kong derives from "s3-…" flags,
// CORPUS_AUDIT_S_3_ENDPOINT, to what people type: CORPUS_AUDIT_S3_ENDPOINT.
func fixEnvNames(k *kong.Kong) error {
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			for i, e := range f.Envs {
				f.Envs[i] = strings.ReplaceAll(e, "_S_3_", "_S3_")
			}
			for i, e := range f.Tag.Envs {
				f.Tag.Envs[i] = strings.ReplaceAll(e, "_S_3_", "_S3_")
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(k.Model.Node)
	return nil
}

// handleSignals returns the context a command runs in. SIGTERM (a
// Kubernetes eviction) or an interrupt cancels it; a command that
// checkpoints stops at its next checkpoint on the first signal instead,
// and only a second one cancels it.
func handleSignals(cmd any, log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	graceful := false
	if g, ok := cmd.(gracefulCmd); ok {
		graceful = g.graceful()
	}
	go func() {
		n := 0
		for sig := range sigs {
			n++
			if graceful && n == 1 {
				log.Warn("signal received: stopping at the next checkpoint (send it again to stop at once)", "signal", sig.String())
				close(stopRequested)
				continue
			}
			log.Warn("signal received: stopping", "signal", sig.String())
			cancel()
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}

func columnsOf(cfg config.Config) map[string]string {
	c := cfg.ScanColumns()
	return map[string]string{
		schema.ColContentID: c.ContentID, schema.ColAuthorID: c.AuthorID, schema.ColPlatform: c.Platform,
		schema.ColContentType: c.ContentType, schema.ColVisibility: c.Visibility, schema.ColCreatedAt: c.CreatedAt,
	}
}
