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
	// Encrypt seals plaintext under aad with the material, with a message
	// key derived from nonce (16 bytes) and the AES-GCM iv (12 bytes), as
	// crypto.SealMessage does. It returns the ciphertext and the tag.
	Encrypt(ctx context.Context, ref Ref, persisted, nonce, iv, plaintext, aad []byte) (sealed []byte, err error)
	// Decrypt opens sealed. A failed authentication returns an error
	// wrapping crypto.ErrAuth; persisted material that cannot be used for
	// ref returns another error.
	Decrypt(ctx context.Context, ref Ref, persisted, nonce, iv, sealed, aad []byte) (plaintext []byte, err error)
}
