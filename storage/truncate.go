package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// ErrBelowLogStart is returned by TruncateTail for an end offset below the
// partition's log start: those records are gone already, and a replica
// whose log must end there has to reset its log instead (ResetLog).
var ErrBelowLogStart = errors.New("storage: offset below the log start")

// epochKeySize is the size of a leader-epoch key.
const epochKeySize = 1 + 8 + 4 + 4

// EpochEntry is one entry of a partition's leader-epoch cache: the first
// offset written in a leader epoch.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// LeaderEpochs returns the partition's leader-epoch entries in ascending
// epoch order (epochs are never negative, so key order is epoch order), or
// none.
func (db *DB) LeaderEpochs(id PartitionID) ([]EpochEntry, error) {
	lo, hi := partBounds(prefixEpoch, id)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("storage: leader epochs of %s: %w", id, err)
	}
	var out []EpochEntry
	for it.First(); it.Valid(); it.Next() {
		e, err := decodeEpoch(it.Key(), it.Value())
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("storage: leader epochs of %s: %w", id, err)
		}
		out = append(out, e)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("storage: leader epochs of %s: %w", id, err)
	}
	return out, nil
}

func decodeEpoch(k, v []byte) (EpochEntry, error) {
	if len(k) != epochKeySize || len(v) != 8 {
		return EpochEntry{}, fmt.Errorf("%w: leader epoch entry of %d+%d bytes", ErrCorrupt, len(k), len(v))
	}
	return EpochEntry{
		Epoch:       int32(binary.BigEndian.Uint32(k[13:])),
		StartOffset: int64(binary.BigEndian.Uint64(v)),
	}, nil
}

// TruncateTail removes the end of a partition's log, as a follower does when
// its log diverges from its leader's: every batch holding an offset at or
// above endOffset goes, a batch straddling endOffset whole, so the new log
// end is at or below endOffset; and every leader-epoch entry starting at or
// above the new end goes with it. It is one atomic write, synced when sync.
// It returns the new tail, which is what LoadPartition reports from then on:
// the totals of the last batch kept, or the partition state's when none is
// kept.
//
// An endOffset at or above the log end keeps every batch and returns the
// current tail. It still drops an epoch entry starting at the log end (an
// epoch this broker began as leader and never wrote to), as
// epochs.Cache.TruncateFromEnd does with the same end, so that the entries
// on disk stay those in memory; with no such entry it writes nothing. One
// below the log start changes nothing and returns an error wrapping
// ErrBelowLogStart. The caller serializes it with the partition's other
// writes, as for Append.
func (db *DB) TruncateTail(id PartitionID, endOffset int64, sync bool) (Tail, error) {
	st, err := db.loadState(id)
	if err != nil {
		return Tail{}, err
	}
	if endOffset < st.LogStart {
		return Tail{}, fmt.Errorf("storage: truncate %s to end %d: %w %d", id, endOffset, ErrBelowLogStart, st.LogStart)
	}
	cut, tail, err := db.cutPoint(id, st, endOffset)
	if err != nil {
		return Tail{}, fmt.Errorf("storage: truncate %s to end %d: %w", id, endOffset, err)
	}
	stale, err := db.epochsFrom(id, tail.EndOffset)
	if err != nil {
		return Tail{}, fmt.Errorf("storage: truncate %s to end %d: %w", id, endOffset, err)
	}
	if cut < 0 && len(stale) == 0 {
		return tail, nil
	}
	b := db.p.NewBatch()
	defer b.Close()
	if cut >= 0 {
		_, hi := partBounds(prefixLog, id)
		if err := b.DeleteRange(logKey(id, cut), hi, nil); err != nil {
			return Tail{}, err
		}
	}
	for _, e := range stale {
		if err := b.Delete(epochKey(id, e.Epoch), nil); err != nil {
			return Tail{}, err
		}
	}
	if err := db.apply(b, sync); err != nil {
		return Tail{}, fmt.Errorf("storage: truncate %s to end %d: %w", id, endOffset, err)
	}
	return tail, nil
}

// cutPoint finds where TruncateTail(endOffset) cuts the log of a partition
// with state st: the base of the batch holding endOffset and the tail just
// below it. cut is -1, with the current tail, when endOffset is at or past
// the log end. endOffset must not be below st.LogStart.
func (db *DB) cutPoint(id PartitionID, st PartitionState, endOffset int64) (cut int64, tail Tail, err error) {
	_, hi := partBounds(prefixLog, id)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: logKey(id, st.LogStart), UpperBound: hi})
	if err != nil {
		return 0, Tail{}, err
	}
	defer it.Close()
	below := Tail{EndOffset: st.LogStart, Bytes: st.BytesBefore, MaxTime: st.MaxTimeBefore}
	if !it.Last() {
		return -1, below, it.Error()
	}
	if tail, err = tailOf(it.Value()); err != nil || endOffset >= tail.EndOffset {
		return -1, tail, err
	}
	// endOffset lies in [LogStart, EndOffset): some batch at or below it
	// holds it, since the retained batches run contiguously from LogStart.
	if !it.SeekLT(logKey(id, endOffset+1)) {
		if err := it.Error(); err != nil {
			return 0, Tail{}, err
		}
		return 0, Tail{}, fmt.Errorf("%w: no batch holds offset %d", ErrCorrupt, endOffset)
	}
	cut = int64(binary.BigEndian.Uint64(it.Key()[13:]))
	if !it.Prev() {
		if err := it.Error(); err != nil {
			return 0, Tail{}, err
		}
		if cut != st.LogStart {
			return 0, Tail{}, fmt.Errorf("%w: first batch at %d, log start %d", ErrCorrupt, cut, st.LogStart)
		}
		return cut, below, nil
	}
	if tail, err = tailOf(it.Value()); err != nil {
		return 0, Tail{}, err
	}
	if tail.EndOffset != cut {
		return 0, Tail{}, fmt.Errorf("%w: batch ending at %d followed by one at %d", ErrCorrupt, tail.EndOffset, cut)
	}
	return cut, tail, nil
}

// epochsFrom returns the partition's leader-epoch entries that start at or
// above offset.
func (db *DB) epochsFrom(id PartitionID, offset int64) ([]EpochEntry, error) {
	all, err := db.LeaderEpochs(id)
	if err != nil {
		return nil, err
	}
	var out []EpochEntry
	for _, e := range all {
		if e.StartOffset >= offset {
			out = append(out, e)
		}
	}
	return out, nil
}

// ResetLog empties a partition's log and restarts it at startOffset, for a
// follower whose log lies entirely outside its leader's (it fetches below
// the leader's log start, or above the leader's end after an unclean
// election). It deletes every batch and leader-epoch entry of the partition
// and writes the partition state {startOffset, 0, -1}, in one atomic write,
// synced when sync. LoadPartition then reports an empty log with LogStart =
// EndOffset = startOffset and leader epoch -1.
//
// The byte count and running maximum timestamp start over: log values
// appended after a reset count bytes and timestamps from the reset, not from
// offset 0 (they are this broker's bookkeeping; nothing compares them across
// replicas).
func (db *DB) ResetLog(id PartitionID, startOffset int64, sync bool) (PartitionState, error) {
	if startOffset < 0 {
		return PartitionState{}, fmt.Errorf("storage: reset %s to %d: negative offset", id, startOffset)
	}
	st := PartitionState{LogStart: startOffset, BytesBefore: 0, MaxTimeBefore: -1}
	b := db.p.NewBatch()
	defer b.Close()
	for _, p := range []byte{prefixLog, prefixEpoch} {
		lo, hi := partBounds(p, id)
		if err := b.DeleteRange(lo, hi, nil); err != nil {
			return PartitionState{}, err
		}
	}
	if err := b.Set(partKey(prefixState, id, 0), encodeState(st), nil); err != nil {
		return PartitionState{}, err
	}
	if err := db.apply(b, sync); err != nil {
		return PartitionState{}, fmt.Errorf("storage: reset %s to %d: %w", id, startOffset, err)
	}
	return st, nil
}

// epochKey is the key of a partition's leader-epoch entry.
func epochKey(id PartitionID, epoch int32) []byte {
	return binary.BigEndian.AppendUint32(partKey(prefixEpoch, id, 4), uint32(epoch))
}

// apply commits b, waiting for the WAL sync when sync.
func (db *DB) apply(b *pebble.Batch, sync bool) error {
	if sync {
		return db.commit(b)
	}
	return db.p.Apply(b, pebble.NoSync)
}
