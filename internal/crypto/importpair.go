package crypto

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// ImportablePairSpec reports whether ParsePKCS8KeyPair reads private keys
// of spec: every asymmetric spec.
func ImportablePairSpec(spec string) bool { return AsymmetricSpec(spec) }

// ParsePKCS8KeyPair reads imported asymmetric key material: a DER PKCS #8
// PrivateKeyInfo, as AWS KMS takes it, of a key of spec. Anything else
// (another key type or size, trailing bytes) is ErrInvalidInput. The key
// pair's MarshalPrivateKey is the canonical compact encoding, so the same
// key imported in two PKCS #8 encodings gives the same bytes.
func ParsePKCS8KeyPair(spec string, der []byte) (*KeyPair, error) {
	bad := fmt.Errorf("%w: key material is not a PKCS #8 %s private key", ErrInvalidInput, spec)
	if !ImportablePairSpec(spec) {
		return nil, fmt.Errorf("%w: importing %s key material", ErrUnsupported, spec)
	}
	// crypto/x509 ignores bytes after the PrivateKeyInfo; AWS's material is
	// the DER and nothing else.
	var outer asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) != 0 {
		return nil, bad
	}
	var raw []byte
	switch spec {
	case SpecRSA2048, SpecRSA3072, SpecRSA4096, SpecP256, SpecP384, SpecP521, SpecEd25519:
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, bad
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			if !isRSA(spec) || k.N.BitLen() != rsaBits(spec) {
				return nil, bad
			}
			if raw, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
				return nil, bad
			}
		case *ecdsa.PrivateKey:
			if nistCurve(spec) == nil || k.Curve != nistCurve(spec) {
				return nil, bad
			}
			if raw, err = k.Bytes(); err != nil {
				return nil, bad
			}
		case ed25519.PrivateKey:
			if spec != SpecEd25519 {
				return nil, bad
			}
			raw = append([]byte(nil), k.Seed()...)
		default:
			return nil, bad
		}
	case SpecSecp256k1:
		var err error
		if raw, err = parsePKCS8Secp256k1(der); err != nil {
			return nil, bad
		}
	case SpecMLDSA44, SpecMLDSA65, SpecMLDSA87, SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024:
		var err error
		if raw, err = parsePKCS8Seed(spec, der); err != nil {
			return nil, bad
		}
	default:
		return nil, fmt.Errorf("%w: importing %s key material", ErrUnsupported, spec)
	}
	k, err := ParseKeyPair(spec, raw)
	if err != nil {
		return nil, bad
	}
	return k, nil
}

// parsePKCS8Secp256k1 reads a PKCS #8 secp256k1 key (RFC 5915 inside RFC
// 5208), which crypto/x509 does not know, to its 32-byte scalar.
func parsePKCS8Secp256k1(der []byte) ([]byte, error) {
	var info struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
		Attributes asn1.RawValue `asn1:"optional,tag:0"`
	}
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil || len(rest) != 0 || info.Version != 0 || !info.Algorithm.Algorithm.Equal(oidECPublicKey) {
		return nil, ErrInvalidInput
	}
	var curve asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &curve); err != nil || len(rest) != 0 || !curve.Equal(oidSecp256k1) {
		return nil, ErrInvalidInput
	}
	var ec struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
		PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
	}
	rest, err = asn1.Unmarshal(info.PrivateKey, &ec)
	if err != nil || len(rest) != 0 || ec.Version != 1 || len(ec.PrivateKey) == 0 || len(ec.PrivateKey) > 32 ||
		(len(ec.Curve) > 0 && !ec.Curve.Equal(oidSecp256k1)) {
		return nil, ErrInvalidInput
	}
	raw := make([]byte, 32)
	copy(raw[32-len(ec.PrivateKey):], ec.PrivateKey)
	return raw, nil
}

// parsePKCS8Seed reads an ML-DSA (RFC 9881) or ML-KEM (the LAMPS ML-KEM
// profile) private key in PKCS #8 to its seed. Only the seed form
// ([0] IMPLICIT OCTET STRING of 32 or 64 bytes, what pyca/cryptography
// writes) is read: kagi keeps these keys as seeds, and an expanded key
// cannot be turned back into one.
func parsePKCS8Seed(spec string, der []byte) ([]byte, error) {
	var info struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
		Attributes asn1.RawValue `asn1:"optional,tag:0"`
	}
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil || len(rest) != 0 || info.Version != 0 || !info.Algorithm.Algorithm.Equal(pqOID(spec)) ||
		len(info.Algorithm.Parameters.FullBytes) != 0 {
		return nil, ErrInvalidInput
	}
	n := mldsaSeedSize
	if spec == SpecMLKEM512 || spec == SpecMLKEM768 || spec == SpecMLKEM1024 {
		n = mlkemSeedSize
	}
	var seed asn1.RawValue
	rest, err = asn1.Unmarshal(info.PrivateKey, &seed)
	if err != nil || len(rest) != 0 || seed.Class != asn1.ClassContextSpecific || seed.Tag != 0 || seed.IsCompound || len(seed.Bytes) != n {
		return nil, ErrInvalidInput
	}
	return append([]byte(nil), seed.Bytes...), nil
}
