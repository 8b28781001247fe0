package server_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// BenchmarkAuditEncrypt32 and BenchmarkAuditOffEncrypt32 measure Encrypt
// through the SDK with the audit trail in its default, durable mode (each
// record on disk before the response) and with the trail off, in one run:
//
//	go test -run '^$' -bench 'Audit' -count 5 ./internal/server
func BenchmarkAuditEncrypt32(b *testing.B) {
	env := servertest.Start(b, servertest.WithLogOutput(io.Discard))
	k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		b.Fatal(err)
	}
	runEncrypt(b, env.KMS, *k.KeyMetadata.KeyId)
	b.StopTimer()
	if recs, _ := auditRecords(b, env); len(recs) < b.N+1 {
		b.Fatalf("%d records for %d requests", len(recs), b.N+1)
	}
}

func BenchmarkAuditOffEncrypt32(b *testing.B) {
	env := servertest.Start(b, servertest.WithoutAudit(), servertest.WithLogOutput(io.Discard))
	k, err := env.KMS.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		b.Fatal(err)
	}
	runEncrypt(b, env.KMS, *k.KeyMetadata.KeyId)
	b.StopTimer()
	if recs, _ := auditRecords(b, env); len(recs) != 0 {
		b.Fatalf("%d records with the audit trail off", len(recs))
	}
}
