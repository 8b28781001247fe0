package server_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// The request benchmarks run the same SDK client against kagi and against
// a trivial HTTPS server that answers every call with a canned response
// (BenchmarkBaseline*): the ratio is what kagi adds over HTTP, TLS and the
// SDK themselves. Compare them within one run:
//
//	go test -run '^$' -bench 'Baseline|Request' ./internal/server

func benchKagi(b *testing.B) (*kms.Client, string) {
	env := servertest.Start(b, servertest.WithLogOutput(io.Discard))
	k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		b.Fatal(err)
	}
	return env.KMS, *k.KeyMetadata.KeyId
}

// benchCanned returns a client for a TLS server that answers resp to
// everything, after reading the request as any server must.
func benchCanned(b *testing.B, resp []byte) *kms.Client {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(resp)
	}))
	b.Cleanup(ts.Close)
	return servertest.NewClient(ts.URL, ts.Client(), "us-east-1", servertest.AccessKeyID, "secret")
}

// benchResponse captures a real kagi response body for the canned server.
func benchEncryptResponse(b *testing.B, c *kms.Client, keyID string) []byte {
	out, err := c.Encrypt(context.Background(), &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	return []byte(`{"CiphertextBlob":"` + base64.StdEncoding.EncodeToString(out.CiphertextBlob) + `","KeyId":"` + *out.KeyId + `","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`)
}

func runEncrypt(b *testing.B, c *kms.Client, keyID string) {
	in := &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: make([]byte, 32),
		EncryptionContext: map[string]string{"purpose": "bench"}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Encrypt(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRequestEncrypt32(b *testing.B) {
	c, id := benchKagi(b)
	runEncrypt(b, c, id)
}

func BenchmarkBaselineEncrypt32(b *testing.B) {
	c, id := benchKagi(b)
	runEncrypt(b, benchCanned(b, benchEncryptResponse(b, c, id)), id)
}

func BenchmarkRequestDecrypt32(b *testing.B) {
	c, id := benchKagi(b)
	ct, err := c.Encrypt(context.Background(), &kms.EncryptInput{KeyId: aws.String(id), Plaintext: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	in := &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Decrypt(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRequestCreateKey(b *testing.B) {
	c, _ := benchKagi(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
