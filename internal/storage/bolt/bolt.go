// Package bolt implements storage.Store on one bbolt file, for kagi on one
// machine.
//
// Durability: every Update that returns nil has been fsynced (bbolt's
// default; NoSync is never set), so an acknowledged write survives a crash
// of the process or the machine.
//
// Concurrency: Views run in parallel with each other and with the one
// writer; Updates are serialized, so fn runs exactly once per Update. While
// the file grows past its current memory map, the writer waits for the Views
// in flight to finish, so a View must never wait for an Update. Compact
// takes the writer's slot and then waits for every View in flight, holding
// new ones back: a View may run inside an Update, but never inside another
// View.
//
// Throughput: each Update costs one fsync, typically a millisecond or more.
// bbolt's DB.Batch would share one commit among concurrent writers, but it
// does not fit Update: it runs several callers' fns in one transaction and,
// when one fails, rolls all of them back and runs them again, so a caller's
// fn may run more than once because of another caller's error, the changes
// to publish to watchers must be rebuilt per attempt, a caller's cancelled
// context cannot keep its own writes out of the shared commit, and a lone
// writer waits up to MaxBatchDelay. Group commit, when kagi needs it,
// belongs in this package with its own queue; storage.Store need not
// change.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/kagikms/kagi/internal/storage"
)

const (
	// fileMode is the mode of a newly created store file: the store holds
	// sealed key material and policies, readable by kagi's user only.
	fileMode = 0o600

	// openTimeout bounds the wait for the file lock, so that a second
	// process opening a store in use fails clearly instead of hanging.
	openTimeout = 3 * time.Second

	// watchBuffer is how many events a watcher may fall behind by before
	// its watch is lost.
	watchBuffer = 1024
)

// bucketName names the one bucket that holds the flat key space.
var bucketName = []byte("kagi")

// ErrLocked is returned (wrapped) by Open when another process holds the
// store file open.
var ErrLocked = errors.New("bolt: store is locked by another process")

var (
	errEmptyKey = errors.New("bolt: empty key")
	errReadOnly = errors.New("bolt: write in a read-only transaction")
	errTxDone   = errors.New("bolt: transaction used after its function returned")
)

// Store is a storage.Store backed by one bbolt file. It is safe for
// concurrent use.
type Store struct {
	db   *bbolt.DB
	path string

	// writer is a one-slot semaphore held by an Update from before its
	// transaction begins until its changes are published, so that watchers
	// see commits in commit order. Unlike a mutex, waiting for it honours
	// the caller's context.
	writer chan struct{}

	// gate is held shared by every transaction and exclusively by Compact
	// while it replaces db.
	gate sync.RWMutex

	closed atomic.Bool

	mu       sync.Mutex // guards watchers and orders Watch against Close
	watchers map[*watcher]struct{}
}

var _ storage.Store = (*Store)(nil)

// watcher is one Watch call.
type watcher struct {
	prefix []byte
	ch     chan storage.Event
	stop   func() bool // unregisters the context.AfterFunc
}

// Open opens the store at path, creating the file with mode 0600 if it does
// not exist; its directory must exist. If another process holds the file,
// Open gives up after a few seconds with an error wrapping ErrLocked.
func Open(path string) (*Store, error) {
	db, err := bbolt.Open(path, fileMode, &bbolt.Options{Timeout: openTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open bolt store %s: %w (gave up after %s)", path, ErrLocked, openTimeout)
		}
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	// A compaction that was interrupted left its unfinished copy; the
	// store file itself is whole (the copy replaces it only once complete).
	_ = os.Remove(path + compactSuffix)
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open bolt store %s: create bucket: %w", path, err)
	}
	return &Store{
		db:       db,
		path:     path,
		writer:   make(chan struct{}, 1),
		watchers: make(map[*watcher]struct{}),
	}, nil
}

// Path returns the path of the store file, as given to Open.
func (s *Store) Path() string { return s.path }

// View runs fn in a read-only transaction on a consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(storage.Tx) error) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.gate.RLock()
	defer s.gate.RUnlock()
	var fnErr error
	err := s.db.View(func(btx *bbolt.Tx) error {
		t := &tx{b: btx.Bucket(bucketName)}
		defer t.finish()
		fnErr = fn(t)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return s.wrap("view", err)
}

// Update runs fn in a read-write transaction and commits it with an fsync
// if fn returns nil. fn runs exactly once. If ctx is done before the
// commit, nothing is written and Update returns ctx's error. After the
// commit, the changes are published to the watchers whose prefix matches.
func (s *Store) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	if s.closed.Load() {
		return storage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	var changes changeLog
	var fnErr error
	s.gate.RLock()
	err := s.db.Update(func(btx *bbolt.Tx) error {
		t := &tx{b: btx.Bucket(bucketName), writable: true, changes: &changes}
		defer t.finish()
		if fnErr = fn(t); fnErr != nil {
			return fnErr
		}
		fnErr = ctx.Err()
		return fnErr
	})
	s.gate.RUnlock()
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return s.wrap("update", err)
	}
	s.publish(changes.events())
	return nil
}

// Watch reports committed changes to keys under prefix. Events are
// delivered through a buffer of 1024; a watcher that falls further behind
// loses its watch: its channel is closed while ctx is not done, and the
// receiver must re-list and watch again. A slow watcher never blocks
// writers. Within one commit, each changed key is reported once, with its
// final state, in the order of the last write fn made to it.
func (s *Store) Watch(ctx context.Context, prefix []byte) (<-chan storage.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, storage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &watcher{
		prefix: bytes.Clone(prefix),
		ch:     make(chan storage.Event, watchBuffer),
	}
	s.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() { s.dropWatcher(w) })
	return w.ch, nil
}

// Close waits for the transactions in flight, closes the file and closes
// every watch channel. Every later call returns storage.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return storage.ErrClosed
	}
	s.closed.Store(true) // under mu: no Watch registers after this
	s.mu.Unlock()

	// Wait for the Update in flight to commit and publish. Updates that
	// were waiting for the slot see closed once they get it.
	s.writer <- struct{}{}
	err := s.db.Close() // waits for the Views in flight
	<-s.writer

	s.mu.Lock()
	ws := s.watchers
	s.watchers = nil
	s.mu.Unlock()
	for w := range ws {
		w.stop()
		close(w.ch)
	}
	if err != nil {
		return fmt.Errorf("close bolt store %s: %w", s.path, err)
	}
	return nil
}

// dropWatcher ends a watch whose context is done. Only the goroutine that
// removes w from s.watchers closes its channel.
func (s *Store) dropWatcher(w *watcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.watchers[w]; ok {
		delete(s.watchers, w)
		close(w.ch)
	}
}

// publish hands one commit's events to the matching watchers. It runs with
// s.writer held, so commits are published in commit order. A watcher whose
// buffer is full is dropped rather than waited for.
func (s *Store) publish(evs []storage.Event) {
	if len(evs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
watchers:
	for w := range s.watchers {
		for _, ev := range evs {
			if !bytes.HasPrefix(ev.Key, w.prefix) {
				continue
			}
			select {
			case w.ch <- copyEvent(ev):
			default:
				delete(s.watchers, w)
				w.stop()
				close(w.ch)
				continue watchers
			}
		}
	}
}

// wrap gives a bbolt error context, and reports a closed database as
// storage.ErrClosed.
func (s *Store) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return storage.ErrClosed
	default:
		return fmt.Errorf("bolt %s %s: %w", op, s.path, err)
	}
}

// tx is a storage.Tx over the bucket of one bbolt transaction.
type tx struct {
	b        *bbolt.Bucket
	writable bool
	changes  *changeLog // nil in a View
	done     bool
}

var _ storage.Tx = (*tx)(nil)

// finish marks the transaction over: bbolt memory it could reach may be
// unmapped after this.
func (t *tx) finish() { t.done = true }

func (t *tx) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxDone
	}
	v := t.b.Get(key)
	if v == nil {
		return nil, storage.ErrNotFound
	}
	return cloneValue(v), nil // v points into bbolt's mmap
}

func (t *tx) Put(key, value []byte) error {
	if err := t.checkWrite(key); err != nil {
		return err
	}
	// bbolt keeps key and value until commit; the caller may reuse them.
	k, v := bytes.Clone(key), cloneValue(value)
	existed, first := t.existedBefore(k)
	if err := t.b.Put(k, v); err != nil {
		return fmt.Errorf("bolt: put: %w", err)
	}
	t.changes.add(change{key: k, value: v, existed: existed}, first)
	return nil
}

func (t *tx) Delete(key []byte) error {
	if err := t.checkWrite(key); err != nil {
		return err
	}
	k := bytes.Clone(key)
	existed, first := t.existedBefore(k)
	if err := t.b.Delete(k); err != nil {
		return fmt.Errorf("bolt: delete: %w", err)
	}
	t.changes.add(change{key: k, del: true, existed: existed}, first)
	return nil
}

func (t *tx) List(prefix, after []byte, limit int) ([]storage.KV, bool, error) {
	if t.done {
		return nil, false, errTxDone
	}
	c := t.b.Cursor()
	var k, v []byte
	if after != nil && bytes.Compare(after, prefix) >= 0 {
		k, v = c.Seek(after)
		if bytes.Equal(k, after) {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(prefix)
	}
	var kvs []storage.KV
	if limit > 0 {
		kvs = make([]storage.KV, 0, min(limit, 256))
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if limit > 0 && len(kvs) == limit {
			return kvs, true, nil
		}
		kvs = append(kvs, storage.KV{Key: bytes.Clone(k), Value: cloneValue(v)})
	}
	return kvs, false, nil
}

func (t *tx) checkWrite(key []byte) error {
	switch {
	case t.done:
		return errTxDone
	case !t.writable:
		return errReadOnly
	case len(key) == 0:
		return errEmptyKey
	}
	return nil
}

// existedBefore reports whether key existed when the transaction began, and
// whether this is the transaction's first write to it. Only the first write
// needs to look: later ones ask the change log.
func (t *tx) existedBefore(key []byte) (existed, first bool) {
	if i, ok := t.changes.index[string(key)]; ok {
		return t.changes.list[i].existed, false
	}
	return t.b.Get(key) != nil, true
}

// change is the latest write an Update made to one key.
type change struct {
	key, value []byte
	del        bool
	existed    bool // the key existed before the transaction
	superseded bool // a later write to the same key follows in the log
}

// changeLog records an Update's writes, collapsed per key, in the order of
// each key's last write.
type changeLog struct {
	list  []change
	index map[string]int // key → position in list of its latest write
}

func (l *changeLog) add(c change, first bool) {
	if l.index == nil {
		l.index = make(map[string]int)
	}
	if !first {
		l.list[l.index[string(c.key)]].superseded = true
	}
	l.index[string(c.key)] = len(l.list)
	l.list = append(l.list, c)
}

// events returns the committed changes as events. Deleting a key that did
// not exist before the transaction is no change.
func (l *changeLog) events() []storage.Event {
	var evs []storage.Event
	for _, c := range l.list {
		switch {
		case c.superseded:
		case c.del && !c.existed:
		case c.del:
			evs = append(evs, storage.Event{Key: c.key, Delete: true})
		default:
			evs = append(evs, storage.Event{Key: c.key, Value: c.value})
		}
	}
	return evs
}

// copyEvent gives each watcher its own slices.
func copyEvent(ev storage.Event) storage.Event {
	ev.Key = bytes.Clone(ev.Key)
	if !ev.Delete {
		ev.Value = cloneValue(ev.Value)
	}
	return ev
}

// cloneValue copies v into a new slice, never nil, so that an empty value
// is told apart from a missing one.
func cloneValue(v []byte) []byte {
	return append(make([]byte, 0, len(v)), v...)
}

// compactSuffix names the copy Compact writes beside the store file.
const compactSuffix = ".compact"

// Compact rewrites the store file with only its live data, while the store
// stays open, and returns the file's size before and after. bbolt does not
// clear a page it frees: the old bytes of a value that was overwritten or
// deleted stay in the file until the page is reused. After Compact they are
// in no file: the live pairs are copied into a new file beside the store
// (bbolt.Compact, every commit fsynced), which then replaces it by an
// atomic rename, so a crash at any point leaves either the old or the new
// file whole. Transactions wait while Compact runs (about 20 ms for 1,000
// keys, 1.4 s for 100,000: BenchmarkCompact); watches are kept.
func (s *Store) Compact(ctx context.Context) (before, after int64, err error) {
	if s.closed.Load() {
		return 0, 0, storage.ErrClosed
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	defer func() { <-s.writer }()
	if s.closed.Load() {
		return 0, 0, storage.ErrClosed
	}
	s.gate.Lock()
	defer s.gate.Unlock()

	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", s.path, err)
	}
	tmp := s.path + compactSuffix
	if err := copyLive(s.db, tmp); err != nil {
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact %s: %w", s.path, err)
	}
	if err := s.db.Close(); err != nil {
		_ = os.Remove(tmp)
		err = fmt.Errorf("compact %s: close: %w", s.path, err)
		return 0, 0, errors.Join(err, s.reopen())
	}
	if err := os.Rename(tmp, s.path); err != nil {
		_ = os.Remove(tmp)
		err = fmt.Errorf("compact %s: %w", s.path, err)
		return 0, 0, errors.Join(err, s.reopen())
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	if err := s.reopen(); err != nil {
		return 0, 0, err
	}
	fa, err := os.Stat(s.path)
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", s.path, err)
	}
	return fi.Size(), fa.Size(), nil
}

// copyLive writes the live pairs of src into a new file dst.
func copyLive(src *bbolt.DB, dst string) error {
	_ = os.Remove(dst) // left by an interrupted compaction
	out, err := bbolt.Open(dst, fileMode, &bbolt.Options{Timeout: openTimeout})
	if err != nil {
		return err
	}
	if err := bbolt.Compact(out, src, 1<<20); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// reopen opens the store file again after Compact closed it. If that
// fails the store is unusable: it is marked closed, so every later call
// returns storage.ErrClosed instead of touching a closed bbolt.DB.
func (s *Store) reopen() error {
	db, err := bbolt.Open(s.path, fileMode, &bbolt.Options{Timeout: openTimeout})
	if err != nil {
		s.closed.Store(true)
		return fmt.Errorf("compact %s: reopen: %w", s.path, err)
	}
	s.db = db
	return nil
}
