// Package metrics publishes what one corpus-audit run did as Prometheus
// metrics, the way batch jobs do: pushed to a Pushgateway at the end of the
// run, or written as a node_exporter textfile. Every metric is a gauge
// describing the last run; corpus_audit_last_success_timestamp_seconds
// survives failed runs, so that "no success for 26 h" can be alerted on.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/corpus-audit/corpus-audit/schema"
)

// Status values of a run.
const (
	StatusClean    = "clean"
	StatusFindings = "findings"
	StatusFailed   = "failed"
)

// Run is what a run reports.
type Run struct {
	// Command is the corpus-audit command: nightly, run, merge.
	Command string
	// Status is clean, findings or failed; ExitCode the process's.
	Status   string
	ExitCode int
	Finished time.Time
	Duration time.Duration

	RowsScanned int64
	RowsFlagged int64
	// Findings counts flagged rows by category (a row counts once in each
	// of its categories).
	Findings map[schema.Category]int64
	Files    int
	Bytes    int64

	// Snapshots counts snapshots by what the run did with them (audited,
	// unchanged, failed, …); SnapshotsWithFindings counts those whose
	// latest audit has findings.
	Snapshots             map[string]int
	SnapshotsWithFindings int
}

// Success reports whether the run ended with a result.
func (r Run) Success() bool { return r.Status == StatusClean || r.Status == StatusFindings }

// StatusOf maps a summary status to a metrics status.
func StatusOf(s schema.Status) string {
	switch s {
	case schema.StatusClean:
		return StatusClean
	case schema.StatusFindings:
		return StatusFindings
	}
	return StatusFailed
}

// Metric names.
const (
	LastSuccess           = "corpus_audit_last_success_timestamp_seconds"
	LastRun               = "corpus_audit_last_run_timestamp_seconds"
	Duration              = "corpus_audit_run_duration_seconds"
	ExitCode              = "corpus_audit_exit_code"
	Status                = "corpus_audit_status"
	RowsScanned           = "corpus_audit_rows_scanned"
	RowsFlagged           = "corpus_audit_rows_flagged"
	Findings              = "corpus_audit_findings"
	FilesScanned          = "corpus_audit_files_scanned"
	BytesScanned          = "corpus_audit_bytes_scanned"
	Snapshots             = "corpus_audit_snapshots"
	SnapshotsWithFindings = "corpus_audit_snapshots_with_findings"
)

// Registry returns a registry holding r's metrics. lastSuccess, when not
// zero and r did not succeed, is kept as the last success time.
func Registry(r Run, lastSuccess float64) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	if r.Success() {
		gauge(LastSuccess, "Unix time the last run that ended with a result (clean or findings) finished.", float64(r.Finished.Unix()))
	} else if lastSuccess > 0 {
		gauge(LastSuccess, "Unix time the last run that ended with a result (clean or findings) finished.", lastSuccess)
	}
	gauge(LastRun, "Unix time the last run finished.", float64(r.Finished.Unix()))
	gauge(Duration, "How long the last run took, in seconds.", r.Duration.Seconds())
	gauge(ExitCode, "Exit code of the last run: 0 clean, 1 findings, 2 failed.", float64(r.ExitCode))
	st := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Status, Help: "1 for the status of the last run (clean, findings, failed), 0 for the others."}, []string{"status"})
	for _, s := range []string{StatusClean, StatusFindings, StatusFailed} {
		v := 0.0
		if s == r.Status {
			v = 1
		}
		st.WithLabelValues(s).Set(v)
	}
	reg.MustRegister(st)
	gauge(RowsScanned, "Corpus rows read and judged by the last run.", float64(r.RowsScanned))
	gauge(RowsFlagged, "Corpus rows flagged (with at least one category) by the last run.", float64(r.RowsFlagged))
	fv := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Findings, Help: "Rows flagged by the last run, by category (a row counts in each of its categories)."}, []string{"category"})
	for _, c := range schema.Categories {
		fv.WithLabelValues(string(c)).Set(float64(r.Findings[c]))
	}
	reg.MustRegister(fv)
	gauge(FilesScanned, "Corpus files read by the last run.", float64(r.Files))
	gauge(BytesScanned, "Bytes of corpus files read by the last run.", float64(r.Bytes))
	if r.Snapshots != nil {
		sv := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Snapshots, Help: "Snapshots by what the last run did with them."}, []string{"result"})
		for k, n := range r.Snapshots {
			sv.WithLabelValues(k).Set(float64(n))
		}
		reg.MustRegister(sv)
	}
	gauge(SnapshotsWithFindings, "Snapshots whose latest audit has findings.", float64(r.SnapshotsWithFindings))
	return reg
}

// WriteTextfile writes r's metrics for node_exporter's textfile collector,
// atomically. The last success time of an earlier file at path is kept
// when r failed.
func WriteTextfile(path string, r Run) error {
	prev := 0.0
	if !r.Success() {
		prev = lastSuccessIn(path)
	}
	if err := prometheus.WriteToTextfile(path, Registry(r, prev)); err != nil {
		return fmt.Errorf("metrics file %s: %w", path, err)
	}
	return nil
}

func lastSuccessIn(path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return 0
	}
	if fam := fams[LastSuccess]; fam != nil && len(fam.Metric) == 1 && fam.Metric[0].Gauge != nil {
		return fam.Metric[0].Gauge.GetValue()
	}
	return 0
}

// Push sends r's metrics to a Pushgateway at url under job and the given
// grouping labels. A successful run replaces the group's metrics (PUT); a
// failed one updates only the metrics it has (POST), so the group keeps
// its last success time.
func Push(ctx context.Context, url, job string, grouping map[string]string, r Run) error {
	p := push.New(url, job).Gatherer(Registry(r, 0)).Client(&http.Client{Timeout: 30 * time.Second})
	for k, v := range grouping {
		p = p.Grouping(k, v)
	}
	var err error
	if r.Success() {
		err = p.PushContext(ctx)
	} else {
		err = p.AddContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("pushgateway %s: %s", Redact(url), strings.ReplaceAll(err.Error(), url, Redact(url)))
	}
	return nil
}

// Redact hides the password of a URL's user information.
func Redact(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	at := strings.Index(rest, "@")
	slash := strings.Index(rest, "/")
	if at < 0 || (slash >= 0 && slash < at) {
		return raw
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return raw
	}
	return raw[:i+3] + user + ":xxxxx" + rest[at:]
}

// ErrNoSink is returned by Publish when there is nowhere to publish.
var ErrNoSink = errors.New("no metrics sink")
