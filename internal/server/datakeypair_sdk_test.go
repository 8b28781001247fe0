package server_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// sdkDataKeyPairSpecs is every DataKeyPairSpec of the model that kagi
// generates (SM2 exists only in AWS China Regions).
var sdkDataKeyPairSpecs = []types.DataKeyPairSpec{
	types.DataKeyPairSpecRsa2048, types.DataKeyPairSpecRsa3072, types.DataKeyPairSpecRsa4096,
	types.DataKeyPairSpecEccNistP256, types.DataKeyPairSpecEccNistP384, types.DataKeyPairSpecEccNistP521,
	types.DataKeyPairSpecEccSecgP256k1, types.DataKeyPairSpecEccNistEdwards25519,
	types.DataKeyPairSpecMlKem512, types.DataKeyPairSpecMlKem768, types.DataKeyPairSpecMlKem1024,
}

// sdkCheckKeyPairWorks shows in Go that a private key is the public key's
// other half: a signature (or an RSA-OAEP decryption, an ML-KEM
// decapsulation) with the private key checks out with the public key.
func sdkCheckKeyPairWorks(t *testing.T, spec types.DataKeyPairSpec, priv *kcrypto.KeyPair, pubDER []byte) {
	t.Helper()
	pub, err := kcrypto.ParsePublicKey(string(spec), pubDER)
	if err != nil {
		t.Fatalf("%s: PublicKey: %v", spec, err)
	}
	msg := []byte("data key pair")
	switch spec {
	case types.DataKeyPairSpecMlKem512, types.DataKeyPairSpecMlKem768, types.DataKeyPairSpecMlKem1024:
		secret, ct, err := pub.Encapsulate()
		if err != nil {
			t.Fatal(err)
		}
		got, err := priv.Decapsulate(ct)
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("%s: the private key does not decapsulate to the public key's secret (%v)", spec, err)
		}
		return
	case types.DataKeyPairSpecRsa2048, types.DataKeyPairSpecRsa3072, types.DataKeyPairSpecRsa4096:
		ct, err := pub.EncryptOAEP("RSAES_OAEP_SHA_256", msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := priv.DecryptOAEP("RSAES_OAEP_SHA_256", ct); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%s: OAEP round trip: %q, %v", spec, got, err)
		}
	}
	alg := map[types.DataKeyPairSpec]string{
		types.DataKeyPairSpecRsa2048: "RSASSA_PSS_SHA_256", types.DataKeyPairSpecRsa3072: "RSASSA_PKCS1_V1_5_SHA_384",
		types.DataKeyPairSpecRsa4096: "RSASSA_PSS_SHA_512", types.DataKeyPairSpecEccNistP256: "ECDSA_SHA_256",
		types.DataKeyPairSpecEccNistP384: "ECDSA_SHA_384", types.DataKeyPairSpecEccNistP521: "ECDSA_SHA_512",
		types.DataKeyPairSpecEccSecgP256k1: "ECDSA_SHA_256", types.DataKeyPairSpecEccNistEdwards25519: "ED25519_SHA_512",
	}[spec]
	sig, err := priv.Sign(alg, kcrypto.MessageRaw, msg)
	if err != nil {
		t.Fatalf("%s: Sign: %v", spec, err)
	}
	if err := pub.Verify(alg, kcrypto.MessageRaw, msg, sig); err != nil {
		t.Errorf("%s: the public key does not verify the private key's signature: %v", spec, err)
	}
}

// TestSDKGenerateDataKeyPair: every data key pair spec gives a PKCS #8
// private key and the SubjectPublicKeyInfo of its public half; the
// encrypted private key decrypts (Decrypt, as any ciphertext of the
// wrapping key) to the same PKCS #8 with the encryption context and with
// no other; WithoutPlaintext returns no private key but a ciphertext that
// decrypts to one matching its public key.
func TestSDKGenerateDataKeyPair(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/pairs", *k.KeyId)
	dk, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, NumberOfBytes: aws.Int32(16)})
	if err != nil {
		t.Fatal(err)
	}
	materialID := aws.ToString(dk.KeyMaterialId)
	ec := map[string]string{"purpose": "data key pair", "Tenant": "a"}
	ids := []*string{k.KeyId, k.Arn, aws.String("alias/pairs"), aws.String(sdkAliasARN(servertest.Region, "alias/pairs"))}

	for i, spec := range sdkDataKeyPairSpecs {
		out, err := env.KMS.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: ids[i%len(ids)], KeyPairSpec: spec, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("%s: GenerateDataKeyPair: %v", spec, err)
		}
		if aws.ToString(out.KeyId) != *k.Arn || out.KeyPairSpec != spec || aws.ToString(out.KeyMaterialId) != materialID {
			t.Errorf("%s: KeyId %s, KeyPairSpec %s, KeyMaterialId %s", spec, aws.ToString(out.KeyId), out.KeyPairSpec, aws.ToString(out.KeyMaterialId))
		}
		priv, err := kcrypto.ParsePKCS8(out.PrivateKeyPlaintext)
		if err != nil || priv.Spec() != string(spec) {
			t.Fatalf("%s: PrivateKeyPlaintext is no PKCS #8 key of the spec: %v", spec, err)
		}
		if !bytes.Equal(priv.Public().DER(), out.PublicKey) {
			t.Errorf("%s: PublicKey is not the private key's public half", spec)
		}
		sdkCheckKeyPairWorks(t, spec, priv, out.PublicKey)

		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("%s: Decrypt of PrivateKeyCiphertextBlob: %v", spec, err)
		}
		if !bytes.Equal(dec.Plaintext, out.PrivateKeyPlaintext) || aws.ToString(dec.KeyId) != *k.Arn {
			t.Errorf("%s: Decrypt gave another plaintext or key (%s)", spec, aws.ToString(dec.KeyId))
		}
		for name, bad := range map[string]map[string]string{
			"no context":      nil,
			"another value":   {"purpose": "data key pair", "Tenant": "b"},
			"a key's case":    {"purpose": "data key pair", "tenant": "a"},
			"one pair fewer":  {"purpose": "data key pair"},
			"one pair more":   {"purpose": "data key pair", "Tenant": "a", "x": "y"},
			"ignored context": {"Tenant": "a"},
		} {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: bad}, sdkNoRetry)
			sdkWantErr(t, string(spec)+" Decrypt with "+name, err, "InvalidCiphertextException")
		}

		wo, err := env.KMS.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: ids[(i+1)%len(ids)], KeyPairSpec: spec, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("%s: GenerateDataKeyPairWithoutPlaintext: %v", spec, err)
		}
		if aws.ToString(wo.KeyId) != *k.Arn || wo.KeyPairSpec != spec || aws.ToString(wo.KeyMaterialId) != materialID {
			t.Errorf("%s: WithoutPlaintext: KeyId %s, KeyPairSpec %s", spec, aws.ToString(wo.KeyId), wo.KeyPairSpec)
		}
		if bytes.Equal(wo.PublicKey, out.PublicKey) {
			t.Errorf("%s: two calls gave the same key pair", spec)
		}
		dec, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wo.PrivateKeyCiphertextBlob, EncryptionContext: ec, KeyId: aws.String("alias/pairs")})
		if err != nil {
			t.Fatalf("%s: Decrypt of WithoutPlaintext's ciphertext: %v", spec, err)
		}
		priv, err = kcrypto.ParsePKCS8(dec.Plaintext)
		if err != nil || priv.Spec() != string(spec) || !bytes.Equal(priv.Public().DER(), wo.PublicKey) {
			t.Errorf("%s: WithoutPlaintext's private key does not match its public key (%v)", spec, err)
		}
	}
}

// TestSDKGenerateDataKeyPairWire: GenerateDataKeyPairWithoutPlaintext's
// answer has no PrivateKeyPlaintext member at all, and the members AWS
// sends; GenerateDataKeyPair has it.
func TestSDKGenerateDataKeyPairWire(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	w := newSDKWire(t, env)
	k := sdkCreateKey(t, env.KMS, nil)
	for target, wantPlain := range map[string]bool{"TrentService.GenerateDataKeyPair": true, "TrentService.GenerateDataKeyPairWithoutPlaintext": false} {
		r := w.do(w.root(sdkWireReq{target: target, body: `{"KeyId":"` + *k.KeyId + `","KeyPairSpec":"ECC_NIST_P256"}`}))
		if r.status != 200 {
			t.Fatalf("%s: %d %s", target, r.status, r.body)
		}
		for _, m := range []string{"KeyId", "KeyMaterialId", "KeyPairSpec", "PrivateKeyCiphertextBlob", "PublicKey"} {
			if _, ok := r.obj[m]; !ok {
				t.Errorf("%s: no %s in %s", target, m, r.body)
			}
		}
		if _, ok := r.obj["PrivateKeyPlaintext"]; ok != wantPlain {
			t.Errorf("%s: PrivateKeyPlaintext present %v, want %v", target, ok, wantPlain)
		}
		if len(r.obj) != 5+map[bool]int{true: 1}[wantPlain] {
			t.Errorf("%s: members %v", target, r.obj)
		}
	}
	// KeyPairSpec is required; the SDKs check that before sending.
	r := w.do(w.root(sdkWireReq{target: "TrentService.GenerateDataKeyPair", body: `{"KeyId":"` + *k.KeyId + `"}`}))
	if r.status != 400 || r.obj["__type"] != "ValidationException" ||
		r.obj["message"] != "1 validation error detected: Value null at 'keyPairSpec' failed to satisfy constraint: Member must not be null" {
		t.Errorf("no KeyPairSpec: %d %s", r.status, r.body)
	}
}

// TestSDKGenerateDataKeyPairErrors: AWS's refusals, for both operations,
// with AWS's messages where they are known.
func TestSDKGenerateDataKeyPairErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	sym := sdkCreateKey(t, env.KMS, nil)
	rsaEnc := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	ecSign := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	hmac := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	kem := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecMlKem768, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
	disabled := sdkCreateKey(t, env.KMS, nil)
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: disabled.KeyId}); err != nil {
		t.Fatal(err)
	}
	disabledSign := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: disabledSign.KeyId}); err != nil {
		t.Fatal(err)
	}
	pending := sdkCreateKey(t, env.KMS, nil)
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: pending.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	grant, err := env.KMS.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: sym.KeyId, GranteePrincipal: aws.String("arn:aws:iam::" + servertest.AccountID + ":root"),
		Operations: []types.GrantOperation{types.GrantOperationGenerateDataKeyPair}})
	if err != nil {
		t.Fatal(err)
	}

	type call struct {
		keyID       *string
		spec        types.DataKeyPairSpec
		ec          map[string]string
		grantTokens []string
		dryRun      bool
		recipient   *types.RecipientInfo
	}
	cases := []struct {
		name, code, msg string
		c               call
		// onlyWith: the case applies to GenerateDataKeyPair only (Recipient).
		onlyWith bool
	}{
		{"unknown spec", "ValidationException", "1 validation error detected: Value 'RSA_1024' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: " +
			"[RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, SM2, ECC_NIST_EDWARDS25519, ML_KEM_512, ML_KEM_768, ML_KEM_1024]",
			call{keyID: sym.KeyId, spec: "RSA_1024"}, false},
		{"ML-DSA (no data key pair spec)", "ValidationException", "", call{keyID: sym.KeyId, spec: "ML_DSA_44"}, false},
		{"SM2", "UnsupportedOperationException", "KeyPairSpec SM2 is only available in AWS China Regions.", call{keyID: sym.KeyId, spec: "SM2"}, false},
		{"context over 8 KiB", "ValidationException", "", call{keyID: sym.KeyId, spec: "ECC_NIST_P256", ec: map[string]string{"k": strings.Repeat("v", 8192)}}, false},
		{"missing key", "NotFoundException", "", call{keyID: aws.String("alias/missing"), spec: "ECC_NIST_P256"}, false},
		{"RSA encryption key", "InvalidKeyUsageException", *rsaEnc.Arn + " is not a symmetric encryption key.", call{keyID: rsaEnc.KeyId, spec: "ECC_NIST_P256"}, false},
		{"signing key", "InvalidKeyUsageException", *ecSign.Arn + " key usage is SIGN_VERIFY which is not valid for %s.", call{keyID: ecSign.KeyId, spec: "ECC_NIST_P256"}, false},
		{"HMAC key", "InvalidKeyUsageException", *hmac.Arn + " key usage is GENERATE_VERIFY_MAC which is not valid for %s.", call{keyID: hmac.KeyId, spec: "RSA_2048"}, false},
		{"ML-KEM key", "InvalidKeyUsageException", *kem.Arn + " key usage is ENCAPSULATE_DECAPSULATE which is not valid for %s.", call{keyID: kem.KeyId, spec: "ML_KEM_768"}, false},
		{"disabled key", "DisabledException", *disabled.Arn + " is disabled.", call{keyID: disabled.KeyId, spec: "ECC_NIST_P256"}, false},
		{"DryRun on a disabled key", "DisabledException", "", call{keyID: disabled.KeyId, spec: "ECC_NIST_P256", dryRun: true}, false},
		{"disabled signing key (usage before state)", "InvalidKeyUsageException", *disabledSign.Arn + " key usage is SIGN_VERIFY which is not valid for %s.",
			call{keyID: disabledSign.KeyId, spec: "ECC_NIST_P256"}, false},
		{"key pending deletion", "KMSInvalidStateException", *pending.Arn + " is pending deletion.", call{keyID: pending.KeyId, spec: "ECC_NIST_P256"}, false},
		{"DryRun", "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.", call{keyID: sym.KeyId, spec: "RSA_4096", dryRun: true}, false},
		{"DryRun with a grant token", "DryRunOperationException", "", call{keyID: sym.KeyId, spec: "RSA_2048", dryRun: true, grantTokens: []string{*grant.GrantToken}}, false},
		{"bad grant token", "InvalidGrantTokenException", "", call{keyID: sym.KeyId, spec: "ECC_NIST_P256", grantTokens: []string{"not-a-token"}}, false},
		{"Recipient", "UnsupportedOperationException", "Recipient (attested enclave recipients) is not supported by kagi.",
			call{keyID: sym.KeyId, spec: "ECC_NIST_P256", recipient: &types.RecipientInfo{KeyEncryptionAlgorithm: types.KeyEncryptionMechanismRsaesOaepSha256, AttestationDocument: []byte("doc")}}, true},
	}
	for _, tc := range cases {
		for _, op := range []string{"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"} {
			if tc.onlyWith && op != "GenerateDataKeyPair" {
				continue
			}
			c := tc.c
			var err error
			if op == "GenerateDataKeyPair" {
				_, err = env.KMS.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: c.keyID, KeyPairSpec: c.spec, EncryptionContext: c.ec,
					GrantTokens: c.grantTokens, DryRun: aws.Bool(c.dryRun), Recipient: c.recipient}, sdkNoRetry)
			} else {
				_, err = env.KMS.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: c.keyID, KeyPairSpec: c.spec,
					EncryptionContext: c.ec, GrantTokens: c.grantTokens, DryRun: aws.Bool(c.dryRun)}, sdkNoRetry)
			}
			what := op + " " + tc.name
			sdkWantErr(t, what, err, tc.code)
			if tc.msg == "" {
				continue
			}
			want := strings.ReplaceAll(tc.msg, "%s", op)
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorMessage() != want {
				t.Errorf("%s: message\n  %q\nwant\n  %q", what, ae.ErrorMessage(), want)
			}
		}
	}
}

// TestAuthzGenerateDataKeyPair: the two operations are separate actions;
// kms:DataKeyPairSpec, kms:EncryptionAlgorithm (SYMMETRIC_DEFAULT) and
// kms:EncryptionContext:* are condition keys; a grant for
// GenerateDataKeyPair with an encryption context constraint allows just
// that.
func TestAuthzGenerateDataKeyPair(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	acct := servertest.AccountID
	key := sdkCreateKey(t, env.KMS, nil)
	keyARN := *key.Arn
	ecX := map[string]string{"purpose": "x"}
	denied := func(user, action string) string {
		return "User: " + user + " is not authorized to perform: " + action + " on resource: " + keyARN +
			" because no identity-based policy allows the " + action + " action"
	}

	p256Only, p256ARN := authzUser(t, env, root, acct, "p256-only", authzPolicy(
		`{"Effect":"Allow","Action":"kms:GenerateDataKeyPair","Resource":"*","Condition":{"StringEquals":{"kms:DataKeyPairSpec":"ECC_NIST_P256","kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}}`,
		`{"Effect":"Allow","Action":"kms:GenerateDataKeyPairWithoutPlaintext","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:purpose":"x"}}}`))
	if _, err := p256Only.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: key.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP256}); err != nil {
		t.Errorf("P-256 pair allowed by kms:DataKeyPairSpec: %v", err)
	}
	_, err := p256Only.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: key.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP384})
	authzDenied(t, "P-384 pair", err, denied(p256ARN, "kms:GenerateDataKeyPair"))
	if _, err := p256Only.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: key.KeyId,
		KeyPairSpec: types.DataKeyPairSpecRsa2048, EncryptionContext: ecX}); err != nil {
		t.Errorf("WithoutPlaintext allowed by kms:EncryptionContext:purpose: %v", err)
	}
	_, err = p256Only.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: key.KeyId, KeyPairSpec: types.DataKeyPairSpecEccNistP256})
	authzDenied(t, "WithoutPlaintext without the context", err, denied(p256ARN, "kms:GenerateDataKeyPairWithoutPlaintext"))
	// Allowing GenerateDataKeyPair allows neither Decrypt nor GenerateDataKey.
	_, err = p256Only.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: key.KeyId, NumberOfBytes: aws.Int32(32)})
	authzDenied(t, "GenerateDataKey", err, denied(p256ARN, "kms:GenerateDataKey"))

	granted, grantedARN := authzUser(t, env, root, acct, "granted")
	if _, err := env.KMS.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: key.KeyId, GranteePrincipal: aws.String(grantedARN),
		Operations:  []types.GrantOperation{types.GrantOperationGenerateDataKeyPair},
		Constraints: &types.GrantConstraints{EncryptionContextSubset: ecX}}); err != nil {
		t.Fatal(err)
	}
	if _, err := granted.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: key.KeyId, KeyPairSpec: types.DataKeyPairSpecEccSecgP256k1, EncryptionContext: ecX}); err != nil {
		t.Errorf("GenerateDataKeyPair allowed by the grant: %v", err)
	}
	_, err = granted.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: key.KeyId, KeyPairSpec: types.DataKeyPairSpecEccSecgP256k1})
	authzDenied(t, "granted pair without the context", err, denied(grantedARN, "kms:GenerateDataKeyPair"))
	_, err = granted.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: key.KeyId,
		KeyPairSpec: types.DataKeyPairSpecEccSecgP256k1, EncryptionContext: ecX})
	authzDenied(t, "WithoutPlaintext, not granted", err, denied(grantedARN, "kms:GenerateDataKeyPairWithoutPlaintext"))
}
