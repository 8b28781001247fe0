package crypto

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"filippo.io/mldsa"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Key specs, named as AWS KMS names them (KeySpec).
const (
	SpecRSA2048    = "RSA_2048"
	SpecRSA3072    = "RSA_3072"
	SpecRSA4096    = "RSA_4096"
	SpecP256       = "ECC_NIST_P256"
	SpecP384       = "ECC_NIST_P384"
	SpecP521       = "ECC_NIST_P521"
	SpecSecp256k1  = "ECC_SECG_P256K1"
	SpecEd25519    = "ECC_NIST_EDWARDS25519"
	SpecMLDSA44    = "ML_DSA_44"
	SpecMLDSA65    = "ML_DSA_65"
	SpecMLDSA87    = "ML_DSA_87"
	SpecMLKEM512   = "ML_KEM_512"
	SpecMLKEM768   = "ML_KEM_768"
	SpecMLKEM1024  = "ML_KEM_1024"
	SpecHMAC224    = "HMAC_224"
	SpecHMAC256    = "HMAC_256"
	SpecHMAC384    = "HMAC_384"
	SpecHMAC512    = "HMAC_512"
	SpecSymmetric  = "SYMMETRIC_DEFAULT"
	mlkemSeedSize  = 64
	mldsaSeedSize  = mldsa.PrivateKeySize
	ed25519SeedLen = ed25519.SeedSize
)

// Errors of the asymmetric and MAC operations. Callers tell them apart
// with errors.Is; none carries key material or plaintext.
var (
	// ErrUnsupported: the key spec, algorithm or message type is not one
	// this key can use.
	ErrUnsupported = errors.New("crypto: unsupported key spec, algorithm or message type")
	// ErrInvalidInput: an input has the wrong size or form (a digest of
	// the wrong length, a malformed peer public key, a KEM ciphertext of
	// the wrong length).
	ErrInvalidInput = errors.New("crypto: invalid input")
	// ErrInvalidSignature: the signature does not verify.
	ErrInvalidSignature = errors.New("crypto: invalid signature")
	// ErrInvalidMAC: the MAC does not verify.
	ErrInvalidMAC = errors.New("crypto: invalid MAC")
	// ErrDecrypt: an asymmetric ciphertext does not decrypt.
	ErrDecrypt = errors.New("crypto: decryption failed")
)

// AsymmetricSpec reports whether spec names an asymmetric key pair
// (everything but SYMMETRIC_DEFAULT and the HMAC specs).
func AsymmetricSpec(spec string) bool {
	switch spec {
	case SpecRSA2048, SpecRSA3072, SpecRSA4096, SpecP256, SpecP384, SpecP521, SpecSecp256k1, SpecEd25519,
		SpecMLDSA44, SpecMLDSA65, SpecMLDSA87, SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024:
		return true
	}
	return false
}

// KeyPair is an asymmetric private key of one key spec and its public
// half. It is safe for concurrent use.
type KeyPair struct {
	spec string
	// priv is *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey,
	// *secp256k1.PrivateKey, *mldsa.PrivateKey, *mlkem.DecapsulationKey768,
	// *mlkem.DecapsulationKey1024 or *mlkem512.PrivateKey.
	priv any
	// raw is the private key's compact encoding (MarshalPrivateKey).
	raw []byte
	pub *PublicKey
}

// GenerateKeyPair creates a new random key pair of spec.
func GenerateKeyPair(spec string) (*KeyPair, error) {
	var raw []byte
	switch spec {
	case SpecRSA2048, SpecRSA3072, SpecRSA4096:
		k, err := rsa.GenerateKey(rand.Reader, rsaBits(spec))
		if err != nil {
			return nil, fmt.Errorf("crypto: generate %s key: %w", spec, err)
		}
		raw, err = x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("crypto: encode %s key: %w", spec, err)
		}
	case SpecP256, SpecP384, SpecP521:
		k, err := ecdsa.GenerateKey(nistCurve(spec), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("crypto: generate %s key: %w", spec, err)
		}
		raw, err = k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("crypto: encode %s key: %w", spec, err)
		}
	case SpecSecp256k1:
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			return nil, fmt.Errorf("crypto: generate %s key: %w", spec, err)
		}
		raw = k.Serialize()
		k.Zero()
	case SpecEd25519:
		raw = randomBytes(ed25519SeedLen)
	case SpecMLDSA44, SpecMLDSA65, SpecMLDSA87:
		raw = randomBytes(mldsaSeedSize)
	case SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024:
		raw = randomBytes(mlkemSeedSize)
	default:
		return nil, fmt.Errorf("%w: no key pair of spec %q", ErrUnsupported, spec)
	}
	return ParseKeyPair(spec, raw)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails; the runtime aborts if the OS cannot supply entropy
	return b
}

func rsaBits(spec string) int {
	switch spec {
	case SpecRSA2048:
		return 2048
	case SpecRSA3072:
		return 3072
	}
	return 4096
}

func nistCurve(spec string) elliptic.Curve {
	switch spec {
	case SpecP256:
		return elliptic.P256()
	case SpecP384:
		return elliptic.P384()
	}
	return elliptic.P521()
}

func mldsaParams(spec string) mldsa.Parameters {
	switch spec {
	case SpecMLDSA44:
		return mldsa.MLDSA44()
	case SpecMLDSA65:
		return mldsa.MLDSA65()
	}
	return mldsa.MLDSA87()
}

// ParseKeyPair rebuilds a key pair of spec from its MarshalPrivateKey
// encoding. It takes ownership of b.
func ParseKeyPair(spec string, b []byte) (*KeyPair, error) {
	k := &KeyPair{spec: spec, raw: b}
	var pub any
	switch spec {
	case SpecRSA2048, SpecRSA3072, SpecRSA4096:
		parsed, err := x509.ParsePKCS8PrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %s private key does not parse", ErrInvalidInput, spec)
		}
		rk, ok := parsed.(*rsa.PrivateKey)
		if !ok || rk.N.BitLen() != rsaBits(spec) {
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		k.priv, pub = rk, &rk.PublicKey
	case SpecP256, SpecP384, SpecP521:
		ek, err := ecdsa.ParseRawPrivateKey(nistCurve(spec), b)
		if err != nil {
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		k.priv, pub = ek, &ek.PublicKey
	case SpecSecp256k1:
		if len(b) != secp256k1.PrivKeyBytesLen {
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		sk := secp256k1.PrivKeyFromBytes(b)
		// PrivKeyFromBytes reduces modulo the group order: a value that
		// does not come back unchanged (or is zero) is no key.
		if sk.Key.IsZero() || !bytes.Equal(sk.Serialize(), b) {
			sk.Zero()
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		k.priv, pub = sk, sk.PubKey()
	case SpecEd25519:
		if len(b) != ed25519SeedLen {
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		ek := ed25519.NewKeyFromSeed(b)
		k.priv, pub = ek, ek.Public()
	case SpecMLDSA44, SpecMLDSA65, SpecMLDSA87:
		mk, err := mldsa.NewPrivateKey(mldsaParams(spec), b)
		if err != nil {
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		k.priv, pub = mk, mk.PublicKey()
	case SpecMLKEM512:
		if len(b) != mlkem512.KeySeedSize {
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		pk, sk := mlkem512.NewKeyFromSeed(b)
		k.priv, pub = sk, pk
	case SpecMLKEM768:
		dk, err := mlkem.NewDecapsulationKey768(b)
		if err != nil {
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		k.priv, pub = dk, dk.EncapsulationKey()
	case SpecMLKEM1024:
		dk, err := mlkem.NewDecapsulationKey1024(b)
		if err != nil {
			return nil, fmt.Errorf("%w: private key is not an %s key", ErrInvalidInput, spec)
		}
		k.priv, pub = dk, dk.EncapsulationKey()
	default:
		return nil, fmt.Errorf("%w: no key pair of spec %q", ErrUnsupported, spec)
	}
	der, err := marshalSPKI(spec, pub)
	if err != nil {
		return nil, err
	}
	k.pub = &PublicKey{spec: spec, key: pub, der: der}
	return k, nil
}

// Spec returns the key pair's key spec.
func (k *KeyPair) Spec() string { return k.spec }

// MarshalPrivateKey returns the private key's compact encoding: PKCS #8
// for RSA, the raw scalar for the elliptic curves, the 32-byte seed for
// Ed25519 and ML-DSA, the 64-byte seed (d ‖ z) for ML-KEM. The caller owns
// the copy and should clear it after use.
func (k *KeyPair) MarshalPrivateKey() []byte { return bytes.Clone(k.raw) }

// Public returns the public half.
func (k *KeyPair) Public() *PublicKey { return k.pub }

// PublicKey is the public half of a key pair of one key spec.
type PublicKey struct {
	spec string
	// key is *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey,
	// *secp256k1.PublicKey, *mldsa.PublicKey, *mlkem.EncapsulationKey768,
	// *mlkem.EncapsulationKey1024 or *mlkem512.PublicKey.
	key any
	der []byte
}

// Spec returns the key spec.
func (p *PublicKey) Spec() string { return p.spec }

// DER returns the DER-encoded X.509 SubjectPublicKeyInfo, as AWS KMS's
// GetPublicKey returns it. The caller must not modify it.
func (p *PublicKey) DER() []byte { return p.der }

// Key returns the standard or library public key type (see PublicKey's
// fields), for tests and callers that hand it to other code.
func (p *PublicKey) Key() crypto.PublicKey { return p.key }

// ecdhPrivate returns the key pair's ECDH form, for ECC_NIST keys.
func (k *KeyPair) ecdhPrivate() (*ecdh.PrivateKey, error) {
	ek, ok := k.priv.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: key agreement with a %s key", ErrUnsupported, k.spec)
	}
	return ek.ECDH()
}
