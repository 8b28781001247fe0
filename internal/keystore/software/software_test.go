package software

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
	"github.com/kagikms/kagi/internal/keystore/keystoretest"
	"github.com/kagikms/kagi/internal/rootkey"
)

const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func testRoot(t testing.TB) *rootkey.Key {
	t.Helper()
	k, err := rootkey.FromBytes(bytes.Repeat([]byte{0x42}, rootkey.Size))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestConformance(t *testing.T) {
	for _, size := range []int{0, 1, 64} {
		t.Run(fmt.Sprintf("cache%d", size), func(t *testing.T) {
			keystoretest.TestSymmetric(t, func(t *testing.T) keystore.Symmetric {
				return New(testRoot(t), size)
			})
			keystoretest.TestAsymmetric(t, func(t *testing.T) keystore.Asymmetric {
				return New(testRoot(t), size)
			})
			keystoretest.TestMAC(t, func(t *testing.T) keystore.MAC {
				return New(testRoot(t), size)
			})
		})
	}
}

var (
	nonce = bytes.Repeat([]byte{0x01}, crypto.NonceSize)
	aad   = []byte("header||context")
)

func TestMatchesCrypto(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(testRoot(t), 4)
	ref := keystoretest.NewRef(arn)
	p, err := s.NewSymmetric(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	material, err := s.Unseal(ref, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(material) != crypto.MaterialSize {
		t.Fatalf("material is %d bytes", len(material))
	}
	sealed, err := s.Encrypt(ctx, ref, p, nonce, []byte("hello"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := crypto.OpenMessage(material, nonce, sealed, aad); err != nil || string(got) != "hello" {
		t.Fatalf("crypto.OpenMessage with the unsealed material = %q, %v; want what Encrypt sealed", got, err)
	}
}

func TestPersistedHidesMaterial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(testRoot(t), 4)
	for range 20 {
		ref := keystoretest.NewRef(arn)
		p, err := s.NewSymmetric(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		material, err := s.Unseal(ref, p)
		if err != nil {
			t.Fatal(err)
		}
		// No 8-byte window of the material appears in what is stored.
		for i := 0; i+8 <= len(material); i++ {
			if bytes.Contains(p, material[i:i+8]) {
				t.Fatalf("persisted form contains material bytes %d..%d", i, i+8)
			}
		}
		if len(p) != 1+12+crypto.MaterialSize+16 {
			t.Fatalf("persisted form is %d bytes", len(p))
		}
	}
}

func TestUnsealReturnsCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(testRoot(t), 4)
	ref := keystoretest.NewRef(arn)
	p, _ := s.NewSymmetric(ctx, ref)
	sealed, _ := s.Encrypt(ctx, ref, p, nonce, []byte("x"), aad)
	m, _ := s.Unseal(ref, p)
	clear(m) // must not reach the cache
	if _, err := s.Decrypt(ctx, ref, p, nonce, sealed, aad); err != nil {
		t.Fatalf("clearing Unseal's result broke the cached material: %v", err)
	}
}

func TestMovedMaterialFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(testRoot(t), 4)
	ref := keystoretest.NewRef(arn)
	p, _ := s.NewSymmetric(ctx, ref)

	otherVersion := ref
	otherVersion.MaterialID[31] ^= 0x80
	otherKey := ref
	otherKey.KeyARN = strings.Replace(arn, "111122223333", "444455556666", 1)
	// A Ref whose ARN and id shift bytes between them must not match.
	shifted := keystore.Ref{KeyARN: arn + string(ref.MaterialID[:1])}
	copy(shifted.MaterialID[:], ref.MaterialID[1:])

	for name, r := range map[string]keystore.Ref{"other version": otherVersion, "other key": otherKey, "shifted": shifted} {
		if _, err := s.Unseal(r, p); !errors.Is(err, rootkey.ErrUnseal) {
			t.Errorf("%s: Unseal = %v, want rootkey.ErrUnseal", name, err)
		}
		if _, err := s.Encrypt(ctx, r, p, nonce, []byte("x"), aad); !errors.Is(err, rootkey.ErrUnseal) {
			t.Errorf("%s: Encrypt = %v, want rootkey.ErrUnseal", name, err)
		}
		if _, err := s.Decrypt(ctx, r, p, nonce, make([]byte, crypto.IVSize+crypto.TagSize+1), aad); !errors.Is(err, rootkey.ErrUnseal) || errors.Is(err, crypto.ErrAuth) {
			t.Errorf("%s: Decrypt = %v, want rootkey.ErrUnseal and not crypto.ErrAuth", name, err)
		}
	}
	// Another root key cannot unseal it either.
	other, _ := rootkey.FromBytes(bytes.Repeat([]byte{0x43}, rootkey.Size))
	if _, err := New(other, 4).Unseal(ref, p); !errors.Is(err, rootkey.ErrUnseal) {
		t.Errorf("Unseal under another root key = %v, want rootkey.ErrUnseal", err)
	}
}

func TestCacheEviction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(testRoot(t), 2)
	refs := make([]keystore.Ref, 3)
	ps := make([][]byte, 3)
	for i := range refs {
		refs[i] = keystoretest.NewRef(fmt.Sprintf("%s-%d", arn, i))
		ps[i], _ = s.NewSymmetric(ctx, refs[i])
	}
	if n := s.cached(); n != 2 {
		t.Fatalf("cache holds %d entries, want 2", n)
	}
	if s.get(refs[0], ps[0]) != nil {
		t.Fatal("least recently used entry (ref 0) was not evicted")
	}
	// Touch ref 1, then bring ref 0 back: ref 2 is now the oldest.
	if s.get(refs[1], ps[1]) == nil {
		t.Fatal("ref 1 not cached")
	}
	if _, err := s.Encrypt(ctx, refs[0], ps[0], nonce, []byte("x"), aad); err != nil {
		t.Fatal(err)
	}
	if s.get(refs[0], ps[0]) == nil || s.get(refs[1], ps[1]) == nil {
		t.Fatal("refs 0 and 1 should be cached")
	}
	if s.get(refs[2], ps[2]) != nil {
		t.Fatal("ref 2 should have been evicted")
	}
	if n := s.cached(); n != 2 {
		t.Fatalf("cache holds %d entries, want 2", n)
	}
	// Every ref still works, cached or not.
	for i := range refs {
		sealed, err := s.Encrypt(ctx, refs[i], ps[i], nonce, []byte("x"), aad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decrypt(ctx, refs[(i+1)%3], ps[(i+1)%3], nonce, sealed, aad); !errors.Is(err, crypto.ErrAuth) {
			t.Fatalf("ref %d's ciphertext opened with ref %d's material", i, (i+1)%3)
		}
	}
}

func TestCacheChecksPersisted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(testRoot(t), 4)
	ref := keystoretest.NewRef(arn)
	p1, _ := s.NewSymmetric(ctx, ref)
	p2, _ := s.NewSymmetric(ctx, ref) // a retried create: the cache now holds p2's material
	m1, _ := s.Unseal(ref, p1)
	got, err := s.Encrypt(ctx, ref, p1, nonce, []byte("x"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := crypto.OpenMessage(m1, nonce, got, aad); err != nil || string(pt) != "x" {
		t.Fatal("Encrypt with p1 used the material cached for p2")
	}
	if s.get(ref, p2) != nil {
		t.Fatal("p2 should have been replaced by p1 in the cache")
	}
}

func TestCacheHitDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	s := New(testRoot(t), 4)
	ref := keystoretest.NewRef(arn)
	p, _ := s.NewSymmetric(ctx, ref)
	first, _ := s.material(ctx, ref, p)
	allocs := testing.AllocsPerRun(100, func() {
		m, err := s.material(ctx, ref, p)
		if err != nil || &m[0] != &first[0] {
			t.Fatal("cache hit returned other material")
		}
	})
	if allocs != 0 {
		t.Fatalf("cache hit allocates %v times", allocs)
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	s := New(testRoot(t), 4)
	ref := keystoretest.NewRef(arn)
	p, _ := s.NewSymmetric(ctx, ref)
	cancel()
	if _, err := s.NewSymmetric(ctx, ref); !errors.Is(err, context.Canceled) {
		t.Errorf("NewSymmetric = %v", err)
	}
	if _, err := s.Encrypt(ctx, ref, p, nonce, []byte("x"), aad); !errors.Is(err, context.Canceled) {
		t.Errorf("Encrypt = %v", err)
	}
	if _, err := s.Decrypt(ctx, ref, p, nonce, make([]byte, crypto.IVSize+crypto.TagSize+1), aad); !errors.Is(err, context.Canceled) {
		t.Errorf("Decrypt = %v", err)
	}
}

func TestErrorsHaveNoSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(testRoot(t), 4)
	ref := keystoretest.NewRef(arn)
	p, _ := s.NewSymmetric(ctx, ref)
	m, _ := s.Unseal(ref, p)
	pt := []byte("secret plaintext")
	sealed, _ := s.Encrypt(ctx, ref, p, nonce, pt, aad)
	sealed[0] ^= 1
	bad := ref
	bad.MaterialID[0] ^= 1
	var errs []error
	_, err := s.Decrypt(ctx, ref, p, nonce, sealed, aad)
	errs = append(errs, err)
	_, err = s.Encrypt(ctx, bad, p, nonce, pt, aad)
	errs = append(errs, err)
	_, err = s.Encrypt(ctx, ref, p, nonce[:3], pt, aad)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		msg := err.Error()
		for _, secret := range [][]byte{m[:8], pt, bytes.Repeat([]byte{0x42}, 8)} {
			if strings.Contains(msg, string(secret)) || strings.Contains(msg, fmt.Sprintf("%x", secret)) {
				t.Errorf("error %q reveals a secret", msg)
			}
		}
	}
}

func TestConcurrentSmallCache(t *testing.T) {
	t.Parallel()
	// More refs than cache entries, so goroutines keep evicting each
	// other's material while they use it.
	ctx := context.Background()
	s := New(testRoot(t), 2)
	refs := make([]keystore.Ref, 5)
	ps := make([][]byte, len(refs))
	for i := range refs {
		refs[i] = keystoretest.NewRef(fmt.Sprintf("%s-%d", arn, i))
		ps[i], _ = s.NewSymmetric(ctx, refs[i])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				j := (g*7 + i) % len(refs)
				pt := []byte(fmt.Sprintf("g%d i%d", g, i))
				sealed, err := s.Encrypt(ctx, refs[j], ps[j], nonce, pt, aad)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := s.Decrypt(ctx, refs[j], ps[j], nonce, sealed, aad)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("round trip: %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := s.cached(); n > 2 {
		t.Fatalf("cache grew to %d entries, bound 2", n)
	}
}

func BenchmarkEncrypt32(b *testing.B) {
	ctx := context.Background()
	s := New(testRoot(b), 16)
	ref := keystoretest.NewRef(arn)
	p, _ := s.NewSymmetric(ctx, ref)
	pt := make([]byte, 32)
	aad := make([]byte, 150)
	b.SetBytes(32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encrypt(ctx, ref, p, nonce, pt, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt32Parallel(b *testing.B) {
	ctx := context.Background()
	s := New(testRoot(b), 16)
	ref := keystoretest.NewRef(arn)
	p, _ := s.NewSymmetric(ctx, ref)
	pt := make([]byte, 32)
	aad := make([]byte, 150)
	b.SetBytes(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Encrypt(ctx, ref, p, nonce, pt, aad); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEncrypt32ColdCache(b *testing.B) {
	ctx := context.Background()
	s := New(testRoot(b), 0)
	ref := keystoretest.NewRef(arn)
	p, _ := s.NewSymmetric(ctx, ref)
	pt := make([]byte, 32)
	aad := make([]byte, 150)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encrypt(ctx, ref, p, nonce, pt, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPersistedHidesPrivateKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(testRoot(t), 4)
	var hs []keystore.Handle
	for _, spec := range []string{crypto.SpecP256, crypto.SpecEd25519, crypto.SpecMLDSA44, crypto.SpecMLKEM768, crypto.SpecRSA2048} {
		ref := keystoretest.NewRef(arn)
		p, err := s.NewKeyPair(ctx, ref, spec)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, keystore.Handle{Ref: ref, Spec: spec, Persisted: p})
	}
	for _, spec := range keystoretest.MACSpecs {
		ref := keystoretest.NewRef(arn)
		p, err := s.NewMACKey(ctx, ref, spec)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, keystore.Handle{Ref: ref, Spec: spec, Persisted: p})
	}
	for _, h := range hs {
		var private []byte
		var err error
		if crypto.HMACKeySize(h.Spec) > 0 {
			private, err = s.UnsealMACKey(h)
		} else {
			private, err = s.UnsealKeyPair(h)
		}
		if err != nil {
			t.Fatalf("%s: %v", h.Spec, err)
		}
		for i := 0; i+8 <= len(private); i++ {
			if bytes.Contains(h.Persisted, private[i:i+8]) {
				t.Fatalf("%s: persisted form contains private key bytes %d..%d", h.Spec, i, i+8)
			}
		}
		// Errors of a moved key name no private byte either.
		moved := h
		moved.Ref.MaterialID[0] ^= 1
		_, err = s.PublicKey(ctx, moved)
		if crypto.HMACKeySize(h.Spec) > 0 {
			_, err = s.GenerateMAC(ctx, moved, crypto.MACAlgorithm(h.Spec), nil)
		}
		if err == nil || !errors.Is(err, rootkey.ErrUnseal) {
			t.Fatalf("%s: moved key: %v, want rootkey.ErrUnseal", h.Spec, err)
		}
		if strings.Contains(err.Error(), fmt.Sprintf("%x", private[:8])) || strings.Contains(err.Error(), string(private[:8])) {
			t.Fatalf("%s: error %q reveals the private key", h.Spec, err)
		}
	}
}

func TestKindsDoNotMix(t *testing.T) {
	t.Parallel()
	// A persisted value of one kind never opens as another, even for the
	// same Ref, and the cache never hands one kind's entry to another.
	ctx := context.Background()
	s := New(testRoot(t), 4)
	ref := keystoretest.NewRef(arn)
	sym, _ := s.NewSymmetric(ctx, ref)
	pair, _ := s.NewKeyPair(ctx, ref, crypto.SpecP256)
	mac, _ := s.NewMACKey(ctx, ref, crypto.SpecHMAC256)
	if _, err := s.PublicKey(ctx, keystore.Handle{Ref: ref, Spec: crypto.SpecP256, Persisted: sym}); !errors.Is(err, rootkey.ErrUnseal) {
		t.Errorf("symmetric material opened as a key pair: %v", err)
	}
	if _, err := s.PublicKey(ctx, keystore.Handle{Ref: ref, Spec: crypto.SpecP256, Persisted: mac}); !errors.Is(err, rootkey.ErrUnseal) {
		t.Errorf("an HMAC key opened as a key pair: %v", err)
	}
	if _, err := s.GenerateMAC(ctx, keystore.Handle{Ref: ref, Spec: crypto.SpecHMAC256, Persisted: pair}, "HMAC_SHA_256", nil); !errors.Is(err, rootkey.ErrUnseal) {
		t.Errorf("a key pair opened as an HMAC key: %v", err)
	}
	if _, err := s.Encrypt(ctx, ref, mac, nonce, []byte("x"), aad); !errors.Is(err, rootkey.ErrUnseal) {
		t.Errorf("an HMAC key opened as symmetric material: %v", err)
	}
	if _, err := s.Encrypt(ctx, ref, sym, nonce, []byte("x"), aad); err != nil {
		t.Errorf("symmetric material after the others: %v", err)
	}
}

// TestCacheStats counts hits and misses of every kind of material: a use
// that finds it unsealed is a hit, one that unseals is a miss, storing it
// is neither, and with the cache off every use is a miss.
func TestCacheStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, size := range []int{0, 1, 8} {
		t.Run(fmt.Sprintf("cache%d", size), func(t *testing.T) {
			t.Parallel()
			s := New(testRoot(t), size)
			sym := keystoretest.NewRef(arn + "-sym")
			pair := keystoretest.NewRef(arn + "-pair")
			mac := keystoretest.NewRef(arn + "-mac")
			ps, err := s.NewSymmetric(ctx, sym)
			if err != nil {
				t.Fatal(err)
			}
			pp, err := s.NewKeyPair(ctx, pair, crypto.SpecP256)
			if err != nil {
				t.Fatal(err)
			}
			pm, err := s.NewMACKey(ctx, mac, crypto.SpecHMAC256)
			if err != nil {
				t.Fatal(err)
			}
			if h, m := s.CacheStats(); h != 0 || m != 0 {
				t.Fatalf("after storing: hits %d, misses %d; want 0, 0", h, m)
			}
			use := func() {
				t.Helper()
				if _, err := s.Encrypt(ctx, sym, ps, nonce, []byte("x"), aad); err != nil {
					t.Fatal(err)
				}
				if _, err := s.PublicKey(ctx, keystore.Handle{Ref: pair, Spec: crypto.SpecP256, Persisted: pp}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.GenerateMAC(ctx, keystore.Handle{Ref: mac, Spec: crypto.SpecHMAC256, Persisted: pm}, "HMAC_SHA_256", []byte("m")); err != nil {
					t.Fatal(err)
				}
			}
			use()
			use()
			var wantHits, wantMisses uint64
			switch size {
			case 0:
				wantMisses = 6
			case 1:
				// One entry: each use evicts the one before, so the
				// first of each kind in the second round misses too.
				wantMisses = 6
			default:
				// Stored material is cached: every use hits.
				wantHits = 6
			}
			if h, m := s.CacheStats(); h != wantHits || m != wantMisses {
				t.Fatalf("hits %d, misses %d; want %d, %d", h, m, wantHits, wantMisses)
			}
		})
	}
}
