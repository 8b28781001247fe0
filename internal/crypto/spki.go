package crypto

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/mlkem"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"filippo.io/mldsa"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Object identifiers of the public keys crypto/x509 does not know.
var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1} // RFC 5480
	oidSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}       // SEC 2
	// NIST's algorithm registry, as RFC 9881 (ML-DSA) and the LAMPS ML-KEM
	// certificate profile use them, with absent parameters.
	oidMLDSA44   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}
	oidMLDSA65   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}
	oidMLDSA87   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}
	oidMLKEM512  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 1}
	oidMLKEM768  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}
	oidMLKEM1024 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}
)

// subjectPublicKeyInfo is RFC 5280's SubjectPublicKeyInfo.
type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

func pqOID(spec string) asn1.ObjectIdentifier {
	switch spec {
	case SpecMLDSA44:
		return oidMLDSA44
	case SpecMLDSA65:
		return oidMLDSA65
	case SpecMLDSA87:
		return oidMLDSA87
	case SpecMLKEM512:
		return oidMLKEM512
	case SpecMLKEM768:
		return oidMLKEM768
	case SpecMLKEM1024:
		return oidMLKEM1024
	}
	return nil
}

// marshalSPKI encodes a public key of spec as a DER SubjectPublicKeyInfo:
// crypto/x509's encoding for RSA, NIST curves (uncompressed points) and
// Ed25519; id-ecPublicKey with the secp256k1 named curve and an
// uncompressed point for ECC_SECG_P256K1; the NIST OIDs with absent
// parameters and the raw public key for ML-DSA and ML-KEM.
func marshalSPKI(spec string, pub any) ([]byte, error) {
	var ai pkix.AlgorithmIdentifier
	var key []byte
	switch pk := pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pk)
		if err != nil {
			return nil, fmt.Errorf("crypto: encode %s public key: %w", spec, err)
		}
		return der, nil
	case *secp256k1.PublicKey:
		params, err := asn1.Marshal(oidSecp256k1)
		if err != nil {
			return nil, err
		}
		ai = pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: params}}
		key = pk.SerializeUncompressed()
	case *mldsa.PublicKey:
		ai, key = pkix.AlgorithmIdentifier{Algorithm: pqOID(spec)}, pk.Bytes()
	case *mlkem512.PublicKey:
		b, err := pk.MarshalBinary()
		if err != nil {
			return nil, err
		}
		ai, key = pkix.AlgorithmIdentifier{Algorithm: pqOID(spec)}, b
	case *mlkem.EncapsulationKey768:
		ai, key = pkix.AlgorithmIdentifier{Algorithm: pqOID(spec)}, pk.Bytes()
	case *mlkem.EncapsulationKey1024:
		ai, key = pkix.AlgorithmIdentifier{Algorithm: pqOID(spec)}, pk.Bytes()
	default:
		return nil, fmt.Errorf("%w: public key of spec %q", ErrUnsupported, spec)
	}
	der, err := asn1.Marshal(subjectPublicKeyInfo{Algorithm: ai, PublicKey: asn1.BitString{Bytes: key, BitLength: 8 * len(key)}})
	if err != nil {
		return nil, fmt.Errorf("crypto: encode %s public key: %w", spec, err)
	}
	return der, nil
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo that must hold a public
// key of spec, as MarshalSPKI (and AWS KMS) encode them. Anything else, or
// trailing bytes, is ErrInvalidInput.
func ParsePublicKey(spec string, der []byte) (*PublicKey, error) {
	bad := fmt.Errorf("%w: not a DER %s public key", ErrInvalidInput, spec)
	var pub any
	switch spec {
	case SpecRSA2048, SpecRSA3072, SpecRSA4096, SpecP256, SpecP384, SpecP521, SpecEd25519:
		p, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, bad
		}
		switch k := p.(type) {
		case *rsa.PublicKey:
			if !isRSA(spec) || k.N.BitLen() != rsaBits(spec) {
				return nil, bad
			}
		case *ecdsa.PublicKey:
			if !isNIST(spec) || k.Curve != nistCurve(spec) {
				return nil, bad
			}
		case ed25519.PublicKey:
			if spec != SpecEd25519 {
				return nil, bad
			}
		default:
			return nil, bad
		}
		pub = p
	case SpecSecp256k1, SpecMLDSA44, SpecMLDSA65, SpecMLDSA87, SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024:
		var info subjectPublicKeyInfo
		rest, err := asn1.Unmarshal(der, &info)
		if err != nil || len(rest) != 0 || info.PublicKey.BitLength != 8*len(info.PublicKey.Bytes) {
			return nil, bad
		}
		key := info.PublicKey.Bytes
		if spec == SpecSecp256k1 {
			var curve asn1.ObjectIdentifier
			rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &curve)
			if err != nil || len(rest) != 0 || !info.Algorithm.Algorithm.Equal(oidECPublicKey) || !curve.Equal(oidSecp256k1) {
				return nil, bad
			}
			// Only the uncompressed form, the one kagi and AWS emit.
			if len(key) != 65 || key[0] != 4 {
				return nil, bad
			}
			pk, err := secp256k1.ParsePubKey(key)
			if err != nil {
				return nil, bad
			}
			pub = pk
			break
		}
		if !info.Algorithm.Algorithm.Equal(pqOID(spec)) || len(info.Algorithm.Parameters.FullBytes) != 0 {
			return nil, bad
		}
		switch spec {
		case SpecMLDSA44, SpecMLDSA65, SpecMLDSA87:
			pk, err := mldsa.NewPublicKey(mldsaParams(spec), key)
			if err != nil {
				return nil, bad
			}
			pub = pk
		case SpecMLKEM512:
			pk, err := mlkem512.Scheme().UnmarshalBinaryPublicKey(key)
			if err != nil {
				return nil, bad
			}
			pub = pk.(*mlkem512.PublicKey)
		case SpecMLKEM768:
			pk, err := mlkem.NewEncapsulationKey768(key)
			if err != nil {
				return nil, bad
			}
			pub = pk
		case SpecMLKEM1024:
			pk, err := mlkem.NewEncapsulationKey1024(key)
			if err != nil {
				return nil, bad
			}
			pub = pk
		}
	default:
		return nil, fmt.Errorf("%w: no public key of spec %q", ErrUnsupported, spec)
	}
	// Keep the caller's bytes only if they are the canonical encoding.
	canon, err := marshalSPKI(spec, pub)
	if err != nil {
		return nil, err
	}
	return &PublicKey{spec: spec, key: pub, der: canon}, nil
}

func isRSA(spec string) bool {
	return spec == SpecRSA2048 || spec == SpecRSA3072 || spec == SpecRSA4096
}

func isNIST(spec string) bool {
	return spec == SpecP256 || spec == SpecP384 || spec == SpecP521
}

func isMLDSA(spec string) bool {
	return spec == SpecMLDSA44 || spec == SpecMLDSA65 || spec == SpecMLDSA87
}
