package kms

import (
	"testing"

	"github.com/kagikms/kagi/internal/clock"
)

// BenchmarkUsedKey is what recording a last use adds to each cryptographic
// operation (compare with BenchmarkRequestEncrypt32 in internal/server,
// tens of microseconds): a clock read and a map write under a mutex, from
// every core at once, on one hot key.
func BenchmarkUsedKey(b *testing.B) {
	s := &Service{clock: clock.System{}}
	k := &keyRecord{Account: "111122223333", Region: "us-east-1", KeyID: "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
	c := &Caller{RequestID: "93746dd6-63bc-11e4-bc2b-4198b6150d5c"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.usedKey(k, "Encrypt", c)
		}
	})
	if len(s.usage.pending) != 1 {
		b.Fatalf("%d pending last uses, want 1", len(s.usage.pending))
	}
}
