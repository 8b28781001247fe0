package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	kcrypto "github.com/kagikms/kagi/internal/crypto"
)

// BenchmarkGenerateDataKeyPair runs GenerateDataKeyPair of each spec
// through the API (aws-sdk-go-v2 → HTTPS → kagi: key generation, PKCS #8,
// sealing under a symmetric key) next to the key generation and PKCS #8
// encoding alone (internal/crypto), one request at a time; the ratio
// api/library is what the request path adds. RSA key generation is slow
// and its time varies widely (the search for primes), so give RSA specs a
// fixed count and several runs:
//
//	go test -run '^$' -bench 'GenerateDataKeyPair/(ECC|ML)' -count 5 ./internal/server
//	go test -run '^$' -bench 'GenerateDataKeyPair/RSA' -benchtime 40x -count 3 ./internal/server
func BenchmarkGenerateDataKeyPair(b *testing.B) {
	env := benchSignEnv(b)
	ctx := context.Background()
	k, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		b.Fatal(err)
	}
	for _, spec := range sdkDataKeyPairSpecs {
		b.Run(string(spec)+"/library", func(b *testing.B) {
			for b.Loop() {
				kp, err := kcrypto.GenerateKeyPair(string(spec))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := kp.MarshalPKCS8(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(spec)+"/api", func(b *testing.B) {
			in := &kms.GenerateDataKeyPairInput{KeyId: k.KeyMetadata.KeyId, KeyPairSpec: spec,
				EncryptionContext: map[string]string{"bench": "data key pair"}}
			for b.Loop() {
				if _, err := env.KMS.GenerateDataKeyPair(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
