// Package lake reads and writes the data lake: one small Bucket interface
// with a local-filesystem provider and an S3 provider, and the helpers the
// audit needs on top of it (listing a snapshot, pinned random access,
// atomic writes). Callers never see which provider they use.
package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Attrs are an object's attributes at the time they were read.
type Attrs struct {
	Size    int64
	ModTime time.Time
	// ETag identifies one version of the object's content. S3 sets it; the
	// local provider derives it from size and modification time.
	ETag string
	// VersionID is set on versioned S3 buckets.
	VersionID string
}

// Bucket is a flat namespace of objects addressed by slash-separated keys,
// relative to the bucket's root (for S3, the bucket; for a local bucket, a
// folder). Implementations are safe for concurrent use.
//
// Errors: a missing object gives an error for which IsNotExist is true; an
// object whose ETag no longer matches the one a read was pinned to gives
// an error wrapping ErrChanged. Every error names the object.
type Bucket interface {
	// Iter calls fn for every object whose key starts with prefix,
	// recursively, in lexical key order, exactly once per object and from
	// the caller's goroutine. It stops at fn's first error and returns it.
	Iter(ctx context.Context, prefix string, fn func(key string, a Attrs) error) error
	// Attributes returns the attributes of one object.
	Attributes(ctx context.Context, key string) (Attrs, error)
	// Get reads a whole object. The caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// GetRange reads length bytes from off. If etag is not empty the read
	// fails with ErrChanged unless the object still has that ETag (S3 sends
	// If-Match). Reads past the end are an error.
	GetRange(ctx context.Context, key string, off, length int64, etag string) (io.ReadCloser, error)
	// Upload writes an object whole, atomically: a reader sees the old
	// object, no object, or the whole new one, never a part.
	Upload(ctx context.Context, key string, r io.Reader) error
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// URI returns how a key is shown to people: a local path as given or
	// an s3:// URI. Findings and summaries name files this way.
	URI(key string) string
	// Close releases the bucket's resources.
	Close() error
}

// ErrChanged is wrapped by errors from reads of an object that changed
// after its attributes were pinned.
var ErrChanged = errors.New("object changed while the audit was reading it")

// ErrNotExist is wrapped by errors for missing objects and buckets.
var ErrNotExist = errors.New("no such object")

// IsNotExist reports whether err says an object or bucket does not exist.
func IsNotExist(err error) bool { return errors.Is(err, ErrNotExist) }

// ObjectError names the object an operation failed on.
type ObjectError struct {
	Op  string // "list", "read", "stat", "write", "delete"
	URI string
	Err error
}

func (e *ObjectError) Error() string { return fmt.Sprintf("%s %s: %v", e.Op, e.URI, e.Err) }
func (e *ObjectError) Unwrap() error { return e.Err }
