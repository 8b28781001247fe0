package server_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// BenchmarkRequestEncrypt32Metrics is BenchmarkRequestEncrypt32 with
// metrics on: the ratio of the two, in one run, is what counting each
// request costs.
//
//	go test -run '^$' -bench 'RequestEncrypt32' ./internal/server
func BenchmarkRequestEncrypt32Metrics(b *testing.B) {
	env := servertest.Start(b, servertest.WithLogOutput(io.Discard), servertest.WithMetrics())
	k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		b.Fatal(err)
	}
	runEncrypt(b, env.KMS, *k.KeyMetadata.KeyId)
	b.StopTimer()
	mfs := scrape(b, env.Server.MetricsURL)
	if n, _ := metricValue(mfs, "kagi_requests_total", map[string]string{"service": "kms", "operation": "Encrypt", "outcome": "success"}); n < float64(b.N) {
		b.Fatalf("counted %v Encrypts, ran %d", n, b.N)
	}
}
