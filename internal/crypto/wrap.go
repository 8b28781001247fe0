package crypto

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/kwp/subtle"
)

// Wrapping keys and algorithms of imported key material
// (GetParametersForImport, ImportKeyMaterial).

// WrappingKeyBits returns the modulus size of an AWS WrappingKeySpec
// (RSA_2048 → 2048), or 0 for one kagi does not offer.
func WrappingKeyBits(spec string) int {
	switch spec {
	case "RSA_2048":
		return 2048
	case "RSA_3072":
		return 3072
	case "RSA_4096":
		return 4096
	}
	return 0
}

// wrapHash returns the OAEP hash of a wrapping algorithm and whether it
// wraps an ephemeral AES key (RSA_AES_KEY_WRAP_*) rather than the
// material itself (RSAES_OAEP_*).
func wrapHash(alg string) (h crypto.Hash, aesWrap bool, err error) {
	switch alg {
	case "RSAES_OAEP_SHA_1":
		return crypto.SHA1, false, nil
	case "RSAES_OAEP_SHA_256":
		return crypto.SHA256, false, nil
	case "RSA_AES_KEY_WRAP_SHA_1":
		return crypto.SHA1, true, nil
	case "RSA_AES_KEY_WRAP_SHA_256":
		return crypto.SHA256, true, nil
	}
	return 0, false, fmt.Errorf("%w: wrapping algorithm %q", ErrUnsupported, alg)
}

// WrappingAlgorithm reports whether alg is a wrapping algorithm kagi
// accepts.
func WrappingAlgorithm(alg string) bool {
	_, _, err := wrapHash(alg)
	return err == nil
}

// MaxOAEPWrapped returns the longest material RSAES_OAEP_* alg can wrap
// directly under an RSA key of spec (a wrapping key spec), or 0.
func MaxOAEPWrapped(spec, alg string) int {
	h, aes, err := wrapHash(alg)
	if err != nil || aes || WrappingKeyBits(spec) == 0 {
		return 0
	}
	return WrappingKeyBits(spec)/8 - 2*h.Size() - 2
}

// NewWrappingKey generates an RSA wrapping key pair of a wrapping key spec.
func NewWrappingKey(spec string) (*rsa.PrivateKey, error) {
	bits := WrappingKeyBits(spec)
	if bits == 0 {
		return nil, fmt.Errorf("%w: wrapping key spec %q", ErrUnsupported, spec)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("crypto: generate wrapping key: %w", err)
	}
	return k, nil
}

// ParseWrappingKey reads a wrapping private key (PKCS #1 DER) and checks
// that it has the size of spec. It accepts only the encoding
// MarshalWrappingKey writes: crypto/x509 recomputes some CRT values
// rather than refusing wrong ones, so a key is re-encoded and compared.
func ParseWrappingKey(spec string, der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil || !bytes.Equal(x509.MarshalPKCS1PrivateKey(k), der) {
		return nil, fmt.Errorf("%w: wrapping key does not parse", ErrInvalidInput)
	}
	if bits := WrappingKeyBits(spec); bits == 0 || k.N.BitLen() != bits {
		return nil, fmt.Errorf("%w: wrapping key is not %s", ErrInvalidInput, spec)
	}
	return k, nil
}

// aesWrapKeySize is the size of the ephemeral AES key of RSA_AES_KEY_WRAP:
// AES-256, as AWS documents it (PKCS #11 CKM_RSA_AES_KEY_WRAP).
const aesWrapKeySize = 32

// UnwrapKeyMaterial recovers key material wrapped with alg under the public
// half of k:
//
//   - RSAES_OAEP_SHA_1/256: RSAES-OAEP with MGF1 of the same hash and an
//     empty label;
//   - RSA_AES_KEY_WRAP_SHA_1/256: the first modulus-length bytes are an
//     AES-256 key encrypted as above; the rest is the material wrapped
//     with that key by AES Key Wrap with Padding (RFC 5649).
//
// Any failure is ErrDecrypt, with no detail that could serve as an oracle.
func UnwrapKeyMaterial(k *rsa.PrivateKey, alg string, wrapped []byte) ([]byte, error) {
	h, aesWrap, err := wrapHash(alg)
	if err != nil {
		return nil, err
	}
	if !aesWrap {
		m, err := rsa.DecryptOAEP(h.New(), nil, k, wrapped, nil)
		if err != nil {
			return nil, ErrDecrypt
		}
		return m, nil
	}
	n := k.Size()
	if len(wrapped) <= n {
		return nil, ErrDecrypt
	}
	aesKey, err := rsa.DecryptOAEP(h.New(), nil, k, wrapped[:n], nil)
	if err != nil || len(aesKey) != aesWrapKeySize {
		clear(aesKey)
		return nil, ErrDecrypt
	}
	defer clear(aesKey)
	kwp, err := subtle.NewKWP(aesKey)
	if err != nil {
		return nil, ErrDecrypt
	}
	m, err := kwp.Unwrap(wrapped[n:])
	if err != nil {
		return nil, ErrDecrypt
	}
	return m, nil
}

// WrapKeyMaterial is UnwrapKeyMaterial's inverse, with the public key: for
// tests and clients written in Go.
func WrapKeyMaterial(pub *rsa.PublicKey, alg string, material []byte) ([]byte, error) {
	h, aesWrap, err := wrapHash(alg)
	if err != nil {
		return nil, err
	}
	if !aesWrap {
		return rsa.EncryptOAEP(h.New(), rand.Reader, pub, material, nil)
	}
	aesKey := randomBytes(aesWrapKeySize)
	defer clear(aesKey)
	kwp, err := subtle.NewKWP(aesKey)
	if err != nil {
		return nil, err
	}
	body, err := kwp.Wrap(material)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	head, err := rsa.EncryptOAEP(h.New(), rand.Reader, pub, aesKey, nil)
	if err != nil {
		return nil, err
	}
	return append(head, body...), nil
}

// MarshalWrappingKey encodes a wrapping private key as PKCS #1 DER, the
// form ParseWrappingKey reads.
func MarshalWrappingKey(k *rsa.PrivateKey) []byte { return x509.MarshalPKCS1PrivateKey(k) }
