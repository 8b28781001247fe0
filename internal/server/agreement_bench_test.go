package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
)

// The key agreement benchmarks run DeriveSharedSecret, Encapsulate and
// Decapsulate through the API (aws-sdk-go-v2 → HTTPS → kagi → key store)
// next to the library call alone (internal/crypto on a key in memory,
// parsing the peer key as the API does), one request at a time; the ratio
// api/library is what the request path adds:
//
//	go test -run '^$' -bench 'DeriveSharedSecret|Encapsulate|Decapsulate' ./internal/server

func BenchmarkDeriveSharedSecret(b *testing.B) {
	env := benchSignEnv(b)
	for _, c := range sdkAgreementCurves {
		peer, err := kcrypto.GenerateKeyPair(string(c.spec))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(c.spec)+"/library", func(b *testing.B) {
			k, err := kcrypto.GenerateKeyPair(string(c.spec))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := k.DeriveSharedSecret(peer.Public().DER()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(c.spec)+"/api", func(b *testing.B) {
			k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: types.KeyUsageTypeKeyAgreement})
			if err != nil {
				b.Fatal(err)
			}
			in := &kms.DeriveSharedSecretInput{KeyId: k.KeyMetadata.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: peer.Public().DER()}
			for b.Loop() {
				if _, err := env.KMS.DeriveSharedSecret(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncapsulate(b *testing.B) {
	env := benchSignEnv(b)
	for _, c := range sdkKEMSizes {
		b.Run(string(c.spec)+"/library", func(b *testing.B) {
			k, err := kcrypto.GenerateKeyPair(string(c.spec))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := k.Public().Encapsulate(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(c.spec)+"/api", func(b *testing.B) {
			k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
			if err != nil {
				b.Fatal(err)
			}
			in := &kms.EncapsulateInput{KeyId: k.KeyMetadata.KeyId, EncapsulationAlgorithm: "ML_KEM"}
			for b.Loop() {
				if _, err := env.KMS.Encapsulate(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecapsulate(b *testing.B) {
	env := benchSignEnv(b)
	for _, c := range sdkKEMSizes {
		b.Run(string(c.spec)+"/library", func(b *testing.B) {
			k, err := kcrypto.GenerateKeyPair(string(c.spec))
			if err != nil {
				b.Fatal(err)
			}
			_, ct, err := k.Public().Encapsulate()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := k.Decapsulate(ct); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(c.spec)+"/api", func(b *testing.B) {
			ctx := context.Background()
			k, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
			if err != nil {
				b.Fatal(err)
			}
			enc, err := env.KMS.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: k.KeyMetadata.KeyId, EncapsulationAlgorithm: "ML_KEM"})
			if err != nil {
				b.Fatal(err)
			}
			in := &kms.DecapsulateInput{KeyId: k.KeyMetadata.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob}
			for b.Loop() {
				if _, err := env.KMS.Decapsulate(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
