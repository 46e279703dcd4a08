package engine

import (
	"fmt"

	"github.com/fjord-streaming/fjord/storage"
)

// DeleteRecordsBefore advances the log start offset towards offset, like
// Kafka's DeleteRecords: it drops the whole batches that end at or before
// offset (never past the high watermark) and returns the new log start.
// Records of a batch that straddles offset stay. The group coordinator uses
// it to drop what its snapshots in __consumer_offsets superseded.
func (p *Partition) DeleteRecordsBefore(offset int64) (int64, error) {
	if !p.Leading() {
		return 0, fmt.Errorf("%s/%d: %w", p.topic, p.index, ErrNotLeader)
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	return p.dropHead(func(h storage.BatchHeader, _ int64) bool { return h.NextOffset() <= offset })
}

// dropHead drops whole batches from the head of the log while drop holds for
// the oldest one, never past the HW, and returns the new log start. drop gets
// the batch's header and the partition's byte count before dropping it.
// writeMu must be held, so that no append or other truncation runs meanwhile.
func (p *Partition) dropHead(drop func(h storage.BatchHeader, retained int64) bool) (int64, error) {
	p.mu.Lock()
	start, tailBytes, hw := p.start, p.tail.Bytes, p.hw
	p.mu.Unlock()
	if start.LogStart >= hw {
		return start.LogStart, nil
	}
	it, err := p.db.ReadLog(p.id, start.LogStart, start.LogStart)
	if err != nil {
		return start.LogStart, err
	}
	next := start
	for it.Next() {
		h, err := storage.DecodeBatchHeader(it.Batch())
		if err != nil {
			_ = it.Close()
			return start.LogStart, fmt.Errorf("truncate %s/%d: %w", p.topic, p.index, err)
		}
		if h.NextOffset() > hw || !drop(h, tailBytes-next.BytesBefore) {
			break
		}
		next = storage.PartitionState{LogStart: h.NextOffset(), BytesBefore: it.CumulativeBytes(), MaxTimeBefore: it.RunningMaxTime()}
	}
	if err := it.Close(); err != nil {
		return start.LogStart, fmt.Errorf("truncate %s/%d: %w", p.topic, p.index, err)
	}
	if next.LogStart == start.LogStart {
		return start.LogStart, nil
	}
	// The new log start is published before the deletion, so that no reader
	// starts below it while the batches are going.
	p.mu.Lock()
	p.start = next
	p.mu.Unlock()
	st, err := p.db.TruncateHead(p.id, next.LogStart)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.start = start
		return start.LogStart, fmt.Errorf("truncate %s/%d: %w", p.topic, p.index, err)
	}
	p.start = st
	return st.LogStart, nil
}
