package server_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestDeriveSharedSecretWithAWSCLI: derive-shared-secret through the AWS
// CLI (botocore builds the request and parses the answer), and AWS's
// exceptions as botocore prints them. The machine's AWS CLI (botocore
// 1.43) predates Encapsulate and Decapsulate, which the SDK tests cover.
func TestDeriveSharedSecretWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}

	key := cli.ok(root, "kms", "create-key", "--key-spec", "ECC_NIST_P384", "--key-usage", "KEY_AGREEMENT")
	arn := cliField(key, "KeyMetadata", "Arn")
	if algs, _ := key["KeyMetadata"].(map[string]any)["KeyAgreementAlgorithms"].([]any); len(algs) != 1 || algs[0] != "ECDH" {
		t.Errorf("create-key KEY_AGREEMENT: KeyAgreementAlgorithms %v, want [ECDH]", algs)
	}
	d := cli.ok(root, "kms", "describe-key", "--key-id", arn)
	if algs, _ := d["KeyMetadata"].(map[string]any)["KeyAgreementAlgorithms"].([]any); len(algs) != 1 || algs[0] != "ECDH" {
		t.Errorf("describe-key: KeyAgreementAlgorithms %v, want [ECDH]", algs)
	}
	pk := cli.ok(root, "kms", "get-public-key", "--key-id", arn)
	der, err := base64.StdEncoding.DecodeString(cliField(pk, "PublicKey"))
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ecdh.P384().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	peerFile := cli.file("peer.der", sdkPeerDER(t, peer))
	out := cli.ok(root, "kms", "derive-shared-secret", "--key-id", arn, "--key-agreement-algorithm", "ECDH", "--public-key", "fileb://"+peerFile)
	got, err := base64.StdEncoding.DecodeString(cliField(out, "SharedSecret"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := peer.ECDH(sdkECDHPublic(t, der))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || len(got) != 48 {
		t.Errorf("derive-shared-secret: %d-byte secret, not the peer's", len(got))
	}
	if cliField(out, "KeyId") != arn || cliField(out, "KeyAgreementAlgorithm") != "ECDH" || cliField(out, "KeyOrigin") != "AWS_KMS" {
		t.Errorf("derive-shared-secret: %v", out)
	}

	sym := cliField(cli.ok(root, "kms", "create-key"), "KeyMetadata", "Arn")
	cli.fails(root, "InvalidKeyUsageException", sym+" key usage is ENCRYPT_DECRYPT which is not valid for DeriveSharedSecret.",
		"kms", "derive-shared-secret", "--key-id", sym, "--key-agreement-algorithm", "ECDH", "--public-key", "fileb://"+peerFile)
	cli.fails(root, "ValidationException", "PublicKey is not a DER-encoded SubjectPublicKeyInfo of an elliptic curve public key on the curve of key spec ECC_NIST_P384.",
		"kms", "derive-shared-secret", "--key-id", arn, "--key-agreement-algorithm", "ECDH", "--public-key", "fileb://"+cli.file("junk", []byte("InvalidPublicKey")))
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	cli.fails(root, "ValidationException", "",
		"kms", "derive-shared-secret", "--key-id", arn, "--key-agreement-algorithm", "ECDH", "--public-key", "fileb://"+cli.file("p256.der", sdkPeerDER(t, p256)))
	cli.fails(root, "ValidationException", "1 validation error detected: Value 'SM2' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]",
		"kms", "derive-shared-secret", "--key-id", arn, "--key-agreement-algorithm", "SM2", "--public-key", "fileb://"+peerFile)
	cli.fails(root, "DryRunOperationException", "",
		"kms", "derive-shared-secret", "--key-id", arn, "--key-agreement-algorithm", "ECDH", "--public-key", "fileb://"+peerFile, "--dry-run")
	cli.ok(root, "kms", "disable-key", "--key-id", arn)
	cli.fails(root, "DisabledException", arn+" is disabled.",
		"kms", "derive-shared-secret", "--key-id", arn, "--key-agreement-algorithm", "ECDH", "--public-key", "fileb://"+peerFile)
}
