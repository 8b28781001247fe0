package software

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
)

// Labels that start the additional data of sealed key pairs and HMAC keys.
// They differ from materialAADLabel and from each other, so a persisted
// value of one kind never opens as another; the spec follows the label, so
// a key pair never opens as another spec.
const (
	pairAADLabel = "kagi keypair v1"
	macAADLabel  = "kagi hmac v1"
)

// typedAAD is the additional data of a key pair's or HMAC key's private
// half: the label, the spec and the ARN (each after its length as a
// uvarint), and the material id.
func typedAAD(label, spec string, ref keystore.Ref) []byte {
	b := make([]byte, 0, len(label)+2*binary.MaxVarintLen64+len(spec)+len(ref.KeyARN)+len(ref.MaterialID))
	b = append(b, label...)
	b = binary.AppendUvarint(b, uint64(len(spec)))
	b = append(b, spec...)
	b = binary.AppendUvarint(b, uint64(len(ref.KeyARN)))
	b = append(b, ref.KeyARN...)
	return append(b, ref.MaterialID[:]...)
}

func checkRef(ctx context.Context, ref keystore.Ref) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ref.KeyARN == "" {
		return errors.New("keystore/software: empty key ARN")
	}
	return nil
}

// NewKeyPair creates a key pair of spec and returns its private key
// (crypto.KeyPair.MarshalPrivateKey) sealed under the root key, bound to
// ref and spec.
func (s *Store) NewKeyPair(ctx context.Context, ref keystore.Ref, spec string) ([]byte, error) {
	if err := checkRef(ctx, ref); err != nil {
		return nil, err
	}
	if !crypto.AsymmetricSpec(spec) {
		return nil, fmt.Errorf("keystore/software: new key pair: %w: %q", crypto.ErrUnsupported, spec)
	}
	k, err := crypto.GenerateKeyPair(spec)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: new key pair: %w", err)
	}
	raw := k.MarshalPrivateKey()
	defer clear(raw)
	persisted, err := s.root.Seal(raw, typedAAD(pairAADLabel, spec, ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: seal new key pair: %w", err)
	}
	s.putEntry(&entry{ref: ref, persisted: bytes.Clone(persisted), spec: spec, pair: k})
	return persisted, nil
}

// ImportKeyPair seals an imported private key (DER PKCS #8) in the same
// compact encoding and under the same additional data as NewKeyPair.
func (s *Store) ImportKeyPair(ctx context.Context, ref keystore.Ref, spec string, pkcs8 []byte) ([]byte, error) {
	if err := checkRef(ctx, ref); err != nil {
		return nil, err
	}
	k, err := crypto.ParsePKCS8KeyPair(spec, pkcs8)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: import key pair: %w", err)
	}
	raw := k.MarshalPrivateKey()
	defer clear(raw)
	persisted, err := s.root.Seal(raw, typedAAD(pairAADLabel, spec, ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: seal imported key pair: %w", err)
	}
	s.putEntry(&entry{ref: ref, persisted: bytes.Clone(persisted), spec: spec, pair: k})
	return persisted, nil
}

// pair returns the handle's key pair, from the cache or unsealed.
func (s *Store) pair(ctx context.Context, h keystore.Handle) (*crypto.KeyPair, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !crypto.AsymmetricSpec(h.Spec) {
		return nil, fmt.Errorf("keystore/software: %w: %q is no key pair spec", crypto.ErrUnsupported, h.Spec)
	}
	if e := s.lookup(h.Ref, h.Persisted, h.Spec); e != nil && e.pair != nil {
		s.hits.Add(1)
		return e.pair, nil
	}
	s.misses.Add(1)
	raw, err := s.root.Open(h.Persisted, typedAAD(pairAADLabel, h.Spec, h.Ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: unseal key pair: %w", err)
	}
	k, err := crypto.ParseKeyPair(h.Spec, raw)
	if err != nil {
		clear(raw)
		return nil, fmt.Errorf("keystore/software: unsealed key pair: %w", err)
	}
	s.putEntry(&entry{ref: h.Ref, persisted: bytes.Clone(h.Persisted), spec: h.Spec, pair: k})
	return k, nil
}

// PublicKey returns the pair's DER SubjectPublicKeyInfo.
func (s *Store) PublicKey(ctx context.Context, h keystore.Handle) ([]byte, error) {
	k, err := s.pair(ctx, h)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(k.Public().DER()), nil
}

// Sign signs msg with the pair; see crypto.KeyPair.Sign.
func (s *Store) Sign(ctx context.Context, h keystore.Handle, alg, msgType string, msg []byte) ([]byte, error) {
	k, err := s.pair(ctx, h)
	if err != nil {
		return nil, err
	}
	sig, err := k.Sign(alg, msgType, msg)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: sign: %w", err)
	}
	return sig, nil
}

// Verify checks a signature with the pair's public key.
func (s *Store) Verify(ctx context.Context, h keystore.Handle, alg, msgType string, msg, sig []byte) error {
	k, err := s.pair(ctx, h)
	if err != nil {
		return err
	}
	if err := k.Public().Verify(alg, msgType, msg, sig); err != nil {
		return fmt.Errorf("keystore/software: verify: %w", err)
	}
	return nil
}

// AsymmetricDecrypt opens an RSAES-OAEP ciphertext.
func (s *Store) AsymmetricDecrypt(ctx context.Context, h keystore.Handle, alg string, ciphertext []byte) ([]byte, error) {
	k, err := s.pair(ctx, h)
	if err != nil {
		return nil, err
	}
	pt, err := k.DecryptOAEP(alg, ciphertext)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: decrypt: %w", err)
	}
	return pt, nil
}

// DeriveSharedSecret is ECDH with peer.
func (s *Store) DeriveSharedSecret(ctx context.Context, h keystore.Handle, peer []byte) ([]byte, error) {
	k, err := s.pair(ctx, h)
	if err != nil {
		return nil, err
	}
	secret, err := k.DeriveSharedSecret(peer)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: derive shared secret: %w", err)
	}
	return secret, nil
}

// Decapsulate recovers an ML-KEM shared secret.
func (s *Store) Decapsulate(ctx context.Context, h keystore.Handle, ciphertext []byte) ([]byte, error) {
	k, err := s.pair(ctx, h)
	if err != nil {
		return nil, err
	}
	secret, err := k.Decapsulate(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: decapsulate: %w", err)
	}
	return secret, nil
}

// NewMACKey creates a random HMAC key of spec's length, sealed under the
// root key and bound to ref and spec.
func (s *Store) NewMACKey(ctx context.Context, ref keystore.Ref, spec string) ([]byte, error) {
	if err := checkRef(ctx, ref); err != nil {
		return nil, err
	}
	key, err := crypto.NewHMACKey(spec)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: new HMAC key: %w", err)
	}
	persisted, err := s.root.Seal(key, typedAAD(macAADLabel, spec, ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: seal new HMAC key: %w", err)
	}
	s.putEntry(&entry{ref: ref, persisted: bytes.Clone(persisted), spec: spec, material: key})
	return persisted, nil
}

// ImportMACKey seals imported HMAC key material (a length
// crypto.HMACKeySizeOK allows) under the root key, bound to ref and spec.
func (s *Store) ImportMACKey(ctx context.Context, ref keystore.Ref, spec string, key []byte) ([]byte, error) {
	if err := checkRef(ctx, ref); err != nil {
		return nil, err
	}
	if !crypto.HMACKeySizeOK(spec, len(key)) {
		return nil, fmt.Errorf("keystore/software: import HMAC key: %w: %d bytes for %q", crypto.ErrInvalidInput, len(key), spec)
	}
	key = bytes.Clone(key)
	persisted, err := s.root.Seal(key, typedAAD(macAADLabel, spec, ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: seal imported HMAC key: %w", err)
	}
	s.putEntry(&entry{ref: ref, persisted: bytes.Clone(persisted), spec: spec, material: key})
	return persisted, nil
}

func (s *Store) macKey(ctx context.Context, h keystore.Handle) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if crypto.HMACKeySize(h.Spec) == 0 {
		return nil, fmt.Errorf("keystore/software: %w: %q is no HMAC spec", crypto.ErrUnsupported, h.Spec)
	}
	if e := s.lookup(h.Ref, h.Persisted, h.Spec); e != nil && e.material != nil {
		s.hits.Add(1)
		return e.material, nil
	}
	s.misses.Add(1)
	key, err := s.root.Open(h.Persisted, typedAAD(macAADLabel, h.Spec, h.Ref))
	if err != nil {
		return nil, fmt.Errorf("keystore/software: unseal HMAC key: %w", err)
	}
	if !crypto.HMACKeySizeOK(h.Spec, len(key)) {
		clear(key)
		return nil, fmt.Errorf("keystore/software: unsealed HMAC key of %s is %d bytes", h.Spec, len(key))
	}
	s.putEntry(&entry{ref: h.Ref, persisted: bytes.Clone(h.Persisted), spec: h.Spec, material: key})
	return key, nil
}

// GenerateMAC computes the HMAC of msg.
func (s *Store) GenerateMAC(ctx context.Context, h keystore.Handle, alg string, msg []byte) ([]byte, error) {
	key, err := s.macKey(ctx, h)
	if err != nil {
		return nil, err
	}
	mac, err := crypto.MAC(h.Spec, alg, key, msg)
	if err != nil {
		return nil, fmt.Errorf("keystore/software: MAC: %w", err)
	}
	return mac, nil
}

// VerifyMAC checks mac in constant time.
func (s *Store) VerifyMAC(ctx context.Context, h keystore.Handle, alg string, msg, mac []byte) error {
	key, err := s.macKey(ctx, h)
	if err != nil {
		return err
	}
	if err := crypto.VerifyMAC(h.Spec, alg, key, msg, mac); err != nil {
		return fmt.Errorf("keystore/software: verify MAC: %w", err)
	}
	return nil
}

// UnsealKeyPair returns the private key encoding of a persisted key pair,
// bypassing the cache, and UnsealMACKey an HMAC key: for tests that prove
// private keys never reach storage or logs unsealed.
func (s *Store) UnsealKeyPair(h keystore.Handle) ([]byte, error) {
	return s.root.Open(h.Persisted, typedAAD(pairAADLabel, h.Spec, h.Ref))
}

// UnsealMACKey: see UnsealKeyPair.
func (s *Store) UnsealMACKey(h keystore.Handle) ([]byte, error) {
	return s.root.Open(h.Persisted, typedAAD(macAADLabel, h.Spec, h.Ref))
}
