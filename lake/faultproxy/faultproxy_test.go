package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/lake/faultproxy"
)

var body = bytes.Repeat([]byte("0123456789"), 1000)

// upstream is a plain HTTP server that answers every request with body.
func upstream(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Upstream", "yes")
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// get makes one request on a fresh connection and returns the status and
// the body read until the first error.
func get(t *testing.T, url string) (int, []byte, error) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func faults(p *faultproxy.Proxy) []faultproxy.Fault {
	var out []faultproxy.Fault
	for _, e := range p.Log() {
		out = append(out, e.Fault)
	}
	return out
}

func TestFaults(t *testing.T) {
	up := upstream(t)
	for _, tc := range []struct {
		fault      faultproxy.Fault
		wantStatus int
		wantBody   []byte
		wantErr    error
	}{
		{faultproxy.None, 200, body, nil},
		{faultproxy.Delay, 200, body, nil},
		{faultproxy.SlowDown, 503, nil, nil},
		{faultproxy.Drop, 200, body[:len(body)/2], io.ErrUnexpectedEOF},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			p := faultproxy.Start(t, up, faultproxy.Config{Script: []faultproxy.Fault{tc.fault}})
			status, got, err := get(t, p.URL+"/obj")
			if status != tc.wantStatus || !errors.Is(err, tc.wantErr) {
				t.Fatalf("status %d, error %v; want %d, %v", status, err, tc.wantStatus, tc.wantErr)
			}
			if tc.fault == faultproxy.SlowDown {
				if !strings.Contains(string(got), "<Code>SlowDown</Code>") {
					t.Fatalf("SlowDown body %q", got)
				}
			} else if !bytes.Equal(got, tc.wantBody) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.wantBody))
			}
			// The script is spent: the next request passes.
			if status, got, err := get(t, p.URL+"/obj"); status != 200 || err != nil || !bytes.Equal(got, body) {
				t.Fatalf("second request: %d, %v, %d bytes", status, err, len(got))
			}
			c := p.Counts()
			if c.Requests != 2 || c.Faults() != min(int(tc.fault), 1) {
				t.Fatalf("counts %+v", c)
			}
		})
	}
}

func TestDropAfter(t *testing.T) {
	p := faultproxy.Start(t, upstream(t), faultproxy.Config{Script: []faultproxy.Fault{faultproxy.Drop}, DropAfter: 7})
	_, got, err := get(t, p.URL+"/obj")
	if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(got, body[:7]) {
		t.Fatalf("got %q, %v; want 7 bytes and unexpected EOF", got, err)
	}
}

// TestBytesPerSecond: a paced answer arrives whole, and no sooner than its
// size at the rate allows.
func TestBytesPerSecond(t *testing.T) {
	const rate = 100 << 10 // body is 10,000 bytes: about 0.1 s
	p := faultproxy.Start(t, upstream(t), faultproxy.Config{BytesPerSecond: rate})
	start := time.Now()
	status, got, err := get(t, p.URL+"/obj")
	took := time.Since(start)
	if status != 200 || err != nil || !bytes.Equal(got, body) {
		t.Fatalf("status %d, error %v, %d bytes; want 200 and the whole body", status, err, len(got))
	}
	if floor := time.Duration(float64(len(body)) / rate * float64(time.Second)); took < floor {
		t.Fatalf("answer took %v, less than %v at %d bytes/s: not paced", took, floor, rate)
	}
}

func TestSharesAreSeededAndBounded(t *testing.T) {
	up := upstream(t)
	run := func(cfg faultproxy.Config) ([]faultproxy.Fault, faultproxy.Counts) {
		p := faultproxy.Start(t, up, cfg)
		for range 60 {
			get(t, p.URL+"/obj")
		}
		return faults(p), p.Counts()
	}
	cfg := faultproxy.Config{SlowDown: 0.2, Drop: 0.2, Delay: 0.2, Seed: 42, DelayFor: 1}
	a, ca := run(cfg)
	b, _ := run(cfg)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if ca.SlowDown == 0 || ca.Drop == 0 || ca.Delay == 0 || ca.Faults() == ca.Requests {
		t.Fatalf("counts %+v: want every fault and some clean requests", ca)
	}
	cfg.Seed = 43
	if c, _ := run(cfg); slices.Equal(a, c) {
		t.Fatalf("seeds 42 and 43 gave the same faults %v", a)
	}
	cfg.MaxFaults = 5
	if _, cm := run(cfg); cm.Faults() != 5 {
		t.Fatalf("MaxFaults 5: counts %+v", cm)
	}
}

func TestScriptThenShares(t *testing.T) {
	script := []faultproxy.Fault{faultproxy.Drop, faultproxy.None, faultproxy.SlowDown}
	p := faultproxy.Start(t, upstream(t), faultproxy.Config{Script: script, SlowDown: 1})
	for range 5 {
		get(t, p.URL+"/obj")
	}
	want := append(script, faultproxy.SlowDown, faultproxy.SlowDown)
	if got := faults(p); !slices.Equal(got, want) {
		t.Fatalf("faults %v, want %v", got, want)
	}
}

func TestMatch(t *testing.T) {
	p := faultproxy.Start(t, upstream(t), faultproxy.Config{
		SlowDown: 1,
		Match:    func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/bad") },
	})
	if status, _, _ := get(t, p.URL+"/good"); status != 200 {
		t.Fatalf("unmatched request: status %d", status)
	}
	if status, _, _ := get(t, p.URL+"/bad"); status != 503 {
		t.Fatalf("matched request: status %d", status)
	}
	log := p.Log()
	if len(log) != 2 || log[0].URL != "/good" || log[1].Method != "GET" {
		t.Fatalf("log %+v", log)
	}
}

func TestReset(t *testing.T) {
	p := faultproxy.Start(t, upstream(t), faultproxy.Config{SlowDown: 1})
	get(t, p.URL+"/obj")
	if err := p.Reset(faultproxy.Config{}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(t, p.URL+"/obj"); status != 200 || p.Counts().Requests != 1 {
		t.Fatalf("after Reset: status %d, counts %+v", status, p.Counts())
	}
}

func TestNewRejects(t *testing.T) {
	up := upstream(t)
	for _, tc := range []struct {
		name   string
		target string
		cfg    faultproxy.Config
	}{
		{"remote target", "http://192.0.2.1:80", faultproxy.Config{}},
		{"named host", "http://example.com", faultproxy.Config{}},
		{"https", "https://127.0.0.1:1", faultproxy.Config{}},
		{"share above 1", up, faultproxy.Config{Drop: 1.5}},
		{"negative share", up, faultproxy.Config{Delay: -0.1}},
		{"shares above 1", up, faultproxy.Config{Drop: 0.6, SlowDown: 0.6}},
		{"negative rate", up, faultproxy.Config{BytesPerSecond: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p, err := faultproxy.New(tc.target, tc.cfg); err == nil {
				p.Close()
				t.Fatal("no error")
			}
		})
	}
}
