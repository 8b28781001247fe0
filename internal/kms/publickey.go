package kms

import (
	"context"
	"encoding/hex"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/keystore"
)

// GetPublicKey returns the public key of an asymmetric key as a DER
// SubjectPublicKeyInfo, with what the key can do.
func (s *Service) GetPublicKey(ctx context.Context, c *Caller, in *GetPublicKeyInput) (*GetPublicKeyOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	v.grantTokens(in.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	k, err := s.usableKey(ctx, c, in.KeyId, &access{action: "kms:GetPublicKey", grantTokens: in.GrantTokens}, func(k *keyRecord) error {
		if !crypto.AsymmetricSpec(k.KeySpec) {
			return awserr.New(awserr.UnsupportedOperation, "%s key usage is %s which is not valid for GetPublicKey.", k.ARN, k.KeyUsage)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	der, err := s.ks.PublicKey(ctx, handle(k))
	if err != nil {
		return nil, awserr.Internal(err)
	}
	algs := keyAlgorithms(k.KeySpec, k.KeyUsage)
	return &GetPublicKeyOutput{
		CustomerMasterKeySpec:   customerMasterKeySpec(k.KeySpec),
		EncapsulationAlgorithms: algs.Encapsulation,
		EncryptionAlgorithms:    algs.Encryption,
		KeyAgreementAlgorithms:  algs.KeyAgreement,
		KeyId:                   k.ARN,
		KeySpec:                 k.KeySpec,
		KeyUsage:                k.KeyUsage,
		PublicKey:               der,
		SigningAlgorithms:       algs.Signing,
	}, nil
}

// handle names the current material of an asymmetric or HMAC key in the
// key store. (These keys never rotate: they have one material.)
func handle(k *keyRecord) keystore.Handle {
	m := k.Materials[k.Current]
	h := keystore.Handle{Ref: keystore.Ref{KeyARN: k.ARN}, Spec: k.KeySpec, Persisted: m.Sealed}
	// IDs are written by newMaterial as 64 hex digits; a record that does
	// not decode names another material id, which the store refuses.
	_, _ = hex.Decode(h.Ref.MaterialID[:], []byte(m.ID))
	return h
}
