package kms

import (
	"context"
	"errors"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
)

// Enum values of the key agreement and key encapsulation operations, from
// the AWS KMS model (SM2's ECDH exists only in AWS's China Regions).
var (
	keyAgreementAlgorithms  = []string{"ECDH"}
	encapsulationAlgorithms = []string{"ML_KEM"}
)

const (
	usageKeyAgreement = "KEY_AGREEMENT"
	usageEncapsulate  = "ENCAPSULATE_DECAPSULATE"
	// condKeyAgreementAlgorithm is the condition key of DeriveSharedSecret
	// (lower-cased, as access.extra holds them).
	condKeyAgreementAlgorithm = "kms:keyagreementalgorithm"
)

// DeriveSharedSecret is ECDH between the private key of a KEY_AGREEMENT
// key and a peer's public key (a DER SubjectPublicKeyInfo on the key's
// curve): the raw shared secret, the x-coordinate of the shared point.
//
// AWS's order: the members (ValidationException), the key and the
// caller's permission (kms:KeyAgreementAlgorithm is a condition key), the
// key's usage (InvalidKeyUsageException), its state, then the peer's
// public key (ValidationException), then DryRun.
func (s *Service) DeriveSharedSecret(ctx context.Context, c *Caller, in *DeriveSharedSecretInput) (*DeriveSharedSecretOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	if v.required("keyAgreementAlgorithm", in.KeyAgreementAlgorithm) {
		v.enum("keyAgreementAlgorithm", in.KeyAgreementAlgorithm, keyAgreementAlgorithms)
	}
	v.blob("publicKey", in.PublicKey, 1, 8192, true)
	v.grantTokens(in.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	if present(in.Recipient) {
		return nil, errRecipient()
	}
	const action = "kms:DeriveSharedSecret"
	a := &access{action: action, grantTokens: in.GrantTokens,
		extra: map[string][]string{condKeyAgreementAlgorithm: {in.KeyAgreementAlgorithm}}}
	k, err := s.usableKey(ctx, c, in.KeyId, a, func(k *keyRecord) error {
		if k.KeyUsage != usageKeyAgreement {
			return errKeyUsage(k, action)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !contains(keyAlgorithms(k.KeySpec, k.KeyUsage).KeyAgreement, in.KeyAgreementAlgorithm) {
		return nil, awserr.New(awserr.InvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", in.KeyAgreementAlgorithm, k.KeySpec)
	}
	// Parse here rather than in the key store, so that a bad public key
	// is a ValidationException even on a DryRun, and the store gets the
	// canonical encoding of a point known to be on the key's curve.
	peer, err := crypto.ParsePublicKey(k.KeySpec, in.PublicKey)
	if err != nil {
		return nil, awserr.New(awserr.Validation, "PublicKey is not a DER-encoded SubjectPublicKeyInfo of an elliptic curve public key on the curve of key spec %s.", k.KeySpec)
	}
	if in.DryRun {
		return nil, dryRun()
	}
	secret, err := s.ks.DeriveSharedSecret(ctx, handle(k), peer.DER())
	if err != nil {
		return nil, awserr.Internal(err)
	}
	s.usedKey(k, "DeriveSharedSecret", c)
	return &DeriveSharedSecretOutput{KeyId: k.ARN, SharedSecret: secret,
		KeyAgreementAlgorithm: in.KeyAgreementAlgorithm, KeyOrigin: k.Origin}, nil
}

// kemKey validates what Encapsulate and Decapsulate share and loads their
// key: the caller's permission, the key's usage (ENCAPSULATE_DECAPSULATE),
// its state.
func (s *Service) kemKey(ctx context.Context, c *Caller, v *validator, action, keyID, alg string, tokens []string) (*keyRecord, error) {
	v.keyID("keyId", keyID)
	if v.required("encapsulationAlgorithm", alg) {
		v.enum("encapsulationAlgorithm", alg, encapsulationAlgorithms)
	}
	v.grantTokens(tokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	k, err := s.usableKey(ctx, c, keyID, &access{action: action, grantTokens: tokens}, func(k *keyRecord) error {
		if k.KeyUsage != usageEncapsulate {
			return errKeyUsage(k, action)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !contains(keyAlgorithms(k.KeySpec, k.KeyUsage).Encapsulation, alg) {
		return nil, awserr.New(awserr.InvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", alg, k.KeySpec)
	}
	return k, nil
}

// Encapsulate makes a 32-byte shared secret and its ML-KEM ciphertext
// with the public key of an ML-KEM key. Only the public key is used, as a
// client could do offline with GetPublicKey's key; KMS still authorizes
// the call and applies the key's state.
func (s *Service) Encapsulate(ctx context.Context, c *Caller, in *EncapsulateInput) (*EncapsulateOutput, error) {
	var v validator
	k, err := s.kemKey(ctx, c, &v, "kms:Encapsulate", in.KeyId, in.EncapsulationAlgorithm, in.GrantTokens)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	der, err := s.ks.PublicKey(ctx, handle(k))
	if err != nil {
		return nil, awserr.Internal(err)
	}
	pub, err := crypto.ParsePublicKey(k.KeySpec, der)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	secret, ct, err := pub.Encapsulate()
	if err != nil {
		return nil, awserr.Internal(err)
	}
	s.usedKey(k, "Encapsulate", c)
	return &EncapsulateOutput{KeyId: k.ARN, SharedSecret: secret, SharedSecretCiphertextBlob: ct,
		EncapsulationAlgorithm: in.EncapsulationAlgorithm}, nil
}

// Decapsulate recovers the shared secret of an ML-KEM ciphertext with the
// private key of an ML-KEM key. Only a ciphertext of the wrong length for
// the key spec is an InvalidCiphertextException; any other ciphertext
// yields 32 bytes (ML-KEM's implicit rejection), as in AWS.
func (s *Service) Decapsulate(ctx context.Context, c *Caller, in *DecapsulateInput) (*DecapsulateOutput, error) {
	var v validator
	v.blob("sharedSecretCiphertextBlob", in.SharedSecretCiphertextBlob, 1, 6144, true)
	k, err := s.kemKey(ctx, c, &v, "kms:Decapsulate", in.KeyId, in.EncapsulationAlgorithm, in.GrantTokens)
	if err != nil {
		return nil, err
	}
	if n := crypto.KEMCiphertextSize(k.KeySpec); len(in.SharedSecretCiphertextBlob) != n {
		return nil, awserr.New(awserr.InvalidCiphertext, "SharedSecretCiphertextBlob is %d bytes; a key of spec %s decapsulates %d-byte ciphertexts.",
			len(in.SharedSecretCiphertextBlob), k.KeySpec, n)
	}
	if in.DryRun {
		return nil, dryRun()
	}
	secret, err := s.ks.Decapsulate(ctx, handle(k), in.SharedSecretCiphertextBlob)
	if errors.Is(err, crypto.ErrInvalidInput) {
		// The length was checked above; keep the promise anyway.
		return nil, awserr.New(awserr.InvalidCiphertext, "SharedSecretCiphertextBlob does not fit key spec %s.", k.KeySpec)
	}
	if err != nil {
		return nil, awserr.Internal(err)
	}
	s.usedKey(k, "Decapsulate", c)
	return &DecapsulateOutput{KeyId: k.ARN, SharedSecret: secret, EncapsulationAlgorithm: in.EncapsulationAlgorithm}, nil
}
