// Package storage declares the transactional key-value store kagi keeps its
// state in. Implementations live in sub-packages (bolt for one machine, etcd
// for a cluster) and all pass the conformance suite in storagetest.
//
// Keys are byte strings with a '/'-separated hierarchy by convention; the
// store itself gives no meaning to them beyond lexicographic order.
package storage

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Tx.Get for a key that does not exist.
var ErrNotFound = errors.New("storage: key not found")

// ErrClosed is returned by every call on a closed store.
var ErrClosed = errors.New("storage: store is closed")

// Store is a transactional key-value store.
type Store interface {
	// View runs fn in a read-only transaction with a consistent snapshot.
	// Writes inside fn fail.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. If fn returns nil the
	// writes are committed atomically and are durable when Update returns
	// nil; otherwise nothing is written. Update may run fn more than once
	// (on a conflict), so fn must have no side effects outside tx.
	Update(ctx context.Context, fn func(Tx) error) error
	// Watch reports every committed change to a key under prefix (nil: every
	// key), in commit order, until ctx is done; then the channel is closed.
	// Every commit that completes after Watch returns is reported. Within one
	// commit, the last event for a key carries its final state; deleting a
	// key that did not exist changes nothing and is not reported.
	//
	// The channel is also closed when the store is closed, and when the
	// watch is lost because the receiver fell behind. A channel that closes
	// while ctx is not done means changes may have been missed: re-list and
	// watch again. The usual pattern is to Watch first, then View to load
	// the current state, then apply events.
	Watch(ctx context.Context, prefix []byte) (<-chan Event, error)
	// Close releases the store. Transactions in flight finish first.
	Close() error
}

// Tx is one transaction. It must not be used after the function it was
// passed to returns, and is not safe for concurrent use. Byte slices it
// returns stay valid after the transaction ends and may be modified by the
// caller; it does not retain the slices passed to it. Reads in an Update
// see the transaction's own writes.
type Tx interface {
	// Get returns the value at key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Put sets key to value. An empty key is refused.
	Put(key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
	// List returns up to limit pairs whose keys start with prefix and sort
	// strictly after after (nil: from the start of prefix), in key order,
	// and whether more such pairs exist beyond them. limit <= 0 means no
	// limit. Its cost grows with the page, not with the number of keys.
	List(prefix, after []byte, limit int) (kvs []KV, more bool, err error)
}

// KV is a key and its value.
type KV struct {
	Key   []byte
	Value []byte
}

// Event is one committed change seen by Watch. Value is nil for a delete.
// Its byte slices belong to the receiver.
type Event struct {
	Key    []byte
	Value  []byte
	Delete bool
}
