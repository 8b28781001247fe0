package kms

import (
	"context"
	"errors"

	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
)

// Enum value sets of Sign and Verify, from the AWS KMS model.
var (
	signingAlgorithmSpecs = []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
		"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512", "SM2DSA", "ML_DSA_SHAKE_256",
		"ED25519_SHA_512", "ED25519_PH_SHA_512"}
	messageTypes = []string{"RAW", "DIGEST", "EXTERNAL_MU"}
)

// signRequest is what Sign and Verify share.
type signRequest struct {
	action, keyID, alg, msgType string
	msg                         []byte
	grantTokens                 []string
}

// validateSign checks the members Sign and Verify share, in AWS's words.
func (r *signRequest) validate(v *validator) {
	v.keyID("keyId", r.keyID)
	v.blob("message", r.msg, 1, 4096, true)
	if v.required("signingAlgorithm", r.alg) {
		v.enum("signingAlgorithm", r.alg, signingAlgorithmSpecs)
	}
	v.enum("messageType", r.msgType, messageTypes)
	v.grantTokens(r.grantTokens)
}

// signingKey loads the key of a Sign or Verify request and checks it as
// AWS does, in AWS's order: the caller's permission (kms:SigningAlgorithm
// and kms:MessageType are condition keys), the key's usage, its state, the
// algorithm against the key spec, then the message type and length.
func (s *Service) signingKey(ctx context.Context, c *Caller, r *signRequest) (*keyRecord, error) {
	a := &access{action: r.action, algorithm: r.alg, grantTokens: r.grantTokens,
		extra: map[string][]string{"kms:messagetype": {r.msgType}}}
	k, err := s.usableKey(ctx, c, r.keyID, a, func(k *keyRecord) error {
		if k.KeyUsage != "SIGN_VERIFY" {
			return errKeyUsage(k, r.action)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !contains(keyAlgorithms(k.KeySpec, k.KeyUsage).Signing, r.alg) {
		return nil, awserr.New(awserr.InvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", r.alg, k.KeySpec)
	}
	return k, checkMessageType(k.KeySpec, r.alg, r.msgType, r.msg)
}

// checkMessageType applies AWS's MessageType rules (measured against AWS
// where the wording is known): ML-DSA takes RAW or a 64-byte EXTERNAL_MU,
// ED25519_SHA_512 only RAW, ED25519_PH_SHA_512 only a 64-byte DIGEST,
// the RSA and ECDSA algorithms RAW or a DIGEST of the hash's length.
func checkMessageType(spec, alg, msgType string, msg []byte) error {
	switch {
	case alg == "ML_DSA_SHAKE_256":
		switch msgType {
		case crypto.MessageRaw:
		case crypto.MessageExternalMu:
			if len(msg) != crypto.MuSize {
				return awserr.New(awserr.Validation, "External Mu is invalid length for algorithm %s.", alg)
			}
		default:
			return awserr.New(awserr.Validation, "Message type %s is incompatible with key spec %s.", msgType, spec)
		}
		return nil
	case msgType == crypto.MessageExternalMu:
		return awserr.New(awserr.Validation, "Message type %s is incompatible with key spec %s.", msgType, spec)
	case alg == "ED25519_SHA_512" && msgType != crypto.MessageRaw,
		alg == "ED25519_PH_SHA_512" && msgType != crypto.MessageDigest:
		return awserr.New(awserr.Validation, "Message type %s is incompatible with algorithm %s.", msgType, alg)
	case msgType == crypto.MessageDigest && len(msg) != crypto.DigestSize(alg):
		return awserr.New(awserr.Validation, "Digest is invalid length for algorithm %s.", alg)
	}
	return nil
}

func messageTypeOrRaw(t string) string {
	if t == "" {
		return crypto.MessageRaw
	}
	return t
}

// Sign signs a message or digest with an asymmetric SIGN_VERIFY key.
func (s *Service) Sign(ctx context.Context, c *Caller, in *SignInput) (*SignOutput, error) {
	r := &signRequest{action: "kms:Sign", keyID: in.KeyId, alg: in.SigningAlgorithm,
		msgType: messageTypeOrRaw(in.MessageType), msg: in.Message, grantTokens: in.GrantTokens}
	var v validator
	r.validate(&v)
	if err := v.err(); err != nil {
		return nil, err
	}
	k, err := s.signingKey(ctx, c, r)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	sig, err := s.ks.Sign(ctx, handle(k), r.alg, r.msgType, r.msg)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	s.usedKey(k, "Sign", c)
	return &SignOutput{KeyId: k.ARN, Signature: sig, SigningAlgorithm: r.alg}, nil
}

// Verify checks a signature with an asymmetric SIGN_VERIFY key. A
// signature that does not verify is a KMSInvalidSignatureException, never
// SignatureValid false.
func (s *Service) Verify(ctx context.Context, c *Caller, in *VerifyInput) (*VerifyOutput, error) {
	r := &signRequest{action: "kms:Verify", keyID: in.KeyId, alg: in.SigningAlgorithm,
		msgType: messageTypeOrRaw(in.MessageType), msg: in.Message, grantTokens: in.GrantTokens}
	var v validator
	r.validate(&v)
	v.blob("signature", in.Signature, 1, 6144, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	k, err := s.signingKey(ctx, c, r)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	err = s.ks.Verify(ctx, handle(k), r.alg, r.msgType, r.msg, in.Signature)
	if errors.Is(err, crypto.ErrInvalidSignature) {
		return nil, &awserr.Error{Code: awserr.KMSInvalidSignature}
	}
	if err != nil {
		return nil, awserr.Internal(err)
	}
	s.usedKey(k, "Verify", c)
	return &VerifyOutput{KeyId: k.ARN, SignatureValid: true, SigningAlgorithm: r.alg}, nil
}
