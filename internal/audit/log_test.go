package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestAppendRead: records come back in order, whole, after a reopen;
// concurrent appends lose none; a closed log refuses records.
func TestAppendRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if err := l.Append(ctx, fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := l.Append(ctx, []byte("{\n}")); err == nil {
		t.Error("a record with a newline was accepted")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	l, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, []byte(`{"last":true}`)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	var got []string
	if err := Read(dir, func(r []byte) error { got = append(got, string(r)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 101 || got[100] != `{"last":true}` {
		t.Fatalf("read %d records, last %q", len(got), got[len(got)-1])
	}
	seen := map[string]bool{}
	for _, r := range got {
		seen[r] = true
	}
	if len(seen) != 101 {
		t.Errorf("%d distinct records, want 101", len(seen))
	}
}

// TestGroupCommit: concurrent Appends lose nothing, share fsyncs, and each
// appender's records keep its order in the chain; a Close in the middle
// of them loses no acknowledged record.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := newKey(t)
	dir := filepath.Join(t.TempDir(), "audit")
	l, err := OpenWith(dir, Options{Signer: key, SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	const G, N = 16, 150
	var wg sync.WaitGroup
	var acked sync.Map
	for g := range G {
		wg.Go(func() {
			for i := range N {
				r := fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)
				err := l.Append(ctx, r)
				switch {
				case err == nil:
					acked.Store(string(r), true)
				case errors.Is(err, ErrClosed):
					return
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	// Close while the appenders run, once most have written something.
	for l.Stats().Records < G*N/2 {
		time.Sleep(time.Millisecond)
	}
	st := l.Stats()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if st.Fsyncs >= st.Records {
		t.Errorf("%d fsyncs for %d records: no group commit", st.Fsyncs, st.Records)
	}
	t.Logf("at half time: %d records, %d fsyncs", st.Records, st.Fsyncs)
	last := make([]int, G)
	for g := range last {
		last[g] = -1
	}
	n := 0
	for _, r := range readAll(t, dir) {
		var v struct{ G, I int }
		if err := json.Unmarshal([]byte(r), &v); err != nil {
			t.Fatal(err)
		}
		if v.I != last[v.G]+1 {
			t.Fatalf("appender %d: record %d after %d", v.G, v.I, last[v.G])
		}
		last[v.G] = v.I
		acked.Delete(r)
		n++
	}
	acked.Range(func(k, _ any) bool { t.Errorf("acknowledged but not in the log: %s", k); return true })
	if r := mustVerify(t, dir, key.Public()); !r.OK() || r.Records != n || r.Tail != 0 {
		t.Fatalf("verify: %+v", r)
	}
}

// TestRelaxed: with SyncInterval, records are written at once and fsynced
// on the interval, and all are there after Close.
func TestRelaxed(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	dir := filepath.Join(t.TempDir(), "audit")
	l, err := OpenWith(dir, Options{Signer: key, SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	before := l.Stats().Fsyncs
	appendN(t, l, 0, 50)
	if got := l.Stats(); got.Fsyncs != before || got.Records != 50 {
		t.Errorf("relaxed mode fsynced per append: %+v", got)
	}
	if n := len(readAll(t, dir)); n != 50 {
		t.Errorf("read %d records before any fsync, want 50 (written to the OS)", n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if r := mustVerify(t, dir, key.Public()); !r.OK() || r.Records != 50 || r.Covered != 50 {
		t.Fatalf("verify: %+v", r)
	}
}

// TestDigestInterval: digests come on the interval, only when there is
// something new, and each new segment names the digest before it.
func TestDigestInterval(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	dir := filepath.Join(t.TempDir(), "audit")
	l, err := OpenWith(dir, Options{Signer: key, DigestInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendN(t, l, 0, 3)
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Digests == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several idle intervals
	if d := l.Stats().Digests; d != 1 {
		t.Fatalf("%d digests after one busy and several idle intervals, want 1", d)
	}
	appendN(t, l, 3, 2)
	r := mustVerify(t, dir, key.Public())
	// The next interval may have come meanwhile and covered them.
	if !r.OK() || r.Records != 5 || r.Covered < 3 || r.Digests < 1 {
		t.Fatalf("verify: %+v", r)
	}
}

// TestAppendRejects: what is not one JSON object on one line is refused.
func TestAppendRejects(t *testing.T) {
	t.Parallel()
	l, err := OpenWith(filepath.Join(t.TempDir(), "audit"), Options{Signer: newKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, r := range []string{"", "  ", "[]", "1", `"x"`, "{", `{"a":1}x`, "{\n}", `{"a":1} {}`} {
		if err := l.Append(context.Background(), []byte(r)); err == nil {
			t.Errorf("Append(%q) accepted", r)
		}
	}
	if err := l.Append(context.Background(), []byte(" {\"a\": 1} ")); err != nil {
		t.Errorf("Append with spaces around: %v", err)
	}
}
