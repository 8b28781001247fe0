package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/kagikms/kagi/internal/storage"
)

// StoreDigest returns a SHA-256 digest of every key and value in the
// store (kagi.db: keys, material, aliases, grants, identities, last uses),
// read in one consistent view, and how many pairs it covers. Tests take it
// before and after requests that must change nothing. The audit trail is
// not in the store and not covered.
func (s *Server) StoreDigest(ctx context.Context) (sum [sha256.Size]byte, pairs int, err error) {
	h := sha256.New()
	err = s.store.View(ctx, func(tx storage.Tx) error {
		kvs, _, err := tx.List(nil, nil, 0)
		if err != nil {
			return err
		}
		var n [8]byte
		for _, kv := range kvs {
			// Length-prefixed, so no two different stores hash alike.
			binary.BigEndian.PutUint64(n[:], uint64(len(kv.Key)))
			h.Write(n[:])
			h.Write(kv.Key)
			binary.BigEndian.PutUint64(n[:], uint64(len(kv.Value)))
			h.Write(n[:])
			h.Write(kv.Value)
		}
		pairs = len(kvs)
		return nil
	})
	if err != nil {
		return sum, 0, fmt.Errorf("store digest: %w", err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, pairs, nil
}
