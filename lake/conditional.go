package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ErrExists is wrapped by the error of UploadIfAbsent when the key is
// already taken.
var ErrExists = errors.New("object already exists")

// ConditionalUploader is implemented by buckets that can create an object
// only if no object has its key, atomically: of several callers racing
// for one key exactly one succeeds. Local and S3 buckets implement it.
type ConditionalUploader interface {
	// UploadIfAbsent writes an object whole, like Upload, but only if the
	// key is free; otherwise it fails with an error wrapping ErrExists and
	// leaves the existing object as it was.
	UploadIfAbsent(ctx context.Context, key string, r io.Reader) error
}

// UploadIfAbsent creates key in b with r's content if the key is free (see
// ConditionalUploader). A bucket without conditional writes is an error.
func UploadIfAbsent(ctx context.Context, b Bucket, key string, r io.Reader) error {
	cu, ok := b.(ConditionalUploader)
	if !ok {
		return &ObjectError{Op: "write", URI: b.URI(key), Err: fmt.Errorf("this storage (%T) has no conditional writes", b)}
	}
	return cu.UploadIfAbsent(ctx, key, r)
}

// UploadIfAbsent implements ConditionalUploader. The content goes to a
// temporary file first, which is then hard-linked to the key: link(2)
// fails if the name exists, so the object appears whole or not at all.
// On filesystems without hard links it falls back to creating the file
// with O_EXCL and writing into it (still exclusive, but a reader may then
// see the file before its content is complete).
func (l *Local) UploadIfAbsent(_ context.Context, key string, r io.Reader) error {
	p := l.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return l.wrap("write", key, err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return l.wrap("write", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+path.Base(key)+".tmp-*")
	if err != nil {
		return l.wrap("write", key, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return l.wrap("write", key, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return l.wrap("write", key, err)
	}
	if err := f.Close(); err != nil {
		return l.wrap("write", key, err)
	}
	err = os.Link(tmp, p)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrExist):
		return l.wrap("write", key, fmt.Errorf("%w", ErrExists))
	case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EMLINK):
		return l.createExcl(key, p, data)
	default:
		return l.wrap("write", key, err)
	}
}

func (l *Local) createExcl(key, p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return l.wrap("write", key, fmt.Errorf("%w", ErrExists))
		}
		return l.wrap("write", key, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(p)
		return l.wrap("write", key, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(p)
		return l.wrap("write", key, err)
	}
	return l.wrap("write", key, f.Close())
}

// UploadIfAbsent implements ConditionalUploader with one PutObject sent
// with "If-None-Match: *": S3 answers 412 Precondition Failed when the key
// exists, and 409 ConditionalRequestConflict while another conditional
// write of the key is in flight; both mean another writer has the key.
// The body is held in memory (meant for small objects: locks, state).
func (b *s3Bucket) UploadIfAbsent(ctx context.Context, key string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return &ObjectError{Op: "write", URI: b.URI(key), Err: err}
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b.name),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		IfNoneMatch:   aws.String("*"),
	}
	if b.sse != "" {
		in.ServerSideEncryption = s3types.ServerSideEncryption(b.sse)
	}
	if b.kmsKeyID != "" {
		in.SSEKMSKeyId = aws.String(b.kmsKeyID)
	}
	_, err = b.client.PutObject(ctx, in)
	if err == nil {
		return nil
	}
	if st := httpStatus(err); st == http.StatusPreconditionFailed || st == http.StatusConflict ||
		apiCode(err) == "PreconditionFailed" || apiCode(err) == "ConditionalRequestConflict" {
		return &ObjectError{Op: "write", URI: b.URI(key), Err: &s3Error{
			msg: fmt.Sprintf("%v (%s)", ErrExists, apiCode(err)), kind: ErrExists, err: err}}
	}
	return b.wrap("write", key, "", err)
}
