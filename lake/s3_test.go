package lake_test

// Tests of what only the S3 provider has: its options, the configuration
// chain, the requests it sends, and its errors for wrong credentials and
// missing buckets. All run against the real S3 test server.

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lake/faultproxy"
	"github.com/corpus-audit/corpus-audit/lake/s3test"
)

// TestServerHonoursIfMatch checks the test server itself: a GET with a
// stale If-Match must be refused with 412, or the ErrChanged tests would
// prove nothing.
func TestServerHonoursIfMatch(t *testing.T) {
	srv := s3test.Shared(t)
	name := srv.NewBucket(t)
	c := srv.Client()
	put := func(body string) string {
		out, err := c.PutObject(ctx(), &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String("k"), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ETag)
	}
	old := put("one")
	cur := put("two")
	for _, tc := range []struct {
		etag       string
		wantStatus int
	}{
		{cur, 0},
		{old, http.StatusPreconditionFailed},
	} {
		out, err := c.GetObject(ctx(), &s3.GetObjectInput{Bucket: aws.String(name), Key: aws.String("k"), IfMatch: aws.String(tc.etag), Range: aws.String("bytes=0-1")})
		var re *awshttp.ResponseError
		switch {
		case tc.wantStatus == 0 && err != nil:
			t.Fatalf("If-Match %s (current): %v", tc.etag, err)
		case tc.wantStatus == 0:
			out.Body.Close()
		case !errors.As(err, &re) || re.HTTPStatusCode() != tc.wantStatus:
			t.Fatalf("If-Match %s (stale): error %v, want HTTP %d", tc.etag, err, tc.wantStatus)
		}
	}
}

func TestNewS3RejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bucket string
		o      lake.S3Options
		want   string
	}{
		{"no bucket", "", lake.S3Options{}, "no S3 bucket"},
		{"unknown SSE", "b", lake.S3Options{SSE: "rot13"}, "rot13"},
		{"KMS key without aws:kms", "b", lake.S3Options{SSE: "AES256", SSEKMSKeyID: "k"}, "KMS key"},
		{"endpoint without scheme", "b", lake.S3Options{Endpoint: "127.0.0.1:9000"}, "not an http(s) URL"},
		{"access key without secret", "b", lake.S3Options{AccessKeyID: "a"}, "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lake.NewS3(ctx(), tc.bucket, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestS3URI(t *testing.T) {
	b, err := lake.NewS3(ctx(), "bkt", lake.S3Options{Endpoint: "http://127.0.0.1:1", AccessKeyID: "a", SecretAccessKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"": "s3://bkt", "a/b.parquet": "s3://bkt/a/b.parquet"} {
		if got := b.URI(key); got != want {
			t.Errorf("URI(%q) = %q, want %q", key, got, want)
		}
	}
}

// badAccess lists operations whose errors the credential and bucket tests
// check, each with the key it names.
func badAccess(b lake.Bucket, raw string, o lake.S3Options) []struct {
	name string
	key  string
	fn   func() error
} {
	return []struct {
		name string
		key  string
		fn   func() error
	}{
		{"Attributes", "k", func() error { _, err := b.Attributes(ctx(), "k"); return err }},
		{"Get", "k", func() error { _, err := b.Get(ctx(), "k"); return err }},
		{"GetRange", "k", func() error { _, err := b.GetRange(ctx(), "k", 0, 1, ""); return err }},
		{"Iter", "snap/", func() error { return b.Iter(ctx(), "snap/", func(string, lake.Attrs) error { return nil }) }},
		{"Upload", "out", func() error { return b.Upload(ctx(), "out", strings.NewReader("x")) }},
		{"Delete", "k", func() error { return b.Delete(ctx(), "k") }},
		// Location.Files asks for the object "snap", then lists "snap/".
		{"Location.Files", "snap*", func() error {
			loc, err := lake.Open(ctx(), raw+"/snap", o)
			if err != nil {
				return err
			}
			_, err = loc.Files(ctx())
			return err
		}},
	}
}

// assertNamesKey checks err names key of b; a key ending in "*" may be
// named as is or followed by "/".
func assertNamesKey(t *testing.T, err error, b lake.Bucket, key string) {
	t.Helper()
	if k, ok := strings.CutSuffix(key, "*"); ok {
		var oe *lake.ObjectError
		if errors.As(err, &oe) && oe.URI == b.URI(k+"/") {
			key = k + "/"
		} else {
			key = k
		}
	}
	assertNamesObject(t, err, b.URI(key))
}

func TestS3WrongCredentials(t *testing.T) {
	srv := s3test.Shared(t)
	name := srv.NewBucket(t)
	for _, tc := range []struct {
		name   string
		change func(*lake.S3Options)
		want   string
	}{
		{"wrong secret", func(o *lake.S3Options) { o.SecretAccessKey = "not-the-secret" }, "secret access key does not match"},
		{"unknown access key", func(o *lake.S3Options) { o.AccessKeyID = "nobody" }, "does not know the access key ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := srv.Options()
			tc.change(&o)
			b, err := lake.NewS3(ctx(), name, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range badAccess(b, "s3://"+name, o) {
				t.Run(op.name, func(t *testing.T) {
					err := op.fn()
					if err == nil {
						t.Fatal("no error")
					}
					if lake.IsNotExist(err) || errors.Is(err, lake.ErrChanged) {
						t.Fatalf("error %q says missing or changed", err)
					}
					if !strings.Contains(err.Error(), "access denied: ") || !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("error %q, want access denied: ...%s", err, tc.want)
					}
					assertNamesKey(t, err, b, op.key)
				})
			}
		})
	}
}

func TestS3MissingBucket(t *testing.T) {
	srv := s3test.Shared(t)
	const name = "no-such-bucket"
	o := srv.Options()
	b, err := lake.NewS3(ctx(), name, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range badAccess(b, "s3://"+name, o) {
		t.Run(op.name, func(t *testing.T) {
			err := op.fn()
			if op.name == "Delete" {
				// Deleting from a missing bucket is not deleting a missing object.
				if err == nil {
					t.Fatal("no error")
				}
			} else if !lake.IsNotExist(err) {
				t.Fatalf("error %v, want IsNotExist", err)
			}
			if want := `bucket "no-such-bucket" does not exist`; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q, want it to say %s", err, want)
			}
			assertNamesKey(t, err, b, op.key)
		})
	}
}

// TestS3ConfigChain opens buckets with credentials and endpoint from the
// environment and from a shared credentials profile, as users do.
func TestS3ConfigChain(t *testing.T) {
	srv := s3test.Shared(t)
	name := srv.NewBucket(t)
	if err := mustS3(t, name, srv.Options()).Upload(ctx(), "k", strings.NewReader("chained")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	profile := "[audit]\naws_access_key_id = " + srv.AccessKey + "\naws_secret_access_key = " + srv.SecretKey + "\n"
	if err := os.WriteFile(creds, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	isolate := map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true", // never ask an instance role
		"AWS_PROFILE":                 "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "",
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		o    lake.S3Options
	}{
		{"env keys, endpoint in AWS_ENDPOINT_URL_S3", map[string]string{
			"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey, "AWS_ENDPOINT_URL_S3": srv.Endpoint,
		}, lake.S3Options{PathStyle: true}},
		{"profile, endpoint in AWS_ENDPOINT_URL", map[string]string{
			"AWS_PROFILE": "audit", "AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_ENDPOINT_URL": srv.Endpoint,
		}, lake.S3Options{PathStyle: true}},
		{"env keys, endpoint in options", map[string]string{
			"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1",
		}, lake.S3Options{PathStyle: true, Endpoint: srv.Endpoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range isolate {
				t.Setenv(k, v)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			b := mustS3(t, name, tc.o)
			if got := readAll(t)(b.Get(ctx(), "k")); string(got) != "chained" {
				t.Fatalf("read %q", got)
			}
		})
	}
}

func mustS3(t *testing.T, bucket string, o lake.S3Options) lake.Bucket {
	t.Helper()
	b, err := lake.NewS3(ctx(), bucket, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestS3Requests checks, through a proxy that records requests, what the
// provider sends: ranges, If-Match, server-side encryption, multipart
// uploads, and no checksum headers.
func TestS3Requests(t *testing.T) {
	srv := s3test.Shared(t)
	name := srv.NewBucket(t)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Config{})
	o := srv.Options()
	o.Endpoint = p.URL
	o.SSE, o.SSEKMSKeyID = "aws:kms", "key-1"
	b := mustS3(t, name, o)

	big := randomBytes(3, 17<<20)
	upload(t, b, "big", big)
	upload(t, b, "small", []byte("0123456789"))
	a, err := b.Attributes(ctx(), "small")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t)(b.GetRange(ctx(), "small", 2, 5, a.ETag)); string(got) != "23456" {
		t.Fatalf("GetRange read %q", got)
	}
	if got := readAll(t)(b.Get(ctx(), "big")); !bytes.Equal(got, big) {
		t.Fatal("Get of the multipart object read other bytes")
	}

	var sawMultipart, sawRange bool
	for _, e := range p.Log() {
		h := e.Header
		for k := range h {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum") || strings.EqualFold(k, "x-amz-sdk-checksum-algorithm") {
				t.Errorf("%s %s sent checksum header %s", e.Method, e.URL, k)
			}
		}
		switch {
		case e.Method == http.MethodPost && strings.Contains(e.URL, "uploads"):
			if !strings.Contains(e.URL, "/big") {
				t.Errorf("multipart upload of %s", e.URL)
			}
			sawMultipart = sawMultipart || strings.HasSuffix(e.URL, "?uploads") || strings.Contains(e.URL, "uploads=")
			fallthrough
		case e.Method == http.MethodPut && !strings.Contains(e.URL, "partNumber"):
			if h.Get("X-Amz-Server-Side-Encryption") != "aws:kms" || h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "key-1" {
				t.Errorf("%s %s without SSE headers: %v", e.Method, e.URL, h)
			}
		case e.Method == http.MethodGet && strings.Contains(e.URL, "/small"):
			sawRange = true
			if h.Get("Range") != "bytes=2-6" || h.Get("If-Match") != a.ETag {
				t.Errorf("GetRange sent Range %q, If-Match %q; want bytes=2-6, %s", h.Get("Range"), h.Get("If-Match"), a.ETag)
			}
		}
	}
	if !sawMultipart || !sawRange {
		t.Fatalf("multipart upload seen: %v, ranged GET seen: %v", sawMultipart, sawRange)
	}
}

// TestS3GetResumePinned cuts a whole-object read mid-body after the object
// was overwritten: the resumed read must not splice two versions.
func TestS3GetResumePinned(t *testing.T) {
	srv := s3test.Shared(t)
	name := srv.NewBucket(t)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Config{Script: []faultproxy.Fault{faultproxy.Drop}})
	o := srv.Options()
	direct := mustS3(t, name, o)
	o.Endpoint = p.URL
	o.MaxBackoff = 5 * time.Millisecond
	b := mustS3(t, name, o)
	upload(t, direct, "k", randomBytes(1, 64<<10))

	rc, err := b.Get(ctx(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	upload(t, direct, "k", randomBytes(2, 64<<10))
	_, err = io.ReadAll(rc)
	if !errors.Is(err, lake.ErrChanged) {
		t.Fatalf("read on after the object changed: error %v, want ErrChanged", err)
	}
	assertNamesObject(t, err, b.URI("k"))
	if log := p.Log(); len(log) != 2 || log[1].Header.Get("If-Match") == "" || log[1].Header.Get("Range") != "bytes=32768-65535" {
		t.Fatalf("requests %+v: want a resumed GET from byte 32768 with If-Match", log)
	}
}
