// Package faultproxy is a test helper: an HTTP reverse proxy on loopback
// that stands in front of a real server (the S3 test server) and injects
// faults — 503 SlowDown answers, connections cut off mid-body, delays — so
// that tests can check how clients retry and fail.
//
// Faults are deterministic: the first requests get the faults of a fixed
// script, later ones faults drawn from a seeded generator by configured
// shares, in the order requests arrive (sequential clients therefore see
// the same faults on every run). They are bounded: at most MaxFaults in
// all, and delays are capped.
package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Fault is what the proxy does to one request.
type Fault int

const (
	// None forwards the request and its answer unchanged.
	None Fault = iota
	// SlowDown answers 503 with S3's SlowDown error, not forwarding the
	// request.
	SlowDown
	// Drop forwards the request, sends the answer's headers and the first
	// half of its body (see Config.DropAfter), then closes the connection.
	// A bodyless answer is cut before its headers.
	Drop
	// Delay forwards the request after Config.DelayFor.
	Delay
)

func (f Fault) String() string {
	switch f {
	case None:
		return "none"
	case SlowDown:
		return "slowdown"
	case Drop:
		return "drop"
	case Delay:
		return "delay"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// MaxDelay caps Config.DelayFor.
const MaxDelay = 5 * time.Second

// Config says which faults to inject.
type Config struct {
	// Script gives the faults of the first len(Script) eligible requests,
	// in order. The shares apply after it.
	Script []Fault
	// SlowDown, Drop and Delay are the shares (0 to 1, summing to at most
	// 1) of eligible requests that get each fault, drawn with Seed.
	SlowDown, Drop, Delay float64
	Seed                  uint64
	// MaxFaults bounds the faults injected in all, script included; 0
	// means no bound beyond the script and the shares.
	MaxFaults int
	// DelayFor is how long a delayed request waits (default 20ms, at most
	// MaxDelay).
	DelayFor time.Duration
	// DropAfter is how many body bytes a dropped answer sends: 0 means
	// half of its Content-Length, a negative number none (the headers
	// only).
	DropAfter int64
	// Match picks the eligible requests; nil means every request.
	// Ineligible requests pass unchanged and draw nothing.
	Match func(*http.Request) bool
	// BytesPerSecond, when positive, paces every answer's body (eligible
	// or not) to about that many bytes a second: with Delay, a stand-in
	// for a remote bucket's time to first byte and per-connection
	// throughput.
	BytesPerSecond int64
}

// Entry records one request the proxy saw.
type Entry struct {
	Method string
	URL    string // path and query
	Header http.Header
	Fault  Fault
	At     time.Time // when the request arrived
}

// Counts are the numbers of requests seen and of faults injected.
type Counts struct {
	Requests, SlowDown, Drop, Delay int
}

// Faults returns the number of faults injected.
func (c Counts) Faults() int { return c.SlowDown + c.Drop + c.Delay }

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's address, http://127.0.0.1:PORT: use it as the
	// client's endpoint.
	URL string

	target    *url.URL
	server    *http.Server
	listener  net.Listener
	transport *http.Transport

	mu     sync.Mutex
	cfg    Config
	rng    *rand.Rand
	script int // script entries used
	counts Counts
	log    []Entry
}

// Start starts a proxy in front of target (an http:// URL on loopback)
// and stops it when the test ends.
func Start(tb testing.TB, target string, cfg Config) *Proxy {
	tb.Helper()
	p, err := New(target, cfg)
	if err != nil {
		tb.Fatalf("faultproxy: %v", err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// New starts a proxy in front of target (an http:// URL on loopback).
// The caller closes it.
func New(target string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("target %q is not an http URL", target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("target %q is not on loopback", target)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		URL:       "http://" + l.Addr().String(),
		target:    u,
		listener:  l,
		transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
	p.setConfig(cfg)
	p.server = &http.Server{Handler: p, ErrorLog: nil}
	go p.server.Serve(l)
	return p, nil
}

func (c *Config) check() error {
	for _, s := range []float64{c.SlowDown, c.Drop, c.Delay} {
		if s < 0 || s > 1 {
			return fmt.Errorf("share %v is not between 0 and 1", s)
		}
	}
	if c.SlowDown+c.Drop+c.Delay > 1 {
		return fmt.Errorf("shares add up to %v, more than 1", c.SlowDown+c.Drop+c.Delay)
	}
	if c.BytesPerSecond < 0 {
		return fmt.Errorf("bytes per second %d is negative", c.BytesPerSecond)
	}
	if c.DelayFor <= 0 {
		c.DelayFor = 20 * time.Millisecond
	}
	c.DelayFor = min(c.DelayFor, MaxDelay)
	return nil
}

func (p *Proxy) setConfig(cfg Config) {
	p.cfg = cfg
	p.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5bd1e995))
	p.script = 0
	p.counts = Counts{}
	p.log = nil
}

// Reset replaces the configuration and starts the script, the generator
// and the counts afresh.
func (p *Proxy) Reset(cfg Config) error {
	if err := cfg.check(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setConfig(cfg)
	return nil
}

// Counts returns the requests seen and faults injected so far.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// Log returns the requests seen so far, in arrival order.
func (p *Proxy) Log() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Entry(nil), p.log...)
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	err := p.server.Close()
	p.transport.CloseIdleConnections()
	return err
}

// decide draws the fault of one request and records it. It returns the
// configuration in force with it.
func (p *Proxy) decide(r *http.Request) (Fault, Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := None
	if p.cfg.Match == nil || p.cfg.Match(r) {
		if p.script < len(p.cfg.Script) {
			f = p.cfg.Script[p.script]
			p.script++
		} else {
			x := p.rng.Float64()
			switch {
			case x < p.cfg.SlowDown:
				f = SlowDown
			case x < p.cfg.SlowDown+p.cfg.Drop:
				f = Drop
			case x < p.cfg.SlowDown+p.cfg.Drop+p.cfg.Delay:
				f = Delay
			}
		}
		if f != None && p.cfg.MaxFaults > 0 && p.counts.Faults() >= p.cfg.MaxFaults {
			f = None
		}
	}
	p.counts.Requests++
	switch f {
	case SlowDown:
		p.counts.SlowDown++
	case Drop:
		p.counts.Drop++
	case Delay:
		p.counts.Delay++
	}
	p.log = append(p.log, Entry{Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Fault: f, At: time.Now()})
	return f, p.cfg
}

const slowDownBody = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>faultproxy</RequestId></Error>`

// Hop-by-hop headers, which a proxy does not pass on.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, cfg := p.decide(r)
	switch f {
	case SlowDown:
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, slowDownBody)
		return
	case Delay:
		t := time.NewTimer(cfg.DelayFor)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	// Keep the Host header: the client signed it (AWS SigV4).
	out.Host = r.Host
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Header.Del("Expect")
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if f == Drop {
		var src io.Reader = resp.Body
		size := resp.ContentLength
		if size < 0 {
			// A chunked answer: read it to know its length.
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			src, size = bytes.NewReader(b), int64(len(b))
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		}
		if size <= 0 || r.Method == http.MethodHead {
			// Nothing to cut in the body: cut before the headers.
			panic(http.ErrAbortHandler)
		}
		cut := cfg.DropAfter
		switch {
		case cut == 0:
			cut = size / 2
		case cut < 0:
			cut = 0
		}
		w.WriteHeader(resp.StatusCode)
		io.CopyN(w, src, min(cut, size-1))
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		// Closes the connection without finishing the answer.
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(resp.StatusCode)
	if cfg.BytesPerSecond > 0 {
		pace(r.Context(), w, resp.Body, cfg.BytesPerSecond)
		return
	}
	io.Copy(w, resp.Body)
}

// pace copies src to w at about rate bytes a second, in pieces of 64 KiB
// or less, flushing each, until ctx (the request's) is done.
func pace(ctx context.Context, w http.ResponseWriter, src io.Reader, rate int64) {
	const piece = 64 << 10
	buf := make([]byte, piece)
	fl, _ := w.(http.Flusher)
	start, sent := time.Now(), int64(0)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			// A piece goes when the bytes up to its end are due.
			sent += int64(n)
			if early := time.Duration(float64(sent)/float64(rate)*float64(time.Second)) - time.Since(start); early > 0 {
				t := time.NewTimer(early)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}
