// Package storagetest is the conformance suite every storage.Store
// implementation runs unchanged: a backend's test calls Run with a function
// that opens a fresh store.
//
// The suite assumes nothing beyond the storage interface: no files, no
// timing other than generous upper bounds, no backend-specific errors.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/storage"
)

const (
	// testTimeout bounds everything one subtest waits for.
	testTimeout = 60 * time.Second
	// eventTimeout bounds the wait for one watch event that must come.
	eventTimeout = 10 * time.Second
	// writerWait is how long a View waits for a concurrent Update before
	// concluding that the backend holds writers behind open readers.
	writerWait = 5 * time.Second
	// stillBlocked is how long a test watches for something that must not
	// happen yet (Close returning with a transaction in flight).
	stillBlocked = 100 * time.Millisecond
)

// Run runs the conformance suite. open must return a new, empty store for
// each call; the suite closes it when the subtest ends (and sometimes
// before), so open registers cleanups only for what it owns besides the
// store (files, servers). Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	o := opener(open)
	t.Run("Get", func(t *testing.T) {
		t.Run("MissingKeyIsErrNotFound", o.testGetMissing)
	})
	t.Run("Put", func(t *testing.T) {
		t.Run("RoundTrip", o.testPutRoundTrip)
		t.Run("EmptyValue", o.testPutEmptyValue)
		t.Run("EmptyKeyRefused", o.testPutEmptyKey)
		t.Run("Overwrite", o.testPutOverwrite)
		t.Run("DoesNotRetainArguments", o.testPutDoesNotRetain)
		t.Run("ReadYourWrites", o.testReadYourWrites)
	})
	t.Run("Delete", func(t *testing.T) {
		t.Run("Existing", o.testDeleteExisting)
		t.Run("MissingIsNil", o.testDeleteMissing)
	})
	t.Run("Update", func(t *testing.T) {
		t.Run("ErrorWritesNothing", o.testUpdateErrorWritesNothing)
		t.Run("CancelledContext", o.testUpdateCancelled)
	})
	t.Run("View", func(t *testing.T) {
		t.Run("RefusesWrites", o.testViewRefusesWrites)
		t.Run("ReturnsFnError", o.testViewReturnsFnError)
		t.Run("CancelledContext", o.testViewCancelled)
		t.Run("SnapshotIgnoresConcurrentUpdate", o.testViewSnapshot)
	})
	t.Run("Slices", func(t *testing.T) {
		t.Run("SafeToModifyAndOutliveTx", o.testSlicesOwned)
	})
	t.Run("List", func(t *testing.T) {
		t.Run("PrefixIsolation", o.testListPrefixIsolation)
		t.Run("NilPrefixListsAll", o.testListNilPrefix)
		t.Run("Order", o.testListOrder)
		t.Run("AfterExclusive", o.testListAfter)
		t.Run("LimitAndMore", o.testListLimitAndMore)
		t.Run("Paging1000KeysBy7", o.testListPaging)
		t.Run("BinaryKeysAndValues", o.testListBinary)
	})
	t.Run("Concurrent", func(t *testing.T) {
		t.Run("IncrementsLoseNoUpdate", o.testConcurrentIncrements)
		t.Run("ReadersSeeWholeCommits", o.testConcurrentReaders)
	})
	t.Run("Watch", func(t *testing.T) {
		t.Run("PutsAndDeletesInCommitOrder", o.testWatchOrder)
		t.Run("OnlyUnderPrefix", o.testWatchPrefix)
		t.Run("NilPrefixSeesAll", o.testWatchNilPrefix)
		t.Run("NothingFromRolledBackUpdate", o.testWatchRollback)
		t.Run("DeleteOfMissingKeyIsSilent", o.testWatchDeleteMissing)
		t.Run("OneUpdateManyKeys", o.testWatchOneUpdate)
		t.Run("SeveralWatchers", o.testWatchSeveral)
		t.Run("ClosesWhenContextCancelled", o.testWatchCancel)
		t.Run("ClosesWhenStoreClosed", o.testWatchStoreClose)
	})
	t.Run("Close", func(t *testing.T) {
		t.Run("LaterCallsReturnErrClosed", o.testClosedCalls)
		t.Run("WaitsForUpdateInFlight", o.testCloseWaitsForUpdate)
		t.Run("WaitsForViewInFlight", o.testCloseWaitsForView)
	})
}

// opener opens a store for one subtest and closes it at its end.
type opener func(t *testing.T) storage.Store

func (o opener) store(t *testing.T) (storage.Store, context.Context) {
	t.Helper()
	t.Parallel()
	s := o(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return s, ctx
}

// --- helpers ---------------------------------------------------------------

func b(s string) []byte { return []byte(s) }

// put sets the pairs key1, value1, key2, value2, ... in one Update.
func put(t *testing.T, ctx context.Context, s storage.Store, pairs ...string) {
	t.Helper()
	if len(pairs)%2 != 0 {
		t.Fatal("put: odd number of arguments")
	}
	err := s.Update(ctx, func(tx storage.Tx) error {
		for i := 0; i < len(pairs); i += 2 {
			if err := tx.Put(b(pairs[i]), b(pairs[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update put %q: %v", pairs, err)
	}
}

func del(t *testing.T, ctx context.Context, s storage.Store, keys ...string) {
	t.Helper()
	err := s.Update(ctx, func(tx storage.Tx) error {
		for _, k := range keys {
			if err := tx.Delete(b(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update delete %q: %v", keys, err)
	}
}

// get returns the value at key, or nil and false when it is missing.
func get(t *testing.T, ctx context.Context, s storage.Store, key []byte) ([]byte, bool) {
	t.Helper()
	var v []byte
	var found bool
	err := s.View(ctx, func(tx storage.Tx) error {
		var err error
		v, err = tx.Get(key)
		switch {
		case err == nil:
			found = true
			return nil
		case errors.Is(err, storage.ErrNotFound):
			return nil
		default:
			return err
		}
	})
	if err != nil {
		t.Fatalf("View get %q: %v", key, err)
	}
	return v, found
}

func wantValue(t *testing.T, ctx context.Context, s storage.Store, key, want string) {
	t.Helper()
	got, ok := get(t, ctx, s, b(key))
	if !ok {
		t.Fatalf("Get %q: not found, want %q", key, want)
	}
	if string(got) != want {
		t.Fatalf("Get %q = %q, want %q", key, got, want)
	}
}

func wantMissing(t *testing.T, ctx context.Context, s storage.Store, key string) {
	t.Helper()
	if got, ok := get(t, ctx, s, b(key)); ok {
		t.Fatalf("Get %q = %q, want ErrNotFound", key, got)
	}
}

func list(t *testing.T, ctx context.Context, s storage.Store, prefix, after []byte, limit int) ([]storage.KV, bool) {
	t.Helper()
	var kvs []storage.KV
	var more bool
	err := s.View(ctx, func(tx storage.Tx) error {
		var err error
		kvs, more, err = tx.List(prefix, after, limit)
		return err
	})
	if err != nil {
		t.Fatalf("View list(%q, %q, %d): %v", prefix, after, limit, err)
	}
	return kvs, more
}

func keysOf(kvs []storage.KV) []string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = string(kv.Key)
	}
	return keys
}

func watch(t *testing.T, ctx context.Context, s storage.Store, prefix []byte) <-chan storage.Event {
	t.Helper()
	ch, err := s.Watch(ctx, prefix)
	if err != nil {
		t.Fatalf("Watch %q: %v", prefix, err)
	}
	return ch
}

// next returns the next event, failing if none comes in time or the
// channel closes.
func next(t *testing.T, ch <-chan storage.Event) storage.Event {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed, want an event")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no watch event within %s", eventTimeout)
	}
	panic("unreachable")
}

// untilSentinel collects events up to and including the put of key.
func untilSentinel(t *testing.T, ch <-chan storage.Event, key string) []storage.Event {
	t.Helper()
	var evs []storage.Event
	for range 10_000 {
		ev := next(t, ch)
		evs = append(evs, ev)
		if string(ev.Key) == key {
			return evs
		}
	}
	t.Fatalf("no event for sentinel %q among %d events", key, len(evs))
	return nil
}

// waitClosed drains ch until it closes, failing if that takes too long.
func waitClosed(t *testing.T, ch <-chan storage.Event) {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("watch channel still open %s later", eventTimeout)
		}
	}
}

func wantPut(t *testing.T, ev storage.Event, key, value string) {
	t.Helper()
	if ev.Delete || string(ev.Key) != key || string(ev.Value) != value || ev.Value == nil {
		t.Fatalf("event = %s, want put %q=%q", fmtEvent(ev), key, value)
	}
}

func wantDelete(t *testing.T, ev storage.Event, key string) {
	t.Helper()
	if !ev.Delete || string(ev.Key) != key || ev.Value != nil {
		t.Fatalf("event = %s, want delete %q (with nil Value)", fmtEvent(ev), key)
	}
}

func fmtEvent(ev storage.Event) string {
	if ev.Delete {
		return fmt.Sprintf("delete %q (Value %q)", ev.Key, ev.Value)
	}
	return fmt.Sprintf("put %q=%q", ev.Key, ev.Value)
}

// recvWithin waits for one result from a goroutine, bounded by d.
func recvWithin[T any](ch <-chan T, d time.Duration) (T, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v, true
	case <-timer.C:
		var zero T
		return zero, false
	}
}

// --- Get, Put, Delete ---------------------------------------------------------

func (o opener) testGetMissing(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "present", "v")
	for _, key := range []string{"missing", "presen", "present/", "present\x00"} {
		err := s.View(ctx, func(tx storage.Tx) error {
			v, err := tx.Get(b(key))
			if !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("Get %q = %q, %v; want ErrNotFound", key, v, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (o opener) testPutRoundTrip(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "k1", "v1", "dir/k2", "v2")
	wantValue(t, ctx, s, "k1", "v1")
	wantValue(t, ctx, s, "dir/k2", "v2")
}

func (o opener) testPutEmptyValue(t *testing.T) {
	s, ctx := o.store(t)
	err := s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(b("nil"), nil); err != nil {
			return err
		}
		return tx.Put(b("empty"), []byte{})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, key := range []string{"nil", "empty"} {
		v, ok := get(t, ctx, s, b(key))
		if !ok || len(v) != 0 {
			t.Errorf("Get %q = %q, found %v; want an empty value", key, v, ok)
		}
	}
	kvs, _ := list(t, ctx, s, nil, nil, 0)
	if got := keysOf(kvs); !slices.Equal(got, []string{"empty", "nil"}) {
		t.Errorf("List = %q, want [empty nil]", got)
	}
}

func (o opener) testPutEmptyKey(t *testing.T) {
	s, ctx := o.store(t)
	for _, key := range [][]byte{nil, {}} {
		var putErr error
		err := s.Update(ctx, func(tx storage.Tx) error {
			putErr = tx.Put(key, b("v"))
			return putErr
		})
		if putErr == nil {
			t.Errorf("Put(%#v) = nil, want an error", key)
		}
		if err == nil {
			t.Errorf("Update returning Put's error = nil")
		}
	}
	if kvs, _ := list(t, ctx, s, nil, nil, 0); len(kvs) != 0 {
		t.Errorf("store holds %q after refused puts", keysOf(kvs))
	}
}

func (o opener) testPutOverwrite(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "k", "first")
	put(t, ctx, s, "k", "second, longer than the first")
	wantValue(t, ctx, s, "k", "second, longer than the first")
	put(t, ctx, s, "k", "3")
	wantValue(t, ctx, s, "k", "3")
	if kvs, _ := list(t, ctx, s, nil, nil, 0); len(kvs) != 1 {
		t.Errorf("List = %q, want one key", keysOf(kvs))
	}
}

func (o opener) testPutDoesNotRetain(t *testing.T) {
	s, ctx := o.store(t)
	err := s.Update(ctx, func(tx storage.Tx) error {
		key, value := b("key"), b("value")
		if err := tx.Put(key, value); err != nil {
			return err
		}
		copy(key, "XXX")
		copy(value, "XXXXX")
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantValue(t, ctx, s, "key", "value")
	wantMissing(t, ctx, s, "XXX")
}

func (o opener) testReadYourWrites(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "d/1", "old", "d/2", "old", "d/3", "old")
	err := s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(b("d/1"), b("new")); err != nil {
			return err
		}
		if err := tx.Put(b("d/4"), b("new")); err != nil {
			return err
		}
		if err := tx.Delete(b("d/2")); err != nil {
			return err
		}
		if v, err := tx.Get(b("d/1")); err != nil || string(v) != "new" {
			return fmt.Errorf("Get d/1 in Update = %q, %v; want new", v, err)
		}
		if v, err := tx.Get(b("d/2")); !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("Get deleted d/2 in Update = %q, %v; want ErrNotFound", v, err)
		}
		kvs, more, err := tx.List(b("d/"), nil, 0)
		if err != nil {
			return err
		}
		want := []storage.KV{{Key: b("d/1"), Value: b("new")}, {Key: b("d/3"), Value: b("old")}, {Key: b("d/4"), Value: b("new")}}
		if !equalKVs(kvs, want) || more {
			return fmt.Errorf("List in Update = %s, more %v; want %s", fmtKVs(kvs), more, fmtKVs(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (o opener) testDeleteExisting(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "a", "1", "b", "2")
	del(t, ctx, s, "a")
	wantMissing(t, ctx, s, "a")
	wantValue(t, ctx, s, "b", "2")
	put(t, ctx, s, "a", "again")
	wantValue(t, ctx, s, "a", "again")
}

func (o opener) testDeleteMissing(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "a", "1")
	del(t, ctx, s, "never-written", "a")
	del(t, ctx, s, "a") // deleted twice
	wantMissing(t, ctx, s, "a")
}

// --- Update and View -------------------------------------------------------

func (o opener) testUpdateErrorWritesNothing(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "keep", "original", "doomed", "still here")
	errAbort := errors.New("abort")
	err := s.Update(ctx, func(tx storage.Tx) error {
		for i := range 10 {
			if err := tx.Put(b("new/"+strconv.Itoa(i)), b("v")); err != nil {
				return err
			}
		}
		if err := tx.Put(b("keep"), b("changed")); err != nil {
			return err
		}
		if err := tx.Delete(b("doomed")); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errAbort)
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update = %v, want the error fn returned", err)
	}
	wantValue(t, ctx, s, "keep", "original")
	wantValue(t, ctx, s, "doomed", "still here")
	if kvs, _ := list(t, ctx, s, b("new/"), nil, 0); len(kvs) != 0 {
		t.Fatalf("rolled-back keys visible: %q", keysOf(kvs))
	}
}

func (o opener) testUpdateCancelled(t *testing.T) {
	s, ctx := o.store(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := s.Update(cctx, func(tx storage.Tx) error { return tx.Put(b("k"), b("v")) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled context = %v, want context.Canceled", err)
	}
	wantMissing(t, ctx, s, "k")
}

func (o opener) testViewRefusesWrites(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "k", "v")
	err := s.View(ctx, func(tx storage.Tx) error {
		if err := tx.Put(b("k"), b("changed")); err == nil {
			return errors.New("Put in a View = nil, want an error")
		}
		if err := tx.Put(b("new"), b("v")); err == nil {
			return errors.New("Put of a new key in a View = nil, want an error")
		}
		if err := tx.Delete(b("k")); err == nil {
			return errors.New("Delete in a View = nil, want an error")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, ctx, s, "k", "v")
	wantMissing(t, ctx, s, "new")
}

func (o opener) testViewReturnsFnError(t *testing.T) {
	s, ctx := o.store(t)
	errMine := errors.New("mine")
	if err := s.View(ctx, func(storage.Tx) error { return errMine }); !errors.Is(err, errMine) {
		t.Fatalf("View = %v, want the error fn returned", err)
	}
}

func (o opener) testViewCancelled(t *testing.T) {
	s, ctx := o.store(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := s.View(cctx, func(storage.Tx) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("View with a cancelled context = %v, want context.Canceled", err)
	}
}

// testViewSnapshot commits an Update while a View is open and checks that
// the View keeps seeing the state from its start. A backend may hold
// writers until open readers finish: bbolt does when it must grow its
// memory map, which a nearly empty file does within its first kilobytes,
// so the store is first grown and emptied again. If the Update is held all
// the same, the subtest skips, since the View cannot wait for it.
func (o opener) testViewSnapshot(t *testing.T) {
	s, ctx := o.store(t)
	filler := bytes.Repeat(b("f"), 1024)
	for _, del := range []bool{false, true} {
		err := s.Update(ctx, func(tx storage.Tx) error {
			for i := range 1024 {
				key := fmt.Appendf(nil, "fill/%04d", i)
				if del {
					if err := tx.Delete(key); err != nil {
						return err
					}
				} else if err := tx.Put(key, filler); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	put(t, ctx, s, "s/a", "1", "s/b", "1")
	updated := make(chan error, 1)
	blocked := false
	err := s.View(ctx, func(tx storage.Tx) error {
		if v, err := tx.Get(b("s/a")); err != nil || string(v) != "1" {
			return fmt.Errorf("Get s/a = %q, %v; want 1", v, err)
		}
		go func() {
			updated <- s.Update(ctx, func(tx storage.Tx) error {
				for _, kv := range [][2]string{{"s/a", "2"}, {"s/b", "2"}, {"s/c", "2"}} {
					if err := tx.Put(b(kv[0]), b(kv[1])); err != nil {
						return err
					}
				}
				return tx.Delete(b("s/a"))
			})
		}()
		err, ok := recvWithin(updated, writerWait)
		if !ok {
			blocked = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("concurrent Update: %w", err)
		}
		if v, err := tx.Get(b("s/a")); err != nil || string(v) != "1" {
			return fmt.Errorf("after a concurrent commit, Get s/a = %q, %v; want 1", v, err)
		}
		if v, err := tx.Get(b("s/b")); err != nil || string(v) != "1" {
			return fmt.Errorf("after a concurrent commit, Get s/b = %q, %v; want 1", v, err)
		}
		if v, err := tx.Get(b("s/c")); !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("after a concurrent commit, Get s/c = %q, %v; want ErrNotFound", v, err)
		}
		kvs, more, err := tx.List(b("s/"), nil, 0)
		if err != nil {
			return err
		}
		want := []storage.KV{{Key: b("s/a"), Value: b("1")}, {Key: b("s/b"), Value: b("1")}}
		if !equalKVs(kvs, want) || more {
			return fmt.Errorf("after a concurrent commit, List = %s, more %v; want %s", fmtKVs(kvs), more, fmtKVs(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if blocked {
		err, ok := recvWithin(updated, testTimeout)
		if !ok {
			t.Fatal("Update still blocked after the View ended")
		}
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	wantMissing(t, ctx, s, "s/a")
	wantValue(t, ctx, s, "s/b", "2")
	wantValue(t, ctx, s, "s/c", "2")
	if blocked {
		t.Skip("the backend held the Update until the open View ended; snapshot isolation against a concurrent commit not checked")
	}
}

// --- returned slices ---------------------------------------------------------

func (o opener) testSlicesOwned(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "k", "value", "l/1", "one", "l/2", "two")
	var kept []byte
	var keptKVs []storage.KV
	err := s.View(ctx, func(tx storage.Tx) error {
		v, err := tx.Get(b("k"))
		if err != nil {
			return err
		}
		copy(v, "XXXXX")
		if kept, err = tx.Get(b("k")); err != nil || string(kept) != "value" {
			return fmt.Errorf("Get after modifying an earlier result = %q, %v; want value", kept, err)
		}
		kvs, _, err := tx.List(b("l/"), nil, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			copy(kv.Key, "XXX")
			copy(kv.Value, "XXX")
		}
		keptKVs, _, err = tx.List(b("l/"), nil, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.KV{{Key: b("l/1"), Value: b("one")}, {Key: b("l/2"), Value: b("two")}}
	if !equalKVs(keptKVs, want) {
		t.Fatalf("List after modifying an earlier result = %s, want %s", fmtKVs(keptKVs), fmtKVs(want))
	}

	// Churn the store so that a backend handing out its own memory would
	// have reused or unmapped it by now.
	filler := bytes.Repeat(b("f"), 1024)
	for round := range 4 {
		err := s.Update(ctx, func(tx storage.Tx) error {
			for i := range 256 {
				if err := tx.Put(fmt.Appendf(nil, "fill/%d/%03d", round, i), filler); err != nil {
					return err
				}
			}
			if err := tx.Put(b("k"), bytes.Repeat(b("k"), 100)); err != nil {
				return err
			}
			return tx.Delete(b("l/1"))
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		del(t, ctx, s, "fill/"+strconv.Itoa(round)+"/000")
	}
	if string(kept) != "value" {
		t.Errorf("Get result changed after the transaction: %q", kept)
	}
	if !equalKVs(keptKVs, want) {
		t.Errorf("List result changed after the transaction: %s", fmtKVs(keptKVs))
	}

	// In an Update, too: modifying what Get returned changes nothing.
	err = s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(b("u"), b("written")); err != nil {
			return err
		}
		v, err := tx.Get(b("u"))
		if err != nil {
			return err
		}
		copy(v, "XXXXXXX")
		kvs, _, err := tx.List(b("u"), nil, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			copy(kv.Value, "YYYYYYY")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, ctx, s, "u", "written")
}

// --- List ------------------------------------------------------------------

func (o opener) testListPrefixIsolation(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "a/1", "x", "a/2", "y", "ab/1", "z", "a", "no", "a.", "no", "a0", "no", "b/1", "no")
	kvs, more := list(t, ctx, s, b("a/"), nil, 0)
	want := []storage.KV{{Key: b("a/1"), Value: b("x")}, {Key: b("a/2"), Value: b("y")}}
	if !equalKVs(kvs, want) || more {
		t.Fatalf("List(a/) = %s, more %v; want %s", fmtKVs(kvs), more, fmtKVs(want))
	}
	kvs, _ = list(t, ctx, s, b("ab/"), nil, 0)
	if got := keysOf(kvs); !slices.Equal(got, []string{"ab/1"}) {
		t.Fatalf("List(ab/) = %q, want [ab/1]", got)
	}
	kvs, _ = list(t, ctx, s, b("c/"), nil, 0)
	if len(kvs) != 0 {
		t.Fatalf("List(c/) = %q, want none", keysOf(kvs))
	}
	kvs, more = list(t, ctx, s, b("a/"), nil, 2)
	if !equalKVs(kvs, want) || more {
		t.Fatalf("List(a/, limit 2) = %s, more %v; want %s and no more (ab/1 is not under a/)", fmtKVs(kvs), more, fmtKVs(want))
	}
}

func (o opener) testListNilPrefix(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "z", "1", "a", "1", "m/1", "1")
	for _, prefix := range [][]byte{nil, {}} {
		kvs, more := list(t, ctx, s, prefix, nil, 0)
		if got := keysOf(kvs); !slices.Equal(got, []string{"a", "m/1", "z"}) || more {
			t.Errorf("List(%#v) = %q, more %v; want [a m/1 z]", prefix, got, more)
		}
	}
}

func (o opener) testListOrder(t *testing.T) {
	s, ctx := o.store(t)
	keys := []string{"o/b", "o/a", "o/10", "o/9", "o/B", "o/a/b", "o/a/", "o/", "o/aa", "o/\u00e9", "o/~"}
	// One key per Update, in this unsorted order.
	for _, k := range keys {
		put(t, ctx, s, k, "v")
	}
	kvs, _ := list(t, ctx, s, b("o/"), nil, 0)
	want := slices.Clone(keys)
	slices.Sort(want) // byte-wise, as the store orders keys
	if got := keysOf(kvs); !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

func (o opener) testListAfter(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "q/z", "-", "r/b", "b", "r/d", "d", "r/f", "f", "rr", "-", "s/a", "-")
	for _, tc := range []struct {
		after string
		want  []string
	}{
		{"r/b", []string{"r/d", "r/f"}},          // an existing key is excluded
		{"r/c", []string{"r/d", "r/f"}},          // a missing key between two
		{"r/d", []string{"r/f"}},                 //
		{"r/b\x00", []string{"r/d", "r/f"}},      // just after r/b
		{"r/", []string{"r/b", "r/d", "r/f"}},    // the prefix itself
		{"a", []string{"r/b", "r/d", "r/f"}},     // before the prefix
		{"q/zzz", []string{"r/b", "r/d", "r/f"}}, // before the prefix, after other keys
		{"r/f", nil},                             // the last key
		{"r/zz", nil},                            // after the last key, still under the prefix
		{"s", nil},                               // past the prefix
	} {
		kvs, more := list(t, ctx, s, b("r/"), b(tc.after), 0)
		if got := keysOf(kvs); !slices.Equal(got, tc.want) || more {
			t.Errorf("List(r/, after %q) = %q, more %v; want %q", tc.after, got, more, tc.want)
		}
	}
}

func (o opener) testListLimitAndMore(t *testing.T) {
	s, ctx := o.store(t)
	var pairs []string
	for i := range 10 {
		pairs = append(pairs, "l/"+strconv.Itoa(i), "v"+strconv.Itoa(i))
	}
	// Keys right after the prefix range must not count as "more".
	pairs = append(pairs, "l0", "-", "l\xff", "-", "m", "-")
	put(t, ctx, s, pairs...)
	keys := func(from, n int) []string {
		var ks []string
		for i := from; i < from+n; i++ {
			ks = append(ks, "l/"+strconv.Itoa(i))
		}
		return ks
	}
	for _, tc := range []struct {
		after     string // "" for nil
		limit     int
		wantFirst int
		wantN     int
		wantMore  bool
	}{
		{"", 0, 0, 10, false},   // no limit
		{"", -1, 0, 10, false},  // negative: no limit
		{"", 10, 0, 10, false},  // limit == remaining
		{"", 9, 0, 9, true},     // limit == remaining-1
		{"", 11, 0, 10, false},  // limit > remaining
		{"", 1, 0, 1, true},     //
		{"l/4", 5, 5, 5, false}, // limit == remaining after after
		{"l/4", 4, 5, 4, true},  // limit == remaining-1 after after
		{"l/4", 0, 5, 5, false}, //
		{"l/8", 1, 9, 1, false}, // the last one
		{"l/9", 0, 0, 0, false}, // none remain
		{"l/9", 1, 0, 0, false}, //
	} {
		var after []byte
		if tc.after != "" {
			after = b(tc.after)
		}
		kvs, more := list(t, ctx, s, b("l/"), after, tc.limit)
		want := keys(tc.wantFirst, tc.wantN)
		if got := keysOf(kvs); !slices.Equal(got, want) || more != tc.wantMore {
			t.Errorf("List(l/, after %q, limit %d) = %q, more %v; want %q, more %v",
				tc.after, tc.limit, got, more, want, tc.wantMore)
		}
		for _, kv := range kvs {
			if want := "v" + string(kv.Key[2:]); string(kv.Value) != want {
				t.Errorf("List value of %q = %q, want %q", kv.Key, kv.Value, want)
			}
		}
	}
}

func (o opener) testListPaging(t *testing.T) {
	s, ctx := o.store(t)
	const n, page = 1000, 7
	err := s.Update(ctx, func(tx storage.Tx) error {
		// Neighbours outside the prefix on both sides.
		for _, k := range []string{"p", "p.", "p0", "q"} {
			if err := tx.Put(b(k), b("-")); err != nil {
				return err
			}
		}
		// Written in an order unlike key order.
		for i := range n {
			j := (i * 7919) % n
			if err := tx.Put(fmt.Appendf(nil, "p/%04d", j), strconv.AppendInt(nil, int64(j), 10)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	seen := make(map[string]int)
	var after []byte
	pages := 0
	for ; pages <= n/page+1; pages++ { // bounded even if more never turns false
		kvs, more := list(t, ctx, s, b("p/"), after, page)
		if more && len(kvs) != page {
			t.Fatalf("page %d: %d pairs with more, want %d", pages, len(kvs), page)
		}
		for _, kv := range kvs {
			if after != nil && bytes.Compare(kv.Key, after) <= 0 {
				t.Fatalf("page %d: key %q not after %q", pages, kv.Key, after)
			}
			seen[string(kv.Key)]++
			after = kv.Key
			var j int
			if _, err := fmt.Sscanf(string(kv.Key), "p/%04d", &j); err != nil || string(kv.Value) != strconv.Itoa(j) {
				t.Fatalf("pair %q=%q does not match", kv.Key, kv.Value)
			}
		}
		if !more {
			pages++
			break
		}
		if len(kvs) == 0 {
			t.Fatalf("page %d: empty page with more", pages)
		}
	}
	if want := (n + page - 1) / page; pages != want {
		t.Errorf("%d pages, want %d", pages, want)
	}
	if len(seen) != n {
		t.Errorf("visited %d distinct keys, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("key %q visited %d times", k, c)
		}
	}
}

func (o opener) testListBinary(t *testing.T) {
	s, ctx := o.store(t)
	keys := [][]byte{
		{0x00}, {0x00, 0x00}, {0x00, 0xff}, {0x01},
		{'a'}, {'a', 0x00}, {'a', 0x00, 0x00}, {'a', 0xff},
		{0xfe, 0xff}, {0xff}, {0xff, 0x00}, {0xff, 0xff}, {0xff, 0xff, 0xff},
	}
	value := func(k []byte) []byte { return append([]byte{0x00, 0xff}, append(k, 0xff, 0x00)...) }
	err := s.Update(ctx, func(tx storage.Tx) error {
		for i := len(keys) - 1; i >= 0; i-- {
			if err := tx.Put(keys[i], value(keys[i])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, k := range keys {
		if v, ok := get(t, ctx, s, k); !ok || !bytes.Equal(v, value(k)) {
			t.Errorf("Get %x = %x, found %v; want %x", k, v, ok, value(k))
		}
	}
	under := func(prefix, after []byte) [][]byte {
		var ks [][]byte
		for _, k := range keys {
			if bytes.HasPrefix(k, prefix) && (after == nil || bytes.Compare(k, after) > 0) {
				ks = append(ks, k)
			}
		}
		return ks
	}
	for _, tc := range []struct{ prefix, after []byte }{
		{nil, nil},
		{[]byte{0x00}, nil},
		{[]byte{0x00}, []byte{0x00}},
		{[]byte{0x00, 0x00}, nil},
		{[]byte{'a'}, nil},
		{[]byte{'a', 0x00}, nil},
		{[]byte{'a'}, []byte{'a', 0x00}},
		{[]byte{0xff}, nil},
		{[]byte{0xff}, []byte{0xff, 0x00}},
		{[]byte{0xff, 0xff}, nil},
		{[]byte{0xff, 0xff}, []byte{0xff, 0xff}},
		{[]byte{0xff, 0xff, 0xff}, []byte{0xff, 0xff, 0xff}},
	} {
		kvs, more := list(t, ctx, s, tc.prefix, tc.after, 0)
		want := under(tc.prefix, tc.after)
		ok := len(kvs) == len(want) && !more
		for i := 0; ok && i < len(kvs); i++ {
			ok = bytes.Equal(kvs[i].Key, want[i]) && bytes.Equal(kvs[i].Value, value(want[i]))
		}
		if !ok {
			t.Errorf("List(%x, after %x) = %s, more %v; want keys %x", tc.prefix, tc.after, fmtKVs(kvs), more, want)
		}
		// Page by one, too: more must be exact at every step.
		var after = tc.after
		for i := range want {
			kvs, more := list(t, ctx, s, tc.prefix, after, 1)
			if len(kvs) != 1 || !bytes.Equal(kvs[0].Key, want[i]) || more != (i < len(want)-1) {
				t.Errorf("List(%x, after %x, limit 1) = %s, more %v; want %x, more %v",
					tc.prefix, after, fmtKVs(kvs), more, want[i], i < len(want)-1)
				break
			}
			after = kvs[0].Key
		}
	}
}

// --- concurrency ------------------------------------------------------------

func (o opener) testConcurrentIncrements(t *testing.T) {
	s, ctx := o.store(t)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.Update(ctx, func(tx storage.Tx) error {
					n := 0
					v, err := tx.Get(b("counter"))
					switch {
					case errors.Is(err, storage.ErrNotFound):
					case err != nil:
						return err
					default:
						if n, err = strconv.Atoi(string(v)); err != nil {
							return err
						}
					}
					return tx.Put(b("counter"), strconv.AppendInt(nil, int64(n+1), 10))
				})
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantValue(t, ctx, s, "counter", strconv.Itoa(workers*each))
}

// testConcurrentReaders runs Views while an Update keeps changing two keys
// together; no View may see them apart.
func (o opener) testConcurrentReaders(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "x", "0", "y", "0")
	const commits, readers = 100, 4
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := 1; i <= commits; i++ {
			v := b(strconv.Itoa(i))
			err := s.Update(ctx, func(tx storage.Tx) error {
				if err := tx.Put(b("x"), v); err != nil {
					return err
				}
				return tx.Put(b("y"), v)
			})
			if err != nil {
				t.Errorf("Update: %v", err)
				return
			}
		}
	})
	for range readers {
		wg.Go(func() {
			for views := 0; ; views++ {
				select {
				case <-done:
					return
				default:
				}
				err := s.View(ctx, func(tx storage.Tx) error {
					x, err := tx.Get(b("x"))
					if err != nil {
						return err
					}
					y, err := tx.Get(b("y"))
					if err != nil {
						return err
					}
					if !bytes.Equal(x, y) {
						return fmt.Errorf("View saw x=%s, y=%s: half a commit", x, y)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantValue(t, ctx, s, "x", strconv.Itoa(commits))
}

// --- Watch -------------------------------------------------------------------

func (o opener) testWatchOrder(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "w/pre", "existing")
	ch := watch(t, ctx, s, b("w/"))
	put(t, ctx, s, "w/a", "1")
	put(t, ctx, s, "w/b", "2")
	del(t, ctx, s, "w/a")
	put(t, ctx, s, "w/a", "3")
	del(t, ctx, s, "w/pre")
	put(t, ctx, s, "w/b", "4")
	put(t, ctx, s, "w/e", "") // an empty value is a put, not a delete
	del(t, ctx, s, "w/b")
	wantPut(t, next(t, ch), "w/a", "1")
	wantPut(t, next(t, ch), "w/b", "2")
	wantDelete(t, next(t, ch), "w/a")
	wantPut(t, next(t, ch), "w/a", "3")
	wantDelete(t, next(t, ch), "w/pre")
	wantPut(t, next(t, ch), "w/b", "4")
	wantPut(t, next(t, ch), "w/e", "")
	wantDelete(t, next(t, ch), "w/b")
}

func (o opener) testWatchPrefix(t *testing.T) {
	s, ctx := o.store(t)
	ch := watch(t, ctx, s, b("w/"))
	put(t, ctx, s, "w", "no", "w0", "no", "x/1", "no", "v/w/1", "no", "W/1", "no")
	put(t, ctx, s, "w.", "no", "w/in", "yes", "x/2", "no")
	del(t, ctx, s, "w", "x/1")
	put(t, ctx, s, "w/end", "sentinel")
	wantPut(t, next(t, ch), "w/in", "yes")
	wantPut(t, next(t, ch), "w/end", "sentinel")
}

func (o opener) testWatchNilPrefix(t *testing.T) {
	s, ctx := o.store(t)
	ch := watch(t, ctx, s, nil)
	put(t, ctx, s, "a", "1")
	put(t, ctx, s, "\x00", "2")
	put(t, ctx, s, "\xff\xff", "3")
	del(t, ctx, s, "a")
	wantPut(t, next(t, ch), "a", "1")
	wantPut(t, next(t, ch), "\x00", "2")
	wantPut(t, next(t, ch), "\xff\xff", "3")
	wantDelete(t, next(t, ch), "a")
}

func (o opener) testWatchRollback(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "w/existing", "v")
	ch := watch(t, ctx, s, b("w/"))
	errAbort := errors.New("abort")
	err := s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(b("w/a"), b("rolled back")); err != nil {
			return err
		}
		if err := tx.Delete(b("w/existing")); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update = %v, want %v", err, errAbort)
	}
	err = s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(b("w/b"), b("rolled back")); err != nil {
			return err
		}
		return tx.Put(nil, b("refused"))
	})
	if err == nil {
		t.Fatal("Update returning a refused Put's error = nil")
	}
	put(t, ctx, s, "w/end", "sentinel")
	wantPut(t, next(t, ch), "w/end", "sentinel")
}

func (o opener) testWatchDeleteMissing(t *testing.T) {
	s, ctx := o.store(t)
	ch := watch(t, ctx, s, b("w/"))
	del(t, ctx, s, "w/never")
	err := s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(b("w/brief"), b("v")); err != nil {
			return err
		}
		return tx.Delete(b("w/brief"))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	put(t, ctx, s, "w/end", "sentinel")
	wantPut(t, next(t, ch), "w/end", "sentinel")
}

// testWatchOneUpdate checks a commit that changes several keys, one of them
// twice: every key is reported and its last event is its final state. The
// order of events within one commit is not part of the contract.
func (o opener) testWatchOneUpdate(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "w/old", "v", "w/keep", "v")
	ch := watch(t, ctx, s, b("w/"))
	err := s.Update(ctx, func(tx storage.Tx) error {
		for _, kv := range [][2]string{{"w/1", "a"}, {"w/2", "b"}, {"w/2", "c"}, {"w/3", "d"}, {"x/1", "no"}} {
			if err := tx.Put(b(kv[0]), b(kv[1])); err != nil {
				return err
			}
		}
		return tx.Delete(b("w/old"))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	put(t, ctx, s, "w/end", "sentinel")
	evs := untilSentinel(t, ch, "w/end")
	final := make(map[string]storage.Event)
	for _, ev := range evs[:len(evs)-1] {
		final[string(ev.Key)] = ev
	}
	if len(final) != 4 {
		var got []string
		for _, ev := range evs {
			got = append(got, fmtEvent(ev))
		}
		t.Fatalf("events %q, want changes to w/1, w/2, w/3 and w/old", got)
	}
	wantPut(t, final["w/1"], "w/1", "a")
	wantPut(t, final["w/2"], "w/2", "c")
	wantPut(t, final["w/3"], "w/3", "d")
	wantDelete(t, final["w/old"], "w/old")
}

func (o opener) testWatchSeveral(t *testing.T) {
	s, ctx := o.store(t)
	all1 := watch(t, ctx, s, b("w/"))
	all2 := watch(t, ctx, s, b("w/"))
	sub := watch(t, ctx, s, b("w/x/"))
	put(t, ctx, s, "w/a", "1")
	put(t, ctx, s, "w/x/b", "2")
	put(t, ctx, s, "w/x/end", "sentinel")

	ev := next(t, all1)
	wantPut(t, ev, "w/a", "1")
	copy(ev.Key, "XXX") // the receiver owns the slices
	copy(ev.Value, "X")
	wantPut(t, next(t, all1), "w/x/b", "2")
	wantPut(t, next(t, all1), "w/x/end", "sentinel")

	wantPut(t, next(t, all2), "w/a", "1")
	wantPut(t, next(t, all2), "w/x/b", "2")
	wantPut(t, next(t, all2), "w/x/end", "sentinel")

	wantPut(t, next(t, sub), "w/x/b", "2")
	wantPut(t, next(t, sub), "w/x/end", "sentinel")
	wantValue(t, ctx, s, "w/a", "1")
}

func (o opener) testWatchCancel(t *testing.T) {
	s, ctx := o.store(t)
	wctx, cancel := context.WithCancel(ctx)
	ch := watch(t, wctx, s, b("w/"))
	other := watch(t, ctx, s, b("w/"))
	put(t, ctx, s, "w/a", "1")
	wantPut(t, next(t, ch), "w/a", "1")
	cancel()
	waitClosed(t, ch)
	// Writers and other watchers carry on.
	put(t, ctx, s, "w/b", "2")
	wantPut(t, next(t, other), "w/a", "1")
	wantPut(t, next(t, other), "w/b", "2")
}

func (o opener) testWatchStoreClose(t *testing.T) {
	s, ctx := o.store(t)
	ch := watch(t, ctx, s, b("w/"))
	put(t, ctx, s, "w/a", "1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitClosed(t, ch)
}

// --- Close ---------------------------------------------------------------------

func (o opener) testClosedCalls(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ran := false
	if err := s.View(ctx, func(storage.Tx) error { ran = true; return nil }); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("View after Close = %v, want ErrClosed", err)
	}
	if err := s.Update(ctx, func(storage.Tx) error { ran = true; return nil }); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if ran {
		t.Error("fn ran on a closed store")
	}
	if ch, err := s.Watch(ctx, b("k")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Watch after Close = %v, %v; want ErrClosed", ch, err)
	}
	if err := s.Close(); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

// testCloseWaitsForUpdate closes the store while an Update's fn runs: the
// Update must still commit, and Close return only after it.
func (o opener) testCloseWaitsForUpdate(t *testing.T) {
	s, ctx := o.store(t)
	entered, release := make(chan struct{}), make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(ctx, func(tx storage.Tx) error {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			return tx.Put(b("k"), b("v"))
		})
	}()
	if _, ok := recvWithin(entered, testTimeout); !ok {
		t.Fatal("Update's fn did not start")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	if err, ok := recvWithin(closed, stillBlocked); ok {
		close(release)
		t.Fatalf("Close returned (%v) while an Update was in flight", err)
	}
	close(release)
	if err, ok := recvWithin(updated, testTimeout); !ok || err != nil {
		t.Fatalf("in-flight Update = %v (returned: %v), want nil", err, ok)
	}
	if err, ok := recvWithin(closed, testTimeout); !ok || err != nil {
		t.Fatalf("Close = %v (returned: %v), want nil", err, ok)
	}
}

func (o opener) testCloseWaitsForView(t *testing.T) {
	s, ctx := o.store(t)
	put(t, ctx, s, "k", "v")
	entered, release := make(chan struct{}), make(chan struct{})
	viewed := make(chan error, 1)
	go func() {
		viewed <- s.View(ctx, func(tx storage.Tx) error {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			v, err := tx.Get(b("k"))
			if err != nil || string(v) != "v" {
				return fmt.Errorf("Get in a View during Close = %q, %v; want v", v, err)
			}
			return nil
		})
	}()
	if _, ok := recvWithin(entered, testTimeout); !ok {
		t.Fatal("View's fn did not start")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	if err, ok := recvWithin(closed, stillBlocked); ok {
		close(release)
		t.Fatalf("Close returned (%v) while a View was in flight", err)
	}
	close(release)
	if err, ok := recvWithin(viewed, testTimeout); !ok || err != nil {
		t.Fatalf("in-flight View = %v (returned: %v), want nil", err, ok)
	}
	if err, ok := recvWithin(closed, testTimeout); !ok || err != nil {
		t.Fatalf("Close = %v (returned: %v), want nil", err, ok)
	}
}

// --- comparing pairs ---------------------------------------------------------

func equalKVs(a, b []storage.KV) bool {
	return slices.EqualFunc(a, b, func(x, y storage.KV) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value)
	})
}

func fmtKVs(kvs []storage.KV) string {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, kv := range kvs {
		if i > 0 {
			buf.WriteByte(' ')
		}
		fmt.Fprintf(&buf, "%q=%q", kv.Key, kv.Value)
	}
	buf.WriteByte(']')
	return buf.String()
}
