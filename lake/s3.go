package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3Options configure the S3 provider. Credentials, region and endpoint
// come from the SDK's standard configuration chain (environment, shared
// config and credentials files and profiles, web identity / IRSA, ECS and
// EC2 instance roles); the fields set here override it.
type S3Options struct {
	// Endpoint is a custom endpoint URL for S3-compatible stores, e.g.
	// "http://127.0.0.1:7070". Empty: AWS_ENDPOINT_URL_S3 or
	// AWS_ENDPOINT_URL if set (the SDK reads them), else AWS itself.
	Endpoint  string
	PathStyle bool // path-style addressing (most S3-compatible stores want it)
	// Region; empty means the configured one, else us-east-1.
	Region      string
	SSE         string // "", "AES256" or "aws:kms" for outputs
	SSEKMSKeyID string // KMS key for SSE "aws:kms"; empty: the bucket's default key
	MaxInFlight int    // parallel ranged GETs per object read

	// AccessKeyID and SecretAccessKey, when both set, are static
	// credentials used instead of the chain; SessionToken goes with
	// temporary ones. Meant for tests and tools; users rely on the chain.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string

	// MaxAttempts bounds how often one request is tried, the first try
	// included (default 5). Throttling (503 SlowDown), 5xx answers and
	// broken connections are retried with exponential backoff and jitter.
	// A body cut off mid-read is resumed from where it broke; a read gives
	// up after MaxAttempts tries in a row that deliver no byte, or
	// 4×MaxAttempts tries in all.
	MaxAttempts int
	// MaxBackoff caps the wait between two attempts (default 20s).
	MaxBackoff time.Duration
}

const (
	defaultS3Region      = "us-east-1"
	defaultS3MaxAttempts = 5
	defaultS3MaxBackoff  = 20 * time.Second
	// The SDK keeps 10 idle connections per host by default: too few for
	// parallel ranged GETs, which then each pay a new connection.
	s3MaxIdleConnsPerHost = 128
)

// s3Bucket is a Bucket over one S3 bucket.
type s3Bucket struct {
	name        string
	client      *s3.Client
	uploader    *transfermanager.Client
	transport   *http.Transport
	sse         string
	kmsKeyID    string
	maxAttempts int
	backoff     retry.BackoffDelayer
}

// NewS3 returns a Bucket over an S3 bucket. It makes no request: a missing
// bucket or wrong credentials show in the first operation's error.
func NewS3(ctx context.Context, bucket string, o S3Options) (Bucket, error) {
	if bucket == "" {
		return nil, errors.New("no S3 bucket name given")
	}
	switch o.SSE {
	case "", "AES256", "aws:kms":
	default:
		return nil, fmt.Errorf("s3://%s: unknown server-side encryption %q (want AES256 or aws:kms)", bucket, o.SSE)
	}
	if o.SSEKMSKeyID != "" && o.SSE != "aws:kms" {
		return nil, fmt.Errorf("s3://%s: a KMS key ID needs server-side encryption aws:kms, not %q", bucket, o.SSE)
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3://%s: endpoint %q is not an http(s) URL", bucket, o.Endpoint)
		}
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		return nil, fmt.Errorf("s3://%s: an access key ID needs its secret access key and the other way round", bucket)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultS3MaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultS3MaxBackoff
	}

	buildable := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = max(s3MaxIdleConnsPerHost, 2*o.MaxInFlight)
		t.MaxIdleConns = 2 * t.MaxIdleConnsPerHost
		// A server that accepts a request and never answers must not hang
		// the audit; body reads are bounded by the caller's context.
		t.ResponseHeaderTimeout = 2 * time.Minute
	})
	backoff := retry.NewExponentialJitterBackoff(o.MaxBackoff)
	loads := []func(*config.LoadOptions) error{
		config.WithDefaultRegion(defaultS3Region),
		config.WithHTTPClient(buildable),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.MaxAttempts
				so.MaxBackoff = o.MaxBackoff
				so.Backoff = backoff
				// The client-side retry quota would turn a burst of
				// throttling into failures of requests that have
				// attempts left; attempts stay bounded per request.
				so.RateLimiter = ratelimit.None
				// An answer cut off while the SDK decoded it (a listing,
				// an error) is as retryable as a connection reset.
				so.Retryables = append(so.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					if errors.Is(err, io.ErrUnexpectedEOF) {
						return aws.TrueTernary
					}
					return aws.UnknownTernary
				}))
			})
		}),
	}
	if o.Region != "" {
		loads = append(loads, config.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" {
		loads = append(loads, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("s3://%s: loading the AWS configuration: %w", bucket, err)
	}
	// The configured transport (the SDK's defaults, ours above, a custom
	// CA bundle if AWS_CA_BUNDLE names one), in a client of our own so
	// that Close can close its connections.
	bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		return nil, fmt.Errorf("s3://%s: unexpected HTTP client %T", bucket, cfg.HTTPClient)
	}
	transport := bc.GetTransport()
	cfg.HTTPClient = &http.Client{
		Transport: transport,
		// As the SDK's own client: hand 3xx answers to the SDK.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		so.DisableLogOutputChecksumValidationSkipped = true
	})
	uploader := transfermanager.New(client, func(to *transfermanager.Options) {
		to.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		// Abort a failed multipart upload even when ctx was canceled, so
		// no parts are left behind.
		to.FailTimeout = 30 * time.Second
	})
	return &s3Bucket{
		name:        bucket,
		client:      client,
		uploader:    uploader,
		transport:   transport,
		sse:         o.SSE,
		kmsKeyID:    o.SSEKMSKeyID,
		maxAttempts: o.MaxAttempts,
		backoff:     backoff,
	}, nil
}

// URI implements Bucket.
func (b *s3Bucket) URI(key string) string {
	if key == "" {
		return "s3://" + b.name
	}
	return "s3://" + b.name + "/" + key
}

// Close implements Bucket.
func (b *s3Bucket) Close() error {
	b.transport.CloseIdleConnections()
	return nil
}

// Iter implements Bucket with ListObjectsV2, whose pages come in UTF-8
// binary key order. Keys ending in "/" are folder markers, not objects,
// and are skipped, as the local provider reports no folders. A server
// that lists keys out of order gives an error rather than a wrong order.
func (b *s3Bucket) Iter(ctx context.Context, prefix string, fn func(string, Attrs) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.name)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	pages := s3.NewListObjectsV2Paginator(b.client, in)
	last := ""
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return b.wrap("list", prefix, "", err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") {
				continue
			}
			if last != "" && key <= last {
				return &ObjectError{Op: "list", URI: b.URI(prefix),
					Err: fmt.Errorf("the server listed %q after %q, out of key order", key, last)}
			}
			last = key
			a := Attrs{Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag)}
			if o.LastModified != nil {
				a.ModTime = o.LastModified.UTC()
			}
			if err := fn(key, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// Attributes implements Bucket with HeadObject.
func (b *s3Bucket) Attributes(ctx context.Context, key string) (Attrs, error) {
	a, err := b.head(ctx, key, "")
	if err != nil {
		return Attrs{}, b.wrap("stat", key, "", err)
	}
	return a, nil
}

func (b *s3Bucket) head(ctx context.Context, key, etag string) (Attrs, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)}
	if etag != "" {
		in.IfMatch = aws.String(etag)
	}
	out, err := b.client.HeadObject(ctx, in)
	if err != nil {
		// A HEAD answer has no body and so no error code: a missing
		// bucket looks like a missing key and a wrong secret like a
		// missing permission. Ask again with a GET of one byte, whose
		// answer names the error, and keep the HEAD's if it does not.
		if st := httpStatus(err); st == http.StatusNotFound || st == http.StatusForbidden {
			gin := &s3.GetObjectInput{Bucket: in.Bucket, Key: in.Key, IfMatch: in.IfMatch, Range: aws.String("bytes=0-0")}
			gout, gerr := b.client.GetObject(ctx, gin)
			if gerr == nil {
				gout.Body.Close()
			} else if c := apiCode(gerr); c != "" && c != "NotFound" && c != "Forbidden" && c != "InvalidRange" {
				return Attrs{}, gerr
			}
		}
		return Attrs{}, err
	}
	a := Attrs{
		Size:      aws.ToInt64(out.ContentLength),
		ETag:      aws.ToString(out.ETag),
		VersionID: aws.ToString(out.VersionId),
	}
	if out.LastModified != nil {
		a.ModTime = out.LastModified.UTC()
	}
	return a, nil
}

// Get implements Bucket. The reader resumes a body cut off mid-read with
// a ranged GET pinned (If-Match) to the ETag of the first answer.
func (b *s3Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	r := &s3Reader{b: b, ctx: ctx, key: key, end: -1}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetRange implements Bucket with a GET of "Range: bytes=off-(off+length-1)",
// and If-Match when etag is set: a 412 answer gives ErrChanged.
func (b *s3Bucket) GetRange(ctx context.Context, key string, off, length int64, etag string) (io.ReadCloser, error) {
	if off < 0 || length < 0 {
		return nil, &ObjectError{Op: "read", URI: b.URI(key), Err: fmt.Errorf("invalid range %d+%d", off, length)}
	}
	if length == 0 {
		// "bytes=off-(off-1)" is no range; check what the read would.
		a, err := b.head(ctx, key, etag)
		if err != nil {
			return nil, b.wrap("read", key, etag, err)
		}
		if off > a.Size {
			return nil, &ObjectError{Op: "read", URI: b.URI(key),
				Err: fmt.Errorf("range %d+0 past the end of the object (%d bytes): %w", off, a.Size, io.ErrUnexpectedEOF)}
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	r := &s3Reader{b: b, ctx: ctx, key: key, pos: off, end: off + length, etag: etag, pinned: etag != ""}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// s3Reader reads bytes [pos, end) of an object. A body that breaks off
// before end is resumed from where it broke, pinned to the ETag, until
// the bucket's attempts are spent.
type s3Reader struct {
	b        *s3Bucket
	ctx      context.Context
	key      string
	pos, end int64 // end -1: to the object's end, learned from the first answer
	etag     string
	pinned   bool // etag given by the caller, not learned
	body     io.ReadCloser
	attempts int   // GETs made
	stalled  int   // GETs in a row that broke off before a byte
	got      int64 // bytes read from the current GET
}

func (r *s3Reader) open() error {
	r.attempts++
	in := &s3.GetObjectInput{Bucket: aws.String(r.b.name), Key: aws.String(r.key)}
	ranged := r.pos > 0 || r.end >= 0
	if ranged {
		if r.end >= 0 {
			in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", r.pos, r.end-1))
		} else {
			in.Range = aws.String(fmt.Sprintf("bytes=%d-", r.pos))
		}
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	out, err := r.b.client.GetObject(r.ctx, in)
	if err != nil {
		if !r.pinned && httpStatus(err) == http.StatusPreconditionFailed {
			// The ETag was learned from this reader's first answer.
			return &ObjectError{Op: "read", URI: r.b.URI(r.key), Err: &s3Error{
				msg: ErrChanged.Error() + ": it was rewritten while being read (PreconditionFailed, HTTP 412)", kind: ErrChanged, err: err}}
		}
		return r.b.wrap("read", r.key, r.etag, err)
	}
	if out.ContentLength == nil {
		out.Body.Close()
		return &ObjectError{Op: "read", URI: r.b.URI(r.key), Err: errors.New("the server sent no Content-Length")}
	}
	n := *out.ContentLength
	if r.end < 0 {
		r.end = r.pos + n
	}
	if want := r.end - r.pos; n != want {
		out.Body.Close()
		return &ObjectError{Op: "read", URI: r.b.URI(r.key), Err: fmt.Errorf(
			"range %d+%d past the end of the object (the server sent %d bytes, %s): %w",
			r.pos, want, n, aws.ToString(out.ContentRange), io.ErrUnexpectedEOF)}
	}
	if r.etag == "" {
		r.etag = aws.ToString(out.ETag)
	}
	r.body = out.Body
	r.got = 0
	return nil
}

func (r *s3Reader) Read(p []byte) (int, error) {
	for {
		if r.pos >= r.end {
			return 0, io.EOF
		}
		if r.body == nil {
			if err := r.open(); err != nil {
				return 0, err
			}
		}
		if rest := r.end - r.pos; int64(len(p)) > rest {
			p = p[:rest]
		}
		n, err := r.body.Read(p)
		r.pos += int64(n)
		r.got += int64(n)
		if err == nil || (err == io.EOF && r.pos == r.end) {
			if r.pos == r.end {
				err = io.EOF
			}
			return n, err
		}
		// The body broke off before its end.
		r.body.Close()
		r.body = nil
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if cerr := r.ctx.Err(); cerr != nil {
			return n, &ObjectError{Op: "read", URI: r.b.URI(r.key), Err: fmt.Errorf("interrupted: %w", cerr)}
		}
		if r.got > 0 {
			r.stalled = 0
		} else {
			r.stalled++
		}
		if r.stalled >= r.b.maxAttempts || r.attempts >= 4*r.b.maxAttempts {
			return n, &ObjectError{Op: "read", URI: r.b.URI(r.key), Err: fmt.Errorf(
				"connection lost at byte %d after %d attempts: %w", r.pos, r.attempts, err)}
		}
		if d, derr := r.b.backoff.BackoffDelay(max(r.stalled, 1), err); derr == nil && d > 0 {
			t := time.NewTimer(d)
			select {
			case <-r.ctx.Done():
				t.Stop()
				return n, &ObjectError{Op: "read", URI: r.b.URI(r.key), Err: fmt.Errorf("interrupted: %w", r.ctx.Err())}
			case <-t.C:
			}
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *s3Reader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	r.pos = r.end
	return err
}

// Upload implements Bucket with the SDK's transfer manager: one PUT for
// small bodies, a multipart upload for large ones (aborted on failure).
// Either way S3 shows the object only once it is whole.
func (b *s3Bucket) Upload(ctx context.Context, key string, r io.Reader) error {
	in := &transfermanager.UploadObjectInput{Bucket: aws.String(b.name), Key: aws.String(key), Body: r}
	if b.sse != "" {
		in.ServerSideEncryption = tmtypes.ServerSideEncryption(b.sse)
	}
	if b.kmsKeyID != "" {
		in.SSEKMSKeyID = aws.String(b.kmsKeyID)
	}
	if _, err := b.uploader.UploadObject(ctx, in); err != nil {
		return b.wrap("write", key, "", err)
	}
	return nil
}

// Delete implements Bucket with DeleteObject.
func (b *s3Bucket) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil && apiCode(err) != "NoSuchKey" {
		return b.wrap("delete", key, "", err)
	}
	return nil
}

// s3Error is an SDK error restated in one line. It unwraps to kind
// (ErrNotExist, ErrChanged or nil) and to the SDK's error.
type s3Error struct {
	msg  string
	kind error
	err  error
}

func (e *s3Error) Error() string { return e.msg }

func (e *s3Error) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// wrap names the object in err and restates the SDK's error; etag is the
// one the request was pinned to, if any.
func (b *s3Bucket) wrap(op, key, etag string, err error) error {
	var oe *ObjectError
	if errors.As(err, &oe) {
		return err
	}
	var se *s3Error
	if !errors.As(err, &se) {
		err = b.explain(etag, err)
	}
	return &ObjectError{Op: op, URI: b.URI(key), Err: err}
}

// explain restates an SDK error in one line: what went wrong and what to
// check, with the S3 error code and HTTP status for reference.
func (b *s3Bucket) explain(etag string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		cause := context.Canceled
		if errors.Is(err, context.DeadlineExceeded) {
			cause = context.DeadlineExceeded
		}
		return &s3Error{msg: "interrupted: " + cause.Error(), err: err}
	}
	status, code, message := httpStatus(err), apiCode(err), ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		message = ae.ErrorMessage()
	}
	ref := code
	if status != 0 {
		if ref != "" {
			ref += ", "
		}
		ref += fmt.Sprintf("HTTP %d", status)
	}
	tries := ""
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		tries = fmt.Sprintf(" after %d attempts", me.Attempt)
	}
	e := &s3Error{err: err}
	switch {
	case code == "NoSuchBucket":
		e.kind, e.msg = ErrNotExist, fmt.Sprintf("bucket %q does not exist (%s)", b.name, ref)
	case code == "NoSuchKey" || code == "NotFound" || (code == "" && status == http.StatusNotFound):
		e.kind, e.msg = ErrNotExist, fmt.Sprintf("%v (%s)", ErrNotExist, ref)
	case status == http.StatusPreconditionFailed || code == "PreconditionFailed":
		e.kind, e.msg = ErrChanged, fmt.Sprintf("%v: its ETag is no longer %s (%s)", ErrChanged, etag, ref)
	case code == "InvalidRange" || status == http.StatusRequestedRangeNotSatisfiable:
		e.kind, e.msg = io.ErrUnexpectedEOF, fmt.Sprintf("range past the end of the object (%s)", ref)
	case code == "InvalidAccessKeyId" || code == "XAdminUserNotFound": // the latter: versitygw
		e.msg = fmt.Sprintf("access denied: the server does not know the access key ID; check AWS_ACCESS_KEY_ID or the profile (%s)", ref)
	case code == "SignatureDoesNotMatch":
		e.msg = fmt.Sprintf("access denied: the secret access key does not match the access key ID; check AWS_SECRET_ACCESS_KEY or the profile (%s)", ref)
	case code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired":
		e.msg = fmt.Sprintf("access denied: the session token is expired or invalid; renew the credentials (%s)", ref)
	case code == "AccessDenied" || status == http.StatusForbidden:
		e.msg = fmt.Sprintf("access denied: the credentials are wrong or lack permission for s3://%s (%s)", b.name, ref)
	case code == "SlowDown" || status >= 500:
		e.msg = fmt.Sprintf("the server kept failing%s; try again later (%s)", tries, ref)
	case code != "" || status != 0:
		if message != "" {
			message = ": " + message
		}
		e.msg = fmt.Sprintf("the server refused the request%s%s (%s)", tries, message, ref)
	case strings.Contains(err.Error(), "get identity") || strings.Contains(err.Error(), "retrieve credentials"):
		e.msg = "no usable AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web identity or an instance role): " + innermost(err).Error()
	default:
		e.msg = fmt.Sprintf("cannot reach S3%s: %v", tries, innermost(err))
	}
	return e
}

// innermost strips the SDK's operation, retry and transport wrappers
// from err.
func innermost(err error) error {
	for {
		var oe *smithy.OperationError
		var me *retry.MaxAttemptsError
		var re *awshttp.ResponseError
		var se *smithyhttp.RequestSendError
		switch {
		case errors.As(err, &oe):
			err = oe.Err
		case errors.As(err, &me):
			err = me.Err
		case errors.As(err, &re):
			err = re.Err
		case errors.As(err, &se):
			err = se.Err
		default:
			return err
		}
	}
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
