package bolt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/kagikms/kagi/internal/storage"
)

// Digest returns a SHA-256 digest of every key and value in the store,
// read in one consistent view, and how many pairs it covers. Pairs are
// hashed in key order, each length-prefixed, so no two different stores
// hash alike.
func (s *Store) Digest(ctx context.Context) (sum [sha256.Size]byte, pairs int, err error) {
	h := sha256.New()
	err = s.View(ctx, func(tx storage.Tx) error {
		kvs, _, err := tx.List(nil, nil, 0)
		if err != nil {
			return err
		}
		var n [8]byte
		for _, kv := range kvs {
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
		return sum, 0, fmt.Errorf("bolt: digest: %w", err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, pairs, nil
}
