// Package s3test starts a real S3 server for tests: the Versity S3 gateway
// (versitygw) with its posix backend over a temporary folder, listening on
// loopback. Tests of S3 code run against it rather than a hand-written fake.
//
// The binary is found through $CORPUS_AUDIT_VERSITYGW, else
// ${CORPUS_AUDIT_CACHE:-$HOME/.cache/corpus-audit}/bin/versitygw, else
// $PATH; scripts/install-s3-server.sh builds it there. A missing binary
// fails the test: a skipped S3 test would report S3 as working.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/corpus-audit/corpus-audit/internal/testbin"
	"github.com/corpus-audit/corpus-audit/lake"
)

// Region is the region the server answers for.
const Region = "us-east-1"

const installHint = "run scripts/install-s3-server.sh (or set CORPUS_AUDIT_VERSITYGW to a versitygw binary)"

// Server is a running S3 server.
type Server struct {
	// Endpoint is the server's URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Dir is the folder the server keeps buckets in, one sub-folder each.
	Dir string

	cmd     *exec.Cmd
	exited  chan struct{}
	log     *syncBuffer
	stopMu  sync.Mutex
	stopped bool
}

// Start starts a server for the calling test and stops it when the test
// ends. It fails the test if the server cannot be started.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start(tb.TempDir())
	if err != nil {
		tb.Fatalf("s3test: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

var shared struct {
	mu  sync.Mutex
	s   *Server
	dir string
	err error
}

// Shared returns the test binary's one server, starting it on first use,
// so that a package's tests share one. Stop it with Main:
//
//	func TestMain(m *testing.M) { s3test.Main(m) }
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.s == nil && shared.err == nil {
		dir, err := os.MkdirTemp("", "s3test-")
		if err == nil {
			shared.dir = dir
			shared.s, err = start(dir)
		}
		shared.err = err
	}
	if shared.err != nil {
		tb.Fatalf("s3test: %v", shared.err)
	}
	return shared.s
}

// Main runs a package's tests and then stops the shared server, if one
// was started. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.s != nil {
		shared.s.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// Binary returns the path of the versitygw binary, or an error saying how
// to install it.
func Binary() (string, error) {
	return testbin.Find("CORPUS_AUDIT_VERSITYGW", "versitygw", "the S3 test server versitygw", installHint)
}

func start(dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "buckets")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	// Another process may take the free port before the server does: try
	// a few ports.
	for try := 0; ; try++ {
		s, err := startOn(bin, root)
		if err == nil || try == 2 {
			return s, err
		}
	}
}

func startOn(bin, root string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{
		Endpoint:  "http://" + addr,
		AccessKey: "s3test-" + randHex(6),
		SecretKey: randHex(20),
		Dir:       root,
		exited:    make(chan struct{}),
		log:       &syncBuffer{},
	}
	s.cmd = exec.Command(bin,
		"--access", s.AccessKey, "--secret", s.SecretKey,
		"--port", addr, "--region", Region, "--keep-alive", "--quiet",
		"posix", root)
	// No inherited VGW_*/ROOT_* settings: the flags say it all.
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// Die with the test binary even if it is killed before cleanup.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%s on %s: %v; its output: %s", bin, addr, err, bytes.TrimSpace(s.log.Bytes()))
	}
	return s, nil
}

// waitReady waits until the server answers HTTP (any status will do: an
// anonymous request is refused with 403).
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			return errors.New("the server exited at start")
		default:
		}
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Options returns lake options that reach the server: its endpoint, path
// style addressing and its credentials.
func (s *Server) Options() lake.S3Options {
	return lake.S3Options{
		Endpoint:        s.Endpoint,
		PathStyle:       true,
		Region:          Region,
		AccessKeyID:     s.AccessKey,
		SecretAccessKey: s.SecretKey,
	}
}

// Client returns a plain SDK client of the server, for setting up tests
// without going through package lake.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		// As package lake does: no checksum headers some servers mishandle.
		RequestChecksumCalculation:                aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation:                aws.ResponseChecksumValidationWhenRequired,
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

var bucketSeq atomic.Int64

// NewBucket creates an empty bucket with a fresh name and returns the name.
func (s *Server) NewBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test-%d-%s", bucketSeq.Add(1), randHex(4))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("s3test: creating bucket %s: %v", name, err)
	}
	return name
}

// Bucket creates a fresh bucket and opens it with package lake; the
// bucket is closed when the test ends.
func (s *Server) Bucket(tb testing.TB) (lake.Bucket, string) {
	tb.Helper()
	name := s.NewBucket(tb)
	b, err := lake.NewS3(context.Background(), name, s.Options())
	if err != nil {
		tb.Fatalf("s3test: opening bucket %s: %v", name, err)
	}
	tb.Cleanup(func() { b.Close() })
	return b, name
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer collects the server's output for error messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}
