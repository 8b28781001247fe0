package server_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kagikms/kagi/internal/server/servertest"
)

var sdkMACSpecs = []struct {
	spec types.KeySpec
	alg  types.MacAlgorithmSpec
	size int
}{
	{types.KeySpecHmac224, types.MacAlgorithmSpecHmacSha224, 28},
	{types.KeySpecHmac256, types.MacAlgorithmSpecHmacSha256, 32},
	{types.KeySpecHmac384, types.MacAlgorithmSpecHmacSha384, 48},
	{types.KeySpecHmac512, types.MacAlgorithmSpecHmacSha512, 64},
}

// TestSDKGenerateVerifyMac: every HMAC spec makes MACs of its hash's
// length, deterministic per key and message, different across keys;
// VerifyMac accepts them and refuses any change with
// KMSInvalidMacException.
func TestSDKGenerateVerifyMac(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	msg := []byte("authenticate me")
	for _, s := range sdkMACSpecs {
		k := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: s.spec, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
		other := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: s.spec, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
		mac := func(id *string, m []byte) []byte {
			out, err := env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: id, Message: m, MacAlgorithm: s.alg})
			if err != nil {
				t.Fatalf("%s: GenerateMac: %v", s.spec, err)
			}
			if out.MacAlgorithm != s.alg || aws.ToString(out.KeyId) == "" {
				t.Errorf("%s: GenerateMac answered %+v", s.spec, out)
			}
			return out.Mac
		}
		m1 := mac(k.KeyId, msg)
		if len(m1) != s.size {
			t.Errorf("%s: MAC is %d bytes, want %d", s.spec, len(m1), s.size)
		}
		if !bytes.Equal(m1, mac(k.Arn, msg)) {
			t.Errorf("%s: two MACs of one message differ", s.spec)
		}
		if bytes.Equal(m1, mac(other.KeyId, msg)) || bytes.Equal(m1, mac(k.KeyId, []byte("authenticate mE"))) {
			t.Errorf("%s: another key or message gave the same MAC", s.spec)
		}
		v, err := env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: k.KeyId, Message: msg, Mac: m1, MacAlgorithm: s.alg})
		if err != nil || !v.MacValid || aws.ToString(v.KeyId) != *k.Arn || v.MacAlgorithm != s.alg {
			t.Errorf("%s: VerifyMac: %+v, %v", s.spec, v, err)
		}
		for name, bad := range map[string][]byte{"changed": append([]byte{m1[0] ^ 1}, m1[1:]...), "short": m1[:len(m1)-1], "long": append(bytes.Clone(m1), 0)} {
			_, err := env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: k.KeyId, Message: msg, Mac: bad, MacAlgorithm: s.alg}, sdkNoRetry)
			sdkWantErr(t, string(s.spec)+" VerifyMac of a "+name+" MAC", err, "KMSInvalidMacException")
			var ime *types.KMSInvalidMacException
			if err != nil && !errors.As(err, &ime) {
				t.Errorf("%s: %T, want *types.KMSInvalidMacException", s.spec, err)
			}
		}
		_, err = env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: other.KeyId, Message: msg, Mac: m1, MacAlgorithm: s.alg}, sdkNoRetry)
		sdkWantErr(t, string(s.spec)+" VerifyMac with another key", err, "KMSInvalidMacException")
	}
}

// TestSDKMacErrors: AWS's refusals of GenerateMac and VerifyMac.
func TestSDKMacErrors(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	h := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	sym := sdkCreateKey(t, env.KMS, nil)
	ec := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	cases := []struct {
		name       string
		key        *types.KeyMetadata
		alg        types.MacAlgorithmSpec
		msg        []byte
		code, text string
	}{
		{"symmetric key", sym, "HMAC_SHA_256", []byte("m"), "InvalidKeyUsageException", *sym.Arn + " key usage is ENCRYPT_DECRYPT which is not valid for %s."},
		{"signing key", ec, "HMAC_SHA_256", []byte("m"), "InvalidKeyUsageException", *ec.Arn + " key usage is SIGN_VERIFY which is not valid for %s."},
		{"another algorithm", h, "HMAC_SHA_512", []byte("m"), "InvalidKeyUsageException", "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."},
		{"unknown algorithm", h, "HMAC_SHA_1", []byte("m"), "ValidationException", ""},
		{"4097-byte message", h, "HMAC_SHA_256", make([]byte, 4097), "ValidationException", ""},
	}
	for _, c := range cases {
		for _, op := range []string{"GenerateMac", "VerifyMac"} {
			var err error
			if op == "GenerateMac" {
				_, err = env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: c.key.KeyId, Message: c.msg, MacAlgorithm: c.alg}, sdkNoRetry)
			} else {
				_, err = env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: c.key.KeyId, Message: c.msg, Mac: make([]byte, 32), MacAlgorithm: c.alg}, sdkNoRetry)
			}
			sdkWantErr(t, op+" "+c.name, err, c.code)
			var ae smithy.APIError
			if want := sdkSprintf(c.text, op); c.text != "" && errors.As(err, &ae) && ae.ErrorMessage() != want {
				t.Errorf("%s %s: message %q, want %q", op, c.name, ae.ErrorMessage(), want)
			}
		}
	}
	_, err := env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: h.KeyId, Message: []byte("m"), Mac: make([]byte, 6145), MacAlgorithm: "HMAC_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "VerifyMac with a 6145-byte MAC", err, "ValidationException")
	w := newSDKWire(t, env)
	for _, c := range []struct{ op, body string }{
		{"GenerateMac", `{"KeyId":"` + *h.KeyId + `","Message":"bQ=="}`},
		{"GenerateMac", `{"KeyId":"` + *h.KeyId + `","MacAlgorithm":"HMAC_SHA_256"}`},
		{"VerifyMac", `{"KeyId":"` + *h.KeyId + `","Message":"bQ==","MacAlgorithm":"HMAC_SHA_256"}`},
	} {
		w.checkError(c.op+" "+c.body, w.do(w.root(sdkWireReq{target: "TrentService." + c.op, body: c.body})), "ValidationException")
	}

	sdkCreateAlias(t, env.KMS, "alias/mac", *h.KeyId)
	mac, err := env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String("alias/mac"), Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256"})
	if err != nil || aws.ToString(mac.KeyId) != *h.Arn {
		t.Fatalf("GenerateMac by alias: %v", err)
	}
	_, err = env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: h.KeyId, Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256", DryRun: aws.Bool(true)}, sdkNoRetry)
	sdkWantDryRun(t, "GenerateMac DryRun", err)
	_, err = env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: h.KeyId, Message: []byte("m"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_256", DryRun: aws.Bool(true)}, sdkNoRetry)
	sdkWantDryRun(t, "VerifyMac DryRun", err)
	_, err = env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: h.KeyId, Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256", GrantTokens: []string{"forged"}}, sdkNoRetry)
	sdkWantErr(t, "GenerateMac with a forged grant token", err, "InvalidGrantTokenException")
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: h.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: h.KeyId, Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "GenerateMac with a disabled key", err, "DisabledException")
	if _, err := env.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: h.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: h.KeyId, Message: []byte("m"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_256"}, sdkNoRetry)
	sdkWantErr(t, "VerifyMac with a key pending deletion", err, "KMSInvalidStateException")
	if _, err := env.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: h.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: h.KeyId}); err != nil {
		t.Fatal(err)
	}
	env.Restart(t)
	if _, err := env.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: h.KeyId, Message: []byte("m"), Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_256"}); err != nil {
		t.Errorf("VerifyMac after a restart: %v", err)
	}

	// kms:MacAlgorithm decides an identity policy's condition.
	root := rootIAMCaller(t, env)
	user, userARN := authzUser(t, env, root, servertest.AccountID, "mac-user", authzPolicy(
		`{"Effect":"Allow","Action":"kms:GenerateMac","Resource":"*","Condition":{"StringEquals":{"kms:MacAlgorithm":"HMAC_SHA_512"}}}`))
	h512 := sdkCreateKey(t, env.KMS, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac512, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	if _, err := user.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: h512.KeyId, Message: []byte("m"), MacAlgorithm: "HMAC_SHA_512"}); err != nil {
		t.Errorf("GenerateMac as the policy allows: %v", err)
	}
	_, err = user.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: h.KeyId, Message: []byte("m"), MacAlgorithm: "HMAC_SHA_256"})
	authzDenied(t, "GenerateMac with HMAC_SHA_256", err, "User: "+userARN+" is not authorized to perform: kms:GenerateMac on resource: "+*h.Arn+
		" because no identity-based policy allows the kms:GenerateMac action")
}

func sdkSprintf(format, op string) string {
	return string(bytes.ReplaceAll([]byte(format), []byte("%s"), []byte(op)))
}
