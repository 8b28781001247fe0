package crypto

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// dataKeyPairSpecs are the DataKeyPairSpec values kagi generates (all of
// the model's but SM2).
var dataKeyPairSpecs = []string{SpecRSA2048, SpecRSA3072, SpecRSA4096, SpecP256, SpecP384, SpecP521,
	SpecSecp256k1, SpecEd25519, SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024}

// TestPKCS8RoundTrip: every data key pair spec encodes to PKCS #8 and
// parses back to the same key; the specs crypto/x509 knows parse there
// too.
func TestPKCS8RoundTrip(t *testing.T) {
	t.Parallel()
	for _, spec := range dataKeyPairSpecs {
		k, err := GenerateKeyPair(spec)
		if err != nil {
			t.Fatal(err)
		}
		der, err := k.MarshalPKCS8()
		if err != nil {
			t.Fatalf("%s: MarshalPKCS8: %v", spec, err)
		}
		back, err := ParsePKCS8(der)
		if err != nil {
			t.Fatalf("%s: ParsePKCS8: %v", spec, err)
		}
		if back.Spec() != spec || !bytes.Equal(back.Public().DER(), k.Public().DER()) ||
			!bytes.Equal(back.MarshalPrivateKey(), k.MarshalPrivateKey()) {
			t.Errorf("%s: parsed back as another key (%s)", spec, back.Spec())
		}
		again, err := back.MarshalPKCS8()
		if err != nil || !bytes.Equal(again, der) {
			t.Errorf("%s: encoding is not stable (%v)", spec, err)
		}
		if _, err := x509.ParsePKCS8PrivateKey(der); (err == nil) != (isRSA(spec) || isNIST(spec) || spec == SpecEd25519) {
			t.Errorf("%s: crypto/x509 parse: %v", spec, err)
		}
		if len(der) > 8192 {
			t.Errorf("%s: %d bytes", spec, len(der))
		}
	}
	// ML-KEM keys in the seed form are one length for every parameter set.
	for _, spec := range []string{SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024} {
		k, _ := GenerateKeyPair(spec)
		der, _ := k.MarshalPKCS8()
		if len(der) != 86 {
			t.Errorf("%s: PKCS #8 is %d bytes, want 86", spec, len(der))
		}
	}
	k, _ := GenerateKeyPair(SpecMLDSA44)
	if _, err := k.MarshalPKCS8(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ML-DSA MarshalPKCS8: %v, want ErrUnsupported", err)
	}
}

// TestPKCS8Vectors: kagi encodes the keys of testdata/pkcs8-vectors.json
// (made by pyca/cryptography) byte for byte as pyca/cryptography does, and
// derives the same public keys from them.
func TestPKCS8Vectors(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "pkcs8-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct{ Spec, PKCS8, SPKI string }
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 4 {
		t.Fatalf("%d vectors", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		der, _ := hex.DecodeString(v.PKCS8)
		spki, _ := hex.DecodeString(v.SPKI)
		k, err := ParsePKCS8(der)
		if err != nil {
			t.Fatalf("%s: %v", v.Spec, err)
		}
		if k.Spec() != v.Spec || !bytes.Equal(k.Public().DER(), spki) {
			t.Errorf("%s: parsed as %s with public key %x", v.Spec, k.Spec(), k.Public().DER())
		}
		got, err := k.MarshalPKCS8()
		if err != nil || !bytes.Equal(got, der) {
			t.Errorf("%s: kagi encodes\n %x\nwant\n %x (%v)", v.Spec, got, der, err)
		}
	}
}

// TestParsePKCS8Rejects: malformed or mismatched keys are ErrInvalidInput.
func TestParsePKCS8Rejects(t *testing.T) {
	t.Parallel()
	k, _ := GenerateKeyPair(SpecSecp256k1)
	good, _ := k.MarshalPKCS8()
	other, _ := GenerateKeyPair(SpecSecp256k1)
	otherDER, _ := other.MarshalPKCS8()
	// The same private key with the other key's public key.
	mixed := append(append([]byte(nil), good[:len(good)-65]...), otherDER[len(otherDER)-65:]...)
	kem, _ := GenerateKeyPair(SpecMLKEM768)
	kemDER, _ := kem.MarshalPKCS8()
	expanded := bytes.Clone(kemDER)
	expanded[len(expanded)-66] = 0x04 // expandedKey's tag, not the seed's
	shortSeed, err := marshalPKCS8(SpecMLKEM768, pkix.AlgorithmIdentifier{Algorithm: oidMLKEM768}, append([]byte{0x80, 63}, make([]byte, 63)...))
	if err != nil {
		t.Fatal(err)
	}
	for name, der := range map[string][]byte{
		"empty":               nil,
		"trailing byte":       append(bytes.Clone(good), 0),
		"truncated":           good[:len(good)-1],
		"other public key":    mixed,
		"ML-KEM not seed":     expanded,
		"ML-KEM short seed":   shortSeed,
		"not DER":             []byte("-----BEGIN PRIVATE KEY-----"),
		"secp256k1 zero key":  bytes.Replace(bytes.Clone(good), k.MarshalPrivateKey(), make([]byte, 32), 1),
		"secp256k1 scalar ≥n": bytes.Replace(bytes.Clone(good), k.MarshalPrivateKey(), bytes.Repeat([]byte{0xff}, 32), 1),
	} {
		if _, err := ParsePKCS8(der); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
}

// FuzzParsePKCS8 feeds outside bytes to the PKCS #8 parser: nothing
// panics, every error is the package's, and a key that parses encodes
// and parses again to the same key.
func FuzzParsePKCS8(f *testing.F) {
	for _, spec := range []string{SpecRSA2048, SpecP256, SpecSecp256k1, SpecEd25519, SpecMLKEM512, SpecMLKEM1024} {
		k, err := GenerateKeyPair(spec)
		if err != nil {
			f.Fatal(err)
		}
		der, err := k.MarshalPKCS8()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := ParsePKCS8(der)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v is not the package's", err)
			}
			return
		}
		again, err := k.MarshalPKCS8()
		if err != nil {
			t.Fatalf("%s parsed but does not encode: %v", k.Spec(), err)
		}
		back, err := ParsePKCS8(again)
		if err != nil || back.Spec() != k.Spec() || !bytes.Equal(back.Public().DER(), k.Public().DER()) {
			t.Fatalf("%s does not round-trip: %v", k.Spec(), err)
		}
	})
}
