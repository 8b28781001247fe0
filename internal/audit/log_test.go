package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
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
