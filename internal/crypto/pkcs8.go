package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// pkcs8 is RFC 5208's PrivateKeyInfo (version 0, no attributes), the
// form AWS KMS's GenerateDataKeyPair returns private keys in.
type pkcs8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// ecPrivateKey is RFC 5915's ECPrivateKey. Inside PKCS #8 the curve is in
// the AlgorithmIdentifier, so the parameters are left out (as OpenSSL and
// crypto/x509 do); the public key is included.
type ecPrivateKey struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// mlkemSeedTag starts the seed form of an ML-KEM private key in PKCS #8
// (the LAMPS ML-KEM certificate profile, RFC 9935): the CHOICE's
// seed [0] IMPLICIT OCTET STRING (SIZE (64)), tag and length.
var mlkemSeedTag = []byte{0x80, mlkemSeedSize}

// MarshalPKCS8 returns the private key as a DER PKCS #8 PrivateKeyInfo, as
// AWS KMS's GenerateDataKeyPair returns it: crypto/x509's encoding for
// RSA, the NIST curves and Ed25519 (RFC 8410); id-ecPublicKey with the
// secp256k1 named curve and an RFC 5915 ECPrivateKey with its public key
// for ECC_SECG_P256K1; the seed form (64 bytes d ‖ z) for ML-KEM. ML-DSA
// keys, which are no data key pair spec, are ErrUnsupported. The caller
// owns the result and should clear it after use.
func (k *KeyPair) MarshalPKCS8() ([]byte, error) {
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		return bytes.Clone(k.raw), nil // already PKCS #8
	case *ecdsa.PrivateKey, ed25519.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(p)
		if err != nil {
			return nil, fmt.Errorf("crypto: encode %s private key: %w", k.spec, err)
		}
		return der, nil
	case *secp256k1.PrivateKey:
		d := p.Serialize()
		defer clear(d)
		pub := p.PubKey().SerializeUncompressed()
		inner, err := asn1.Marshal(ecPrivateKey{Version: 1, PrivateKey: d,
			PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}})
		if err != nil {
			return nil, fmt.Errorf("crypto: encode %s private key: %w", k.spec, err)
		}
		defer clear(inner)
		params, err := asn1.Marshal(oidSecp256k1)
		if err != nil {
			return nil, err
		}
		return marshalPKCS8(k.spec, pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: params}}, inner)
	}
	switch k.spec {
	case SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024:
		inner := append(bytes.Clone(mlkemSeedTag), k.raw...)
		defer clear(inner)
		return marshalPKCS8(k.spec, pkix.AlgorithmIdentifier{Algorithm: pqOID(k.spec)}, inner)
	}
	return nil, fmt.Errorf("%w: no PKCS #8 encoding of a %s key", ErrUnsupported, k.spec)
}

func marshalPKCS8(spec string, ai pkix.AlgorithmIdentifier, inner []byte) ([]byte, error) {
	der, err := asn1.Marshal(pkcs8{Algorithm: ai, PrivateKey: inner})
	if err != nil {
		return nil, fmt.Errorf("crypto: encode %s private key: %w", spec, err)
	}
	return der, nil
}

// ParsePKCS8 parses a DER PKCS #8 PrivateKeyInfo holding a private key of
// a data key pair spec (what MarshalPKCS8 writes, and what OpenSSL and
// pyca/cryptography write for those keys) and returns the key pair; its
// spec tells what it is. An ML-KEM key must be in the seed form; an
// ECPrivateKey's curve, if named, must be the AlgorithmIdentifier's and
// its public key, if present, must be the private key's. An RSA key of
// another size, or a key crypto/x509 parses that is no data key pair
// (an ECDSA key on another curve, X25519 …), is ErrUnsupported; anything
// else, trailing bytes included, is ErrInvalidInput.
func ParsePKCS8(der []byte) (*KeyPair, error) {
	bad := fmt.Errorf("%w: not a DER PKCS #8 private key of a data key pair spec", ErrInvalidInput)
	var info pkcs8
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil || len(rest) != 0 {
		return nil, bad
	}
	alg := info.Algorithm
	if info.Version == 0 && alg.Algorithm.Equal(oidECPublicKey) {
		var curve asn1.ObjectIdentifier
		if rest, err := asn1.Unmarshal(alg.Parameters.FullBytes, &curve); err == nil && len(rest) == 0 && curve.Equal(oidSecp256k1) {
			return parseSecp256k1(info.PrivateKey, bad)
		}
	}
	for _, spec := range []string{SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024} {
		if !alg.Algorithm.Equal(pqOID(spec)) {
			continue
		}
		p := info.PrivateKey
		if info.Version != 0 || len(alg.Parameters.FullBytes) != 0 ||
			len(p) != len(mlkemSeedTag)+mlkemSeedSize || !bytes.HasPrefix(p, mlkemSeedTag) {
			return nil, bad
		}
		return ParseKeyPair(spec, bytes.Clone(p[len(mlkemSeedTag):]))
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, bad
	}
	switch p := key.(type) {
	case *rsa.PrivateKey:
		spec := map[int]string{2048: SpecRSA2048, 3072: SpecRSA3072, 4096: SpecRSA4096}[p.N.BitLen()]
		if spec == "" {
			return nil, fmt.Errorf("%w: a %d-bit RSA key", ErrUnsupported, p.N.BitLen())
		}
		raw, err := x509.MarshalPKCS8PrivateKey(p)
		if err != nil {
			return nil, bad
		}
		return ParseKeyPair(spec, raw)
	case *ecdsa.PrivateKey:
		spec := ""
		for _, s := range []string{SpecP256, SpecP384, SpecP521} {
			if p.Curve == nistCurve(s) {
				spec = s
			}
		}
		raw, err := p.Bytes()
		if spec == "" || err != nil {
			return nil, fmt.Errorf("%w: an ECDSA key on another curve", ErrUnsupported)
		}
		return ParseKeyPair(spec, raw)
	case ed25519.PrivateKey:
		return ParseKeyPair(SpecEd25519, bytes.Clone(p.Seed()))
	}
	return nil, fmt.Errorf("%w: a %T private key", ErrUnsupported, key)
}

// parseSecp256k1 reads the ECPrivateKey of a secp256k1 PKCS #8 key.
func parseSecp256k1(b []byte, bad error) (*KeyPair, error) {
	var ek ecPrivateKey
	rest, err := asn1.Unmarshal(b, &ek)
	if err != nil || len(rest) != 0 || ek.Version != 1 || len(ek.PrivateKey) != secp256k1.PrivKeyBytesLen ||
		(ek.NamedCurveOID != nil && !ek.NamedCurveOID.Equal(oidSecp256k1)) {
		return nil, bad
	}
	k, err := ParseKeyPair(SpecSecp256k1, bytes.Clone(ek.PrivateKey))
	if err != nil {
		return nil, bad
	}
	if pub := ek.PublicKey; pub.BitLength != 0 {
		pk := k.pub.key.(*secp256k1.PublicKey)
		if pub.BitLength != 8*len(pub.Bytes) ||
			!(bytes.Equal(pub.Bytes, pk.SerializeUncompressed()) || bytes.Equal(pub.Bytes, pk.SerializeCompressed())) {
			return nil, bad
		}
	}
	return k, nil
}
