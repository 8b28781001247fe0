package crypto

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

var (
	fuzzKeysOnce sync.Once
	fuzzKeys     map[string]*KeyPair
)

// fuzzKey returns one key pair per signing spec, made once per process.
func fuzzKey(t testing.TB, spec string) *KeyPair {
	fuzzKeysOnce.Do(func() {
		fuzzKeys = map[string]*KeyPair{}
		for _, s := range []string{SpecRSA2048, SpecP256, SpecP384, SpecP521, SpecSecp256k1, SpecEd25519, SpecMLDSA44} {
			k, err := GenerateKeyPair(s)
			if err != nil {
				panic(err)
			}
			fuzzKeys[s] = k
		}
	})
	return fuzzKeys[spec]
}

var fuzzAlgs = []struct{ spec, alg string }{
	{SpecRSA2048, "RSASSA_PSS_SHA_256"}, {SpecRSA2048, "RSASSA_PKCS1_V1_5_SHA_512"},
	{SpecP256, "ECDSA_SHA_256"}, {SpecP384, "ECDSA_SHA_384"}, {SpecP521, "ECDSA_SHA_512"},
	{SpecSecp256k1, "ECDSA_SHA_256"}, {SpecEd25519, "ED25519_SHA_512"}, {SpecEd25519, "ED25519_PH_SHA_512"},
	{SpecMLDSA44, "ML_DSA_SHAKE_256"},
}

// FuzzVerify feeds outside signatures (and message types) to every
// verifier: DER parsing of ECDSA signatures (the standard library's and,
// for secp256k1, decred's), RSA, Ed25519 and ML-DSA. Nothing panics, every
// error is one of the package's, and a signature that verifies stops
// verifying when the message changes.
func FuzzVerify(f *testing.F) {
	msg := []byte("fuzzed message")
	for i, a := range fuzzAlgs {
		k := fuzzKey(f, a.spec)
		mt := MessageRaw
		m := msg
		if a.alg == "ED25519_PH_SHA_512" {
			mt, m = MessageDigest, digest(signingAlgorithms[a.alg].hash, msg)
		}
		sig, err := k.Sign(a.alg, mt, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), mt, m, sig)
	}
	f.Add(uint8(5), MessageRaw, msg, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Add(uint8(2), MessageDigest, make([]byte, 32), []byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0, 0})
	f.Fuzz(func(t *testing.T, which uint8, mt string, m, sig []byte) {
		a := fuzzAlgs[int(which)%len(fuzzAlgs)]
		pub := fuzzKey(t, a.spec).Public()
		err := pub.Verify(a.alg, mt, m, sig)
		if err != nil {
			if !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Verify(%s): unexpected error %v", a.alg, err)
			}
			return
		}
		if len(m) == 0 {
			return
		}
		other := bytes.Clone(m)
		other[0] ^= 1
		if pub.Verify(a.alg, mt, other, sig) == nil {
			t.Fatalf("%s: one signature verifies two messages", a.alg)
		}
	})
}

// FuzzParsePublicKey parses outside DER as each spec's public key (what
// DeriveSharedSecret and tests parse). Nothing panics, a key that parses
// re-encodes to a DER that parses to the same key, and nothing parses as
// two specs of different families.
func FuzzParsePublicKey(f *testing.F) {
	for _, spec := range []string{SpecRSA2048, SpecP256, SpecP521, SpecSecp256k1, SpecEd25519, SpecMLDSA44} {
		f.Add(fuzzKey(f, spec).Public().DER())
	}
	f.Add([]byte{0x30, 0x00})
	specs := []string{SpecRSA2048, SpecRSA3072, SpecRSA4096, SpecP256, SpecP384, SpecP521, SpecSecp256k1, SpecEd25519,
		SpecMLDSA44, SpecMLDSA65, SpecMLDSA87, SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024}
	f.Fuzz(func(t *testing.T, der []byte) {
		parsed := 0
		for _, spec := range specs {
			p, err := ParsePublicKey(spec, der)
			if err != nil {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("ParsePublicKey(%s): unexpected error %v", spec, err)
				}
				continue
			}
			parsed++
			again, err := ParsePublicKey(spec, p.DER())
			if err != nil || !bytes.Equal(again.DER(), p.DER()) {
				t.Fatalf("%s: the re-encoded key does not round-trip: %v", spec, err)
			}
		}
		if parsed > 1 {
			t.Fatalf("one DER parsed as %d specs", parsed)
		}
	})
}
