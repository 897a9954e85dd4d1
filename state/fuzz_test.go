package state

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corpus-audit/corpus-audit/lake"
)

// FuzzLoad: the state file lives in a bucket others can write to; any
// bytes give a state or an error naming the file, never a panic, and a
// state that loads saves and loads again.
func FuzzLoad(f *testing.F) {
	f.Add(`{"version":1,"snapshots":{}}`)
	f.Add(`{"version":1,"snapshots":{"2026-06-01":null}}`)
	f.Add(`{"version":99}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, data string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		s := NewStore(lake.Location{Bucket: lake.NewLocal(dir)})
		ctx := context.Background()
		st, err := s.Load(ctx)
		if err != nil {
			if !strings.Contains(err.Error(), FileName) {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if err := s.Save(ctx, st); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(ctx); err != nil {
			t.Errorf("a state that loaded does not load after saving: %v", err)
		}
	})
}
