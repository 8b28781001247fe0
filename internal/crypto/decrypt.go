package crypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // RSAES_OAEP_SHA_1 uses crypto.SHA1
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"hash"

	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
)

// oaepHash returns the hash of an AWS RSAES_OAEP_* algorithm: OAEP with
// MGF1 of the same hash and an empty label.
func oaepHash(alg string) (crypto.Hash, error) {
	switch alg {
	case "RSAES_OAEP_SHA_1":
		return crypto.SHA1, nil
	case "RSAES_OAEP_SHA_256":
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("%w: encryption algorithm %q", ErrUnsupported, alg)
}

// OAEPMaxPlaintext returns the longest plaintext RSA-OAEP with alg can
// encrypt under an RSA key of spec (AWS's limits: 214/190 bytes for
// RSA_2048 …), or 0 for a spec or algorithm that has none.
func OAEPMaxPlaintext(spec, alg string) int {
	h, err := oaepHash(alg)
	if err != nil || !isRSA(spec) {
		return 0
	}
	return rsaBits(spec)/8 - 2*h.Size() - 2
}

// EncryptOAEP encrypts plaintext with RSAES-OAEP under an RSA public key.
func (p *PublicKey) EncryptOAEP(alg string, plaintext []byte) ([]byte, error) {
	h, err := oaepHash(alg)
	if err != nil {
		return nil, err
	}
	pk, ok := p.key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: RSA-OAEP with a %s key", ErrUnsupported, p.spec)
	}
	if len(plaintext) > OAEPMaxPlaintext(p.spec, alg) {
		return nil, fmt.Errorf("%w: plaintext too long for %s with %s", ErrInvalidInput, alg, p.spec)
	}
	ct, err := rsa.EncryptOAEP(h.New(), rand.Reader, pk, plaintext, nil)
	if err != nil {
		return nil, fmt.Errorf("crypto: RSA-OAEP encrypt: %w", err)
	}
	return ct, nil
}

// DecryptOAEP decrypts an RSAES-OAEP ciphertext; any failure is
// ErrDecrypt, with no detail an attacker could use as an oracle.
func (k *KeyPair) DecryptOAEP(alg string, ciphertext []byte) ([]byte, error) {
	h, err := oaepHash(alg)
	if err != nil {
		return nil, err
	}
	sk, ok := k.priv.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: RSA-OAEP with a %s key", ErrUnsupported, k.spec)
	}
	pt, err := rsa.DecryptOAEP(h.New(), nil, sk, ciphertext, nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// DeriveSharedSecret is ECDH between an ECC_NIST key pair and a peer's
// public key (a DER SubjectPublicKeyInfo on the same curve). It returns
// the x-coordinate of the shared point, as AWS KMS's DeriveSharedSecret.
func (k *KeyPair) DeriveSharedSecret(peerDER []byte) ([]byte, error) {
	priv, err := k.ecdhPrivate()
	if err != nil {
		return nil, err
	}
	p, err := x509.ParsePKIXPublicKey(peerDER)
	if err != nil {
		return nil, fmt.Errorf("%w: the peer public key is not a DER SubjectPublicKeyInfo", ErrInvalidInput)
	}
	ep, ok := p.(*ecdsa.PublicKey)
	if !ok || ep.Curve != k.priv.(*ecdsa.PrivateKey).Curve {
		return nil, fmt.Errorf("%w: the peer public key is not on the %s curve", ErrInvalidInput, k.spec)
	}
	peer, err := ep.ECDH()
	if err != nil {
		return nil, fmt.Errorf("%w: the peer public key is not on the %s curve", ErrInvalidInput, k.spec)
	}
	secret, err := priv.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("%w: ECDH with the peer public key failed", ErrInvalidInput)
	}
	return secret, nil
}

// KEMCiphertextSize returns the ML-KEM ciphertext length of spec (768,
// 1088, 1568 bytes), or 0 for other specs.
func KEMCiphertextSize(spec string) int {
	switch spec {
	case SpecMLKEM512:
		return mlkem512.CiphertextSize
	case SpecMLKEM768:
		return mlkem.CiphertextSize768
	case SpecMLKEM1024:
		return mlkem.CiphertextSize1024
	}
	return 0
}

// Encapsulate makes a 32-byte shared secret and its ciphertext for an
// ML-KEM public key.
func (p *PublicKey) Encapsulate() (secret, ciphertext []byte, err error) {
	switch pk := p.key.(type) {
	case *mlkem512.PublicKey:
		secret, ciphertext = make([]byte, mlkem512.SharedKeySize), make([]byte, mlkem512.CiphertextSize)
		pk.EncapsulateTo(ciphertext, secret, nil)
		return secret, ciphertext, nil
	case *mlkem.EncapsulationKey768:
		secret, ciphertext = pk.Encapsulate()
		return secret, ciphertext, nil
	case *mlkem.EncapsulationKey1024:
		secret, ciphertext = pk.Encapsulate()
		return secret, ciphertext, nil
	}
	return nil, nil, fmt.Errorf("%w: encapsulation with a %s key", ErrUnsupported, p.spec)
}

// Decapsulate recovers the shared secret of an ML-KEM ciphertext. A
// ciphertext of the right length always yields 32 bytes (ML-KEM's implicit
// rejection); only a wrong length is ErrInvalidInput.
func (k *KeyPair) Decapsulate(ciphertext []byte) ([]byte, error) {
	if n := KEMCiphertextSize(k.spec); n == 0 {
		return nil, fmt.Errorf("%w: decapsulation with a %s key", ErrUnsupported, k.spec)
	} else if len(ciphertext) != n {
		return nil, fmt.Errorf("%w: ciphertext is %d bytes, want %d", ErrInvalidInput, len(ciphertext), n)
	}
	switch sk := k.priv.(type) {
	case *mlkem512.PrivateKey:
		ss := make([]byte, mlkem512.SharedKeySize)
		sk.DecapsulateTo(ss, ciphertext)
		return ss, nil
	case *mlkem.DecapsulationKey768:
		return sk.Decapsulate(ciphertext)
	case *mlkem.DecapsulationKey1024:
		return sk.Decapsulate(ciphertext)
	}
	return nil, fmt.Errorf("%w: decapsulation with a %s key", ErrUnsupported, k.spec)
}

// HMAC key specs and their MAC algorithms.
var macSpecs = map[string]struct {
	alg  string
	size int // the hash's output: the length of a key kagi generates
	max  int // the hash's block size: the longest key AWS imports
	hash func() hash.Hash
}{
	SpecHMAC224: {"HMAC_SHA_224", 28, 64, sha256.New224},
	SpecHMAC256: {"HMAC_SHA_256", 32, 64, sha256.New},
	SpecHMAC384: {"HMAC_SHA_384", 48, 128, sha512.New384},
	SpecHMAC512: {"HMAC_SHA_512", 64, 128, sha512.New},
}

// MACAlgorithm returns the one MAC algorithm of an HMAC key spec
// (HMAC_256 → HMAC_SHA_256), or "" for another spec.
func MACAlgorithm(spec string) string { return macSpecs[spec].alg }

// HMACKeySize returns the key length of an HMAC key spec, the length of its
// hash's output (AWS's HMAC_224 keys are 28 bytes … HMAC_512 64), or 0.
func HMACKeySize(spec string) int { return macSpecs[spec].size }

// HMACKeySizeOK reports whether an HMAC key of spec may be n bytes long:
// from the hash's output to its block size (28–64 bytes for HMAC_224,
// 32–64 for HMAC_256, 48–128 for HMAC_384, 64–128 for HMAC_512), the
// lengths AWS accepts for imported HMAC key material.
func HMACKeySizeOK(spec string, n int) bool {
	s, ok := macSpecs[spec]
	return ok && n >= s.size && n <= s.max
}

// NewHMACKey returns a random key for an HMAC key spec.
func NewHMACKey(spec string) ([]byte, error) {
	n := HMACKeySize(spec)
	if n == 0 {
		return nil, fmt.Errorf("%w: no HMAC key of spec %q", ErrUnsupported, spec)
	}
	return randomBytes(n), nil
}

// MAC computes the RFC 2104 HMAC of msg with an HMAC key of spec under the
// spec's algorithm alg.
func MAC(spec, alg string, key, msg []byte) ([]byte, error) {
	s, ok := macSpecs[spec]
	if !ok || s.alg != alg {
		return nil, fmt.Errorf("%w: %s keys do not MAC with %s", ErrUnsupported, spec, alg)
	}
	if !HMACKeySizeOK(spec, len(key)) {
		return nil, fmt.Errorf("%w: %s key is %d bytes, want %d to %d", ErrInvalidInput, spec, len(key), s.size, s.max)
	}
	m := hmac.New(s.hash, key)
	m.Write(msg)
	return m.Sum(nil), nil
}

// VerifyMAC checks mac in constant time; a mismatch is ErrInvalidMAC.
func VerifyMAC(spec, alg string, key, msg, mac []byte) error {
	want, err := MAC(spec, alg, key, msg)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, mac) {
		return ErrInvalidMAC
	}
	return nil
}
