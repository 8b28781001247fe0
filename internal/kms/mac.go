package kms

import (
	"context"
	"errors"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
)

// macAlgorithmSpecs is the MacAlgorithmSpec enum of the AWS KMS model.
var macAlgorithmSpecs = []string{"HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"}

// macKey validates what GenerateMac and VerifyMac share and loads their
// key: the caller's permission (kms:MacAlgorithm is a condition key), the
// key's usage, its state, then the algorithm against the key spec.
func (s *Service) macKey(ctx context.Context, c *Caller, v *validator, action, keyID, alg string, msg []byte, tokens []string) (*keyRecord, error) {
	v.blob("message", msg, 1, 4096, true)
	v.keyID("keyId", keyID)
	if v.required("macAlgorithm", alg) {
		v.enum("macAlgorithm", alg, macAlgorithmSpecs)
	}
	v.grantTokens(tokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	k, err := s.usableKey(ctx, c, keyID, &access{action: action, algorithm: alg, grantTokens: tokens}, func(k *keyRecord) error {
		if k.KeyUsage != "GENERATE_VERIFY_MAC" {
			return errKeyUsage(k, action)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if crypto.MACAlgorithm(k.KeySpec) != alg {
		return nil, awserr.New(awserr.InvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", alg, k.KeySpec)
	}
	return k, nil
}

// GenerateMac computes the HMAC of a message with an HMAC key.
func (s *Service) GenerateMac(ctx context.Context, c *Caller, in *GenerateMacInput) (*GenerateMacOutput, error) {
	var v validator
	k, err := s.macKey(ctx, c, &v, "kms:GenerateMac", in.KeyId, in.MacAlgorithm, in.Message, in.GrantTokens)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	mac, err := s.ks.GenerateMAC(ctx, handle(k), in.MacAlgorithm, in.Message)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	s.usedKey(k, "GenerateMac", c)
	return &GenerateMacOutput{Mac: mac, MacAlgorithm: in.MacAlgorithm, KeyId: k.ARN}, nil
}

// VerifyMac checks an HMAC in constant time. A MAC that does not verify is
// a KMSInvalidMacException, never MacValid false.
func (s *Service) VerifyMac(ctx context.Context, c *Caller, in *VerifyMacInput) (*VerifyMacOutput, error) {
	var v validator
	v.blob("mac", in.Mac, 1, 6144, true)
	k, err := s.macKey(ctx, c, &v, "kms:VerifyMac", in.KeyId, in.MacAlgorithm, in.Message, in.GrantTokens)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	err = s.ks.VerifyMAC(ctx, handle(k), in.MacAlgorithm, in.Message, in.Mac)
	if errors.Is(err, crypto.ErrInvalidMAC) {
		return nil, &awserr.Error{Code: awserr.KMSInvalidMac}
	}
	if err != nil {
		return nil, awserr.Internal(err)
	}
	s.usedKey(k, "VerifyMac", c)
	return &VerifyMacOutput{KeyId: k.ARN, MacValid: true, MacAlgorithm: in.MacAlgorithm}, nil
}
