package findings

import (
	"sync"

	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// Arrow v17's zstd codec builds a new encoder for every page it
// compresses (zstdCodec.EncodeLevel), allocating and clearing about 10 MiB
// of history each time; that was most of the writer's time. This package
// re-registers the zstd codec with one that keeps one encoder per level.
// Only Encode and EncodeLevel change; decoding and streams are Arrow's
// own. The output is the same bytes: EncodeAll of an encoder with the same
// options, one independent frame per page.
//
// Registration happens in init, as compress.RegisterCodec requires (its
// registry is an unlocked map).
func init() {
	orig, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return // Arrow has no zstd codec; nothing to speed up
	}
	arrowZstd = orig
	compress.RegisterCodec(compress.Codecs.Zstd, cachedZstd{Codec: orig})
}

// arrowZstd is Arrow's own zstd codec (for tests).
var arrowZstd compress.Codec

// cachedZstd is Arrow's zstd codec with cached encoders.
type cachedZstd struct {
	compress.Codec
}

// zstdWindow is the encoders' window.
const zstdWindow = 1 << 20

var zstdEncoders sync.Map // zstd.EncoderLevel → *zstd.Encoder

func zstdEncoder(level int) *zstd.Encoder {
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	if e, ok := zstdEncoders.Load(l); ok {
		return e.(*zstd.Encoder)
	}
	// One encoder, not one per CPU: a Writer compresses on one goroutine,
	// and each encoder holds a history buffer as large as its window. Each
	// page is a frame of its own and pages are about 1 MiB (Arrow's
	// default), so a window of the default 8 MiB would only hold memory.
	e, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(zstdWindow))
	if err != nil {
		return nil
	}
	got, _ := zstdEncoders.LoadOrStore(l, e)
	return got.(*zstd.Encoder)
}

// Encode implements compress.Codec. EncodeAll is safe for concurrent use.
func (c cachedZstd) Encode(dst, src []byte) []byte {
	return c.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

// EncodeLevel implements compress.Codec.
func (c cachedZstd) EncodeLevel(dst, src []byte, level int) []byte {
	e := zstdEncoder(level)
	if e == nil {
		return c.Codec.EncodeLevel(dst, src, level)
	}
	return e.EncodeAll(src, dst[:0])
}
