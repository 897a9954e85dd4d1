package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Local is a Bucket over a folder of the local filesystem.
type Local struct {
	root string // as given by the user, used in URIs
}

// NewLocal returns a bucket rooted at dir. The folder need not exist yet.
func NewLocal(dir string) *Local { return &Local{root: dir} }

func (l *Local) path(key string) string {
	if key == "" {
		return l.root
	}
	return filepath.Join(l.root, filepath.FromSlash(key))
}

// URI implements Bucket.
func (l *Local) URI(key string) string { return l.path(key) }

// Close implements Bucket.
func (l *Local) Close() error { return nil }

func localAttrs(fi fs.FileInfo) Attrs {
	return Attrs{
		Size:    fi.Size(),
		ModTime: fi.ModTime().UTC(),
		ETag:    fmt.Sprintf("%x-%x", fi.ModTime().UnixNano(), fi.Size()),
	}
}

func (l *Local) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if os.IsNotExist(err) {
		err = fmt.Errorf("%w (%v)", ErrNotExist, err)
	}
	return &ObjectError{Op: op, URI: l.URI(key), Err: err}
}

// Iter implements Bucket. Folders are walked in lexical order; keys that
// start with prefix are reported, prefix being a plain string prefix of the
// slash-separated key.
func (l *Local) Iter(ctx context.Context, prefix string, fn func(string, Attrs) error) error {
	// Start the walk at the deepest folder the prefix names.
	dir := prefix
	if i := strings.LastIndex(dir, "/"); i >= 0 {
		dir = dir[:i]
	} else {
		dir = ""
	}
	start := l.path(dir)
	if _, err := os.Stat(start); err != nil {
		if os.IsNotExist(err) {
			return nil // nothing under the prefix, as on S3
		}
		return l.wrap("list", dir, err)
	}
	var keys []string
	attrs := map[string]Attrs{}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// A file or folder removed between reading its folder and
			// looking at it (a writer's temporary file renamed into
			// place) is not listed, as S3 would not list it either.
			if p != start && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || isUploadTemp(d.Name()) {
			return nil // an Upload in progress is not an object yet, as on S3
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed since the folder was read
			}
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		keys = append(keys, key)
		attrs[key] = localAttrs(fi)
		return nil
	})
	if err != nil {
		return l.wrap("list", prefix, err)
	}
	// WalkDir's order is per folder; S3's is by whole key. Match S3.
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k, attrs[k]); err != nil {
			return err
		}
	}
	return nil
}

// Attributes implements Bucket.
func (l *Local) Attributes(_ context.Context, key string) (Attrs, error) {
	fi, err := os.Stat(l.path(key))
	if err != nil {
		return Attrs{}, l.wrap("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Attrs{}, l.wrap("stat", key, fmt.Errorf("%w: not a regular file", ErrNotExist))
	}
	return localAttrs(fi), nil
}

// Get implements Bucket.
func (l *Local) Get(_ context.Context, key string) (io.ReadCloser, error) {
	f, err := os.Open(l.path(key))
	if err != nil {
		return nil, l.wrap("read", key, err)
	}
	return f, nil
}

// GetRange implements Bucket. With an etag, the file is checked after the
// read as well as before, so a file rewritten in place during the read is
// caught too.
func (l *Local) GetRange(_ context.Context, key string, off, length int64, etag string) (io.ReadCloser, error) {
	if off < 0 || length < 0 {
		return nil, l.wrap("read", key, fmt.Errorf("invalid range %d+%d", off, length))
	}
	buf := make([]byte, length)
	if err := l.readRange(key, buf, off, etag); err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(buf)), nil
}

// ReadRangeInto reads len(p) bytes at off into p, pinned like GetRange,
// without the intermediate buffer GetRange needs. ReaderAt uses it.
func (l *Local) ReadRangeInto(_ context.Context, key string, p []byte, off int64, etag string) error {
	if off < 0 {
		return l.wrap("read", key, fmt.Errorf("invalid range %d+%d", off, len(p)))
	}
	return l.readRange(key, p, off, etag)
}

// readRange fills p from off. With an etag, the file is checked after the
// read as well as before, so a file rewritten in place during the read is
// caught too.
func (l *Local) readRange(key string, p []byte, off int64, etag string) error {
	f, err := os.Open(l.path(key))
	if err != nil {
		return l.wrap("read", key, err)
	}
	defer f.Close()
	check := func() error {
		if etag == "" {
			return nil
		}
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if got := localAttrs(fi).ETag; got != etag {
			return fmt.Errorf("%w (etag %s, pinned %s)", ErrChanged, got, etag)
		}
		return nil
	}
	if err := check(); err != nil {
		return l.wrap("read", key, err)
	}
	n, err := f.ReadAt(p, off)
	if err != nil && !(err == io.EOF && n == len(p)) {
		if err == io.EOF {
			err = fmt.Errorf("range %d+%d past the end of the file: %w", off, len(p), io.ErrUnexpectedEOF)
		}
		return l.wrap("read", key, err)
	}
	if err := check(); err != nil {
		return l.wrap("read", key, err)
	}
	return nil
}

// Upload implements Bucket: it writes to a temporary file beside the
// target, syncs it and renames it into place.
func (l *Local) Upload(_ context.Context, key string, r io.Reader) error {
	p := l.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return l.wrap("write", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+path.Base(key)+uploadTempMark+"*")
	if err != nil {
		return l.wrap("write", key, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return l.wrap("write", key, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return l.wrap("write", key, err)
	}
	return nil
}

// uploadTempMark is in the name of every temporary file of Upload:
// ".NAME.tmp-RANDOM".
const uploadTempMark = ".tmp-"

// isUploadTemp reports whether a file name is that of an Upload's
// temporary file, which Iter does not list.
func isUploadTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, uploadTempMark)
}

// Delete implements Bucket.
func (l *Local) Delete(_ context.Context, key string) error {
	err := os.Remove(l.path(key))
	if err != nil && !os.IsNotExist(err) {
		return l.wrap("delete", key, err)
	}
	return nil
}
