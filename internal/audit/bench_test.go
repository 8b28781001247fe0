package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppend measures Append with N concurrent appenders: durable
// (group commit), relaxed (fsync every 10 ms), and, as the baseline in the
// same run, a raw f.Write+f.Sync per record under a mutex, which is what
// the log did before group commit. Compare records/s of durable with
// baseline at the same N for the ratio.
func BenchmarkAppend(b *testing.B) {
	record := rec(1)
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("baseline-write-sync/appenders=%d", n), func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "raw.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var mu sync.Mutex
			line := append(record[:len(record):len(record)], '\n')
			run(b, n, func() error {
				mu.Lock()
				defer mu.Unlock()
				if _, err := f.Write(line); err != nil {
					return err
				}
				return f.Sync()
			})
		})
		for _, mode := range []struct {
			name string
			sync time.Duration
		}{{"durable", 0}, {"relaxed-10ms", 10 * time.Millisecond}} {
			b.Run(fmt.Sprintf("%s/appenders=%d", mode.name, n), func(b *testing.B) {
				l, err := OpenWith(filepath.Join(b.TempDir(), "audit"), Options{Signer: newKey(b), SyncInterval: mode.sync})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				ctx := context.Background()
				run(b, n, func() error { return l.Append(ctx, record) })
				st := l.Stats()
				b.ReportMetric(float64(st.Records)/float64(max(st.Fsyncs, 1)), "records/fsync")
			})
		}
	}
}

// run calls op b.N times from n goroutines and reports records/s.
func run(b *testing.B, n int, op func() error) {
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per, extra := b.N/n, b.N%n
	for g := range n {
		k := per
		if g < extra {
			k++
		}
		wg.Go(func() {
			for range k {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}
