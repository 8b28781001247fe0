//go:debug fips140=on

// Package fips checks kagi in FIPS mode: this test binary runs with Go's
// FIPS 140-3 module in FIPS 140-3 mode (the //go:debug line above), so the
// server it starts with servertest, and the SDK client that drives it, run
// as `GODEBUG=fips140=on kagi serve` does. The tests of the kagi binary
// set GODEBUG themselves.
package fips

import (
	"bytes"
	"context"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/version"
)

// TestFIPSModeIsOn: without it every other test here proves nothing.
func TestFIPSModeIsOn(t *testing.T) {
	if !fips140.Enabled() || !crypto.FIPSMode() {
		t.Fatal("Go's FIPS 140-3 mode is off: the //go:debug fips140=on directive did not apply")
	}
	if fips140.Enforced() {
		t.Fatal("fips140=only: this package tests fips140=on")
	}
	if got := version.FIPS(); !strings.HasPrefix(got, "FIPS 140-3 mode: on; Go Cryptographic Module ") {
		t.Errorf("version.FIPS() = %q", got)
	}
}

// wantFIPSRefusal checks that err is the UnsupportedOperationException
// FIPS mode gives, with a message that names FIPS mode.
func wantFIPSRefusal(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v, want UnsupportedOperationException", what, err)
		return
	}
	if ae.ErrorCode() != "UnsupportedOperationException" || !strings.Contains(ae.ErrorMessage(), "FIPS mode") {
		t.Errorf("%s: %s: %s, want UnsupportedOperationException naming FIPS mode", what, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func createKey(t *testing.T, c *kms.Client, spec types.KeySpec, usage types.KeyUsageType) string {
	t.Helper()
	out := must[*kms.CreateKeyOutput](t, "CreateKey "+string(spec))(c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage}))
	return *out.KeyMetadata.KeyId
}

// TestFIPSAllowedEndToEnd: the key types inside Go's module work in FIPS
// mode through the SDK, each checked by its round trip or by verifying
// with Go's own implementation.
func TestFIPSAllowedEndToEnd(t *testing.T) {
	ctx := context.Background()
	e := servertest.Start(t)
	c := e.KMS

	t.Run("symmetric", func(t *testing.T) {
		id := createKey(t, c, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
		pt := []byte("fips plaintext")
		enc := must[*kms.EncryptOutput](t, "Encrypt")(c.Encrypt(ctx, &kms.EncryptInput{KeyId: &id, Plaintext: pt,
			EncryptionContext: map[string]string{"k": "v"}}))
		dec := must[*kms.DecryptOutput](t, "Decrypt")(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob,
			EncryptionContext: map[string]string{"k": "v"}}))
		if !bytes.Equal(dec.Plaintext, pt) {
			t.Errorf("Decrypt = %q, want %q", dec.Plaintext, pt)
		}
		dk := must[*kms.GenerateDataKeyOutput](t, "GenerateDataKey")(c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: &id, KeySpec: types.DataKeySpecAes256}))
		dec = must[*kms.DecryptOutput](t, "Decrypt data key")(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob}))
		if !bytes.Equal(dec.Plaintext, dk.Plaintext) || len(dk.Plaintext) != 32 {
			t.Error("data key does not decrypt to itself")
		}
	})

	t.Run("RSA OAEP SHA-256 and PSS", func(t *testing.T) {
		id := createKey(t, c, types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt)
		pub := must[*kms.GetPublicKeyOutput](t, "GetPublicKey")(c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &id}))
		pk := must[any](t, "parse SPKI")(x509.ParsePKIXPublicKey(pub.PublicKey)).(*rsa.PublicKey)
		ct := must[[]byte](t, "EncryptOAEP")(rsa.EncryptOAEP(sha256.New(), rand.Reader, pk, []byte("rsa pt"), nil))
		dec := must[*kms.DecryptOutput](t, "Decrypt OAEP")(c.Decrypt(ctx, &kms.DecryptInput{KeyId: &id, CiphertextBlob: ct,
			EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256}))
		if string(dec.Plaintext) != "rsa pt" {
			t.Errorf("Decrypt OAEP = %q", dec.Plaintext)
		}
		// RSAES_OAEP_SHA_1 is outside the module's approved services.
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: &id, Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
		wantFIPSRefusal(t, "Encrypt RSAES_OAEP_SHA_1", err)
		_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: &id, CiphertextBlob: ct, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
		wantFIPSRefusal(t, "Decrypt RSAES_OAEP_SHA_1", err)

		sid := createKey(t, c, types.KeySpecRsa3072, types.KeyUsageTypeSignVerify)
		sig := must[*kms.SignOutput](t, "Sign PSS")(c.Sign(ctx, &kms.SignInput{KeyId: &sid, Message: []byte("m"),
			SigningAlgorithm: types.SigningAlgorithmSpecRsassaPssSha256}))
		spub := must[*kms.GetPublicKeyOutput](t, "GetPublicKey")(c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &sid}))
		spk := must[any](t, "parse SPKI")(x509.ParsePKIXPublicKey(spub.PublicKey)).(*rsa.PublicKey)
		d := sha256.Sum256([]byte("m"))
		if err := rsa.VerifyPSS(spk, 5 /* crypto.SHA256 */, d[:], sig.Signature, nil); err != nil {
			t.Errorf("PSS signature does not verify with crypto/rsa: %v", err)
		}
	})

	t.Run("ECDSA P-256, Ed25519", func(t *testing.T) {
		for _, tc := range []struct {
			spec types.KeySpec
			alg  types.SigningAlgorithmSpec
		}{
			{types.KeySpecEccNistP256, types.SigningAlgorithmSpecEcdsaSha256},
			{types.KeySpecEccNistP521, types.SigningAlgorithmSpecEcdsaSha512},
			{types.KeySpecEccNistEdwards25519, types.SigningAlgorithmSpecEd25519Sha512},
		} {
			id := createKey(t, c, tc.spec, types.KeyUsageTypeSignVerify)
			sig := must[*kms.SignOutput](t, "Sign "+string(tc.spec))(c.Sign(ctx, &kms.SignInput{KeyId: &id, Message: []byte("m"), SigningAlgorithm: tc.alg}))
			v := must[*kms.VerifyOutput](t, "Verify "+string(tc.spec))(c.Verify(ctx, &kms.VerifyInput{KeyId: &id, Message: []byte("m"), Signature: sig.Signature, SigningAlgorithm: tc.alg}))
			if !v.SignatureValid {
				t.Errorf("%s: signature not valid", tc.spec)
			}
		}
	})

	t.Run("HMAC", func(t *testing.T) {
		id := createKey(t, c, types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac)
		m := must[*kms.GenerateMacOutput](t, "GenerateMac")(c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: &id, Message: []byte("m"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256}))
		v := must[*kms.VerifyMacOutput](t, "VerifyMac")(c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: &id, Message: []byte("m"), Mac: m.Mac, MacAlgorithm: types.MacAlgorithmSpecHmacSha256}))
		if !v.MacValid {
			t.Error("MAC not valid")
		}
	})

	t.Run("ML-KEM-768", func(t *testing.T) {
		id := createKey(t, c, types.KeySpecMlKem768, types.KeyUsageTypeEncapsulateDecapsulate)
		enc := must[*kms.EncapsulateOutput](t, "Encapsulate")(c.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: &id, EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem}))
		dec := must[*kms.DecapsulateOutput](t, "Decapsulate")(c.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: &id, SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob, EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem}))
		if !bytes.Equal(enc.SharedSecret, dec.SharedSecret) || len(dec.SharedSecret) != 32 {
			t.Error("Decapsulate does not give Encapsulate's shared secret")
		}
	})

	t.Run("GenerateDataKeyPair P-384", func(t *testing.T) {
		id := createKey(t, c, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
		kp := must[*kms.GenerateDataKeyPairOutput](t, "GenerateDataKeyPair")(c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: &id, KeyPairSpec: types.DataKeyPairSpecEccNistP384}))
		if _, err := x509.ParsePKCS8PrivateKey(kp.PrivateKeyPlaintext); err != nil {
			t.Errorf("private key: %v", err)
		}
		_, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: &id, KeyPairSpec: types.DataKeyPairSpecEccSecgP256k1})
		wantFIPSRefusal(t, "GenerateDataKeyPair ECC_SECG_P256K1", err)
	})

	t.Run("import with RSAES_OAEP_SHA_256", func(t *testing.T) {
		out := must[*kms.CreateKeyOutput](t, "CreateKey EXTERNAL")(c.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternal}))
		id := *out.KeyMetadata.KeyId
		for _, alg := range []types.AlgorithmSpec{types.AlgorithmSpecRsaesOaepSha1, types.AlgorithmSpecRsaAesKeyWrapSha1, types.AlgorithmSpecRsaAesKeyWrapSha256} {
			_, err := c.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: &id, WrappingAlgorithm: alg, WrappingKeySpec: types.WrappingKeySpecRsa3072})
			wantFIPSRefusal(t, "GetParametersForImport "+string(alg), err)
		}
		p := must[*kms.GetParametersForImportOutput](t, "GetParametersForImport")(c.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: &id,
			WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: types.WrappingKeySpecRsa3072}))
		wk := must[any](t, "parse wrapping key")(x509.ParsePKIXPublicKey(p.PublicKey)).(*rsa.PublicKey)
		material := make([]byte, 32)
		rand.Read(material)
		wrapped := must[[]byte](t, "wrap")(rsa.EncryptOAEP(sha256.New(), rand.Reader, wk, material, nil))
		must[*kms.ImportKeyMaterialOutput](t, "ImportKeyMaterial")(c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: &id, ImportToken: p.ImportToken,
			EncryptedKeyMaterial: wrapped, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}))
		enc := must[*kms.EncryptOutput](t, "Encrypt with imported key")(c.Encrypt(ctx, &kms.EncryptInput{KeyId: &id, Plaintext: []byte("x")}))
		must[*kms.DecryptOutput](t, "Decrypt with imported key")(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}))
	})
}

// TestFIPSRefusedKeySpecs: CreateKey of a key spec outside Go's module.
func TestFIPSRefusedKeySpecs(t *testing.T) {
	c := servertest.Start(t).KMS
	before := must[*kms.ListKeysOutput](t, "ListKeys")(c.ListKeys(context.Background(), &kms.ListKeysInput{}))
	for _, tc := range []struct {
		spec  types.KeySpec
		usage types.KeyUsageType
	}{
		{types.KeySpecEccSecgP256k1, types.KeyUsageTypeSignVerify},
		{types.KeySpecMlDsa44, types.KeyUsageTypeSignVerify},
		{types.KeySpecMlDsa65, types.KeyUsageTypeSignVerify},
		{types.KeySpecMlDsa87, types.KeyUsageTypeSignVerify},
		{types.KeySpecMlKem512, types.KeyUsageTypeEncapsulateDecapsulate},
	} {
		_, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: tc.spec, KeyUsage: tc.usage})
		wantFIPSRefusal(t, "CreateKey "+string(tc.spec), err)
		if err != nil && !strings.Contains(err.Error(), string(tc.spec)) {
			t.Errorf("CreateKey %s: message does not name the key spec: %v", tc.spec, err)
		}
	}
	after := must[*kms.ListKeysOutput](t, "ListKeys")(c.ListKeys(context.Background(), &kms.ListKeysInput{}))
	if len(after.Keys) != len(before.Keys) {
		t.Errorf("refused CreateKey calls made keys: %d before, %d after", len(before.Keys), len(after.Keys))
	}
}

// TestFIPSTLS: in FIPS mode Go's crypto/tls keeps only approved versions,
// suites and groups; the hybrid X25519MLKEM768 is one of them (ML-KEM-768
// is approved, X25519 is the other half of the hybrid), so TLS 1.3 still
// negotiates it first.
func TestFIPSTLS(t *testing.T) {
	e := servertest.Start(t)
	pem := must[[]byte](t, "read CA")(os.ReadFile(filepath.Join(e.DataDir, server.TLSDir, "ca.pem")))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	addr := strings.TrimPrefix(e.Server.URL, "https://")
	conn := must[*tls.Conn](t, "dial")(tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	st := conn.ConnectionState()
	conn.Close()
	if st.Version != tls.VersionTLS13 || st.CurveID != tls.X25519MLKEM768 {
		t.Errorf("negotiated %s with %s, want TLS 1.3 with X25519MLKEM768", tls.VersionName(st.Version), st.CurveID)
	}
	// openssl, a client outside Go's FIPS mode, offers what the server
	// must now refuse: X25519 alone (not approved by itself) and the
	// ChaCha20-Poly1305 suites (not approved; kagi offers them outside
	// FIPS mode). P-256 and AES-GCM still work.
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-tls1_3", "-groups", "X25519"}, false},
		{[]string{"-tls1_3", "-groups", "P-256"}, true},
		{[]string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}, false},
		{[]string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, false},
		{[]string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, true},
	} {
		if got := opensslHandshake(t, addr, tc.args...); got != tc.ok {
			t.Errorf("openssl s_client %v: handshake %v, want %v", tc.args, got, tc.ok)
		}
	}
}

// opensslHandshake reports whether openssl s_client with args completes a
// TLS handshake with addr.
func opensslHandshake(t *testing.T, addr string, args ...string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", addr, "-brief"}, args...)...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("openssl s_client %v timed out:\n%s", args, out)
	}
	ok := err == nil && bytes.Contains(out, []byte("CONNECTION ESTABLISHED"))
	t.Logf("openssl s_client %v: established %v\n%s", args, ok, out)
	return ok
}
