package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Location is what a user names on the command line: a local path or an
// s3://bucket/prefix URI, resolved to a bucket and a key in it. The key
// names either one object or a folder-like prefix.
type Location struct {
	Bucket Bucket
	Key    string // no leading or trailing slash; "" is the bucket's root
	Raw    string // as given
}

// Object is one object found under a Location.
type Object struct {
	Key   string
	Attrs Attrs
}

// IsS3 reports whether raw is an s3:// URI.
func IsS3(raw string) bool { return strings.HasPrefix(raw, "s3://") }

// Open resolves raw to a Location. A local path that names a file is opened
// as that file in a bucket rooted at its folder; any other local path as a
// bucket rooted at the path itself (which need not exist yet, for outputs).
func Open(ctx context.Context, raw string, o S3Options) (Location, error) {
	if raw == "" {
		return Location{}, fmt.Errorf("empty path")
	}
	if IsS3(raw) {
		rest := strings.TrimPrefix(raw, "s3://")
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return Location{}, fmt.Errorf("%s: no bucket in S3 URI", raw)
		}
		b, err := NewS3(ctx, bucket, o)
		if err != nil {
			return Location{}, fmt.Errorf("%s: %w", raw, err)
		}
		return Location{Bucket: b, Key: strings.Trim(key, "/"), Raw: raw}, nil
	}
	if fi, err := os.Stat(raw); err == nil && fi.Mode().IsRegular() {
		return Location{Bucket: NewLocal(filepath.Dir(raw)), Key: filepath.Base(raw), Raw: raw}, nil
	}
	return Location{Bucket: NewLocal(raw), Key: "", Raw: raw}, nil
}

// Join returns the key of name under the location.
func (l Location) Join(name string) string {
	if l.Key == "" {
		return name
	}
	return l.Key + "/" + name
}

// URI shows a key of the location's bucket as the user would name it.
func (l Location) URI(key string) string { return l.Bucket.URI(key) }

// Files lists what the location names: the one object its key names, or
// else every object under it, in key order. Names are not filtered.
func (l Location) Files(ctx context.Context) ([]Object, error) {
	if l.Key != "" {
		a, err := l.Bucket.Attributes(ctx, l.Key)
		if err == nil {
			return []Object{{Key: l.Key, Attrs: a}}, nil
		}
		if !IsNotExist(err) {
			return nil, err
		}
	}
	prefix := ""
	if l.Key != "" {
		prefix = l.Key + "/"
	}
	var out []Object
	err := l.Bucket.Iter(ctx, prefix, func(key string, a Attrs) error {
		out = append(out, Object{Key: key, Attrs: a})
		return nil
	})
	return out, err
}

// Rel returns key relative to the location's key.
func (l Location) Rel(key string) string {
	if l.Key == "" {
		return key
	}
	return strings.TrimPrefix(strings.TrimPrefix(key, l.Key), "/")
}

// rangeReaderInto is implemented by providers that can read a range
// straight into the caller's buffer (the local one), saving a copy.
type rangeReaderInto interface {
	ReadRangeInto(ctx context.Context, key string, p []byte, off int64, etag string) error
}

// ReaderAt reads one object at random offsets, every read pinned to the
// ETag the object had when it was listed.
type ReaderAt struct {
	ctx    context.Context
	bucket Bucket
	key    string
	attrs  Attrs
}

// NewReaderAt returns a ReaderAt over key pinned to a.
func NewReaderAt(ctx context.Context, b Bucket, key string, a Attrs) *ReaderAt {
	return &ReaderAt{ctx: ctx, bucket: b, key: key, attrs: a}
}

// Size returns the object's size when it was pinned.
func (r *ReaderAt) Size() int64 { return r.attrs.Size }

// ReadAt implements io.ReaderAt.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset", r.bucket.URI(r.key))
	}
	if off >= r.attrs.Size {
		return 0, io.EOF
	}
	n := int64(len(p))
	short := false
	if off+n > r.attrs.Size {
		n = r.attrs.Size - off
		short = true
	}
	if n == 0 {
		return 0, nil
	}
	if into, ok := r.bucket.(rangeReaderInto); ok {
		if err := into.ReadRangeInto(r.ctx, r.key, p[:n], off, r.attrs.ETag); err != nil {
			return 0, err
		}
		if short {
			return int(n), io.EOF
		}
		return int(n), nil
	}
	rc, err := r.bucket.GetRange(r.ctx, r.key, off, n, r.attrs.ETag)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	got, err := io.ReadFull(rc, p[:n])
	if err != nil {
		var oe *ObjectError
		if !errors.As(err, &oe) { // the provider may have named it already
			err = &ObjectError{Op: "read", URI: r.bucket.URI(r.key), Err: err}
		}
		return got, err
	}
	if short {
		return got, io.EOF
	}
	return got, nil
}
