package engine

import (
	"testing"

	"github.com/fjord-streaming/fjord/storage"
)

// batchOf encodes a batch of n records of size bytes each at base.
func batchOf(base int64, n, size int) []byte {
	recs := make([]storage.Record, n)
	for i := range recs {
		recs[i] = storage.Record{Timestamp: 1, ValueFormat: storage.FormatJSON, Value: make([]byte, size)}
	}
	return storage.AppendBatch(nil, base, 0, recs)
}

// TestRecentRunStaysContiguousAndBounded appends batches of various sizes
// and checks after each write that the kept run ends at the LEO with no
// gaps, within a partition's bounds and the shared budget, and that closing
// the partition returns its bytes.
func TestRecentRunStaysContiguousAndBounded(t *testing.T) {
	const budgetBytes = 200 << 10
	budget := newRecentBudget(budgetBytes)
	parts := make([]*Partition, 4)
	for i := range parts {
		parts[i] = &Partition{budget: budget, hwCh: make(chan struct{}), leoCh: make(chan struct{})}
	}
	leos := make([]int64, len(parts))
	writes := [][]int{{1}, {3, 2}, {100}, {1, 1, 1, 1}, {500}, {2}, {700, 2}, {1}, {64}, {1000}, {5}}
	for round := range 30 {
		for pi, p := range parts {
			var batches [][]byte
			for _, n := range writes[(round+pi)%len(writes)] {
				batches = append(batches, batchOf(leos[pi], n, 100))
				leos[pi] += int64(n)
			}
			added := copyRecent(batches, leos[pi])
			p.mu.Lock()
			p.remember(added, len(added) == len(batches))
			p.mu.Unlock()
			checkRun(t, p, leos[pi])
		}
		total := 0
		for _, p := range parts {
			total += p.recentBytes
		}
		if left := budget.left.Load(); left < 0 || int64(total)+left != budgetBytes {
			t.Fatalf("round %d: partitions keep %d bytes, budget has %d of %d left", round, total, left, budgetBytes)
		}
	}
	for _, p := range parts {
		p.close()
	}
	if left := budget.left.Load(); left != budgetBytes {
		t.Fatalf("after close the budget has %d of %d bytes", left, budgetBytes)
	}
}

func checkRun(t *testing.T, p *Partition, leo int64) {
	t.Helper()
	if len(p.recent) > recentMaxBatches || p.recentBytes > recentMaxBytes || batchesSize(p.recent) != p.recentBytes {
		t.Fatalf("run of %d batches, %d bytes (counted %d)", len(p.recent), batchesSize(p.recent), p.recentBytes)
	}
	next := leo
	for i := len(p.recent) - 1; i >= 0; i-- {
		h, err := storage.DecodeBatchHeader(p.recent[i].data)
		if err != nil {
			t.Fatal(err)
		}
		if h.BaseOffset != p.recent[i].base || h.NextOffset() != next {
			t.Fatalf("kept batch %d: base %d (header %d), ends at %d, want %d", i, p.recent[i].base, h.BaseOffset, h.NextOffset(), next)
		}
		next = h.BaseOffset
	}
}
