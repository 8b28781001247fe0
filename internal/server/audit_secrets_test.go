package server_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestAuditNoSecrets drives every operation that takes or returns a
// secret — plaintexts, data keys, data key pairs' private keys, messages
// and signatures, MACs, shared secrets, imported key material, random
// bytes, secret access keys and session tokens — and scans every file of
// the audit trail for each in raw, hex and base64 form. Ciphertext blobs,
// import tokens and encapsulations are not secrets, but AWS leaves them
// out of its records, and so does kagi: they are scanned for too. The
// records themselves must be there, with their non-secret parameters, so
// the scan looks at the right bytes.
func TestAuditNoSecrets(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	c := env.KMS
	secrets := map[string][]byte{"root secret access key": []byte(env.Secret)}
	add := func(name string, b []byte) {
		t.Helper()
		if len(b) < 16 {
			t.Fatalf("%s: %d bytes is too short to scan for", name, len(b))
		}
		secrets[name] = b
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ec := map[string]string{"marker": "audit-scan-context"}

	sym := sdkCreateKey(t, c, &kms.CreateKeyInput{})
	pt := randomBytes(64)
	add("Encrypt plaintext", pt)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: pt, EncryptionContext: ec})
	must(err)
	add("Encrypt ciphertext", enc.CiphertextBlob)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	must(err)
	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyId: sym.KeyId})
	must(err)
	add("ReEncrypt ciphertext", re.CiphertextBlob)
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: sym.KeyId, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	must(err)
	add("data key", dk.Plaintext)
	add("data key ciphertext", dk.CiphertextBlob)
	dkw, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: sym.KeyId, NumberOfBytes: aws.Int32(48)})
	must(err)
	add("data key without plaintext", dkw.CiphertextBlob)
	pair, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP256})
	must(err)
	add("data key pair private key", pair.PrivateKeyPlaintext)
	add("data key pair private key ciphertext", pair.PrivateKeyCiphertextBlob)
	rnd, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(32)})
	must(err)
	add("GenerateRandom bytes", rnd.Plaintext)

	signer := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	msg := randomBytes(100)
	add("Sign message", msg)
	sig, err := c.Sign(ctx, &kms.SignInput{KeyId: signer.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	must(err)
	add("signature", sig.Signature)
	_, err = c.Verify(ctx, &kms.VerifyInput{KeyId: signer.KeyId, Message: msg, Signature: sig.Signature, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	must(err)

	hmac := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	macMsg := randomBytes(80)
	add("MAC message", macMsg)
	mac, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hmac.KeyId, Message: macMsg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	must(err)
	add("MAC", mac.Mac)
	_, err = c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: hmac.KeyId, Message: macMsg, Mac: mac.Mac, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	must(err)

	agree := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement})
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	must(err)
	ss, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: agree.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: sdkPeerDER(t, peer)})
	must(err)
	add("ECDH shared secret", ss.SharedSecret)

	kem := sdkCreateKey(t, c, &kms.CreateKeyInput{KeySpec: types.KeySpecMlKem768, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
	encap, err := c.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM"})
	must(err)
	add("ML-KEM shared secret", encap.SharedSecret)
	add("ML-KEM ciphertext", encap.SharedSecretCiphertextBlob)
	_, err = c.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: encap.SharedSecretCiphertextBlob})
	must(err)

	ext := sdkCreateKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	material := randomBytes(32)
	add("imported key material", material)
	pub, tok := sdkImportParams(t, env, *ext.KeyId, types.AlgorithmSpecRsaesOaepSha256, types.WrappingKeySpecRsa2048)
	add("import token", tok)
	wrapped := sdkWrap(t, pub, types.AlgorithmSpecRsaesOaepSha256, material)
	add("wrapped key material", wrapped)
	_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: ext.KeyId, ImportToken: tok, EncryptedKeyMaterial: wrapped,
		ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
	must(err)

	// IAM and STS: an access key's secret, temporary credentials' secret
	// and session token, and a session's KMS call, whose token travels in
	// a header.
	root := rootIAMCaller(t, env)
	akid, secret := iamAccessKey(t, root, "alice")
	add("alice's secret access key", []byte(secret))
	alice := newIAMCaller(t, env, akid, secret, "")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + servertest.AccountID + `:user/alice"},"Action":"sts:AssumeRole"}]}`
	root.ok(t, nil, "iam", "CreateRole", "RoleName", "scanner", "AssumeRolePolicyDocument", trust)
	var assumed struct {
		Creds iamCredentials `xml:"AssumeRoleResult>Credentials"`
	}
	alice.ok(t, &assumed, "sts", "AssumeRole", "RoleArn", "arn:aws:iam::"+servertest.AccountID+":role/scanner", "RoleSessionName", "scan")
	add("AssumeRole secret access key", []byte(assumed.Creds.SecretAccessKey))
	add("AssumeRole session token", []byte(assumed.Creds.SessionToken))
	var session struct {
		Creds iamCredentials `xml:"GetSessionTokenResult>Credentials"`
	}
	alice.ok(t, &session, "sts", "GetSessionToken", "DurationSeconds", "900")
	add("GetSessionToken secret access key", []byte(session.Creds.SecretAccessKey))
	add("GetSessionToken session token", []byte(session.Creds.SessionToken))
	role := env.ClientWithToken(t, servertest.Region, assumed.Creds.AccessKeyID, assumed.Creds.SecretAccessKey, assumed.Creds.SessionToken)
	_, err = role.ListKeys(ctx, &kms.ListKeysInput{})
	sdkWantErr(t, "the session's ListKeys", err, "AccessDeniedException")

	// Refused requests carrying secrets: their records hold the error, not
	// the secret.
	bigPT := randomBytes(4097)
	add("oversized plaintext", bigPT)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: bigPT}, sdkNoRetry)
	sdkWantErr(t, "Encrypt of 4097 bytes", err, "ValidationException")
	tampered := append([]byte(nil), enc.CiphertextBlob...)
	tampered[len(tampered)-1] ^= 1
	add("tampered ciphertext", tampered)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: tampered, EncryptionContext: ec}, sdkNoRetry)
	sdkWantErr(t, "Decrypt of a tampered ciphertext", err, "InvalidCiphertextException")
	bigMsg := randomBytes(4097)
	add("oversized message", bigMsg)
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: signer.KeyId, Message: bigMsg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}, sdkNoRetry)
	sdkWantErr(t, "Sign of 4097 bytes", err, "ValidationException")
	wrongMac := randomBytes(32)
	add("wrong MAC", wrongMac)
	_, err = c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: hmac.KeyId, Message: macMsg, Mac: wrongMac, MacAlgorithm: types.MacAlgorithmSpecHmacSha256}, sdkNoRetry)
	sdkWantErr(t, "VerifyMac of a wrong MAC", err, "KMSInvalidMacException")
	ext2 := sdkCreateKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	_, tok2 := sdkImportParams(t, env, *ext2.KeyId, types.AlgorithmSpecRsaesOaepSha256, types.WrappingKeySpecRsa2048)
	garbage := randomBytes(256)
	add("undecryptable wrapped material", garbage)
	_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: ext2.KeyId, ImportToken: tok2, EncryptedKeyMaterial: garbage,
		ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}, sdkNoRetry)
	if err == nil {
		t.Fatal("ImportKeyMaterial accepted garbage")
	}

	// Every operation left its record, with what may be shown.
	recs, raws := auditRecords(t, env)
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.EventName] = true
		if r.ErrorCode != "" {
			seen[r.EventName+" "+r.ErrorCode] = true
		}
	}
	for _, failed := range []string{"Encrypt ValidationException", "Decrypt InvalidCiphertextException", "Sign ValidationException",
		"VerifyMac KMSInvalidMacException"} {
		if !seen[failed] {
			t.Errorf("no record of the failed %s", failed)
		}
	}
	for _, op := range []string{"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
		"GenerateRandom", "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret", "Encapsulate", "Decapsulate",
		"GetParametersForImport", "ImportKeyMaterial", "CreateAccessKey", "AssumeRole", "GetSessionToken", "ListKeys"} {
		if !seen[op] {
			t.Errorf("no record of %s", op)
		}
	}
	all := strings.Join(func() []string {
		var s []string
		for _, b := range raws {
			s = append(s, string(b))
		}
		return s
	}(), "\n")
	for _, shown := range []string{`"encryptionContext":{"marker":"audit-scan-context"}`, `"accessKeyId":"` + akid + `"`,
		`"accessKeyId":"` + assumed.Creds.AccessKeyID + `"`, `"sessionIssuer":{"type":"Role"`, `"keyPairSpec":"ECC_NIST_P256"`} {
		if !strings.Contains(all, shown) {
			t.Errorf("the records do not show %s", shown)
		}
	}

	// Every file of the trail, whatever its layout, and the records as
	// Read gives them.
	checkAbsent(t, "the audit records", []byte(all), secrets)
	files := 0
	err = filepath.WalkDir(filepath.Join(env.DataDir, server.AuditDir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		checkAbsent(t, fmt.Sprintf("audit file %s", filepath.Base(path)), b, secrets)
		return nil
	})
	must(err)
	if files == 0 {
		t.Error("no audit file to scan")
	}
}
