package crypto

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"sync"
	"testing"
)

var (
	wrapKeyOnce sync.Once
	wrapKey     *rsa.PrivateKey
)

// testWrappingKey is one RSA_2048 wrapping key shared by the tests and the
// fuzz target (generating one per run would dominate them).
func testWrappingKey(t testing.TB) *rsa.PrivateKey {
	wrapKeyOnce.Do(func() {
		var err error
		wrapKey, err = NewWrappingKey("RSA_2048")
		if err != nil {
			t.Fatal(err)
		}
	})
	return wrapKey
}

var wrappingAlgorithms = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"}

func TestUnwrapKeyMaterial(t *testing.T) {
	k := testWrappingKey(t)
	for _, alg := range wrappingAlgorithms {
		for _, n := range []int{32, 64, 128} {
			m := make([]byte, n)
			rand.Read(m)
			w, err := WrapKeyMaterial(&k.PublicKey, alg, m)
			if err != nil {
				t.Fatalf("%s, %d bytes: wrap: %v", alg, n, err)
			}
			got, err := UnwrapKeyMaterial(k, alg, w)
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("%s, %d bytes: unwrap = %v", alg, n, err)
			}
			// Every other algorithm, and every changed byte region, fails.
			for _, other := range wrappingAlgorithms {
				if other == alg {
					continue
				}
				if _, err := UnwrapKeyMaterial(k, other, w); !errors.Is(err, ErrDecrypt) {
					t.Errorf("%s unwrapped as %s: %v", alg, other, err)
				}
			}
			for _, i := range []int{0, k.Size() - 1, len(w) - 1} {
				bad := bytes.Clone(w)
				bad[i] ^= 0x80
				if _, err := UnwrapKeyMaterial(k, alg, bad); !errors.Is(err, ErrDecrypt) {
					t.Errorf("%s: byte %d changed: %v, want ErrDecrypt", alg, i, err)
				}
			}
			if _, err := UnwrapKeyMaterial(k, alg, w[:len(w)-8]); !errors.Is(err, ErrDecrypt) {
				t.Errorf("%s: truncated: %v", alg, err)
			}
		}
	}
	other, err := NewWrappingKey("RSA_2048")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := WrapKeyMaterial(&other.PublicKey, "RSAES_OAEP_SHA_256", make([]byte, 32))
	if _, err := UnwrapKeyMaterial(k, "RSAES_OAEP_SHA_256", w); !errors.Is(err, ErrDecrypt) {
		t.Errorf("material wrapped for another key: %v", err)
	}
	for _, alg := range []string{"RSAES_PKCS1_V1_5", "SM2PKE", ""} {
		if _, err := UnwrapKeyMaterial(k, alg, w); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%q: %v, want ErrUnsupported", alg, err)
		}
	}
	if got := MaxOAEPWrapped("RSA_2048", "RSAES_OAEP_SHA_256"); got != 190 {
		t.Errorf("MaxOAEPWrapped(RSA_2048, SHA_256) = %d, want 190", got)
	}
	if got := MaxOAEPWrapped("RSA_2048", "RSA_AES_KEY_WRAP_SHA_256"); got != 0 {
		t.Errorf("MaxOAEPWrapped of an AES wrap = %d", got)
	}
}

func TestParseWrappingKey(t *testing.T) {
	k := testWrappingKey(t)
	der := MarshalWrappingKey(k)
	if got, err := ParseWrappingKey("RSA_2048", der); err != nil || !got.Equal(k) {
		t.Fatalf("ParseWrappingKey: %v", err)
	}
	if _, err := ParseWrappingKey("RSA_3072", der); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("an RSA_2048 key read as RSA_3072: %v", err)
	}
	if _, err := ParseWrappingKey("RSA_2048", der[:len(der)-1]); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("truncated key: %v", err)
	}
}

// FuzzUnwrapKeyMaterial feeds arbitrary wrapped material to every wrapping
// algorithm: it must fail with ErrDecrypt or succeed, never panic.
func FuzzUnwrapKeyMaterial(f *testing.F) {
	k := testWrappingKey(f)
	for i, alg := range wrappingAlgorithms {
		w, err := WrapKeyMaterial(&k.PublicKey, alg, bytes.Repeat([]byte{byte(i)}, 32))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), w)
	}
	f.Add(uint8(2), make([]byte, 256+24))
	f.Fuzz(func(t *testing.T, which uint8, w []byte) {
		alg := wrappingAlgorithms[int(which)%len(wrappingAlgorithms)]
		m, err := UnwrapKeyMaterial(k, alg, w)
		if err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("%s: error %v is not ErrDecrypt", alg, err)
		}
		if err == nil && strings.HasPrefix(alg, "RSA_AES") && len(m) < 16 {
			t.Fatalf("%s: %d bytes from an AES wrap, which wraps 16 or more", alg, len(m))
		}
	})
}
