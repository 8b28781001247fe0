// Package keystore declares where key material lives and is used. The
// software store (sub-package software) keeps material sealed under the
// root key; PKCS#11 and XKS stores will keep it outside the process. Each
// store passes the conformance suite in keystoretest.
package keystore

import (
	"context"
)

// Ref names one key material version: the KMS key ARN and the material id.
type Ref struct {
	KeyARN     string
	MaterialID [32]byte
}

// Symmetric is a store of symmetric key material.
//
// Persisted is the opaque form of one material version that the caller
// keeps in kagi's storage and hands back on every call. For the software
// store it is the material sealed under the root key with the Ref as
// additional data, so a persisted value cannot be moved to another key or
// version; other stores may keep only a handle.
//
// Implementations are safe for concurrent use. Their errors never contain
// material, plaintext or root key bytes.
type Symmetric interface {
	// NewSymmetric creates new material for ref and returns its persisted
	// form.
	NewSymmetric(ctx context.Context, ref Ref) (persisted []byte, err error)
	// ImportSymmetric stores imported material (crypto.MaterialSize
	// bytes) for ref and returns its persisted form; material of another
	// size is an error wrapping crypto.ErrInvalidInput.
	ImportSymmetric(ctx context.Context, ref Ref, material []byte) (persisted []byte, err error)
	// Encrypt seals plaintext under aad with the material, with a message
	// key derived from nonce (16 bytes) and an AES-GCM IV (12 bytes) the
	// store draws, as crypto.SealMessage does. It returns the IV, the
	// ciphertext and the tag.
	Encrypt(ctx context.Context, ref Ref, persisted, nonce, plaintext, aad []byte) (sealed []byte, err error)
	// Decrypt opens sealed (IV, ciphertext, tag). A failed authentication
	// returns an error wrapping crypto.ErrAuth; persisted material that
	// cannot be used for ref returns another error.
	Decrypt(ctx context.Context, ref Ref, persisted, nonce, sealed, aad []byte) (plaintext []byte, err error)
}

// Handle names one version of an asymmetric or HMAC key's material: its
// Ref, its key spec (AWS's KeySpec: "RSA_2048", "ML_DSA_65", "HMAC_256" …)
// and the persisted form the store returned when it created it.
type Handle struct {
	Ref       Ref
	Spec      string
	Persisted []byte
}

// Asymmetric is a store of asymmetric key pairs (RSA, ECC, Ed25519,
// ML-DSA, ML-KEM). Private keys never leave it: callers name a pair by its
// Handle and ask the store to use it, so a hardware store (PKCS#11) can
// implement the same methods with operations on an object handle.
//
// Algorithms and message types are AWS KMS's names (SigningAlgorithmSpec,
// MessageType, EncryptionAlgorithmSpec). Errors wrap internal/crypto's:
// crypto.ErrUnsupported for a spec, algorithm or message type the key
// cannot use, crypto.ErrInvalidInput for inputs of the wrong size or form,
// crypto.ErrInvalidSignature, crypto.ErrDecrypt. None carries key
// material, plaintext or shared secrets.
type Asymmetric interface {
	// NewKeyPair creates a key pair of spec for ref and returns its
	// persisted form (for the software store: the private key sealed under
	// the root key, bound to ref and spec).
	NewKeyPair(ctx context.Context, ref Ref, spec string) (persisted []byte, err error)
	// ImportKeyPair stores an imported private key of spec (DER PKCS #8,
	// crypto.ParsePKCS8KeyPair) for ref; material that is not one is an
	// error wrapping crypto.ErrInvalidInput.
	ImportKeyPair(ctx context.Context, ref Ref, spec string, pkcs8 []byte) (persisted []byte, err error)
	// PublicKey returns the pair's public key as a DER SubjectPublicKeyInfo.
	PublicKey(ctx context.Context, h Handle) ([]byte, error)
	// Sign signs msg with alg. msgType is RAW (the store hashes as the
	// algorithm does), DIGEST (msg is the digest) or EXTERNAL_MU (ML-DSA's
	// μ).
	Sign(ctx context.Context, h Handle, alg, msgType string, msg []byte) ([]byte, error)
	// Verify checks a signature; one that does not verify is
	// crypto.ErrInvalidSignature.
	Verify(ctx context.Context, h Handle, alg, msgType string, msg, sig []byte) error
	// AsymmetricDecrypt opens an RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256
	// ciphertext; any failure to open is crypto.ErrDecrypt.
	AsymmetricDecrypt(ctx context.Context, h Handle, alg string, ciphertext []byte) ([]byte, error)
	// DeriveSharedSecret is ECDH with a peer public key (DER
	// SubjectPublicKeyInfo on the pair's curve): the shared x-coordinate.
	DeriveSharedSecret(ctx context.Context, h Handle, peer []byte) ([]byte, error)
	// Decapsulate recovers an ML-KEM shared secret.
	Decapsulate(ctx context.Context, h Handle, ciphertext []byte) ([]byte, error)
}

// MAC is a store of HMAC keys (HMAC_224 … HMAC_512).
type MAC interface {
	// NewMACKey creates a random key of the spec's length for ref.
	NewMACKey(ctx context.Context, ref Ref, spec string) (persisted []byte, err error)
	// ImportMACKey stores an imported HMAC key of spec (any length
	// crypto.HMACKeySizeOK allows) for ref.
	ImportMACKey(ctx context.Context, ref Ref, spec string, key []byte) (persisted []byte, err error)
	// GenerateMAC computes the HMAC of msg under alg (the spec's one
	// algorithm, HMAC_SHA_256 for HMAC_256 …).
	GenerateMAC(ctx context.Context, h Handle, alg string, msg []byte) ([]byte, error)
	// VerifyMAC checks mac in constant time; a mismatch is
	// crypto.ErrInvalidMAC.
	VerifyMAC(ctx context.Context, h Handle, alg string, msg, mac []byte) error
}

// Store is a key store for every kind of KMS key.
type Store interface {
	Symmetric
	Asymmetric
	MAC
}
