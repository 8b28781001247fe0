package server_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// BenchmarkRequestEncrypt32Metrics runs BenchmarkRequestEncrypt32's
// request with metrics off and on, one after the other, so that with
// -count the two alternate and share the machine's load; the ratio is
// what counting each request costs.
//
//	go test -run '^$' -bench 'RequestEncrypt32Metrics' -count 8 ./internal/server
func BenchmarkRequestEncrypt32Metrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		opts := []servertest.Option{servertest.WithLogOutput(io.Discard)}
		if on {
			name = "on"
			opts = append(opts, servertest.WithMetrics())
		}
		b.Run(name, func(b *testing.B) {
			env := servertest.Start(b, opts...)
			k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
			if err != nil {
				b.Fatal(err)
			}
			runEncrypt(b, env.KMS, *k.KeyMetadata.KeyId)
			if !on {
				return
			}
			b.StopTimer()
			mfs := scrape(b, env.Server.MetricsURL)
			if n, _ := metricValue(mfs, "kagi_requests_total", map[string]string{"service": "kms", "operation": "Encrypt", "outcome": "success"}); n < float64(b.N) {
				b.Fatalf("counted %v Encrypts, ran %d", n, b.N)
			}
		})
	}
}
