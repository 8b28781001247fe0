// Package keystoretest is the conformance suite every key store (keystore.Symmetric,
// Asymmetric and MAC) implementation runs.
package keystoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
)

// NewRef returns a Ref with the given ARN and a random material id.
func NewRef(arn string) keystore.Ref {
	r := keystore.Ref{KeyARN: arn}
	_, _ = rand.Read(r.MaterialID[:])
	return r
}

type message struct {
	nonce, plaintext, aad []byte
}

func newMessage(plaintext string) message {
	m := message{
		nonce:     make([]byte, crypto.NonceSize),
		plaintext: []byte(plaintext),
		aad:       []byte("\x01header\x02\x01a\x01b"),
	}
	_, _ = rand.Read(m.nonce)
	return m
}

// TestSymmetric runs the conformance suite against the store newStore
// returns. Each subtest gets a fresh store.
func TestSymmetric(t *testing.T, newStore func(t *testing.T) keystore.Symmetric) {
	ctx := context.Background()
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

	newMaterial := func(t *testing.T, s keystore.Symmetric, ref keystore.Ref) []byte {
		t.Helper()
		p, err := s.NewSymmetric(ctx, ref)
		if err != nil {
			t.Fatalf("NewSymmetric: %v", err)
		}
		if len(p) == 0 {
			t.Fatal("NewSymmetric returned an empty persisted form")
		}
		return p
	}

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		ref := NewRef(arn)
		p := newMaterial(t, s, ref)
		for _, pt := range []string{"", "x", "a 32-byte plaintext, exactly...", string(make([]byte, 4096))} {
			m := newMessage(pt)
			sealed, err := s.Encrypt(ctx, ref, p, m.nonce, m.plaintext, m.aad)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if len(sealed) != crypto.IVSize+len(pt)+crypto.TagSize {
				t.Fatalf("sealed %d bytes into %d, want IV, ciphertext and tag: %d", len(pt), len(sealed), crypto.IVSize+len(pt)+crypto.TagSize)
			}
			got, err := s.Decrypt(ctx, ref, p, m.nonce, sealed, m.aad)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, m.plaintext) {
				t.Fatal("Decrypt did not return the plaintext")
			}
		}
	})

	t.Run("Import", func(t *testing.T) {
		// Imported material is what the store uses: a message it seals
		// opens with the material itself, in this store and another.
		s := newStore(t)
		ref := NewRef(arn)
		material := make([]byte, crypto.MaterialSize)
		_, _ = rand.Read(material)
		p, err := s.ImportSymmetric(ctx, ref, material)
		if err != nil {
			t.Fatalf("ImportSymmetric: %v", err)
		}
		if bytes.Contains(p, material) {
			t.Fatal("the persisted form contains the material")
		}
		m := newMessage("imported")
		sealed, err := s.Encrypt(ctx, ref, p, m.nonce, m.plaintext, m.aad)
		if err != nil {
			t.Fatal(err)
		}
		got, err := crypto.OpenMessage(material, m.nonce, sealed, m.aad)
		if err != nil || !bytes.Equal(got, m.plaintext) {
			t.Fatalf("the imported material does not open what the store sealed: %v", err)
		}
		if got, err := newStore(t).Decrypt(ctx, ref, p, m.nonce, sealed, m.aad); err != nil || !bytes.Equal(got, m.plaintext) {
			t.Fatalf("a second store: %q, %v", got, err)
		}
		for _, n := range []int{0, 16, 31, 33, 64} {
			if _, err := s.ImportSymmetric(ctx, NewRef(arn), make([]byte, n)); !errors.Is(err, crypto.ErrInvalidInput) {
				t.Errorf("ImportSymmetric of %d bytes = %v, want crypto.ErrInvalidInput", n, err)
			}
		}
	})

	t.Run("PersistedSurvivesStore", func(t *testing.T) {
		// Material persisted by one store instance is usable by another
		// (a restart, another node).
		s1 := newStore(t)
		ref := NewRef(arn)
		p := newMaterial(t, s1, ref)
		m := newMessage("survives")
		sealed, err := s1.Encrypt(ctx, ref, p, m.nonce, m.plaintext, m.aad)
		if err != nil {
			t.Fatal(err)
		}
		s2 := newStore(t)
		got, err := s2.Decrypt(ctx, ref, bytes.Clone(p), m.nonce, sealed, m.aad)
		if err != nil || !bytes.Equal(got, m.plaintext) {
			t.Fatalf("Decrypt in a second store = %q, %v", got, err)
		}
	})

	t.Run("Tamper", func(t *testing.T) {
		s := newStore(t)
		ref := NewRef(arn)
		p := newMaterial(t, s, ref)
		m := newMessage("attack at dawn")
		sealed, err := s.Encrypt(ctx, ref, p, m.nonce, m.plaintext, m.aad)
		if err != nil {
			t.Fatal(err)
		}
		flip := func(b []byte, i int) []byte {
			b = bytes.Clone(b)
			b[i] ^= 0x01
			return b
		}
		cases := []struct {
			name               string
			nonce, sealed, aad []byte
		}{
			{"iv first byte", m.nonce, flip(sealed, 0), m.aad},
			{"ciphertext first byte", m.nonce, flip(sealed, crypto.IVSize), m.aad},
			{"tag last byte", m.nonce, flip(sealed, len(sealed)-1), m.aad},
			{"truncated", m.nonce, sealed[:len(sealed)-1], m.aad},
			{"aad", m.nonce, sealed, flip(m.aad, 3)},
			{"no aad", m.nonce, sealed, nil},
			{"nonce", flip(m.nonce, 15), sealed, m.aad},
		}
		for _, c := range cases {
			pt, err := s.Decrypt(ctx, ref, p, c.nonce, c.sealed, c.aad)
			if !errors.Is(err, crypto.ErrAuth) || pt != nil {
				t.Errorf("%s: Decrypt = %q, %v; want crypto.ErrAuth", c.name, pt, err)
			}
		}
	})

	t.Run("MaterialIsPerVersion", func(t *testing.T) {
		// Each NewSymmetric makes new material, even for the same Ref (a
		// retried create): a ciphertext opens only with its own.
		s := newStore(t)
		ref := NewRef(arn)
		p1 := newMaterial(t, s, ref)
		p2 := newMaterial(t, s, ref)
		other := NewRef(arn)
		p3 := newMaterial(t, s, other)
		m := newMessage("version one")
		sealed, err := s.Encrypt(ctx, ref, p1, m.nonce, m.plaintext, m.aad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decrypt(ctx, ref, p2, m.nonce, sealed, m.aad); !errors.Is(err, crypto.ErrAuth) {
			t.Errorf("Decrypt with a second material for the same Ref: %v, want crypto.ErrAuth", err)
		}
		if _, err := s.Decrypt(ctx, other, p3, m.nonce, sealed, m.aad); !errors.Is(err, crypto.ErrAuth) {
			t.Errorf("Decrypt with another version's material: %v, want crypto.ErrAuth", err)
		}
		// And the first still works after the others were used.
		if _, err := s.Decrypt(ctx, ref, p1, m.nonce, sealed, m.aad); err != nil {
			t.Errorf("Decrypt with the right material: %v", err)
		}
	})

	t.Run("PersistedIsBoundToRef", func(t *testing.T) {
		s := newStore(t)
		ref := NewRef(arn)
		p := newMaterial(t, s, ref)
		otherVersion := ref
		otherVersion.MaterialID[0] ^= 1
		otherKey := ref
		otherKey.KeyARN = arn[:len(arn)-1] + "c"
		m := newMessage("bound")
		for name, r := range map[string]keystore.Ref{"other version": otherVersion, "other key": otherKey} {
			if sealed, err := s.Encrypt(ctx, r, p, m.nonce, m.plaintext, m.aad); err == nil {
				t.Errorf("%s: Encrypt with moved material succeeded (%d bytes)", name, len(sealed))
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		refs := make([]keystore.Ref, 4)
		ps := make([][]byte, len(refs))
		for i := range refs {
			refs[i] = NewRef(fmt.Sprintf("%s-%d", arn, i))
			ps[i] = newMaterial(t, s, refs[i])
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 50 {
					j := (g + i) % len(refs)
					m := newMessage(fmt.Sprintf("goroutine %d message %d", g, i))
					sealed, err := s.Encrypt(ctx, refs[j], ps[j], m.nonce, m.plaintext, m.aad)
					if err != nil {
						errs <- err
						return
					}
					got, err := s.Decrypt(ctx, refs[j], ps[j], m.nonce, sealed, m.aad)
					if err != nil || !bytes.Equal(got, m.plaintext) {
						errs <- fmt.Errorf("decrypt: %q, %v", got, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
