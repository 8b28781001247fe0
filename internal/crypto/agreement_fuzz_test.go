package crypto

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

var (
	fuzzAgreeOnce sync.Once
	fuzzAgreeKeys map[string]*KeyPair
)

// fuzzAgreeKey returns one key pair per spec that DeriveSharedSecret and
// Decapsulate take, made once per process.
func fuzzAgreeKey(spec string) *KeyPair {
	fuzzAgreeOnce.Do(func() {
		fuzzAgreeKeys = map[string]*KeyPair{}
		for _, s := range []string{SpecP256, SpecP521, SpecMLKEM512, SpecMLKEM768} {
			k, err := GenerateKeyPair(s)
			if err != nil {
				panic(err)
			}
			fuzzAgreeKeys[s] = k
		}
	})
	return fuzzAgreeKeys[spec]
}

// FuzzAgreement feeds outside bytes to what DeriveSharedSecret and
// Decapsulate do with them: a peer public key and a KEM ciphertext.
// Nothing panics; a peer key DeriveSharedSecret takes is one
// ParsePublicKey takes on the key's curve, and its canonical encoding
// gives the same secret; any other is ErrInvalidInput. A ciphertext of
// the spec's length always decapsulates, to the same 32 bytes twice
// (implicit rejection); any other length is ErrInvalidInput.
func FuzzAgreement(f *testing.F) {
	f.Add(fuzzAgreeKey(SpecP256).Public().DER(), make([]byte, KEMCiphertextSize(SpecMLKEM512)))
	f.Add(fuzzAgreeKey(SpecP521).Public().DER(), make([]byte, KEMCiphertextSize(SpecMLKEM768)))
	_, ct, _ := fuzzAgreeKey(SpecMLKEM768).Public().Encapsulate()
	f.Add([]byte{0x30, 0x00}, ct)
	f.Fuzz(func(t *testing.T, peer, ct []byte) {
		for _, spec := range []string{SpecP256, SpecP521} {
			k := fuzzAgreeKey(spec)
			secret, err := k.DeriveSharedSecret(peer)
			p, perr := ParsePublicKey(spec, peer)
			if (err == nil) != (perr == nil) {
				t.Fatalf("%s: DeriveSharedSecret says %v, ParsePublicKey %v", spec, err, perr)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("%s: DeriveSharedSecret: unexpected error %v", spec, err)
				}
				continue
			}
			again, err := k.DeriveSharedSecret(p.DER())
			if err != nil || !bytes.Equal(again, secret) {
				t.Fatalf("%s: the canonical encoding of a peer key gives another secret: %v", spec, err)
			}
		}
		for _, spec := range []string{SpecMLKEM512, SpecMLKEM768} {
			k := fuzzAgreeKey(spec)
			ss, err := k.Decapsulate(ct)
			if len(ct) != KEMCiphertextSize(spec) {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("%s: Decapsulate of %d bytes: %v, want ErrInvalidInput", spec, len(ct), err)
				}
				continue
			}
			again, err2 := k.Decapsulate(ct)
			if err != nil || err2 != nil || len(ss) != 32 || !bytes.Equal(ss, again) {
				t.Fatalf("%s: Decapsulate of a %d-byte ciphertext: %v %v", spec, len(ct), err, err2)
			}
		}
	})
}
