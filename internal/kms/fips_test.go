package kms

import (
	"context"
	"strings"
	"testing"

	"github.com/kagikms/kagi/internal/awserr"
)

// setFIPSMode sets fipsMode for one test; the process's own FIPS mode is
// tested end to end in test/fips.
func setFIPSMode(t *testing.T, on bool) {
	t.Helper()
	old := fipsMode
	fipsMode = on
	t.Cleanup(func() { fipsMode = old })
}

func wantFIPSRefusal(t *testing.T, what string, err error) {
	t.Helper()
	e := awserr.As(err)
	if e == nil || e.Code != awserr.UnsupportedOperation || !strings.Contains(e.Message, "FIPS mode") {
		t.Errorf("%s: err = %v, want UnsupportedOperationException naming FIPS mode", what, err)
	}
}

func TestCheckFIPS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refused bool
	}{
		{"SYMMETRIC_DEFAULT", false}, {"RSA_2048", false}, {"RSA_4096", false}, {"ECC_NIST_P256", false},
		{"ECC_NIST_P521", false}, {"ECC_NIST_EDWARDS25519", false}, {"HMAC_256", false},
		{"ML_KEM_768", false}, {"ML_KEM_1024", false}, {"RSAES_OAEP_SHA_256", false}, {"", false},
		{"ECC_SECG_P256K1", true}, {"ML_DSA_44", true}, {"ML_DSA_65", true}, {"ML_DSA_87", true},
		{"ML_KEM_512", true}, {"RSAES_OAEP_SHA_1", true}, {"RSA_AES_KEY_WRAP_SHA_1", true},
		{"RSA_AES_KEY_WRAP_SHA_256", true},
	} {
		setFIPSMode(t, false)
		if err := checkFIPS(tc.name); err != nil {
			t.Errorf("checkFIPS(%q) outside FIPS mode = %v, want nil", tc.name, err)
		}
		setFIPSMode(t, true)
		err := checkFIPS(tc.name)
		if !tc.refused {
			if err != nil {
				t.Errorf("checkFIPS(%q) in FIPS mode = %v, want nil", tc.name, err)
			}
			continue
		}
		wantFIPSRefusal(t, "checkFIPS("+tc.name+")", err)
	}
}

// TestFIPSModeExistingKey: a secp256k1 key made before kagi ran in FIPS
// mode can still be described, but not used or asked for its public key;
// CreateKey refuses a new one, and an allowed spec works as before.
func TestFIPSModeExistingKey(t *testing.T) {
	ctx := context.Background()
	s := testService(t)
	c := rootCaller()
	setFIPSMode(t, false)
	k1, err := s.CreateKey(ctx, c, &CreateKeyInput{KeySpec: "ECC_SECG_P256K1", KeyUsage: "SIGN_VERIFY"})
	if err != nil {
		t.Fatal(err)
	}
	id := k1.KeyMetadata.KeyId

	setFIPSMode(t, true)
	_, err = s.CreateKey(ctx, c, &CreateKeyInput{KeySpec: "ECC_SECG_P256K1", KeyUsage: "SIGN_VERIFY"})
	wantFIPSRefusal(t, "CreateKey ECC_SECG_P256K1", err)
	_, err = s.GetPublicKey(ctx, c, &GetPublicKeyInput{KeyId: id})
	wantFIPSRefusal(t, "GetPublicKey", err)
	_, err = s.Sign(ctx, c, &SignInput{KeyId: id, Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_256"})
	wantFIPSRefusal(t, "Sign", err)
	d, err := s.DescribeKey(ctx, c, &DescribeKeyInput{KeyId: id})
	if err != nil || d.KeyMetadata.KeySpec != "ECC_SECG_P256K1" {
		t.Errorf("DescribeKey in FIPS mode = %+v, %v; want the key described", d, err)
	}
	p, err := s.CreateKey(ctx, c, &CreateKeyInput{KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY"})
	if err != nil {
		t.Fatalf("CreateKey ECC_NIST_P256 in FIPS mode: %v", err)
	}
	if _, err := s.GetPublicKey(ctx, c, &GetPublicKeyInput{KeyId: p.KeyMetadata.KeyId}); err != nil {
		t.Errorf("GetPublicKey of a P-256 key in FIPS mode: %v", err)
	}

	setFIPSMode(t, false)
	if _, err := s.GetPublicKey(ctx, c, &GetPublicKeyInput{KeyId: id}); err != nil {
		t.Errorf("GetPublicKey outside FIPS mode: %v", err)
	}
}
