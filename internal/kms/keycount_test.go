package kms

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/clock"
	"github.com/kagikms/kagi/internal/storage"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// writeKeys stores n key records in a round of states, spread over two
// accounts, as a store holds them: a policy, one sealed material version.
func writeKeys(tb testing.TB, st storage.Store, n int, states []string, now time.Time) {
	tb.Helper()
	policy := `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
	for start := 0; start < n; start += 1000 {
		err := st.Update(context.Background(), func(tx storage.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				acct := []string{"111122223333", "444455556666"}[i%2]
				id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				k := keyRecord{
					KeyID: id, Account: acct, Region: "us-east-1", ARN: "arn:aws:kms:us-east-1:" + acct + ":key/" + id,
					Created: now, KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS",
					State: states[i%len(states)], Policy: policy,
					Materials: []material{{ID: strings.Repeat("ab", 32), Sealed: make([]byte, 60), Created: now}},
				}
				if k.State == statePendingDeletion {
					due := now.Add(7 * 24 * time.Hour)
					k.DeletionDate = &due
				}
				b, err := json.Marshal(&k)
				if err != nil {
					return err
				}
				if err := tx.Put(keyKey(acct, "us-east-1", id), b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// TestKeyCountsByState counts over more than one page of records and
// leaves out keys past their deletion date.
func TestKeyCountsByState(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "kagi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fake := &clock.Fake{}
	s := &Service{store: st, clock: fake, log: slog.New(slog.DiscardHandler)}
	n := 2*keyCountPage + 7
	writeKeys(t, st, n, []string{stateEnabled, stateEnabled, stateDisabled, statePendingDeletion}, fake.Now())
	got, err := s.KeyCountsByState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{stateEnabled: 1004, stateDisabled: 502, statePendingDeletion: 501, statePendingImport: 0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	fake.Advance(8 * 24 * time.Hour)
	got, err = s.KeyCountsByState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want[statePendingDeletion] = 0
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the deletion date: counts %v, want %v", got, want)
	}
}

// BenchmarkKeyCountsByState is what one scrape of kagi_kms_keys costs
// (when the count is not reused), by number of keys.
func BenchmarkKeyCountsByState(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st, err := bolt.Open(filepath.Join(b.TempDir(), "kagi.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			s := &Service{store: st, clock: clock.System{}, log: slog.New(slog.DiscardHandler)}
			writeKeys(b, st, n, []string{stateEnabled, stateDisabled}, time.Now())
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				counts, err := s.KeyCountsByState(context.Background())
				if err != nil || counts[stateEnabled]+counts[stateDisabled] != n {
					b.Fatalf("%v, %v", counts, err)
				}
			}
		})
	}
}
