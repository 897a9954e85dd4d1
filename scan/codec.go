package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// Scan decompresses pages itself and hands parquet-go uncompressed pages,
// rather than letting parquet-go v0.32.0 decompress them, because:
//
//   - parquet-go's LZ4_RAW path returns wrong values without an error: its
//     decoder decompresses into a new buffer whenever the page compresses
//     less than 3:1, and Column.decompress keeps the old, unfilled buffer.
//     On a corrupt LZ4 block it also loops, doubling its buffer until the
//     process runs out of memory.
//   - its zstd, gzip and brotli decoders grow their output without bound,
//     so a small malformed page can expand to gigabytes.
//
// Here every page decompresses into a buffer of exactly the size its header
// states (at most MaxPageSize) and any other size is an error.

// decompress decompresses src, compressed with codec, into dst, which has
// the exact uncompressed length the page header states.
func decompress(codec format.CompressionCodec, dst, src []byte) error {
	var n int
	var err error
	switch codec {
	case format.Snappy:
		n, err = snappy.DecodedLen(src)
		if err == nil && n == len(dst) {
			var out []byte
			out, err = snappy.Decode(dst, src)
			n = len(out)
		}
	case format.Gzip:
		n, err = readerDecompress(&gzipPool, dst, src)
	case format.Brotli:
		n, err = readerDecompress(&brotliPool, dst, src)
	case format.Zstd:
		n, err = zstdDecompress(dst, src)
	case format.Lz4Raw:
		n, err = lz4Block(dst, src)
	case format.Lz4:
		n, err = hadoopLZ4(dst, src)
	default:
		return fmt.Errorf("compression codec %s is not supported", codec)
	}
	if err != nil {
		return fmt.Errorf("decompressing %s page: %w", codec, err)
	}
	if n != len(dst) {
		return fmt.Errorf("%s page decompresses to %d bytes but its header says %d", codec, n, len(dst))
	}
	return nil
}

// lz4Block decodes one LZ4 block into dst. pierrec/lz4's decoder (amd64
// assembly) dereferences dst even when it is empty, so an empty dst is
// handled here: the only blocks that decode to nothing are nothing and a
// single token (found by FuzzChunkReader: a page claiming 0 bytes
// uncompressed with a longer LZ4_RAW body panicked, which the readers
// recovered as an unexplained "reader panicked").
func lz4Block(dst, src []byte) (int, error) {
	if len(dst) == 0 {
		if len(src) <= 1 {
			return 0, nil
		}
		return 0, fmt.Errorf("an LZ4 block of %d bytes for an empty page", len(src))
	}
	return lz4.UncompressBlock(src, dst)
}

// hadoopLZ4 decodes the deprecated LZ4 codec. Hadoop's framing is a
// sequence of (4-byte big-endian uncompressed length, 4-byte big-endian
// compressed length, LZ4 block); some writers wrote a bare LZ4 block
// instead, so, like Arrow, fall back to that when the framing does not fit.
func hadoopLZ4(dst, src []byte) (int, error) {
	if n, ok := hadoopFrames(dst, src); ok {
		return n, nil
	}
	return lz4Block(dst, src)
}

func hadoopFrames(dst, src []byte) (int, bool) {
	out := 0
	for len(src) > 0 {
		if len(src) < 8 {
			return 0, false
		}
		ulen := int64(binary.BigEndian.Uint32(src))
		clen := int64(binary.BigEndian.Uint32(src[4:]))
		src = src[8:]
		if clen > int64(len(src)) || ulen > int64(len(dst)-out) {
			return 0, false
		}
		n, err := lz4Block(dst[out:out+int(ulen)], src[:clen])
		if err != nil || int64(n) != ulen {
			return 0, false
		}
		out += n
		src = src[clen:]
	}
	return out, true
}

var (
	zstdOnce sync.Once
	zstdDec  *zstd.Decoder
	zstdErr  error
)

func zstdDecompress(dst, src []byte) (int, error) {
	zstdOnce.Do(func() {
		// DecodeAll is safe for concurrent use; the memory cap bounds what a
		// frame can make it allocate.
		zstdDec, zstdErr = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(MaxPageSize+1),
			zstd.WithDecoderLowmem(false))
	})
	if zstdErr != nil {
		return 0, zstdErr
	}
	// Output longer than dst goes to a new buffer (bounded by the memory
	// cap) and shows as a length mismatch.
	out, err := zstdDec.DecodeAll(src, dst[:0])
	return len(out), err
}

// streamReader is a pooled decompressing reader.
type streamReader interface {
	io.Reader
	Reset(io.Reader) error
}

type readerPool struct {
	pool sync.Pool
	new  func(io.Reader) (streamReader, error)
}

var gzipPool = readerPool{new: func(r io.Reader) (streamReader, error) {
	return gzip.NewReader(r)
}}

var brotliPool = readerPool{new: func(r io.Reader) (streamReader, error) {
	return brotli.NewReader(r), nil
}}

// readerDecompress fills dst from a stream decompressor and checks that
// the stream ends there.
func readerDecompress(p *readerPool, dst, src []byte) (int, error) {
	in := bytes.NewReader(src)
	var zr streamReader
	if v := p.pool.Get(); v != nil {
		zr = v.(streamReader)
		if err := zr.Reset(in); err != nil {
			return 0, err
		}
	} else {
		var err error
		if zr, err = p.new(in); err != nil {
			return 0, err
		}
	}
	n, err := io.ReadFull(zr, dst)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			p.pool.Put(zr)
			return n, nil // shorter than the header says
		}
		return n, err
	}
	var one [1]byte
	m, err := zr.Read(one[:])
	for tries := 0; m == 0 && err == nil && tries < 100; tries++ {
		m, err = zr.Read(one[:])
	}
	switch {
	case m > 0:
		return n + 1, nil // longer than the header says
	case err == nil:
		return n, errors.New("decompressor made no progress")
	case !errors.Is(err, io.EOF):
		return n, err
	}
	p.pool.Put(zr)
	return n, nil
}
