package bolt_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// TestDigest: the digest covers every key and value, and tells apart
// stores whose concatenated bytes are the same.
func TestDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	digestOf := func(pairs ...string) ([32]byte, int) {
		t.Helper()
		s, err := bolt.Open(filepath.Join(t.TempDir(), "kagi.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Update(ctx, func(tx storage.Tx) error {
			for i := 0; i < len(pairs); i += 2 {
				if err := tx.Put([]byte(pairs[i]), []byte(pairs[i+1])); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		d, n, err := s.Digest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d, n
	}
	base, n := digestOf("a", "1", "b", "2")
	if n != 2 {
		t.Errorf("%d pairs, want 2", n)
	}
	if again, _ := digestOf("b", "2", "a", "1"); again != base {
		t.Error("the same pairs written in another order digest differently")
	}
	for _, other := range [][]string{
		{"a", "1", "b", "3"}, // a value
		{"a", "1", "c", "2"}, // a key
		{"a", "1"},           // a pair fewer
		{"a1", "", "b", "2"}, // the same bytes in order, split otherwise
	} {
		if d, _ := digestOf(other...); d == base {
			t.Errorf("%q digests as %q", other, []string{"a", "1", "b", "2"})
		}
	}
}
