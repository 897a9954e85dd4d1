package lookup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pgo "github.com/parquet-go/parquet-go"
)

// TestTableChecksums: a lookup table whose pages carry CRC32 checksums
// (parquet-go writes them, as parquet-mr and Spark do by default) is read
// when intact, and fails the build, naming the file and column, when a
// byte of a page changes — Arrow's reader, which reads the tables, does not
// check page checksums itself.
func TestTableChecksums(t *testing.T) {
	type ageRow struct {
		AccountID int64     `parquet:"account_id"`
		BirthDate time.Time `parquet:"birth_date,date"`
	}
	rows := make([]ageRow, 5000)
	for i := range rows {
		rows[i] = ageRow{AccountID: int64(i*7 + 1), BirthDate: time.Date(1950+i%60, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)}
	}
	var buf bytes.Buffer
	w := pgo.NewGenericWriter[ageRow](&buf, pgo.PageBufferSize(4096))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()

	// The last byte of birth_date's first data page body: its header's
	// CRC no longer matches, nothing else about the file changes.
	pf, err := pgo.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md := pf.Metadata().RowGroups[0].Columns[1].MetaData
	if md.PathInSchema[0] != "birth_date" {
		t.Fatalf("column 1 is %v", md.PathInSchema)
	}
	damaged := bytes.Clone(data)
	damaged[md.DataPageOffset+md.TotalCompressedSize-1] ^= 0x10

	objs := fixture(t, nil, nil, nil).Objections
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"intact", data, ""},
		{"one byte changed", damaged, "checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "ages.parquet")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			ix, _, err := Build(context.Background(), Tables{Ages: open(t, p), Objections: objs}, testOptions())
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if f := ix.Facts(rows[4999].AccountID); !f.BirthKnown {
					t.Fatalf("account %d: birth date not known", rows[4999].AccountID)
				}
				return
			}
			if err == nil {
				t.Fatal("a damaged page was read without an error")
			}
			for _, part := range []string{"ages.parquet", "birth_date", tc.want} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not name %q", err, part)
				}
			}
		})
	}
}
