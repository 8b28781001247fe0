package server

import (
	"context"
	"crypto/sha256"
)

// StoreDigest returns a SHA-256 digest of every key and value in the store
// (kagi.db: keys, material, aliases, grants, identities, last uses), read
// in one consistent view, and how many pairs it covers. Tests take it
// before and after requests that must change nothing. The audit trail is
// not in the store and not covered.
func (s *Server) StoreDigest(ctx context.Context) (sum [sha256.Size]byte, pairs int, err error) {
	return s.store.Digest(ctx)
}
