package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// pkcs8Secp256k1 encodes a secp256k1 scalar as openssl does: PKCS #8
// around an RFC 5915 ECPrivateKey with the public key.
func pkcs8Secp256k1(t testing.TB, k *secp256k1.PrivateKey) []byte {
	params, _ := asn1.Marshal(oidSecp256k1)
	inner, err := asn1.Marshal(struct {
		Version    int
		PrivateKey []byte
		PublicKey  asn1.BitString `asn1:"optional,explicit,tag:1"`
	}{1, k.Serialize(), asn1.BitString{Bytes: k.PubKey().SerializeUncompressed(), BitLength: 65 * 8}})
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: params}}, inner})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePKCS8KeyPair(t *testing.T) {
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	rk := testWrappingKey(t) // an RSA_2048 key
	sk, _ := secp256k1.GeneratePrivateKey()
	marshal := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	cases := []struct {
		spec string
		der  []byte
		raw  []byte
	}{
		{SpecRSA2048, marshal(rk), marshal(rk)},
		{SpecP256, marshal(ek), func() []byte { b, _ := ek.Bytes(); return b }()},
		{SpecEd25519, marshal(edk), edk.Seed()},
		{SpecSecp256k1, pkcs8Secp256k1(t, sk), sk.Serialize()},
	}
	for _, c := range cases {
		k, err := ParsePKCS8KeyPair(c.spec, c.der)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		if !bytes.Equal(k.MarshalPrivateKey(), c.raw) {
			t.Errorf("%s: compact encoding differs", c.spec)
		}
		for _, other := range []string{SpecRSA3072, SpecP384, SpecP521, SpecEd25519, SpecSecp256k1, SpecRSA2048, SpecP256} {
			if other == c.spec {
				continue
			}
			if _, err := ParsePKCS8KeyPair(other, c.der); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%s key read as %s: %v", c.spec, other, err)
			}
		}
		if _, err := ParsePKCS8KeyPair(c.spec, append(bytes.Clone(c.der), 0)); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: trailing byte accepted: %v", c.spec, err)
		}
	}
	// ML-DSA and ML-KEM: PKCS #8 around the seed, [0] IMPLICIT.
	for _, c := range []struct {
		spec string
		n    int
	}{{SpecMLDSA65, 32}, {SpecMLKEM768, 64}, {SpecMLKEM512, 64}} {
		seed := make([]byte, c.n)
		rand.Read(seed)
		der := pkcs8Seed(t, c.spec, seed)
		k, err := ParsePKCS8KeyPair(c.spec, der)
		if err != nil || !bytes.Equal(k.MarshalPrivateKey(), seed) {
			t.Fatalf("%s: %v", c.spec, err)
		}
		if _, err := ParsePKCS8KeyPair(SpecMLDSA87, der); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s key read as ML_DSA_87: %v", c.spec, err)
		}
		inner, _ := asn1.Marshal(seed) // an untagged OCTET STRING: the expanded-key form's shape
		bad, _ := asn1.Marshal(struct {
			Version    int
			Algorithm  pkix.AlgorithmIdentifier
			PrivateKey []byte
		}{0, pkix.AlgorithmIdentifier{Algorithm: pqOID(c.spec)}, inner})
		if _, err := ParsePKCS8KeyPair(c.spec, bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: a key not in seed form: %v", c.spec, err)
		}
	}
	if _, err := ParsePKCS8KeyPair(SpecHMAC256, marshal(edk)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("HMAC_256: %v, want ErrUnsupported", err)
	}
}

// pkcs8Seed encodes an ML-DSA or ML-KEM seed as pyca/cryptography does.
func pkcs8Seed(t testing.TB, spec string, seed []byte) []byte {
	inner, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: seed})
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: pqOID(spec)}, inner})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// FuzzParsePKCS8KeyPair: imported asymmetric key material is outside
// bytes; the reader fails or returns a key of the spec, never panics.
func FuzzParsePKCS8KeyPair(f *testing.F) {
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	sk, _ := secp256k1.GeneratePrivateKey()
	for _, k := range []any{ek, edk} {
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		f.Add(uint8(0), der)
	}
	f.Add(uint8(4), pkcs8Secp256k1(f, sk))
	f.Add(uint8(6), pkcs8Seed(f, SpecMLDSA44, make([]byte, 32)))
	f.Add(uint8(7), pkcs8Seed(f, SpecMLKEM768, make([]byte, 64)))
	specs := []string{SpecP256, SpecP384, SpecP521, SpecEd25519, SpecSecp256k1, SpecRSA2048, SpecMLDSA44, SpecMLKEM768}
	f.Fuzz(func(t *testing.T, which uint8, der []byte) {
		spec := specs[int(which)%len(specs)]
		k, err := ParsePKCS8KeyPair(spec, der)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("%s: %v", spec, err)
			}
			return
		}
		if k.Spec() != spec {
			t.Fatalf("a %s key from a %s import", k.Spec(), spec)
		}
	})
}
