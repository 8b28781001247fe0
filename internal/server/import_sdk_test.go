package server_test

import (
	"bytes"
	"context"
	gocrypto "crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/crypto/blob"
	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// sdkImportParams gets a wrapping key and import token and checks the
// response's shape.
func sdkImportParams(t *testing.T, env *servertest.Env, keyID string, alg types.AlgorithmSpec, spec types.WrappingKeySpec) (*rsa.PublicKey, []byte) {
	t.Helper()
	before := env.Clock.Now()
	out, err := env.KMS.GetParametersForImport(t.Context(), &kms.GetParametersForImportInput{KeyId: aws.String(keyID), WrappingAlgorithm: alg, WrappingKeySpec: spec})
	if err != nil {
		t.Fatalf("GetParametersForImport %s %s: %v", alg, spec, err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		t.Fatalf("PublicKey is no SubjectPublicKeyInfo: %v", err)
	}
	rpub, ok := pub.(*rsa.PublicKey)
	if !ok || rpub.N.BitLen() != kcrypto.WrappingKeyBits(string(spec)) {
		t.Fatalf("PublicKey is %T, want an RSA key for %s", pub, spec)
	}
	if !sdkNear(out.ParametersValidTo, before.Add(24*time.Hour), 10*time.Second) {
		t.Errorf("ParametersValidTo %v, want about %v", out.ParametersValidTo, before.Add(24*time.Hour))
	}
	if len(out.ImportToken) == 0 || len(out.ImportToken) > 6144 || aws.ToString(out.KeyId) == "" {
		t.Errorf("ImportToken of %d bytes, KeyId %q", len(out.ImportToken), aws.ToString(out.KeyId))
	}
	return rpub, out.ImportToken
}

// sdkWrap wraps material for a wrapping public key with alg, in Go.
func sdkWrap(t *testing.T, pub *rsa.PublicKey, alg types.AlgorithmSpec, material []byte) []byte {
	t.Helper()
	w, err := kcrypto.WrapKeyMaterial(pub, string(alg), material)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// openLocally decrypts a kagi ciphertext with the material itself,
// without kagi: proof that the imported material is the key in use.
func openLocally(t *testing.T, material, ct []byte, ec map[string]string) []byte {
	t.Helper()
	b, err := blob.Parse(ct)
	if err != nil {
		t.Fatal(err)
	}
	aad := kcrypto.AppendCanonicalContext(bytes.Clone(b.AAD), ec)
	pt, err := kcrypto.OpenMessage(material, b.Nonce[:], b.Sealed, aad)
	if err != nil {
		t.Fatalf("the imported material does not open kagi's ciphertext: %v", err)
	}
	return pt
}

// TestSDKImportSymmetric walks the import life cycle of a symmetric key
// with every wrapping algorithm: PendingImport, import, use (the
// ciphertext opens with the material itself), delete, re-import.
func TestSDKImportSymmetric(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	for _, alg := range []types.AlgorithmSpec{types.AlgorithmSpecRsaesOaepSha1, types.AlgorithmSpecRsaesOaepSha256,
		types.AlgorithmSpecRsaAesKeyWrapSha1, types.AlgorithmSpecRsaAesKeyWrapSha256} {
		m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, Description: aws.String("byok")})
		if m.KeyState != types.KeyStatePendingImport || m.Enabled || m.Origin != types.OriginTypeExternal || m.ExpirationModel != "" || m.ValidTo != nil {
			t.Fatalf("%s: new key %s Enabled %v Origin %s ExpirationModel %q ValidTo %v", alg, m.KeyState, m.Enabled, m.Origin, m.ExpirationModel, m.ValidTo)
		}
		_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("x")})
		sdkWantErr(t, string(alg)+": Encrypt before import", err, "KMSInvalidStateException")
		_, err = env.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: m.KeyId})
		sdkWantErr(t, string(alg)+": EnableKey before import", err, "KMSInvalidStateException")

		material := randomBytes(32)
		pub, tok := sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa2048)
		validTo := env.Clock.Now().Add(30 * sdkDay).Truncate(time.Second)
		out, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, alg, material), ValidTo: aws.Time(validTo), KeyMaterialDescription: aws.String("first import")})
		if err != nil {
			t.Fatalf("%s: ImportKeyMaterial: %v", alg, err)
		}
		if aws.ToString(out.KeyId) != *m.Arn || len(aws.ToString(out.KeyMaterialId)) != 64 {
			t.Errorf("%s: ImportKeyMaterial answered KeyId %q KeyMaterialId %q", alg, aws.ToString(out.KeyId), aws.ToString(out.KeyMaterialId))
		}
		d := sdkDescribe(t, env.KMS, *m.KeyId)
		if d.KeyState != types.KeyStateEnabled || !d.Enabled || d.ExpirationModel != types.ExpirationModelTypeKeyMaterialExpires ||
			d.ValidTo == nil || !d.ValidTo.Equal(validTo) || aws.ToString(d.CurrentKeyMaterialId) != aws.ToString(out.KeyMaterialId) {
			t.Errorf("%s: after import: %s %v %s ValidTo %v (want %v) material %s", alg, d.KeyState, d.Enabled, d.ExpirationModel, d.ValidTo, validTo, aws.ToString(d.CurrentKeyMaterialId))
		}

		ec := map[string]string{"purpose": "byok"}
		ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("imported"), EncryptionContext: ec})
		if err != nil {
			t.Fatal(err)
		}
		if got := openLocally(t, material, ct.CiphertextBlob, ec); string(got) != "imported" {
			t.Fatalf("%s: local decryption gave %q", alg, got)
		}

		// Deleted: PendingImport, unusable, no expiration shown.
		del, err := env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: m.KeyId})
		if err != nil {
			t.Fatalf("%s: DeleteImportedKeyMaterial: %v", alg, err)
		}
		if aws.ToString(del.KeyMaterialId) != aws.ToString(out.KeyMaterialId) || aws.ToString(del.KeyId) != *m.Arn {
			t.Errorf("%s: DeleteImportedKeyMaterial answered %q %q", alg, aws.ToString(del.KeyId), aws.ToString(del.KeyMaterialId))
		}
		if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingImport || d.ValidTo != nil || d.ExpirationModel != "" {
			t.Errorf("%s: after delete: %s ValidTo %v ExpirationModel %q", alg, d.KeyState, d.ValidTo, d.ExpirationModel)
		}
		_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob, EncryptionContext: ec})
		sdkWantErr(t, string(alg)+": Decrypt after delete", err, "KMSInvalidStateException")
		// Deleting again changes nothing.
		if _, err := env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: m.KeyId}); err != nil {
			t.Errorf("%s: second DeleteImportedKeyMaterial: %v", alg, err)
		}

		// Other material is refused; the same material, under a new
		// token, brings the key and its old ciphertexts back.
		pub, tok = sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa3072)
		_, err = env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, alg, randomBytes(32)), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
		sdkWantErr(t, string(alg)+": other material", err, "IncorrectKeyMaterialException")
		if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingImport {
			t.Errorf("%s: refused import left the key %s", alg, d.KeyState)
		}
		again, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, alg, material), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire,
			KeyMaterialId: out.KeyMaterialId, ImportType: types.ImportTypeExistingKeyMaterial})
		if err != nil {
			t.Fatalf("%s: re-import: %v", alg, err)
		}
		if aws.ToString(again.KeyMaterialId) != aws.ToString(out.KeyMaterialId) {
			t.Errorf("%s: re-import gave KeyMaterialId %s, first import %s", alg, aws.ToString(again.KeyMaterialId), aws.ToString(out.KeyMaterialId))
		}
		d = sdkDescribe(t, env.KMS, *m.KeyId)
		if d.KeyState != types.KeyStateEnabled || d.ExpirationModel != types.ExpirationModelTypeKeyMaterialDoesNotExpire || d.ValidTo != nil {
			t.Errorf("%s: after re-import: %s %s %v", alg, d.KeyState, d.ExpirationModel, d.ValidTo)
		}
		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob, EncryptionContext: ec})
		if err != nil || string(dec.Plaintext) != "imported" {
			t.Fatalf("%s: Decrypt of the old ciphertext after re-import: %v", alg, err)
		}
	}
}

// TestSDKImportErrors: every refusal is AWS's exception and changes
// nothing.
func TestSDKImportErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	other := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	native := sdkCreateKey(t, env.KMS, nil)
	alg, spec := types.AlgorithmSpecRsaesOaepSha256, types.WrappingKeySpecRsa2048
	pub, tok := sdkImportParams(t, env, *m.KeyId, alg, spec)
	otherPub, otherTok := sdkImportParams(t, env, *other.KeyId, alg, spec)
	material := randomBytes(32)
	good := sdkWrap(t, pub, alg, material)
	dnx := types.ExpirationModelTypeKeyMaterialDoesNotExpire
	imp := func(in kms.ImportKeyMaterialInput) error {
		if in.KeyId == nil {
			in.KeyId = m.KeyId
		}
		_, err := env.KMS.ImportKeyMaterial(ctx, &in, sdkNoRetry)
		return err
	}
	now := env.Clock.Now()
	forged := bytes.Clone(tok)
	forged[len(forged)/2] ^= 1
	for _, c := range []struct {
		name string
		err  error
		code string
	}{
		{"token of another key", imp(kms.ImportKeyMaterialInput{ImportToken: otherTok, EncryptedKeyMaterial: sdkWrap(t, otherPub, alg, material), ExpirationModel: dnx}), "InvalidImportTokenException"},
		{"altered token", imp(kms.ImportKeyMaterialInput{ImportToken: forged, EncryptedKeyMaterial: good, ExpirationModel: dnx}), "InvalidImportTokenException"},
		{"made-up token", imp(kms.ImportKeyMaterialInput{ImportToken: randomBytes(300), EncryptedKeyMaterial: good, ExpirationModel: dnx}), "InvalidImportTokenException"},
		{"material for another wrapping key", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: sdkWrap(t, otherPub, alg, material), ExpirationModel: dnx}), "InvalidCiphertextException"},
		{"material wrapped with another algorithm", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: sdkWrap(t, pub, types.AlgorithmSpecRsaesOaepSha1, material), ExpirationModel: dnx}), "InvalidCiphertextException"},
		{"garbage", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: randomBytes(256), ExpirationModel: dnx}), "InvalidCiphertextException"},
		{"31-byte material", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: sdkWrap(t, pub, alg, material[:31]), ExpirationModel: dnx}), "IncorrectKeyMaterialException"},
		{"33-byte material", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: sdkWrap(t, pub, alg, append(bytes.Clone(material), 0)), ExpirationModel: dnx}), "IncorrectKeyMaterialException"},
		{"KEY_MATERIAL_EXPIRES (the default) without ValidTo", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good}), "ValidationException"},
		{"ValidTo with KEY_MATERIAL_DOES_NOT_EXPIRE", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ExpirationModel: dnx, ValidTo: aws.Time(now.Add(sdkDay))}), "ValidationException"},
		{"ValidTo in the past", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ValidTo: aws.Time(now.Add(-time.Minute))}), "ValidationException"},
		{"ValidTo 366 days ahead", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ValidTo: aws.Time(now.Add(366 * sdkDay))}), "ValidationException"},
		{"unknown ExpirationModel", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ExpirationModel: "SOMETIMES"}), "ValidationException"},
		{"KeyMaterialId with NEW_KEY_MATERIAL", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ExpirationModel: dnx, ImportType: types.ImportTypeNewKeyMaterial, KeyMaterialId: aws.String(hex.EncodeToString(material))}), "ValidationException"},
		{"EXISTING_KEY_MATERIAL before any import", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ExpirationModel: dnx, ImportType: types.ImportTypeExistingKeyMaterial}), "IncorrectKeyMaterialException"},
		{"KeyMaterialId not hex", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ExpirationModel: dnx, KeyMaterialId: aws.String(fmt.Sprintf("%064d", 0)[:63] + "G")}), "ValidationException"},
		{"KeyMaterialDescription with a comma", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ExpirationModel: dnx, KeyMaterialDescription: aws.String("a,b")}), "ValidationException"},
		{"into a key with AWS_KMS material", imp(kms.ImportKeyMaterialInput{KeyId: native.KeyId, ImportToken: tok, EncryptedKeyMaterial: good, ExpirationModel: dnx}), "UnsupportedOperationException"},
	} {
		sdkWantErr(t, c.name, c.err, c.code)
	}
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingImport || d.CurrentKeyMaterialId != nil {
		t.Errorf("refused imports changed the key: %s %v", d.KeyState, d.CurrentKeyMaterialId)
	}

	// The key-state table's PendingImport column: cryptographic
	// operations, grants, EnableKey, DisableKey and CancelKeyDeletion
	// refuse with KMSInvalidStateException; management operations work.
	nativeCT, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: native.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"GenerateDataKey", func() error {
			_, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: m.KeyId, KeySpec: types.DataKeySpecAes256}, sdkNoRetry)
			return err
		}},
		{"GenerateDataKeyWithoutPlaintext", func() error {
			_, err := env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: m.KeyId, NumberOfBytes: aws.Int32(16)}, sdkNoRetry)
			return err
		}},
		{"ReEncrypt to it", func() error {
			_, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: nativeCT.CiphertextBlob, DestinationKeyId: m.KeyId}, sdkNoRetry)
			return err
		}},
		{"CreateGrant", func() error {
			_, err := env.KMS.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: m.KeyId, GranteePrincipal: aws.String("arn:aws:iam::" + servertest.AccountID + ":root"),
				Operations: []types.GrantOperation{types.GrantOperationEncrypt}}, sdkNoRetry)
			return err
		}},
		{"DisableKey", func() error {
			_, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: m.KeyId}, sdkNoRetry)
			return err
		}},
		{"CancelKeyDeletion", func() error {
			_, err := env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: m.KeyId}, sdkNoRetry)
			return err
		}},
	} {
		sdkWantErr(t, "PendingImport: "+c.name, c.call(), "KMSInvalidStateException")
	}
	if _, err := env.KMS.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: m.KeyId, Description: aws.String("still pending")}); err != nil {
		t.Errorf("UpdateKeyDescription in PendingImport: %v", err)
	}
	sdkCreateAlias(t, env.KMS, "alias/pending-import", *m.KeyId)
	if _, err := env.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: m.KeyId}); err != nil {
		t.Errorf("GetKeyPolicy in PendingImport: %v", err)
	}

	gp := func(keyID *string, alg types.AlgorithmSpec, spec types.WrappingKeySpec) error {
		_, err := env.KMS.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: keyID, WrappingAlgorithm: alg, WrappingKeySpec: spec}, sdkNoRetry)
		return err
	}
	sdkWantErr(t, "GetParametersForImport of an AWS_KMS key", gp(native.KeyId, alg, spec), "UnsupportedOperationException")
	sdkWantErr(t, "RSAES_PKCS1_V1_5", gp(m.KeyId, types.AlgorithmSpecRsaesPkcs1V15, spec), "ValidationException")
	sdkWantErr(t, "SM2PKE", gp(m.KeyId, types.AlgorithmSpecSm2pke, types.WrappingKeySpecSm2), "UnsupportedOperationException")
	sdkWantErr(t, "unknown algorithm", gp(m.KeyId, "RSA_OAEP", spec), "ValidationException")
	sdkWantErr(t, "unknown spec", gp(m.KeyId, alg, "RSA_1024"), "ValidationException")
	// Members the SDK itself insists on, sent on the wire without them.
	w := newSDKWire(t, env)
	for _, c := range []struct{ op, body string }{
		{"GetParametersForImport", `{"KeyId":"` + *m.KeyId + `","WrappingKeySpec":"RSA_2048"}`},
		{"GetParametersForImport", `{"KeyId":"` + *m.KeyId + `","WrappingAlgorithm":"RSAES_OAEP_SHA_256"}`},
		{"ImportKeyMaterial", `{"KeyId":"` + *m.KeyId + `","ImportToken":"` + base64.StdEncoding.EncodeToString(tok) + `","ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE"}`},
		{"ImportKeyMaterial", `{"KeyId":"` + *m.KeyId + `","EncryptedKeyMaterial":"` + base64.StdEncoding.EncodeToString(good) + `","ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE"}`},
		{"DeleteImportedKeyMaterial", `{}`},
	} {
		w.checkError(c.op, w.do(w.root(sdkWireReq{target: "TrentService." + c.op, body: c.body})), "ValidationException")
	}
	sdkWantErr(t, "alias", gp(aws.String("alias/none"), alg, spec), "NotFoundException")
	_, err = env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: native.KeyId})
	sdkWantErr(t, "DeleteImportedKeyMaterial of an AWS_KMS key", err, "UnsupportedOperationException")
	if d := sdkDescribe(t, env.KMS, *native.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("the AWS_KMS key is %s", d.KeyState)
	}

	// The token expires after 24 hours.
	env.Clock.Advance(24*time.Hour + time.Second)
	sdkWantErr(t, "expired token", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: good, ExpirationModel: dnx}), "ExpiredImportTokenException")
	pub, tok = sdkImportParams(t, env, *m.KeyId, alg, spec)
	if err := imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: sdkWrap(t, pub, alg, material), ExpirationModel: dnx}); err != nil {
		t.Fatalf("import with a fresh token: %v", err)
	}
	// Importing the same material into the Enabled key again sets a new
	// expiration, which then applies.
	validTo := env.Clock.Now().Add(5 * sdkDay).Truncate(time.Second)
	if err := imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: sdkWrap(t, pub, alg, material), ValidTo: aws.Time(validTo)}); err != nil {
		t.Fatalf("re-import into an Enabled key: %v", err)
	}
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStateEnabled || d.ValidTo == nil || !d.ValidTo.Equal(validTo) {
		t.Errorf("after re-import with a ValidTo: %s %v, want Enabled until %v", d.KeyState, d.ValidTo, validTo)
	}
	env.Clock.Advance(5*sdkDay + time.Second)
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingImport {
		t.Errorf("past the new ValidTo: %s", d.KeyState)
	}
	// A key pending deletion refuses imports and parameters; deleting
	// its material leaves it pending deletion, and cancelling leaves it
	// PendingImport, not Disabled.
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: m.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	sdkWantErr(t, "GetParametersForImport pending deletion", gp(m.KeyId, alg, spec), "KMSInvalidStateException")
	sdkWantErr(t, "ImportKeyMaterial pending deletion", imp(kms.ImportKeyMaterialInput{ImportToken: tok, EncryptedKeyMaterial: sdkWrap(t, pub, alg, material), ExpirationModel: dnx}), "KMSInvalidStateException")
	if _, err := env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: m.KeyId}); err != nil {
		t.Fatal(err)
	}
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingDeletion {
		t.Errorf("DeleteImportedKeyMaterial of a key pending deletion left it %s", d.KeyState)
	}
	if _, err := env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: m.KeyId}); err != nil {
		t.Fatal(err)
	}
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingImport {
		t.Errorf("CancelKeyDeletion of a key without material left it %s, want PendingImport", d.KeyState)
	}
}

// TestSDKImportHMAC: an imported HMAC key is what GenerateMac uses, for
// every spec and the shortest and longest keys AWS accepts.
func TestSDKImportHMAC(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	msg := []byte("message to MAC")
	for _, c := range []struct {
		spec     types.KeySpec
		alg      types.MacAlgorithmSpec
		min, max int
	}{
		{types.KeySpecHmac224, types.MacAlgorithmSpecHmacSha224, 28, 64},
		{types.KeySpecHmac256, types.MacAlgorithmSpecHmacSha256, 32, 64},
		{types.KeySpecHmac384, types.MacAlgorithmSpecHmacSha384, 48, 128},
		{types.KeySpecHmac512, types.MacAlgorithmSpecHmacSha512, 64, 128},
	} {
		for _, n := range []int{c.min, c.max} {
			m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: c.spec, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
			if m.KeyState != types.KeyStatePendingImport {
				t.Fatalf("%s: new key %s", c.spec, m.KeyState)
			}
			_, err := env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: c.alg})
			sdkWantErr(t, string(c.spec)+": GenerateMac before import", err, "KMSInvalidStateException")
			key := randomBytes(n)
			alg := types.AlgorithmSpecRsaAesKeyWrapSha256
			pub, tok := sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa2048)
			for _, bad := range []int{c.min - 1, c.max + 1} {
				_, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
					EncryptedKeyMaterial: sdkWrap(t, pub, alg, randomBytes(bad)), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}, sdkNoRetry)
				sdkWantErr(t, fmt.Sprintf("%s: %d-byte key", c.spec, bad), err, "IncorrectKeyMaterialException")
			}
			_, err = env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
				EncryptedKeyMaterial: sdkWrap(t, pub, alg, key), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire,
				KeyMaterialDescription: aws.String("not for HMAC")}, sdkNoRetry)
			sdkWantErr(t, string(c.spec)+": KeyMaterialDescription", err, "ValidationException")
			out, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
				EncryptedKeyMaterial: sdkWrap(t, pub, alg, key), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
			if err != nil {
				t.Fatalf("%s, %d bytes: ImportKeyMaterial: %v", c.spec, n, err)
			}
			if out.KeyMaterialId != nil {
				t.Errorf("%s: KeyMaterialId %q for an HMAC key", c.spec, *out.KeyMaterialId)
			}
			mac, err := env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: c.alg})
			if err != nil {
				t.Fatal(err)
			}
			want, err := kcrypto.MAC(string(c.spec), string(c.alg), key, msg)
			if err != nil {
				t.Fatal(err)
			}
			if !hmac.Equal(mac.Mac, want) {
				t.Errorf("%s, %d-byte key: kagi's MAC is not the imported key's", c.spec, n)
			}
			if c.spec == types.KeySpecHmac256 {
				local := hmac.New(sha256.New, key)
				local.Write(msg)
				if !hmac.Equal(mac.Mac, local.Sum(nil)) {
					t.Errorf("HMAC_256: kagi's MAC differs from crypto/hmac's")
				}
			}
			// Other material is refused; the key keeps its own.
			pub, tok = sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa2048)
			_, err = env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
				EncryptedKeyMaterial: sdkWrap(t, pub, alg, randomBytes(n)), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}, sdkNoRetry)
			sdkWantErr(t, string(c.spec)+": other key", err, "IncorrectKeyMaterialException")
			if _, err := env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: c.alg, Mac: want}); err != nil {
				t.Errorf("%s: VerifyMac after a refused import: %v", c.spec, err)
			}
		}
	}
}

// TestSDKImportedMaterialExpires: material with a ValidTo expires when the
// clock passes it: the key becomes PendingImport and the sweeper erases
// the sealed material; the same material imported again restores the key.
func TestSDKImportedMaterialExpires(t *testing.T) {
	t.Parallel()
	var logBuf syncBuffer
	env := servertest.Start(t, servertest.WithSweepInterval(20*time.Millisecond), servertest.WithLogOutput(&logBuf))
	ctx := t.Context()
	m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	keep := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	material, keepMaterial := randomBytes(32), randomBytes(32)
	alg := types.AlgorithmSpecRsaesOaepSha256
	for _, k := range []struct {
		id       *string
		material []byte
		validTo  time.Duration
	}{{m.KeyId, material, 10 * sdkDay}, {keep.KeyId, keepMaterial, 20 * sdkDay}} {
		pub, tok := sdkImportParams(t, env, *k.id, alg, types.WrappingKeySpecRsa2048)
		if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: k.id, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, alg, k.material), ValidTo: aws.Time(env.Clock.Now().Add(k.validTo))}); err != nil {
			t.Fatal(err)
		}
	}
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("expiring")})
	if err != nil {
		t.Fatal(err)
	}
	sealed := sdkSealedMaterial(t, env)
	if sealed[*m.KeyId] == nil || sealed[*keep.KeyId] == nil {
		t.Fatalf("sealed material not found in the data directory: %d keys", len(sealed))
	}

	env.Clock.Advance(10*sdkDay - time.Hour)
	time.Sleep(100 * time.Millisecond)
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Fatalf("an hour before ValidTo: %s", d.KeyState)
	}
	env.Clock.Advance(time.Hour + time.Second)
	// At once, even before a sweep, the key is PendingImport.
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingImport || d.ValidTo != nil {
		t.Errorf("after ValidTo: %s ValidTo %v", d.KeyState, d.ValidTo)
	}
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob}, sdkNoRetry)
	sdkWantErr(t, "Decrypt after expiry", err, "KMSInvalidStateException")
	// The sweeper erases the sealed material from the record (wait at
	// most 5 s for it).
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains(logBuf.Bytes(), []byte("erased imported key material whose ValidTo passed")) {
		if time.Now().After(deadline) {
			t.Fatal("5 s after ValidTo the sweeper has not erased the material")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := sdkDescribe(t, env.KMS, *keep.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("the key with a later ValidTo is %s", d.KeyState)
	}
	sdkCheckErased(t, env, map[string][]byte{"expired sealed imported material": sealed[*m.KeyId]})
	if sdkRecordSealed(t, env.DataDir, *m.KeyId) != nil {
		t.Fatal("after the sweep the key record still holds its sealed material")
	}
	if sdkRecordSealed(t, env.DataDir, *keep.KeyId) == nil {
		t.Fatal("the sweep erased the material of the key with a later ValidTo")
	}
	env.Restart(t)
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingImport {
		t.Errorf("after restart: %s", d.KeyState)
	}
	// Imported material survives a restart.
	kct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: keep.KeyId, Plaintext: []byte("kept")})
	if err != nil {
		t.Fatalf("Encrypt under imported material after a restart: %v", err)
	}
	openLocally(t, keepMaterial, kct.CiphertextBlob, nil)
	pub, tok := sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa2048)
	if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
		EncryptedKeyMaterial: sdkWrap(t, pub, alg, material), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
		t.Fatalf("re-import after expiry: %v", err)
	}
	dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "expiring" {
		t.Fatalf("Decrypt after re-import: %v", err)
	}
	// Ten more years: material that does not expire stays.
	env.Clock.Advance(3650 * sdkDay)
	time.Sleep(100 * time.Millisecond)
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("material that does not expire: %s after ten years", d.KeyState)
	}
	if d := sdkDescribe(t, env.KMS, *keep.KeyId); d.KeyState != types.KeyStatePendingImport {
		t.Errorf("the second key, past its ValidTo: %s", d.KeyState)
	}
	checkAbsent(t, "the server log", logBuf.Bytes(), map[string][]byte{"imported material": material, "second imported material": keepMaterial})
	env.Stop(t)
	checkAbsent(t, "the data directory", sdkDirBytes(t, env.DataDir), map[string][]byte{"imported material": material, "second imported material": keepMaterial})
}

// TestSDKDeletedImportedMaterialIsErased: after DeleteImportedKeyMaterial
// the sealed material is in no file of the data directory once the
// sweeper has compacted bbolt's free pages away.
func TestSDKDeletedImportedMaterialIsErased(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.WithSweepInterval(20*time.Millisecond))
	ctx := t.Context()
	m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	alg := types.AlgorithmSpecRsaAesKeyWrapSha256
	pub, tok := sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa4096)
	material := randomBytes(32)
	if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
		EncryptedKeyMaterial: sdkWrap(t, pub, alg, material), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
		t.Fatal(err)
	}
	sealed := sdkSealedMaterial(t, env)[*m.KeyId]
	if sealed == nil {
		t.Fatal("no sealed material in the data directory after import")
	}
	if _, err := env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: m.KeyId}); err != nil {
		t.Fatal(err)
	}
	sdkCheckErased(t, env, map[string][]byte{"sealed imported material": sealed})
	if sdkRecordSealed(t, env.DataDir, *m.KeyId) != nil {
		t.Fatal("the key record still holds sealed material after DeleteImportedKeyMaterial")
	}
	checkAbsent(t, "data directory", sdkDirBytes(t, env.DataDir), map[string][]byte{"imported material": material})
}

// sdkSealedMaterial stops the server, reads every key's current sealed
// material out of the data directory, and starts the server again.
func sdkSealedMaterial(t *testing.T, env *servertest.Env) map[string][]byte {
	t.Helper()
	env.Stop(t)
	out := map[string][]byte{}
	sdkEachRecord(t, filepath.Join(env.DataDir, server.DBFile), func(id string, sealed []byte) { out[id] = sealed })
	env.Restart(t)
	return out
}

// sdkRecordSealed returns the sealed material in a key's record, reading a
// stopped server's data directory.
func sdkRecordSealed(t *testing.T, dir, keyID string) []byte {
	t.Helper()
	var out []byte
	found := false
	sdkEachRecord(t, filepath.Join(dir, server.DBFile), func(id string, sealed []byte) {
		if id == keyID {
			out, found = sealed, true
		}
	})
	if !found {
		t.Fatalf("no record of key %s", keyID)
	}
	return out
}

func sdkEachRecord(t *testing.T, dbFile string, fn func(id string, sealed []byte)) {
	t.Helper()
	sdkEachRecordAll(t, dbFile, func(id string, current []byte, _ [][]byte) { fn(id, current) })
}

// sdkEachRecordAll calls fn with each key's current sealed material and
// every sealed material version it holds.
func sdkEachRecordAll(t *testing.T, dbFile string, fn func(id string, current []byte, all [][]byte)) {
	t.Helper()
	st, err := bolt.Open(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx storage.Tx) error {
		kvs, _, err := tx.List([]byte("k/"), nil, 0)
		for _, kv := range kvs {
			var rec struct {
				ID        string `json:"id"`
				Current   int    `json:"current"`
				Materials []struct {
					Sealed []byte `json:"sealed"`
				} `json:"materials"`
			}
			if err := json.Unmarshal(kv.Value, &rec); err != nil {
				return err
			}
			var sealed []byte
			if len(rec.Materials) > 0 {
				sealed = rec.Materials[rec.Current].Sealed
			}
			var all [][]byte
			for _, m := range rec.Materials {
				if m.Sealed != nil {
					all = append(all, m.Sealed)
				}
			}
			fn(rec.ID, sealed, all)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sdkDirBytes returns every file of a directory tree, concatenated.
func sdkDirBytes(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// sdkCheckErased checks that erased secrets (sealed material …) go from
// every file of the data directory while the server runs: bbolt does not
// clear the pages it frees, so the sweeper compacts the store after an
// erasure. The server must run with a short sweep interval; it waits at
// most 10 s, stops the server and checks again (what the final flushes
// write at shutdown names none of them either). The store must keep at
// least one key of origin EXTERNAL, to show compaction kept the live
// records. Then `kagi admin compact` compacts the stopped server's store.
func sdkCheckErased(t *testing.T, env *servertest.Env, secrets map[string][]byte) {
	t.Helper()
	left := func(all []byte) (n int) {
		for _, s := range secrets {
			if bytes.Contains(all, s) || bytes.Contains(all, []byte(base64.StdEncoding.EncodeToString(s))) {
				n++
			}
		}
		return n
	}
	first := left(sdkDirBytes(t, env.DataDir))
	deadline := time.Now().Add(10 * time.Second)
	for n := first; n > 0; n = left(sdkDirBytes(t, env.DataDir)) {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the erasure %d of %d erased secrets are still in the data directory of the running server", n, len(secrets))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d of %d erased secrets were in the data directory when the wait began", first, len(secrets))
	env.Stop(t)
	all := sdkDirBytes(t, env.DataDir)
	if !bytes.Contains(all, []byte(`"origin":"EXTERNAL"`)) {
		t.Fatal("the compacted store lost the key records")
	}
	checkAbsent(t, "the data directory after the automatic compaction", all, secrets)
	if out, _ := mustAdmin(t, "compact", "--data-dir", env.DataDir); !strings.HasPrefix(out, "compacted ") {
		t.Errorf("kagi admin compact printed %q", out)
	}
	if all := sdkDirBytes(t, env.DataDir); !bytes.Contains(all, []byte(`"origin":"EXTERNAL"`)) {
		t.Fatal("kagi admin compact lost the key records")
	}
}

// TestAuthzImportConditions: the import operations are actions of their
// own with AWS's condition keys: kms:KeyOrigin on CreateKey,
// kms:WrappingAlgorithm and kms:WrappingKeySpec on GetParametersForImport,
// kms:ExpirationModel and kms:ValidTo on ImportKeyMaterial.
func TestAuthzImportConditions(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	acct := servertest.AccountID
	root := rootIAMCaller(t, env)

	// A user who may create only keys for imported material.
	user, userARN := authzUser(t, env, root, acct, "importer", authzPolicy(
		`{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*","Condition":{"StringEquals":{"kms:KeyOrigin":"EXTERNAL"}}}`))
	_, err := user.CreateKey(ctx, &kms.CreateKeyInput{}, sdkNoRetry)
	authzDenied(t, "CreateKey with Origin AWS_KMS", err, "User: "+userARN+" is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action")
	if _, err := user.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternal}); err != nil {
		t.Errorf("CreateKey with Origin EXTERNAL: %v", err)
	}

	m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	keyARN := *m.Arn
	validLimit := env.Clock.Now().Add(30 * sdkDay).Unix()
	doc := authzPolicy(authzRootStatement(acct),
		`{"Effect":"Deny","Principal":"*","Action":"kms:GetParametersForImport","Resource":"*","Condition":{"StringNotEquals":{"kms:WrappingAlgorithm":"RSA_AES_KEY_WRAP_SHA_256"}}}`,
		`{"Effect":"Deny","Principal":"*","Action":"kms:GetParametersForImport","Resource":"*","Condition":{"StringEquals":{"kms:WrappingKeySpec":"RSA_2048"}}}`,
		`{"Effect":"Deny","Principal":"*","Action":"kms:ImportKeyMaterial","Resource":"*","Condition":{"StringEquals":{"kms:ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE"}}}`,
		fmt.Sprintf(`{"Effect":"Deny","Principal":"*","Action":"kms:ImportKeyMaterial","Resource":"*","Condition":{"NumericGreaterThan":{"kms:ValidTo":"%d"}}}`, validLimit),
		`{"Effect":"Deny","Principal":"*","Action":"kms:DeleteImportedKeyMaterial","Resource":"*"}`)
	if _, err := env.KMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: m.KeyId, Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	deny := func(action string) string {
		return "User: arn:aws:iam::" + acct + ":root is not authorized to perform: " + action + " on resource: " + keyARN + " with an explicit deny in a resource-based policy"
	}
	gp := func(alg types.AlgorithmSpec, spec types.WrappingKeySpec) error {
		_, err := env.KMS.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: m.KeyId, WrappingAlgorithm: alg, WrappingKeySpec: spec}, sdkNoRetry)
		return err
	}
	authzDenied(t, "RSAES_OAEP_SHA_256", gp(types.AlgorithmSpecRsaesOaepSha256, types.WrappingKeySpecRsa3072), deny("kms:GetParametersForImport"))
	authzDenied(t, "RSA_2048", gp(types.AlgorithmSpecRsaAesKeyWrapSha256, types.WrappingKeySpecRsa2048), deny("kms:GetParametersForImport"))
	alg := types.AlgorithmSpecRsaAesKeyWrapSha256
	pub, tok := sdkImportParams(t, env, *m.KeyId, alg, types.WrappingKeySpecRsa3072)
	material := randomBytes(32)
	imp := func(model types.ExpirationModelType, validTo *time.Time) error {
		_, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, alg, material), ExpirationModel: model, ValidTo: validTo}, sdkNoRetry)
		return err
	}
	authzDenied(t, "KEY_MATERIAL_DOES_NOT_EXPIRE", imp(types.ExpirationModelTypeKeyMaterialDoesNotExpire, nil), deny("kms:ImportKeyMaterial"))
	authzDenied(t, "ValidTo 60 days ahead", imp("", aws.Time(env.Clock.Now().Add(60*sdkDay))), deny("kms:ImportKeyMaterial"))
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStatePendingImport {
		t.Fatalf("denied imports left the key %s", d.KeyState)
	}
	if err := imp(types.ExpirationModelTypeKeyMaterialExpires, aws.Time(env.Clock.Now().Add(20*sdkDay))); err != nil {
		t.Fatalf("an import the policy allows: %v", err)
	}
	_, err = env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: m.KeyId}, sdkNoRetry)
	authzDenied(t, "DeleteImportedKeyMaterial", err, deny("kms:DeleteImportedKeyMaterial"))
	if d := sdkDescribe(t, env.KMS, *m.KeyId); d.KeyState != types.KeyStateEnabled {
		t.Errorf("a denied DeleteImportedKeyMaterial left the key %s", d.KeyState)
	}
}

// TestSDKImportAsymmetric: imported private keys (DER PKCS #8) are the keys
// kagi uses: GetPublicKey is their public key, an RSA PKCS #1 v1.5 and an
// Ed25519 signature equal the local ones, ECDSA signatures verify locally,
// and an RSA ENCRYPT_DECRYPT key decrypts what its public key encrypted.
func TestSDKImportAsymmetric(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	msg := []byte("signed by an imported key")
	digest := sha256.Sum256(msg)
	rsaSign, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaEnc, _ := rsa.GenerateKey(rand.Reader, 3072)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	wrapAES := types.AlgorithmSpecRsaAesKeyWrapSha256

	for _, c := range []struct {
		spec  types.KeySpec
		usage types.KeyUsageType
		key   gocrypto.Signer
		alg   types.AlgorithmSpec
		wspec types.WrappingKeySpec
	}{
		{types.KeySpecRsa2048, types.KeyUsageTypeSignVerify, rsaSign, wrapAES, types.WrappingKeySpecRsa2048},
		{types.KeySpecRsa3072, types.KeyUsageTypeEncryptDecrypt, rsaEnc, types.AlgorithmSpecRsaAesKeyWrapSha1, types.WrappingKeySpecRsa3072},
		{types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify, p256, types.AlgorithmSpecRsaesOaepSha256, types.WrappingKeySpecRsa2048},
		{types.KeySpecEccNistP521, types.KeyUsageTypeKeyAgreement, p521, types.AlgorithmSpecRsaesOaepSha1, types.WrappingKeySpecRsa3072},
		{types.KeySpecEccNistEdwards25519, types.KeyUsageTypeSignVerify, ed, wrapAES, types.WrappingKeySpecRsa2048},
	} {
		der, err := x509.MarshalPKCS8PrivateKey(c.key)
		if err != nil {
			t.Fatal(err)
		}
		m := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: c.spec, KeyUsage: c.usage})
		if m.KeyState != types.KeyStatePendingImport {
			t.Fatalf("%s: new key %s", c.spec, m.KeyState)
		}
		_, err = env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: m.KeyId}, sdkNoRetry)
		sdkWantErr(t, string(c.spec)+": GetPublicKey before import", err, "KMSInvalidStateException")
		pub, tok := sdkImportParams(t, env, *m.KeyId, c.alg, c.wspec)
		// Another key of the same spec is refused after the first import;
		// the same key is taken again.
		if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, c.alg, der), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
			t.Fatalf("%s: ImportKeyMaterial: %v", c.spec, err)
		}
		out, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: m.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := x509.MarshalPKIXPublicKey(c.key.Public())
		if !bytes.Equal(out.PublicKey, want) {
			t.Errorf("%s: GetPublicKey is not the imported key's public key", c.spec)
		}
		switch c.spec {
		case types.KeySpecRsa2048:
			sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256})
			if err != nil {
				t.Fatal(err)
			}
			local, _ := rsa.SignPKCS1v15(nil, rsaSign, gocrypto.SHA256, digest[:])
			if !bytes.Equal(sig.Signature, local) {
				t.Error("RSA_2048: kagi's PKCS #1 v1.5 signature differs from the imported key's")
			}
		case types.KeySpecRsa3072:
			ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &rsaEnc.PublicKey, []byte("to the imported key"), nil)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: m.KeyId, CiphertextBlob: ct, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
			if err != nil || string(dec.Plaintext) != "to the imported key" {
				t.Errorf("RSA_3072: Decrypt of a local ciphertext: %v", err)
			}
		case types.KeySpecEccNistP256:
			sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
			if err != nil {
				t.Fatal(err)
			}
			if !ecdsa.VerifyASN1(&p256.PublicKey, digest[:], sig.Signature) {
				t.Error("P-256: kagi's signature does not verify with the imported key's public key")
			}
		case types.KeySpecEccNistP521:
			peer, _ := ecdh.P521().GenerateKey(rand.Reader)
			peerDER, _ := x509.MarshalPKIXPublicKey(peer.PublicKey())
			out, err := env.KMS.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: m.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: peerDER})
			if err != nil {
				t.Fatal(err)
			}
			mine, _ := p521.ECDH()
			local, _ := peer.ECDH(mine.PublicKey())
			if !bytes.Equal(out.SharedSecret, local) || out.KeyOrigin != types.OriginTypeExternal {
				t.Errorf("P-521: shared secret differs from the imported key's (KeyOrigin %s)", out.KeyOrigin)
			}
		case types.KeySpecEccNistEdwards25519:
			sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sig.Signature, ed25519.Sign(ed, msg)) {
				t.Error("Ed25519: kagi's signature differs from the imported key's")
			}
		}
		other, _ := x509.MarshalPKCS8PrivateKey(c.key) // re-encoded: the same key
		pub, tok = sdkImportParams(t, env, *m.KeyId, c.alg, c.wspec)
		if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, c.alg, other), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
			t.Errorf("%s: re-import of the same key: %v", c.spec, err)
		}
	}

	// What AWS refuses: RSA keys wrapped without AES, P-521 under RSA_2048
	// with OAEP, other keys after the first import, garbage.
	rk := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	_, err := env.KMS.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: rk.KeyId, WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: types.WrappingKeySpecRsa4096}, sdkNoRetry)
	sdkWantErr(t, "RSA key material with RSAES_OAEP", err, "ValidationException")
	ek := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecEccNistP521, KeyUsage: types.KeyUsageTypeSignVerify})
	_, err = env.KMS.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: ek.KeyId, WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha1, WrappingKeySpec: types.WrappingKeySpecRsa2048}, sdkNoRetry)
	sdkWantErr(t, "P-521 under RSA_2048 with RSAES_OAEP", err, "ValidationException")
	pub, tok := sdkImportParams(t, env, *rk.KeyId, wrapAES, types.WrappingKeySpecRsa2048)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa3072, _ := x509.MarshalPKCS8PrivateKey(rsaEnc)
	p256DER, _ := x509.MarshalPKCS8PrivateKey(p256)
	firstDER, _ := x509.MarshalPKCS8PrivateKey(rsaSign)
	otherDER, _ := x509.MarshalPKCS8PrivateKey(otherRSA)
	imp := func(der []byte) error {
		_, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: rk.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: sdkWrap(t, pub, wrapAES, der), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}, sdkNoRetry)
		return err
	}
	sdkWantErr(t, "an RSA_3072 key into RSA_2048", imp(rsa3072), "IncorrectKeyMaterialException")
	sdkWantErr(t, "a P-256 key into RSA_2048", imp(p256DER), "IncorrectKeyMaterialException")
	sdkWantErr(t, "not DER", imp(randomBytes(300)), "IncorrectKeyMaterialException")
	if err := imp(firstDER); err != nil {
		t.Fatal(err)
	}
	sdkWantErr(t, "another RSA_2048 key after the first", imp(otherDER), "IncorrectKeyMaterialException")
	if _, err := env.KMS.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: rk.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.Sign(ctx, &kms.SignInput{KeyId: rk.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256}, sdkNoRetry)
	sdkWantErr(t, "Sign after DeleteImportedKeyMaterial", err, "KMSInvalidStateException")
	sdkWantErr(t, "another key after deletion", imp(otherDER), "IncorrectKeyMaterialException")
	if err := imp(firstDER); err != nil {
		t.Fatalf("re-import after deletion: %v", err)
	}
	if _, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: rk.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256}); err != nil {
		t.Errorf("Sign after re-import: %v", err)
	}
}
