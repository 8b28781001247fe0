package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// runImportProcedure runs testdata/import_procedure.sh (the AWS
// documentation's import steps: get-parameters-for-import, openssl
// pkeyutl / enc -id-aes256-wrap-pad, import-key-material) in dir, which
// holds PlaintextKeyMaterial.bin, against env with the root credentials.
func runImportProcedure(t *testing.T, env *servertest.Env, dir, keyID, alg, spec, validTo string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "import_procedure.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Dir = dir
	cmd.Env = []string{
		"HOME=" + dir, "PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=" + servertest.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + env.Secret,
		"AWS_DEFAULT_REGION=" + servertest.Region, "AWS_ENDPOINT_URL=" + env.Server.URL,
		"AWS_CA_BUNDLE=" + filepath.Join(env.DataDir, server.TLSDir, "ca.pem"),
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
		"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=",
		"KEY_ID=" + keyID, "WRAPPING_ALGORITHM=" + alg, "WRAPPING_KEY_SPEC=" + spec, "VALID_TO=" + validTo,
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the documented import procedure (%s, %s) failed: %v\n%s", alg, spec, err, out)
	}
}

// TestImportWithAWSDocsProcedure: the AWS documentation's own import
// procedure (openssl to wrap, the AWS CLI to fetch parameters and import)
// works unchanged for every wrapping algorithm, and the imported material
// is what kagi uses: a ciphertext opens with the material itself, an HMAC
// tag equals openssl's with the same key.
func TestImportWithAWSDocsProcedure(t *testing.T) {
	bin := cliPath(t)
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed; .ci/run installs it")
	}
	if _, err := exec.LookPath("xxd"); err != nil {
		t.Fatal("xxd is not installed (the documented RSA_AES_KEY_WRAP procedure uses it)")
	}
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	ctx := t.Context()

	for _, c := range []struct{ alg, spec string }{
		{"RSAES_OAEP_SHA_1", "RSA_2048"},
		{"RSAES_OAEP_SHA_256", "RSA_3072"},
		{"RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"},
		{"RSA_AES_KEY_WRAP_SHA_256", "RSA_4096"},
	} {
		key := cli.ok(root, "kms", "create-key", "--origin", "EXTERNAL")
		keyID := cliField(key, "KeyMetadata", "KeyId")
		if cliField(key, "KeyMetadata", "KeyState") != "PendingImport" || cliField(key, "KeyMetadata", "Origin") != "EXTERNAL" {
			t.Fatalf("create-key --origin EXTERNAL: %v", key)
		}
		if c.alg != "RSAES_OAEP_SHA_1" {
			// One create-key through the CLI is enough.
			keyID = *sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal}).KeyId
		}
		dir := t.TempDir()
		// Step 1, as the documentation generates symmetric material.
		if out, err := exec.Command("openssl", "rand", "-out", filepath.Join(dir, "PlaintextKeyMaterial.bin"), "32").CombinedOutput(); err != nil {
			t.Fatalf("openssl rand: %v\n%s", err, out)
		}
		material, err := os.ReadFile(filepath.Join(dir, "PlaintextKeyMaterial.bin"))
		if err != nil || len(material) != 32 {
			t.Fatalf("material: %d bytes, %v", len(material), err)
		}
		validTo := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second)
		runImportProcedure(t, env, dir, keyID, c.alg, c.spec, validTo.Format(time.RFC3339))

		// The rest through the SDK: the CLI is slow, and only the
		// procedure needs to be the documented one.
		d := sdkDescribe(t, env.KMS, keyID)
		if d.KeyState != types.KeyStateEnabled || d.ExpirationModel != types.ExpirationModelTypeKeyMaterialExpires || d.ValidTo == nil || !d.ValidTo.Equal(validTo) {
			t.Fatalf("%s: after import: %s %s %v (want %v)", c.alg, d.KeyState, d.ExpirationModel, d.ValidTo, validTo)
		}
		ec := map[string]string{"step": "5"}
		enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("wrapped the way AWS documents it"), EncryptionContext: ec})
		if err != nil {
			t.Fatal(err)
		}
		if got := openLocally(t, material, enc.CiphertextBlob, ec); string(got) != "wrapped the way AWS documents it" {
			t.Errorf("%s: local decryption gave %q", c.alg, got)
		}
		// Delete, and the documented procedure (new parameters, same
		// material) brings the key and its ciphertexts back.
		if _, err := env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: aws.String(keyID)}); err != nil {
			t.Fatal(err)
		}
		runImportProcedure(t, env, dir, keyID, c.alg, c.spec, "")
		if d := sdkDescribe(t, env.KMS, keyID); d.ExpirationModel != types.ExpirationModelTypeKeyMaterialDoesNotExpire || d.KeyState != types.KeyStateEnabled {
			t.Errorf("%s: after re-import: %s %s", c.alg, d.KeyState, d.ExpirationModel)
		}
		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
		if err != nil || string(dec.Plaintext) != "wrapped the way AWS documents it" {
			t.Errorf("%s: Decrypt after re-import: %v", c.alg, err)
		}
	}

	// An HMAC key: the tag kagi computes equals openssl's with the
	// imported key.
	for _, c := range []struct {
		spec, alg, md string
		n             string
	}{
		{"HMAC_256", "HMAC_SHA_256", "sha256", "32"},
		{"HMAC_512", "HMAC_SHA_512", "sha512", "128"},
	} {
		keyID := *sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpec(c.spec), KeyUsage: types.KeyUsageTypeGenerateVerifyMac}).KeyId
		dir := t.TempDir()
		if out, err := exec.Command("openssl", "rand", "-out", filepath.Join(dir, "PlaintextKeyMaterial.bin"), c.n).CombinedOutput(); err != nil {
			t.Fatalf("openssl rand: %v\n%s", err, out)
		}
		material, err := os.ReadFile(filepath.Join(dir, "PlaintextKeyMaterial.bin"))
		if err != nil {
			t.Fatal(err)
		}
		runImportProcedure(t, env, dir, keyID, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048", "")
		msg := cli.file("mac-msg.txt", []byte("tag me"))
		out, err := env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(keyID), MacAlgorithm: types.MacAlgorithmSpec(c.alg), Message: []byte("tag me")})
		if err != nil {
			t.Fatal(err)
		}
		tag := out.Mac
		local, err := exec.Command("openssl", "dgst", "-"+c.md, "-mac", "HMAC", "-macopt", "hexkey:"+hex.EncodeToString(material), "-binary", msg).Output()
		if err != nil {
			t.Fatalf("openssl dgst: %v", err)
		}
		if !bytes.Equal(tag, local) {
			t.Errorf("%s: kagi's tag %x, openssl's with the imported key %x", c.spec, tag, local)
		}
	}

	// An RSA signing key, generated by openssl as DER PKCS #8: kagi's
	// PKCS #1 v1.5 signature equals openssl's with the same key.
	{
		keyID := *sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify}).KeyId
		dir := t.TempDir()
		keyFile := filepath.Join(dir, "PlaintextKeyMaterial.bin")
		pem := filepath.Join(dir, "TestKeyMaterial.pem")
		for _, args := range [][]string{
			{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem},
			{"pkcs8", "-topk8", "-inform", "PEM", "-outform", "DER", "-in", pem, "-out", keyFile, "-nocrypt"},
		} {
			if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %s: %v\n%s", args[0], err, out)
			}
		}
		runImportProcedure(t, env, dir, keyID, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096", "")
		msg := []byte("signed by an RSA key from openssl")
		msgFile := filepath.Join(dir, "msg.txt")
		if err := os.WriteFile(msgFile, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: aws.String(keyID), Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256})
		if err != nil {
			t.Fatal(err)
		}
		local, err := exec.Command("openssl", "dgst", "-sha256", "-sign", keyFile, "-keyform", "DER", "-binary", msgFile).Output()
		if err != nil {
			t.Fatalf("openssl dgst -sign: %v", err)
		}
		if !bytes.Equal(sig.Signature, local) {
			t.Errorf("kagi's PKCS #1 v1.5 signature differs from openssl's with the imported key")
		}
	}

	// What the CLI shows for a token of another key.
	a := *sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal}).KeyId
	b := *sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal}).KeyId
	p := cli.ok(root, "kms", "get-parameters-for-import", "--key-id", a, "--wrapping-algorithm", "RSAES_OAEP_SHA_256", "--wrapping-key-spec", "RSA_2048")
	tok, _ := base64.StdEncoding.DecodeString(cliField(p, "ImportToken"))
	tokFile := cli.file("token.bin", tok)
	matFile := cli.file("enc.bin", bytes.Repeat([]byte{1}, 256))
	cli.fails(root, "InvalidImportTokenException",
		"The request was rejected because the provided import token is invalid or is associated with a different KMS key.",
		"kms", "import-key-material", "--key-id", b, "--import-token", "fileb://"+tokFile, "--encrypted-key-material", "fileb://"+matFile,
		"--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")
	if !strings.HasPrefix(cliField(p, "KeyId"), "arn:aws:kms:") {
		t.Errorf("get-parameters-for-import KeyId %q", cliField(p, "KeyId"))
	}
}
