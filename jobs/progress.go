package jobs

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress is how far a run is, updated by the run as it goes and read by
// a progress display from another goroutine. A nil *Progress is valid and
// ignores updates.
type Progress struct {
	FilesTotal, FilesDone atomic.Int64
	RowsTotal, RowsDone   atomic.Int64
	BytesTotal, BytesDone atomic.Int64

	mu       sync.Mutex
	snapshot string
	started  time.Time
}

// Snapshot returns the snapshot being audited and when its scan started.
func (p *Progress) Snapshot() (string, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snapshot, p.started
}

// begin resets the counters for a snapshot whose files are opened.
func (p *Progress) begin(snapshot string, files []corpusFile) {
	if p == nil {
		return
	}
	var rows, bytes int64
	for _, f := range files {
		rows += f.file.NumRows()
		bytes += f.obj.Attrs.Size
	}
	p.Start(snapshot, int64(len(files)), rows, bytes)
}

// Start resets the counters for a snapshot about to be scanned: files,
// rows and bytes to do. The jobs call it; displays read the counters.
func (p *Progress) Start(snapshot string, files, rows, bytes int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.snapshot, p.started = snapshot, time.Now()
	p.mu.Unlock()
	p.FilesTotal.Store(files)
	p.RowsTotal.Store(rows)
	p.BytesTotal.Store(bytes)
	p.FilesDone.Store(0)
	p.RowsDone.Store(0)
	p.BytesDone.Store(0)
}

func (p *Progress) rowGroup(rows int64) {
	if p != nil {
		p.RowsDone.Add(rows)
	}
}

func (p *Progress) fileDone(bytes int64) {
	if p != nil {
		p.FilesDone.Add(1)
		p.BytesDone.Add(bytes)
	}
}
