package server_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// BenchmarkQuotaEncrypt32 measures Encrypt through the SDK with AWS's
// default request quotas enforced and with none, in one run, the audit
// trail off in both so that the quota check is not lost in fsync time.
// Without the audit trail a 2-core machine passes 10,000 Encrypts a
// second, AWS's symmetric default, so that quota is raised out of reach:
// the check costs the same at any rate. Run it a few times, alternating
// (-count runs each mode back to back, and the machine's drift is larger
// than the difference):
//
//	for i in 1 2 3 4; do go test -run '^$' -bench 'QuotaEncrypt32' ./internal/server; done
func BenchmarkQuotaEncrypt32(b *testing.B) {
	for _, mode := range []struct {
		name string
		opt  servertest.Option
	}{
		{"quotas=default", servertest.WithQuotas("symmetric=1e9")},
		{"quotas=off", nil},
	} {
		b.Run(mode.name, func(b *testing.B) {
			opts := []servertest.Option{servertest.WithLogOutput(io.Discard), servertest.WithoutAudit()}
			if mode.opt != nil {
				opts = append(opts, mode.opt)
			}
			env := servertest.Start(b, opts...)
			k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
			if err != nil {
				b.Fatal(err)
			}
			runEncrypt(b, env.KMS, *k.KeyMetadata.KeyId)
		})
	}
}
