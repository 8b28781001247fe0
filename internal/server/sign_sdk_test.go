package server_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// sdkSigningKeys are the SIGN_VERIFY key specs with their algorithms.
var sdkSigningKeys = map[types.KeySpec][]types.SigningAlgorithmSpec{
	types.KeySpecRsa2048:             sdkRSAAlgs,
	types.KeySpecRsa3072:             sdkRSAAlgs,
	types.KeySpecRsa4096:             sdkRSAAlgs,
	types.KeySpecEccNistP256:         {"ECDSA_SHA_256"},
	types.KeySpecEccNistP384:         {"ECDSA_SHA_384"},
	types.KeySpecEccNistP521:         {"ECDSA_SHA_512"},
	types.KeySpecEccSecgP256k1:       {"ECDSA_SHA_256"},
	types.KeySpecEccNistEdwards25519: {"ED25519_SHA_512", "ED25519_PH_SHA_512"},
	types.KeySpecMlDsa44:             {"ML_DSA_SHAKE_256"},
	types.KeySpecMlDsa65:             {"ML_DSA_SHAKE_256"},
	types.KeySpecMlDsa87:             {"ML_DSA_SHAKE_256"},
}

var sdkRSAAlgs = []types.SigningAlgorithmSpec{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
	"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"}

// sdkHash is the hash of a signing algorithm (0 for ML-DSA and pure Ed25519).
func sdkHash(alg types.SigningAlgorithmSpec) crypto.Hash {
	switch {
	case alg == "ED25519_SHA_512" || alg == "ML_DSA_SHAKE_256":
		return 0
	case strings.HasSuffix(string(alg), "_256"):
		return crypto.SHA256
	case strings.HasSuffix(string(alg), "_384"):
		return crypto.SHA384
	}
	return crypto.SHA512
}

func sdkDigest(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	}
	d := sha512.Sum512(msg)
	return d[:]
}

// sdkSignatureSizes are the fixed signature lengths AWS documents.
var sdkSignatureSizes = map[types.KeySpec]int{
	types.KeySpecRsa2048: 256, types.KeySpecRsa3072: 384, types.KeySpecRsa4096: 512, types.KeySpecEccNistEdwards25519: 64,
	types.KeySpecMlDsa44: 2420, types.KeySpecMlDsa65: 3309, types.KeySpecMlDsa87: 4627,
}

// sdkStdVerify verifies a signature with the Go standard library alone
// where it can (RSA, NIST ECDSA, Ed25519/Ed25519ph), from GetPublicKey's
// DER; it reports whether it could.
func sdkStdVerify(t *testing.T, der []byte, alg types.SigningAlgorithmSpec, digest, msg, sig []byte) bool {
	t.Helper()
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return false // secp256k1, ML-DSA: see the independent checks in interop_test.go
	}
	var verr error
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if strings.HasPrefix(string(alg), "RSASSA_PSS") {
			verr = rsa.VerifyPSS(k, sdkHash(alg), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			verr = rsa.VerifyPKCS1v15(k, sdkHash(alg), digest, sig)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			verr = errors.New("ECDSA signature does not verify")
		}
	case ed25519.PublicKey:
		if alg == "ED25519_PH_SHA_512" {
			verr = ed25519.VerifyWithOptions(k, digest, sig, &ed25519.Options{Hash: crypto.SHA512})
		} else if !ed25519.Verify(k, msg, sig) {
			verr = errors.New("Ed25519 signature does not verify")
		}
	}
	if verr != nil {
		t.Errorf("%s: the standard library does not verify kagi's signature: %v", alg, verr)
	}
	return true
}

// TestSDKSignVerifyEveryAlgorithm signs with every algorithm of every
// signing key spec, as a RAW message and as a DIGEST where the algorithm
// takes one (and as an ML-DSA external μ), verifies through Verify and,
// where it can, with the standard library; a changed signature or message
// is a KMSInvalidSignatureException.
func TestSDKSignVerifyEveryAlgorithm(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	msg := []byte("kagi signs this message")
	for spec, algs := range sdkSigningKeys {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeSignVerify})
		pub, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range algs {
			h := sdkHash(alg)
			type input struct {
				mt  types.MessageType
				msg []byte
			}
			var inputs []input
			switch alg {
			case "ED25519_SHA_512":
				inputs = []input{{types.MessageTypeRaw, msg}}
			case "ED25519_PH_SHA_512":
				inputs = []input{{types.MessageTypeDigest, sdkDigest(h, msg)}}
			case "ML_DSA_SHAKE_256":
				inputs = []input{{types.MessageTypeRaw, msg}, {"", msg}}
			default:
				inputs = []input{{types.MessageTypeRaw, msg}, {"", msg}, {types.MessageTypeDigest, sdkDigest(h, msg)}}
			}
			for _, in := range inputs {
				what := string(spec) + " " + string(alg) + " " + string(in.mt)
				out, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: k.KeyId, Message: in.msg, MessageType: in.mt, SigningAlgorithm: alg})
				if err != nil {
					t.Fatalf("%s: Sign: %v", what, err)
				}
				if aws.ToString(out.KeyId) != *k.Arn || out.SigningAlgorithm != alg {
					t.Errorf("%s: Sign answered key %s algorithm %s", what, aws.ToString(out.KeyId), out.SigningAlgorithm)
				}
				if n, ok := sdkSignatureSizes[spec]; ok && len(out.Signature) != n {
					t.Errorf("%s: signature is %d bytes, AWS's are %d", what, len(out.Signature), n)
				}
				var digest []byte
				if h != 0 {
					digest = sdkDigest(h, msg)
				}
				sdkStdVerify(t, pub.PublicKey, alg, digest, msg, out.Signature)
				// Verify takes the same message in either form that hashes alike.
				vins := []input{in}
				if h != 0 && alg != "ED25519_PH_SHA_512" {
					vins = []input{{types.MessageTypeRaw, msg}, {types.MessageTypeDigest, digest}}
				}
				for _, vin := range vins {
					v, err := env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: k.KeyId, Message: vin.msg, MessageType: vin.mt, Signature: out.Signature, SigningAlgorithm: alg})
					if err != nil || !v.SignatureValid || aws.ToString(v.KeyId) != *k.Arn || v.SigningAlgorithm != alg {
						t.Errorf("%s: Verify as %s: %+v, %v", what, vin.mt, v, err)
					}
				}
				bad := append([]byte(nil), out.Signature...)
				bad[len(bad)/2] ^= 0x40
				_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: k.KeyId, Message: in.msg, MessageType: in.mt, Signature: bad, SigningAlgorithm: alg}, sdkNoRetry)
				sdkWantErr(t, what+": Verify of a changed signature", err, "KMSInvalidSignatureException")
				var ise *types.KMSInvalidSignatureException
				if err != nil && !errors.As(err, &ise) {
					t.Errorf("%s: %T, want *types.KMSInvalidSignatureException", what, err)
				}
				other := append([]byte(nil), in.msg...)
				other[0] ^= 1
				_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: k.KeyId, Message: other, MessageType: in.mt, Signature: out.Signature, SigningAlgorithm: alg}, sdkNoRetry)
				sdkWantErr(t, what+": Verify of another message", err, "KMSInvalidSignatureException")
			}
		}
	}
}

// TestSDKSignVerifyErrors: AWS's refusals of Sign and Verify, with AWS's
// messages where they are known, and the key-state rules.
func TestSDKSignVerifyErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	create := func(spec types.KeySpec, usage types.KeyUsageType) *types.KeyMetadata {
		return sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	}
	ec := create(types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	ed := create(types.KeySpecEccNistEdwards25519, types.KeyUsageTypeSignVerify)
	ml := create(types.KeySpecMlDsa44, types.KeyUsageTypeSignVerify)
	rsaKey := create(types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	sym := sdkCreateKey(t, env.KMS, nil)
	hmacKey := create(types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac)
	agree := create(types.KeySpecEccNistP256, types.KeyUsageTypeKeyAgreement)
	rsaEnc := create(types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt)
	d32 := make([]byte, 32)
	d64 := make([]byte, 64)
	cases := []struct {
		name       string
		key        *types.KeyMetadata
		alg        types.SigningAlgorithmSpec
		mt         types.MessageType
		msg        []byte
		code, text string // text: the message, when AWS's is known ("" to skip)
	}{
		{"symmetric key", sym, "ECDSA_SHA_256", "", []byte("m"), "InvalidKeyUsageException", *sym.Arn + " key usage is ENCRYPT_DECRYPT which is not valid for %s."},
		{"HMAC key", hmacKey, "ECDSA_SHA_256", "", []byte("m"), "InvalidKeyUsageException", *hmacKey.Arn + " key usage is GENERATE_VERIFY_MAC which is not valid for %s."},
		{"key agreement key", agree, "ECDSA_SHA_256", "", []byte("m"), "InvalidKeyUsageException", *agree.Arn + " key usage is KEY_AGREEMENT which is not valid for %s."},
		{"RSA encryption key", rsaEnc, "RSASSA_PSS_SHA_256", "", []byte("m"), "InvalidKeyUsageException", ""},
		{"ECDSA_SHA_384 with P-256", ec, "ECDSA_SHA_384", "", []byte("m"), "InvalidKeyUsageException", "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."},
		{"RSA algorithm with P-256", ec, "RSASSA_PSS_SHA_256", "", []byte("m"), "InvalidKeyUsageException", "Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256."},
		{"ECDSA with Ed25519", ed, "ECDSA_SHA_512", "RAW", []byte("m"), "InvalidKeyUsageException", "Algorithm ECDSA_SHA_512 is incompatible with key spec ECC_NIST_EDWARDS25519."},
		{"SM2DSA with RSA", rsaKey, "SM2DSA", "", []byte("m"), "InvalidKeyUsageException", "Algorithm SM2DSA is incompatible with key spec RSA_2048."},
		{"ML-DSA DIGEST", ml, "ML_DSA_SHAKE_256", "DIGEST", d64, "ValidationException", "Message type DIGEST is incompatible with key spec ML_DSA_44."},
		{"ML-DSA short μ", ml, "ML_DSA_SHAKE_256", "EXTERNAL_MU", d32, "ValidationException", "External Mu is invalid length for algorithm ML_DSA_SHAKE_256."},
		{"Ed25519 DIGEST", ed, "ED25519_SHA_512", "DIGEST", d64, "ValidationException", "Message type DIGEST is incompatible with algorithm ED25519_SHA_512."},
		{"Ed25519ph RAW", ed, "ED25519_PH_SHA_512", "RAW", []byte("m"), "ValidationException", "Message type RAW is incompatible with algorithm ED25519_PH_SHA_512."},
		{"Ed25519ph short digest", ed, "ED25519_PH_SHA_512", "DIGEST", d32, "ValidationException", "Digest is invalid length for algorithm ED25519_PH_SHA_512."},
		{"ECDSA short digest", ec, "ECDSA_SHA_256", "DIGEST", d32[:31], "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256."},
		{"RSA SHA-512 with a 32-byte digest", rsaKey, "RSASSA_PKCS1_V1_5_SHA_512", "DIGEST", d32, "ValidationException", "Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_512."},
		{"EXTERNAL_MU with ECDSA", ec, "ECDSA_SHA_256", "EXTERNAL_MU", d64, "ValidationException", "Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P256."},
		{"4097-byte message", ec, "ECDSA_SHA_256", "", make([]byte, 4097), "ValidationException", "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=4097 cap=4097]' at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096"},
		{"unknown algorithm", ec, "ECDSA_SHA_1", "", []byte("m"), "ValidationException", ""},
		{"unknown message type", ec, "ECDSA_SHA_256", "HASH", []byte("m"), "ValidationException", ""},
	}
	for _, c := range cases {
		for _, op := range []string{"Sign", "Verify"} {
			var err error
			if op == "Sign" {
				_, err = env.KMS.Sign(ctx, &kms.SignInput{KeyId: c.key.KeyId, Message: c.msg, MessageType: c.mt, SigningAlgorithm: c.alg}, sdkNoRetry)
			} else {
				_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: c.key.KeyId, Message: c.msg, MessageType: c.mt, Signature: d64, SigningAlgorithm: c.alg}, sdkNoRetry)
			}
			sdkWantErr(t, op+" "+c.name, err, c.code)
			var ae smithy.APIError
			want := strings.ReplaceAll(c.text, "%s", op)
			if c.text != "" && errors.As(err, &ae) && ae.ErrorMessage() != want {
				t.Errorf("%s %s: message %q, want %q", op, c.name, ae.ErrorMessage(), want)
			}
		}
	}

	// Verify's own members.
	_, err := env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: ec.KeyId, Message: []byte("m"), Signature: make([]byte, 6145), SigningAlgorithm: "ECDSA_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "Verify with a 6145-byte signature", err, "ValidationException")
	// Members the SDK itself insists on, sent raw.
	w := newSDKWire(t, env)
	for _, c := range []struct{ op, body string }{
		{"Sign", `{"KeyId":"` + *ec.KeyId + `","Message":"bQ=="}`},
		{"Sign", `{"KeyId":"` + *ec.KeyId + `","SigningAlgorithm":"ECDSA_SHA_256"}`},
		{"Sign", `{"Message":"bQ==","SigningAlgorithm":"ECDSA_SHA_256"}`},
		{"Verify", `{"KeyId":"` + *ec.KeyId + `","Message":"bQ==","SigningAlgorithm":"ECDSA_SHA_256"}`},
		{"Verify", `{"KeyId":"` + *ec.KeyId + `","Message":"","Signature":"bQ==","SigningAlgorithm":"ECDSA_SHA_256"}`},
	} {
		w.checkError(c.op+" "+c.body, w.do(w.root(sdkWireReq{target: "TrentService." + c.op, body: c.body})), "ValidationException")
	}
	if r := w.do(w.root(sdkWireReq{target: "TrentService.Sign", body: `{"KeyId":"` + *ec.KeyId + `","Message":"bQ=="}`})); !strings.Contains(string(r.body),
		"Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null") {
		t.Errorf("Sign without SigningAlgorithm: %s", r.body)
	}
	for _, junk := range [][]byte{{0}, []byte("not DER"), make([]byte, 72), append([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, 0)} {
		_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: ec.KeyId, Message: []byte("m"), Signature: junk, SigningAlgorithm: "ECDSA_SHA_256"}, sdkNoRetry)
		sdkWantErr(t, "Verify of junk", err, "KMSInvalidSignatureException")
	}
	// A 64-byte μ with a junk signature is a failed verification.
	_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: ml.KeyId, Message: d64, MessageType: "EXTERNAL_MU", Signature: make([]byte, 2420), SigningAlgorithm: "ML_DSA_SHAKE_256"}, sdkNoRetry)
	sdkWantErr(t, "Verify of a zero signature over μ", err, "KMSInvalidSignatureException")

	// Identifiers, grant tokens, DryRun.
	sdkCreateAlias(t, env.KMS, "alias/signer", *ec.KeyId)
	for _, id := range []string{"alias/signer", sdkAliasARN(servertest.Region, "alias/signer"), *ec.Arn} {
		out, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: aws.String(id), Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"})
		if err != nil || aws.ToString(out.KeyId) != *ec.Arn {
			t.Errorf("Sign by %s: %v", id, err)
		}
	}
	_, err = env.KMS.Sign(ctx, &kms.SignInput{KeyId: aws.String("alias/none"), Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "Sign with an unknown alias", err, "NotFoundException")
	_, err = env.KMS.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256", GrantTokens: []string{"forged"}}, sdkNoRetry)
	sdkWantErr(t, "Sign with a forged grant token", err, "InvalidGrantTokenException")
	_, err = env.KMS.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256", DryRun: aws.Bool(true)}, sdkNoRetry)
	sdkWantDryRun(t, "Sign DryRun", err)
	sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: ec.KeyId, Message: []byte("m"), Signature: sig.Signature, SigningAlgorithm: "ECDSA_SHA_256", DryRun: aws.Bool(true)}, sdkNoRetry)
	sdkWantDryRun(t, "Verify DryRun", err)
	// DryRun of a request that would fail answers its real error.
	_, err = env.KMS.Sign(ctx, &kms.SignInput{KeyId: sym.KeyId, Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256", DryRun: aws.Bool(true)}, sdkNoRetry)
	sdkWantErr(t, "Sign DryRun with a symmetric key", err, "InvalidKeyUsageException")

	// Key states.
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: ec.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "Sign with a disabled key", err, "DisabledException")
	_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: ec.KeyId, Message: []byte("m"), Signature: sig.Signature, SigningAlgorithm: "ECDSA_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "Verify with a disabled key", err, "DisabledException")
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: ec.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.Sign(ctx, &kms.SignInput{KeyId: ec.KeyId, Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "Sign with a key pending deletion", err, "KMSInvalidStateException")
	_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: ec.KeyId, Message: []byte("m"), Signature: sig.Signature, SigningAlgorithm: "ECDSA_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "Verify with a key pending deletion", err, "KMSInvalidStateException")

	// A signature made before a restart verifies after it.
	out, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: ed.KeyId, Message: []byte("m"), SigningAlgorithm: "ED25519_SHA_512"})
	if err != nil {
		t.Fatal(err)
	}
	env.Restart(t)
	if _, err := env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: ed.KeyId, Message: []byte("m"), Signature: out.Signature, SigningAlgorithm: "ED25519_SHA_512"}); err != nil {
		t.Errorf("Verify after a restart: %v", err)
	}
}

// sdkWantDryRun checks for DryRunOperationException (HTTP 412).
func sdkWantDryRun(t *testing.T, what string, err error) {
	t.Helper()
	if sdkErrCode(err) != "DryRunOperationException" || sdkStatus(err) != 412 {
		t.Errorf("%s: %v (status %d), want DryRunOperationException", what, err, sdkStatus(err))
	}
}

// TestAuthzSigningConditions: kms:SigningAlgorithm and kms:MessageType in
// an identity policy decide Sign and Verify; a grant for Sign allows Sign
// only.
func TestAuthzSigningConditions(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	root := rootIAMCaller(t, env)
	ctx := t.Context()
	key := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	user, userARN := authzUser(t, env, root, servertest.AccountID, "pss-digest-only", authzPolicy(
		`{"Effect":"Allow","Action":["kms:Sign","kms:Verify"],"Resource":"*","Condition":{"StringEquals":{"kms:SigningAlgorithm":"RSASSA_PSS_SHA_256","kms:MessageType":"DIGEST"}}}`))
	d := sdkDigest(crypto.SHA256, []byte("m"))
	sig, err := user.Sign(ctx, &kms.SignInput{KeyId: key.KeyId, Message: d, MessageType: types.MessageTypeDigest, SigningAlgorithm: "RSASSA_PSS_SHA_256"})
	if err != nil {
		t.Fatalf("Sign as the policy allows: %v", err)
	}
	if _, err := user.Verify(ctx, &kms.VerifyInput{KeyId: key.KeyId, Message: d, MessageType: types.MessageTypeDigest, Signature: sig.Signature, SigningAlgorithm: "RSASSA_PSS_SHA_256"}); err != nil {
		t.Fatalf("Verify as the policy allows: %v", err)
	}
	deny := func(action string) string {
		return "User: " + userARN + " is not authorized to perform: " + action + " on resource: " + *key.Arn + " because no identity-based policy allows the " + action + " action"
	}
	_, err = user.Sign(ctx, &kms.SignInput{KeyId: key.KeyId, Message: []byte("m"), SigningAlgorithm: "RSASSA_PSS_SHA_256"})
	authzDenied(t, "Sign of a RAW message", err, deny("kms:Sign"))
	_, err = user.Sign(ctx, &kms.SignInput{KeyId: key.KeyId, Message: d, MessageType: types.MessageTypeDigest, SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256"})
	authzDenied(t, "Sign with PKCS #1 v1.5", err, deny("kms:Sign"))
	_, err = user.Verify(ctx, &kms.VerifyInput{KeyId: key.KeyId, Message: []byte("m"), Signature: sig.Signature, SigningAlgorithm: "RSASSA_PSS_SHA_256"})
	authzDenied(t, "Verify of a RAW message", err, deny("kms:Verify"))

	// A grant of Sign alone.
	granted, grantedARN := authzUser(t, env, root, servertest.AccountID, "grantee")
	if _, err := env.KMS.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: key.KeyId, GranteePrincipal: aws.String(grantedARN),
		Operations: []types.GrantOperation{types.GrantOperationSign}}); err != nil {
		t.Fatal(err)
	}
	if _, err := granted.Sign(ctx, &kms.SignInput{KeyId: key.Arn, Message: []byte("m"), SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_512"}); err != nil {
		t.Errorf("Sign under a grant: %v", err)
	}
	_, err = granted.Verify(ctx, &kms.VerifyInput{KeyId: key.Arn, Message: d, MessageType: types.MessageTypeDigest, Signature: sig.Signature, SigningAlgorithm: "RSASSA_PSS_SHA_256"})
	if sdkErrCode(err) != "AccessDeniedException" {
		t.Errorf("Verify under a Sign grant: %v, want AccessDeniedException", err)
	}
}

// sdkMLDSAKeySize is the length of an encoded ML-DSA public key, the end
// of GetPublicKey's SubjectPublicKeyInfo.
var sdkMLDSAKeySize = map[types.KeySpec]int{types.KeySpecMlDsa44: 1312, types.KeySpecMlDsa65: 1952, types.KeySpecMlDsa87: 2592}

// sdkExternalMu computes an ML-DSA μ as FIPS 204 does for an empty
// context, from a DER SubjectPublicKeyInfo:
// μ = SHAKE256(SHAKE256(pk, 64) ‖ 0 ‖ 0 ‖ M, 64).
func sdkExternalMu(spec types.KeySpec, spki, msg []byte) []byte {
	tr := sha3.SumSHAKE256(spki[len(spki)-sdkMLDSAKeySize[spec]:], 64)
	return sha3.SumSHAKE256(append(append(tr, 0, 0), msg...), 64)
}

// TestSDKVerifyExternalMu: ML-DSA Verify with MessageType EXTERNAL_MU
// accepts signatures made over μ and over the message μ comes from, and
// refuses another μ and a μ that is not 64 bytes, as AWS KMS does.
func TestSDKVerifyExternalMu(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	msg := []byte("verified over mu")
	for spec := range sdkMLDSAKeySize {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeSignVerify})
		pk, err := env.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		mu := sdkExternalMu(spec, pk.PublicKey, msg)
		sign := func(mt types.MessageType, m []byte) []byte {
			out, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: k.KeyId, Message: m, MessageType: mt, SigningAlgorithm: "ML_DSA_SHAKE_256"})
			if err != nil {
				t.Fatalf("%s: Sign %s: %v", spec, mt, err)
			}
			return out.Signature
		}
		verify := func(mt types.MessageType, m, sig []byte) error {
			out, err := env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: k.KeyId, Message: m, MessageType: mt, Signature: sig, SigningAlgorithm: "ML_DSA_SHAKE_256"}, sdkNoRetry)
			if err == nil && (!out.SignatureValid || aws.ToString(out.KeyId) != *k.Arn || out.SigningAlgorithm != "ML_DSA_SHAKE_256") {
				t.Errorf("%s: Verify %s answered %+v", spec, mt, out)
			}
			return err
		}
		overMu, overMsg := sign(types.MessageTypeExternalMu, mu), sign(types.MessageTypeRaw, msg)
		for name, sig := range map[string][]byte{"signed over μ": overMu, "signed RAW": overMsg} {
			if err := verify(types.MessageTypeExternalMu, mu, sig); err != nil {
				t.Errorf("%s: Verify EXTERNAL_MU of a signature %s: %v", spec, name, err)
			}
			if err := verify(types.MessageTypeRaw, msg, sig); err != nil {
				t.Errorf("%s: Verify RAW of a signature %s: %v", spec, name, err)
			}
			other := bytes.Clone(mu)
			other[63] ^= 0x80
			sdkWantErr(t, string(spec)+" Verify over another μ", verify(types.MessageTypeExternalMu, other, sig), "KMSInvalidSignatureException")
			bad := bytes.Clone(sig)
			bad[len(bad)/2] ^= 1
			sdkWantErr(t, string(spec)+" Verify of a changed signature over μ", verify(types.MessageTypeExternalMu, mu, bad), "KMSInvalidSignatureException")
		}
		for _, n := range []int{63, 65} {
			err := verify(types.MessageTypeExternalMu, append(bytes.Clone(mu), 0)[:n], overMu)
			sdkWantErr(t, fmt.Sprintf("%s Verify over a %d-byte μ", spec, n), err, "ValidationException")
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorMessage() != "External Mu is invalid length for algorithm ML_DSA_SHAKE_256." {
				t.Errorf("%s: %d-byte μ: message %q", spec, n, ae.ErrorMessage())
			}
		}
		_, err = env.KMS.Verify(ctx, &kms.VerifyInput{KeyId: k.KeyId, Message: mu, MessageType: types.MessageTypeExternalMu, Signature: overMu, SigningAlgorithm: "ML_DSA_SHAKE_256", DryRun: aws.Bool(true)}, sdkNoRetry)
		sdkWantDryRun(t, string(spec)+" Verify EXTERNAL_MU DryRun", err)
	}
}
