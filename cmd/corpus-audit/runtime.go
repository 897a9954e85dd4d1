package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"
)

// Memory defaults. The audit's live heap is small and steady (the lookup
// index plus a few row groups in flight), so the garbage collector's
// default (GOGC=100: let the heap grow to twice the live heap) mostly
// buys RSS. When the user has set neither GOGC nor GOMEMLIMIT, the audit
// runs with GOGC=defaultGOGC and a heap floor of gcFloorBytes. Either
// environment variable restores the Go runtime's own behaviour.
//
// Most of the live heap holds no pointers (the index, decoded columns),
// so a collection is cheap, but at GOGC=10 a growing heap is collected
// every 10 % of growth: 50 collections while the lookup tables load. On
// the bench lake GOGC=10 peaks ~30 MB lower than 25 and costs ~0.3 CPU-s
// more of collection; the floor takes most of that back (94 → 67
// collections, GC CPU 0.57 → 0.30 s, peak RSS +3–8 MiB).
const (
	defaultGOGC  = 10
	gcFloorBytes = 32 << 20
)

// gcFloor is the heap floor: a pointer-free allocation that is never
// written. The collector counts it in the live heap, so the heap goal is
// never below (gcFloorBytes + live) × 1.1 and a small or growing heap is
// not collected every few megabytes; its pages come fresh from the
// operating system and are never touched, so they are never resident.
// (The runtime has no minimum heap setting; this is the "ballast" known
// from Go services.)
var gcFloor []byte

// tuneGC applies the memory defaults.
func tuneGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(defaultGOGC)
		gcFloor = make([]byte, gcFloorBytes)
	}
}

// startProfiles starts the profiles asked for by the hidden environment
// variables CORPUS_AUDIT_CPUPROFILE, CORPUS_AUDIT_MEMPROFILE (allocations,
// written at exit) and CORPUS_AUDIT_HEAPPROFILE (live heap, written every
// second to NAME.1, NAME.2, …), each a file name for `go tool pprof`. The
// returned function stops them.
func startProfiles() func() {
	var stops []func()
	if p := os.Getenv("CORPUS_AUDIT_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "corpus-audit: cpu profile:", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "corpus-audit: cpu profile:", err)
			f.Close()
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if p := os.Getenv("CORPUS_AUDIT_MEMPROFILE"); p != "" {
		runtime.MemProfileRate = 64 * 1024
		stops = append(stops, func() {
			f, err := os.Create(p)
			if err != nil {
				fmt.Fprintln(os.Stderr, "corpus-audit: memory profile:", err)
				return
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintln(os.Stderr, "corpus-audit: memory profile:", err)
			}
		})
	}
	if p := os.Getenv("CORPUS_AUDIT_HEAPPROFILE"); p != "" {
		// A heap profile every second (p.1, p.2, …): the live heap peaks
		// mid-scan, not at exit.
		runtime.MemProfileRate = 64 * 1024
		done := make(chan struct{})
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for i := 1; ; i++ {
				select {
				case <-done:
					return
				case <-t.C:
				}
				if f, err := os.Create(fmt.Sprintf("%s.%d", p, i)); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}()
		stops = append(stops, func() { close(done) })
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
