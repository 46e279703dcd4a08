package engine

import (
	"fmt"
	"sort"

	"github.com/fjord-streaming/fjord/storage"
)

// ReadResult is what Read returns.
type ReadResult struct {
	Offsets
	// Records are the records read, in offset order; they own their bytes.
	Records []storage.Record
	// NextOffset is where the next read should start.
	NextOffset int64
	// Broker is the broker whose replica served the read.
	Broker int32
}

// Read returns committed records (below the HW) starting at from: at most
// maxRecords, and stopping once maxBytes is reached (but always at least one
// record when any is available). from outside [log start, HW] is an
// *OffsetOutOfRangeError. While another broker leads, it reads there.
func (p *Partition) Read(from int64, maxRecords, maxBytes int) (ReadResult, error) {
	_, local, err := p.leader()
	switch {
	case err != nil:
		return ReadResult{NextOffset: from}, err
	case !local:
		return p.readLeader(from, maxRecords, maxBytes)
	}
	return p.ReadLocal(from, maxRecords, maxBytes)
}

// ReadLocal is Read of this broker's own replica, bounded by its own HW. A
// read that starts within the batches kept in memory (recent.go) decodes
// those; any other reads Pebble.
func (p *Partition) ReadLocal(from int64, maxRecords, maxBytes int) (ReadResult, error) {
	p.mu.Lock()
	off := p.offsetsLocked()
	recent := p.recent
	p.mu.Unlock()
	res := ReadResult{Offsets: off, NextOffset: from, Broker: p.env.self}
	if from < off.LogStart || from > off.HighWatermark {
		return res, &OffsetOutOfRangeError{Offset: from, LogStartOffset: off.LogStart, HighWatermark: off.HighWatermark}
	}
	if from == off.HighWatermark || maxRecords <= 0 {
		return res, nil
	}
	c := collector{from: from, maxRecords: maxRecords, maxBytes: maxBytes, hw: off.HighWatermark}
	c.records = make([]storage.Record, 0, min(int64(maxRecords), off.HighWatermark-from, 4096))
	var err error
	if i := recentIndex(recent, from); i >= 0 {
		err = c.fromMemory(recent[i:])
	} else {
		err = c.fromStorage(p.db, p.id, off.LogStart)
	}
	res.Records = c.records
	if err != nil {
		return res, fmt.Errorf("read %s/%d: %w", p.topic, p.index, err)
	}
	if len(res.Records) == 0 || res.Records[0].Offset != from {
		// Retention removed `from` between the offsets snapshot and the read.
		now := p.LocalOffsets()
		return res, &OffsetOutOfRangeError{Offset: from, LogStartOffset: now.LogStart, HighWatermark: now.HighWatermark}
	}
	res.NextOffset = res.Records[len(res.Records)-1].Offset + 1
	return res, nil
}

// recentIndex is the index of the kept batch that holds offset from, or -1
// when from lies before the first one.
func recentIndex(recent []recentBatch, from int64) int {
	if len(recent) == 0 || from < recent[0].base {
		return -1
	}
	i := sort.Search(len(recent), func(i int) bool { return recent[i].base > from })
	return i - 1
}

// collector gathers the records of one read from consecutive batches.
type collector struct {
	from       int64
	maxRecords int
	maxBytes   int
	hw         int64
	records    []storage.Record
	size       int
}

// full reports whether the read has all it may return.
func (c *collector) full() bool {
	return len(c.records) >= c.maxRecords || (c.size >= c.maxBytes && len(c.records) > 0)
}

// add takes the records of batch b that the read wants, and reports whether
// b reached the HW (nothing after it may be returned). The records alias b.
func (c *collector) add(b []byte) (atHW bool, err error) {
	start := len(c.records)
	hdr, recs, err := storage.DecodeBatchRange(c.records, b, c.from, c.maxRecords-start)
	if err != nil {
		return true, err
	}
	// Keep only records below the HW, within maxBytes; DecodeBatchRange
	// already applied from and maxRecords.
	kept := recs[:start]
	for _, r := range recs[start:] {
		if r.Offset >= c.hw || (c.size >= c.maxBytes && len(kept) > 0) {
			break
		}
		c.size += r.Size()
		kept = append(kept, r)
	}
	c.records = kept
	return hdr.NextOffset() >= c.hw, nil
}

// fromMemory reads kept batches, whose bytes never change.
func (c *collector) fromMemory(batches []recentBatch) error {
	for _, b := range batches {
		if c.full() {
			return nil
		}
		if atHW, err := c.add(b.data); err != nil || atHW {
			return err
		}
	}
	return nil
}

// fromStorage reads the partition's log from Pebble.
func (c *collector) fromStorage(db *storage.DB, id storage.PartitionID, logStart int64) error {
	it, err := db.ReadLog(id, logStart, c.from)
	if err != nil {
		return err
	}
	defer it.Close()
	// The limits are checked before Next: Next loads the batch's value, and a
	// read that is already full must not fetch one more batch to discard it.
	for !c.full() && it.Next() {
		// Pebble's buffer is valid only until Next; the records outlive it.
		if atHW, err := c.add(append([]byte(nil), it.Batch()...)); err != nil || atHW {
			return err
		}
	}
	return it.Err()
}

// OffsetForTimestamp returns the first committed offset whose timestamp is at
// least ts, and false when there is none. While another broker leads, it
// asks there.
func (p *Partition) OffsetForTimestamp(ts int64) (int64, bool, error) {
	if _, local, err := p.leader(); err == nil && !local {
		r, err := p.offsetForTimestampLeader(ts)
		return r.Offset, r.Found, err
	}
	return p.offsetForTimestampLocal(ts)
}

func (p *Partition) offsetForTimestampLocal(ts int64) (int64, bool, error) {
	off := p.LocalOffsets()
	base, found, err := p.db.FindTime(p.id, ts)
	if err != nil || !found {
		return 0, false, err
	}
	from := max(base, off.LogStart)
	for from < off.HighWatermark {
		res, err := p.ReadLocal(from, 1000, 4<<20)
		if err != nil {
			return 0, false, err
		}
		for _, r := range res.Records {
			if r.Timestamp >= ts {
				return r.Offset, true, nil
			}
		}
		from = res.NextOffset
	}
	return 0, false, nil
}
