//go:build benchs3

package jobs

// The S3 read benchmark (`make bench-s3`): the same generated lake audited
// from local disk and from the loopback S3 test server, alternately, with
// the throughput of each and their ratio. It runs only when
// CORPUS_AUDIT_BENCH_S3=1; the lake's size is set by the environment:
//
//	CORPUS_AUDIT_BENCH_S3_ROWS   corpus rows (default 5,000,000)
//	CORPUS_AUDIT_BENCH_S3_FILES  corpus files (default 10)
//	CORPUS_AUDIT_BENCH_S3_RUNS   runs of each kind (default 3)
//	CORPUS_AUDIT_BENCH_S3_LOG=1  the runs' logs on stderr
//	CORPUS_AUDIT_BENCH_S3_LATENCY  a delay before every S3 request, e.g.
//	                             30ms (default none): the S3 runs go
//	                             through a faultproxy that holds each
//	                             request that long, a stand-in for a
//	                             remote bucket's time to first byte
//	CORPUS_AUDIT_BENCH_S3_MBPS   with a latency, paces every answer to
//	                             this many MB/s (default: unpaced), a
//	                             stand-in for S3's per-connection throughput
//	CORPUS_AUDIT_BENCH_S3_AHEAD=0  no read-ahead of the next row group
//	                             (scan.File.Prefetch), for comparison
//
// The lake is generated once and kept in
// ${CORPUS_AUDIT_CACHE:-~/.cache/corpus-audit}/bench-s3/.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lake/faultproxy"
	"github.com/corpus-audit/corpus-audit/lake/s3test"
	"github.com/corpus-audit/corpus-audit/lakegen"
)

func envInt(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// benchLake returns the cached benchmark lake of the given size (rgRows
// rows per row group; 0: lakegen's default), generating it on first use.
func benchLake(t *testing.T, rows int64, files int, rgRows int64) *lakegen.Result {
	t.Helper()
	cache := os.Getenv("CORPUS_AUDIT_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "corpus-audit")
	}
	opt := lakegen.DefaultOptions()
	opt.Rows, opt.Files, opt.Accounts = rows, files, max(rows/4, 2000)
	opt.NoTruth, opt.Overwrite = true, true
	name := fmt.Sprintf("rows=%d-files=%d-accounts=%d-seed=%d", opt.Rows, opt.Files, opt.Accounts, opt.Seed)
	if rgRows > 0 {
		opt.RowGroupRows = rgRows
		name += fmt.Sprintf("-rg=%d", rgRows)
	}
	dir := filepath.Join(cache, "bench-s3", name)
	done := filepath.Join(dir, ".complete")
	res := &lakegen.Result{Out: dir, Options: opt}
	if _, err := os.Stat(done); err == nil {
		return res
	}
	t.Logf("generating the benchmark lake (%d rows, %d files) in %s", rows, files, dir)
	start := time.Now()
	got, err := lakegen.Generate(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated in %v", time.Since(start).Round(time.Millisecond))
	return got
}

// TestBenchS3 measures the audit of one lake from local disk and from the
// loopback S3 test server (corpus, tables and outputs all on S3), three
// runs each, alternately, and prints rows/s, MB/s (corpus bytes over wall
// time) and the ratio of the S3 to the local wall time (median runs).
func TestBenchS3(t *testing.T) {
	rows := envInt(t, "CORPUS_AUDIT_BENCH_S3_ROWS", 5_000_000)
	files := int(envInt(t, "CORPUS_AUDIT_BENCH_S3_FILES", 10))
	runs := int(envInt(t, "CORPUS_AUDIT_BENCH_S3_RUNS", 3))
	rg := int64(0)
	if os.Getenv("CORPUS_AUDIT_BENCH_S3_RG") != "0" {
		rg = envInt(t, "CORPUS_AUDIT_BENCH_S3_RG", 0)
	}
	var latency time.Duration
	if v := os.Getenv("CORPUS_AUDIT_BENCH_S3_LATENCY"); v != "" && v != "0" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > faultproxy.MaxDelay {
			t.Fatalf("CORPUS_AUDIT_BENCH_S3_LATENCY=%q: want a duration up to %v", v, faultproxy.MaxDelay)
		}
		latency = d
	}
	var rate int64
	if os.Getenv("CORPUS_AUDIT_BENCH_S3_MBPS") != "0" {
		rate = envInt(t, "CORPUS_AUDIT_BENCH_S3_MBPS", 0) * 1e6
	}
	if rate > 0 && latency == 0 {
		t.Fatal("CORPUS_AUDIT_BENCH_S3_MBPS needs CORPUS_AUDIT_BENCH_S3_LATENCY")
	}
	readAhead := os.Getenv("CORPUS_AUDIT_BENCH_S3_AHEAD") != "0"
	res := benchLake(t, rows, files, rg)

	corpusDir := filepath.Join(res.Out, lakegen.CorpusDir(res.Options.Snapshot))
	var corpusBytes int64
	if err := lake.NewLocal(corpusDir).Iter(context.Background(), "", func(k string, a lake.Attrs) error {
		if !skipped(k) {
			corpusBytes += a.Size
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	srv := s3test.Start(t) // a server of its own, not shared with other tests
	b, name := srv.Bucket(t)
	start := time.Now()
	uploadDir(t, b, res.Out, lakePrefix)
	t.Logf("uploaded the lake (%.1f MB of corpus) in %v", float64(corpusBytes)/1e6, time.Since(start).Round(time.Millisecond))
	l := &s3Lake{res: res, srv: srv, bucket: name, direct: b}

	var logw io.Writer = io.Discard
	if os.Getenv("CORPUS_AUDIT_BENCH_S3_LOG") == "1" {
		logw = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cpu := map[string][]time.Duration{} // this process's CPU time per run
	run := func(kind string, i int, endpoint string) time.Duration {
		var o RunOptions
		switch kind {
		case "local":
			o = runOpts(res, t.TempDir())
			// Not the SHA-256 of every corpus file: the S3 run does not
			// read the files whole either.
			o.NoHash = true
		case "s3":
			o = l.opts(fmt.Sprintf("runs/%d", i))
			o.S3.MaxBackoff = 0 // the default
			o.NoReadAhead = !readAhead
			if endpoint != "" {
				o.S3.Endpoint = endpoint
			}
		}
		o.Workers = 0 // GOMAXPROCS, as the command
		o.Now = nil
		o.Log = logger.With("run", fmt.Sprintf("%s-%d", kind, i))
		cpu0 := cpuTime()
		start := time.Now()
		sum, err := Run(context.Background(), o)
		took := time.Since(start)
		cpu[kind] = append(cpu[kind], cpuTime()-cpu0)
		if err != nil {
			t.Fatalf("%s run %d: %v", kind, i, err)
		}
		if sum.Counts.RowsScanned != rows {
			t.Fatalf("%s run %d: %d rows scanned, want %d", kind, i, sum.Counts.RowsScanned, rows)
		}
		return took
	}
	// With a latency, every S3 run goes through a proxy that delays each
	// request by it.
	endpoint := ""
	if latency > 0 {
		endpoint = faultproxy.Start(t, srv.Endpoint, faultproxy.Config{Delay: 1, DelayFor: latency, BytesPerSecond: rate}).URL
	}
	var local, remote []time.Duration
	for i := range runs {
		local = append(local, run("local", i, ""))
		remote = append(remote, run("s3", i, endpoint))
		t.Logf("run %d: local %v (CPU %v), S3 %v (CPU %v, the server's not counted)", i,
			local[i].Round(time.Millisecond), cpu["local"][i].Round(time.Millisecond),
			remote[i].Round(time.Millisecond), cpu["s3"][i].Round(time.Millisecond))
	}
	// One more S3 run, not timed, through a proxy that counts the
	// requests (and delays them by the latency).
	pc := faultproxy.Config{}
	if latency > 0 {
		pc = faultproxy.Config{Delay: 1, DelayFor: latency, BytesPerSecond: rate}
	}
	p := faultproxy.Start(t, srv.Endpoint, pc)
	t0 := time.Now()
	run("s3", runs, p.URL)
	if logw != io.Discard {
		// The requests' timeline: when each arrived, and what it asked for.
		for _, e := range p.Log() {
			fmt.Fprintf(os.Stderr, "%8.3fs %-4s %s %s\n", e.At.Sub(t0).Seconds(), e.Method, e.URL, e.Header.Get("Range"))
		}
	}
	gets, corpusGets, heads, puts, lists := 0, 0, 0, 0, 0
	for _, e := range p.Log() {
		switch {
		case e.Method == http.MethodGet && strings.Contains(e.URL, "list-type="):
			lists++
		case e.Method == http.MethodGet:
			gets++
			if k, ok := objectKey(name, e.URL); ok && strings.HasPrefix(k, l.corpusKey()+"/") {
				corpusGets++
			}
		case e.Method == http.MethodHead:
			heads++
		case e.Method == http.MethodPut:
			puts++
		}
	}
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	ml, mr := median(local), median(remote)
	line := func(kind string, d time.Duration, all []time.Duration) string {
		sec := d.Seconds()
		return fmt.Sprintf("%-6s median %8.3fs  %12.0f rows/s  %8.1f MB/s   runs %v", kind, sec, float64(rows)/sec, float64(corpusBytes)/1e6/sec, all)
	}
	fmt.Printf("bench-s3: %d rows, %d files, %.1f MB of corpus, %d runs each, GOMAXPROCS %d, S3 latency %v, %d MB/s per answer (0: unpaced), read-ahead %v\n",
		rows, files, float64(corpusBytes)/1e6, runs, runtime.GOMAXPROCS(0), latency, rate/1e6, readAhead)
	fmt.Println("bench-s3: " + line("local", ml, local))
	fmt.Println("bench-s3: " + line("s3", mr, remote))
	fmt.Printf("bench-s3: S3/local wall time %.2fx (target <= 1.50x)\n", mr.Seconds()/ml.Seconds())
	fmt.Printf("bench-s3: requests of one S3 run: %d in all, %d GET (%d of corpus objects, for %d files), %d HEAD, %d PUT, %d LIST\n",
		len(p.Log()), gets, corpusGets, files, heads, puts, lists)
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
