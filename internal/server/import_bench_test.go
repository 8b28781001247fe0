package server_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
	"github.com/kagikms/kagi/internal/server/servertest"
)

// The import benchmarks run GetParametersForImport and ImportKeyMaterial
// through the API next to the library calls that dominate them (RSA key
// generation; unwrapping), one request at a time:
//
//	go test -run '^$' -bench 'Import' ./internal/server

func BenchmarkGetParametersForImport(b *testing.B) {
	env := servertest.Start(b, servertest.WithLogOutput(io.Discard))
	ctx := context.Background()
	for _, spec := range []types.WrappingKeySpec{types.WrappingKeySpecRsa2048, types.WrappingKeySpecRsa3072} {
		b.Run(string(spec)+"/library", func(b *testing.B) {
			for b.Loop() {
				if _, err := kcrypto.NewWrappingKey(string(spec)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(spec)+"/api", func(b *testing.B) {
			k, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := env.KMS.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: k.KeyMetadata.KeyId,
					WrappingAlgorithm: types.AlgorithmSpecRsaAesKeyWrapSha256, WrappingKeySpec: spec}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkImportKeyMaterial(b *testing.B) {
	env := servertest.Start(b, servertest.WithLogOutput(io.Discard))
	ctx := context.Background()
	material := make([]byte, 32)
	for _, alg := range []types.AlgorithmSpec{types.AlgorithmSpecRsaesOaepSha256, types.AlgorithmSpecRsaAesKeyWrapSha256} {
		wk, err := kcrypto.NewWrappingKey("RSA_2048")
		if err != nil {
			b.Fatal(err)
		}
		wrapped, err := kcrypto.WrapKeyMaterial(&wk.PublicKey, string(alg), material)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(alg)+"/library", func(b *testing.B) {
			for b.Loop() {
				if _, err := kcrypto.UnwrapKeyMaterial(wk, string(alg), wrapped); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/api", func(b *testing.B) {
			k, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
			if err != nil {
				b.Fatal(err)
			}
			p, err := env.KMS.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: k.KeyMetadata.KeyId,
				WrappingAlgorithm: alg, WrappingKeySpec: types.WrappingKeySpecRsa2048})
			if err != nil {
				b.Fatal(err)
			}
			parsed, err := x509.ParsePKIXPublicKey(p.PublicKey)
			pub, ok := parsed.(*rsa.PublicKey)
			if err != nil || !ok {
				b.Fatalf("wrapping public key: %T %v", parsed, err)
			}
			w, err := kcrypto.WrapKeyMaterial(pub, string(alg), material)
			if err != nil {
				b.Fatal(err)
			}
			// The first import, then the same material again each time.
			for b.Loop() {
				if _, err := env.KMS.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: k.KeyMetadata.KeyId, ImportToken: p.ImportToken,
					EncryptedKeyMaterial: w, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
