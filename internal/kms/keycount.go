package kms

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kagikms/kagi/internal/storage"
)

// KeyStates are the states KeyCountsByState reports, every one of them
// even when no key is in it, so that a metric never disappears.
var KeyStates = []string{stateEnabled, stateDisabled, statePendingDeletion, statePendingImport}

// keyCountPage is how many key records one read transaction of
// KeyCountsByState reads: a long scan never holds one snapshot open.
const keyCountPage = 1000

// KeyCountsByState counts the keys of every account and Region by their
// state as a request would see it now: a key past its deletion date is
// gone, and imported material past its ValidTo has expired. Its cost grows
// with the number of keys (it reads every key record), so metrics call it
// at most once per scrape.
func (s *Service) KeyCountsByState(ctx context.Context) (map[string]int, error) {
	counts := make(map[string]int, len(KeyStates))
	for _, st := range KeyStates {
		counts[st] = 0
	}
	prefix := []byte("k/")
	var after []byte
	for {
		var kvs []storage.KV
		var more bool
		err := s.store.View(ctx, func(tx storage.Tx) error {
			var err error
			kvs, more, err = tx.List(prefix, after, keyCountPage)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("count keys: %w", err)
		}
		for _, kv := range kvs {
			var k keyRecord
			if err := json.Unmarshal(kv.Value, &k); err != nil {
				return nil, fmt.Errorf("count keys: decode %q: %w", kv.Key, err)
			}
			if s.deleted(&k) {
				continue
			}
			s.expireMaterial(&k)
			counts[k.State]++
		}
		if !more || len(kvs) == 0 {
			return counts, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
