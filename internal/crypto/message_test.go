package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Known-answer vectors computed outside Go.
var (
	kaMaterial = seq(0x00, 32) // 000102…1f
	kaNonce    = seq(0xa0, 16) // a0a1…af
	kaIV       = seq(0xc0, 12) // c0c1…cb
)

func TestDeriveMessageKeyKnownAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		material, nonce []byte
		want            string
	}{
		// openssl kdf -keylen 32 -kdfopt digest:SHA256 \
		//   -kdfopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
		//   -kdfopt hexsalt:a0a1a2a3a4a5a6a7a8a9aaabacadaeaf \
		//   -kdfopt info:"kagi symmetric v1" HKDF
		// (OpenSSL 3.0.19)
		{kaMaterial, kaNonce, "ed142a4a35b3d0e65f0864ae784c9643a957af3b4d0b768c7fd10449059d2010"},
		// openssl kdf -keylen 32 -kdfopt digest:SHA256 \
		//   -kdfopt hexkey:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff \
		//   -kdfopt hexsalt:00000000000000000000000000000000 \
		//   -kdfopt info:"kagi symmetric v1" HKDF
		{bytes.Repeat([]byte{0xff}, 32), make([]byte, 16), "b852f24811b1f188e681f476231bd825cb98b6efceaaa8433bb670a6f88dae70"},
	}
	for _, tt := range tests {
		got, err := DeriveMessageKey(tt.material, tt.nonce)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("DeriveMessageKey(%x, %x) = %x, want %s", tt.material, tt.nonce, got, tt.want)
		}
	}
}

// TestOpenMessageKnownAnswer opens a message sealed by an independent
// implementation. (SealMessage draws its IV, so it has no known answer.)
func TestOpenMessageKnownAnswer(t *testing.T) {
	t.Parallel()
	// Computed with Python's cryptography package (48.0.0), independently of
	// this code:
	//   k = HKDF(SHA256(), 32, salt=nonce, info=b"kagi symmetric v1").derive(material)
	//   AESGCM(k).encrypt(iv, b"kagi plaintext", b"\x02\x01a\x01b\x01c\x01d")
	const want = "9da4c201b84c76759c4256ffed91655e3224211075d0e99a469db393505b"
	aad := CanonicalContext(map[string]string{"a": "b", "c": "d"})
	pt, err := OpenMessage(kaMaterial, kaNonce, append(bytes.Clone(kaIV), mustHex(want)...), aad)
	if err != nil || string(pt) != "kagi plaintext" {
		t.Fatalf("OpenMessage = %q, %v", pt, err)
	}
}

// TestSealMessageDrawsIV: two seals of the same message differ (in IV and
// so in everything after it), and each opens.
func TestSealMessageDrawsIV(t *testing.T) {
	t.Parallel()
	a, err := SealMessage(kaMaterial, kaNonce, []byte("same"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SealMessage(kaMaterial, kaNonce, []byte("same"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[:IVSize], b[:IVSize]) || bytes.Equal(a[IVSize:], b[IVSize:]) {
		t.Fatalf("two seals share an IV or a ciphertext: %x, %x", a, b)
	}
	for _, s := range [][]byte{a, b} {
		if pt, err := OpenMessage(kaMaterial, kaNonce, s, nil); err != nil || string(pt) != "same" {
			t.Fatalf("OpenMessage = %q, %v", pt, err)
		}
	}
}

func TestDeriveMessageKeyDistinct(t *testing.T) {
	t.Parallel()
	k1, _ := DeriveMessageKey(kaMaterial, kaNonce)
	k2, _ := DeriveMessageKey(bytes.Clone(kaMaterial), bytes.Clone(kaNonce))
	if !bytes.Equal(k1, k2) {
		t.Fatal("DeriveMessageKey is not deterministic")
	}
	if len(k1) != 32 {
		t.Fatalf("derived key is %d bytes, want 32", len(k1))
	}
	seen := map[string]string{string(k1): "base"}
	for i := range 32 * 8 {
		m := bytes.Clone(kaMaterial)
		m[i/8] ^= 1 << (i % 8)
		k, _ := DeriveMessageKey(m, kaNonce)
		if prev, ok := seen[string(k)]; ok {
			t.Fatalf("material bit %d gives the same key as %s", i, prev)
		}
		seen[string(k)] = "material bit"
	}
	for i := range 16 * 8 {
		n := bytes.Clone(kaNonce)
		n[i/8] ^= 1 << (i % 8)
		k, _ := DeriveMessageKey(kaMaterial, n)
		if prev, ok := seen[string(k)]; ok {
			t.Fatalf("nonce bit %d gives the same key as %s", i, prev)
		}
		seen[string(k)] = "nonce bit"
	}
}

func TestBadSizes(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte{0x5a}, 31)
	tests := []struct {
		name            string
		material, nonce []byte
	}{
		{"material 31", secret, kaNonce},
		{"material 33", append(bytes.Clone(kaMaterial), 0x5a), kaNonce},
		{"material nil", nil, kaNonce},
		{"nonce 15", kaMaterial, kaNonce[:15]},
		{"nonce 32", kaMaterial, kaMaterial},
	}
	for _, tt := range tests {
		if _, err := SealMessage(tt.material, tt.nonce, []byte("x"), nil); err == nil {
			t.Errorf("%s: SealMessage succeeded", tt.name)
		} else if msg := err.Error(); strings.Contains(msg, hex.EncodeToString(tt.material[:min(4, len(tt.material))])) && len(tt.material) > 0 ||
			bytes.Contains([]byte(msg), secret[:4]) {
			t.Errorf("%s: error %q shows the material", tt.name, err)
		}
		if _, err := OpenMessage(tt.material, tt.nonce, make([]byte, IVSize+TagSize+1), nil); err == nil || errors.Is(err, ErrAuth) {
			t.Errorf("%s: OpenMessage error = %v, want a size error that is not ErrAuth", tt.name, err)
		}
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 15, 16, 17, 4096} {
		pt := seq(byte(n), n)
		aad := []byte("header || context")
		sealed, err := SealMessage(kaMaterial, kaNonce, pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != IVSize+n+TagSize {
			t.Fatalf("sealed %d bytes into %d, want %d", n, len(sealed), IVSize+n+TagSize)
		}
		got, err := OpenMessage(kaMaterial, kaNonce, sealed, aad)
		if err != nil {
			t.Fatalf("OpenMessage: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip of %d bytes changed the plaintext", n)
		}
	}
}

// TestOpenMessageTamper flips every bit of every input in turn.
func TestOpenMessageTamper(t *testing.T) {
	t.Parallel()
	aad := []byte("\x01header\x02context")
	sealed, err := SealMessage(kaMaterial, kaNonce, []byte("attack at dawn"), aad)
	if err != nil {
		t.Fatal(err)
	}
	// sealed starts with the IV, so its bits are flipped too.
	inputs := []struct {
		name string
		buf  []byte
	}{{"sealed", sealed}, {"aad", aad}, {"nonce", kaNonce}, {"material", kaMaterial}}
	for idx, in := range inputs {
		for i := range len(in.buf) * 8 {
			args := [][]byte{bytes.Clone(sealed), bytes.Clone(aad), kaNonce, kaMaterial}
			b := bytes.Clone(in.buf)
			b[i/8] ^= 1 << (i % 8)
			args[idx] = b
			pt, err := OpenMessage(args[3], args[2], args[0], args[1])
			if !errors.Is(err, ErrAuth) || pt != nil {
				t.Fatalf("%s bit %d flipped: OpenMessage = %q, %v; want ErrAuth", in.name, i, pt, err)
			}
		}
	}
	// Truncation and extension fail the same way.
	for _, s := range [][]byte{sealed[:len(sealed)-1], sealed[:IVSize+TagSize], sealed[:IVSize+TagSize-1], sealed[:TagSize], nil, append(bytes.Clone(sealed), 0)} {
		if _, err := OpenMessage(kaMaterial, kaNonce, s, aad); !errors.Is(err, ErrAuth) {
			t.Fatalf("sealed of %d bytes: err = %v, want ErrAuth", len(s), err)
		}
	}
	// Missing vs empty aad is the same to GCM; a different aad is not.
	if _, err := OpenMessage(kaMaterial, kaNonce, sealed, nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("nil aad: err = %v, want ErrAuth", err)
	}
}

func benchSizes() []struct {
	name string
	n    int
} {
	return []struct {
		name string
		n    int
	}{{"32B", 32}, {"4KiB", 4096}}
}

// BenchmarkSealMessage measures the whole per-message cost: HKDF, AES key
// schedule, GCM setup, seal.
func BenchmarkSealMessage(b *testing.B) {
	for _, s := range benchSizes() {
		b.Run(s.name, func(b *testing.B) {
			pt := make([]byte, s.n)
			aad := make([]byte, 150)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SealMessage(kaMaterial, kaNonce, pt, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawGCM is the baseline: one AES-256-GCM AEAD set up once and
// reused, as a design without per-message keys would.
func BenchmarkRawGCM(b *testing.B) {
	block, _ := aes.NewCipher(kaMaterial)
	aead, _ := cipher.NewGCM(block)
	for _, s := range benchSizes() {
		b.Run(s.name, func(b *testing.B) {
			pt := make([]byte, s.n)
			aad := make([]byte, 150)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				_ = aead.Seal(nil, kaIV, pt, aad)
			}
		})
	}
}

// BenchmarkRawGCMKeySetup sets up AES-GCM per message without the HKDF, to
// split SealMessage's overhead into derivation and key setup.
func BenchmarkRawGCMKeySetup(b *testing.B) {
	for _, s := range benchSizes() {
		b.Run(s.name, func(b *testing.B) {
			pt := make([]byte, s.n)
			aad := make([]byte, 150)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				block, _ := aes.NewCipher(kaMaterial)
				aead, _ := cipher.NewGCM(block)
				_ = aead.Seal(nil, kaIV, pt, aad)
			}
		})
	}
}

func BenchmarkDeriveMessageKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DeriveMessageKey(kaMaterial, kaNonce); err != nil {
			b.Fatal(err)
		}
	}
}
