// Package rootkey holds a deployment's root key: the 256-bit key that seals
// every version of key material. It never touches disk in plaintext except
// as the development key file LoadOrCreateFile manages; other providers
// (a PKCS#11 token, an operator unseal with Shamir shares) hand their key
// to FromBytes.
package rootkey

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
)

// Size is the length of a root key in bytes.
const Size = 32

// sealVersion is the first byte of everything Seal returns.
const sealVersion byte = 0x01

// sealOverhead is the version byte, the 12-byte random nonce and the tag.
const sealOverhead = 1 + 12 + 16

// ErrUnseal is wrapped by every error Open returns: the sealed bytes were
// changed or truncated, or the additional data or the key is not the one
// they were sealed with.
var ErrUnseal = errors.New("rootkey: cannot unseal")

// redacted is how a Key prints, whatever the verb.
const redacted = "rootkey.Key{redacted}"

// Key is a 256-bit root key held in memory. It is safe for concurrent use.
//
// A Key keeps only the expanded AES-GCM state, not the key bytes, and prints
// as "rootkey.Key{redacted}" with every fmt verb and in slog.
type Key struct {
	aead cipher.AEAD // AES-256-GCM with random nonces, prepended to the output
}

// FromBytes returns the root key with the given 32 bytes. It does not keep
// b; the caller may clear it.
func FromBytes(b []byte) (*Key, error) {
	if len(b) != Size {
		return nil, fmt.Errorf("rootkey: a root key is %d bytes, got %d", Size, len(b))
	}
	block, err := aes.NewCipher(b)
	if err != nil {
		return nil, fmt.Errorf("rootkey: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("rootkey: %w", err)
	}
	return &Key{aead: aead}, nil
}

// Seal encrypts plaintext and authenticates it with aad under the root key,
// with AES-256-GCM and a random 96-bit nonce. The result is a format
// version byte, the nonce, the ciphertext and the 16-byte tag; the version
// byte is authenticated along with aad.
//
// Random nonces bound a key to about 2^32 seals; a root key seals one blob
// per key material version, far fewer.
func (k *Key) Seal(plaintext, aad []byte) ([]byte, error) {
	if k == nil || k.aead == nil {
		return nil, errors.New("rootkey: Seal on a nil key")
	}
	out := make([]byte, 1, sealOverhead+len(plaintext))
	out[0] = sealVersion
	return k.aead.Seal(out, nil, plaintext, sealAAD(aad)), nil
}

// Open reverses Seal. Any change to sealed, a different aad or a different
// key gives an error wrapping ErrUnseal.
func (k *Key) Open(sealed, aad []byte) ([]byte, error) {
	if k == nil || k.aead == nil {
		return nil, fmt.Errorf("%w: nil key", ErrUnseal)
	}
	if len(sealed) < sealOverhead {
		return nil, fmt.Errorf("%w: sealed data is %d bytes, shorter than the minimum %d", ErrUnseal, len(sealed), sealOverhead)
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown format version 0x%02x", ErrUnseal, sealed[0])
	}
	pt, err := k.aead.Open(nil, nil, sealed[1:], sealAAD(aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (wrong key, wrong additional data or tampered data)", ErrUnseal)
	}
	return pt, nil
}

// sealAAD binds the format version to the caller's additional data, so
// that a blob cannot be relabelled as another version.
func sealAAD(aad []byte) []byte {
	b := make([]byte, 0, 1+len(aad))
	b = append(b, sealVersion)
	return append(b, aad...)
}

// String returns "rootkey.Key{redacted}".
func (Key) String() string { return redacted }

// GoString returns "rootkey.Key{redacted}", for %#v.
func (Key) GoString() string { return redacted }

// Format prints "rootkey.Key{redacted}" for every verb, so that no verb
// (%d, %x, %+v …) reaches the fields.
func (Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue keeps the key out of structured logs.
func (Key) LogValue() slog.Value { return slog.StringValue(redacted) }
