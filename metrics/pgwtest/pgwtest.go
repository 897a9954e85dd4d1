// Package pgwtest starts the real Prometheus Pushgateway for tests, on a
// free loopback port, and reads pushed series back from its API.
//
// The binary is found through $CORPUS_AUDIT_PUSHGATEWAY, else
// ${CORPUS_AUDIT_CACHE:-$HOME/.cache/corpus-audit}/bin/pushgateway, else
// $PATH; scripts/install-pushgateway.sh builds it there. A missing binary
// fails the test: a skipped test would report the push as working.
package pgwtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/internal/testbin"
)

const installHint = "run scripts/install-pushgateway.sh (or set CORPUS_AUDIT_PUSHGATEWAY to a pushgateway binary)"

// Server is a running Pushgateway.
type Server struct {
	// URL is its address, http://127.0.0.1:PORT.
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
	out    *bytes.Buffer
	mu     sync.Mutex
}

// Binary returns the pushgateway binary's path, or an error naming the
// install script.
func Binary() (string, error) {
	return testbin.Find("CORPUS_AUDIT_PUSHGATEWAY", "pushgateway", "the Prometheus Pushgateway", installHint)
}

// Start starts a Pushgateway for the calling test and stops it when the
// test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		tb.Fatalf("pgwtest: %v", err)
	}
	var last error
	for try := 0; try < 3; try++ {
		s, err := startOn(bin)
		if err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
		last = err
	}
	tb.Fatalf("pgwtest: %v", last)
	return nil
}

func startOn(bin string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{URL: "http://" + addr, exited: make(chan struct{}), out: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "--web.listen-address="+addr, "--log.level=warn")
	s.cmd.Stdout, s.cmd.Stderr = s, s
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s exited at start: %s", bin, s.output())
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("%s on %s: not ready: %v; output: %s", bin, addr, err, s.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Write collects the server's output for error messages.
func (s *Server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out.Len() < 64<<10 {
		s.out.Write(p)
	}
	return len(p), nil
}

func (s *Server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Stop stops the server.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Group is one metrics group as the Pushgateway's API shows it.
type Group struct {
	Labels map[string]string
	// Metrics maps a metric name to its samples: label set (as
	// "k=v,k=v", sorted; "" for none) to value.
	Metrics map[string]map[string]string
}

// Groups reads every pushed group from GET /api/v1/metrics.
func (s *Server) Groups() ([]Group, error) {
	resp, err := http.Get(s.URL + "/api/v1/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/metrics: %s", resp.Status)
	}
	var body struct {
		Status string                       `json:"status"`
		Data   []map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, errors.New("GET /api/v1/metrics: status " + body.Status)
	}
	var out []Group
	for _, d := range body.Data {
		g := Group{Metrics: map[string]map[string]string{}}
		if err := json.Unmarshal(d["labels"], &g.Labels); err != nil {
			return nil, err
		}
		for name, raw := range d {
			if name == "labels" || name == "last_push_successful" {
				continue
			}
			var fam struct {
				Metrics []struct {
					Labels map[string]string `json:"labels"`
					Value  string            `json:"value"`
				} `json:"metrics"`
			}
			if err := json.Unmarshal(raw, &fam); err != nil {
				continue // push_time_seconds etc. have the same shape; others are skipped
			}
			m := map[string]string{}
			for _, x := range fam.Metrics {
				m[labelKey(x.Labels, g.Labels)] = x.Value
			}
			g.Metrics[name] = m
		}
		out = append(out, g)
	}
	return out, nil
}

// labelKey renders a sample's labels, less the group's, as "k=v,…".
func labelKey(l, group map[string]string) string {
	var keys []string
	for k := range l {
		if _, ok := group[k]; ok || k == "instance" && group["instance"] == "" {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", k, l[k])
	}
	return b.String()
}
