package server_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// sdkKeyType is one KeySpec/KeyUsage pair AWS allows, with what AWS
// reports for it.
type sdkKeyType struct {
	spec  types.KeySpec
	usage types.KeyUsageType
	// cmk is CustomerMasterKeySpec ("" where AWS's enum lacks the spec).
	cmk                                        types.CustomerMasterKeySpec
	encryption, signing, mac, agreement, encap []string
}

var (
	sdkRSASigning = []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"}
	sdkOAEP = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
)

// sdkKeyTypes is AWS's key-spec table (kms-api.md §2.2), every pair but
// SM2's (China Regions only) and SYMMETRIC_DEFAULT's.
var sdkKeyTypes = []sdkKeyType{
	{spec: types.KeySpecRsa2048, usage: types.KeyUsageTypeEncryptDecrypt, cmk: "RSA_2048", encryption: sdkOAEP},
	{spec: types.KeySpecRsa2048, usage: types.KeyUsageTypeSignVerify, cmk: "RSA_2048", signing: sdkRSASigning},
	{spec: types.KeySpecRsa3072, usage: types.KeyUsageTypeEncryptDecrypt, cmk: "RSA_3072", encryption: sdkOAEP},
	{spec: types.KeySpecRsa3072, usage: types.KeyUsageTypeSignVerify, cmk: "RSA_3072", signing: sdkRSASigning},
	{spec: types.KeySpecRsa4096, usage: types.KeyUsageTypeEncryptDecrypt, cmk: "RSA_4096", encryption: sdkOAEP},
	{spec: types.KeySpecRsa4096, usage: types.KeyUsageTypeSignVerify, cmk: "RSA_4096", signing: sdkRSASigning},
	{spec: types.KeySpecEccNistP256, usage: types.KeyUsageTypeSignVerify, cmk: "ECC_NIST_P256", signing: []string{"ECDSA_SHA_256"}},
	{spec: types.KeySpecEccNistP256, usage: types.KeyUsageTypeKeyAgreement, cmk: "ECC_NIST_P256", agreement: []string{"ECDH"}},
	{spec: types.KeySpecEccNistP384, usage: types.KeyUsageTypeSignVerify, cmk: "ECC_NIST_P384", signing: []string{"ECDSA_SHA_384"}},
	{spec: types.KeySpecEccNistP384, usage: types.KeyUsageTypeKeyAgreement, cmk: "ECC_NIST_P384", agreement: []string{"ECDH"}},
	{spec: types.KeySpecEccNistP521, usage: types.KeyUsageTypeSignVerify, cmk: "ECC_NIST_P521", signing: []string{"ECDSA_SHA_512"}},
	{spec: types.KeySpecEccNistP521, usage: types.KeyUsageTypeKeyAgreement, cmk: "ECC_NIST_P521", agreement: []string{"ECDH"}},
	{spec: types.KeySpecEccSecgP256k1, usage: types.KeyUsageTypeSignVerify, cmk: "ECC_SECG_P256K1", signing: []string{"ECDSA_SHA_256"}},
	{spec: types.KeySpecEccNistEdwards25519, usage: types.KeyUsageTypeSignVerify, signing: []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}},
	{spec: types.KeySpecMlDsa44, usage: types.KeyUsageTypeSignVerify, signing: []string{"ML_DSA_SHAKE_256"}},
	{spec: types.KeySpecMlDsa65, usage: types.KeyUsageTypeSignVerify, signing: []string{"ML_DSA_SHAKE_256"}},
	{spec: types.KeySpecMlDsa87, usage: types.KeyUsageTypeSignVerify, signing: []string{"ML_DSA_SHAKE_256"}},
	{spec: types.KeySpecMlKem512, usage: types.KeyUsageTypeEncapsulateDecapsulate, encap: []string{"ML_KEM"}},
	{spec: types.KeySpecMlKem768, usage: types.KeyUsageTypeEncapsulateDecapsulate, encap: []string{"ML_KEM"}},
	{spec: types.KeySpecMlKem1024, usage: types.KeyUsageTypeEncapsulateDecapsulate, encap: []string{"ML_KEM"}},
	{spec: types.KeySpecHmac224, usage: types.KeyUsageTypeGenerateVerifyMac, cmk: "HMAC_224", mac: []string{"HMAC_SHA_224"}},
	{spec: types.KeySpecHmac256, usage: types.KeyUsageTypeGenerateVerifyMac, cmk: "HMAC_256", mac: []string{"HMAC_SHA_256"}},
	{spec: types.KeySpecHmac384, usage: types.KeyUsageTypeGenerateVerifyMac, cmk: "HMAC_384", mac: []string{"HMAC_SHA_384"}},
	{spec: types.KeySpecHmac512, usage: types.KeyUsageTypeGenerateVerifyMac, cmk: "HMAC_512", mac: []string{"HMAC_SHA_512"}},
}

func sdkStrings[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// checkAlgorithms compares the algorithm lists of a response with AWS's.
func (kt sdkKeyType) checkAlgorithms(t *testing.T, what string, enc []types.EncryptionAlgorithmSpec, sig []types.SigningAlgorithmSpec,
	mac []types.MacAlgorithmSpec, agree []types.KeyAgreementAlgorithmSpec, encap []types.EncapsulationAlgorithmSpec) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"EncryptionAlgorithms", sdkStrings(enc), kt.encryption},
		{"SigningAlgorithms", sdkStrings(sig), kt.signing},
		{"MacAlgorithms", sdkStrings(mac), kt.mac},
		{"KeyAgreementAlgorithms", sdkStrings(agree), kt.agreement},
		{"EncapsulationAlgorithms", sdkStrings(encap), kt.encap},
	} {
		if !slices.Equal(c.got, c.want) && (len(c.got) != 0 || len(c.want) != 0) {
			t.Errorf("%s %s/%s: %s = %v, AWS's are %v", what, kt.spec, kt.usage, c.name, c.got, c.want)
		}
	}
}

// TestSDKCreateKeyEveryType creates a key of every KeySpec/KeyUsage pair
// AWS allows and checks what CreateKey, DescribeKey and GetPublicKey
// report against AWS's key-spec table, and that the public key is the
// spec's.
func TestSDKCreateKeyEveryType(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	for _, kt := range sdkKeyTypes {
		m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: kt.spec, KeyUsage: kt.usage})
		if m.KeySpec != kt.spec || m.KeyUsage != kt.usage || m.CustomerMasterKeySpec != kt.cmk || m.KeyState != types.KeyStateEnabled || !m.Enabled {
			t.Errorf("CreateKey %s/%s: spec %s usage %s cmk %q state %s", kt.spec, kt.usage, m.KeySpec, m.KeyUsage, m.CustomerMasterKeySpec, m.KeyState)
		}
		if m.CurrentKeyMaterialId != nil {
			t.Errorf("CreateKey %s: CurrentKeyMaterialId %s; AWS reports it for symmetric keys only", kt.spec, *m.CurrentKeyMaterialId)
		}
		kt.checkAlgorithms(t, "CreateKey", m.EncryptionAlgorithms, m.SigningAlgorithms, m.MacAlgorithms, m.KeyAgreementAlgorithms, m.EncapsulationAlgorithms)
		d := sdkDescribe(t, env.KMS, *m.KeyId)
		if d.KeySpec != kt.spec || d.CustomerMasterKeySpec != kt.cmk {
			t.Errorf("DescribeKey %s: spec %s cmk %q", kt.spec, d.KeySpec, d.CustomerMasterKeySpec)
		}
		kt.checkAlgorithms(t, "DescribeKey", d.EncryptionAlgorithms, d.SigningAlgorithms, d.MacAlgorithms, d.KeyAgreementAlgorithms, d.EncapsulationAlgorithms)

		pk, err := env.KMS.GetPublicKey(t.Context(), &kms.GetPublicKeyInput{KeyId: m.KeyId})
		if kt.usage == types.KeyUsageTypeGenerateVerifyMac {
			sdkWantErr(t, "GetPublicKey of "+string(kt.spec), err, "UnsupportedOperationException")
			continue
		}
		if err != nil {
			t.Fatalf("GetPublicKey %s: %v", kt.spec, err)
		}
		if aws.ToString(pk.KeyId) != *m.Arn || pk.KeySpec != kt.spec || pk.KeyUsage != kt.usage || pk.CustomerMasterKeySpec != kt.cmk {
			t.Errorf("GetPublicKey %s: key %s spec %s usage %s cmk %q", kt.spec, aws.ToString(pk.KeyId), pk.KeySpec, pk.KeyUsage, pk.CustomerMasterKeySpec)
		}
		kt.checkAlgorithms(t, "GetPublicKey", pk.EncryptionAlgorithms, pk.SigningAlgorithms, nil, pk.KeyAgreementAlgorithms, pk.EncapsulationAlgorithms)
		sdkCheckPublicKey(t, kt.spec, pk.PublicKey)
	}
}

// sdkCheckPublicKey checks a GetPublicKey DER: the standard library parses
// RSA, NIST and Ed25519 keys of the right size on its own; the others
// (secp256k1, ML-DSA, ML-KEM) must parse as their spec and have AWS's
// length.
func sdkCheckPublicKey(t *testing.T, spec types.KeySpec, der []byte) {
	t.Helper()
	switch spec {
	case types.KeySpecRsa2048, types.KeySpecRsa3072, types.KeySpecRsa4096, types.KeySpecEccNistP256, types.KeySpecEccNistP384,
		types.KeySpecEccNistP521, types.KeySpecEccNistEdwards25519:
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatalf("%s: public key does not parse: %v", spec, err)
		}
		ok := false
		switch k := pub.(type) {
		case *rsa.PublicKey:
			ok = map[types.KeySpec]int{types.KeySpecRsa2048: 2048, types.KeySpecRsa3072: 3072, types.KeySpecRsa4096: 4096}[spec] == k.N.BitLen()
		case *ecdsa.PublicKey:
			ok = map[types.KeySpec]elliptic.Curve{types.KeySpecEccNistP256: elliptic.P256(), types.KeySpecEccNistP384: elliptic.P384(), types.KeySpecEccNistP521: elliptic.P521()}[spec] == k.Curve
		case ed25519.PublicKey:
			ok = spec == types.KeySpecEccNistEdwards25519
		}
		if !ok {
			t.Errorf("%s: public key is a %T", spec, pub)
		}
	default:
		if _, err := kcrypto.ParsePublicKey(string(spec), der); err != nil {
			t.Errorf("%s: %v", spec, err)
		}
		want := map[types.KeySpec]int{types.KeySpecEccSecgP256k1: 88, types.KeySpecMlDsa44: 1334, types.KeySpecMlDsa65: 1974,
			types.KeySpecMlDsa87: 2614, types.KeySpecMlKem512: 822, types.KeySpecMlKem768: 1206, types.KeySpecMlKem1024: 1590}[spec]
		if len(der) != want {
			t.Errorf("%s: public key is %d bytes, AWS's %d", spec, len(der), want)
		}
	}
}

// TestSDKGetPublicKeyErrors: symmetric and HMAC keys have no public key;
// key states as AWS's table; a public key survives a restart.
func TestSDKGetPublicKeyErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	get := func(id *string) ([]byte, error) {
		out, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: id}, sdkNoRetry)
		if err != nil {
			return nil, err
		}
		return out.PublicKey, nil
	}
	sym := sdkCreateKey(t, env.KMS, nil)
	_, err := get(sym.KeyId)
	sdkWantErr(t, "symmetric key", err, "UnsupportedOperationException")

	ec := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	before, err := get(ec.KeyId)
	if err != nil {
		t.Fatal(err)
	}
	sdkCreateAlias(t, env.KMS, "alias/pub", *ec.KeyId)
	for _, id := range []string{"alias/pub", sdkAliasARN(servertest.Region, "alias/pub"), *ec.Arn} {
		if b, err := get(aws.String(id)); err != nil || string(b) != string(before) {
			t.Errorf("GetPublicKey by %s: %v", id, err)
		}
	}
	_, err = get(aws.String("alias/none"))
	sdkWantErr(t, "unknown alias", err, "NotFoundException")
	_, err = env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: ec.KeyId, GrantTokens: []string{"not a token"}}, sdkNoRetry)
	sdkWantErr(t, "bad grant token", err, "InvalidGrantTokenException")
	_, err = get(aws.String(""))
	sdkWantErr(t, "empty KeyId", err, "ValidationException")

	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: ec.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = get(ec.KeyId)
	sdkWantErr(t, "disabled key", err, "DisabledException")
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: ec.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	_, err = get(ec.KeyId)
	sdkWantErr(t, "key pending deletion", err, "KMSInvalidStateException")
	if _, err := env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: ec.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: ec.KeyId}); err != nil {
		t.Fatal(err)
	}

	env.Restart(t)
	after, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: ec.KeyId})
	if err != nil || string(after.PublicKey) != string(before) {
		t.Fatalf("after a restart: %v (same key: %v)", err, err == nil && string(after.PublicKey) == string(before))
	}
}

// TestSDKSymmetricOpsRefuseOtherKeys: Encrypt, Decrypt, ReEncrypt and
// GenerateDataKey* on asymmetric and HMAC keys answer AWS's
// InvalidKeyUsageException, and SM2 is for China Regions.
func TestSDKSymmetricOpsRefuseOtherKeys(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	sym := sdkCreateKey(t, env.KMS, nil)
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []struct {
		spec  types.KeySpec
		usage types.KeyUsageType
	}{
		{types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify},
		{types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac},
		{types.KeySpecMlKem768, types.KeyUsageTypeEncapsulateDecapsulate},
		{types.KeySpecEccNistP384, types.KeyUsageTypeKeyAgreement},
		{types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt},
	} {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: kt.spec, KeyUsage: kt.usage})
		what := string(kt.spec) + "/" + string(kt.usage)
		_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")}, sdkNoRetry)
		sdkWantErr(t, "Encrypt with "+what, err, "InvalidKeyUsageException")
		_, err = env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256}, sdkNoRetry)
		sdkWantErr(t, "GenerateDataKey with "+what, err, "InvalidKeyUsageException")
		_, err = env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k.KeyId, NumberOfBytes: aws.Int32(16)}, sdkNoRetry)
		sdkWantErr(t, "GenerateDataKeyWithoutPlaintext with "+what, err, "InvalidKeyUsageException")
		_, err = env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: ct.CiphertextBlob, DestinationKeyId: k.KeyId}, sdkNoRetry)
		sdkWantErr(t, "ReEncrypt to "+what, err, "InvalidKeyUsageException")
		_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob, KeyId: k.KeyId}, sdkNoRetry)
		sdkWantErr(t, "Decrypt naming "+what, err, "IncorrectKeyException")
	}
	_, err = env.KMS.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecSm2, KeyUsage: types.KeyUsageTypeSignVerify}, sdkNoRetry)
	sdkWantErr(t, "SM2", err, "UnsupportedOperationException")
}
