package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/lake/s3test"
	"github.com/corpus-audit/corpus-audit/schema"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// forEachStore runs fn against a local state folder and an S3 prefix.
func forEachStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("local", func(t *testing.T) {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "state"), lake.S3Options{})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
	t.Run("s3", func(t *testing.T) {
		srv := s3test.Shared(t)
		name := srv.NewBucket(t)
		s, err := Open(context.Background(), "s3://"+name+"/audit/state", srv.Options())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestStateRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		st, err := s.Load(ctx)
		if err != nil || len(st.Snapshots) != 0 {
			t.Fatalf("empty state: %+v, %v", st, err)
		}
		st.Lake = "s3://lake"
		st.Snapshots["2026-06-01"] = &Snapshot{Last: &Audit{RunID: "r1", PolicyHash: "p", Fingerprint: "f", Status: schema.StatusFindings, RowsFlagged: 3}}
		if err := s.Save(ctx, st); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a := got.Snapshots["2026-06-01"].Last
		if got.Lake != "s3://lake" || a.RunID != "r1" || !a.Complete() || a.RowsFlagged != 3 {
			t.Errorf("state after round trip: %+v %+v", got, a)
		}
		// An unknown field is an error, not silently dropped.
		if err := s.loc.Bucket.Upload(ctx, s.key(FileName), strings.NewReader(`{"version":1,"snapshotz":{}}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(ctx); err == nil {
			t.Error("state with an unknown field loaded")
		}
	})
}

func TestLock(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)}
		opts := func(owner string) LockOptions {
			// Another host: the dead-process shortcut must not apply.
			return LockOptions{Owner: owner, Lease: time.Minute, Now: c.now, Host: "host-" + owner, PID: 1}
		}
		a, actx, err := s.Acquire(ctx, opts("a"))
		if err != nil {
			t.Fatal(err)
		}
		// A second run is refused while the lease runs.
		_, _, err = s.Acquire(ctx, opts("b"))
		var le *LockedError
		if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.Holder.Owner != "a" {
			t.Fatalf("second acquire: %v", err)
		}
		c.add(30 * time.Second)
		if err := a.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		c.add(45 * time.Second) // 75 s after acquiring, 45 s after the heartbeat
		if _, _, err := s.Acquire(ctx, opts("b")); !errors.Is(err, ErrLocked) {
			t.Fatalf("acquire within the renewed lease: %v", err)
		}
		// a dies: no heartbeat for more than the lease. b takes over.
		c.add(20 * time.Second)
		b, _, err := s.Acquire(ctx, opts("b"))
		if err != nil {
			t.Fatalf("takeover after the lease: %v", err)
		}
		if b.Info().Generation != a.Info().Generation+1 {
			t.Errorf("generations %d then %d", a.Info().Generation, b.Info().Generation)
		}
		// a wakes up: it finds it lost the lock.
		if err := a.Heartbeat(ctx); !errors.Is(err, ErrLockLost) {
			t.Errorf("heartbeat of the old holder: %v", err)
		}
		if err := a.Release(ctx); !errors.Is(err, ErrLockLost) {
			t.Errorf("release of the old holder: %v", err)
		}
		if actx.Err() == nil {
			t.Error("old holder's context not cancelled")
		}
		// b releases: the next run takes the lock at once.
		if err := b.Release(ctx); err != nil {
			t.Fatal(err)
		}
		cl, _, err := s.Acquire(ctx, opts("c"))
		if err != nil {
			t.Fatalf("acquire after release: %v", err)
		}
		cl.Release(ctx)
		// Old generations are pruned.
		gens, _ := s.lockGens(ctx)
		if len(gens) > 2 {
			t.Errorf("lock generations kept: %v", gens)
		}
	})
}

// TestLockRace: of several runs starting at once exactly one gets the lock.
func TestLockRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		var got []*Lock
		var other []error
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, _, err := s.Acquire(ctx, LockOptions{Owner: string(rune('a' + i)), Host: "h", PID: 1})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					got = append(got, l)
				} else if !errors.Is(err, ErrLocked) {
					other = append(other, err)
				}
			}()
		}
		wg.Wait()
		if len(got) != 1 || len(other) > 0 {
			t.Fatalf("%d runs got the lock; other errors %v", len(got), other)
		}
		got[0].Release(ctx)
	})
}

// TestLockDeadProcess: a lock left by a process of this host that is gone
// is taken over at once.
func TestLockDeadProcess(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir(), lake.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	host, _ := os.Hostname()
	// A PID far above any live one on a test machine.
	if _, _, err := s.Acquire(ctx, LockOptions{Owner: "dead", Host: host, PID: 1 << 30, Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Acquire(ctx, LockOptions{Owner: "other-host", Host: "elsewhere", PID: 7, Lease: time.Hour}); !errors.Is(err, ErrLocked) {
		t.Fatalf("another host must wait for the lease: %v", err)
	}
	l, _, err := s.Acquire(ctx, LockOptions{Owner: "new", Lease: time.Hour})
	if err != nil {
		t.Fatalf("lock of a dead local process not taken over: %v", err)
	}
	l.Release(ctx)
}

// TestLockHeartbeatLoop: the background heartbeat keeps the lock; a
// takeover cancels the holder's context with ErrLockLost.
func TestLockHeartbeatLoop(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir(), lake.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, actx, err := s.Acquire(ctx, LockOptions{Owner: "a", Lease: 300 * time.Millisecond, Host: "h1", PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := a.Info().Heartbeat
	deadline := time.Now().Add(10 * time.Second)
	for a.Info().Heartbeat.Equal(first) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if a.Info().Heartbeat.Equal(first) {
		t.Fatal("no heartbeat written")
	}
	// Another run takes over (as if a's lease had run out).
	cur, _, _ := s.currentLock(ctx)
	if err := lake.UploadIfAbsent(ctx, s.loc.Bucket, s.key(lockDir+"/"+genName(cur+1)), strings.NewReader(`{"generation":99,"lease":"1m"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-actx.Done():
		if !errors.Is(context.Cause(actx), ErrLockLost) {
			t.Errorf("cause %v", context.Cause(actx))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("holder did not notice the takeover")
	}
}

// TestLockCheck: a holder learns it lost the lock whatever later runs
// pruned: Check compares with the highest generation listed, and a
// holder whose own generation is gone has lost the lock too.
func TestLockCheck(t *testing.T) {
	tests := []struct {
		name string
		// after runs once a holds the lock (generation 1), with the
		// clock and the options of the runs at hand.
		after func(t *testing.T, s *Store, c *clock, opts func(string) LockOptions)
		lost  bool
	}{
		{"still held", func(*testing.T, *Store, *clock, func(string) LockOptions) {}, false},
		{"successor pruned by later runs", func(t *testing.T, s *Store, c *clock, opts func(string) LockOptions) {
			ctx := context.Background()
			// a stalls past its lease; b takes over and releases, then c,
			// then d, whose prune deletes b's generation (and a's).
			c.add(2 * time.Minute)
			for _, owner := range []string{"b", "c", "d"} {
				l, _, err := s.Acquire(ctx, opts(owner))
				if err != nil {
					t.Fatalf("%s: %v", owner, err)
				}
				if owner != "d" {
					if err := l.Release(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if gens, _ := s.lockGens(ctx); slices.Contains(gens, 2) {
				t.Fatalf("generation 2 not pruned: %v; the test needs it gone", gens)
			}
		}, true},
		{"own generation deleted", func(t *testing.T, s *Store, _ *clock, _ func(string) LockOptions) {
			if err := s.loc.Bucket.Delete(context.Background(), s.key(lockDir+"/"+genName(1))); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, s *Store) {
				ctx := context.Background()
				c := &clock{t: time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)}
				opts := func(owner string) LockOptions {
					return LockOptions{Owner: owner, Lease: time.Minute, Now: c.now, Host: "host-" + owner, PID: 1}
				}
				a, actx, err := s.Acquire(ctx, opts("a"))
				if err != nil || a.Info().Generation != 1 {
					t.Fatalf("acquire: %v", err)
				}
				tc.after(t, s, c, opts)
				err = a.Check(ctx)
				if got := errors.Is(err, ErrLockLost); got != tc.lost {
					t.Fatalf("Check: %v, want lost=%v", err, tc.lost)
				}
				// The heartbeat says the same, and writes nothing when lost.
				before, _ := s.lockGens(ctx)
				err = a.Heartbeat(ctx)
				if got := errors.Is(err, ErrLockLost); got != tc.lost {
					t.Fatalf("Heartbeat: %v, want lost=%v", err, tc.lost)
				}
				if after, _ := s.lockGens(ctx); !slices.Equal(before, after) {
					t.Errorf("generations %v before the heartbeat, %v after", before, after)
				}
				err = a.Release(ctx)
				if got := errors.Is(err, ErrLockLost); got != tc.lost || (!tc.lost && err != nil) {
					t.Errorf("Release: %v, want lost=%v", err, tc.lost)
				}
				if actx.Err() == nil {
					t.Error("holder's context not cancelled after Release")
				}
			})
		})
	}
}

// TestLockDeadProcessPIDSpace: a holder of this host whose PID does not
// exist here is taken over at once only if it recorded this run's PID
// namespace and boot ID; a holder of another PID namespace (a container
// with the host's name) or boot, or of an unknown one, keeps its lease.
func TestLockDeadProcessPIDSpace(t *testing.T) {
	const ns, boot = "pid:[4026531836]", "fd534fb5-176a-48cd-a374-3c9253f423bb"
	tests := []struct {
		name       string
		holderNS   string
		holderBoot string
		takenOver  bool
	}{
		{"same namespace and boot", ns, boot, true},
		{"another namespace", "pid:[4026532999]", boot, false},
		{"another boot", ns, "00000000-0000-0000-0000-000000000000", false},
		{"unknown namespace and boot", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), t.TempDir(), lake.S3Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			now := time.Now()
			// A holder of this host with a PID far above any live one,
			// within its lease.
			li := LockInfo{Generation: 1, Owner: "holder", Host: "h", PID: 1 << 30, PIDNamespace: tc.holderNS, BootID: tc.holderBoot,
				Acquired: now, Heartbeat: now, Lease: Duration(time.Hour)}
			data, _ := json.Marshal(li)
			if err := lake.UploadIfAbsent(ctx, s.loc.Bucket, s.key(lockDir+"/"+genName(1)), bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			l, _, err := s.Acquire(ctx, LockOptions{Owner: "new", Host: "h", PIDNamespace: ns, BootID: boot, Lease: time.Hour})
			if tc.takenOver {
				if err != nil {
					t.Fatalf("lock of a dead process of this PID space not taken over: %v", err)
				}
				l.Release(ctx)
				return
			}
			if !errors.Is(err, ErrLocked) {
				if l != nil {
					l.Release(ctx)
				}
				t.Fatalf("holder of PID namespace %q boot %q taken over: %v; want ErrLocked", tc.holderNS, tc.holderBoot, err)
			}
		})
	}
}

// failingUploads is a local bucket whose plain uploads fail while fail is
// set (conditional creates still work).
type failingUploads struct {
	*lake.Local
	fail     atomic.Bool
	attempts atomic.Int64
}

func (b *failingUploads) Upload(ctx context.Context, key string, r io.Reader) error {
	if b.fail.Load() {
		b.attempts.Add(1)
		return errors.New("injected upload failure")
	}
	return b.Local.Upload(ctx, key, r)
}

// TestLockGivesUpBeforeLease: a holder whose heartbeats fail gives the
// lock up once none was written for the lease minus one heartbeat
// interval — while others still may not take it over — not only after a
// whole lease, when they may.
func TestLockGivesUpBeforeLease(t *testing.T) {
	b := &failingUploads{Local: lake.NewLocal(t.TempDir())}
	s := NewStore(lake.Location{Raw: "state", Bucket: b})
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)}
	const lease = 300 * time.Millisecond // heartbeats every 100ms
	a, actx, err := s.Acquire(ctx, LockOptions{Owner: "a", Lease: lease, Now: c.now, Host: "h1", PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(ctx)
	b.fail.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for b.attempts.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if b.attempts.Load() < 2 {
		t.Fatal("no heartbeat attempted")
	}
	// Failed heartbeats within the limit: the holder keeps the lock.
	if actx.Err() != nil {
		t.Fatalf("lock given up at the first failed heartbeats: %v", context.Cause(actx))
	}
	// Lease minus one interval since the last heartbeat written.
	c.add(lease - lease/3)
	if _, _, err := s.Acquire(ctx, LockOptions{Owner: "b", Lease: lease, Now: c.now, Host: "h2", PID: 1}); !errors.Is(err, ErrLocked) {
		t.Fatalf("another run at this instant: %v; want ErrLocked (the lease still runs)", err)
	}
	select {
	case <-actx.Done():
		if !errors.Is(context.Cause(actx), ErrLockLost) {
			t.Errorf("cause %v", context.Cause(actx))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("holder kept the lock with no heartbeat written for lease minus one interval")
	}
}
