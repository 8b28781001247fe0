package server_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// The signing benchmarks run Sign and Verify of each signing key spec
// through the API (aws-sdk-go-v2 → HTTPS → kagi → key store) next to the
// library call alone (internal/crypto on a key in memory), one request at
// a time; the ratio api/library is what the request path adds:
//
//	go test -run '^$' -bench 'Sign|Verify' ./internal/server

var benchSigning = []struct {
	spec types.KeySpec
	alg  types.SigningAlgorithmSpec
}{
	{types.KeySpecRsa2048, "RSASSA_PSS_SHA_256"},
	{types.KeySpecRsa4096, "RSASSA_PSS_SHA_256"},
	{types.KeySpecEccNistP256, "ECDSA_SHA_256"},
	{types.KeySpecEccNistP384, "ECDSA_SHA_384"},
	{types.KeySpecEccNistP521, "ECDSA_SHA_512"},
	{types.KeySpecEccSecgP256k1, "ECDSA_SHA_256"},
	{types.KeySpecEccNistEdwards25519, "ED25519_SHA_512"},
	{types.KeySpecMlDsa44, "ML_DSA_SHAKE_256"},
	{types.KeySpecMlDsa65, "ML_DSA_SHAKE_256"},
	{types.KeySpecMlDsa87, "ML_DSA_SHAKE_256"},
}

func benchSignEnv(b *testing.B) *servertest.Env {
	return servertest.Start(b, servertest.WithLogOutput(io.Discard))
}

func BenchmarkSign(b *testing.B) {
	env := benchSignEnv(b)
	msg := make([]byte, 256)
	for _, s := range benchSigning {
		b.Run(string(s.spec)+"/library", func(b *testing.B) {
			k, err := kcrypto.GenerateKeyPair(string(s.spec))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := k.Sign(string(s.alg), kcrypto.MessageRaw, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(s.spec)+"/api", func(b *testing.B) {
			k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: s.spec, KeyUsage: types.KeyUsageTypeSignVerify})
			if err != nil {
				b.Fatal(err)
			}
			in := &kms.SignInput{KeyId: k.KeyMetadata.KeyId, Message: msg, SigningAlgorithm: s.alg}
			for b.Loop() {
				if _, err := env.KMS.Sign(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	env := benchSignEnv(b)
	msg := make([]byte, 256)
	for _, s := range benchSigning {
		b.Run(string(s.spec)+"/library", func(b *testing.B) {
			k, err := kcrypto.GenerateKeyPair(string(s.spec))
			if err != nil {
				b.Fatal(err)
			}
			sig, err := k.Sign(string(s.alg), kcrypto.MessageRaw, msg)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := k.Public().Verify(string(s.alg), kcrypto.MessageRaw, msg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(s.spec)+"/api", func(b *testing.B) {
			ctx := context.Background()
			k, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: s.spec, KeyUsage: types.KeyUsageTypeSignVerify})
			if err != nil {
				b.Fatal(err)
			}
			sig, err := env.KMS.Sign(ctx, &kms.SignInput{KeyId: k.KeyMetadata.KeyId, Message: msg, SigningAlgorithm: s.alg})
			if err != nil {
				b.Fatal(err)
			}
			in := &kms.VerifyInput{KeyId: aws.String(*k.KeyMetadata.KeyId), Message: msg, Signature: sig.Signature, SigningAlgorithm: s.alg}
			for b.Loop() {
				if _, err := env.KMS.Verify(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
