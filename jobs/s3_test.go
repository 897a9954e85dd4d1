package jobs

// The audit job over S3, against the real S3 test server (s3test): every
// path of a run as an s3:// URI gives the findings and counts of the local
// run of the same lake; long listings; an object replaced mid-run; wrong
// credentials and missing buckets and keys; and faults injected by a proxy
// (lake/faultproxy), absorbed by the retries or failing the run loudly.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/corpus-audit/corpus-audit/findings"
	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lake/faultproxy"
	"github.com/corpus-audit/corpus-audit/lake/s3test"
	"github.com/corpus-audit/corpus-audit/lakegen"
	"github.com/corpus-audit/corpus-audit/report"
	"github.com/corpus-audit/corpus-audit/schema"
)

// lakePrefix is where a generated lake goes in its bucket.
const lakePrefix = "lake"

// s3Lake is a generated lake uploaded to a fresh bucket of the shared
// test server.
type s3Lake struct {
	res    *lakegen.Result
	srv    *s3test.Server
	bucket string
	direct lake.Bucket // the bucket, reached without a proxy
}

// uploadLake uploads every file of a generated lake to a fresh bucket,
// under lakePrefix.
func uploadLake(t *testing.T, res *lakegen.Result) *s3Lake {
	t.Helper()
	srv := s3test.Shared(t)
	b, name := srv.Bucket(t)
	uploadDir(t, b, res.Out, lakePrefix)
	return &s3Lake{res: res, srv: srv, bucket: name, direct: b}
}

// uploadDir uploads the files under dir to prefix/<path relative to dir>.
func uploadDir(t *testing.T, b lake.Bucket, dir, prefix string) {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(16)
	for _, p := range files {
		g.Go(func() error {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return b.Upload(ctx, prefix+"/"+filepath.ToSlash(rel), f)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("uploading %s: %v", dir, err)
	}
}

// key returns the key of a lake file given relative to the lake's root.
func (l *s3Lake) key(rel string) string { return lakePrefix + "/" + rel }

// uri returns the s3:// URI of a key.
func (l *s3Lake) uri(key string) string { return "s3://" + l.bucket + "/" + key }

// corpusKey is the key of the snapshot folder.
func (l *s3Lake) corpusKey() string { return l.key(lakegen.CorpusDir(l.res.Options.Snapshot)) }

// opts are the options of a run with the corpus and the tables on S3 and
// the outputs under the key out of the same bucket.
func (l *s3Lake) opts(out string) RunOptions {
	o := runOpts(l.res, l.uri(out))
	o.Corpus = l.uri(l.corpusKey())
	o.Ages = l.uri(l.key("tables/ages"))
	o.Objections = l.uri(l.key("tables/objections"))
	o.Links = l.uri(l.key("tables/links"))
	o.S3 = l.srv.Options()
	o.S3.MaxBackoff = 5 * time.Millisecond // keep retried tests quick
	return o
}

// proxy starts a fault proxy in front of the server and points o at it.
func (l *s3Lake) proxy(t *testing.T, o *RunOptions, cfg faultproxy.Config) *faultproxy.Proxy {
	t.Helper()
	p := faultproxy.Start(t, l.srv.Endpoint, cfg)
	o.S3.Endpoint = p.URL
	return p
}

// findings reads the findings of a run whose outputs are under key out.
func (l *s3Lake) findings(t *testing.T, out string) []schema.Finding {
	t.Helper()
	fs, err := findings.Read(context.Background(), l.direct, out+"/"+schema.FindingsDir)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// summary reads the summary.json of a run whose outputs are under key out.
func (l *s3Lake) summary(t *testing.T, out string) schema.Summary {
	t.Helper()
	s, err := report.ReadSummary(context.Background(), l.direct, out+"/"+schema.SummaryFile)
	if err != nil {
		t.Fatal(err)
	}
	return *s
}

// keys lists the keys under prefix.
func (l *s3Lake) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var keys []string
	if err := l.direct.Iter(context.Background(), prefix, func(k string, _ lake.Attrs) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// localRun audits the lake from local disk into a fresh folder and returns
// the folder.
func localRun(t *testing.T, res *lakegen.Result, mod func(*RunOptions)) string {
	t.Helper()
	out := t.TempDir()
	o := runOpts(res, out)
	if mod != nil {
		mod(&o)
	}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatalf("local run: %v", err)
	}
	return out
}

// relTo returns p relative to the folder or prefix root, failing the test
// if p is not under it.
func relTo(t *testing.T, root, p string) string {
	t.Helper()
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(root, "/")+"/")
	if !ok {
		t.Fatalf("%s is not under %s", p, root)
	}
	return rel
}

// relFindings replaces each finding's source_file by its path relative to
// the corpus root.
func relFindings(t *testing.T, fs []schema.Finding, root string) []schema.Finding {
	t.Helper()
	out := make([]schema.Finding, len(fs))
	for i, f := range fs {
		f.SourceFile = relTo(t, root, f.SourceFile)
		out[i] = f
	}
	return out
}

// relCounts returns c with the per-file paths relative to the corpus root.
func relCounts(t *testing.T, c schema.Counts, root string) schema.Counts {
	t.Helper()
	files := make([]schema.FileCoverage, len(c.Files))
	for i, f := range c.Files {
		f.Path = relTo(t, root, f.Path)
		files[i] = f
	}
	c.Files = files
	return c
}

// sameAudit checks that a run over S3 gave exactly the findings and counts
// of the local run: only the paths naming the corpus files differ.
func sameAudit(t *testing.T, local, remote schema.Summary, localFs, remoteFs []schema.Finding, localRoot, remoteRoot string) {
	t.Helper()
	if len(localFs) == 0 {
		t.Fatal("the local run found nothing: the comparison would prove little")
	}
	lf, rf := relFindings(t, localFs, localRoot), relFindings(t, remoteFs, remoteRoot)
	if len(lf) != len(rf) {
		t.Errorf("%d findings, the local run has %d", len(rf), len(lf))
	}
	for i := range min(len(lf), len(rf)) {
		if !reflect.DeepEqual(lf[i], rf[i]) {
			a, _ := json.Marshal(lf[i])
			b, _ := json.Marshal(rf[i])
			t.Fatalf("finding %d differs:\nlocal %s\nS3    %s", i, a, b)
		}
	}
	lc, rc := relCounts(t, local.Counts, localRoot), relCounts(t, remote.Counts, remoteRoot)
	if a, b := jsonOf(t, lc), jsonOf(t, rc); a != b {
		t.Errorf("counts differ:\nlocal %s\nS3    %s", a, b)
	}
	if local.Status != remote.Status || remote.Status != schema.StatusFindings {
		t.Errorf("status %s, local %s", remote.Status, local.Status)
	}
	if local.Snapshot != remote.Snapshot || !local.SnapshotAt.Equal(remote.SnapshotAt) || jsonOf(t, local.Policy) != jsonOf(t, remote.Policy) {
		t.Errorf("snapshot or policy differ: local %s %v %+v, S3 %s %v %+v",
			local.Snapshot, local.SnapshotAt, local.Policy, remote.Snapshot, remote.SnapshotAt, remote.Policy)
	}
	if !reflect.DeepEqual(local.Outputs, remote.Outputs) {
		t.Errorf("outputs %+v, local %+v", remote.Outputs, local.Outputs)
	}
	// The corpus inputs: the same files, sizes and rows.
	corpus := func(s schema.Summary, root string) map[string][2]int64 {
		m := map[string][2]int64{}
		for _, in := range s.Inputs {
			if in.Role == schema.RoleCorpus {
				m[relTo(t, root, in.Path)] = [2]int64{in.Size, in.Rows}
			}
		}
		return m
	}
	if a, b := corpus(local, localRoot), corpus(remote, remoteRoot); !reflect.DeepEqual(a, b) {
		t.Errorf("corpus inputs (size, rows) differ:\nlocal %v\nS3    %v", a, b)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkS3Inputs checks that every S3 input of a summary is pinned to the
// object it read: its ETag (and version ID, if any), size and, for the
// corpus and the tables, rows.
func checkS3Inputs(t *testing.T, l *s3Lake, sum schema.Summary, wantS3 int) {
	t.Helper()
	n := 0
	for _, in := range sum.Inputs {
		if !lake.IsS3(in.Path) {
			continue
		}
		n++
		key := relTo(t, "s3://"+l.bucket, in.Path)
		a, err := l.direct.Attributes(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if in.ETag == "" || in.ETag != a.ETag || in.VersionID != a.VersionID || in.Size != a.Size {
			t.Errorf("input %s: etag %q version %q size %d; the object has %q %q %d", in.Path, in.ETag, in.VersionID, in.Size, a.ETag, a.VersionID, a.Size)
		}
		if in.Role != schema.RoleConfig && in.Rows <= 0 {
			t.Errorf("input %s: %d rows", in.Path, in.Rows)
		}
	}
	if n != wantS3 {
		t.Errorf("%d S3 inputs in the summary, want %d", n, wantS3)
	}
}

// objectKey returns the key a request of the proxy's log reads, if it
// reads an object of bucket.
func objectKey(bucket, rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(u.Path, "/"+bucket+"/")
}

// rangeEnd returns the last byte a "Range: bytes=a-b" header asks for, or
// -1.
func rangeEnd(h string) int64 {
	_, b, ok := strings.Cut(strings.TrimPrefix(h, "bytes="), "-")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(b, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

const auditConfig = "policy:\n  name: s3-golden\n  objection_grace: 0s\ns3:\n  sse: AES256\n"

// TestRunS3MatchesLocal uploads a whole generated lake and audits it with
// every path of the run (--corpus, --ages, --objections, --links, --out,
// --config) on S3, then with the corpus on S3 and the rest local: both
// give exactly the findings and counts of the local run. The S3 run goes
// through a proxy that only records requests, to check what was read.
func TestRunS3MatchesLocal(t *testing.T) {
	t.Parallel()
	res := genLake(t, func(o *lakegen.Options) { o.Rows, o.Files, o.RowGroupRows = 6000, 3, 700 })
	cfgPath := filepath.Join(t.TempDir(), "audit.yaml")
	if err := os.WriteFile(cfgPath, []byte(auditConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	l := uploadLake(t, res)
	if err := l.direct.Upload(context.Background(), "conf/audit.yaml", strings.NewReader(auditConfig)); err != nil {
		t.Fatal(err)
	}
	localCorpus := filepath.Join(res.Out, lakegen.CorpusDir(res.Options.Snapshot))
	localOut := localRun(t, res, func(o *RunOptions) { o.ConfigPath = cfgPath })
	localSum, localFs := readSummary(t, localOut), readFindings(t, localOut)

	t.Run("all paths on S3", func(t *testing.T) {
		o := l.opts("runs/s3")
		o.ConfigPath = l.uri("conf/audit.yaml")
		p := l.proxy(t, &o, faultproxy.Config{}) // records, injects nothing
		sum, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		got := l.summary(t, "runs/s3")
		if jsonOf(t, got) != jsonOf(t, sum) {
			t.Errorf("summary.json differs from the summary Run returned")
		}
		if got.Policy.Name != "s3-golden" {
			t.Errorf("policy %q: the config on S3 was not applied", got.Policy.Name)
		}
		sameAudit(t, localSum, got, localFs, l.findings(t, "runs/s3"), localCorpus, o.Corpus)
		// Corpus files, three tables and the config, all pinned.
		checkS3Inputs(t, l, got, len(res.Corpus)+3+1)

		// What was read: every GET of a corpus object is a range pinned
		// with If-Match, and summary.json is written after the findings.
		etags := map[string]string{}
		for _, in := range got.Inputs {
			if in.Role == schema.RoleCorpus {
				etags[relTo(t, "s3://"+l.bucket, in.Path)] = in.ETag
			}
		}
		gets, summaryAt, lastPart := 0, -1, -1
		ranges := map[string]bool{} // key and range of every corpus GET
		for i, e := range p.Log() {
			key, ok := objectKey(l.bucket, e.URL)
			if !ok {
				continue
			}
			if etag, corpus := etags[key]; corpus && e.Method == http.MethodGet {
				gets++
				if e.Header.Get("Range") == "" || e.Header.Get("If-Match") != etag {
					t.Errorf("GET %s: Range %q If-Match %q, want a range pinned to %s", key, e.Header.Get("Range"), e.Header.Get("If-Match"), etag)
				}
				// Workers read their next row group ahead: the bytes
				// are used, not read again.
				if r := key + " " + e.Header.Get("Range"); ranges[r] {
					t.Errorf("GET %s read twice", r)
				} else {
					ranges[r] = true
				}
			}
			if e.Method == http.MethodPut {
				// The config file's s3.sse applies to every output.
				if strings.HasPrefix(key, "runs/s3/") && e.Header.Get("X-Amz-Server-Side-Encryption") != "AES256" {
					t.Errorf("PUT %s without the config's server-side encryption (header %q)", key, e.Header.Get("X-Amz-Server-Side-Encryption"))
				}
				switch {
				case key == "runs/s3/"+schema.SummaryFile:
					summaryAt = i
				case strings.HasPrefix(key, "runs/s3/"+schema.FindingsDir+"/"):
					lastPart = i
				}
			}
		}
		if gets < 2*len(etags) {
			t.Errorf("%d GETs of %d corpus objects: want a footer read and row group reads each", gets, len(etags))
		}
		if lastPart < 0 || summaryAt < lastPart {
			t.Errorf("summary.json written at request %d, the last findings part at %d", summaryAt, lastPart)
		}
	})

	for _, noAhead := range []bool{false, true} {
		t.Run(fmt.Sprintf("corpus on S3, tables and outputs local, no read-ahead %v", noAhead), func(t *testing.T) {
			out := t.TempDir()
			o := runOpts(res, out)
			o.Corpus = l.uri(l.corpusKey())
			o.ConfigPath = cfgPath
			o.S3 = l.srv.Options()
			o.NoReadAhead = noAhead
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			got := readSummary(t, out)
			sameAudit(t, localSum, got, localFs, readFindings(t, out), localCorpus, o.Corpus)
			checkS3Inputs(t, l, got, len(res.Corpus))
			if jsonOf(t, got.Inputs[len(res.Corpus):]) != jsonOf(t, localSum.Inputs[len(res.Corpus):]) {
				t.Errorf("table inputs differ:\n%s\n%s", jsonOf(t, got.Inputs[len(res.Corpus):]), jsonOf(t, localSum.Inputs[len(res.Corpus):]))
			}
		})
	}
}

// TestRunS3ReadsOnlyAuditColumns audits a file with a large column the
// audit does not need, between two it needs: over S3 the run must fetch
// the footer and the audit columns' byte ranges only, never the object
// whole, and give the findings of the local run.
func TestRunS3ReadsOnlyAuditColumns(t *testing.T) {
	t.Parallel()
	type wideRow struct {
		ContentID   string `parquet:"content_id"`
		AuthorID    int64  `parquet:"author_id"`
		Platform    string `parquet:"platform"`
		ContentType string `parquet:"content_type"`
		Visibility  string `parquet:"visibility"`
		Body        string `parquet:"body"` // not read by the audit
		CreatedAt   int64  `parquet:"created_at,timestamp(microsecond)"`
	}
	res := genLake(t, nil) // for its tables
	rng := rand.New(rand.NewPCG(7, 11))
	types := []string{"post", "comment", "ai_interaction", "message", " Photo "}
	vis := []string{"public", "friends", "PUBLIC", "private"}
	rows := make([]wideRow, 3000)
	body := make([]byte, 1500)
	for i := range rows {
		for k := range body {
			body[k] = byte(32 + rng.IntN(95))
		}
		rows[i] = wideRow{
			ContentID:   fmt.Sprintf("w%05d", i),
			AuthorID:    1 + rng.Int64N(res.Options.Accounts),
			Platform:    "facebook",
			ContentType: types[rng.IntN(len(types))],
			Visibility:  vis[rng.IntN(len(vis))],
			Body:        string(body),
			CreatedAt:   time.Date(2015+rng.IntN(11), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC).UnixMicro(),
		}
	}
	snap := filepath.Join(t.TempDir(), "snapshot=2026-06-01")
	writeParquet(t, filepath.Join(snap, "wide.parquet"), rows)
	if err := os.WriteFile(filepath.Join(snap, "_SUCCESS"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := s3test.Shared(t)
	b, name := srv.Bucket(t)
	uploadDir(t, b, snap, "wide/snapshot=2026-06-01")
	const key = "wide/snapshot=2026-06-01/wide.parquet"
	a, err := b.Attributes(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}

	localOut := localRun(t, res, func(o *RunOptions) { o.Corpus = snap })
	out := t.TempDir()
	o := runOpts(res, out)
	o.Corpus = "s3://" + name + "/wide/snapshot=2026-06-01"
	o.S3 = srv.Options()
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Config{})
	o.S3.Endpoint = p.URL
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	sameAudit(t, readSummary(t, localOut), readSummary(t, out), readFindings(t, localOut), readFindings(t, out), snap, o.Corpus)

	var fetched int64
	gets := 0
	for _, e := range p.Log() {
		if k, ok := objectKey(name, e.URL); !ok || k != key || e.Method != http.MethodGet {
			continue
		}
		gets++
		from, _, _ := strings.Cut(strings.TrimPrefix(e.Header.Get("Range"), "bytes="), "-")
		start, err := strconv.ParseInt(from, 10, 64)
		end := rangeEnd(e.Header.Get("Range"))
		if err != nil || end < start || e.Header.Get("If-Match") != a.ETag {
			t.Fatalf("GET %s: Range %q If-Match %q: want a range pinned to %s", key, e.Header.Get("Range"), e.Header.Get("If-Match"), a.ETag)
		}
		fetched += end - start + 1
	}
	t.Logf("%d ranged GETs fetched %d of the object's %d bytes", gets, fetched, a.Size)
	// The body column is about 4.5 MB of the object; the rest is small.
	if fetched > a.Size/4 {
		t.Errorf("%d ranged GETs fetched %d bytes of a %d-byte object: more than the footer and the audit columns", gets, fetched, a.Size)
	}
	if gets < 3 {
		t.Errorf("%d GETs: want the footer, then the columns before and after the body apart", gets)
	}
}

// TestRunS3ManyObjects audits a snapshot of more than 1,000 objects (one
// small file and server-side copies of it): the listing takes several
// pages, and every object must be audited.
func TestRunS3ManyObjects(t *testing.T) {
	t.Parallel()
	const files = 1003
	res := genLake(t, func(o *lakegen.Options) {
		o.Files, o.Rows, o.Accounts, o.NoEdges, o.LeakRate = 1, 40, 200, true, 0.3
	})
	srv := s3test.Shared(t)
	b, name := srv.Bucket(t)
	corpusDir := lakegen.CorpusDir(res.Options.Snapshot)
	uploadDir(t, b, filepath.Join(res.Out, corpusDir), corpusDir)
	src := name + "/" + res.Corpus[0].Path
	client := srv.Client()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(16)
	for i := 1; i < files; i++ {
		g.Go(func() error {
			_, err := client.CopyObject(ctx, &s3.CopyObjectInput{
				Bucket:     aws.String(name),
				Key:        aws.String(fmt.Sprintf("%s/platform=copies/part-%05d.parquet", corpusDir, i)),
				CopySource: aws.String(src),
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}

	out := t.TempDir()
	o := runOpts(res, out) // tables local
	o.Corpus = "s3://" + name + "/" + corpusDir
	o.S3 = srv.Options()
	o.Workers = 8 // I/O bound: more row groups in flight
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	c := sum.Counts
	if c.FilesScanned != files || len(c.Files) != files {
		t.Errorf("%d files scanned (%d in the coverage), want %d", c.FilesScanned, len(c.Files), files)
	}
	if c.RowsScanned != files*res.Truth.Rows || c.RowsFlagged != files*res.Truth.Flagged || res.Truth.Flagged == 0 {
		t.Errorf("%d rows scanned, %d flagged; want %d×(%d, %d)", c.RowsScanned, c.RowsFlagged, files, res.Truth.Rows, res.Truth.Flagged)
	}
	seen := map[string]bool{}
	for _, f := range c.Files {
		if f.RowsJudged != res.Truth.Rows || f.RowsFlagged != res.Truth.Flagged {
			t.Errorf("%s: %d rows judged, %d flagged", f.Path, f.RowsJudged, f.RowsFlagged)
		}
		seen[f.Path] = true
	}
	inputs := 0
	for _, in := range sum.Inputs {
		if in.Role == schema.RoleCorpus && seen[in.Path] && in.ETag != "" {
			inputs++
		}
	}
	if len(seen) != files || inputs != files {
		t.Errorf("%d distinct files audited, %d pinned corpus inputs; want %d", len(seen), inputs, files)
	}
}

// TestRunS3ObjectReplaced replaces a corpus object on the server between
// its footer read and its first row group read: the pinned read (If-Match)
// must fail the run, naming the object, and leave no findings.
func TestRunS3ObjectReplaced(t *testing.T) {
	t.Parallel()
	res := genLake(t, nil)
	l := uploadLake(t, res)
	target := l.key(res.Corpus[1].Path)
	a, err := l.direct.Attributes(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(res.Out, res.Corpus[1].Path))
	if err != nil {
		t.Fatal(err)
	}

	o := l.opts("out")
	// A complete run first: its findings must not outlive the failed one.
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var armed, replaced atomic.Bool
	var once sync.Once
	l.proxy(t, &o, faultproxy.Config{Match: func(r *http.Request) bool {
		// A row group read of the target: a range that stops short of the
		// footer. The proxy calls Match before forwarding the request, so
		// the object is replaced before the server sees it.
		if armed.Load() && r.Method == http.MethodGet && r.URL.Path == "/"+l.bucket+"/"+target &&
			rangeEnd(r.Header.Get("Range")) >= 0 && rangeEnd(r.Header.Get("Range")) < a.Size-1 {
			once.Do(func() {
				// Same content and one more byte: another ETag.
				err := l.direct.Upload(context.Background(), target, bytes.NewReader(append(bytes.Clone(data), 0)))
				replaced.Store(err == nil)
			})
		}
		return false
	}})
	armed.Store(true)
	sum, err := Run(context.Background(), o)
	if !replaced.Load() {
		t.Fatalf("the object was never replaced (run error: %v)", err)
	}
	if err == nil {
		t.Fatalf("no error; status %s", sum.Status)
	}
	if !errors.Is(err, lake.ErrChanged) {
		t.Errorf("error %q does not wrap lake.ErrChanged", err)
	}
	checkFailed(t, l, "out", sum, err, l.uri(target))
}

// checkFailed checks the promise of a failed run whose outputs are under
// key out: a one-line error naming what failed, exit code 2, summary.json
// with status incomplete and the error, and no findings parts left.
func checkFailed(t *testing.T, l *s3Lake, out string, sum schema.Summary, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; status %s", sum.Status)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
	if sum.Status.ExitCode() != schema.ExitFailed {
		t.Errorf("status %s, exit code %d", sum.Status, sum.Status.ExitCode())
	}
	got := l.summary(t, out)
	if got.Status != schema.StatusIncomplete || got.Error == "" || len(got.Outputs) != 0 {
		t.Errorf("summary.json: status %s error %q outputs %v", got.Status, got.Error, got.Outputs)
	}
	if left := l.keys(t, out+"/"+schema.FindingsDir+"/"); len(left) > 0 {
		t.Errorf("findings left behind: %v", left)
	}
}

// TestRunS3AccessErrors: wrong credentials, a missing bucket and missing
// keys give a clear one-line error naming the URI, exit code 2, and a
// summary.json wherever the output folder can be reached.
func TestRunS3AccessErrors(t *testing.T) {
	t.Parallel()
	res := genLake(t, func(o *lakegen.Options) { o.Rows, o.Files = 400, 2 })
	l := uploadLake(t, res)
	tests := []struct {
		name string
		// localOut: --out is a local folder (the S3 one is unreachable).
		localOut bool
		mod      func(o *RunOptions)
		want     func(o RunOptions) []string
	}{
		{"wrong secret key", true,
			func(o *RunOptions) { o.S3.SecretAccessKey = "wrong-" + o.S3.SecretAccessKey },
			func(o RunOptions) []string { return []string{o.Corpus, "access denied", "secret access key"} }},
		{"unknown access key", true,
			func(o *RunOptions) { o.S3.AccessKeyID = "nobody" },
			func(o RunOptions) []string { return []string{o.Corpus, "access denied", "access key ID"} }},
		{"missing corpus bucket", false,
			func(o *RunOptions) { o.Corpus = "s3://no-such-bucket-corpus-audit/corpus/snapshot=2026-06-01" },
			func(o RunOptions) []string { return []string{o.Corpus, "bucket", "does not exist"} }},
		{"missing table bucket", false,
			func(o *RunOptions) { o.Objections = "s3://no-such-bucket-corpus-audit/tables/objections" },
			func(o RunOptions) []string { return []string{o.Objections, "does not exist"} }},
		{"missing ages key", false,
			func(o *RunOptions) { o.Ages = l.uri(l.key("tables/ages/nope.parquet")) },
			func(o RunOptions) []string { return []string{o.Ages} }},
		{"missing config key", false,
			func(o *RunOptions) { o.ConfigPath = l.uri("conf/nope.yaml") },
			func(o RunOptions) []string { return []string{o.ConfigPath, "no such object"} }},
		{"missing snapshot folder", false,
			func(o *RunOptions) { o.Corpus = l.uri(l.key("corpus/snapshot=2020-01-01")) },
			func(o RunOptions) []string { return []string{o.Corpus} }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := fmt.Sprintf("runs/%d", i)
			o := l.opts(out)
			if tc.localOut {
				o.Out = t.TempDir()
			}
			tc.mod(&o)
			sum, err := Run(context.Background(), o)
			if err == nil {
				t.Fatalf("no error; status %s", sum.Status)
			}
			if tc.localOut {
				msg := err.Error()
				t.Logf("error: %s", msg)
				for _, w := range tc.want(o) {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not mention %q", msg, w)
					}
				}
				if strings.Contains(msg, "\n") || sum.Status.ExitCode() != schema.ExitFailed {
					t.Errorf("error %q, exit code %d", msg, sum.Status.ExitCode())
				}
				if got := readSummary(t, o.Out); got.Status != schema.StatusIncomplete || got.Error != msg {
					t.Errorf("summary.json: status %s error %q, want %q", got.Status, got.Error, msg)
				}
				return
			}
			checkFailed(t, l, out, sum, err, tc.want(o)...)
		})
	}

	t.Run("missing output bucket", func(t *testing.T) {
		o := l.opts("out")
		o.Out = "s3://no-such-bucket-corpus-audit/out"
		sum, err := Run(context.Background(), o)
		if err == nil || sum.Status.ExitCode() != schema.ExitFailed {
			t.Fatalf("error %v, status %s", err, sum.Status)
		}
		if msg := err.Error(); !strings.Contains(msg, "s3://no-such-bucket-corpus-audit/out") || !strings.Contains(msg, "does not exist") || strings.Contains(msg, "\n") {
			t.Errorf("error %q: want one line naming the output and saying it does not exist", msg)
		}
	})
}

// TestRunS3Faults audits through a proxy injecting faults. Faults the
// retries absorb must not change a byte of the result; faults that outlast
// them must fail the run loudly, naming the object, with no findings left.
func TestRunS3Faults(t *testing.T) {
	t.Parallel()
	res := genLake(t, func(o *lakegen.Options) { o.Rows, o.Files, o.RowGroupRows = 4000, 4, 400 })
	l := uploadLake(t, res)
	localCorpus := filepath.Join(res.Out, lakegen.CorpusDir(res.Options.Snapshot))
	localOut := localRun(t, res, nil)
	localSum, localFs := readSummary(t, localOut), readFindings(t, localOut)

	t.Run("absorbed by the retries", func(t *testing.T) {
		o := l.opts("absorbed")
		// Every request is eligible, reads and writes; ten attempts make a
		// request that fails them all vanishingly unlikely at these shares.
		o.S3.MaxAttempts = 10
		p := l.proxy(t, &o, faultproxy.Config{
			SlowDown: 0.1, Drop: 0.1, Delay: 0.05, DelayFor: 2 * time.Millisecond,
			Seed: 20260601, MaxFaults: 60,
		})
		sum, err := Run(context.Background(), o)
		c := p.Counts()
		t.Logf("proxy: %+v", c)
		if err != nil {
			t.Fatalf("faults the retries absorb failed the run: %v", err)
		}
		if c.SlowDown == 0 || c.Drop == 0 || c.Delay == 0 {
			t.Fatalf("counts %+v: want faults of every kind", c)
		}
		got := l.summary(t, "absorbed")
		if got.Status != sum.Status {
			t.Errorf("summary.json status %s, Run returned %s", got.Status, sum.Status)
		}
		sameAudit(t, localSum, got, localFs, l.findings(t, "absorbed"), localCorpus, o.Corpus)
	})

	victim := l.key(res.Corpus[2].Path)
	a, err := l.direct.Attributes(context.Background(), victim)
	if err != nil {
		t.Fatal(err)
	}
	isVictim := func(r *http.Request) bool { return r.URL.Path == "/"+l.bucket+"/"+victim }
	rowGroupRead := func(r *http.Request) bool {
		e := rangeEnd(r.Header.Get("Range"))
		return isVictim(r) && r.Method == http.MethodGet && e >= 0 && e < a.Size-1
	}
	for _, tc := range []struct {
		name string
		cfg  faultproxy.Config
		want func(out string) []string
	}{
		{"503 SlowDown on every request for one object",
			faultproxy.Config{SlowDown: 1, Match: isVictim},
			func(string) []string {
				return []string{l.uri(victim), "the server kept failing after 5 attempts", "SlowDown"}
			}},
		{"every row group read of one object cut before a byte",
			faultproxy.Config{Drop: 1, DropAfter: -1, Match: rowGroupRead},
			func(string) []string { return []string{l.uri(victim), "connection lost", "after 5 attempts"} }},
		{"every row group read of one object cut halfway, resumed and cut again",
			faultproxy.Config{Drop: 1, DropAfter: 1, Match: rowGroupRead},
			func(string) []string { return []string{l.uri(victim), "connection lost"} }},
		{"503 on every write of a findings part",
			faultproxy.Config{SlowDown: 1, Match: func(r *http.Request) bool {
				return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/"+schema.FindingsDir+"/")
			}},
			func(out string) []string {
				return []string{l.uri(out + "/" + schema.FindingsDir + "/"), "the server kept failing"}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := "outlasted/" + strings.ReplaceAll(tc.name, " ", "-")
			o := l.opts(out)
			// A complete run first: its findings must not outlive the
			// failed one.
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			if len(l.keys(t, out+"/"+schema.FindingsDir+"/")) == 0 {
				t.Fatal("the complete run wrote no findings")
			}
			p := l.proxy(t, &o, tc.cfg)
			sum, err := Run(context.Background(), o)
			if p.Counts().Faults() == 0 {
				t.Fatalf("no fault injected (run error %v)", err)
			}
			if errors.Is(err, lake.ErrChanged) || lake.IsNotExist(err) {
				t.Errorf("error %q says changed or missing", err)
			}
			checkFailed(t, l, out, sum, err, tc.want(out)...)
		})
	}
}
