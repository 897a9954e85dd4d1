package jobs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/schema"
)

// firstCorpusFile returns the path of the lake's first corpus file.
func firstCorpusFile(t *testing.T, res *lakegen.Result) string {
	t.Helper()
	return filepath.Join(res.Out, res.Corpus[0].Path)
}

func writeParquet[T any](t *testing.T, path string, rows []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
}

// TestRunBadInput feeds every kind of bad input the contract names and
// checks the promise: a one-line error naming the file (and column), exit
// 2, summary.json with status incomplete, and no findings left from an
// earlier run that could be mistaken for this one's.
func TestRunBadInput(t *testing.T) {
	type rowNoAuthor struct {
		ContentID   string `parquet:"content_id"`
		Platform    string `parquet:"platform"`
		ContentType string `parquet:"content_type"`
		Visibility  string `parquet:"visibility"`
		CreatedAt   int64  `parquet:"created_at,timestamp(microsecond)"`
	}
	type rowStringTime struct {
		ContentID   string `parquet:"content_id"`
		AuthorID    int64  `parquet:"author_id"`
		Platform    string `parquet:"platform"`
		ContentType string `parquet:"content_type"`
		Visibility  string `parquet:"visibility"`
		CreatedAt   string `parquet:"created_at"`
	}
	tests := []struct {
		name string
		// mod breaks the lake or the options; want are substrings of the error.
		mod  func(t *testing.T, res *lakegen.Result, o *RunOptions)
		want []string
	}{
		{"corrupt parquet", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			p := firstCorpusFile(t, res)
			data, _ := os.ReadFile(p)
			for i := 4; i < len(data)/2; i++ { // keep the footer, scramble the pages
				data[i] ^= 0x5a
			}
			os.WriteFile(p, data, 0o644)
		}, []string{"part-00000.parquet"}},
		{"truncated parquet", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			p := firstCorpusFile(t, res)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)*2/3], 0o644)
		}, []string{"part-00000.parquet"}},
		{"missing column", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			writeParquet(t, filepath.Join(o.Corpus, "platform=x", "extra.parquet"), []rowNoAuthor{{ContentID: "a", Platform: "x", ContentType: "post", Visibility: "public"}})
		}, []string{"extra.parquet", "author_id"}},
		{"mistyped column", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			writeParquet(t, filepath.Join(o.Corpus, "platform=x", "extra.parquet"), []rowStringTime{{ContentID: "a", AuthorID: 1, CreatedAt: "yesterday"}})
		}, []string{"extra.parquet", "created_at"}},
		{"table file not parquet or csv", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			os.WriteFile(filepath.Join(o.Ages, "notes.json"), []byte(`{"a":1}`), 0o644)
		}, []string{"notes.json"}},
		{"table file named parquet but not", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			os.WriteFile(filepath.Join(o.Objections, "part-00001.parquet"), []byte("account_id,objected_at\n1,2026-01-01\n"), 0o644)
		}, []string{"part-00001.parquet"}},
		{"null key in a table", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			p := filepath.Join(t.TempDir(), "ages.csv")
			os.WriteFile(p, []byte("account_id,birth_date\n1,2000-01-01\n,1990-05-05\n"), 0o644)
			o.Ages = p
		}, []string{"ages.csv", "account_id", "row 1"}},
		{"empty snapshot", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			dir := filepath.Join(t.TempDir(), "snapshot=2026-06-01")
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644)
			o.Corpus = dir
		}, []string{"no Parquet files"}},
		{"no _SUCCESS marker", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			os.Remove(filepath.Join(o.Corpus, "_SUCCESS"))
		}, []string{"_SUCCESS", "--allow-unmarked"}},
		{"missing corpus folder", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			o.Corpus = filepath.Join(t.TempDir(), "snapshot=2026-06-01")
		}, []string{"snapshot=2026-06-01"}},
		{"unknown config key", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			p := filepath.Join(t.TempDir(), "audit.yaml")
			os.WriteFile(p, []byte("policy:\n  objection_grace_days: 3\n"), 0o644)
			o.ConfigPath = p
		}, []string{"audit.yaml", "objection_grace_days"}},
		{"malformed --snapshot-at", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			o.SnapshotAt = "2026-06-01 25:00"
		}, []string{"--snapshot-at"}},
		{"no snapshot in the path", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			dir := filepath.Join(t.TempDir(), "corpus-latest")
			os.Rename(o.Corpus, dir)
			o.Corpus = dir
		}, []string{"--snapshot-at"}},
		{"missing ages table", func(t *testing.T, res *lakegen.Result, o *RunOptions) {
			o.Ages = filepath.Join(t.TempDir(), "nope")
		}, []string{"nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := genLake(t, func(o *lakegen.Options) { o.Rows, o.Files = 400, 2 })
			out := t.TempDir()
			o := runOpts(res, out)
			// A complete earlier run in the same folder: its findings must
			// not survive the failed run.
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			tc.mod(t, res, &o)
			sum, err := Run(context.Background(), o)
			if err == nil {
				t.Fatalf("no error; status %s", sum.Status)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if sum.Status.ExitCode() != schema.ExitFailed {
				t.Errorf("exit code %d", sum.Status.ExitCode())
			}
			got := readSummary(t, out)
			if got.Status != schema.StatusIncomplete || got.Error == "" {
				t.Errorf("summary.json: status %s error %q", got.Status, got.Error)
			}
			left, _ := filepath.Glob(filepath.Join(out, schema.FindingsDir, "*"))
			if len(left) > 0 {
				t.Errorf("findings left behind: %v", left)
			}
		})
	}
}
