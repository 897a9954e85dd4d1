// Command corpus-bench measures corpus-audit against a DuckDB audit of the
// same lake: the issue "Fast at corpus scale: beat a DuckDB audit of the
// same lake".
//
// It generates a benchmark lake with bin/lakegen (once; cached under
// bench/cache/<params-hash>/), then runs `bin/corpus-audit run` and the
// DuckDB audit (AuditSQL, in a child process: this binary re-executed with a
// hidden subcommand) alternately, -runs times each, each in its own child
// process so that wall time, CPU time (user+sys) and peak RSS come from the
// kernel's accounting of that process (wait4 rusage). After every pair it
// checks with DuckDB that both wrote the same multiset of (content_id,
// sorted categories); a mismatch fails the bench (exit 1) with examples.
// It prints the figures and the corpus-audit/DuckDB ratios of the medians,
// and writes them as JSON (-results).
//
// This is a module of its own (github.com/corpus-audit/corpus-audit/bench)
// so that DuckDB and arrow-go/v18 never enter corpus-audit's module graph;
// for the same reason it does not import corpus-audit's packages (which link
// arrow/go/v17) and runs bin/lakegen and bin/corpus-audit as subprocesses.
//
// Usage, from the repository root (`make bench` builds and runs it):
//
//	bin/corpus-bench [-runs 5] [-rows 20000000 -files 10 -accounts 5000000 ...]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == duckdbSubcommand {
		os.Exit(duckdbChild(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == compareSubcommand {
		os.Exit(compareChild(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(benchMain(os.Args[1:], os.Stdout, os.Stderr))
}

// config is the bench's command line.
type config struct {
	Lake        LakeParams
	Runs        int
	Root        string
	Lakegen     string
	CorpusAudit string
	Cache       string
	Results     string
	Only        string
	AuditFlags  []string
	Keep, Regen bool
	Examples    int
	// DuckDBObjected is the DuckDB query's form of the objected test
	// (AuditInputs.Objected).
	DuckDBObjected string
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

const (
	toolAudit  = "corpus-audit"
	toolDuckDB = "duckdb"
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{Lake: DefaultLakeParams()}
	d := c.Lake
	fs := flag.NewFlagSet("corpus-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "corpus-bench: corpus-audit against a DuckDB audit of the same generated lake.\n\nUsage: bin/corpus-bench [flags]   (from the repository root; `make bench`)\n\nFlags:")
		fs.PrintDefaults()
	}
	p := &c.Lake
	fs.Int64Var(&p.Rows, "rows", d.Rows, "lake: corpus rows")
	fs.IntVar(&p.Files, "files", d.Files, "lake: corpus files")
	fs.Int64Var(&p.RowGroupRows, "row-group-rows", d.RowGroupRows, "lake: most rows per row group")
	fs.Int64Var(&p.Accounts, "accounts", d.Accounts, "lake: accounts")
	fs.Int64Var(&p.Links, "links", d.Links, "lake: links table rows")
	fs.Int64Var(&p.Objections, "objections", d.Objections, "lake: objections table rows")
	fs.Float64Var(&p.LeakRate, "leak-rate", d.LeakRate, "lake: share of random corpus rows that are planted leaks")
	fs.StringVar(&p.Codec, "codec", d.Codec, "lake: Parquet codec (snappy, zstd, gzip, lz4, brotli, none)")
	fs.StringVar(&p.Writers, "writers", d.Writers, "lake: corpus writer (parquet-go, arrow, mixed)")
	fs.StringVar(&p.TablesFormat, "tables-format", d.TablesFormat, "lake: lookup tables format (parquet, csv)")
	fs.StringVar(&p.Timestamp, "timestamp", d.Timestamp, "lake: created_at encoding (micros, millis, nanos, int96)")
	fs.BoolVar(&p.ContentIDInt, "content-id-int", d.ContentIDInt, "lake: int64 content ids")
	fs.BoolVar(&p.SparseIDs, "sparse-ids", d.SparseIDs, "lake: account ids spread over 63 bits (the audit's hashed index)")
	fs.Int64Var(&p.Seed, "seed", d.Seed, "lake: generator seed")
	fs.StringVar(&p.Snapshot, "snapshot", d.Snapshot, "lake: snapshot date YYYY-MM-DD")
	fs.BoolVar(&p.Truth, "truth", d.Truth, "lake: also write lakegen's ground truth and check both audits against it (slower generation)")
	fs.IntVar(&c.Runs, "runs", 5, "runs of each tool (alternating); medians of 5 resist a shared machine's swings better than of 3")
	fs.StringVar(&c.Root, "root", "", "repository root (default: . or .., whichever holds bench/go.mod)")
	fs.StringVar(&c.Lakegen, "lakegen", "", "lakegen binary (default <root>/bin/lakegen)")
	fs.StringVar(&c.CorpusAudit, "corpus-audit", "", "corpus-audit binary (default <root>/bin/corpus-audit)")
	fs.StringVar(&c.Cache, "cache", "", "folder of cached lakes and run outputs (default <root>/bench/cache)")
	fs.StringVar(&c.Results, "results", "", "JSON results file (default <root>/bench/results/latest.json, or duckdb-left-join.json with -duckdb-objected left-join; \"-\" for none)")
	fs.StringVar(&c.Only, "only", "", "run one tool only: corpus-audit or duckdb (no cross-check then)")
	fs.Var((*listFlag)(&c.AuditFlags), "audit-flag", "extra argument for `corpus-audit run` (repeatable), e.g. -audit-flag=--workers=2")
	fs.BoolVar(&c.Keep, "keep", false, "keep the run outputs (findings) under the cache folder")
	fs.BoolVar(&c.Regen, "regen", false, "regenerate the lake even if cached")
	fs.IntVar(&c.Examples, "examples", 10, "differing rows shown on a mismatch")
	fs.StringVar(&c.DuckDBObjected, "duckdb-objected", ObjectedSemiJoin, "how the DuckDB query tests the objected set: "+ObjectedSemiJoin+" (the baseline) or "+ObjectedLeftJoin+" (for information: DuckDB then builds its hash table on the corpus)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("corpus-bench takes no arguments (got %q)", fs.Args())
	}
	if c.Runs < 1 {
		return c, fmt.Errorf("-runs %d: want at least 1", c.Runs)
	}
	switch c.DuckDBObjected {
	case ObjectedSemiJoin, ObjectedLeftJoin:
	default:
		return c, fmt.Errorf("-duckdb-objected %q: want %s or %s", c.DuckDBObjected, ObjectedSemiJoin, ObjectedLeftJoin)
	}
	switch c.Only {
	case "", toolAudit, toolDuckDB:
	default:
		return c, fmt.Errorf("-only %q: want corpus-audit or duckdb", c.Only)
	}
	if c.DuckDBObjected != ObjectedSemiJoin && c.Only == toolAudit {
		return c, fmt.Errorf("-duckdb-objected %s: -only %s runs no DuckDB audit", c.DuckDBObjected, toolAudit)
	}
	if c.Root == "" {
		c.Root = "."
		if !exists(filepath.Join("bench", "go.mod")) && exists(filepath.Join("..", "bench", "go.mod")) {
			c.Root = ".."
		}
	}
	def := func(s *string, rel ...string) {
		if *s == "" {
			*s = filepath.Join(append([]string{c.Root}, rel...)...)
		}
	}
	def(&c.Lakegen, "bin", "lakegen")
	def(&c.CorpusAudit, "bin", "corpus-audit")
	def(&c.Cache, "bench", "cache")
	// latest.json holds the baseline's figures; the other form's go beside.
	if c.DuckDBObjected == ObjectedSemiJoin {
		def(&c.Results, "bench", "results", "latest.json")
	} else {
		def(&c.Results, "bench", "results", "duckdb-"+c.DuckDBObjected+".json")
	}
	return c, nil
}

// Run is one measured child process.
type Run struct {
	Tool        string  `json:"tool"`
	Index       int     `json:"run"`
	WallSeconds float64 `json:"wall_s"`
	UserSeconds float64 `json:"user_s"`
	SysSeconds  float64 `json:"sys_s"`
	CPUSeconds  float64 `json:"cpu_s"`
	CPUPerWall  float64 `json:"cpu_per_wall"`
	MaxRSSKiB   int64   `json:"max_rss_kib"`
	// BenchRSSKiB is the bench's own peak RSS when it started the run.
	// Linux folds the parent's peak into a child's ru_maxrss at exec (the
	// child starts on the parent's memory, Go forking with CLONE_VM), so a
	// MaxRSSKiB at or below it measures the bench, not the tool; the bench
	// therefore stays small, comparing findings in child processes too.
	BenchRSSKiB int64 `json:"bench_rss_kib"`
	// RSSIsBench: MaxRSSKiB is no more than BenchRSSKiB, so it may be the
	// bench's figure, not the tool's.
	RSSIsBench bool    `json:"rss_is_bench,omitempty"`
	RowsPerSec float64 `json:"rows_per_s"`
	Findings   int64   `json:"findings"`
	ExitCode   int     `json:"exit_code"`
	// QuerySeconds is DuckDB's own time for the COPY statement (child
	// start-up and connection excluded); 0 for corpus-audit.
	QuerySeconds float64 `json:"query_s,omitempty"`
}

// Target is one of the performance targets, judged on the
// medians: Value must be at most Limit (AtLeast: at least Limit).
type Target struct {
	What    string  `json:"what"`
	Value   float64 `json:"value"`
	Limit   float64 `json:"limit"`
	AtLeast bool    `json:"at_least,omitempty"`
	Met     bool    `json:"met"`
}

// targets judges the medians against the targets of "Fast at corpus
// scale": wall time <= 0.5x DuckDB's, peak RSS <= 0.25x DuckDB's, CPU
// time / wall time >= 1.7. They are reported, not enforced: the exit
// code stays about identical findings.
func targets(res *Results) []Target {
	var out []Target
	add := func(what string, v, limit float64, atLeast bool) {
		met := v <= limit
		if atLeast {
			met = v >= limit
		}
		out = append(out, Target{What: what, Value: v, Limit: limit, AtLeast: atLeast, Met: met})
	}
	if r := res.Ratios; r != nil {
		add("wall time / DuckDB's", r.Wall, 0.5, false)
		add("peak RSS / DuckDB's", r.MaxRSS, 0.25, false)
	}
	if a, ok := res.Medians[toolAudit]; ok {
		add("corpus-audit CPU time / wall time", a.CPUPerWall, 1.7, true)
	}
	return out
}

// Stats are the medians over one tool's runs.
type Stats struct {
	Runs        int     `json:"runs"`
	WallSeconds float64 `json:"wall_s"`
	CPUSeconds  float64 `json:"cpu_s"`
	CPUPerWall  float64 `json:"cpu_per_wall"`
	MaxRSSKiB   float64 `json:"max_rss_kib"`
	RowsPerSec  float64 `json:"rows_per_s"`
}

// Ratios are corpus-audit's medians over DuckDB's (below 1: corpus-audit
// is faster or smaller). PairedWall is, for information, the median over
// runs i of corpus-audit's run i over DuckDB's run i: the two ran one
// after the other, so on a shared machine each pair saw about the same
// load. The targets are judged on the ratios of the medians.
type Ratios struct {
	Wall       float64 `json:"wall"`
	MaxRSS     float64 `json:"max_rss"`
	CPU        float64 `json:"cpu"`
	PairedWall float64 `json:"paired_wall,omitempty"`
}

// Machine describes where the bench ran.
type Machine struct {
	NProc     int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	MemTotal  int64  `json:"mem_total_bytes"`
	OS        string `json:"os"`
	GoVersion string `json:"go_version"`
	// LoadAvg is /proc/loadavg before and after the runs: the machine may
	// be shared, and a load above NProc means the figures are inflated.
	LoadAvgBefore string `json:"loadavg_before,omitempty"`
	LoadAvgAfter  string `json:"loadavg_after,omitempty"`
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Results is the JSON results file.
type Results struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	OK       bool      `json:"ok"`
	Error    string    `json:"error,omitempty"`
	Machine  Machine   `json:"machine"`
	Lake     struct {
		Params          LakeParams `json:"params"`
		Hash            string     `json:"hash"`
		Dir             string     `json:"dir"`
		CorpusBytes     int64      `json:"corpus_bytes"`
		Cached          bool       `json:"cached"`
		GenerateSeconds float64    `json:"generate_s,omitempty"`
		Truth           bool       `json:"truth"`
	} `json:"lake"`
	Versions struct {
		CorpusAudit       string `json:"corpus_audit,omitempty"`
		DuckDB            string `json:"duckdb,omitempty"`
		DuckDBThreads     string `json:"duckdb_threads,omitempty"`
		DuckDBMemoryLimit string `json:"duckdb_memory_limit,omitempty"`
		// DuckDBObjected is AuditInputs.Objected of the DuckDB runs.
		DuckDBObjected string `json:"duckdb_objected,omitempty"`
	} `json:"versions"`
	AuditArgs []string         `json:"audit_args,omitempty"`
	Runs      []Run            `json:"runs"`
	Medians   map[string]Stats `json:"medians"`
	Ratios    *Ratios          `json:"ratios_corpus_audit_over_duckdb,omitempty"`
	Targets   []Target         `json:"targets,omitempty"`
	Checks    []comparison     `json:"checks"`
}

// errMismatch marks a failed cross-check.
var errMismatch = errors.New("findings differ")

func benchMain(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "corpus-bench:", err)
		return 2
	}
	res := &Results{Started: time.Now().UTC(), Machine: machine(), Medians: map[string]Stats{}}
	res.Machine.LoadAvgBefore = loadAvg()
	err = bench(context.Background(), c, res, stdout, stderr)
	res.Finished = time.Now().UTC()
	res.Machine.LoadAvgAfter = loadAvg()
	res.OK = err == nil
	if err != nil {
		res.Error = err.Error()
	}
	if len(res.Runs) > 0 {
		printResults(stdout, res)
	}
	if c.Results != "-" {
		if werr := writeJSON(c.Results, res); werr != nil {
			fmt.Fprintln(stderr, "corpus-bench:", werr)
			if err == nil {
				return 2
			}
		} else {
			fmt.Fprintln(stdout, "results:", c.Results)
		}
	}
	switch {
	case errors.Is(err, errMismatch):
		fmt.Fprintln(stderr, "corpus-bench: FAILED:", err)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "corpus-bench:", err)
		return 2
	}
	return 0
}

func bench(ctx context.Context, c config, res *Results, stdout, stderr io.Writer) error {
	runAudit, runDuck := c.Only != toolDuckDB, c.Only != toolAudit
	if runAudit && !exists(c.CorpusAudit) {
		return fmt.Errorf("%s not found: run `make build` first (or -only duckdb)", c.CorpusAudit)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	at, err := c.Lake.snapshotAt()
	if err != nil {
		return err
	}
	lake, err := ensureLake(c.Lakegen, c.Cache, c.Lake, c.Regen, stdout)
	if err != nil {
		return err
	}
	res.Lake.Params, res.Lake.Hash, res.Lake.Dir = c.Lake, c.Lake.Hash(), lake.Dir
	res.Lake.CorpusBytes, res.Lake.Cached, res.Lake.GenerateSeconds, res.Lake.Truth = lake.CorpusBytes, lake.Cached, lake.GenerateSeconds, lake.Truth != ""
	fmt.Fprintf(stdout, "lake: %s (%s)\n", lake.Dir, map[bool]string{true: "cached", false: fmt.Sprintf("generated in %.1f s", lake.GenerateSeconds)}[lake.Cached])

	if runAudit {
		var out bytes.Buffer
		cmd := exec.Command(c.CorpusAudit, "version")
		cmd.Stdout = &out
		if err := cmd.Run(); err == nil {
			res.Versions.CorpusAudit = strings.TrimSpace(out.String())
		}
	}

	runDir, err := os.MkdirTemp(c.Cache, "run-")
	if err != nil {
		return err
	}
	if !c.Keep {
		defer os.RemoveAll(runDir)
	} else {
		fmt.Fprintln(stdout, "run outputs kept in", runDir)
	}

	auditArgs := func(out string) []string {
		a := []string{"run", "--corpus", lake.Corpus, "--ages", lake.Ages, "--objections", lake.Objections,
			"--links", lake.Links, "--out", out, "--no-hash"}
		return append(a, c.AuditFlags...)
	}
	res.AuditArgs = auditArgs(filepath.Join(runDir, "audit-N"))
	duckArgs := func(out string) []string {
		return []string{duckdbSubcommand, "-corpus", lake.Corpus, "-ages", lake.Ages, "-objections", lake.Objections,
			"-links", lake.Links, "-snapshot", c.Lake.Snapshot, "-snapshot-at", at.Format(time.RFC3339Nano), "-out", out, "-objected", c.DuckDBObjected}
	}
	rows := c.Lake.Rows

	for i := range c.Runs {
		var auditOut, duckOut string
		if runAudit {
			auditOut = filepath.Join(runDir, fmt.Sprintf("audit-%d", i))
			r, stdoutText, err := measure(ctx, toolAudit, c.CorpusAudit, auditArgs(auditOut), filepath.Join(runDir, fmt.Sprintf("audit-%d.log", i)))
			if err != nil {
				return err
			}
			if r.ExitCode != 0 && r.ExitCode != 1 {
				return fmt.Errorf("corpus-audit run %d failed (exit %d): %s; log: %s", i+1, r.ExitCode, strings.TrimSpace(stdoutText), tail(filepath.Join(runDir, fmt.Sprintf("audit-%d.log", i))))
			}
			sum, err := readSummary(filepath.Join(auditOut, "summary.json"))
			if err != nil {
				return fmt.Errorf("corpus-audit run %d: %w", i+1, err)
			}
			if sum.Counts.RowsScanned != rows {
				return fmt.Errorf("corpus-audit run %d judged %d rows, the lake has %d (status %s)", i+1, sum.Counts.RowsScanned, rows, sum.Status)
			}
			r.Index, r.Findings = i+1, sum.Counts.RowsFlagged
			r.RowsPerSec = float64(rows) / r.WallSeconds
			res.Runs = append(res.Runs, r)
			printRun(stdout, r)
		}
		if runDuck {
			duckOut = filepath.Join(runDir, fmt.Sprintf("duckdb-%d.parquet", i))
			logPath := filepath.Join(runDir, fmt.Sprintf("duckdb-%d.log", i))
			r, stdoutText, err := measure(ctx, toolDuckDB, self, duckArgs(duckOut), logPath)
			if err != nil {
				return err
			}
			if r.ExitCode != 0 {
				return fmt.Errorf("DuckDB audit run %d failed (exit %d): %s", i+1, r.ExitCode, tail(logPath))
			}
			var rep childReport
			if err := json.Unmarshal([]byte(stdoutText), &rep); err != nil {
				return fmt.Errorf("DuckDB audit run %d: report %q: %w", i+1, stdoutText, err)
			}
			res.Versions.DuckDB, res.Versions.DuckDBThreads, res.Versions.DuckDBMemoryLimit = rep.DuckDBVersion, rep.Threads, rep.MemoryLimit
			res.Versions.DuckDBObjected = c.DuckDBObjected
			r.Index, r.Findings, r.QuerySeconds = i+1, rep.RowsOut, rep.QuerySeconds
			r.RowsPerSec = float64(rows) / r.WallSeconds
			res.Runs = append(res.Runs, r)
			printRun(stdout, r)
		}

		// Checks, outside the measured processes.
		if runAudit && runDuck {
			cmp, err := compareInChild(ctx, self, fmt.Sprintf("run %d: corpus-audit vs DuckDB", i+1),
				toolAudit, findingsSelect(filepath.Join(auditOut, "findings", "*.parquet")),
				toolDuckDB, findingsSelect(duckOut), c.Examples)
			if err != nil {
				return err
			}
			res.Checks = append(res.Checks, cmp)
			cmp.print(stdout)
			if !cmp.Equal {
				return fmt.Errorf("%w: run %d: corpus-audit and DuckDB disagree (only corpus-audit %d, only DuckDB %d)", errMismatch, i+1, cmp.OnlyA, cmp.OnlyB)
			}
		}
		if i == 0 && lake.Truth != "" {
			for _, side := range []struct{ name, sel string }{
				{toolAudit, findingsSelect(filepath.Join(auditOut, "findings", "*.parquet"))},
				{toolDuckDB, findingsSelect(duckOut)},
			} {
				if (side.name == toolAudit && !runAudit) || (side.name == toolDuckDB && !runDuck) {
					continue
				}
				cmp, err := compareInChild(ctx, self, side.name+" vs truth", side.name, side.sel, "truth", truthSelect(lake.Truth), c.Examples)
				if err != nil {
					return err
				}
				res.Checks = append(res.Checks, cmp)
				cmp.print(stdout)
				if !cmp.Equal {
					return fmt.Errorf("%w: %s disagrees with lakegen's truth", errMismatch, side.name)
				}
			}
		}
		// Only the newest outputs are needed: keep the disk use flat.
		if !c.Keep {
			_ = os.RemoveAll(auditOut)
			_ = os.Remove(duckOut)
		}
	}
	summarize(res)
	return nil
}

// measure runs one child process and returns its kernel-accounted wall
// time, CPU time and peak RSS, and its stdout. Its stderr goes to logPath.
// A non-zero exit is returned in Run.ExitCode, not as an error.
func measure(ctx context.Context, tool, bin string, args []string, logPath string) (Run, string, error) {
	r := Run{Tool: tool}
	logf, err := os.Create(logPath)
	if err != nil {
		return r, "", err
	}
	defer logf.Close()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, logf
	r.BenchRSSKiB = selfPeakRSSKiB()
	start := time.Now()
	err = cmd.Run()
	r.WallSeconds = time.Since(start).Seconds()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return r, "", fmt.Errorf("%s: %w", bin, err)
	}
	ps := cmd.ProcessState
	r.ExitCode = ps.ExitCode()
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return r, "", fmt.Errorf("%s: no rusage on this platform", bin)
	}
	r.UserSeconds = time.Duration(ru.Utime.Nano()).Seconds()
	r.SysSeconds = time.Duration(ru.Stime.Nano()).Seconds()
	r.CPUSeconds = r.UserSeconds + r.SysSeconds
	r.CPUPerWall = r.CPUSeconds / r.WallSeconds
	r.MaxRSSKiB = int64(ru.Maxrss) // KiB on Linux
	r.RSSIsBench = r.BenchRSSKiB > 0 && r.MaxRSSKiB <= r.BenchRSSKiB
	return r, out.String(), nil
}

// selfPeakRSSKiB returns this process's peak RSS (VmHWM), or 0 if unknown.
func selfPeakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
				return kib
			}
		}
	}
	return 0
}

// auditSummary is the part of corpus-audit's summary.json the bench reads.
type auditSummary struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Counts struct {
		RowsInFiles int64 `json:"rows_in_files"`
		RowsScanned int64 `json:"rows_scanned"`
		RowsFlagged int64 `json:"rows_flagged"`
	} `json:"counts"`
}

func readSummary(path string) (auditSummary, error) {
	var s auditSummary
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if s.Status != "findings" && s.Status != "clean" {
		return s, fmt.Errorf("%s: status %q: %s", path, s.Status, s.Error)
	}
	return s, nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// summarize fills the medians and the ratios.
func summarize(res *Results) {
	for _, tool := range []string{toolAudit, toolDuckDB} {
		var wall, cpu, cpw, rss, rps []float64
		for _, r := range res.Runs {
			if r.Tool != tool {
				continue
			}
			wall, cpu, cpw = append(wall, r.WallSeconds), append(cpu, r.CPUSeconds), append(cpw, r.CPUPerWall)
			rss, rps = append(rss, float64(r.MaxRSSKiB)), append(rps, r.RowsPerSec)
		}
		if len(wall) == 0 {
			continue
		}
		res.Medians[tool] = Stats{Runs: len(wall), WallSeconds: median(wall), CPUSeconds: median(cpu), CPUPerWall: median(cpw), MaxRSSKiB: median(rss), RowsPerSec: median(rps)}
	}
	a, okA := res.Medians[toolAudit]
	d, okD := res.Medians[toolDuckDB]
	if okA && okD {
		res.Ratios = &Ratios{Wall: a.WallSeconds / d.WallSeconds, MaxRSS: a.MaxRSSKiB / d.MaxRSSKiB, CPU: a.CPUSeconds / d.CPUSeconds}
		res.Ratios.PairedWall = pairedWall(res.Runs)
	}
	res.Targets = targets(res)
}

// pairedWall is the median of corpus-audit's wall time over DuckDB's in
// runs of the same index; 0 if no run index has both.
func pairedWall(runs []Run) float64 {
	duck := map[int]float64{}
	for _, r := range runs {
		if r.Tool == toolDuckDB && r.WallSeconds > 0 {
			duck[r.Index] = r.WallSeconds
		}
	}
	var q []float64
	for _, r := range runs {
		if d, ok := duck[r.Index]; ok && r.Tool == toolAudit {
			q = append(q, r.WallSeconds/d)
		}
	}
	if len(q) == 0 {
		return 0
	}
	return median(q)
}

func printRun(w io.Writer, r Run) {
	fmt.Fprintf(w, "  %s run %d: wall %.2f s, CPU %.2f s, peak RSS %.0f MiB, %d findings\n",
		r.Tool, r.Index, r.WallSeconds, r.CPUSeconds, float64(r.MaxRSSKiB)/1024, r.Findings)
	if r.RSSIsBench {
		fmt.Fprintf(w, "  WARNING: that peak RSS is no more than the bench's own (%.0f MiB), which Linux counts in it: it may be the bench's, not %s's\n",
			float64(r.BenchRSSKiB)/1024, r.Tool)
	}
}

// printResults writes the human-readable report.
func printResults(w io.Writer, res *Results) {
	m := res.Machine
	p := res.Lake.Params
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %.1f GiB RAM, %s, %s; load average %s before, %s after\n",
		m.NProc, m.CPUModel, float64(m.MemTotal)/(1<<30), m.OS, m.GoVersion, m.LoadAvgBefore, m.LoadAvgAfter)
	fmt.Fprintf(w, "lake:    %s rows in %d files (%s-row groups, %s, %s writers, created_at %s), %s accounts, %s links, %s objections, leak rate %g, seed %d, snapshot %s; corpus %.2f GiB; truth %v\n",
		group(p.Rows), p.Files, group(p.RowGroupRows), p.Codec, p.Writers, p.Timestamp, group(p.Accounts), group(p.Links), group(p.Objections), p.LeakRate, p.Seed, p.Snapshot,
		float64(res.Lake.CorpusBytes)/(1<<30), res.Lake.Truth)
	if v := res.Versions; v.CorpusAudit != "" {
		fmt.Fprintf(w, "tools:   %s\n", v.CorpusAudit)
	}
	if v := res.Versions; v.DuckDB != "" {
		fmt.Fprintf(w, "tools:   DuckDB %s (threads %s, memory_limit %s), objected set tested by %s\n", v.DuckDB, v.DuckDBThreads, v.DuckDBMemoryLimit, v.DuckDBObjected)
	}
	fmt.Fprintf(w, "\n%-13s %4s %9s %9s %9s %8s %12s %11s %10s\n", "tool", "run", "rows/s", "wall s", "CPU s", "CPU/wall", "peak RSS MiB", "findings", "exit")
	for _, r := range res.Runs {
		fmt.Fprintf(w, "%-13s %4d %9s %9.2f %9.2f %8.2f %12.0f %11d %10d\n", r.Tool, r.Index, mrows(r.RowsPerSec), r.WallSeconds, r.CPUSeconds, r.CPUPerWall, float64(r.MaxRSSKiB)/1024, r.Findings, r.ExitCode)
	}
	for _, tool := range []string{toolAudit, toolDuckDB} {
		s, ok := res.Medians[tool]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "%-13s %4s %9s %9.2f %9.2f %8.2f %12.0f   (median of %d)\n", tool, "med", mrows(s.RowsPerSec), s.WallSeconds, s.CPUSeconds, s.CPUPerWall, s.MaxRSSKiB/1024, s.Runs)
	}
	if r := res.Ratios; r != nil {
		fmt.Fprintf(w, "\ncorpus-audit / DuckDB (medians): wall time %.2f, peak RSS %.2f, CPU time %.2f\n", r.Wall, r.MaxRSS, r.CPU)
		if r.PairedWall > 0 {
			fmt.Fprintf(w, "corpus-audit / DuckDB wall time, median of the runs' pairs: %.2f (for information; the targets use the medians)\n", r.PairedWall)
		}
	}
	if len(res.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets (medians; load averages above):")
		if o := res.Versions.DuckDBObjected; o != "" && o != ObjectedSemiJoin {
			fmt.Fprintf(w, "  (against the DuckDB query with the objected test as a %s, for information: the baseline is the %s)\n", o, ObjectedSemiJoin)
		}
		for _, t := range res.Targets {
			op, verdict := "<=", "NOT MET"
			if t.AtLeast {
				op = ">="
			}
			if t.Met {
				verdict = "met"
			}
			fmt.Fprintf(w, "  %-36s %5.2f  (target %s %.2f)  %s\n", t.What, t.Value, op, t.Limit, verdict)
		}
	}
	if !res.OK {
		fmt.Fprintf(w, "\nFAILED: %s\n", res.Error)
	}
}

// mrows formats rows/s in millions.
func mrows(v float64) string { return fmt.Sprintf("%.2fM", v/1e6) }

// group formats n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + group(-n)
	}
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

// machine reads nproc, the CPU model and the memory size.
func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
				m.MemTotal = kb * 1024
			}
		}
	}
	return m
}

// writeJSON writes v to path atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
