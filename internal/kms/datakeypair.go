package kms

import (
	"context"
	"strings"

	"github.com/kagikms/kagi/internal/awserr"
	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/quota"
)

// dataKeyPairSpecs is the DataKeyPairSpec enum of the AWS KMS model.
var dataKeyPairSpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
	"ECC_SECG_P256K1", "SM2", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}

// GenerateDataKeyPair returns a new asymmetric key pair for use outside
// kagi: the public key (DER SubjectPublicKeyInfo), the private key (DER
// PKCS #8) in plaintext, and the private key encrypted under a symmetric
// encryption key with the encryption context, as Encrypt would encrypt it
// (Decrypt of PrivateKeyCiphertextBlob returns the PKCS #8 bytes).
func (s *Service) GenerateDataKeyPair(ctx context.Context, c *Caller, in *GenerateDataKeyPairInput) (*GenerateDataKeyPairOutput, error) {
	return s.generateDataKeyPair(ctx, c, in, "kms:GenerateDataKeyPair")
}

// GenerateDataKeyPairWithoutPlaintext is GenerateDataKeyPair without the
// plaintext private key.
func (s *Service) GenerateDataKeyPairWithoutPlaintext(ctx context.Context, c *Caller, in *GenerateDataKeyPairInput) (*GenerateDataKeyPairOutput, error) {
	// Recipient is not a member of this operation: ignore it as the SDKs
	// would never send it.
	in.Recipient = nil
	return s.generateDataKeyPair(ctx, c, in, "kms:GenerateDataKeyPairWithoutPlaintext")
}

func (s *Service) generateDataKeyPair(ctx context.Context, c *Caller, in *GenerateDataKeyPairInput, action string) (*GenerateDataKeyPairOutput, error) {
	var v validator
	v.keyID("keyId", in.KeyId)
	if v.required("keyPairSpec", in.KeyPairSpec) {
		v.enum("keyPairSpec", in.KeyPairSpec, dataKeyPairSpecs)
	}
	v.grantTokens(in.GrantTokens)
	v.encryptionContext("encryptionContext", in.EncryptionContext)
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.KeyPairSpec == "SM2" {
		return nil, awserr.New(awserr.UnsupportedOperation, "KeyPairSpec SM2 is only available in AWS China Regions.")
	}
	if err := checkFIPS(in.KeyPairSpec); err != nil {
		return nil, err
	}
	if present(in.Recipient) {
		return nil, errRecipient()
	}
	// The pair's spec has its own quota; the wrapping key's symmetric
	// quota is not counted.
	if err := s.count(c, quota.DataKeyPair(in.KeyPairSpec)); err != nil {
		return nil, err
	}
	// kms:EncryptionAlgorithm is SYMMETRIC_DEFAULT, the algorithm that
	// encrypts the private key; kms:DataKeyPairSpec is the spec asked for.
	a := &access{action: action, ec: in.EncryptionContext, algorithm: algSymmetric, grantTokens: in.GrantTokens,
		extra: map[string][]string{"kms:datakeypairspec": {in.KeyPairSpec}}}
	k, err := s.usableKey(ctx, c, in.KeyId, a, func(k *keyRecord) error { return checkDataKeyWrapper(k, action) })
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	kp, err := kcrypto.GenerateKeyPair(in.KeyPairSpec)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	der, err := kp.MarshalPKCS8()
	if err != nil {
		return nil, awserr.Internal(err)
	}
	ct, err := s.seal(ctx, k, der, in.EncryptionContext)
	if err != nil {
		clear(der)
		return nil, err
	}
	out := &GenerateDataKeyPairOutput{
		KeyId:                    k.ARN,
		KeyMaterialId:            k.Materials[k.Current].ID,
		KeyPairSpec:              in.KeyPairSpec,
		PrivateKeyCiphertextBlob: ct,
		PublicKey:                kp.Public().DER(),
	}
	if action == "kms:GenerateDataKeyPair" {
		out.PrivateKeyPlaintext = der
	} else {
		clear(der)
	}
	s.usedKey(k, strings.TrimPrefix(action, "kms:"), c)
	return out, nil
}

// checkDataKeyWrapper checks that k can encrypt data keys and data key
// pairs: a symmetric encryption key (AWS: "You cannot specify an
// asymmetric KMS key"). Its usage is checked first, with AWS's wording.
func checkDataKeyWrapper(k *keyRecord, action string) error {
	if k.KeyUsage != "ENCRYPT_DECRYPT" {
		return errKeyUsage(k, action)
	}
	if k.KeySpec != kcrypto.SpecSymmetric {
		return awserr.New(awserr.InvalidKeyUsage, "%s is not a symmetric encryption key.", k.ARN)
	}
	return nil
}
