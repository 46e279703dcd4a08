package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// PartitionState is what storage keeps for a partition beside its batches.
type PartitionState struct {
	// LogStart is the first retained offset; always the base of a batch or the LEO.
	LogStart int64
	// Bytes is the encoded size of the retained batches.
	Bytes int64
}

func encodeState(s PartitionState) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(s.LogStart))
	binary.BigEndian.PutUint64(b[8:], uint64(s.Bytes))
	return b
}

// TimeEntry is one time-index entry: the first batch at which the
// partition's running maximum timestamp reached MaxTime.
type TimeEntry struct {
	MaxTime    int64
	BaseOffset int64
}

// Recovered is what LoadPartition finds on disk.
type Recovered struct {
	State PartitionState
	// EndOffset is the log end offset: the offset after the last stored record.
	EndOffset int64
	// MaxTime is the running maximum timestamp, or -1 for an empty log.
	MaxTime int64
	// LeaderEpoch is the latest leader epoch recorded, or -1.
	LeaderEpoch int32
}

// LoadPartition recovers a partition's state; a partition never written
// recovers as empty at offset 0.
func (db *DB) LoadPartition(id PartitionID) (Recovered, error) {
	rec := Recovered{MaxTime: -1, LeaderEpoch: -1}
	v, closer, err := db.p.Get(partKey(prefixState, id, 0))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return rec, fmt.Errorf("storage: load %s: %w", id, err)
	default:
		if len(v) != 16 {
			closer.Close()
			return rec, fmt.Errorf("%w: state of %s", ErrCorrupt, id)
		}
		rec.State.LogStart = int64(binary.BigEndian.Uint64(v))
		rec.State.Bytes = int64(binary.BigEndian.Uint64(v[8:]))
		closer.Close()
	}
	rec.EndOffset = rec.State.LogStart
	err = db.last(prefixLog, id, func(k, v []byte) error {
		h, err := DecodeBatchHeader(v)
		if err != nil {
			return fmt.Errorf("last batch of %s: %w", id, err)
		}
		rec.EndOffset = h.NextOffset()
		return nil
	})
	if err != nil {
		return rec, err
	}
	err = db.last(prefixTime, id, func(k, v []byte) error {
		rec.MaxTime = int64(binary.BigEndian.Uint64(k[13:]))
		return nil
	})
	if err != nil {
		return rec, err
	}
	err = db.last(prefixEpoch, id, func(k, v []byte) error {
		rec.LeaderEpoch = int32(binary.BigEndian.Uint32(k[13:]))
		return nil
	})
	return rec, err
}

func (db *DB) last(prefix byte, id PartitionID, fn func(k, v []byte) error) error {
	lo, hi := partBounds(prefix, id)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	if it.Last() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// Write is one append to a partition: consecutive encoded batches, the
// partition state after them, and the time-index entries they add.
type Write struct {
	Batches [][]byte
	State   PartitionState
	Times   []TimeEntry
}

// Append stores w atomically. With sync it returns only after the WAL is
// synced. The batches' bytes are copied; the caller may reuse them.
func (db *DB) Append(id PartitionID, w *Write, sync bool) error {
	b := db.p.NewBatch()
	defer b.Close()
	for _, batch := range w.Batches {
		base := int64(binary.BigEndian.Uint64(batch[5:]))
		if err := b.Set(logKey(id, base), batch, nil); err != nil {
			return err
		}
	}
	for _, t := range w.Times {
		k := binary.BigEndian.AppendUint64(partKey(prefixTime, id, 8), uint64(t.MaxTime))
		if err := b.Set(k, binary.BigEndian.AppendUint64(nil, uint64(t.BaseOffset)), nil); err != nil {
			return err
		}
	}
	if err := b.Set(partKey(prefixState, id, 0), encodeState(w.State), nil); err != nil {
		return err
	}
	var err error
	if sync {
		err = db.commit(b)
	} else {
		err = db.p.Apply(b, pebble.NoSync)
	}
	if err != nil {
		return fmt.Errorf("storage: append %s: %w", id, err)
	}
	return nil
}

// PutLeaderEpoch durably records that epoch starts at startOffset.
func (db *DB) PutLeaderEpoch(id PartitionID, epoch int32, startOffset int64) error {
	k := binary.BigEndian.AppendUint32(partKey(prefixEpoch, id, 4), uint32(epoch))
	if err := db.p.Set(k, binary.BigEndian.AppendUint64(nil, uint64(startOffset)), pebble.Sync); err != nil {
		return fmt.Errorf("storage: leader epoch %s: %w", id, err)
	}
	return nil
}

// FindTime returns the base offset of the first batch whose running maximum
// timestamp is at least ts, and false when no batch reaches ts. The offset may
// lie below the log start; callers clamp it.
func (db *DB) FindTime(id PartitionID, ts int64) (int64, bool, error) {
	lo, hi := partBounds(prefixTime, id)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	if ts < 0 {
		ts = 0
	}
	k := binary.BigEndian.AppendUint64(partKey(prefixTime, id, 8), uint64(ts))
	if !it.SeekGE(k) {
		return 0, false, it.Error()
	}
	return int64(binary.BigEndian.Uint64(it.Value())), true, nil
}

// TruncateHead drops every batch below newStart (a batch base offset or the
// LEO) and records st, in one synced batch using range deletions. Time-index
// entries of dropped batches go too, except the last, which still bounds
// lookups for the batches after it.
func (db *DB) TruncateHead(id PartitionID, newStart int64, st PartitionState) error {
	b := db.p.NewBatch()
	defer b.Close()
	lo, _ := partBounds(prefixLog, id)
	if err := b.DeleteRange(lo, logKey(id, newStart), nil); err != nil {
		return err
	}
	tlo, thi := partBounds(prefixTime, id)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: tlo, UpperBound: thi})
	if err != nil {
		return err
	}
	var prev []byte
	for it.First(); it.Valid(); it.Next() {
		if int64(binary.BigEndian.Uint64(it.Value())) >= newStart {
			break
		}
		prev = append(prev[:0], it.Key()...)
	}
	if err := it.Close(); err != nil {
		return err
	}
	if prev != nil {
		if err := b.DeleteRange(tlo, prev, nil); err != nil {
			return err
		}
	}
	if err := b.Set(partKey(prefixState, id, 0), encodeState(st), nil); err != nil {
		return err
	}
	if err := db.commit(b); err != nil {
		return fmt.Errorf("storage: truncate %s to %d: %w", id, newStart, err)
	}
	return nil
}

// LogIter walks a partition's batches in offset order.
type LogIter struct {
	it      *pebble.Iterator
	id      PartitionID
	from    int64
	started bool
}

// ReadLog returns an iterator over the batches of id, never below logStart,
// starting with the one that would hold offset from: the last batch whose
// base is at or below from (so from at or past the end still yields the last
// batch), or the first batch when from lies below logStart. Callers skip the
// records before from. Close it when done.
func (db *DB) ReadLog(id PartitionID, logStart, from int64) (*LogIter, error) {
	_, hi := partBounds(prefixLog, id)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: logKey(id, logStart), UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("storage: read %s: %w", id, err)
	}
	return &LogIter{it: it, id: id, from: from}, nil
}

// Next advances to the next batch; false at the end or on error (see Err).
func (l *LogIter) Next() bool {
	if l.started {
		return l.it.Next()
	}
	l.started = true
	// The batch holding `from` is the last one whose base is <= from; when
	// from lies below the lower bound, the first batch.
	if l.it.SeekLT(logKey(l.id, l.from+1)) {
		return true
	}
	return l.it.First()
}

// Batch is the current encoded batch, valid until the next call to Next.
func (l *LogIter) Batch() []byte { return l.it.Value() }

// Err is the iteration error, if any.
func (l *LogIter) Err() error { return l.it.Error() }

// Close releases the iterator.
func (l *LogIter) Close() error { return l.it.Close() }
