// Command lakegen writes a synthetic data lake with planted leaks and its
// ground truth (see package lakegen).
//
//	lakegen -out /tmp/lake -rows 20000000 -files 10 -accounts 5000000 -links 2000000 -objections 300000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/corpus-audit/corpus-audit/lakegen"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	d := lakegen.DefaultOptions()
	fs := flag.NewFlagSet("lakegen", flag.ContinueOnError)
	out := fs.String("out", "", "output folder (required)")
	o := d
	fs.Int64Var(&o.Seed, "seed", d.Seed, "seed: the same options and seed give byte-identical files")
	fs.StringVar(&o.Snapshot, "snapshot", d.Snapshot, "snapshot date YYYY-MM-DD (snapshot_at is 00:00 UTC)")
	fs.Int64Var(&o.Rows, "rows", d.Rows, "corpus rows")
	fs.IntVar(&o.Files, "files", d.Files, "corpus files")
	fs.Int64Var(&o.RowGroupRows, "row-group-rows", d.RowGroupRows, "most rows per row group (capped by rows per file)")
	fs.Int64Var(&o.Accounts, "accounts", d.Accounts, "accounts")
	fs.Int64Var(&o.Links, "links", 0, "links table rows (0: accounts*2/5)")
	fs.Int64Var(&o.Objections, "objections", 0, "objections table rows (0: accounts*3/50)")
	fs.Float64Var(&o.LeakRate, "leak-rate", d.LeakRate, "share of random corpus rows that are planted leaks")
	noEdges := fs.Bool("no-edges", false, "leave out the planted edge rows")
	fs.StringVar(&o.Codec, "codec", d.Codec, "Parquet codec: snappy, zstd, gzip, lz4, brotli, none")
	fs.StringVar(&o.Writers, "writers", d.Writers, "corpus Parquet writer: parquet-go, arrow, mixed")
	fs.StringVar(&o.TablesFormat, "tables-format", d.TablesFormat, "lookup tables format: parquet, csv")
	fs.BoolVar(&o.ContentIDInt, "content-id-int", false, "int64 content ids instead of strings")
	fs.BoolVar(&o.SparseIDs, "sparse-ids", false, "account ids spread over 63 bits instead of consecutive")
	fs.StringVar(&o.Timestamp, "timestamp", d.Timestamp, "created_at encoding: micros, millis, nanos, int96")
	truth := fs.Bool("truth", true, "write the ground truth")
	fs.BoolVar(&o.Overwrite, "overwrite", false, "replace an existing snapshot of the same date and the tables")
	fs.IntVar(&o.Workers, "workers", 0, "files written at once (0: GOMAXPROCS)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "lakegen: -out is required and no arguments are taken")
		fs.Usage()
		return 2
	}
	o.NoEdges, o.NoTruth = *noEdges, !*truth

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "lakegen:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "lakegen:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	res, err := lakegen.Generate(ctx, *out, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var rgs int
	for _, f := range res.Corpus {
		rgs += f.RowGroups
	}
	fmt.Fprintf(os.Stderr, "lakegen: wrote %d rows in %d files (%d row groups) and %d+%d+%d table rows to %s in %s\n",
		res.Options.Rows, len(res.Corpus), rgs, res.Tables[0].Rows, res.Tables[1].Rows, res.Tables[2].Rows, *out, time.Since(start).Round(time.Millisecond))
	if res.Truth != nil {
		fmt.Fprintf(os.Stderr, "lakegen: truth: %d flagged %v (%s)\n", res.Truth.Flagged, res.Truth.ByCategory, res.TruthCSV)
	}
	return 0
}
