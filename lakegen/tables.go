package lakegen

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	pq "github.com/parquet-go/parquet-go"
)

// TableInfo describes one written lookup table file.
type TableInfo struct {
	Role string `json:"role"` // ages, objections or links
	Path string `json:"path"` // relative to the output folder, slash-separated
	Rows int64  `json:"rows"`
}

const tableRowGroupRows = 1_000_000

func tablePath(role, format string) string {
	return "tables/" + role + "/part-00000." + format
}

// tablesCodec: the tables are read with Arrow, which cannot read LZ4.
func (m *model) tablesCodec() codecPair {
	if m.opt.Codec == "lz4" {
		return codecs["snappy"]
	}
	return codecs[m.opt.Codec]
}

func (m *model) pqTableOptions() []pq.WriterOption {
	return []pq.WriterOption{
		pq.Compression(m.tablesCodec().pq),
		pq.CreatedBy(pqCreatedByApp, pqCreatedByVer, pqCreatedBy),
		pq.MaxRowsPerRowGroup(tableRowGroupRows),
	}
}

func (m *model) writeTable(out string, info *TableInfo) error {
	path := filepath.Join(out, filepath.FromSlash(info.Path))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("lakegen: %w", err)
	}
	csv := m.opt.TablesFormat == "csv"
	err := writeAtomically(path, func(w io.Writer) error {
		var n int64
		var err error
		switch {
		case info.Role == "ages" && csv:
			n, err = m.agesCSV(w)
		case info.Role == "ages":
			n, err = m.agesParquet(w)
		case info.Role == "links" && csv:
			n, err = m.linksCSV(w)
		case info.Role == "links":
			n, err = m.linksParquet(w)
		case info.Role == "objections" && csv:
			n, err = m.objectionsCSV(w)
		default:
			n, err = m.objectionsParquet(w)
		}
		info.Rows = n
		return err
	})
	if err != nil {
		return fmt.Errorf("lakegen: write %s table %s: %w", info.Role, path, err)
	}
	return nil
}

type agesRow struct {
	AccountID int64  `parquet:"account_id"`
	BirthDate *int32 `parquet:"birth_date,optional,date"`
}

func (m *model) agesParquet(w io.Writer) (int64, error) {
	pw := pq.NewGenericWriter[agesRow](w, m.pqTableOptions()...)
	rows := make([]agesRow, 0, batchSize+4)
	days := make([]int32, batchSize+4)
	var total int64
	var err error
	flush := func() {
		if err == nil && len(rows) > 0 {
			_, err = pw.Write(rows)
		}
		total += int64(len(rows))
		rows = rows[:0]
	}
	for idx := range m.n {
		m.emitAges(idx, func(account int64, day int32, valid bool) {
			r := agesRow{AccountID: account}
			if valid {
				days[len(rows)] = day
				r.BirthDate = &days[len(rows)]
			}
			rows = append(rows, r)
		})
		if len(rows) >= batchSize {
			flush()
		}
	}
	flush()
	if err != nil {
		return total, err
	}
	return total, pw.Close()
}

type linkRowPQ struct {
	AccountID        int64 `parquet:"account_id"`
	AccountsCenterID int64 `parquet:"accounts_center_id"`
}

func (m *model) linksParquet(w io.Writer) (int64, error) {
	pw := pq.NewGenericWriter[linkRowPQ](w, m.pqTableOptions()...)
	rows := make([]linkRowPQ, 0, batchSize)
	for i, l := range m.links {
		rows = append(rows, linkRowPQ{l.account, l.centre})
		if len(rows) == batchSize || i == len(m.links)-1 {
			if _, err := pw.Write(rows); err != nil {
				return 0, err
			}
			rows = rows[:0]
		}
	}
	return int64(len(m.links)), pw.Close()
}

// objectionsParquet writes the objections with Arrow: objected_at REQUIRED,
// withdrawn_at OPTIONAL, both TIMESTAMP(MICROS, UTC).
func (m *model) objectionsParquet(w io.Writer) (int64, error) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "account_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "objected_at", Type: ts},
		{Name: "withdrawn_at", Type: ts, Nullable: true},
	}, nil)
	props := parquet.NewWriterProperties(
		parquet.WithCompression(m.tablesCodec().arrow),
		parquet.WithMaxRowGroupLength(tableRowGroupRows),
		parquet.WithCreatedBy(arrowCreatedBy),
	)
	fw, err := pqarrow.NewFileWriter(sc, w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return 0, err
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	acc := rb.Field(0).(*array.Int64Builder)
	obj := rb.Field(1).(*array.TimestampBuilder)
	wd := rb.Field(2).(*array.TimestampBuilder)
	for i, o := range m.objections {
		acc.Append(o.account)
		obj.Append(arrow.Timestamp(o.objectedUS))
		if o.withdrawn {
			wd.Append(arrow.Timestamp(o.withdrawnUS))
		} else {
			wd.AppendNull()
		}
		if acc.Len() == tableRowGroupRows || i == len(m.objections)-1 {
			rec := rb.NewRecord()
			err := fw.Write(rec)
			rec.Release()
			if err != nil {
				fw.Close()
				return 0, err
			}
		}
	}
	return int64(len(m.objections)), fw.Close()
}

// CSV tables: a header line, nulls as empty fields, dates as YYYY-MM-DD,
// timestamps as RFC 3339 in UTC with up to 6 fractional digits.

func csvTime(b []byte, us int64) []byte {
	return time.UnixMicro(us).UTC().AppendFormat(b, "2006-01-02T15:04:05.999999Z07:00")
}

func (m *model) agesCSV(w io.Writer) (int64, error) {
	buf := []byte("account_id,birth_date\n")
	var n int64
	var err error
	for idx := range m.n {
		m.emitAges(idx, func(account int64, day int32, valid bool) {
			buf = strconv.AppendInt(buf, account, 10)
			buf = append(buf, ',')
			if valid {
				buf = time.Unix(int64(day)*86400, 0).UTC().AppendFormat(buf, time.DateOnly)
			}
			buf = append(buf, '\n')
			n++
		})
		if len(buf) > 1<<16 {
			if _, err = w.Write(buf); err != nil {
				return n, err
			}
			buf = buf[:0]
		}
	}
	_, err = w.Write(buf)
	return n, err
}

func (m *model) linksCSV(w io.Writer) (int64, error) {
	buf := []byte("account_id,accounts_center_id\n")
	for _, l := range m.links {
		buf = strconv.AppendInt(buf, l.account, 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, l.centre, 10)
		buf = append(buf, '\n')
	}
	_, err := w.Write(buf)
	return int64(len(m.links)), err
}

func (m *model) objectionsCSV(w io.Writer) (int64, error) {
	buf := []byte("account_id,objected_at,withdrawn_at\n")
	for _, o := range m.objections {
		buf = strconv.AppendInt(buf, o.account, 10)
		buf = append(buf, ',')
		buf = csvTime(buf, o.objectedUS)
		buf = append(buf, ',')
		if o.withdrawn {
			buf = csvTime(buf, o.withdrawnUS)
		}
		buf = append(buf, '\n')
	}
	_, err := w.Write(buf)
	return int64(len(m.objections)), err
}
