package crypto

import (
	"bytes"
	"crypto/mlkem"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"testing"

	"filippo.io/mldsa"
	mldsax509 "filippo.io/mldsa/x509"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
)

var asymmetricSpecs = []string{SpecRSA2048, SpecRSA3072, SpecRSA4096, SpecP256, SpecP384, SpecP521, SpecSecp256k1,
	SpecEd25519, SpecMLDSA44, SpecMLDSA65, SpecMLDSA87, SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024}

// keyCache shares one generated key per spec between the tests of this
// package: RSA_4096 generation alone takes seconds.
var keyCache = map[string]*KeyPair{}

func testKey(t testing.TB, spec string) *KeyPair {
	t.Helper()
	if k, ok := keyCache[spec]; ok {
		return k
	}
	k, err := GenerateKeyPair(spec)
	if err != nil {
		t.Fatalf("GenerateKeyPair(%s): %v", spec, err)
	}
	keyCache[spec] = k
	return k
}

// Sizes of the DER public keys AWS KMS's GetPublicKey returns (RSA varies
// by a byte or two with the modulus; these are exact for the others).
var spkiSizes = map[string]int{
	SpecP256: 91, SpecP384: 120, SpecP521: 158, SpecSecp256k1: 88, SpecEd25519: 44,
	SpecMLDSA44: 1334, SpecMLDSA65: 1974, SpecMLDSA87: 2614,
	SpecMLKEM512: 800 + 22, SpecMLKEM768: 1184 + 22, SpecMLKEM1024: 1568 + 22,
}

func TestKeyPairRoundTrip(t *testing.T) {
	for _, spec := range asymmetricSpecs {
		t.Run(spec, func(t *testing.T) {
			k := testKey(t, spec)
			raw := k.MarshalPrivateKey()
			k2, err := ParseKeyPair(spec, raw)
			if err != nil {
				t.Fatalf("ParseKeyPair: %v", err)
			}
			if !bytes.Equal(k.Public().DER(), k2.Public().DER()) {
				t.Fatal("the parsed private key has another public key")
			}
			if n, ok := spkiSizes[spec]; ok && len(k.Public().DER()) != n {
				t.Errorf("SubjectPublicKeyInfo is %d bytes, AWS's is %d", len(k.Public().DER()), n)
			}
			p, err := ParsePublicKey(spec, k.Public().DER())
			if err != nil {
				t.Fatalf("ParsePublicKey: %v", err)
			}
			if !bytes.Equal(p.DER(), k.Public().DER()) {
				t.Fatal("ParsePublicKey does not round-trip")
			}
			// Another spec never parses it.
			for _, other := range asymmetricSpecs {
				if other == spec {
					continue
				}
				if _, err := ParsePublicKey(other, k.Public().DER()); !errors.Is(err, ErrInvalidInput) {
					t.Errorf("ParsePublicKey(%s) of a %s key = %v, want ErrInvalidInput", other, spec, err)
				}
			}
		})
	}
}

func TestMLDSASPKIMatchesLibrary(t *testing.T) {
	// filippo.io/mldsa/x509 implements RFC 9881's encoding independently
	// of kagi's.
	for _, spec := range []string{SpecMLDSA44, SpecMLDSA65, SpecMLDSA87} {
		k := testKey(t, spec)
		want, err := mldsax509.MarshalPKIXPublicKey(k.Public().Key())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Public().DER(), want) {
			t.Errorf("%s: SubjectPublicKeyInfo differs from filippo.io/mldsa/x509's", spec)
		}
	}
}

func TestMLKEMSeedIsFIPS203(t *testing.T) {
	// The same 64-byte seed (d ‖ z) gives the same key in the standard
	// library and in circl: kagi's ML_KEM_512 (circl) and ML_KEM_768/1024
	// (crypto/mlkem) read seeds alike.
	seed := bytes.Repeat([]byte{7}, 64)
	dk, err := mlkem.NewDecapsulationKey768(seed)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := mlkem768.NewKeyFromSeed(seed)
	b, _ := pk.MarshalBinary()
	if !bytes.Equal(b, dk.EncapsulationKey().Bytes()) {
		t.Fatal("circl and crypto/mlkem derive different ML-KEM-768 keys from one seed")
	}
}

func TestSignVerify(t *testing.T) {
	msg := []byte("a message to sign")
	for _, spec := range asymmetricSpecs {
		k := testKey(t, spec)
		for alg := range signingAlgorithms {
			for _, mt := range []string{MessageRaw, MessageDigest, MessageExternalMu} {
				in := msg
				switch {
				case mt == MessageDigest && DigestSize(alg) > 0:
					in = digest(signingAlgorithms[alg].hash, msg)
				case mt == MessageExternalMu:
					in = bytes.Repeat([]byte{1}, MuSize)
				}
				sig, err := k.Sign(alg, mt, in)
				fits := SigningAlgorithmFits(spec, alg)
				if !fits {
					if !errors.Is(err, ErrUnsupported) {
						t.Errorf("%s %s: Sign = %v, want ErrUnsupported", spec, alg, err)
					}
					continue
				}
				if err != nil {
					if !errors.Is(err, ErrUnsupported) {
						t.Errorf("%s %s %s: Sign: %v", spec, alg, mt, err)
					}
					continue
				}
				if err := k.Public().Verify(alg, mt, in, sig); err != nil {
					t.Errorf("%s %s %s: Verify: %v", spec, alg, mt, err)
				}
				bad := bytes.Clone(sig)
				bad[len(bad)/2] ^= 1
				if err := k.Public().Verify(alg, mt, in, bad); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("%s %s %s: Verify of a changed signature = %v", spec, alg, mt, err)
				}
				other := bytes.Clone(in)
				other[0] ^= 1
				if err := k.Public().Verify(alg, mt, other, sig); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("%s %s %s: Verify of another message = %v", spec, alg, mt, err)
				}
				// A RAW signature verifies as the DIGEST of the same message.
				if mt == MessageRaw && DigestSize(alg) > 0 {
					if err := k.Public().Verify(alg, MessageDigest, digest(signingAlgorithms[alg].hash, msg), sig); err != nil {
						t.Errorf("%s %s: RAW signature does not verify as DIGEST: %v", spec, alg, err)
					}
				}
			}
		}
	}
}

func TestMLDSAExternalMu(t *testing.T) {
	// A signature over μ = SHAKE256(SHAKE256(pk, 64) ‖ 0 ‖ 0 ‖ M, 64) is
	// the pure ML-DSA signature of M with an empty context (FIPS 204,
	// Algorithm 7), computed here independently of the library.
	msg := []byte("external mu")
	for _, spec := range []string{SpecMLDSA44, SpecMLDSA65, SpecMLDSA87} {
		k := testKey(t, spec)
		pk := k.Public().Key().(*mldsa.PublicKey)
		tr := sha3.SumSHAKE256(pk.Bytes(), 64)
		mu := sha3.SumSHAKE256(append(append(tr, 0, 0), msg...), 64)
		sig, err := k.Sign("ML_DSA_SHAKE_256", MessageExternalMu, mu)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Public().Verify("ML_DSA_SHAKE_256", MessageRaw, msg, sig); err != nil {
			t.Errorf("%s: signature over μ does not verify over the message: %v", spec, err)
		}
		// Both ways round: over μ, and a RAW signature over μ too.
		if err := k.Public().Verify("ML_DSA_SHAKE_256", MessageExternalMu, mu, sig); err != nil {
			t.Errorf("%s: signature over μ does not verify over μ: %v", spec, err)
		}
		raw, err := k.Sign("ML_DSA_SHAKE_256", MessageRaw, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Public().Verify("ML_DSA_SHAKE_256", MessageExternalMu, mu, raw); err != nil {
			t.Errorf("%s: RAW signature does not verify over μ: %v", spec, err)
		}
		for _, bad := range [][]byte{mu[:63], append(bytes.Clone(mu), 0)} {
			if err := k.Public().Verify("ML_DSA_SHAKE_256", MessageExternalMu, bad, sig); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%s: Verify over a %d-byte μ = %v, want ErrInvalidInput", spec, len(bad), err)
			}
		}
		if len(sig) != mldsaParams(spec).SignatureSize() {
			t.Errorf("%s: signature is %d bytes", spec, len(sig))
		}
	}
}

func TestEd25519phRFC8032(t *testing.T) {
	// RFC 8032, section 7.3, test 1 ("abc"), through Sign's DIGEST path.
	seed, _ := hex.DecodeString("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
	want, _ := hex.DecodeString("98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406")
	k, err := ParseKeyPair(SpecEd25519, seed)
	if err != nil {
		t.Fatal(err)
	}
	d := sha512.Sum512([]byte("abc"))
	sig, err := k.Sign("ED25519_PH_SHA_512", MessageDigest, d[:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig, want) {
		t.Fatalf("Ed25519ph signature = %x, RFC 8032 says %x", sig, want)
	}
	if err := k.Public().Verify("ED25519_PH_SHA_512", MessageDigest, d[:], sig); err != nil {
		t.Fatal(err)
	}
	// The pure Ed25519 signature of the same bytes is another one.
	if err := k.Public().Verify("ED25519_SHA_512", MessageRaw, d[:], sig); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("an Ed25519ph signature verified as pure Ed25519: %v", err)
	}
}

func TestSignInputRules(t *testing.T) {
	rsa := testKey(t, SpecRSA2048)
	ed := testKey(t, SpecEd25519)
	ml := testKey(t, SpecMLDSA44)
	d := sha256.Sum256([]byte("x"))
	cases := []struct {
		k       *KeyPair
		alg, mt string
		msg     []byte
		want    error
	}{
		{rsa, "RSASSA_PSS_SHA_256", MessageDigest, d[:31], ErrInvalidInput},
		{rsa, "RSASSA_PSS_SHA_384", MessageDigest, d[:], ErrInvalidInput},
		{rsa, "RSASSA_PSS_SHA_256", MessageExternalMu, make([]byte, 64), ErrUnsupported},
		{rsa, "ECDSA_SHA_256", MessageRaw, d[:], ErrUnsupported},
		{ed, "ED25519_SHA_512", MessageDigest, make([]byte, 64), ErrUnsupported},
		{ed, "ED25519_PH_SHA_512", MessageRaw, d[:], ErrUnsupported},
		{ed, "ED25519_PH_SHA_512", MessageDigest, d[:], ErrInvalidInput},
		{ml, "ML_DSA_SHAKE_256", MessageDigest, d[:], ErrUnsupported},
		{ml, "ML_DSA_SHAKE_256", MessageExternalMu, d[:], ErrInvalidInput},
		{ml, "SM2DSA", MessageRaw, d[:], ErrUnsupported},
	}
	for _, c := range cases {
		if _, err := c.k.Sign(c.alg, c.mt, c.msg); !errors.Is(err, c.want) {
			t.Errorf("Sign(%s, %s, %s, %d bytes) = %v, want %v", c.k.Spec(), c.alg, c.mt, len(c.msg), err, c.want)
		}
		if err := c.k.Public().Verify(c.alg, c.mt, c.msg, make([]byte, 64)); !errors.Is(err, c.want) {
			t.Errorf("Verify(%s, %s, %s) = %v, want %v", c.k.Spec(), c.alg, c.mt, err, c.want)
		}
	}
}

func TestOAEP(t *testing.T) {
	for _, spec := range []string{SpecRSA2048, SpecRSA3072, SpecRSA4096} {
		k := testKey(t, spec)
		for _, alg := range []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"} {
			max := OAEPMaxPlaintext(spec, alg)
			pt := bytes.Repeat([]byte{9}, max)
			ct, err := k.Public().EncryptOAEP(alg, pt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.DecryptOAEP(alg, ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("%s %s: DecryptOAEP = %v", spec, alg, err)
			}
			if _, err := k.Public().EncryptOAEP(alg, append(pt, 0)); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%s %s: %d-byte plaintext: %v", spec, alg, max+1, err)
			}
			ct[3] ^= 1
			if _, err := k.DecryptOAEP(alg, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("%s %s: tampered ciphertext: %v", spec, alg, err)
			}
		}
	}
	// AWS's documented limits.
	for spec, want := range map[string][2]int{SpecRSA2048: {214, 190}, SpecRSA3072: {342, 318}, SpecRSA4096: {470, 446}} {
		if a, b := OAEPMaxPlaintext(spec, "RSAES_OAEP_SHA_1"), OAEPMaxPlaintext(spec, "RSAES_OAEP_SHA_256"); a != want[0] || b != want[1] {
			t.Errorf("%s: OAEP limits %d/%d, AWS's %d/%d", spec, a, b, want[0], want[1])
		}
	}
}

func TestECDH(t *testing.T) {
	for _, spec := range []string{SpecP256, SpecP384, SpecP521} {
		a := testKey(t, spec)
		b, err := GenerateKeyPair(spec)
		if err != nil {
			t.Fatal(err)
		}
		s1, err := a.DeriveSharedSecret(b.Public().DER())
		if err != nil {
			t.Fatal(err)
		}
		s2, err := b.DeriveSharedSecret(a.Public().DER())
		if err != nil || !bytes.Equal(s1, s2) {
			t.Fatalf("%s: ECDH disagrees: %v", spec, err)
		}
		if want := map[string]int{SpecP256: 32, SpecP384: 48, SpecP521: 66}[spec]; len(s1) != want {
			t.Errorf("%s: shared secret is %d bytes, want %d", spec, len(s1), want)
		}
	}
	if _, err := testKey(t, SpecP256).DeriveSharedSecret(testKey(t, SpecP384).Public().DER()); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("ECDH across curves: %v", err)
	}
	if _, err := testKey(t, SpecP256).DeriveSharedSecret([]byte("junk")); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("ECDH with junk: %v", err)
	}
	if _, err := testKey(t, SpecEd25519).DeriveSharedSecret(testKey(t, SpecP256).Public().DER()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ECDH with Ed25519: %v", err)
	}
}

func TestKEM(t *testing.T) {
	for _, spec := range []string{SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024} {
		k := testKey(t, spec)
		ss, ct, err := k.Public().Encapsulate()
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != KEMCiphertextSize(spec) || len(ss) != 32 {
			t.Fatalf("%s: %d-byte ciphertext, %d-byte secret", spec, len(ct), len(ss))
		}
		got, err := k.Decapsulate(ct)
		if err != nil || !bytes.Equal(got, ss) {
			t.Fatalf("%s: Decapsulate: %v", spec, err)
		}
		ct[0] ^= 1
		got, err = k.Decapsulate(ct)
		if err != nil || bytes.Equal(got, ss) || len(got) != 32 {
			t.Fatalf("%s: implicit rejection: %v", spec, err)
		}
		if _, err := k.Decapsulate(ct[1:]); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: short ciphertext: %v", spec, err)
		}
	}
}

func TestHMAC(t *testing.T) {
	for spec, alg := range map[string]string{SpecHMAC224: "HMAC_SHA_224", SpecHMAC256: "HMAC_SHA_256", SpecHMAC384: "HMAC_SHA_384", SpecHMAC512: "HMAC_SHA_512"} {
		if MACAlgorithm(spec) != alg {
			t.Errorf("MACAlgorithm(%s) = %s", spec, MACAlgorithm(spec))
		}
		key, err := NewHMACKey(spec)
		if err != nil || len(key) != HMACKeySize(spec) {
			t.Fatalf("%s: NewHMACKey: %d bytes, %v", spec, len(key), err)
		}
		mac, err := MAC(spec, alg, key, []byte("msg"))
		if err != nil || len(mac) != HMACKeySize(spec) {
			t.Fatalf("%s: MAC: %v", spec, err)
		}
		if err := VerifyMAC(spec, alg, key, []byte("msg"), mac); err != nil {
			t.Fatal(err)
		}
		mac[0] ^= 1
		if err := VerifyMAC(spec, alg, key, []byte("msg"), mac); !errors.Is(err, ErrInvalidMAC) {
			t.Fatalf("%s: changed MAC: %v", spec, err)
		}
		if _, err := MAC(spec, "HMAC_SHA_1", key, nil); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("%s: wrong algorithm: %v", spec, err)
		}
	}
}

func TestParseRejectsJunk(t *testing.T) {
	for _, spec := range asymmetricSpecs {
		if _, err := ParseKeyPair(spec, []byte("short")); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ParseKeyPair(%s, junk) = %v", spec, err)
		}
		der := testKey(t, spec).Public().DER()
		if _, err := ParsePublicKey(spec, append(bytes.Clone(der), 0)); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ParsePublicKey(%s) accepted trailing data: %v", spec, err)
		}
	}
	if _, err := GenerateKeyPair("SM2"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("GenerateKeyPair(SM2) = %v", err)
	}
	// secp256k1: zero and the group order are no keys.
	n, _ := hex.DecodeString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	for _, b := range [][]byte{make([]byte, 32), n} {
		if _, err := ParseKeyPair(SpecSecp256k1, b); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ParseKeyPair(secp256k1, %x) = %v", b, err)
		}
	}
}
