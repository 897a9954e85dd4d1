package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LakeParams are the bin/lakegen flags of the benchmark lake. The lake is
// cached under <cache>/<Hash()>: the same parameters reuse it.
type LakeParams struct {
	Seed         int64   `json:"seed"`
	Snapshot     string  `json:"snapshot"`
	Rows         int64   `json:"rows"`
	Files        int     `json:"files"`
	RowGroupRows int64   `json:"row_group_rows"`
	Accounts     int64   `json:"accounts"`
	Links        int64   `json:"links"`
	Objections   int64   `json:"objections"`
	LeakRate     float64 `json:"leak_rate"`
	Codec        string  `json:"codec"`
	Writers      string  `json:"writers"`
	TablesFormat string  `json:"tables_format"`
	Timestamp    string  `json:"timestamp"`
	ContentIDInt bool    `json:"content_id_int"`
	// SparseIDs: account ids spread over 63 bits (lakegen -sparse-ids).
	// Omitted when false, so that the lakes cached before it keep their
	// names.
	SparseIDs bool `json:"sparse_ids,omitempty"`
	// Truth writes lakegen's ground truth too (slower to generate); when
	// present, both audits are also checked against it.
	Truth bool `json:"truth"`
}

// DefaultLakeParams are the benchmark lake: 20 M rows in 10 files
// of 1 M-row groups, snappy, 5 M accounts, 2 M links, 300 k objections.
func DefaultLakeParams() LakeParams {
	return LakeParams{
		Seed: 1, Snapshot: "2026-06-01",
		Rows: 20_000_000, Files: 10, RowGroupRows: 1_000_000,
		Accounts: 5_000_000, Links: 2_000_000, Objections: 300_000,
		LeakRate: 0.05, Codec: "snappy", Writers: "mixed", TablesFormat: "parquet", Timestamp: "micros",
	}
}

// lakeFormat is bumped when the cache layout or the meaning of the
// parameters changes, so old cached lakes are not reused.
const lakeFormat = 1

// Hash names the cached lake: 16 hex digits of the SHA-256 of the
// parameters.
func (p LakeParams) Hash() string {
	b, _ := json.Marshal(struct {
		Format int `json:"format"`
		LakeParams
	}{lakeFormat, p})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// Args returns the bin/lakegen arguments writing the lake into out.
func (p LakeParams) Args(out string) []string {
	a := []string{
		"-out", out,
		"-seed", strconv.FormatInt(p.Seed, 10),
		"-snapshot", p.Snapshot,
		"-rows", strconv.FormatInt(p.Rows, 10),
		"-files", strconv.Itoa(p.Files),
		"-row-group-rows", strconv.FormatInt(p.RowGroupRows, 10),
		"-accounts", strconv.FormatInt(p.Accounts, 10),
		"-links", strconv.FormatInt(p.Links, 10),
		"-objections", strconv.FormatInt(p.Objections, 10),
		"-leak-rate", strconv.FormatFloat(p.LeakRate, 'g', -1, 64),
		"-codec", p.Codec,
		"-writers", p.Writers,
		"-tables-format", p.TablesFormat,
		"-timestamp", p.Timestamp,
		"-truth=" + strconv.FormatBool(p.Truth),
	}
	if p.ContentIDInt {
		a = append(a, "-content-id-int")
	}
	if p.SparseIDs {
		a = append(a, "-sparse-ids")
	}
	return a
}

// Lake is a generated lake and the paths the audits take.
type Lake struct {
	Dir        string
	Params     LakeParams
	Corpus     string // the snapshot folder
	Ages       string
	Objections string
	Links      string
	// Truth is the truth CSV, or "" if the lake has none.
	Truth string
	// CorpusBytes is the size of the corpus's Parquet files.
	CorpusBytes int64
	// GenerateSeconds is the time bin/lakegen took, 0 if the lake was cached.
	GenerateSeconds float64
	Cached          bool
}

// lakeAt describes the lake generated with p in dir.
func lakeAt(dir string, p LakeParams) *Lake {
	l := &Lake{
		Dir: dir, Params: p,
		Corpus:     filepath.Join(dir, "corpus", "snapshot="+p.Snapshot),
		Ages:       filepath.Join(dir, "tables", "ages"),
		Objections: filepath.Join(dir, "tables", "objections"),
		Links:      filepath.Join(dir, "tables", "links"),
	}
	if t := filepath.Join(dir, "truth", "snapshot="+p.Snapshot+".csv"); exists(t) {
		l.Truth = t
	}
	return l
}

// completeMarker is written last into a cached lake's folder.
const completeMarker = "lake.json"

// ensureLake returns the lake with parameters p under cache, generating it
// with lakegen first unless a complete one is there (or regen is set).
// Generation goes to a temporary sibling folder renamed into place, so an
// interrupted generation is never taken for a lake.
func ensureLake(lakegen, cache string, p LakeParams, regen bool, log io.Writer) (*Lake, error) {
	dir := filepath.Join(cache, p.Hash())
	if !regen && exists(filepath.Join(dir, completeMarker)) {
		l := lakeAt(dir, p)
		l.Cached = true
		return l, l.measure()
	}
	if !exists(lakegen) {
		return nil, fmt.Errorf("generator %s not found: run `make build` (or `go build -o bin/ ./cmd/lakegen`) first", lakegen)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	args := p.Args(tmp)
	fmt.Fprintf(log, "generating the lake: %s %s\n", lakegen, strings.Join(args, " "))
	cmd := exec.Command(lakegen, args...)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("lakegen: %w", err)
	}
	took := time.Since(start).Seconds()
	b, _ := json.MarshalIndent(struct {
		Params    LakeParams `json:"params"`
		Args      []string   `json:"lakegen_args"`
		Generated time.Time  `json:"generated"`
		Seconds   float64    `json:"seconds"`
	}{p, args[2:], time.Now().UTC(), took}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	l := lakeAt(dir, p)
	l.GenerateSeconds = took
	return l, l.measure()
}

// measure sums the corpus's Parquet file sizes.
func (l *Lake) measure() error {
	l.CorpusBytes = 0
	return filepath.WalkDir(l.Corpus, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			info, err := d.Info()
			if err != nil {
				return err
			}
			l.CorpusBytes += info.Size()
		}
		return nil
	})
}

// snapshotAt is 00:00 UTC of the snapshot date.
func (p LakeParams) snapshotAt() (time.Time, error) {
	t, err := time.Parse(time.DateOnly, p.Snapshot)
	if err != nil {
		return t, fmt.Errorf("snapshot %q is not a date YYYY-MM-DD", p.Snapshot)
	}
	return t, nil
}
