package server_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
)

func sdkRandom(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestSDKEncryptDecryptRoundTrip encrypts and decrypts plaintexts of the
// smallest, a typical and the largest size.
func TestSDKEncryptDecryptRoundTrip(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	for _, n := range []int{1, 32, 4096} {
		pt := sdkRandom(n)
		enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: pt})
		if err != nil {
			t.Fatalf("Encrypt %d bytes: %v", n, err)
		}
		if aws.ToString(enc.KeyId) != *k.Arn || enc.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
			t.Errorf("Encrypt %d bytes: KeyId %s EncryptionAlgorithm %s", n, aws.ToString(enc.KeyId), enc.EncryptionAlgorithm)
		}
		if len(enc.CiphertextBlob) <= n || len(enc.CiphertextBlob) > 6144 {
			t.Errorf("Encrypt %d bytes: ciphertext of %d bytes, want more than the plaintext and at most 6144", n, len(enc.CiphertextBlob))
		}
		if n >= 32 && bytes.Contains(enc.CiphertextBlob, pt) {
			t.Errorf("Encrypt %d bytes: the ciphertext contains the plaintext", n)
		}
		again, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: pt})
		if err != nil || bytes.Equal(again.CiphertextBlob, enc.CiphertextBlob) {
			t.Errorf("Encrypt %d bytes twice: equal ciphertexts or %v", n, err)
		}
		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
		if err != nil {
			t.Fatalf("Decrypt %d bytes: %v", n, err)
		}
		if !bytes.Equal(dec.Plaintext, pt) {
			t.Errorf("Decrypt %d bytes: plaintext differs", n)
		}
		if aws.ToString(dec.KeyId) != *k.Arn || dec.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault ||
			aws.ToString(dec.KeyMaterialId) != aws.ToString(k.CurrentKeyMaterialId) {
			t.Errorf("Decrypt %d bytes: KeyId %s EncryptionAlgorithm %s KeyMaterialId %s", n, aws.ToString(dec.KeyId), dec.EncryptionAlgorithm, aws.ToString(dec.KeyMaterialId))
		}
	}
	for _, c := range []struct {
		name string
		pt   []byte
	}{{"4097 bytes", sdkRandom(4097)}, {"empty", []byte{}}} {
		_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: c.pt})
		sdkWantErr(t, "Encrypt "+c.name, err, "ValidationException")
	}
	_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"), Plaintext: []byte("x")})
	sdkWantErr(t, "Encrypt under an unknown key", err, "NotFoundException")
	_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/missing"), Plaintext: []byte("x")})
	sdkWantErr(t, "Encrypt under a missing alias", err, "NotFoundException")
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: sdkRandom(6145)})
	sdkWantErr(t, "Decrypt of 6145 bytes", err, "ValidationException")
	tokens := make([]string, 11)
	for i := range tokens {
		tokens[i] = fmt.Sprint("token", i)
	}
	_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), GrantTokens: tokens})
	sdkWantErr(t, "Encrypt with 11 grant tokens", err, "ValidationException")
	_, err = env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId, GrantTokens: tokens})
	sdkWantErr(t, "DescribeKey with 11 grant tokens", err, "ValidationException")
}

// TestSDKEncryptionContext: the context must match exactly (pair order
// aside) for Decrypt to succeed.
func TestSDKEncryptionContext(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	pt := []byte("context-bound secret")
	ec := map[string]string{"purpose": "test", "Dept": "ops", "ключ": "値 🙂"}
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: pt, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK writes a Go map in random order, so repeated calls send
	// the pairs in different orders; protocol_sdk_test.go checks fixed
	// orders on the wire.
	for i := range 4 {
		same := map[string]string{"ключ": "値 🙂", "Dept": "ops", "purpose": "test"}
		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: same})
		if err != nil || !bytes.Equal(dec.Plaintext, pt) {
			t.Fatalf("Decrypt %d with the same context: %v", i, err)
		}
	}
	for _, c := range []struct {
		name string
		ec   map[string]string
	}{
		{"missing", nil},
		{"empty", map[string]string{}},
		{"a pair missing", map[string]string{"purpose": "test", "Dept": "ops"}},
		{"extra pair", map[string]string{"purpose": "test", "Dept": "ops", "ключ": "値 🙂", "extra": "x"}},
		{"changed value", map[string]string{"purpose": "prod", "Dept": "ops", "ключ": "値 🙂"}},
		{"changed key case", map[string]string{"Purpose": "test", "Dept": "ops", "ключ": "値 🙂"}},
		{"changed value case", map[string]string{"purpose": "Test", "Dept": "ops", "ключ": "値 🙂"}},
		{"value moved to another key", map[string]string{"purpose": "ops", "Dept": "test", "ключ": "値 🙂"}},
		{"trailing space", map[string]string{"purpose": "test ", "Dept": "ops", "ключ": "値 🙂"}},
	} {
		_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: c.ec})
		sdkWantErr(t, "context "+c.name, err, "InvalidCiphertextException")
	}

	// Pair boundaries are part of the context: {"a":"bc"} is not {"ab":"c"}.
	enc2, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: pt, EncryptionContext: map[string]string{"a": "bc"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc2.CiphertextBlob, EncryptionContext: map[string]string{"ab": "c"}})
	sdkWantErr(t, "shifted pair boundary", err, "InvalidCiphertextException")

	// A ciphertext made without a context needs none.
	enc3, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: pt})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc3.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "test"}})
	sdkWantErr(t, "context given for a ciphertext made without one", err, "InvalidCiphertextException")
	if dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc3.CiphertextBlob}); err != nil || !bytes.Equal(dec.Plaintext, pt) {
		t.Errorf("Decrypt without context: %v", err)
	}
	// An empty context is no context.
	if dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc3.CiphertextBlob, EncryptionContext: map[string]string{}}); err != nil || !bytes.Equal(dec.Plaintext, pt) {
		t.Errorf("Decrypt with an empty context of a ciphertext made without one: %v", err)
	}
}

// TestSDKDecryptKeyID: Decrypt needs no KeyId, accepts the right key in
// all four forms and refuses another key.
func TestSDKDecryptKeyID(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	other := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/right", *k.KeyId)
	sdkCreateAlias(t, env.KMS, "alias/wrong", *other.KeyId)
	pt := []byte("which key?")
	for _, id := range []string{"alias/right", sdkAliasARN("us-east-1", "alias/right"), *k.Arn, *k.KeyId} {
		enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: pt})
		if err != nil {
			t.Fatalf("Encrypt with %s: %v", id, err)
		}
		if aws.ToString(enc.KeyId) != *k.Arn {
			t.Errorf("Encrypt with %s: response KeyId %s, want the key ARN %s", id, aws.ToString(enc.KeyId), *k.Arn)
		}
	}
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/right"), Plaintext: pt})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []*string{nil, k.KeyId, k.Arn, aws.String("alias/right"), aws.String(sdkAliasARN("us-east-1", "alias/right"))} {
		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: id})
		if err != nil {
			t.Errorf("Decrypt with KeyId %v: %v", aws.ToString(id), err)
			continue
		}
		if !bytes.Equal(dec.Plaintext, pt) || aws.ToString(dec.KeyId) != *k.Arn {
			t.Errorf("Decrypt with KeyId %v: KeyId %s", aws.ToString(id), aws.ToString(dec.KeyId))
		}
	}
	for _, id := range []string{*other.KeyId, *other.Arn, "alias/wrong", sdkAliasARN("us-east-1", "alias/wrong")} {
		_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: aws.String(id)})
		sdkWantErr(t, "Decrypt with KeyId "+id, err, "IncorrectKeyException")
	}
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: aws.String("alias/missing")})
	sdkWantErr(t, "Decrypt with a missing alias as KeyId", err, "NotFoundException")
	var ik *types.IncorrectKeyException
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: other.KeyId})
	if !errors.As(err, &ik) {
		t.Errorf("Decrypt with another key: %T, want *types.IncorrectKeyException", err)
	}
}

// TestSDKCorruptCiphertext: every damaged ciphertext is
// InvalidCiphertextException, never a server error.
func TestSDKCorruptCiphertext(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	ec := map[string]string{"a": "b"}
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("sixteen bytes!!!"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	ct := enc.CiphertextBlob
	type variant struct {
		name string
		blob []byte
	}
	var vs []variant
	for _, n := range []int{len(ct) - 1, len(ct) - 16, len(ct) / 2, 3, 1} {
		vs = append(vs, variant{fmt.Sprintf("truncated to %d bytes", n), ct[:n:n]})
	}
	vs = append(vs, variant{"one byte appended", append(bytes.Clone(ct), 0)})
	// Flip one bit in every byte, with two different masks: the header
	// (version, lengths, the key ARN, material id, nonce, IV), the sealed
	// data and the tag are all covered. Flips of the low bit inside the key
	// ARN's account and key id can spell another well-formed key ARN;
	// TestSDKCiphertextNamingAnotherKey checks those.
	arnStart, arnEnd := 3, 3+len(*k.Arn)
	for i := range ct {
		for _, mask := range []byte{0x01, 0x80} {
			if mask == 0x01 && i >= arnStart && i < arnEnd {
				continue
			}
			b := bytes.Clone(ct)
			b[i] ^= mask
			vs = append(vs, variant{fmt.Sprintf("byte %d ^ %#02x", i, mask), b})
		}
	}
	for i := range 8 {
		vs = append(vs, variant{fmt.Sprintf("random garbage %d", i), sdkRandom(1 + i*97)})
	}
	// Garbage behind a plausible header: version 1, then the key ARN.
	arn := []byte(*k.Arn)
	hdr := append([]byte{1, byte(len(arn) >> 8), byte(len(arn))}, arn...)
	vs = append(vs, variant{"real header, garbage body", append(bytes.Clone(hdr), sdkRandom(200)...)})
	vs = append(vs, variant{"real header, nothing else", hdr})
	// The header names another existing key (ARNs of one account and
	// Region have the same length).
	other := sdkCreateKey(t, env.KMS, nil)
	swapped := bytes.Clone(ct)
	copy(swapped[3:], *other.Arn)
	vs = append(vs, variant{"header names another key", swapped})

	for _, v := range vs {
		_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: v.blob, EncryptionContext: ec}, sdkNoRetry)
		sdkWantErr(t, v.name, err, "InvalidCiphertextException")
	}
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte{}}, sdkNoRetry)
	// The model's length constraint (1–6144) is checked first.
	sdkWantErr(t, "empty ciphertext", err, "ValidationException")
	// The original still decrypts.
	if _, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct, EncryptionContext: ec}); err != nil {
		t.Errorf("the intact ciphertext: %v", err)
	}
}

// TestSDKCiphertextNamingAnotherKey flips the low bit of every byte of
// the key ARN inside a ciphertext. Many flips turn a digit of the account
// or a hex digit of the key id into another one, so the damaged blob names
// a well-formed ARN of a key that does not exist. It is still a corrupt
// ciphertext: InvalidCiphertextException, as for every other damaged byte,
// not NotFoundException (which would also tell the caller whether a key id
// exists, without any permission on it).
func TestSDKCiphertextNamingAnotherKey(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("sixteen bytes!!!")})
	if err != nil {
		t.Fatal(err)
	}
	ct := enc.CiphertextBlob
	arnStart := 3
	if !bytes.Equal(ct[arnStart:arnStart+len(*k.Arn)], []byte(*k.Arn)) {
		t.Fatalf("the key ARN is not at offset %d of the ciphertext; the test needs updating", arnStart)
	}
	for i := arnStart; i < arnStart+len(*k.Arn); i++ {
		b := bytes.Clone(ct)
		b[i] ^= 0x01
		_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: b}, sdkNoRetry)
		sdkWantErr(t, fmt.Sprintf("key ARN byte %d %q→%q", i, ct[i], b[i]), err, "InvalidCiphertextException")
	}
}

// TestSDKWrongAlgorithm: a symmetric key takes SYMMETRIC_DEFAULT only.
func TestSDKWrongAlgorithm(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	sdkWantErr(t, "Encrypt RSAES_OAEP_SHA_256", err, "InvalidKeyUsageException")
	_, err = env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: "AES_GCM"})
	sdkWantErr(t, "Encrypt unknown algorithm", err, "ValidationException")
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault})
	if err != nil {
		t.Fatalf("Encrypt SYMMETRIC_DEFAULT: %v", err)
	}
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	sdkWantErr(t, "Decrypt RSAES_OAEP_SHA_256", err, "InvalidKeyUsageException")
	if _, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault}); err != nil {
		t.Errorf("Decrypt SYMMETRIC_DEFAULT: %v", err)
	}
}

// TestSDKDryRun: a call that would succeed answers DryRunOperationException;
// one that would fail answers its real error.
func TestSDKDryRun(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	dst := sdkCreateKey(t, env.KMS, nil)
	off := sdkCreateKey(t, env.KMS, nil)
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("dry")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: off.KeyId}); err != nil {
		t.Fatal(err)
	}
	ignore := []types.DryRunModifierType{types.DryRunModifierTypeIgnoreCiphertext}
	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"Encrypt", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperationException"},
		{"Encrypt disabled key", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: off.KeyId, Plaintext: []byte("x"), DryRun: aws.Bool(true)})
			return err
		}, "DisabledException"},
		{"Decrypt", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperationException"},
		{"Decrypt with a wrong context", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"x": "y"}, DryRun: aws.Bool(true)})
			return err
		}, "InvalidCiphertextException"},
		{"Decrypt IGNORE_CIPHERTEXT", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, DryRun: aws.Bool(true), DryRunModifiers: ignore})
			return err
		}, "DryRunOperationException"},
		{"Decrypt IGNORE_CIPHERTEXT disabled key", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: off.KeyId, DryRun: aws.Bool(true), DryRunModifiers: ignore})
			return err
		}, "DisabledException"},
		{"Decrypt IGNORE_CIPHERTEXT unknown key", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String("alias/missing"), DryRun: aws.Bool(true), DryRunModifiers: ignore})
			return err
		}, "NotFoundException"},
		{"Decrypt IGNORE_CIPHERTEXT without KeyId", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{DryRun: aws.Bool(true), DryRunModifiers: ignore})
			return err
		}, "ValidationException"},
		{"ReEncrypt", func() error {
			_, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: dst.KeyId, DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperationException"},
		{"ReEncrypt to a disabled key", func() error {
			_, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: off.KeyId, DryRun: aws.Bool(true)})
			return err
		}, "DisabledException"},
		{"GenerateDataKey", func() error {
			_, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256, DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperationException"},
		{"GenerateDataKeyWithoutPlaintext", func() error {
			_, err := env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256, DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperationException"},
	} {
		err := c.call()
		if sdkErrCode(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
		if c.want == "DryRunOperationException" {
			var dr *types.DryRunOperationException
			if !errors.As(err, &dr) {
				t.Errorf("%s: %T, want *types.DryRunOperationException", c.name, err)
			}
		} else if s := sdkStatus(err); s < 400 || s >= 500 {
			t.Errorf("%s: HTTP %d", c.name, s)
		}
	}
}

// TestSDKReEncrypt moves a ciphertext to another key and context.
func TestSDKReEncrypt(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	src := sdkCreateKey(t, env.KMS, nil)
	dst := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/dst", *dst.KeyId)
	pt := []byte("moving house")
	ec1 := map[string]string{"stage": "one"}
	ec2 := map[string]string{"stage": "two", "extra": "yes"}
	enc, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: src.KeyId, Plaintext: pt, EncryptionContext: ec1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec1,
		DestinationKeyId: aws.String("alias/dst"), DestinationEncryptionContext: ec2})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"SourceKeyId", aws.ToString(out.SourceKeyId), *src.Arn},
		{"KeyId", aws.ToString(out.KeyId), *dst.Arn},
		{"SourceKeyMaterialId", aws.ToString(out.SourceKeyMaterialId), aws.ToString(src.CurrentKeyMaterialId)},
		{"DestinationKeyMaterialId", aws.ToString(out.DestinationKeyMaterialId), aws.ToString(dst.CurrentKeyMaterialId)},
		{"SourceEncryptionAlgorithm", out.SourceEncryptionAlgorithm, types.EncryptionAlgorithmSpecSymmetricDefault},
		{"DestinationEncryptionAlgorithm", out.DestinationEncryptionAlgorithm, types.EncryptionAlgorithmSpecSymmetricDefault},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("ReEncrypt %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec2})
	if err != nil || !bytes.Equal(dec.Plaintext, pt) || aws.ToString(dec.KeyId) != *dst.Arn {
		t.Fatalf("Decrypt of the re-encrypted ciphertext: %v", err)
	}
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec1})
	sdkWantErr(t, "Decrypt of the re-encrypted ciphertext with the old context", err, "InvalidCiphertextException")
	_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, KeyId: src.KeyId, EncryptionContext: ec2})
	sdkWantErr(t, "Decrypt of the re-encrypted ciphertext naming the old key", err, "IncorrectKeyException")

	// Same key, new context.
	same, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec1, SourceKeyId: src.Arn,
		DestinationKeyId: src.KeyId, DestinationEncryptionContext: ec2})
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: same.CiphertextBlob, EncryptionContext: ec2}); err != nil || !bytes.Equal(dec.Plaintext, pt) || aws.ToString(dec.KeyId) != *src.Arn {
		t.Errorf("Decrypt after ReEncrypt to the same key: %v", err)
	}

	for _, c := range []struct {
		name string
		in   kms.ReEncryptInput
		want string
	}{
		{"wrong source context", kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec2, DestinationKeyId: dst.KeyId}, "InvalidCiphertextException"},
		{"no source context", kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: dst.KeyId}, "InvalidCiphertextException"},
		{"wrong SourceKeyId", kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec1, SourceKeyId: dst.KeyId, DestinationKeyId: dst.KeyId}, "IncorrectKeyException"},
		{"unknown destination", kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec1, DestinationKeyId: aws.String("alias/missing")}, "NotFoundException"},
		{"empty destination", kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec1, DestinationKeyId: aws.String("")}, "ValidationException"},
		{"corrupt ciphertext", kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob[:len(enc.CiphertextBlob)-1], SourceEncryptionContext: ec1, DestinationKeyId: dst.KeyId}, "InvalidCiphertextException"},
		{"asymmetric destination algorithm", kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec1, DestinationKeyId: dst.KeyId, DestinationEncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1}, "InvalidKeyUsageException"},
	} {
		_, err := env.KMS.ReEncrypt(ctx, &c.in, sdkNoRetry)
		sdkWantErr(t, "ReEncrypt "+c.name, err, c.want)
	}
}

// TestSDKGenerateDataKey checks data key sizes, that the ciphertext
// decrypts to the plaintext, and the refusals.
func TestSDKGenerateDataKey(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	k := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/dk", *k.KeyId)
	ec := map[string]string{"file": "x.dat"}
	for _, c := range []struct {
		name string
		spec types.DataKeySpec
		n    *int32
		want int
	}{
		{"AES_256", types.DataKeySpecAes256, nil, 32},
		{"AES_128", types.DataKeySpecAes128, nil, 16},
		{"1 byte", "", aws.Int32(1), 1},
		{"1024 bytes", "", aws.Int32(1024), 1024},
	} {
		out, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/dk"), KeySpec: c.spec, NumberOfBytes: c.n, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(out.Plaintext) != c.want {
			t.Errorf("%s: %d bytes of plaintext, want %d", c.name, len(out.Plaintext), c.want)
		}
		if aws.ToString(out.KeyId) != *k.Arn || aws.ToString(out.KeyMaterialId) != aws.ToString(k.CurrentKeyMaterialId) {
			t.Errorf("%s: KeyId %s KeyMaterialId %s", c.name, aws.ToString(out.KeyId), aws.ToString(out.KeyMaterialId))
		}
		dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
		if err != nil || !bytes.Equal(dec.Plaintext, out.Plaintext) {
			t.Errorf("%s: the data key's ciphertext does not decrypt to its plaintext: %v", c.name, err)
		}
		_, err = env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob})
		sdkWantErr(t, c.name+": Decrypt without the context", err, "InvalidCiphertextException")
		if c.want >= 16 {
			again, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: c.spec, NumberOfBytes: c.n})
			if err != nil || bytes.Equal(again.Plaintext, out.Plaintext) {
				t.Errorf("%s: two data keys are equal (or %v)", c.name, err)
			}
		}
	}

	wo, err := env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k.Arn, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(wo.KeyId) != *k.Arn || aws.ToString(wo.KeyMaterialId) != aws.ToString(k.CurrentKeyMaterialId) {
		t.Errorf("WithoutPlaintext: KeyId %s KeyMaterialId %s", aws.ToString(wo.KeyId), aws.ToString(wo.KeyMaterialId))
	}
	dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wo.CiphertextBlob, EncryptionContext: ec})
	if err != nil || len(dec.Plaintext) != 32 {
		t.Errorf("WithoutPlaintext: the ciphertext does not decrypt to 32 bytes: %v", err)
	}
	wo16, err := env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k.KeyId, NumberOfBytes: aws.Int32(16)})
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wo16.CiphertextBlob}); err != nil || len(dec.Plaintext) != 16 {
		t.Errorf("WithoutPlaintext 16 bytes: %v", err)
	}

	for _, c := range []struct {
		name string
		spec types.DataKeySpec
		n    *int32
	}{
		{"neither KeySpec nor NumberOfBytes", "", nil},
		{"both KeySpec and NumberOfBytes", types.DataKeySpecAes256, aws.Int32(32)},
		{"1025 bytes", "", aws.Int32(1025)},
		{"0 bytes", "", aws.Int32(0)},
		{"unknown KeySpec", "AES_512", nil},
	} {
		_, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: c.spec, NumberOfBytes: c.n})
		sdkWantErr(t, "GenerateDataKey "+c.name, err, "ValidationException")
		_, err = env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k.KeyId, KeySpec: c.spec, NumberOfBytes: c.n})
		sdkWantErr(t, "GenerateDataKeyWithoutPlaintext "+c.name, err, "ValidationException")
	}
	_, err = env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/missing"), KeySpec: types.DataKeySpecAes256})
	sdkWantErr(t, "GenerateDataKey under a missing alias", err, "NotFoundException")
}

// TestSDKGenerateRandom checks sizes, that the bytes vary, and the
// refusals.
func TestSDKGenerateRandom(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	var prev []byte
	for _, n := range []int32{1, 1024, 1024} {
		out, err := env.KMS.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(n)})
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if len(out.Plaintext) != int(n) {
			t.Errorf("%d bytes asked, %d returned", n, len(out.Plaintext))
		}
		if n == 1024 {
			if prev != nil && bytes.Equal(prev, out.Plaintext) {
				t.Error("two calls returned the same 1024 bytes")
			}
			if bytes.Equal(out.Plaintext, make([]byte, 1024)) {
				t.Error("1024 zero bytes")
			}
			prev = out.Plaintext
		}
	}
	for _, c := range []struct {
		name string
		n    *int32
	}{{"0", aws.Int32(0)}, {"1025", aws.Int32(1025)}, {"missing", nil}, {"-1", aws.Int32(-1)}} {
		_, err := env.KMS.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: c.n})
		sdkWantErr(t, "GenerateRandom "+c.name, err, "ValidationException")
	}
	_, err := env.KMS.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(8), CustomKeyStoreId: aws.String("cks-1234567890abcdef0")})
	sdkWantErr(t, "GenerateRandom in a custom key store", err, "CustomKeyStoreNotFoundException")
}

// TestSDKDisabledKeyCrypto: every cryptographic operation refuses a
// disabled key with DisabledException.
func TestSDKDisabledKeyCrypto(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	ctx := t.Context()
	off := sdkCreateKey(t, env.KMS, nil)
	on := sdkCreateKey(t, env.KMS, nil)
	sdkCreateAlias(t, env.KMS, "alias/off", *off.KeyId)
	offCT, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: off.KeyId, Plaintext: []byte("before")})
	if err != nil {
		t.Fatal(err)
	}
	onCT, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: on.KeyId, Plaintext: []byte("on")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: off.KeyId}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"Encrypt", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: off.KeyId, Plaintext: []byte("x")})
			return err
		}},
		{"Encrypt by alias", func() error {
			_, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/off"), Plaintext: []byte("x")})
			return err
		}},
		{"Decrypt", func() error {
			_, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: offCT.CiphertextBlob})
			return err
		}},
		{"ReEncrypt from it", func() error {
			_, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: offCT.CiphertextBlob, DestinationKeyId: on.KeyId})
			return err
		}},
		{"ReEncrypt to it", func() error {
			_, err := env.KMS.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: onCT.CiphertextBlob, DestinationKeyId: off.KeyId})
			return err
		}},
		{"GenerateDataKey", func() error {
			_, err := env.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: off.KeyId, KeySpec: types.DataKeySpecAes256})
			return err
		}},
		{"GenerateDataKeyWithoutPlaintext", func() error {
			_, err := env.KMS.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: off.KeyId, KeySpec: types.DataKeySpecAes128})
			return err
		}},
	} {
		err := c.call()
		sdkWantErr(t, c.name, err, "DisabledException")
		var de *types.DisabledException
		if err != nil && !errors.As(err, &de) {
			t.Errorf("%s: %T, want *types.DisabledException", c.name, err)
		}
	}
	// Enabled again, everything works, including the old ciphertext.
	if _, err := env.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: off.KeyId}); err != nil {
		t.Fatal(err)
	}
	if dec, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: offCT.CiphertextBlob}); err != nil || string(dec.Plaintext) != "before" {
		t.Errorf("Decrypt after re-enabling: %v", err)
	}
}
