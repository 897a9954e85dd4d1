package lake_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/corpus-audit/corpus-audit/lake"
)

// TestUploadIfAbsent runs the conditional create against every provider:
// the first writer wins, a second gets ErrExists and leaves the object as
// it was, and of many racing writers exactly one wins.
func TestUploadIfAbsent(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		key := s.key("locks/lock.json")
		if err := lake.UploadIfAbsent(ctx(), s.b, key, strings.NewReader("first")); err != nil {
			t.Fatalf("first create: %v", err)
		}
		err := lake.UploadIfAbsent(ctx(), s.b, key, strings.NewReader("second"))
		if !errors.Is(err, lake.ErrExists) {
			t.Fatalf("second create: %v, want ErrExists", err)
		}
		if !strings.Contains(err.Error(), "lock.json") {
			t.Errorf("error does not name the object: %v", err)
		}
		if got := readObject(t, s.b, key); got != "first" {
			t.Errorf("object is %q after the refused create, want %q", got, "first")
		}
		// After a delete the key is free again.
		if err := s.b.Delete(ctx(), key); err != nil {
			t.Fatal(err)
		}
		if err := lake.UploadIfAbsent(ctx(), s.b, key, strings.NewReader("third")); err != nil {
			t.Fatalf("create after delete: %v", err)
		}

		// A race: exactly one of many writers wins.
		race := s.key("locks/race.json")
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, exists := 0, 0
		var other []error
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := lake.UploadIfAbsent(ctx(), s.b, race, bytes.NewReader([]byte(fmt.Sprint("writer ", i))))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, lake.ErrExists):
					exists++
				default:
					other = append(other, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || exists != n-1 || len(other) > 0 {
			t.Fatalf("race: %d won, %d refused, other errors %v", wins, exists, other)
		}
		if got := readObject(t, s.b, race); !strings.HasPrefix(got, "writer ") {
			t.Errorf("race: object is %q", got)
		}
	})
}

func readObject(t *testing.T, b lake.Bucket, key string) string {
	t.Helper()
	rc, err := b.Get(ctx(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
