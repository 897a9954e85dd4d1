package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
