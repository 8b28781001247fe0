// Package software is the key store that keeps key material in kagi's own
// storage, sealed under the root key, and uses it in process memory.
package software

import (
	"bytes"
	"container/list"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
	"github.com/kagikms/kagi/internal/rootkey"
)

// materialAADLabel starts the additional data material is sealed with.
const materialAADLabel = "kagi material v1"

// Store keeps key material sealed under the root key and caches unsealed
// material (and parsed key pairs) in memory. It implements keystore.Store
// and is safe for concurrent use.
type Store struct {
	root      *rootkey.Key
	cacheSize int

	mu    sync.Mutex
	lru   *list.List // of *entry, most recently used first
	index map[keystore.Ref]*list.Element

	// hits and misses count the uses of material that found it unsealed
	// in the cache and those that had to unseal it (CacheStats).
	hits, misses atomic.Uint64
}

var _ keystore.Store = (*Store)(nil)

// entry is one cached material version. persisted is kept to check a hit:
// two different persisted values for the same Ref (a retried create whose
// first result was never stored, say) must never share material.
type entry struct {
	ref       keystore.Ref
	persisted []byte
	// One of: symmetric material (spec ""), an HMAC key (spec HMAC_*), or
	// a parsed key pair. Never written after the entry is created.
	spec     string
	material []byte
	pair     *crypto.KeyPair
}

// New returns a store that seals material under root and keeps up to
// cacheSize unsealed material versions in memory, evicting the least
// recently used. A cacheSize of 0 or less disables the cache: every call
// unseals.
func New(root *rootkey.Key, cacheSize int) *Store {
	return &Store{
		root:      root,
		cacheSize: max(cacheSize, 0),
		lru:       list.New(),
		index:     make(map[keystore.Ref]*list.Element),
	}
}

// NewSymmetric creates 32 random bytes of material for ref and returns them
// sealed under the root key with ref as additional data.
func (s *Store) NewSymmetric(ctx context.Context, ref keystore.Ref) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ref.KeyARN == "" {
		return nil, errors.New("keystore/software: empty key ARN")
	}
	material := make([]byte, crypto.MaterialSize)
	_, _ = rand.Read(material) // never fails; the runtime aborts if the OS cannot supply entropy
	persisted, err := s.root.Seal(material, sealAAD(ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: seal new material: %w", err)
	}
	// The material is most likely used next (CreateKey, then Encrypt).
	s.put(ref, persisted, material)
	return persisted, nil
}

// ImportSymmetric seals imported material (crypto.MaterialSize bytes)
// under the root key with ref as additional data, as NewSymmetric seals
// the material it makes.
func (s *Store) ImportSymmetric(ctx context.Context, ref keystore.Ref, material []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ref.KeyARN == "" {
		return nil, errors.New("keystore/software: empty key ARN")
	}
	if len(material) != crypto.MaterialSize {
		return nil, fmt.Errorf("keystore/software: import: %w: material is %d bytes, want %d", crypto.ErrInvalidInput, len(material), crypto.MaterialSize)
	}
	material = bytes.Clone(material)
	persisted, err := s.root.Seal(material, sealAAD(ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: seal imported material: %w", err)
	}
	s.put(ref, persisted, material)
	return persisted, nil
}

// Encrypt seals plaintext under aad with ref's material; see
// crypto.SealMessage.
func (s *Store) Encrypt(ctx context.Context, ref keystore.Ref, persisted, nonce, plaintext, aad []byte) ([]byte, error) {
	material, err := s.material(ctx, ref, persisted)
	if err != nil {
		return nil, err
	}
	sealed, err := crypto.SealMessage(material, nonce, plaintext, aad)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: encrypt: %w", err)
	}
	return sealed, nil
}

// Decrypt opens sealed with ref's material; a failed authentication
// returns an error wrapping crypto.ErrAuth.
func (s *Store) Decrypt(ctx context.Context, ref keystore.Ref, persisted, nonce, sealed, aad []byte) ([]byte, error) {
	material, err := s.material(ctx, ref, persisted)
	if err != nil {
		return nil, err
	}
	pt, err := crypto.OpenMessage(material, nonce, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: decrypt: %w", err)
	}
	return pt, nil
}

// Unseal returns the plaintext material of a persisted value, bypassing the
// cache. It is for tests that prove the material never reaches storage
// unsealed. An error wraps rootkey.ErrUnseal.
func (s *Store) Unseal(ref keystore.Ref, persisted []byte) ([]byte, error) {
	material, err := s.root.Open(persisted, sealAAD(ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: unseal material: %w", err)
	}
	if len(material) != crypto.MaterialSize {
		return nil, fmt.Errorf("keystore/software: unsealed material is %d bytes, want %d", len(material), crypto.MaterialSize)
	}
	return material, nil
}

// material returns ref's unsealed material, from the cache when it holds
// the same persisted value. The returned slice is shared with the cache:
// callers only read it.
func (s *Store) material(ctx context.Context, ref keystore.Ref, persisted []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m := s.get(ref, persisted); m != nil {
		s.hits.Add(1)
		return m, nil
	}
	s.misses.Add(1)
	// Unseal outside the lock; two callers that miss at once both unseal,
	// which is harmless.
	m, err := s.Unseal(ref, persisted)
	if err != nil {
		return nil, err
	}
	s.put(ref, persisted, m)
	return m, nil
}

// get returns the symmetric material cached for ref and persisted.
func (s *Store) get(ref keystore.Ref, persisted []byte) []byte {
	if e := s.lookup(ref, persisted, ""); e != nil {
		return e.material
	}
	return nil
}

// lookup returns the cache entry of ref if it was made from persisted for
// spec ("" for symmetric material).
func (s *Store) lookup(ref keystore.Ref, persisted []byte, spec string) *entry {
	if s.cacheSize == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.index[ref]
	if !ok {
		return nil
	}
	e := el.Value.(*entry)
	if e.spec != spec || !bytes.Equal(e.persisted, persisted) {
		return nil
	}
	s.lru.MoveToFront(el)
	return e
}

func (s *Store) put(ref keystore.Ref, persisted, material []byte) {
	s.putEntry(&entry{ref: ref, persisted: bytes.Clone(persisted), material: material})
}

func (s *Store) putEntry(e *entry) {
	if s.cacheSize == 0 {
		return
	}
	ref := e.ref
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.index[ref]; ok {
		el.Value = e
		s.lru.MoveToFront(el)
		return
	}
	s.index[ref] = s.lru.PushFront(e)
	for s.lru.Len() > s.cacheSize {
		// Evicted material is left to the garbage collector, not
		// cleared: a concurrent Encrypt may still be using it.
		old := s.lru.Remove(s.lru.Back()).(*entry)
		delete(s.index, old.ref)
	}
}

// CacheStats reports how many uses of key material (symmetric material,
// key pairs, HMAC keys) found it unsealed in the cache, and how many had to
// unseal it. With the cache disabled every use is a miss. Storing material
// (create, import) is neither.
func (s *Store) CacheStats() (hits, misses uint64) {
	return s.hits.Load(), s.misses.Load()
}

// cached reports how many material versions the cache holds, for tests.
func (s *Store) cached() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// sealAAD is the additional data ref's material is sealed with: the label,
// the ARN's length as a uvarint, the ARN and the material id. It binds a
// persisted value to one key and one version.
func sealAAD(ref keystore.Ref) []byte {
	b := make([]byte, 0, len(materialAADLabel)+binary.MaxVarintLen64+len(ref.KeyARN)+len(ref.MaterialID))
	b = append(b, materialAADLabel...)
	b = binary.AppendUvarint(b, uint64(len(ref.KeyARN)))
	b = append(b, ref.KeyARN...)
	return append(b, ref.MaterialID[:]...)
}
