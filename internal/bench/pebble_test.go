package bench

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkPebbleSyncedAppend is the raw-Pebble ceiling of target 1: synced
// appends of batches of 100-byte records, one key per batch, from 1 and 4
// concurrent writers (Pebble shares a WAL sync among concurrent commits).
// Compare its records/s with `fjord bench produce` in the same run.
func BenchmarkPebbleSyncedAppend(b *testing.B) {
	for _, batch := range []int{1, 1000} {
		for _, writers := range []int{1, 4} {
			b.Run(fmt.Sprintf("batch=%d/writers=%d", batch, writers), func(b *testing.B) {
				a, err := openAppender(b.TempDir(), batch, 100)
				if err != nil {
					b.Fatal(err)
				}
				defer a.close()
				b.SetBytes(int64(batch * 100))
				b.ResetTimer()
				var left atomic.Int64
				left.Store(int64(b.N))
				var wg sync.WaitGroup
				for range writers {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if err := a.append(a.next.Add(int64(batch)) - int64(batch)); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
