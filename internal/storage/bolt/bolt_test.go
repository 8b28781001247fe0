package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openTemp(t)
	})
}

// openTemp opens a new store in a temporary directory and closes it when
// the test ends.
func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "kagi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, ctx context.Context, s storage.Store, key, value string) {
	t.Helper()
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Put([]byte(key), []byte(value)) }); err != nil {
		t.Fatalf("Update put %q: %v", key, err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "kagi.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	put(t, ctx, s, "k", "v")
	put(t, ctx, s, "\x00bin\xff", "\xff\x00")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	err = s.View(ctx, func(tx storage.Tx) error {
		for k, want := range map[string]string{"k": "v", "\x00bin\xff": "\xff\x00"} {
			v, err := tx.Get([]byte(k))
			if err != nil || string(v) != want {
				return fmt.Errorf("Get %q after reopen = %q, %v; want %q", k, v, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenFailsWhileLocked(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := openTemp(t)
	put(t, ctx, s, "k", "v")

	start := time.Now()
	s2, err := Open(s.Path())
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a store in use succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Open = %v, want an error wrapping ErrLocked", err)
	}
	if want := "open bolt store " + s.Path() + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	if elapsed > openTimeout+2*time.Second {
		t.Errorf("second Open took %s, want about %s", elapsed, openTimeout)
	}
	// The failed attempt must not have released the first store's lock
	// or disturbed it.
	put(t, ctx, s, "k2", "v2")
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode = %v, want -rw-------", fi.Mode())
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notBolt := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notBolt, []byte(strings.Repeat("not a bolt file ", 1024)), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"MissingDir": filepath.Join(dir, "no", "such", "dir", "kagi.db"),
		"Directory":  dir,
		"NotBolt":    notBolt,
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", path)
			}
			if want := "open bolt store " + path + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
}

// TestWatchOverflow checks that a watcher that does not read loses its
// watch instead of blocking writers, and that others are unaffected.
func TestWatchOverflow(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := openTemp(t)
	slow, err := s.Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := s.Watch(ctx, []byte("f/"))
	if err != nil {
		t.Fatal(err)
	}
	// One commit larger than the buffer: must not block.
	err = s.Update(ctx, func(tx storage.Tx) error {
		for i := range watchBuffer + 10 {
			if err := tx.Put(fmt.Appendf(nil, "k/%05d", i), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, ctx, s, "f/1", "after")

	n := 0
	for range slow {
		n++
	}
	if ctx.Err() != nil {
		t.Fatal("the slow watcher's channel closed only when its context ended")
	}
	if n > watchBuffer {
		t.Errorf("lost watch delivered %d events, buffer is %d", n, watchBuffer)
	}
	select {
	case ev := <-fast:
		if string(ev.Key) != "f/1" {
			t.Errorf("other watcher got %q, want f/1", ev.Key)
		}
	case <-ctx.Done():
		t.Fatal("other watcher got nothing")
	}
	// The store still works and still accepts watchers.
	again, err := s.Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	put(t, ctx, s, "f/2", "v")
	select {
	case ev := <-again:
		if string(ev.Key) != "f/2" {
			t.Errorf("new watcher got %q, want f/2", ev.Key)
		}
	case <-ctx.Done():
		t.Fatal("new watcher got nothing")
	}
}

// TestWatchCollapsesPerCommit checks the bolt-specific order within one
// commit: one event per key, its final state, in the order of the key's
// last write.
func TestWatchCollapsesPerCommit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := openTemp(t)
	put(t, ctx, s, "old", "v")
	ch, err := s.Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx storage.Tx) error {
		ops := []struct {
			key, value string
			del        bool
		}{
			{key: "a", value: "1"},
			{key: "b", value: "1"},
			{key: "a", value: "2"},
			{key: "old", del: true},
			{key: "c", value: "1"},
			{key: "c", del: true}, // never existed: no event
			{key: "old", value: "back"},
			{key: "b", value: "2"},
		}
		for _, op := range ops {
			var err error
			if op.del {
				err = tx.Delete([]byte(op.key))
			} else {
				err = tx.Put([]byte(op.key), []byte(op.value))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, ctx, s, "end", "")
	var got []string
	for ev := range ch {
		got = append(got, fmt.Sprintf("%s=%s/%v", ev.Key, ev.Value, ev.Delete))
		if string(ev.Key) == "end" {
			break
		}
	}
	want := []string{"a=2/false", "old=back/false", "b=2/false", "end=/false"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestTxUnusableAfterFn(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := openTemp(t)
	put(t, ctx, s, "k", "v")
	var leaked storage.Tx
	if err := s.View(ctx, func(tx storage.Tx) error { leaked = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := leaked.Get([]byte("k")); !errors.Is(err, errTxDone) {
		t.Errorf("Get on a finished View = %v, want errTxDone", err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { leaked = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := leaked.Put([]byte("k"), []byte("x")); !errors.Is(err, errTxDone) {
		t.Errorf("Put on a finished Update = %v, want errTxDone", err)
	}
	if _, _, err := leaked.List(nil, nil, 0); !errors.Is(err, errTxDone) {
		t.Errorf("List on a finished Update = %v, want errTxDone", err)
	}
}

func BenchmarkUpdate(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	value := make([]byte, 64)
	i := 0
	for b.Loop() {
		key := strconv.AppendInt([]byte("bench/"), int64(i), 10)
		i++
		if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Put(key, value) }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const n = 10_000
	err := s.Update(ctx, func(tx storage.Tx) error {
		for i := range n {
			if err := tx.Put(fmt.Appendf(nil, "bench/%05d", i), make([]byte, 64)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		key := fmt.Appendf(nil, "bench/%05d", (i*7919)%n)
		i++
		err := s.View(ctx, func(tx storage.Tx) error {
			_, err := tx.Get(key)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestCompact: compacting an open store leaves in its file every live pair
// and none of the bytes of a value that was overwritten or deleted, whether
// or not the file held them in a free page before; transactions that run
// meanwhile wait and succeed, and a watch keeps reporting.
func TestCompact(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "kagi.db")
	s, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gone := strings.Repeat("erased-material-", 64)
	for i := 0; i < 200; i++ {
		put(t, ctx, s, fmt.Sprintf("k/%03d", i), strings.Repeat("v", 100))
	}
	put(t, ctx, s, "k/doomed", gone)
	put(t, ctx, s, "k/changed", gone+"1")
	put(t, ctx, s, "k/changed", "new value")
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Delete([]byte("k/doomed")) }); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(src)
	t.Logf("before Compact the %d-byte file holds the erased bytes: %v", len(raw), bytes.Contains(raw, []byte(gone)))
	events, err := s.Watch(ctx, []byte("w/"))
	if err != nil {
		t.Fatal(err)
	}
	// Readers and a writer run while Compact replaces the file.
	stop := make(chan struct{})
	errs := make(chan error, 3)
	for r := range 3 {
		go func() {
			var err error
			for i := 0; err == nil; i++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				if r == 0 {
					err = s.Update(ctx, func(tx storage.Tx) error { return tx.Put(fmt.Appendf(nil, "x/%d", i%10), []byte("x")) })
				} else {
					err = s.View(ctx, func(tx storage.Tx) error {
						v, err := tx.Get([]byte("k/changed"))
						if err == nil && string(v) != "new value" {
							err = fmt.Errorf("k/changed = %q", v)
						}
						return err
					})
				}
			}
			errs <- err
		}()
	}
	before, after, err := s.Compact(ctx)
	close(stop)
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("a transaction beside Compact: %v", err)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compacted: %d bytes, was %d", after, before)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("erased-material-")) {
		t.Error("the compacted file holds bytes of an erased value")
	}
	if _, err := os.Stat(src + compactSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy is left beside the store: %v", err)
	}
	err = s.View(ctx, func(tx storage.Tx) error {
		kvs, _, err := tx.List([]byte("k/"), nil, 0)
		if len(kvs) != 201 {
			t.Errorf("the compacted store has %d pairs, want 201", len(kvs))
		}
		if v, _ := tx.Get([]byte("k/changed")); string(v) != "new value" {
			t.Errorf("k/changed = %q", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, ctx, s, "w/after", "1")
	select {
	case ev, ok := <-events:
		if !ok || string(ev.Key) != "w/after" {
			t.Errorf("watch after Compact: %q, open %v", ev.Key, ok)
		}
	case <-time.After(5 * time.Second):
		t.Error("the watch reported nothing after Compact")
	}
	// The compacted file is durable: it opens again with the writes made
	// after Compact.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Compact(ctx); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Compact of a closed store: %v", err)
	}
	c, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.View(ctx, func(tx storage.Tx) error {
		_, err := tx.Get([]byte("w/after"))
		return err
	}); err != nil {
		t.Errorf("w/after after reopening: %v", err)
	}
}

// TestOpenRemovesUnfinishedCompaction: the copy an interrupted Compact
// leaves beside the store is removed when the store opens.
func TestOpenRemovesUnfinishedCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kagi.db")
	if err := os.WriteFile(path+compactSuffix, []byte("half a copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path + compactSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unfinished copy is still there: %v", err)
	}
}
