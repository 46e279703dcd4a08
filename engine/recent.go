package engine

import (
	"sync/atomic"

	"github.com/fjord-streaming/fjord/storage"
)

// A partition keeps copies of its newest batches in memory, so that readers
// at the tail (WebSocket subscribers, long polls woken by a produce) decode
// them without opening a Pebble iterator. The copies form one contiguous run
// of batches ending at the LEO. The run is replaced, never changed in place,
// so a reader's snapshot stays valid while appends go on. Whatever rewrites
// the log's tail (a follower truncating to its leader's log, once there is
// replication) must forgetRecent first.
const (
	// recentMaxBatches and recentMaxBytes bound one partition's run; a
	// batch larger than recentMaxBytes is never kept (its readers are few
	// and far between, and one seek serves a whole large batch). The byte
	// bound is a storage batch's (maxBatchBytes): followers fetch the
	// batches just written, and a produce of 1000 records of 100 bytes
	// makes a 110 KB batch, which a 64 KiB bound sent to Pebble for every
	// follower fetch (a seek and a copy of the value: 7% of an RF=3
	// leader's CPU).
	recentMaxBatches = 64
	recentMaxBytes   = maxBatchBytes
	// recentBudgetBytes bounds the runs of all partitions of an engine
	// together. A partition that finds the budget spent keeps nothing.
	recentBudgetBytes = 16 << 20
)

// recentBatch is one kept batch: its base offset and encoded bytes, which
// are never modified.
type recentBatch struct {
	base int64
	data []byte
}

// recentBudget is what is left of an engine's recentBudgetBytes.
type recentBudget struct{ left atomic.Int64 }

func newRecentBudget(n int64) *recentBudget {
	b := &recentBudget{}
	b.left.Store(n)
	return b
}

// take reserves n bytes and reports whether they were available.
func (b *recentBudget) take(n int) bool {
	if b.left.Add(-int64(n)) >= 0 {
		return true
	}
	b.left.Add(int64(n))
	return false
}

// give returns n bytes.
func (b *recentBudget) give(n int) { b.left.Add(int64(n)) }

// copyRecent copies the newest of batches that fit in one partition's run,
// oldest first. It returns nil when the newest batch alone is too large.
func copyRecent(batches [][]byte, leo int64) []recentBatch {
	n, size := 0, 0
	for i := len(batches) - 1; i >= 0 && n < recentMaxBatches; i-- {
		if size+len(batches[i]) > recentMaxBytes {
			break
		}
		size += len(batches[i])
		n++
	}
	out := make([]recentBatch, n)
	base := leo
	for i := n - 1; i >= 0; i-- {
		b := batches[len(batches)-n+i]
		h, err := storage.DecodeBatchHeader(b)
		if err != nil {
			return nil
		}
		base -= int64(h.Count)
		out[i] = recentBatch{base: base, data: append([]byte(nil), b...)}
	}
	return out
}

// remember makes added, the copies of the batches just written ending at
// the new LEO, the newest part of the run; allWritten says whether added
// holds every batch of the write (otherwise the run would have a gap and
// starts over with added). p.mu must be held.
func (p *Partition) remember(added []recentBatch, allWritten bool) {
	if !allWritten {
		p.forgetRecent()
	}
	if len(added) == 0 {
		return
	}
	keep := p.recent
	if len(keep)+len(added) > recentMaxBatches {
		keep = keep[len(keep)+len(added)-recentMaxBatches:]
	}
	size, keepSize := batchesSize(added), batchesSize(keep)
	for len(keep) > 0 && keepSize+size > recentMaxBytes {
		keepSize -= len(keep[0].data)
		keep = keep[1:]
	}
	delta := keepSize + size - p.recentBytes
	if delta > 0 && !p.budget.take(delta) {
		p.forgetRecent()
		return
	}
	if delta < 0 {
		p.budget.give(-delta)
	}
	next := make([]recentBatch, 0, len(keep)+len(added))
	p.recent, p.recentBytes = append(append(next, keep...), added...), keepSize+size
}

// forgetRecent drops the run and returns its bytes to the budget. p.mu
// must be held.
func (p *Partition) forgetRecent() {
	p.budget.give(p.recentBytes)
	p.recent, p.recentBytes = nil, 0
}

func batchesSize(bs []recentBatch) int {
	n := 0
	for _, b := range bs {
		n += len(b.data)
	}
	return n
}
