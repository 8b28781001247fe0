package server_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// sdkAgreementCurves are the KEY_AGREEMENT key specs, their curves in
// crypto/ecdh and the length of their shared secrets.
var sdkAgreementCurves = []struct {
	spec   types.KeySpec
	curve  ecdh.Curve
	secret int
}{
	{types.KeySpecEccNistP256, ecdh.P256(), 32},
	{types.KeySpecEccNistP384, ecdh.P384(), 48},
	{types.KeySpecEccNistP521, ecdh.P521(), 66},
}

// sdkKEMSizes are the ML-KEM key specs with their public key and
// ciphertext lengths (FIPS 203).
var sdkKEMSizes = []struct {
	spec    types.KeySpec
	pub, ct int
}{
	{types.KeySpecMlKem512, 800, 768},
	{types.KeySpecMlKem768, 1184, 1088},
	{types.KeySpecMlKem1024, 1568, 1568},
}

// sdkPeerDER returns a DER SubjectPublicKeyInfo of an ECDH key.
func sdkPeerDER(t *testing.T, k *ecdh.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// sdkECDHPublic parses GetPublicKey's DER as an ECDH public key.
func sdkECDHPublic(t *testing.T, der []byte) *ecdh.PublicKey {
	t.Helper()
	p, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	ep, ok := p.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("GetPublicKey of a KEY_AGREEMENT key is a %T", p)
	}
	pub, err := ep.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestSDKDeriveSharedSecret: for every KEY_AGREEMENT spec, kagi's shared
// secret with a peer key made by crypto/ecdh is the one the peer computes
// with GetPublicKey's key; two kagi keys agree with each other; the
// response names the key, the algorithm and the origin.
func TestSDKDeriveSharedSecret(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	for _, c := range sdkAgreementCurves {
		a := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: types.KeyUsageTypeKeyAgreement})
		b := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: types.KeyUsageTypeKeyAgreement})
		pa, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: a.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		pb, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: b.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		peer, err := c.curve.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		out, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: a.KeyId,
			KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: sdkPeerDER(t, peer)})
		if err != nil {
			t.Fatalf("%s: DeriveSharedSecret: %v", c.spec, err)
		}
		want, err := peer.ECDH(sdkECDHPublic(t, pa.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.SharedSecret, want) || len(out.SharedSecret) != c.secret {
			t.Errorf("%s: kagi's shared secret (%d bytes) is not the peer's (%d bytes)", c.spec, len(out.SharedSecret), len(want))
		}
		if aws.ToString(out.KeyId) != *a.Arn || out.KeyAgreementAlgorithm != types.KeyAgreementAlgorithmSpecEcdh || out.KeyOrigin != types.OriginTypeAwsKms {
			t.Errorf("%s: response KeyId %q, algorithm %q, origin %q", c.spec, aws.ToString(out.KeyId), out.KeyAgreementAlgorithm, out.KeyOrigin)
		}
		if out.CiphertextForRecipient != nil {
			t.Errorf("%s: CiphertextForRecipient is set", c.spec)
		}
		// Two kagi keys agree, each with the other's public key; a second
		// call gives the same secret (ECDH is deterministic).
		ab, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: a.Arn, KeyAgreementAlgorithm: "ECDH", PublicKey: pb.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		ba, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: b.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: pa.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ab.SharedSecret, ba.SharedSecret) || bytes.Equal(ab.SharedSecret, out.SharedSecret) {
			t.Errorf("%s: two kagi keys do not agree, or agree with another peer's secret", c.spec)
		}
	}
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement})
	sdkCreateAlias(t, env.KMS, "alias/agree", *k.KeyId)
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	for _, id := range []string{"alias/agree", sdkAliasARN(servertest.Region, "alias/agree")} {
		out, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: aws.String(id), KeyAgreementAlgorithm: "ECDH", PublicKey: sdkPeerDER(t, peer)})
		if err != nil || aws.ToString(out.KeyId) != *k.Arn {
			t.Errorf("DeriveSharedSecret by %s: %v", id, err)
		}
	}
	env.Restart(t)
	if _, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: sdkPeerDER(t, peer)}); err != nil {
		t.Errorf("DeriveSharedSecret after a restart: %v", err)
	}
}

// TestSDKDeriveSharedSecretErrors: every way DeriveSharedSecret is refused,
// with AWS's exception, and a refused request changes nothing.
func TestSDKDeriveSharedSecretErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement})
	sym := sdkCreateKey(t, env.KMS, nil)
	sig := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	kem := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecMlKem768, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	p384, _ := ecdh.P384().GenerateKey(rand.Reader)
	good := sdkPeerDER(t, p256)
	ecdsaP256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	viaECDSA, _ := x509.MarshalPKIXPublicKey(&ecdsaP256.PublicKey) // the same encoding, from another type
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)

	if _, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: viaECDSA}); err != nil {
		t.Errorf("DeriveSharedSecret with an ECDSA-made P-256 public key: %v", err)
	}
	cases := []struct {
		name       string
		key        *string
		alg        types.KeyAgreementAlgorithmSpec
		pub        []byte
		code, text string
	}{
		{"symmetric key", sym.KeyId, "ECDH", good, "InvalidKeyUsageException", *sym.Arn + " key usage is ENCRYPT_DECRYPT which is not valid for DeriveSharedSecret."},
		{"signing key", sig.KeyId, "ECDH", good, "InvalidKeyUsageException", *sig.Arn + " key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret."},
		{"ML-KEM key", kem.KeyId, "ECDH", good, "InvalidKeyUsageException", *kem.Arn + " key usage is ENCAPSULATE_DECAPSULATE which is not valid for DeriveSharedSecret."},
		{"SM2 algorithm", k.KeyId, "SM2", good, "ValidationException", "1 validation error detected: Value 'SM2' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]"},
		{"8193-byte public key", k.KeyId, "ECDH", make([]byte, 8193), "ValidationException", ""},
		{"P-384 public key", k.KeyId, "ECDH", sdkPeerDER(t, p384), "ValidationException", "PublicKey is not a DER-encoded SubjectPublicKeyInfo of an elliptic curve public key on the curve of key spec ECC_NIST_P256."},
		{"RSA public key", k.KeyId, "ECDH", rsaDER, "ValidationException", ""},
		{"junk", k.KeyId, "ECDH", []byte("InvalidPublicKey"), "ValidationException", ""},
		{"trailing byte", k.KeyId, "ECDH", append(append([]byte(nil), good...), 0), "ValidationException", ""},
		{"truncated", k.KeyId, "ECDH", good[:len(good)-1], "ValidationException", ""},
		{"point off the curve", k.KeyId, "ECDH", sdkOffCurve(good), "ValidationException", ""},
		{"unknown key", aws.String("11111111-2222-3333-4444-555555555555"), "ECDH", good, "NotFoundException", ""},
		{"forged grant token", k.KeyId, "ECDH", good, "", ""},
	}
	for _, c := range cases {
		in := &kms.DeriveSharedSecretInput{KeyId: c.key, KeyAgreementAlgorithm: c.alg, PublicKey: c.pub}
		code := c.code
		if c.name == "forged grant token" {
			in.GrantTokens, code = []string{"forged"}, "InvalidGrantTokenException"
		}
		_, err := env.KMS.DeriveSharedSecret(ctx, in, sdkNoRetry)
		sdkWantErr(t, "DeriveSharedSecret with "+c.name, err, code)
		var ae smithy.APIError
		if c.text != "" && errors.As(err, &ae) && ae.ErrorMessage() != c.text {
			t.Errorf("%s: message %q, want %q", c.name, ae.ErrorMessage(), c.text)
		}
	}

	// Recipient (attested enclaves) is not supported.
	w := newSDKWire(t, env)
	body := `{"KeyId":"` + *k.KeyId + `","KeyAgreementAlgorithm":"ECDH","PublicKey":"` + base64.StdEncoding.EncodeToString(good) +
		`","Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256","AttestationDocument":"AAAA"}}`
	w.checkError("DeriveSharedSecret with a Recipient", w.do(w.root(sdkWireReq{target: "TrentService.DeriveSharedSecret", body: body})), "UnsupportedOperationException")
	// Missing members (the SDK refuses to send these itself).
	pub := base64.StdEncoding.EncodeToString(good)
	for _, body := range []string{
		`{"KeyAgreementAlgorithm":"ECDH","PublicKey":"` + pub + `"}`,
		`{"KeyId":"` + *k.KeyId + `","PublicKey":"` + pub + `"}`,
		`{"KeyId":"` + *k.KeyId + `","KeyAgreementAlgorithm":"ECDH"}`,
		`{"KeyId":"` + *k.KeyId + `","KeyAgreementAlgorithm":"ECDH","PublicKey":""}`,
	} {
		w.checkError("DeriveSharedSecret "+body, w.do(w.root(sdkWireReq{target: "TrentService.DeriveSharedSecret", body: body})), "ValidationException")
	}

	// DryRun: the request would succeed → DryRunOperationException; one
	// that would fail answers its real error.
	_, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: good, DryRun: aws.Bool(true)}, sdkNoRetry)
	sdkWantDryRun(t, "DeriveSharedSecret DryRun", err)
	_, err = env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: []byte("junk"), DryRun: aws.Bool(true)}, sdkNoRetry)
	sdkWantErr(t, "DeriveSharedSecret DryRun with a bad public key", err, "ValidationException")
	_, err = env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: sym.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: good, DryRun: aws.Bool(true)}, sdkNoRetry)
	sdkWantErr(t, "DeriveSharedSecret DryRun with a symmetric key", err, "InvalidKeyUsageException")

	// Key states: disabled, pending deletion; usage is checked first.
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: good}, sdkNoRetry)
	sdkWantErr(t, "DeriveSharedSecret with a disabled key", err, "DisabledException")
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: good}, sdkNoRetry)
	sdkWantErr(t, "DeriveSharedSecret with a key pending deletion", err, "KMSInvalidStateException")
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: sig.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: sig.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: good}, sdkNoRetry)
	sdkWantErr(t, "DeriveSharedSecret with a disabled signing key", err, "InvalidKeyUsageException")

	// kms:KeyAgreementAlgorithm decides an identity policy's condition.
	k2 := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP384, KeyUsage: types.KeyUsageTypeKeyAgreement})
	root := rootIAMCaller(t, env)
	allowed, _ := authzUser(t, env, root, servertest.AccountID, "ecdh-user", authzPolicy(
		`{"Effect":"Allow","Action":"kms:DeriveSharedSecret","Resource":"*","Condition":{"StringEquals":{"kms:KeyAgreementAlgorithm":"ECDH"}}}`))
	if _, err := allowed.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k2.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: sdkPeerDER(t, p384)}); err != nil {
		t.Errorf("DeriveSharedSecret as the policy allows: %v", err)
	}
	denied, deniedARN := authzUser(t, env, root, servertest.AccountID, "sm2-user", authzPolicy(
		`{"Effect":"Allow","Action":"kms:DeriveSharedSecret","Resource":"*","Condition":{"StringEquals":{"kms:KeyAgreementAlgorithm":"SM2"}}}`))
	_, err = denied.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: k2.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: sdkPeerDER(t, p384)})
	authzDenied(t, "DeriveSharedSecret with ECDH", err, "User: "+deniedARN+" is not authorized to perform: kms:DeriveSharedSecret on resource: "+*k2.Arn+
		" because no identity-based policy allows the kms:DeriveSharedSecret action")
}

// sdkOffCurve returns a P-256 SubjectPublicKeyInfo whose point is not on
// the curve (the last byte of y changed).
func sdkOffCurve(der []byte) []byte {
	b := append([]byte(nil), der...)
	b[len(b)-1] ^= 1
	return b
}

// sdkKEMEncapsulate encapsulates to an ML-KEM public key (the raw key at
// the end of GetPublicKey's DER) with the standard library, or circl for
// ML-KEM-512, which the standard library lacks.
func sdkKEMEncapsulate(t *testing.T, spec types.KeySpec, raw []byte) (secret, ct []byte) {
	t.Helper()
	switch spec {
	case types.KeySpecMlKem768:
		ek, err := mlkem.NewEncapsulationKey768(raw)
		if err != nil {
			t.Fatal(err)
		}
		return ek.Encapsulate()
	case types.KeySpecMlKem1024:
		ek, err := mlkem.NewEncapsulationKey1024(raw)
		if err != nil {
			t.Fatal(err)
		}
		return ek.Encapsulate()
	}
	pk, err := mlkem512.Scheme().UnmarshalBinaryPublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	ct, secret, err = mlkem512.Scheme().Encapsulate(pk)
	if err != nil {
		t.Fatal(err)
	}
	return secret, ct
}

// TestSDKEncapsulateDecapsulate: for every ML-KEM spec, Encapsulate gives
// a 32-byte secret and a ciphertext of FIPS 203's length that Decapsulate
// opens; a ciphertext made with GetPublicKey's key by another
// implementation decapsulates to its secret; a changed ciphertext gives
// another 32-byte secret (implicit rejection), not an error.
func TestSDKEncapsulateDecapsulate(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	for _, c := range sdkKEMSizes {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
		pk, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		enc, err := env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: k.KeyId, EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem})
		if err != nil {
			t.Fatalf("%s: Encapsulate: %v", c.spec, err)
		}
		if len(enc.SharedSecret) != 32 || len(enc.SharedSecretCiphertextBlob) != c.ct || aws.ToString(enc.KeyId) != *k.Arn || enc.EncapsulationAlgorithm != "ML_KEM" {
			t.Errorf("%s: Encapsulate gave a %d-byte secret, a %d-byte ciphertext, KeyId %q, algorithm %q", c.spec,
				len(enc.SharedSecret), len(enc.SharedSecretCiphertextBlob), aws.ToString(enc.KeyId), enc.EncapsulationAlgorithm)
		}
		dec, err := env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: k.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob})
		if err != nil {
			t.Fatalf("%s: Decapsulate: %v", c.spec, err)
		}
		if !bytes.Equal(dec.SharedSecret, enc.SharedSecret) || aws.ToString(dec.KeyId) != *k.Arn || dec.EncapsulationAlgorithm != "ML_KEM" {
			t.Errorf("%s: Decapsulate does not recover Encapsulate's secret", c.spec)
		}
		ss, ct := sdkKEMEncapsulate(t, c.spec, pk.PublicKey[len(pk.PublicKey)-c.pub:])
		dec, err = env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: k.Arn, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: ct})
		if err != nil || !bytes.Equal(dec.SharedSecret, ss) {
			t.Errorf("%s: Decapsulate of a ciphertext made offline: %v", c.spec, err)
		}
		ct[0] ^= 1
		dec, err = env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: k.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: ct})
		if err != nil || len(dec.SharedSecret) != 32 || bytes.Equal(dec.SharedSecret, ss) {
			t.Errorf("%s: Decapsulate of a changed ciphertext: %v, want another 32-byte secret", c.spec, err)
		}
		again, err := env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: k.KeyId, EncapsulationAlgorithm: "ML_KEM"})
		if err != nil || bytes.Equal(again.SharedSecret, enc.SharedSecret) {
			t.Errorf("%s: a second Encapsulate gives the same secret: %v", c.spec, err)
		}
	}
}

// TestSDKEncapsulateDecapsulateErrors: every way Encapsulate and
// Decapsulate are refused.
func TestSDKEncapsulateDecapsulateErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecMlKem768, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
	sym := sdkCreateKey(t, env.KMS, nil)
	agree := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement})
	enc, err := env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: k.KeyId, EncapsulationAlgorithm: "ML_KEM"})
	if err != nil {
		t.Fatal(err)
	}
	ct := enc.SharedSecretCiphertextBlob

	call := func(op string, key *string, alg types.EncapsulationAlgorithmSpec, ct []byte, dry bool, tokens []string) error {
		var err error
		if op == "Encapsulate" {
			_, err = env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: key, EncapsulationAlgorithm: alg, DryRun: aws.Bool(dry), GrantTokens: tokens}, sdkNoRetry)
		} else {
			_, err = env.KMS.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: key, EncapsulationAlgorithm: alg, SharedSecretCiphertextBlob: ct, DryRun: aws.Bool(dry), GrantTokens: tokens}, sdkNoRetry)
		}
		return err
	}
	for _, op := range []string{"Encapsulate", "Decapsulate"} {
		for _, c := range []struct {
			name       string
			key        *string
			alg        types.EncapsulationAlgorithmSpec
			code, text string
		}{
			{"symmetric key", sym.KeyId, "ML_KEM", "InvalidKeyUsageException", *sym.Arn + " key usage is ENCRYPT_DECRYPT which is not valid for " + op + "."},
			{"key agreement key", agree.KeyId, "ML_KEM", "InvalidKeyUsageException", *agree.Arn + " key usage is KEY_AGREEMENT which is not valid for " + op + "."},
			{"ECDH algorithm", k.KeyId, "ECDH", "ValidationException", "1 validation error detected: Value 'ECDH' at 'encapsulationAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ML_KEM]"},
			{"unknown key", aws.String("alias/nothing"), "ML_KEM", "NotFoundException", ""},
		} {
			err := call(op, c.key, c.alg, ct, false, nil)
			sdkWantErr(t, op+" with "+c.name, err, c.code)
			var ae smithy.APIError
			if c.text != "" && errors.As(err, &ae) && ae.ErrorMessage() != c.text {
				t.Errorf("%s %s: message %q, want %q", op, c.name, ae.ErrorMessage(), c.text)
			}
		}
		sdkWantErr(t, op+" with a forged grant token", call(op, k.KeyId, "ML_KEM", ct, false, []string{"forged"}), "InvalidGrantTokenException")
		sdkWantDryRun(t, op+" DryRun", call(op, k.KeyId, "ML_KEM", ct, true, nil))
		sdkWantErr(t, op+" DryRun with a symmetric key", call(op, sym.KeyId, "ML_KEM", ct, true, nil), "InvalidKeyUsageException")
	}
	// Ciphertext sizes: out of the model's 1–6144 bytes → ValidationException;
	// inside them but not the spec's length → InvalidCiphertextException,
	// on a DryRun too.
	for _, c := range []struct {
		name string
		ct   []byte
		code string
	}{
		{"6145-byte ciphertext", make([]byte, 6145), "ValidationException"},
		{"short ciphertext", ct[:len(ct)-1], "InvalidCiphertextException"},
		{"long ciphertext", append(append([]byte(nil), ct...), 0), "InvalidCiphertextException"},
		{"ML-KEM-1024-sized ciphertext", make([]byte, 1568), "InvalidCiphertextException"},
	} {
		sdkWantErr(t, "Decapsulate with "+c.name, call("Decapsulate", k.KeyId, "ML_KEM", c.ct, false, nil), c.code)
	}
	w := newSDKWire(t, env)
	b64ct := base64.StdEncoding.EncodeToString(ct)
	for _, c := range []struct{ op, body string }{
		{"Encapsulate", `{"EncapsulationAlgorithm":"ML_KEM"}`},
		{"Encapsulate", `{"KeyId":"` + *k.KeyId + `"}`},
		{"Decapsulate", `{"EncapsulationAlgorithm":"ML_KEM","SharedSecretCiphertextBlob":"` + b64ct + `"}`},
		{"Decapsulate", `{"KeyId":"` + *k.KeyId + `","SharedSecretCiphertextBlob":"` + b64ct + `"}`},
		{"Decapsulate", `{"KeyId":"` + *k.KeyId + `","EncapsulationAlgorithm":"ML_KEM"}`},
		{"Decapsulate", `{"KeyId":"` + *k.KeyId + `","EncapsulationAlgorithm":"ML_KEM","SharedSecretCiphertextBlob":""}`},
	} {
		w.checkError(c.op+" "+c.body, w.do(w.root(sdkWireReq{target: "TrentService." + c.op, body: c.body})), "ValidationException")
	}
	err = call("Decapsulate", k.KeyId, "ML_KEM", ct[1:], true, nil)
	sdkWantErr(t, "Decapsulate DryRun with a short ciphertext", err, "InvalidCiphertextException")
	var ae smithy.APIError
	if want := "SharedSecretCiphertextBlob is 1087 bytes; a key of spec ML_KEM_768 decapsulates 1088-byte ciphertexts."; errors.As(err, &ae) && ae.ErrorMessage() != want {
		t.Errorf("short ciphertext: message %q, want %q", ae.ErrorMessage(), want)
	}

	// Key states.
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"Encapsulate", "Decapsulate"} {
		sdkWantErr(t, op+" with a disabled key", call(op, k.KeyId, "ML_KEM", ct, false, nil), "DisabledException")
	}
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"Encapsulate", "Decapsulate"} {
		sdkWantErr(t, op+" with a key pending deletion", call(op, k.KeyId, "ML_KEM", ct, false, nil), "KMSInvalidStateException")
	}

	// kms:Encapsulate and kms:Decapsulate are separate actions.
	k2 := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecMlKem512, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
	root := rootIAMCaller(t, env)
	user, userARN := authzUser(t, env, root, servertest.AccountID, "kem-user", authzPolicy(
		`{"Effect":"Allow","Action":"kms:Encapsulate","Resource":"*"}`))
	e2, err := user.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: k2.KeyId, EncapsulationAlgorithm: "ML_KEM"})
	if err != nil {
		t.Fatalf("Encapsulate as the policy allows: %v", err)
	}
	_, err = user.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: k2.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: e2.SharedSecretCiphertextBlob})
	authzDenied(t, "Decapsulate without kms:Decapsulate", err, "User: "+userARN+" is not authorized to perform: kms:Decapsulate on resource: "+*k2.Arn+
		" because no identity-based policy allows the kms:Decapsulate action")
}

// TestSDKAgreementGrants: grants for DeriveSharedSecret, Encapsulate and
// Decapsulate allow exactly their operation, to a user no policy allows.
func TestSDKAgreementGrants(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	root := rootIAMCaller(t, env)
	user, userARN := authzUser(t, env, root, servertest.AccountID, "grantee")
	ec := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP521, KeyUsage: types.KeyUsageTypeKeyAgreement})
	kem := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecMlKem1024, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
	peer, _ := ecdh.P521().GenerateKey(rand.Reader)
	derive := &kms.DeriveSharedSecretInput{KeyId: ec.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: sdkPeerDER(t, peer)}
	_, err := user.DeriveSharedSecret(ctx, derive)
	authzDenied(t, "DeriveSharedSecret before the grant", err, "User: "+userARN+" is not authorized to perform: kms:DeriveSharedSecret on resource: "+*ec.Arn+
		" because no identity-based policy allows the kms:DeriveSharedSecret action")
	for _, g := range []struct {
		key *types.KeyMetadata
		op  types.GrantOperation
	}{{ec, types.GrantOperationDeriveSharedSecret}, {kem, types.GrantOperationEncapsulate}} {
		if _, err := env.KMS.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: g.key.KeyId, GranteePrincipal: aws.String(userARN), Operations: []types.GrantOperation{g.op}}); err != nil {
			t.Fatalf("CreateGrant %s: %v", g.op, err)
		}
	}
	if _, err := user.DeriveSharedSecret(ctx, derive); err != nil {
		t.Errorf("DeriveSharedSecret with a grant: %v", err)
	}
	enc, err := user.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM"})
	if err != nil {
		t.Fatalf("Encapsulate with a grant: %v", err)
	}
	_, err = user.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob})
	authzDenied(t, "Decapsulate with an Encapsulate grant", err, "User: "+userARN+" is not authorized to perform: kms:Decapsulate on resource: "+*kem.Arn+
		" because no identity-based policy allows the kms:Decapsulate action")
	// A grant for an operation the key cannot do is refused.
	_, err = env.KMS.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: kem.KeyId, GranteePrincipal: aws.String(userARN),
		Operations: []types.GrantOperation{types.GrantOperationDeriveSharedSecret}}, sdkNoRetry)
	if err == nil {
		t.Error("CreateGrant of DeriveSharedSecret on an ML-KEM key succeeded")
	}
}
