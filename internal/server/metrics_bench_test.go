package server_test

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// BenchmarkRequestEncrypt32Metrics sends BenchmarkRequestEncrypt32's
// request to two servers started side by side, one with metrics off and
// one with them on, in alternating rounds of 64 requests (two at a time),
// so that both see the same load of a shared machine. It reports each
// server's time per request and their ratio, on/off: what counting each
// request costs. ns/op counts both servers' requests.
//
//	go test -run '^$' -bench 'RequestEncrypt32Metrics' ./internal/server
func BenchmarkRequestEncrypt32Metrics(b *testing.B) {
	type target struct {
		c  *kms.Client
		in *kms.EncryptInput
		t  time.Duration
	}
	var targets [2]*target // off, on
	for i, on := range []bool{false, true} {
		opts := []servertest.Option{servertest.WithLogOutput(io.Discard)}
		if on {
			opts = append(opts, servertest.WithMetrics())
		}
		env := servertest.Start(b, opts...)
		k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
		if err != nil {
			b.Fatal(err)
		}
		targets[i] = &target{c: env.KMS, in: &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: make([]byte, 32),
			EncryptionContext: map[string]string{"purpose": "bench"}}}
		if on {
			b.Cleanup(func() {
				mfs := scrape(b, env.Server.MetricsURL)
				if n, _ := metricValue(mfs, "kagi_requests_total", map[string]string{"service": "kms", "operation": "Encrypt", "outcome": "success"}); n < float64(b.N) {
					b.Errorf("counted %v Encrypts, sent at least %d", n, b.N)
				}
			})
		}
	}
	round := func(tg *target, n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					if _, err := tg.c.Encrypt(context.Background(), tg.in); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		tg.t += time.Since(start)
	}
	b.ReportAllocs()
	b.ResetTimer()
	const chunk = 64
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		round(targets[0], n)
		round(targets[1], n)
	}
	b.StopTimer()
	off, on := targets[0].t, targets[1].t
	b.ReportMetric(float64(off.Nanoseconds())/float64(b.N), "off-ns/req")
	b.ReportMetric(float64(on.Nanoseconds())/float64(b.N), "on-ns/req")
	b.ReportMetric(on.Seconds()/off.Seconds(), "on/off")
}
