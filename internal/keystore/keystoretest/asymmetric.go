package keystoretest

import (
	"bytes"
	"context"
	gocrypto "crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
)

// AsymmetricSpecs are the key pair specs every store must create.
var AsymmetricSpecs = []string{
	crypto.SpecRSA2048, crypto.SpecRSA3072, crypto.SpecRSA4096,
	crypto.SpecP256, crypto.SpecP384, crypto.SpecP521, crypto.SpecSecp256k1, crypto.SpecEd25519,
	crypto.SpecMLDSA44, crypto.SpecMLDSA65, crypto.SpecMLDSA87,
	crypto.SpecMLKEM512, crypto.SpecMLKEM768, crypto.SpecMLKEM1024,
}

// MACSpecs are the HMAC specs every store must create.
var MACSpecs = []string{crypto.SpecHMAC224, crypto.SpecHMAC256, crypto.SpecHMAC384, crypto.SpecHMAC512}

// signingAlgorithms are AWS's signing algorithms by key spec family.
func signingAlgorithms(spec string) []string {
	var out []string
	for _, alg := range []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "ECDSA_SHA_256", "ECDSA_SHA_384",
		"ECDSA_SHA_512", "ED25519_SHA_512", "ED25519_PH_SHA_512", "ML_DSA_SHAKE_256"} {
		if crypto.SigningAlgorithmFits(spec, alg) {
			out = append(out, alg)
		}
	}
	return out
}

// signInput returns a message of the type alg takes by default: a RAW
// message, or for ED25519_PH_SHA_512 (DIGEST only) a SHA-512 digest.
func signInput(alg string) (string, []byte) {
	if alg == "ED25519_PH_SHA_512" {
		return crypto.MessageDigest, bytes.Repeat([]byte{0x5a}, 64)
	}
	return crypto.MessageRaw, []byte("conformance message")
}

// TestAsymmetric runs the conformance suite of keystore.Asymmetric against
// the store newStore returns. Each subtest gets a fresh store.
func TestAsymmetric(t *testing.T, newStore func(t *testing.T) keystore.Asymmetric) {
	ctx := context.Background()
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

	newPair := func(t *testing.T, s keystore.Asymmetric, spec string) keystore.Handle {
		t.Helper()
		ref := NewRef(arn)
		p, err := s.NewKeyPair(ctx, ref, spec)
		if err != nil {
			t.Fatalf("NewKeyPair(%s): %v", spec, err)
		}
		if len(p) == 0 {
			t.Fatal("NewKeyPair returned an empty persisted form")
		}
		return keystore.Handle{Ref: ref, Spec: spec, Persisted: p}
	}
	publicKey := func(t *testing.T, s keystore.Asymmetric, h keystore.Handle) *crypto.PublicKey {
		t.Helper()
		der, err := s.PublicKey(ctx, h)
		if err != nil {
			t.Fatalf("PublicKey(%s): %v", h.Spec, err)
		}
		pub, err := crypto.ParsePublicKey(h.Spec, der)
		if err != nil {
			t.Fatalf("PublicKey(%s) is no DER %s SubjectPublicKeyInfo: %v", h.Spec, h.Spec, err)
		}
		return pub
	}

	t.Run("EverySpec", func(t *testing.T) {
		s := newStore(t)
		for _, spec := range AsymmetricSpecs {
			h := newPair(t, s, spec)
			pub := publicKey(t, s, h)
			for _, alg := range signingAlgorithms(spec) {
				mt, msg := signInput(alg)
				sig, err := s.Sign(ctx, h, alg, mt, msg)
				if err != nil {
					t.Fatalf("%s: Sign(%s): %v", spec, alg, err)
				}
				// The public key alone verifies it, and so does the store.
				if err := pub.Verify(alg, mt, msg, sig); err != nil {
					t.Errorf("%s %s: the public key does not verify the store's signature: %v", spec, alg, err)
				}
				if err := s.Verify(ctx, h, alg, mt, msg, sig); err != nil {
					t.Errorf("%s %s: Verify: %v", spec, alg, err)
				}
				sig[len(sig)-1] ^= 1
				if err := s.Verify(ctx, h, alg, mt, msg, sig); !errors.Is(err, crypto.ErrInvalidSignature) {
					t.Errorf("%s %s: Verify of a changed signature = %v, want crypto.ErrInvalidSignature", spec, alg, err)
				}
			}
			switch {
			case crypto.OAEPMaxPlaintext(spec, "RSAES_OAEP_SHA_256") > 0:
				for _, alg := range []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"} {
					ct, err := pub.EncryptOAEP(alg, []byte("oaep"))
					if err != nil {
						t.Fatal(err)
					}
					pt, err := s.AsymmetricDecrypt(ctx, h, alg, ct)
					if err != nil || string(pt) != "oaep" {
						t.Errorf("%s %s: AsymmetricDecrypt = %q, %v", spec, alg, pt, err)
					}
					ct[0] ^= 1
					if _, err := s.AsymmetricDecrypt(ctx, h, alg, ct); !errors.Is(err, crypto.ErrDecrypt) {
						t.Errorf("%s %s: AsymmetricDecrypt of a changed ciphertext = %v, want crypto.ErrDecrypt", spec, alg, err)
					}
				}
			case crypto.KEMCiphertextSize(spec) > 0:
				ss, ct, err := pub.Encapsulate()
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Decapsulate(ctx, h, ct)
				if err != nil || !bytes.Equal(got, ss) {
					t.Errorf("%s: Decapsulate: %v", spec, err)
				}
				if _, err := s.Decapsulate(ctx, h, ct[:len(ct)-1]); !errors.Is(err, crypto.ErrInvalidInput) {
					t.Errorf("%s: Decapsulate of a short ciphertext = %v, want crypto.ErrInvalidInput", spec, err)
				}
			}
			if spec == crypto.SpecP256 || spec == crypto.SpecP384 || spec == crypto.SpecP521 {
				peer := newPair(t, s, spec)
				peerPub, _ := s.PublicKey(ctx, peer)
				a, err := s.DeriveSharedSecret(ctx, h, peerPub)
				if err != nil {
					t.Fatalf("%s: DeriveSharedSecret: %v", spec, err)
				}
				b, err := s.DeriveSharedSecret(ctx, peer, pub.DER())
				if err != nil || !bytes.Equal(a, b) {
					t.Errorf("%s: the two sides of ECDH disagree: %v", spec, err)
				}
			}
		}
	})

	t.Run("Import", func(t *testing.T) {
		// An imported PKCS #8 key is the one the store uses: its public
		// key is the store's, and the store's signatures verify with it
		// (RSA PKCS #1 v1.5 ones are equal, being deterministic).
		s := newStore(t)
		rk, _ := rsa.GenerateKey(rand.Reader, 2048)
		ek, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		_, edk, _ := ed25519.GenerateKey(rand.Reader)
		for _, c := range []struct {
			spec string
			key  gocrypto.Signer
			alg  string
		}{
			{crypto.SpecRSA2048, rk, "RSASSA_PKCS1_V1_5_SHA_256"},
			{crypto.SpecP384, ek, "ECDSA_SHA_384"},
			{crypto.SpecEd25519, edk, "ED25519_SHA_512"},
		} {
			der, err := x509.MarshalPKCS8PrivateKey(c.key)
			if err != nil {
				t.Fatal(err)
			}
			ref := NewRef(arn)
			p, err := s.ImportKeyPair(ctx, ref, c.spec, der)
			if err != nil {
				t.Fatalf("ImportKeyPair(%s): %v", c.spec, err)
			}
			h := keystore.Handle{Ref: ref, Spec: c.spec, Persisted: p}
			want, _ := x509.MarshalPKIXPublicKey(c.key.Public())
			if got, err := s.PublicKey(ctx, h); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: the store's public key is not the imported key's: %v", c.spec, err)
			}
			sig, err := newStore(t).Sign(ctx, h, c.alg, "RAW", []byte("imported"))
			if err != nil {
				t.Fatalf("%s: Sign: %v", c.spec, err)
			}
			if c.spec == crypto.SpecRSA2048 {
				d := sha256.Sum256([]byte("imported"))
				local, _ := rsa.SignPKCS1v15(nil, rk, gocrypto.SHA256, d[:])
				if !bytes.Equal(sig, local) {
					t.Errorf("RSA: the store's PKCS #1 v1.5 signature differs from the imported key's")
				}
			}
			if err := publicKey(t, s, h).Verify(c.alg, "RAW", []byte("imported"), sig); err != nil {
				t.Errorf("%s: Verify: %v", c.spec, err)
			}
			if _, err := s.ImportKeyPair(ctx, NewRef(arn), crypto.SpecRSA3072, der); !errors.Is(err, crypto.ErrInvalidInput) {
				t.Errorf("%s key imported as RSA_3072: %v", c.spec, err)
			}
		}
		if _, err := s.ImportKeyPair(ctx, NewRef(arn), crypto.SpecP256, []byte("not DER")); !errors.Is(err, crypto.ErrInvalidInput) {
			t.Errorf("ImportKeyPair of garbage: %v", err)
		}
	})

	t.Run("WrongUse", func(t *testing.T) {
		s := newStore(t)
		ec := newPair(t, s, crypto.SpecP256)
		ed := newPair(t, s, crypto.SpecEd25519)
		d := sha256.Sum256([]byte("x"))
		if _, err := s.Sign(ctx, ec, "RSASSA_PSS_SHA_256", crypto.MessageDigest, d[:]); !errors.Is(err, crypto.ErrUnsupported) {
			t.Errorf("RSA algorithm with an EC key: %v, want crypto.ErrUnsupported", err)
		}
		if _, err := s.Sign(ctx, ec, "ECDSA_SHA_256", crypto.MessageDigest, d[:31]); !errors.Is(err, crypto.ErrInvalidInput) {
			t.Errorf("short digest: %v, want crypto.ErrInvalidInput", err)
		}
		if _, err := s.AsymmetricDecrypt(ctx, ec, "RSAES_OAEP_SHA_256", make([]byte, 256)); !errors.Is(err, crypto.ErrUnsupported) {
			t.Errorf("OAEP with an EC key: %v, want crypto.ErrUnsupported", err)
		}
		if _, err := s.Decapsulate(ctx, ec, make([]byte, 1088)); !errors.Is(err, crypto.ErrUnsupported) {
			t.Errorf("Decapsulate with an EC key: %v, want crypto.ErrUnsupported", err)
		}
		if _, err := s.DeriveSharedSecret(ctx, ed, []byte("x")); !errors.Is(err, crypto.ErrUnsupported) {
			t.Errorf("ECDH with Ed25519: %v, want crypto.ErrUnsupported", err)
		}
		if _, err := s.DeriveSharedSecret(ctx, ec, []byte("not a key")); !errors.Is(err, crypto.ErrInvalidInput) {
			t.Errorf("ECDH with junk: %v, want crypto.ErrInvalidInput", err)
		}
		for _, spec := range []string{crypto.SpecSymmetric, crypto.SpecHMAC256, "SM2", ""} {
			if _, err := s.NewKeyPair(ctx, NewRef(arn), spec); !errors.Is(err, crypto.ErrUnsupported) {
				t.Errorf("NewKeyPair(%q) = %v, want crypto.ErrUnsupported", spec, err)
			}
		}
	})

	t.Run("PersistedSurvivesStore", func(t *testing.T) {
		s1 := newStore(t)
		h := newPair(t, s1, crypto.SpecEd25519)
		sig, err := s1.Sign(ctx, h, "ED25519_SHA_512", crypto.MessageRaw, []byte("m"))
		if err != nil {
			t.Fatal(err)
		}
		s2 := newStore(t)
		h.Persisted = bytes.Clone(h.Persisted)
		if err := s2.Verify(ctx, h, "ED25519_SHA_512", crypto.MessageRaw, []byte("m"), sig); err != nil {
			t.Fatalf("a second store does not verify: %v", err)
		}
		if !bytes.Equal(publicKey(t, s1, h).DER(), publicKey(t, s2, h).DER()) {
			t.Fatal("a second store has another public key")
		}
	})

	t.Run("PairIsPerVersion", func(t *testing.T) {
		s := newStore(t)
		h1 := newPair(t, s, crypto.SpecP256)
		p2, err := s.NewKeyPair(ctx, h1.Ref, crypto.SpecP256) // a retried create
		if err != nil {
			t.Fatal(err)
		}
		h2 := keystore.Handle{Ref: h1.Ref, Spec: h1.Spec, Persisted: p2}
		if bytes.Equal(publicKey(t, s, h1).DER(), publicKey(t, s, h2).DER()) {
			t.Fatal("two NewKeyPair calls made the same key")
		}
		// Each persisted form keeps its own key however the cache moved.
		sig, err := s.Sign(ctx, h1, "ECDSA_SHA_256", crypto.MessageRaw, []byte("m"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(ctx, h2, "ECDSA_SHA_256", crypto.MessageRaw, []byte("m"), sig); !errors.Is(err, crypto.ErrInvalidSignature) {
			t.Errorf("the second key verified the first's signature: %v", err)
		}
		if err := s.Verify(ctx, h1, "ECDSA_SHA_256", crypto.MessageRaw, []byte("m"), sig); err != nil {
			t.Errorf("the first key no longer verifies its signature: %v", err)
		}
	})

	t.Run("PersistedIsBound", func(t *testing.T) {
		s := newStore(t)
		h := newPair(t, s, crypto.SpecMLDSA44)
		otherVersion := h
		otherVersion.Ref.MaterialID[0] ^= 1
		otherKey := h
		otherKey.Ref.KeyARN = arn[:len(arn)-1] + "c"
		otherSpec := h
		otherSpec.Spec = crypto.SpecMLDSA65
		for name, bad := range map[string]keystore.Handle{"other version": otherVersion, "other key": otherKey, "other spec": otherSpec} {
			if sig, err := s.Sign(ctx, bad, "ML_DSA_SHAKE_256", crypto.MessageRaw, []byte("m")); err == nil {
				t.Errorf("%s: Sign with moved key pair succeeded (%d bytes)", name, len(sig))
			}
			if _, err := s.PublicKey(ctx, bad); err == nil {
				t.Errorf("%s: PublicKey of moved key pair succeeded", name)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		hs := []keystore.Handle{newPair(t, s, crypto.SpecP256), newPair(t, s, crypto.SpecEd25519), newPair(t, s, crypto.SpecSecp256k1)}
		algs := []string{"ECDSA_SHA_256", "ED25519_SHA_512", "ECDSA_SHA_256"}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 30 {
					j := (g + i) % len(hs)
					msg := []byte(fmt.Sprintf("goroutine %d message %d", g, i))
					sig, err := s.Sign(ctx, hs[j], algs[j], crypto.MessageRaw, msg)
					if err == nil {
						err = s.Verify(ctx, hs[j], algs[j], crypto.MessageRaw, msg, sig)
					}
					if err != nil {
						errs <- err
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

// TestMAC runs the conformance suite of keystore.MAC.
func TestMAC(t *testing.T, newStore func(t *testing.T) keystore.MAC) {
	ctx := context.Background()
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	newKey := func(t *testing.T, s keystore.MAC, spec string) keystore.Handle {
		t.Helper()
		ref := NewRef(arn)
		p, err := s.NewMACKey(ctx, ref, spec)
		if err != nil {
			t.Fatalf("NewMACKey(%s): %v", spec, err)
		}
		return keystore.Handle{Ref: ref, Spec: spec, Persisted: p}
	}

	t.Run("EverySpec", func(t *testing.T) {
		s := newStore(t)
		for _, spec := range MACSpecs {
			h := newKey(t, s, spec)
			alg := crypto.MACAlgorithm(spec)
			mac, err := s.GenerateMAC(ctx, h, alg, []byte("message"))
			if err != nil {
				t.Fatalf("%s: GenerateMAC: %v", spec, err)
			}
			if len(mac) != crypto.HMACKeySize(spec) {
				t.Errorf("%s: MAC is %d bytes", spec, len(mac))
			}
			again, _ := s.GenerateMAC(ctx, h, alg, []byte("message"))
			if !bytes.Equal(mac, again) {
				t.Errorf("%s: GenerateMAC is not deterministic", spec)
			}
			if err := s.VerifyMAC(ctx, h, alg, []byte("message"), mac); err != nil {
				t.Errorf("%s: VerifyMAC: %v", spec, err)
			}
			mac[0] ^= 1
			if err := s.VerifyMAC(ctx, h, alg, []byte("message"), mac); !errors.Is(err, crypto.ErrInvalidMAC) {
				t.Errorf("%s: VerifyMAC of a changed MAC = %v, want crypto.ErrInvalidMAC", spec, err)
			}
			if _, err := s.GenerateMAC(ctx, h, "HMAC_SHA_1", nil); !errors.Is(err, crypto.ErrUnsupported) {
				t.Errorf("%s: another algorithm: %v, want crypto.ErrUnsupported", spec, err)
			}
		}
		if _, err := s.NewMACKey(ctx, NewRef(arn), crypto.SpecP256); !errors.Is(err, crypto.ErrUnsupported) {
			t.Errorf("NewMACKey(ECC_NIST_P256) = %v, want crypto.ErrUnsupported", err)
		}
	})

	t.Run("Import", func(t *testing.T) {
		// Imported keys of every allowed length are what the store uses.
		s := newStore(t)
		for _, c := range []struct {
			spec     string
			min, max int
		}{{crypto.SpecHMAC224, 28, 64}, {crypto.SpecHMAC256, 32, 64}, {crypto.SpecHMAC384, 48, 128}, {crypto.SpecHMAC512, 64, 128}} {
			alg := crypto.MACAlgorithm(c.spec)
			for _, n := range []int{c.min, c.max} {
				key := make([]byte, n)
				_, _ = rand.Read(key)
				ref := NewRef(arn)
				p, err := s.ImportMACKey(ctx, ref, c.spec, key)
				if err != nil {
					t.Fatalf("%s: ImportMACKey(%d bytes): %v", c.spec, n, err)
				}
				h := keystore.Handle{Ref: ref, Spec: c.spec, Persisted: p}
				want, _ := crypto.MAC(c.spec, alg, key, []byte("m"))
				for _, st := range []keystore.MAC{s, newStore(t)} {
					got, err := st.GenerateMAC(ctx, h, alg, []byte("m"))
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("%s, %d bytes: the MAC is not the imported key's: %v", c.spec, n, err)
					}
				}
			}
			for _, n := range []int{c.min - 1, c.max + 1} {
				if _, err := s.ImportMACKey(ctx, NewRef(arn), c.spec, make([]byte, n)); !errors.Is(err, crypto.ErrInvalidInput) {
					t.Errorf("%s: ImportMACKey of %d bytes = %v, want crypto.ErrInvalidInput", c.spec, n, err)
				}
			}
		}
	})

	t.Run("KeysDifferAndSurvive", func(t *testing.T) {
		s1 := newStore(t)
		h1 := newKey(t, s1, crypto.SpecHMAC256)
		h2 := newKey(t, s1, crypto.SpecHMAC256)
		m1, _ := s1.GenerateMAC(ctx, h1, "HMAC_SHA_256", []byte("m"))
		m2, _ := s1.GenerateMAC(ctx, h2, "HMAC_SHA_256", []byte("m"))
		if bytes.Equal(m1, m2) {
			t.Fatal("two HMAC keys gave the same MAC")
		}
		if err := newStore(t).VerifyMAC(ctx, h1, "HMAC_SHA_256", []byte("m"), m1); err != nil {
			t.Fatalf("a second store does not verify: %v", err)
		}
		moved := h1
		moved.Ref.MaterialID[5] ^= 1
		if _, err := s1.GenerateMAC(ctx, moved, "HMAC_SHA_256", []byte("m")); err == nil {
			t.Fatal("an HMAC key moved to another version still works")
		}
		respec := h1
		respec.Spec = crypto.SpecHMAC512
		if _, err := s1.GenerateMAC(ctx, respec, "HMAC_SHA_512", []byte("m")); err == nil {
			t.Fatal("an HMAC key opened as another spec")
		}
	})
}
