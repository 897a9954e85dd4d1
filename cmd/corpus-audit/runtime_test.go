package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// vmRSSKiB is the process's resident set (/proc/self/status VmRSS).
func vmRSSKiB(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// TestTuneGC checks the memory defaults in a child process (the test
// binary re-executed), where tuneGC runs first as in main: GOGC=10 and a
// heap floor that is counted by the collector but is not resident. With
// GOGC or GOMEMLIMIT set, the runtime's own behaviour is left alone.
func TestTuneGC(t *testing.T) {
	if os.Getenv("CORPUS_AUDIT_TEST_TUNEGC") == "1" {
		before := vmRSSKiB(t)
		tuneGC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("gogc=%d floor=%d heap=%d rss_delta_kib=%d\n",
			debug.SetGCPercent(-1), len(gcFloor), ms.HeapAlloc, vmRSSKiB(t)-before)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	for _, tt := range []struct {
		env       []string
		gogc      int
		floor     bool
		residentK int64 // most the floor may add to RSS
	}{
		{nil, defaultGOGC, true, 4 << 10},
		{[]string{"GOGC=100"}, 100, false, 0},
		{[]string{"GOMEMLIMIT=1GiB"}, 100, false, 0},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTuneGC$")
		cmd.Env = append(os.Environ(), "CORPUS_AUDIT_TEST_TUNEGC=1")
		// GODEBUG settings such as gctrace make the runtime print too.
		cmd.Env = append(filterEnv(cmd.Env, "GOGC=", "GOMEMLIMIT=", "GODEBUG="), tt.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: child: %v\n%s%s", tt.env, err, out, stderr.Bytes())
		}
		var gogc, floor int
		var heap uint64
		var delta int64
		line := out[:max(0, bytes.IndexByte(out, '\n'))]
		if _, err := fmt.Sscanf(string(line), "gogc=%d floor=%d heap=%d rss_delta_kib=%d", &gogc, &floor, &heap, &delta); err != nil {
			t.Fatalf("%v: child output %q: %v", tt.env, out, err)
		}
		if gogc != tt.gogc {
			t.Errorf("%v: GOGC %d, want %d", tt.env, gogc, tt.gogc)
		}
		if (floor > 0) != tt.floor || (tt.floor && floor != gcFloorBytes) {
			t.Errorf("%v: heap floor of %d bytes, want floor %v", tt.env, floor, tt.floor)
		}
		if tt.floor {
			if heap < gcFloorBytes {
				t.Errorf("%v: heap %d bytes: the collector does not count the floor", tt.env, heap)
			}
			if delta > tt.residentK {
				t.Errorf("%v: RSS grew by %d KiB with the floor: it is resident", tt.env, delta)
			}
		}
	}
}

// filterEnv drops the variables with the given prefixes.
func filterEnv(env []string, prefixes ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
