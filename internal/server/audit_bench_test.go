package server_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// BenchmarkAuditEncrypt32 measures Encrypt through the SDK with the audit
// trail in its default, durable mode (each record on disk before the
// response), in the relaxed mode (fsync every 10 ms) and off, for 2, 16
// and 64 concurrent clients, in one run. With few clients each request
// waits for an fsync of its own; with more, the log's group commit shares
// one fsync among the records that queued meanwhile:
//
//	go test -run '^$' -bench 'AuditEncrypt32' -count 3 ./internal/server
func BenchmarkAuditEncrypt32(b *testing.B) {
	for _, clients := range []int{2, 16, 64} {
		for _, mode := range []struct {
			name string
			opt  servertest.Option
		}{
			{"durable", nil},
			{"relaxed", servertest.WithAuditSyncInterval(10 * time.Millisecond)},
			{"off", servertest.WithoutAudit()},
		} {
			b.Run(fmt.Sprintf("clients=%d/%s", clients, mode.name), func(b *testing.B) {
				opts := []servertest.Option{servertest.WithLogOutput(io.Discard)}
				if mode.opt != nil {
					opts = append(opts, mode.opt)
				}
				env := servertest.Start(b, opts...)
				k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
				if err != nil {
					b.Fatal(err)
				}
				b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
				runEncrypt(b, env.KMS, *k.KeyMetadata.KeyId)
				b.StopTimer()
				recs, _ := auditRecords(b, env)
				if mode.name == "off" && len(recs) != 0 {
					b.Fatalf("%d records with the audit trail off", len(recs))
				}
				if mode.name != "off" && len(recs) < b.N+1 {
					b.Fatalf("%d records for %d requests", len(recs), b.N+1)
				}
			})
		}
	}
}
