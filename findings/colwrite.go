package findings

import (
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
)

// This file writes the Writer's Arrow arrays to Arrow's Parquet column
// writers. It does for a findings file's columns what
// pqarrow.WriteArrowToColumn does, and the same way (the files are
// byte-identical), but pqarrow is not linked: it brings Arrow's compute
// kernels, Flight and gRPC into the binary, about 15 MB of code of which
// the audit used none, and which Linux maps into a run's resident memory
// (`corpus-audit version` peaked at 36 MiB with pqarrow, 22 MiB without).
//
// A findings file has no nullable parents: its columns are flat, and the
// categories list and its elements are required. So a column's levels
// say everything about its nulls, as for pqarrow when a leaf's nulls are
// the only ones ("no parent nulls").

// dictEncoder is the part of Arrow's dictionary encoder (an internal
// type, reached through ColumnChunkWriter.CurrentEncoder) that writing an
// Arrow dictionary array needs.
type dictEncoder interface {
	PutDictionary(arrow.Array) error
	NumEntries() int
	PreservedDictionary() arrow.Array
}

// writeLeaf is Writer.writeArrow; tests compare it with pqarrow.
var writeLeaf = (*Writer).writeArrow

// writeArrow writes arr, the values of one leaf column of the buffered
// row group, with the given definition and repetition levels (nil for a
// required flat column).
func (w *Writer) writeArrow(cw file.ColumnChunkWriter, arr arrow.Array, def, rep []int16) error {
	if d, ok := arr.(*array.Dictionary); ok {
		return w.writeDictionary(cw, d, def, rep)
	}
	// With nulls, the values are "spaced": a null row has a slot in arr
	// that the writer skips by arr's validity bitmap.
	spaced := arr.NullN() != 0 && cw.Descr().SchemaNode().RepetitionType() != parquet.Repetitions.Required
	valid, off := arr.NullBitmapBytes(), int64(arr.Data().Offset())
	mismatch := func() error {
		return fmt.Errorf("type mismatch: column is %s, array is %s", cw.Type(), arr.DataType())
	}
	switch wr := cw.(type) {
	case *file.Int64ColumnChunkWriter:
		switch t := arr.DataType().(type) {
		case *arrow.Int64Type:
		case *arrow.TimestampType:
			if t.Unit != arrow.Microsecond {
				return mismatch()
			}
		default:
			return mismatch()
		}
		return writeBatch(wr, fixedValues(arr, arrow.Int64Traits.CastFromBytes), def, rep, spaced, valid, off)
	case *file.Int32ColumnChunkWriter:
		switch arr.DataType().ID() {
		case arrow.INT32, arrow.DATE32:
		default:
			return mismatch()
		}
		return writeBatch(wr, fixedValues(arr, arrow.Int32Traits.CastFromBytes), def, rep, spaced, valid, off)
	case *file.ByteArrayColumnChunkWriter:
		s, ok := arr.(*array.String)
		if !ok {
			return mismatch()
		}
		w.strs = slices.Grow(w.strs[:0], s.Len())[:s.Len()]
		buf := stringBytes(s)
		offsets := s.ValueOffsets()
		for i := range w.strs {
			w.strs[i] = buf[offsets[i]:offsets[i+1]]
		}
		return writeBatch(wr, w.strs, def, rep, spaced, valid, off)
	}
	return mismatch()
}

// batchWriter is a typed column chunk writer of Arrow's.
type batchWriter[T any] interface {
	WriteBatch(values []T, defLevels, repLevels []int16) (int64, error)
	WriteBatchSpaced(values []T, defLevels, repLevels []int16, validBits []byte, validBitsOffset int64)
}

// writeBatch writes one column's values: all of them, or with spaced,
// those valid bits (from bit off) mark, leaving a null row's slot
// unread.
func writeBatch[T any](wr batchWriter[T], data []T, def, rep []int16, spaced bool, valid []byte, off int64) error {
	if spaced {
		wr.WriteBatchSpaced(data, def, rep, valid, off)
		return nil
	}
	_, err := wr.WriteBatch(data, def, rep)
	return err
}

// writeDictionary writes a dictionary<int32, utf8> array: the dictionary
// goes to the column's dictionary page as it is and the indices are
// written as they are, so no value is hashed. If the column is not
// dictionary-encoded or collects statistics (which this path would have
// to compute from the dictionary), the values are written as plain
// strings instead.
func (w *Writer) writeDictionary(cw file.ColumnChunkWriter, d *array.Dictionary, def, rep []int16) error {
	dict, ok := d.Dictionary().(*array.String)
	if !ok || d.Indices().DataType().ID() != arrow.INT32 {
		return fmt.Errorf("type mismatch: column is %s, array is %s", cw.Type(), d.DataType())
	}
	enc, ok := cw.CurrentEncoder().(dictEncoder)
	if !ok || !dictDirect || cw.CurrentEncoder().Encoding() != parquet.Encodings.PlainDict ||
		cw.PageStatistics() != nil || enc.PreservedDictionary() != nil {
		return w.writeDense(cw, d, dict, def, rep)
	}
	if err := enc.PutDictionary(dict); err != nil {
		return err
	}
	if enc.NumEntries() != dict.Len() {
		// Repeated dictionary values: the encoder's codes no longer match
		// the indices.
		cw.FallbackToPlain()
		return w.writeDense(cw, d, dict, def, rep)
	}
	return cw.WriteDictIndices(d.Indices(), def, rep)
}

// dictDirect lets writeDictionary write a dictionary as it is; tests turn
// it off to check writeDense.
var dictDirect = true

// writeDense writes a dictionary array's values as plain strings (the
// column writer dictionary-encodes them itself if it still can).
func (w *Writer) writeDense(cw file.ColumnChunkWriter, d *array.Dictionary, dict *array.String, def, rep []int16) error {
	wr, ok := cw.(*file.ByteArrayColumnChunkWriter)
	if !ok {
		return fmt.Errorf("type mismatch: column is %s, array is %s", cw.Type(), d.DataType())
	}
	idx := d.Indices().(*array.Int32)
	buf, offsets := stringBytes(dict), dict.ValueOffsets()
	w.strs = slices.Grow(w.strs[:0], d.Len())[:d.Len()]
	for i := range w.strs {
		w.strs[i] = nil
		if d.IsValid(i) {
			c := idx.Value(i)
			w.strs[i] = buf[offsets[c]:offsets[c+1]]
		}
	}
	spaced := d.NullN() != 0 && cw.Descr().SchemaNode().RepetitionType() != parquet.Repetitions.Required
	return writeBatch(wr, w.strs, def, rep, spaced, d.NullBitmapBytes(), int64(d.Data().Offset()))
}

// fixedValues returns a fixed-width array's values, nil for an array
// without a value buffer (an empty one).
func fixedValues[T any](arr arrow.Array, cast func([]byte) []T) []T {
	buf := arr.Data().Buffers()[1]
	if buf == nil {
		return nil
	}
	off := arr.Data().Offset()
	return cast(buf.Bytes())[off : off+arr.Len()]
}

// stringBytes returns the value buffer of a string array, which its
// ValueOffsets index.
func stringBytes(s *array.String) []byte {
	if buf := s.Data().Buffers()[2]; buf != nil {
		return buf.Bytes()
	}
	return []byte{}
}
