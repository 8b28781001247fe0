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

// BenchmarkAppendVsBaseline interleaves the baseline (raw f.Write+f.Sync
// per record under a mutex) with durable and relaxed Appends, 512 records
// of each per iteration, so that the disk's ups and downs (a shared
// machine) fall on all three alike, and reports each one's records/s and
// the ratios to the baseline.
func BenchmarkAppendVsBaseline(b *testing.B) {
	record := rec(1)
	const k = 512
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "raw.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var mu sync.Mutex
			line := append(record[:len(record):len(record)], '\n')
			raw := func() error {
				mu.Lock()
				defer mu.Unlock()
				if _, err := f.Write(line); err != nil {
					return err
				}
				return f.Sync()
			}
			key := newKey(b)
			durable, err := OpenWith(filepath.Join(b.TempDir(), "audit"), Options{Signer: key})
			if err != nil {
				b.Fatal(err)
			}
			defer durable.Close()
			relaxed, err := OpenWith(filepath.Join(b.TempDir(), "audit"), Options{Signer: key, SyncInterval: 10 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer relaxed.Close()
			ctx := context.Background()
			ops := []func() error{raw, func() error { return durable.Append(ctx, record) }, func() error { return relaxed.Append(ctx, record) }}
			var spent [3]time.Duration
			b.ResetTimer()
			for range b.N {
				for i, op := range ops {
					spent[i] += rounds(b, n, k, op)
				}
			}
			b.StopTimer()
			rate := func(d time.Duration) float64 { return float64(b.N*k) / d.Seconds() }
			b.ReportMetric(rate(spent[0]), "baseline-rec/s")
			b.ReportMetric(rate(spent[1]), "durable-rec/s")
			b.ReportMetric(rate(spent[2]), "relaxed-rec/s")
			b.ReportMetric(spent[0].Seconds()/spent[1].Seconds(), "durable/baseline")
			b.ReportMetric(spent[0].Seconds()/spent[2].Seconds(), "relaxed/baseline")
		})
	}
}

// rounds runs op k times from n goroutines and returns how long it took.
func rounds(b *testing.B, n, k int, op func() error) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for g := range n {
		c := k / n
		if g < k%n {
			c++
		}
		wg.Go(func() {
			for range c {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
