package server_test

import (
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestSignWithAWSCLI: create-key of asymmetric specs, get-public-key, sign
// and verify through the AWS CLI (botocore builds the requests and parses
// the answers), and AWS's exceptions as botocore prints them.
func TestSignWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	msgFile := cli.file("msg.txt", []byte("signed through the AWS CLI"))
	digest := sha512.Sum512([]byte("signed through the AWS CLI"))
	digestFile := cli.file("digest.bin", digest[:])

	for _, c := range []struct {
		spec, alg, msgType, msg string
	}{
		{"RSA_2048", "RSASSA_PSS_SHA_256", "RAW", msgFile},
		{"ECC_SECG_P256K1", "ECDSA_SHA_256", "RAW", msgFile},
		{"ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "DIGEST", digestFile},
		{"ML_DSA_44", "ML_DSA_SHAKE_256", "RAW", msgFile},
		{"ML_DSA_65", "ML_DSA_SHAKE_256", "EXTERNAL_MU", ""}, // μ of the message, from the key
	} {
		key := cli.ok(root, "kms", "create-key", "--key-spec", c.spec, "--key-usage", "SIGN_VERIFY")
		keyARN := cliField(key, "KeyMetadata", "Arn")
		if cliField(key, "KeyMetadata", "KeySpec") != c.spec || keyARN == "" {
			t.Fatalf("create-key %s: %v", c.spec, key)
		}
		pk := cli.ok(root, "kms", "get-public-key", "--key-id", keyARN)
		der, err := base64.StdEncoding.DecodeString(cliField(pk, "PublicKey"))
		if err != nil || cliField(pk, "KeySpec") != c.spec || cliField(pk, "KeyUsage") != "SIGN_VERIFY" {
			t.Fatalf("get-public-key %s: %v (%v)", c.spec, pk, err)
		}
		pub, err := kcrypto.ParsePublicKey(c.spec, der)
		if err != nil {
			t.Fatalf("get-public-key %s: %v", c.spec, err)
		}
		msg := []byte("signed through the AWS CLI")
		switch c.msgType {
		case "DIGEST":
			msg = digest[:]
		case "EXTERNAL_MU":
			msg = sdkExternalMu(types.KeySpec(c.spec), der, msg)
			c.msg = cli.file("mu.bin", msg)
		}
		out := cli.ok(root, "kms", "sign", "--key-id", keyARN, "--message", "fileb://"+c.msg, "--message-type", c.msgType, "--signing-algorithm", c.alg)
		sig, err := base64.StdEncoding.DecodeString(cliField(out, "Signature"))
		if err != nil || cliField(out, "KeyId") != keyARN || cliField(out, "SigningAlgorithm") != c.alg {
			t.Fatalf("sign %s: %v (%v)", c.spec, out, err)
		}
		if err := pub.Verify(c.alg, c.msgType, msg, sig); err != nil {
			t.Errorf("sign %s: the public key does not verify the signature: %v", c.spec, err)
		}
		v := cli.ok(root, "kms", "verify", "--key-id", keyARN, "--message", "fileb://"+c.msg, "--message-type", c.msgType,
			"--signature", "fileb://"+cli.file("sig.bin", sig), "--signing-algorithm", c.alg)
		if valid, _ := v["SignatureValid"].(bool); !valid {
			t.Errorf("verify %s: %v", c.spec, v)
		}
		sig[len(sig)/2] ^= 1
		cli.fails(root, "KMSInvalidSignatureException", "", "kms", "verify", "--key-id", keyARN, "--message", "fileb://"+c.msg,
			"--message-type", c.msgType, "--signature", "fileb://"+cli.file("bad.bin", sig), "--signing-algorithm", c.alg)
	}

	ec := cliField(cli.ok(root, "kms", "create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY"), "KeyMetadata", "Arn")
	cli.fails(root, "InvalidKeyUsageException", "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.",
		"kms", "sign", "--key-id", ec, "--message", "fileb://"+msgFile, "--signing-algorithm", "ECDSA_SHA_384")
	cli.fails(root, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.",
		"kms", "sign", "--key-id", ec, "--message", "fileb://"+digestFile, "--message-type", "DIGEST", "--signing-algorithm", "ECDSA_SHA_256")
	sym := cliField(cli.ok(root, "kms", "create-key"), "KeyMetadata", "Arn")
	cli.fails(root, "InvalidKeyUsageException", sym+" key usage is ENCRYPT_DECRYPT which is not valid for Sign.",
		"kms", "sign", "--key-id", sym, "--message", "fileb://"+msgFile, "--signing-algorithm", "ECDSA_SHA_256")
	cli.fails(root, "UnsupportedOperationException", sym+" key usage is ENCRYPT_DECRYPT which is not valid for GetPublicKey.",
		"kms", "get-public-key", "--key-id", sym)
	// The standard library reads the P-256 key the CLI fetched.
	pk := cli.ok(root, "kms", "get-public-key", "--key-id", ec)
	der, _ := base64.StdEncoding.DecodeString(cliField(pk, "PublicKey"))
	if _, err := x509.ParsePKIXPublicKey(der); err != nil {
		t.Errorf("get-public-key ECC_NIST_P256: %v", err)
	}
}

// TestMacWithAWSCLI: generate-mac and verify-mac through the AWS CLI.
func TestMacWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	msgFile := cli.file("msg.txt", []byte("MAC through the AWS CLI"))
	key := cliField(cli.ok(root, "kms", "create-key", "--key-spec", "HMAC_384", "--key-usage", "GENERATE_VERIFY_MAC"), "KeyMetadata", "Arn")
	out := cli.ok(root, "kms", "generate-mac", "--key-id", key, "--message", "fileb://"+msgFile, "--mac-algorithm", "HMAC_SHA_384")
	mac, err := base64.StdEncoding.DecodeString(cliField(out, "Mac"))
	if err != nil || len(mac) != 48 || cliField(out, "KeyId") != key || cliField(out, "MacAlgorithm") != "HMAC_SHA_384" {
		t.Fatalf("generate-mac: %v (%v)", out, err)
	}
	v := cli.ok(root, "kms", "verify-mac", "--key-id", key, "--message", "fileb://"+msgFile, "--mac", "fileb://"+cli.file("mac.bin", mac),
		"--mac-algorithm", "HMAC_SHA_384")
	if valid, _ := v["MacValid"].(bool); !valid {
		t.Errorf("verify-mac: %v", v)
	}
	mac[0] ^= 1
	cli.fails(root, "KMSInvalidMacException", "", "kms", "verify-mac", "--key-id", key, "--message", "fileb://"+msgFile,
		"--mac", "fileb://"+cli.file("bad.bin", mac), "--mac-algorithm", "HMAC_SHA_384")
	cli.fails(root, "InvalidKeyUsageException", "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_384.",
		"kms", "generate-mac", "--key-id", key, "--message", "fileb://"+msgFile, "--mac-algorithm", "HMAC_SHA_256")
}

// TestRSAEncryptionWithAWSCLI: encrypt and decrypt with an RSA key
// through the AWS CLI.
func TestRSAEncryptionWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	key := cliField(cli.ok(root, "kms", "create-key", "--key-spec", "RSA_3072", "--key-usage", "ENCRYPT_DECRYPT"), "KeyMetadata", "Arn")
	out := cli.ok(root, "kms", "encrypt", "--key-id", key, "--plaintext", "fileb://"+cli.file("pt", []byte("for RSA")),
		"--encryption-algorithm", "RSAES_OAEP_SHA_1")
	ct, err := base64.StdEncoding.DecodeString(cliField(out, "CiphertextBlob"))
	if err != nil || len(ct) != 384 || cliField(out, "EncryptionAlgorithm") != "RSAES_OAEP_SHA_1" {
		t.Fatalf("encrypt: %v (%v)", out, err)
	}
	dec := cli.ok(root, "kms", "decrypt", "--key-id", key, "--ciphertext-blob", "fileb://"+cli.file("ct", ct), "--encryption-algorithm", "RSAES_OAEP_SHA_1")
	if pt, _ := base64.StdEncoding.DecodeString(cliField(dec, "Plaintext")); string(pt) != "for RSA" || cliField(dec, "KeyId") != key {
		t.Errorf("decrypt: %v", dec)
	}
	cli.fails(root, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_3072.",
		"kms", "encrypt", "--key-id", key, "--plaintext", "fileb://"+cli.file("pt", []byte("for RSA")))
	cli.fails(root, "InvalidCiphertextException", "", "kms", "decrypt", "--key-id", key, "--ciphertext-blob", "fileb://"+cli.file("ct", ct),
		"--encryption-algorithm", "RSAES_OAEP_SHA_256")
}
