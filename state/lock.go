package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
)

// The lock is a sequence of generations, lock/gen-0000000001.json,
// gen-0000000002.json, …, each created with a conditional write
// (lake.UploadIfAbsent: S3 "If-None-Match: *", locally link(2)). The
// highest generation is the current one. Its holder rewrites it with a
// fresh heartbeat every Lease/3 and marks it released when done. To take
// the lock, a run creates the next generation; it may do so only when the
// current one is released or its heartbeat is older than its lease (its
// holder died), and of several runs racing for the next generation exactly
// one wins. A holder that finds a generation above its own, or finds its
// own generation gone, has lost the lock and must stop. Nothing is ever
// overwritten but by its owner, so no compare-and-swap is needed, only the
// conditional create that both local disks and S3 offer.
//
// Old generations are pruned, but never the highest: a run that created
// generation g deletes only those below g-1. So the highest generation
// ever created stays listed, and every older holder sees it (Check lists
// the whole lock folder rather than looking for g+1 only, which a prune
// may have deleted).
//
// A holder gives the lock up when no heartbeat of its own was written for
// Lease minus one heartbeat interval, so that it stops before anyone else
// may take the lock over (at Lease).

const lockDir = "lock"

var genRE = regexp.MustCompile(`^gen-([0-9]{10})\.json$`)

func genName(g int64) string { return fmt.Sprintf("gen-%010d.json", g) }

// LockInfo is the content of one lock generation.
type LockInfo struct {
	Generation int64  `json:"generation"`
	Owner      string `json:"owner"` // who holds it: the run ID
	Host       string `json:"host"`
	PID        int    `json:"pid"`
	// PIDNamespace and BootID say which PID space PID belongs to: the
	// holder's PID namespace ("pid:[4026531836]", from
	// /proc/self/ns/pid) and kernel boot (/proc/sys/kernel/random/boot_id).
	// Empty where unknown.
	PIDNamespace string    `json:"pid_namespace,omitempty"`
	BootID       string    `json:"boot_id,omitempty"`
	Acquired     time.Time `json:"acquired_at"`
	Heartbeat    time.Time `json:"heartbeat_at"`
	// Lease is how long after Heartbeat the lock counts as abandoned.
	Lease    Duration `json:"lease"`
	Released bool     `json:"released,omitempty"`
}

// Expired reports whether the holder's lease ran out at now.
func (li LockInfo) Expired(now time.Time) bool {
	return now.Sub(li.Heartbeat) > time.Duration(li.Lease)
}

// Duration is a time.Duration written as a Go duration string in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// LockedError says another live run holds the lock.
type LockedError struct {
	URI    string
	Holder LockInfo
	Now    time.Time
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("%s is held by run %s on %s (pid %d) since %s, last heartbeat %s ago, lease %s",
		e.URI, h.Owner, h.Host, h.PID, h.Acquired.UTC().Format(time.RFC3339),
		e.Now.Sub(h.Heartbeat).Round(time.Second), time.Duration(h.Lease))
}

// ErrLocked is wrapped by LockedError.
var ErrLocked = errors.New("lock held by another run")

// Is makes errors.Is(err, ErrLocked) true for a LockedError.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// ErrLockLost is the cause of a lock's context when another run took the
// lock over (this run's heartbeat stalled past its lease) or its heartbeat
// could not be written for a whole lease.
var ErrLockLost = errors.New("the state lock was lost")

// LockOptions configure Acquire.
type LockOptions struct {
	// Owner names the holder (the run ID).
	Owner string
	// Lease: a lock whose heartbeat is older is taken over (default 2m).
	// The holder renews it every Lease/3.
	Lease time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Host and PID identify the holder (default: this host and process).
	// A lock left by a process of this host that no longer exists is
	// taken over at once, without waiting for its lease — but only when
	// the holder's PID namespace and boot ID are known and equal this
	// run's: one host name may cover several PID namespaces (containers
	// with the host's name or network) in which a live holder's PID means
	// nothing, and a PID of an earlier boot means nothing either.
	Host string
	PID  int
	// PIDNamespace and BootID identify the PID space (default: read from
	// /proc/self/ns/pid and /proc/sys/kernel/random/boot_id; empty where
	// unreadable, which disables the dead-process shortcut).
	PIDNamespace string
	BootID       string
}

// Lock is a held lock.
type Lock struct {
	store *Store
	key   string
	mu    sync.Mutex
	info  LockInfo
	now   func() time.Time
	stop  chan struct{}
	done  chan struct{}
	lost  context.CancelCauseFunc
	// released is set once Release ran.
	released bool
}

// Info returns the lock's current content.
func (l *Lock) Info() LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// DefaultLease is the lease of a lock when LockOptions.Lease is zero.
const DefaultLease = 2 * time.Minute

// Acquire takes the state lock. If a live run holds it, it returns a
// *LockedError (errors.Is ErrLocked). The returned context is ctx,
// cancelled with ErrLockLost if the lock is lost; the lock's heartbeat runs
// until Release.
func (s *Store) Acquire(ctx context.Context, o LockOptions) (*Lock, context.Context, error) {
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.PIDNamespace == "" && o.BootID == "" {
		o.PIDNamespace, o.BootID = pidSpace()
	}
	for try := 0; ; try++ {
		cur, info, err := s.currentLock(ctx)
		if err != nil {
			return nil, nil, err
		}
		now := o.Now()
		if cur > 0 && !info.Released && !info.Expired(now) && !deadOnThisHost(info, o) {
			return nil, nil, &LockedError{URI: s.loc.URI(s.key(lockDir + "/" + genName(cur))), Holder: info, Now: now}
		}
		next := cur + 1
		li := LockInfo{Generation: next, Owner: o.Owner, Host: o.Host, PID: o.PID, PIDNamespace: o.PIDNamespace, BootID: o.BootID,
			Acquired: now.UTC(), Heartbeat: now.UTC(), Lease: Duration(o.Lease)}
		key := s.key(lockDir + "/" + genName(next))
		data, _ := json.MarshalIndent(li, "", "  ")
		err = lake.UploadIfAbsent(ctx, s.loc.Bucket, key, bytes.NewReader(data))
		if errors.Is(err, lake.ErrExists) && try < 3 {
			continue // another run got there first: look again
		}
		if err != nil {
			return nil, nil, fmt.Errorf("state lock: %w", err)
		}
		// Old generations are history; keep ours and the one before.
		s.pruneLocks(ctx, next)
		lctx, cancel := context.WithCancelCause(ctx)
		l := &Lock{store: s, key: key, info: li, now: o.Now, stop: make(chan struct{}), done: make(chan struct{}), lost: cancel}
		go l.heartbeat(lctx, o.Lease/3, now)
		return l, lctx, nil
	}
}

// deadOnThisHost reports whether the holder was a process of this host,
// of this run's PID namespace and boot, that no longer runs. A holder of
// another (or an unknown) PID namespace or boot is never judged dead: its
// PID cannot be looked up here, so its lease decides.
func deadOnThisHost(li LockInfo, o LockOptions) bool {
	if li.Host == "" || li.Host != o.Host || li.PID <= 0 || li.PID == os.Getpid() {
		return false
	}
	if li.PIDNamespace == "" || li.PIDNamespace != o.PIDNamespace || li.BootID == "" || li.BootID != o.BootID {
		return false
	}
	err := syscall.Kill(li.PID, 0)
	return errors.Is(err, syscall.ESRCH)
}

// pidSpace returns this process's PID namespace ("pid:[4026531836]") and
// the kernel's boot ID, each "" if unreadable (not Linux, no /proc).
func pidSpace() (ns, boot string) {
	ns, _ = os.Readlink("/proc/self/ns/pid")
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		boot = strings.TrimSpace(string(b))
	}
	return ns, boot
}

// currentLock returns the highest lock generation and its content (0 if
// there is none).
func (s *Store) currentLock(ctx context.Context) (int64, LockInfo, error) {
	gens, err := s.lockGens(ctx)
	if err != nil || len(gens) == 0 {
		return 0, LockInfo{}, err
	}
	g := gens[len(gens)-1]
	key := s.key(lockDir + "/" + genName(g))
	rc, err := s.loc.Bucket.Get(ctx, key)
	if lake.IsNotExist(err) {
		// Pruned between the listing and the read: a newer one exists.
		return s.currentLock(ctx)
	}
	if err != nil {
		return 0, LockInfo{}, fmt.Errorf("state lock: %w", err)
	}
	defer rc.Close()
	var li LockInfo
	data, err := io.ReadAll(rc)
	if err == nil {
		err = json.Unmarshal(data, &li)
	}
	if err != nil {
		return 0, LockInfo{}, fmt.Errorf("state lock %s: unreadable: %v", s.loc.URI(key), err)
	}
	return g, li, nil
}

func (s *Store) lockGens(ctx context.Context) ([]int64, error) {
	prefix := s.key(lockDir) + "/"
	var gens []int64
	err := s.loc.Bucket.Iter(ctx, prefix, func(key string, _ lake.Attrs) error {
		m := genRE.FindStringSubmatch(key[len(prefix):])
		if m == nil {
			return nil
		}
		g, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil {
			gens = append(gens, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state lock: %w", err)
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i] < gens[j] })
	return gens, nil
}

// pruneLocks deletes, for the holder of generation own, the generations
// below own-1 (best effort). It never deletes own or anything above it, so
// the highest generation always stays listed for older holders to find
// (see Check).
func (s *Store) pruneLocks(ctx context.Context, own int64) {
	gens, err := s.lockGens(ctx)
	if err != nil {
		return
	}
	for _, g := range gens {
		if g < own-1 {
			s.loc.Bucket.Delete(ctx, s.key(lockDir+"/"+genName(g)))
		}
	}
}

// Check returns ErrLockLost if the lock is no longer this holder's: a
// newer generation exists (another run took the lock over), or this
// holder's own generation is gone (pruned by a later holder, or deleted
// by hand). It lists the lock folder and compares with the highest
// generation there, so a successor pruned by a still later one does not
// hide the takeover.
func (l *Lock) Check(ctx context.Context) error {
	l.mu.Lock()
	g := l.info.Generation
	l.mu.Unlock()
	gens, err := l.store.lockGens(ctx)
	if err != nil {
		return err
	}
	if n := len(gens); n > 0 && gens[n-1] > g {
		return fmt.Errorf("%w: %s exists", ErrLockLost, l.store.loc.URI(l.store.key(lockDir+"/"+genName(gens[n-1]))))
	}
	if !slices.Contains(gens, g) {
		return fmt.Errorf("%w: %s is gone", ErrLockLost, l.store.loc.URI(l.key))
	}
	return nil
}

// Heartbeat renews the lease once. Info().Heartbeat is then the time
// written; after a failed heartbeat it stays the last one written.
func (l *Lock) Heartbeat(ctx context.Context) error {
	if err := l.Check(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	li := l.info
	l.mu.Unlock()
	li.Heartbeat = l.now().UTC()
	data, _ := json.MarshalIndent(li, "", "  ")
	if err := l.store.loc.Bucket.Upload(ctx, l.key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("state lock heartbeat: %w", err)
	}
	l.mu.Lock()
	l.info.Heartbeat = li.Heartbeat
	l.mu.Unlock()
	return nil
}

// heartbeat renews the lease every interval until Release. The lock
// counts as lost once no heartbeat was written for the lease minus one
// interval (measured from the heartbeat time last written, which is what
// other runs judge by): the holder stops strictly before another run may
// take the lock over, at the end of the lease. A heartbeat that hangs is
// cut off at that limit. since is when the first heartbeat was written.
func (l *Lock) heartbeat(ctx context.Context, every time.Duration, since time.Time) {
	defer close(l.done)
	lease := time.Duration(l.Info().Lease)
	if every <= 0 || every >= lease {
		every = lease / 3
	}
	limit := lease - every
	// lastOK is taken before each heartbeat, so it is no later than the
	// time written.
	lastOK := since
	var lastErr error
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		left := limit - l.now().Sub(lastOK)
		if left <= 0 {
			why := ""
			if lastErr != nil {
				why = ": " + lastErr.Error()
			}
			l.lost(fmt.Errorf("%w: no heartbeat written for %s of a lease of %s, so another run may soon take it over%s", ErrLockLost, limit, lease, why))
			return
		}
		start := l.now()
		hctx, cancel := context.WithTimeout(ctx, left)
		err := l.Heartbeat(hctx)
		cancel()
		next := every
		switch {
		case errors.Is(err, ErrLockLost):
			l.lost(err)
			return
		case err != nil:
			// Try again sooner: the limit is only one interval away.
			lastErr = err
			next = every / 4
		default:
			lastOK = start
		}
		// The next heartbeat, or sooner if the limit comes first.
		left = limit - l.now().Sub(lastOK)
		t.Reset(max(min(next, left), 0))
	}
}

// Release stops the heartbeat and marks the lock released, so that the
// next run need not wait for the lease. It is safe to call more than once.
// A lock that was lost is left alone.
func (l *Lock) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	defer l.lost(context.Canceled)
	if err := l.Check(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	l.info.Released = true
	l.info.Heartbeat = l.now().UTC()
	data, _ := json.MarshalIndent(l.info, "", "  ")
	l.mu.Unlock()
	if err := l.store.loc.Bucket.Upload(ctx, l.key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("state lock release: %w", err)
	}
	return nil
}
