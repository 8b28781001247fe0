package kms

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/kagikms/kagi/internal/storage"
)

// compacter is a store that can rewrite its file with only its live data
// (storage/bolt). Deleting a record does not clear its bytes: bbolt leaves
// a freed page as it was until it reuses it, so erased key material would
// stay readable in the file. A store that does not implement it keeps no
// such remnants of its own (or clears them by other means).
type compacter interface {
	Compact(ctx context.Context) (before, after int64, err error)
}

// compactDueKey is present while the store may hold remnants of erased key
// material: every transaction that erases material writes a fresh random
// value to it, and the sweeper compacts the store and then deletes it if
// its value is still the one it saw before compacting. An erasure that
// commits meanwhile writes a new value, so it is compacted on the next
// sweep; a crash before the compaction leaves the key for the sweep that
// follows the restart.
var compactDueKey = []byte("meta/compact-due")

// markErased records, in the transaction that erases key material, that
// the store needs compacting.
func markErased(tx storage.Tx) error {
	var v [16]byte
	rand.Read(v[:])
	return tx.Put(compactDueKey, fmt.Appendf(nil, "%x", v))
}

// CompactIfErased compacts the store if a transaction erased key material
// since the last compaction, so that the material is in no file of the
// data directory. It reports whether it compacted. Requests wait while it
// runs (bolt.Store.Compact).
func (s *Service) CompactIfErased(ctx context.Context) (bool, error) {
	c, ok := s.store.(compacter)
	if !ok {
		return false, nil
	}
	var due []byte
	err := s.store.View(ctx, func(tx storage.Tx) error {
		v, err := tx.Get(compactDueKey)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		due = v
		return err
	})
	if err != nil || due == nil {
		return false, err
	}
	start := time.Now()
	before, after, err := c.Compact(ctx)
	if err != nil {
		return false, fmt.Errorf("compact the store after erasing key material: %w", err)
	}
	s.log.Info("compacted the store after erasing key material", "bytes_before", before, "bytes_after", after, "took", time.Since(start))
	return true, s.store.Update(ctx, func(tx storage.Tx) error {
		v, err := tx.Get(compactDueKey)
		if err != nil || !bytes.Equal(v, due) {
			return nil // gone, or another erasure since: compact again next time
		}
		return tx.Delete(compactDueKey)
	})
}
