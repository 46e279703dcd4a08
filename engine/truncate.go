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
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	off := p.Offsets()
	limit := min(offset, off.HighWatermark)
	if limit <= off.LogStart {
		return off.LogStart, nil
	}
	it, err := p.db.ReadLog(p.id, off.LogStart, off.LogStart)
	if err != nil {
		return off.LogStart, err
	}
	newStart, dropped := off.LogStart, int64(0)
	for it.Next() {
		b := it.Batch()
		h, err := storage.DecodeBatchHeader(b)
		if err != nil {
			it.Close()
			return off.LogStart, fmt.Errorf("delete records of %s/%d: %w", p.topic, p.index, err)
		}
		if h.NextOffset() > limit {
			break
		}
		dropped += int64(len(b))
		newStart = h.NextOffset()
	}
	if err := it.Close(); err != nil {
		return off.LogStart, err
	}
	if newStart == off.LogStart {
		return newStart, nil
	}
	// Appends and retention only happen under writeMu, so bytes cannot
	// change meanwhile.
	st := storage.PartitionState{LogStart: newStart, Bytes: off.Bytes - dropped}
	if err := p.db.TruncateHead(p.id, newStart, st); err != nil {
		return off.LogStart, err
	}
	p.mu.Lock()
	p.logStart, p.bytes = newStart, st.Bytes
	p.mu.Unlock()
	return newStart, nil
}
