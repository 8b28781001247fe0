package bolt

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kagikms/kagi/internal/storage"
)

// BenchmarkCompact measures Compact on an open store of n key records of
// about 2 KiB (a key record with its policy and sealed material), a tenth
// of them deleted: how long transactions wait when a sweep that erased
// something compacts the store. (After the first round the file holds no
// free pages; copying the live data is most of the cost either way.)
//
//	go test -run '^$' -bench Compact ./internal/storage/bolt
func BenchmarkCompact(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			src := filepath.Join(dir, "kagi.db")
			s, err := Open(src)
			if err != nil {
				b.Fatal(err)
			}
			val := make([]byte, 2048)
			rand.Read(val)
			for i := 0; i < n; i += 1000 {
				err := s.Update(context.Background(), func(tx storage.Tx) error {
					for j := i; j < i+1000 && j < n; j++ {
						if err := tx.Put(fmt.Appendf(nil, "k/111122223333/us-east-1/%08d", j), val); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			err = s.Update(context.Background(), func(tx storage.Tx) error {
				for j := 0; j < n; j += 10 {
					if err := tx.Delete(fmt.Appendf(nil, "k/111122223333/us-east-1/%08d", j)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fi, err := os.Stat(src)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := s.Compact(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
		})
	}
}
