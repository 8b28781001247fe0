package kms

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// erasingStore is a bolt store on which another erasure commits while
// Compact runs, as a request may just before Compact takes the store.
type erasingStore struct {
	*bolt.Store
	compactions int
}

func (e *erasingStore) Compact(ctx context.Context) (int64, int64, error) {
	e.compactions++
	before, after, err := e.Store.Compact(ctx)
	if err == nil && e.compactions == 1 {
		err = e.Update(ctx, markErased)
	}
	return before, after, err
}

func TestCompactIfErased(t *testing.T) {
	ctx := t.Context()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "kagi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es := &erasingStore{Store: st}
	s := &Service{store: es, log: slog.New(slog.DiscardHandler)}
	compact := func(want bool) {
		t.Helper()
		if got, err := s.CompactIfErased(ctx); got != want || err != nil {
			t.Fatalf("CompactIfErased = %v, %v; want %v", got, err, want)
		}
	}
	compact(false) // nothing erased yet
	if err := st.Update(ctx, markErased); err != nil {
		t.Fatal(err)
	}
	compact(true) // an erasure commits during this compaction …
	compact(true) // … so the next sweep compacts again
	compact(false)
	if es.compactions != 2 {
		t.Errorf("%d compactions, want 2", es.compactions)
	}
	err = st.View(ctx, func(tx storage.Tx) error {
		_, err := tx.Get(compactDueKey)
		return err
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("%s after the compactions: %v", compactDueKey, err)
	}

	// A store that cannot compact is left alone.
	s.store = st
	if err := st.Update(ctx, markErased); err != nil {
		t.Fatal(err)
	}
	s.store = storeWithoutCompact{st}
	compact(false)
}

// storeWithoutCompact hides bolt.Store's Compact, as a store that keeps no
// remnants of deleted values would not have one.
type storeWithoutCompact struct{ storage.Store }
