package server_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"hash"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// sdkOAEPLimits are AWS's documented plaintext limits per RSA spec, for
// RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256.
var sdkOAEPLimits = map[types.KeySpec][2]int{
	types.KeySpecRsa2048: {214, 190}, types.KeySpecRsa3072: {342, 318}, types.KeySpecRsa4096: {470, 446},
}

func sdkOAEPHash(alg types.EncryptionAlgorithmSpec) hash.Hash {
	if alg == types.EncryptionAlgorithmSpecRsaesOaepSha1 {
		return sha1.New()
	}
	return sha256.New()
}

// TestSDKRSAEncryptDecrypt: Encrypt and Decrypt with RSA ENCRYPT_DECRYPT
// keys and both OAEP algorithms, at AWS's plaintext limits; ciphertexts
// made with the public key alone decrypt; AWS's refusals.
func TestSDKRSAEncryptDecrypt(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	for spec, limits := range sdkOAEPLimits {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
		pk, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		pubAny, err := x509.ParsePKIXPublicKey(pk.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pub := pubAny.(*rsa.PublicKey)
		for i, alg := range []types.EncryptionAlgorithmSpec{types.EncryptionAlgorithmSpecRsaesOaepSha1, types.EncryptionAlgorithmSpecRsaesOaepSha256} {
			what := string(spec) + " " + string(alg)
			pt := make([]byte, limits[i])
			rand.Read(pt)
			out, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: pt, EncryptionAlgorithm: alg})
			if err != nil {
				t.Fatalf("%s: Encrypt of %d bytes: %v", what, len(pt), err)
			}
			if len(out.CiphertextBlob) != pub.Size() || out.EncryptionAlgorithm != alg || aws.ToString(out.KeyId) != *k.Arn {
				t.Errorf("%s: Encrypt answered %d bytes, %s, %s", what, len(out.CiphertextBlob), out.EncryptionAlgorithm, aws.ToString(out.KeyId))
			}
			dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: out.CiphertextBlob, EncryptionAlgorithm: alg})
			if err != nil || !bytes.Equal(dec.Plaintext, pt) || dec.EncryptionAlgorithm != alg || aws.ToString(dec.KeyId) != *k.Arn || dec.KeyMaterialId != nil {
				t.Fatalf("%s: Decrypt: %+v, %v", what, dec, err)
			}
			// Made outside kagi with the public key: the envelope pattern.
			local, err := rsa.EncryptOAEP(sdkOAEPHash(alg), rand.Reader, pub, []byte("made outside"), nil)
			if err != nil {
				t.Fatal(err)
			}
			dec, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.Arn, CiphertextBlob: local, EncryptionAlgorithm: alg})
			if err != nil || string(dec.Plaintext) != "made outside" {
				t.Errorf("%s: Decrypt of a ciphertext made with the public key: %v", what, err)
			}
			_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: append(pt, 1), EncryptionAlgorithm: alg}, sdkNoRetry)
			sdkWantErr(t, what+": Encrypt over AWS's limit", err, "ValidationException")
			other := types.EncryptionAlgorithmSpecRsaesOaepSha256
			if alg == other {
				other = types.EncryptionAlgorithmSpecRsaesOaepSha1
			}
			_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: out.CiphertextBlob, EncryptionAlgorithm: other}, sdkNoRetry)
			sdkWantErr(t, what+": Decrypt with the other OAEP hash", err, "InvalidCiphertextException")
		}
	}

	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	const oaep = types.EncryptionAlgorithmSpecRsaesOaepSha256
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: oaep})
	if err != nil {
		t.Fatal(err)
	}
	sym := sdkCreateKey(t, env.KMS, nil)
	signer := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	bad := append([]byte(nil), ct.CiphertextBlob...)
	bad[10] ^= 1
	for _, c := range []struct {
		name       string
		call       func() error
		code, text string
	}{
		{"Encrypt with the default algorithm", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")}, sdkNoRetry)
			return err
		}, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."},
		{"Encrypt with an encryption context", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: oaep, EncryptionContext: map[string]string{"a": "b"}}, sdkNoRetry)
			return err
		}, "ValidationException", "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs."},
		{"Encrypt with OAEP and a symmetric key", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: oaep}, sdkNoRetry)
			return err
		}, "InvalidKeyUsageException", "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT."},
		{"Encrypt with a signing key", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: signer.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: oaep}, sdkNoRetry)
			return err
		}, "InvalidKeyUsageException", *signer.Arn + " key usage is SIGN_VERIFY which is not valid for Encrypt."},
		{"Decrypt without KeyId", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob, EncryptionAlgorithm: oaep}, sdkNoRetry)
			return err
		}, "InvalidCiphertextException", ""},
		{"Decrypt with the default algorithm", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: ct.CiphertextBlob}, sdkNoRetry)
			return err
		}, "InvalidCiphertextException", ""},
		{"Decrypt of a changed ciphertext", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: bad, EncryptionAlgorithm: oaep}, sdkNoRetry)
			return err
		}, "InvalidCiphertextException", ""},
		{"Decrypt of a short ciphertext", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: bad[:100], EncryptionAlgorithm: oaep}, sdkNoRetry)
			return err
		}, "InvalidCiphertextException", ""},
		{"Decrypt with an encryption context", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: ct.CiphertextBlob, EncryptionAlgorithm: oaep, EncryptionContext: map[string]string{"a": "b"}}, sdkNoRetry)
			return err
		}, "ValidationException", ""},
		{"Decrypt with OAEP and a symmetric key", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: sym.KeyId, CiphertextBlob: ct.CiphertextBlob, EncryptionAlgorithm: oaep}, sdkNoRetry)
			return err
		}, "InvalidKeyUsageException", ""},
		{"Decrypt DryRun", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: ct.CiphertextBlob, EncryptionAlgorithm: oaep, DryRun: aws.Bool(true)}, sdkNoRetry)
			return err
		}, "DryRunOperationException", ""},
		{"Decrypt DryRun of a changed ciphertext", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: bad, EncryptionAlgorithm: oaep, DryRun: aws.Bool(true)}, sdkNoRetry)
			return err
		}, "InvalidCiphertextException", ""},
		{"Encrypt DryRun", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: oaep, DryRun: aws.Bool(true)}, sdkNoRetry)
			return err
		}, "DryRunOperationException", ""},
	} {
		err := c.call()
		if sdkErrCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
			continue
		}
		var ae smithy.APIError
		if c.text != "" && errors.As(err, &ae) && ae.ErrorMessage() != c.text {
			t.Errorf("%s: message %q, want %q", c.name, ae.ErrorMessage(), c.text)
		}
	}

	// ReEncrypt between a symmetric and an RSA key, both ways.
	sct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("moving"), EncryptionContext: map[string]string{"p": "q"}})
	if err != nil {
		t.Fatal(err)
	}
	toRSA, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: sct.CiphertextBlob, SourceEncryptionContext: map[string]string{"p": "q"},
		DestinationKeyId: k.KeyId, DestinationEncryptionAlgorithm: oaep})
	if err != nil {
		t.Fatalf("ReEncrypt to RSA: %v", err)
	}
	if toRSA.DestinationEncryptionAlgorithm != oaep || toRSA.SourceEncryptionAlgorithm != "SYMMETRIC_DEFAULT" || toRSA.DestinationKeyMaterialId != nil ||
		toRSA.SourceKeyMaterialId == nil || aws.ToString(toRSA.KeyId) != *k.Arn || aws.ToString(toRSA.SourceKeyId) != *sym.Arn {
		t.Errorf("ReEncrypt to RSA answered %+v", toRSA)
	}
	back, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: toRSA.CiphertextBlob, SourceKeyId: k.KeyId, SourceEncryptionAlgorithm: oaep,
		DestinationKeyId: sym.KeyId})
	if err != nil {
		t.Fatalf("ReEncrypt from RSA: %v", err)
	}
	if back.SourceEncryptionAlgorithm != oaep || back.SourceKeyMaterialId != nil || back.DestinationKeyMaterialId == nil {
		t.Errorf("ReEncrypt from RSA answered %+v", back)
	}
	dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: back.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "moving" {
		t.Errorf("Decrypt after two ReEncrypts: %v", err)
	}
	_, err = env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: sct.CiphertextBlob, SourceEncryptionContext: map[string]string{"p": "q"},
		DestinationKeyId: k.KeyId, DestinationEncryptionAlgorithm: oaep, DestinationEncryptionContext: map[string]string{"a": "b"}}, sdkNoRetry)
	sdkWantErr(t, "ReEncrypt to RSA with a destination context", err, "ValidationException")
	big, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: make([]byte, 191)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: big.CiphertextBlob, DestinationKeyId: k.KeyId, DestinationEncryptionAlgorithm: oaep}, sdkNoRetry)
	sdkWantErr(t, "ReEncrypt of 191 bytes to RSA_2048 OAEP-SHA-256", err, "ValidationException")
}

// TestInteropRSAEncryption: ciphertexts pyca/cryptography and the openssl
// command make with GetPublicKey's key decrypt in kagi.
func TestInteropRSAEncryption(t *testing.T) {
	t.Parallel()
	python, openssl := interopTools(t)
	env := servertest.Start(t)
	ctx := t.Context()
	dir := t.TempDir()
	for _, spec := range []types.KeySpec{types.KeySpecRsa2048, types.KeySpecRsa3072, types.KeySpecRsa4096} {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
		pk, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		pubFile := filepath.Join(dir, "pub.der")
		if err := os.WriteFile(pubFile, pk.PublicKey, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			alg types.EncryptionAlgorithmSpec
			md  string
		}{{types.EncryptionAlgorithmSpecRsaesOaepSha1, "sha1"}, {types.EncryptionAlgorithmSpecRsaesOaepSha256, "sha256"}} {
			pt := "decrypt me: " + string(spec) + " " + string(c.alg)
			script := `import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
h = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}[sys.argv[2]]()
pub = serialization.load_der_public_key(open(sys.argv[1], "rb").read())
sys.stdout.buffer.write(pub.encrypt(sys.argv[3].encode(), padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)))`
			pyCT, err := exec.Command(python, "-c", script, pubFile, c.md, pt).Output()
			if err != nil {
				t.Fatalf("python3: %v", err)
			}
			osslCT, err := exec.Command(openssl, "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", pubFile,
				"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:"+c.md, "-pkeyopt", "rsa_mgf1_md:"+c.md,
				"-in", writeTemp(t, dir, "pt", []byte(pt))).Output()
			if err != nil {
				t.Fatalf("openssl: %v", err)
			}
			for tool, ct := range map[string][]byte{"pyca/cryptography": pyCT, "openssl": osslCT} {
				dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: ct, EncryptionAlgorithm: c.alg})
				if err != nil || string(dec.Plaintext) != pt {
					t.Errorf("%s %s: kagi does not decrypt %s's ciphertext: %v", spec, c.alg, tool, err)
				}
			}
		}
	}
}

func writeTemp(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
