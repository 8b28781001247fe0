package server_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestDataKeyPairWithAWSCLI: generate-data-key-pair and
// generate-data-key-pair-without-plaintext through the AWS CLI, decrypt of
// the encrypted private key, and AWS's exceptions as botocore prints them.
func TestDataKeyPairWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	key := cliField(cli.ok(root, "kms", "create-key"), "KeyMetadata", "Arn")
	cli.ok(root, "kms", "create-alias", "--alias-name", "alias/cli-pairs", "--target-key-id", key)
	b64 := func(out map[string]any, field string) []byte {
		t.Helper()
		b, err := base64.StdEncoding.DecodeString(cliField(out, field))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %q (%v)", field, cliField(out, field), err)
		}
		return b
	}

	for _, spec := range []string{"ECC_SECG_P256K1", "RSA_2048", "ECC_NIST_EDWARDS25519", "ML_KEM_512"} {
		out := cli.ok(root, "kms", "generate-data-key-pair", "--key-id", "alias/cli-pairs", "--key-pair-spec", spec,
			"--encryption-context", "app=cli,spec="+spec)
		if cliField(out, "KeyId") != key || cliField(out, "KeyPairSpec") != spec || !sdkMaterialID.MatchString(cliField(out, "KeyMaterialId")) {
			t.Fatalf("generate-data-key-pair %s: %v", spec, out)
		}
		priv, err := kcrypto.ParsePKCS8(b64(out, "PrivateKeyPlaintext"))
		if err != nil || priv.Spec() != spec || !bytes.Equal(priv.Public().DER(), b64(out, "PublicKey")) {
			t.Fatalf("generate-data-key-pair %s: the private key is not the public key's (%v)", spec, err)
		}
		ct := cli.file("pair.ct", b64(out, "PrivateKeyCiphertextBlob"))
		dec := cli.ok(root, "kms", "decrypt", "--ciphertext-blob", "fileb://"+ct, "--encryption-context", "app=cli,spec="+spec)
		if !bytes.Equal(b64(dec, "Plaintext"), b64(out, "PrivateKeyPlaintext")) || cliField(dec, "KeyId") != key {
			t.Errorf("decrypt of the %s private key: %v", spec, dec)
		}
		cli.fails(root, "InvalidCiphertextException", "The ciphertext is invalid, or the encryption context does not match the one it was encrypted with.",
			"kms", "decrypt", "--ciphertext-blob", "fileb://"+ct, "--encryption-context", "app=cli")

		wo := cli.ok(root, "kms", "generate-data-key-pair-without-plaintext", "--key-id", key, "--key-pair-spec", spec)
		if _, ok := wo["PrivateKeyPlaintext"]; ok || cliField(wo, "KeyPairSpec") != spec || cliField(wo, "KeyId") != key {
			t.Fatalf("generate-data-key-pair-without-plaintext %s: %v", spec, wo)
		}
		dec = cli.ok(root, "kms", "decrypt", "--ciphertext-blob", "fileb://"+cli.file("wo.ct", b64(wo, "PrivateKeyCiphertextBlob")))
		priv, err = kcrypto.ParsePKCS8(b64(dec, "Plaintext"))
		if err != nil || !bytes.Equal(priv.Public().DER(), b64(wo, "PublicKey")) {
			t.Errorf("generate-data-key-pair-without-plaintext %s: the decrypted private key is not the public key's (%v)", spec, err)
		}
	}

	sign := cliField(cli.ok(root, "kms", "create-key", "--key-spec", "ECC_NIST_P384", "--key-usage", "SIGN_VERIFY"), "KeyMetadata", "Arn")
	cli.fails(root, "InvalidKeyUsageException", sign+" key usage is SIGN_VERIFY which is not valid for GenerateDataKeyPair.",
		"kms", "generate-data-key-pair", "--key-id", sign, "--key-pair-spec", "ECC_NIST_P384")
	cli.fails(root, "InvalidKeyUsageException", sign+" key usage is SIGN_VERIFY which is not valid for GenerateDataKeyPairWithoutPlaintext.",
		"kms", "generate-data-key-pair-without-plaintext", "--key-id", sign, "--key-pair-spec", "ECC_NIST_P384")
	rsa := cliField(cli.ok(root, "kms", "create-key", "--key-spec", "RSA_2048", "--key-usage", "ENCRYPT_DECRYPT"), "KeyMetadata", "Arn")
	cli.fails(root, "InvalidKeyUsageException", rsa+" is not a symmetric encryption key.",
		"kms", "generate-data-key-pair", "--key-id", rsa, "--key-pair-spec", "RSA_2048")
	cli.fails(root, "UnsupportedOperationException", "KeyPairSpec SM2 is only available in AWS China Regions.",
		"kms", "generate-data-key-pair", "--key-id", key, "--key-pair-spec", "SM2")
	cli.fails(root, "ValidationException", "", "kms", "generate-data-key-pair-without-plaintext", "--key-id", key, "--key-pair-spec", "ML_DSA_65")
	cli.fails(root, "NotFoundException", "", "kms", "generate-data-key-pair", "--key-id", "alias/none", "--key-pair-spec", "ECC_NIST_P256")
	cli.fails(root, "DryRunOperationException", "", "kms", "generate-data-key-pair", "--key-id", key, "--key-pair-spec", "ECC_NIST_P256", "--dry-run")
}
