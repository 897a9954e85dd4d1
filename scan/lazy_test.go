package scan

import (
	"bytes"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestLazyContentIDs: a batch read with LazyContentID and then asked for
// some rows' content ids gives exactly the ids an ordinary read gives for
// those rows, and the same other columns, across page layouts, encodings,
// nulls and int ids.
func TestLazyContentIDs(t *testing.T) {
	cases := []pgCase{
		{name: "optional plain, many pages", n: 3000, rgRows: 700, nullable: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Snappy, pageBuf: 512},
		{name: "required plain v1", n: 2000, rgRows: 900, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Gzip, pageBuf: 700, pageV: 1},
		{name: "optional dict zstd", n: 700, nullable: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary, codec: &parquet.Zstd},
		{name: "int ids, optional", n: 1500, rgRows: 600, nullable: true, intIDs: true, strEnc: &parquet.Plain, intEnc: &parquet.Plain, codec: &parquet.Snappy, pageBuf: 512},
		{name: "int ids dict", n: 500, intIDs: true, strEnc: &parquet.RLEDictionary, intEnc: &parquet.RLEDictionary, codec: &parquet.Snappy, pageBuf: 1024},
		{name: "delta byte array", n: 600, strEnc: &parquet.DeltaByteArray, intEnc: &parquet.DeltaBinaryPacked, codec: &parquet.Zstd},
	}
	picks := map[string]func(i, n int) bool{
		"none":       func(i, n int) bool { return false },
		"every 3rd":  func(i, n int) bool { return i%3 == 0 },
		"all":        func(i, n int) bool { return true },
		"first last": func(i, n int) bool { return i == 0 || i == n-1 },
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := sampleRows(c.n, c.nullable, c.intIDs)
			opts := []parquet.WriterOption{parquet.Compression(c.codec)}
			if c.pageV != 0 {
				opts = append(opts, parquet.DataPageVersion(c.pageV))
			}
			if c.pageBuf != 0 {
				opts = append(opts, parquet.PageBufferSize(c.pageBuf))
			}
			data := writePG(t, c.columns(rows), c.n, c.rgRows, opts...)
			f, err := Open(bytes.NewReader(data), int64(len(data)), "lazy.parquet", defaultCols)
			if err != nil {
				t.Fatal(err)
			}
			var eager Batch
			lazy := Batch{LazyContentID: true}
			for rg := 0; rg < f.NumRowGroups(); rg++ {
				if err := f.ReadRowGroup(rg, &eager); err != nil {
					t.Fatal(err)
				}
				if err := f.ReadRowGroup(rg, &lazy); err != nil {
					t.Fatal(err)
				}
				if len(lazy.ContentID.Valid) != 0 {
					t.Fatalf("row group %d: a lazy batch holds %d content ids", rg, len(lazy.ContentID.Valid))
				}
				if !equalInts(eager.Author, lazy.Author) || !equalInts(eager.Created, lazy.Created) || lazy.N != eager.N {
					t.Fatalf("row group %d: lazy and eager batches differ outside content_id", rg)
				}
				for name, pick := range picks {
					var sel []int32
					for i := 0; i < eager.N; i++ {
						if pick(i, eager.N) {
							sel = append(sel, int32(i))
						}
					}
					var ids IDs
					if err := f.ContentIDs(&lazy, sel, &ids); err != nil {
						t.Fatalf("row group %d, %s: %v", rg, name, err)
					}
					if len(ids.Valid) != len(sel) || ids.IsInt != eager.ContentID.IsInt {
						t.Fatalf("row group %d, %s: %d ids (int %v) for %d rows (int %v)", rg, name, len(ids.Valid), ids.IsInt, len(sel), eager.ContentID.IsInt)
					}
					for k, r := range sel {
						e := &eager.ContentID
						if ids.Valid[k] != e.Valid[r] {
							t.Fatalf("row group %d, %s: row %d: valid %v, want %v", rg, name, r, ids.Valid[k], e.Valid[r])
						}
						if ids.IsInt {
							if ids.Valid[k] && ids.Int[k] != e.Int[r] {
								t.Fatalf("row group %d, %s: row %d: id %d, want %d", rg, name, r, ids.Int[k], e.Int[r])
							}
							continue
						}
						got := string(ids.Data[ids.Offsets[k]:ids.Offsets[k+1]])
						want := string(e.Data[e.Offsets[r]:e.Offsets[r+1]])
						if got != want {
							t.Fatalf("row group %d, %s: row %d: id %q, want %q", rg, name, r, got, want)
						}
					}
				}
			}
			// ContentIDs needs a batch read lazily from this file.
			if err := f.ContentIDs(&eager, nil, new(IDs)); err == nil {
				t.Error("ContentIDs on an eagerly read batch: no error")
			}
		})
	}
}

func equalInts(a, b []int64) bool { return bytes.Equal(int64Bytes(a), int64Bytes(b)) }

func int64Bytes(s []int64) []byte {
	out := make([]byte, 0, 8*len(s))
	for _, v := range s {
		for k := 0; k < 8; k++ {
			out = append(out, byte(v>>(8*k)))
		}
	}
	return out
}
