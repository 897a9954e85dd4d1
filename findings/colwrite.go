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
		data := fixedValues(arr, arrow.Int64Traits.CastFromBytes)
		if spaced {
			wr.WriteBatchSpaced(data, def, rep, valid, off)
			return nil
		}
		_, err := wr.WriteBatch(data, def, rep)
		return err
	case *file.Int32ColumnChunkWriter:
		switch arr.DataType().ID() {
		case arrow.INT32, arrow.DATE32:
		default:
			return mismatch()
		}
		data := fixedValues(arr, arrow.Int32Traits.CastFromBytes)
		if spaced {
			wr.WriteBatchSpaced(data, def, rep, valid, off)
			return nil
		}
		_, err := wr.WriteBatch(data, def, rep)
		return err
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
		if spaced {
			wr.WriteBatchSpaced(w.strs, def, rep, valid, off)
			return nil
		}
		_, err := wr.WriteBatch(w.strs, def, rep)
		return err
	}
	return mismatch()
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
	if d.NullN() != 0 && cw.Descr().SchemaNode().RepetitionType() != parquet.Repetitions.Required {
		wr.WriteBatchSpaced(w.strs, def, rep, d.NullBitmapBytes(), int64(d.Data().Offset()))
		return nil
	}
	_, err := wr.WriteBatch(w.strs, def, rep)
	return err
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
