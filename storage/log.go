package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// logPrefixSize is the size of the local prefix stored before each batch in
// a log value: runningMaxTime(8) cumulativeBytes(8).
const logPrefixSize = 16

// stateSize is the size of a partition state value.
const stateSize = 24

// PartitionState is the partition state key's content: where the retained
// log starts and what the dropped batches below it add up to. It changes
// only when the head is truncated.
type PartitionState struct {
	// LogStart is the first retained offset; always the base of a batch or the LEO.
	LogStart int64
	// BytesBefore is the encoded size of every batch below LogStart, dropped
	// or not: the cumulative byte count just before the log start.
	BytesBefore int64
	// MaxTimeBefore is the running maximum timestamp of the batches below
	// LogStart, or -1 when there are none.
	MaxTimeBefore int64
}

func encodeState(s PartitionState) []byte {
	b := make([]byte, stateSize)
	binary.BigEndian.PutUint64(b, uint64(s.LogStart))
	binary.BigEndian.PutUint64(b[8:], uint64(s.BytesBefore))
	binary.BigEndian.PutUint64(b[16:], uint64(s.MaxTimeBefore))
	return b
}

// Tail is where a partition's log ends: what the next append continues from.
type Tail struct {
	// EndOffset is the log end offset (LEO): the offset after the last record.
	EndOffset int64
	// Bytes is the cumulative encoded size of every batch from offset 0 to
	// EndOffset, including batches dropped by retention.
	Bytes int64
	// MaxTime is the running maximum timestamp up to EndOffset, or -1 when
	// no record was ever appended.
	MaxTime int64
}

// Recovered is what LoadPartition finds on disk.
type Recovered struct {
	State PartitionState
	Tail  Tail
	// LeaderEpoch is the latest leader epoch recorded, or -1.
	LeaderEpoch int32
}

// RetainedBytes is the encoded size of the batches from the log start to
// the end of the log.
func (r Recovered) RetainedBytes() int64 { return r.Tail.Bytes - r.State.BytesBefore }

// LoadPartition recovers a partition from its state key and its last batch;
// a partition never written recovers as empty at offset 0.
func (db *DB) LoadPartition(id PartitionID) (Recovered, error) {
	rec := Recovered{LeaderEpoch: -1}
	st, err := db.loadState(id)
	if err != nil {
		return rec, err
	}
	rec.State = st
	rec.Tail = Tail{EndOffset: st.LogStart, Bytes: st.BytesBefore, MaxTime: st.MaxTimeBefore}
	err = db.last(prefixLog, id, func(k, v []byte) error {
		t, err := tailOf(v)
		if err != nil {
			return fmt.Errorf("last batch of %s: %w", id, err)
		}
		rec.Tail = t
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

// loadState reads the state key; absent, the log starts at 0 with nothing
// before it.
func (db *DB) loadState(id PartitionID) (PartitionState, error) {
	st := PartitionState{MaxTimeBefore: -1}
	v, closer, err := db.p.Get(partKey(prefixState, id, 0))
	if errors.Is(err, pebble.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("storage: load %s: %w", id, err)
	}
	defer closer.Close()
	if len(v) != stateSize {
		return st, fmt.Errorf("%w: state of %s", ErrCorrupt, id)
	}
	st.LogStart = int64(binary.BigEndian.Uint64(v))
	st.BytesBefore = int64(binary.BigEndian.Uint64(v[8:]))
	st.MaxTimeBefore = int64(binary.BigEndian.Uint64(v[16:]))
	return st, nil
}

// tailOf is the tail after the batch stored in log value v.
func tailOf(v []byte) (Tail, error) {
	if len(v) < logPrefixSize {
		return Tail{}, fmt.Errorf("%w: short log value", ErrCorrupt)
	}
	h, err := DecodeBatchHeader(v[logPrefixSize:])
	if err != nil {
		return Tail{}, err
	}
	return Tail{
		EndOffset: h.NextOffset(),
		MaxTime:   int64(binary.BigEndian.Uint64(v)),
		Bytes:     int64(binary.BigEndian.Uint64(v[8:])),
	}, nil
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

// Append stores consecutive encoded batches after tail, atomically, and
// returns the new tail. Each batch is stored under its base offset with the
// running maximum timestamp and cumulative byte count through it; nothing
// else is written, so a partition's keys only ever grow at its end. With
// sync it returns only after the WAL is synced. The batches' bytes are
// copied; the caller may reuse them.
func (db *DB) Append(id PartitionID, tail Tail, batches [][]byte, sync bool) (Tail, error) {
	b := db.p.NewBatch()
	defer b.Close()
	for _, batch := range batches {
		h, err := DecodeBatchHeader(batch)
		if err != nil {
			return tail, fmt.Errorf("storage: append %s: %w", id, err)
		}
		if h.BaseOffset != tail.EndOffset {
			return tail, fmt.Errorf("storage: append %s: batch at %d after log end %d", id, h.BaseOffset, tail.EndOffset)
		}
		tail.EndOffset = h.NextOffset()
		tail.MaxTime = max(tail.MaxTime, h.MaxTimestamp)
		tail.Bytes += int64(len(batch))
		op := b.SetDeferred(logKeySize, logPrefixSize+len(batch))
		putLogKey(op.Key, id, h.BaseOffset)
		binary.BigEndian.PutUint64(op.Value, uint64(tail.MaxTime))
		binary.BigEndian.PutUint64(op.Value[8:], uint64(tail.Bytes))
		copy(op.Value[logPrefixSize:], batch)
		if err := op.Finish(); err != nil {
			return tail, err
		}
	}
	var err error
	if sync {
		err = db.commit(b)
	} else {
		err = db.p.Apply(b, pebble.NoSync)
	}
	if err != nil {
		return tail, fmt.Errorf("storage: append %s: %w", id, err)
	}
	return tail, nil
}

// PutLeaderEpoch durably records that epoch, which is never negative,
// starts at startOffset.
func (db *DB) PutLeaderEpoch(id PartitionID, epoch int32, startOffset int64) error {
	if err := db.p.Set(epochKey(id, epoch), binary.BigEndian.AppendUint64(nil, uint64(startOffset)), pebble.Sync); err != nil {
		return fmt.Errorf("storage: leader epoch %s: %w", id, err)
	}
	return nil
}

// FindTime returns the base offset of the first stored batch whose running
// maximum timestamp is at least ts, and false when no batch reaches ts. It
// binary-searches the log keys by offset, reading the running maximum from
// each value's prefix: O(log n) seeks and no index to maintain.
func (db *DB) FindTime(id PartitionID, ts int64) (int64, bool, error) {
	lo, hi := partBounds(prefixLog, id)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	// at positions on the first batch whose base is >= off and reports its
	// base and whether its running maximum reaches ts.
	key := make([]byte, logKeySize)
	at := func(off int64) (base int64, ok bool, err error) {
		putLogKey(key, id, off)
		if !it.SeekGE(key) {
			if err := it.Error(); err != nil {
				return 0, false, err
			}
			return 0, false, fmt.Errorf("storage: find time in %s: no batch at or after %d", id, off)
		}
		v := it.Value()
		if len(v) < logPrefixSize {
			return 0, false, fmt.Errorf("%w: short log value in %s", ErrCorrupt, id)
		}
		return int64(binary.BigEndian.Uint64(it.Key()[13:])), int64(binary.BigEndian.Uint64(v)) >= ts, nil
	}
	if !it.Last() {
		return 0, false, it.Error()
	}
	last := int64(binary.BigEndian.Uint64(it.Key()[13:]))
	if len(it.Value()) < logPrefixSize {
		return 0, false, fmt.Errorf("%w: short log value in %s", ErrCorrupt, id)
	}
	if int64(binary.BigEndian.Uint64(it.Value())) < ts {
		return 0, false, nil
	}
	// Running maxima never go down, so search the offsets. Invariant: the
	// first batch at or after hiOff reaches ts; no batch based below loOff
	// does. A batch that misses ts moves loOff past its base, so the search
	// takes at most log2(last) seeks.
	loOff, hiOff := int64(0), last
	for loOff < hiOff {
		mid := loOff + (hiOff-loOff)/2
		base, ok, err := at(mid)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hiOff = mid
		} else {
			loOff = base + 1
		}
	}
	base, _, err := at(loOff)
	return base, err == nil, err
}

// TruncateHead drops every batch below newStart, which must be a batch base
// or the log end offset, and records the new partition state, in one synced
// batch using a range deletion. It returns the new state. A newStart at or
// below the current log start changes nothing.
//
// It leaves the leader-epoch entries alone. Kafka's truncateFromStart drops
// the entries below the new start but the latest, which it moves up to the
// new start; keeping them all changes no answer about a retained offset (the
// epoch of an offset at or above the log start, and the end offset of any
// epoch that still has records, are the same either way). Only the end
// offset of an epoch whose records are all dropped differs: it is that
// epoch's own end, at or below the log start, where Kafka answers the log
// start; a follower told an end below the log start fetches below the
// leader's log start and resets its log (ResetLog) instead of truncating it.
func (db *DB) TruncateHead(id PartitionID, newStart int64) (PartitionState, error) {
	st, err := db.loadState(id)
	if err != nil || newStart <= st.LogStart {
		return st, err
	}
	lo, hi := partBounds(prefixLog, id)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return st, err
	}
	var prev Tail
	found := it.SeekLT(logKey(id, newStart))
	if found {
		prev, err = tailOf(it.Value())
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, fmt.Errorf("storage: truncate %s to %d: %w", id, newStart, err)
	}
	if !found || prev.EndOffset != newStart {
		return st, fmt.Errorf("storage: truncate %s to %d: not a batch boundary", id, newStart)
	}
	next := PartitionState{LogStart: newStart, BytesBefore: prev.Bytes, MaxTimeBefore: prev.MaxTime}
	b := db.p.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(lo, logKey(id, newStart), nil); err != nil {
		return st, err
	}
	if err := b.Set(partKey(prefixState, id, 0), encodeState(next), nil); err != nil {
		return st, err
	}
	if err := db.commit(b); err != nil {
		return st, fmt.Errorf("storage: truncate %s to %d: %w", id, newStart, err)
	}
	return next, nil
}

// LogIter walks a partition's batches in offset order.
type LogIter struct {
	it       *pebble.Iterator
	id       PartitionID
	logStart int64
	from     int64
	narrowed bool
	started  bool
	err      error
}

// seekWindow is how far below a read's offset the first seek looks for the
// batch holding it. A narrow lower bound lets Pebble skip, from its metadata
// alone, every table that holds only older batches of the partition, so a
// reader at the tail touches the memtable and the newest tables instead of
// loading one table per level. Batches longer than the window are still
// found: the seek widens to the whole log when the narrow one finds nothing.
const seekWindow = 1 << 16

// ReadLog returns an iterator over the batches of id, never below logStart,
// starting with the one that would hold offset from: the last batch whose
// base is at or below from (so from at or past the end still yields the last
// batch), or the first batch when from lies below logStart. Callers skip the
// records before from. Close it when done.
func (db *DB) ReadLog(id PartitionID, logStart, from int64) (*LogIter, error) {
	_, hi := partBounds(prefixLog, id)
	lo := logStart
	if from-seekWindow > logStart {
		lo = from - seekWindow
	}
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: logKey(id, lo), UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("storage: read %s: %w", id, err)
	}
	return &LogIter{it: it, id: id, logStart: logStart, from: from, narrowed: lo > logStart}, nil
}

// Next advances to the next batch; false at the end or on error (see Err).
func (l *LogIter) Next() bool {
	var ok bool
	switch {
	case l.err != nil:
		return false
	case l.started:
		ok = l.it.Next()
	default:
		l.started = true
		ok = l.seek()
	}
	if ok && len(l.it.Value()) < logPrefixSize {
		l.err = fmt.Errorf("%w: short log value in %s", ErrCorrupt, l.id)
		return false
	}
	return ok
}

// seek positions the iterator on the batch that would hold from: the last
// batch whose base is at or below from, or the first batch when from lies
// below the log start. With a narrowed lower bound, a batch found is the
// right one (batches are contiguous); none found means the batch starts
// below the bound, so the bound drops to the log start and the seek repeats.
func (l *LogIter) seek() bool {
	key := logKey(l.id, l.from+1)
	if l.it.SeekLT(key) {
		return true
	}
	if l.narrowed && l.it.Error() == nil {
		_, hi := partBounds(prefixLog, l.id)
		l.it.SetBounds(logKey(l.id, l.logStart), hi)
		if l.it.SeekLT(key) {
			return true
		}
	}
	return l.it.First()
}

// Batch is the current encoded batch, valid until the next call to Next.
func (l *LogIter) Batch() []byte { return l.it.Value()[logPrefixSize:] }

// RunningMaxTime is the maximum timestamp of every record of the partition
// up to and including the current batch.
func (l *LogIter) RunningMaxTime() int64 { return int64(binary.BigEndian.Uint64(l.it.Value())) }

// CumulativeBytes is the encoded size of every batch of the partition from
// offset 0 through the current batch, dropped ones included.
func (l *LogIter) CumulativeBytes() int64 { return int64(binary.BigEndian.Uint64(l.it.Value()[8:])) }

// Err is the iteration error, if any.
func (l *LogIter) Err() error {
	if l.err != nil {
		return l.err
	}
	return l.it.Error()
}

// Close releases the iterator and returns the iteration error, if any.
func (l *LogIter) Close() error {
	err := l.it.Close()
	if l.err != nil {
		return l.err
	}
	return err
}
