package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/corpus-audit/corpus-audit/jobs"
)

// stderr is where logs and the progress line go. Logs written while a
// progress line shows clear it first and draw it again after, so the two
// never mix on one line.
var stderr = &lineWriter{w: os.Stderr}

// lineWriter writes to w and keeps one redrawable status line at the
// bottom.
type lineWriter struct {
	mu   sync.Mutex
	w    io.Writer
	line string // "" when no status line shows
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.line != "" {
		io.WriteString(l.w, "\r\x1b[K")
	}
	n, err := l.w.Write(p)
	if l.line != "" {
		io.WriteString(l.w, l.line)
	}
	return n, err
}

// setLine shows line as the status line ("" removes it).
func (l *lineWriter) setLine(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, "\r\x1b[K"+line)
	l.line = line
}

// progressEnabled decides whether to show progress: "auto" only on an
// interactive terminal (never in cron, CI or when stderr is redirected).
func progressEnabled(mode string, tty bool) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return tty && os.Getenv("TERM") != "dumb"
}

// startProgress shows p on stderr every half second when enabled; the
// returned function removes the line (it may be called more than once).
func startProgress(mode string, p *jobs.Progress) func() {
	if !progressEnabled(mode, term.IsTerminal(int(os.Stderr.Fd()))) {
		return func() {}
	}
	done := make(chan struct{})
	var once sync.Once
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				stderr.setLine("")
				return
			case <-t.C:
				stderr.setLine(renderProgress(p, time.Now()))
			}
		}
	}()
	return func() {
		once.Do(func() { close(done); <-finished })
	}
}

// renderProgress is one progress line: snapshot, files, rows, throughput
// and the estimated time left.
func renderProgress(p *jobs.Progress, now time.Time) string {
	snap, started := p.Snapshot()
	if started.IsZero() {
		return "corpus-audit: starting…"
	}
	files, filesTotal := p.FilesDone.Load(), p.FilesTotal.Load()
	rows, rowsTotal := p.RowsDone.Load(), p.RowsTotal.Load()
	el := now.Sub(started)
	var b strings.Builder
	fmt.Fprintf(&b, "%s  files %d/%d  rows %s/%s", snap, files, filesTotal, human(rows), human(rowsTotal))
	if rowsTotal > 0 {
		fmt.Fprintf(&b, " (%d%%)", rows*100/rowsTotal)
	}
	if el > 0 && rows > 0 {
		rate := float64(rows) / el.Seconds()
		fmt.Fprintf(&b, "  %s rows/s", human(int64(rate)))
		if rowsTotal > rows {
			eta := time.Duration(float64(rowsTotal-rows) / rate * float64(time.Second))
			fmt.Fprintf(&b, "  ETA %s", eta.Round(time.Second))
		}
	}
	return b.String()
}

// human writes a count with a k, M or G suffix.
func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
