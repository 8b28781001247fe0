// Package crypto holds kagi's cryptographic primitives: the per-message key
// derivation and AEAD of symmetric ciphertexts, and the canonical form of an
// encryption context. It is pure: functions over bytes, no I/O, no state.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Sizes of the inputs to the message functions.
const (
	MaterialSize = 32 // symmetric key material
	NonceSize    = 16 // per-message salt
	IVSize       = 12 // AES-GCM nonce, drawn by SealMessage
	TagSize      = 16 // AES-GCM tag
)

// messageKeyInfo is the HKDF info string. It separates these keys from any
// other use of the same material; a new blob version that derives keys
// differently must use a new string.
const messageKeyInfo = "kagi symmetric v1"

// ErrAuth is returned by OpenMessage when the ciphertext, the additional
// data, the nonce, the IV or the material is not the one it was sealed with.
var ErrAuth = errors.New("crypto: message authentication failed")

// DeriveMessageKey derives the AES-256 key of one message from 32 bytes of
// key material and the message's 16-byte nonce, with HKDF-SHA256 (the
// material as input key material, the nonce as salt, info
// "kagi symmetric v1").
//
// A fresh random nonce per message means each derived key seals a single
// message, so no key comes near the random-IV bound of AES-GCM however many
// messages one material version encrypts.
func DeriveMessageKey(material, nonce []byte) ([]byte, error) {
	if len(material) != MaterialSize {
		return nil, fmt.Errorf("crypto: key material is %d bytes, want %d", len(material), MaterialSize)
	}
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("crypto: message nonce is %d bytes, want %d", len(nonce), NonceSize)
	}
	return hkdf.Key(sha256.New, material, nonce, messageKeyInfo, 32)
}

// SealMessage encrypts and authenticates plaintext and aad with AES-256-GCM
// under the key DeriveMessageKey(material, nonce) and a random 12-byte IV
// that Go's FIPS 140-3 module draws inside the GCM call
// (cipher.NewGCMWithRandomNonce: an approved service in FIPS mode, which a
// caller's IV is not). It returns the IV, the ciphertext and the 16-byte
// tag: IVSize+len(plaintext)+TagSize bytes.
func SealMessage(material, nonce, plaintext, aad []byte) ([]byte, error) {
	aead, err := messageAEAD(material, nonce)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nil, plaintext, aad), nil
}

// OpenMessage reverses SealMessage: sealed is IV || ciphertext || tag (also
// the layout of version 1 blobs, whose IV kagi drew itself). If sealed or
// aad was changed, or material or nonce differ from the ones it was sealed
// with, it returns ErrAuth.
func OpenMessage(material, nonce, sealed, aad []byte) ([]byte, error) {
	aead, err := messageAEAD(material, nonce)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nil, sealed, aad)
	if err != nil {
		// The only failure left is authentication (a sealed part shorter
		// than IV and tag included); GCM's own error says no more.
		return nil, ErrAuth
	}
	return pt, nil
}

// messageAEAD is AES-256-GCM under the message key, with the IV drawn by
// Seal and prefixed to its output. Its Open takes any IV so prefixed: in
// FIPS 140-3 mode decryption is approved whoever chose the IV.
func messageAEAD(material, nonce []byte) (cipher.AEAD, error) {
	key, err := DeriveMessageKey(material, nonce)
	if err != nil {
		return nil, err
	}
	// The AES key schedule keeps its own copy; the derived key has done its
	// job. (Best effort: Go gives no guarantee that no other copy exists.)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	return aead, nil
}
