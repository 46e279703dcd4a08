package storage_test

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/storage"
)

// emptyRecovered is what LoadPartition returns for a partition never written.
var emptyRecovered = storage.Recovered{
	State:       storage.PartitionState{MaxTimeBefore: -1},
	Tail:        storage.Tail{MaxTime: -1},
	LeaderEpoch: -1,
}

// contents returns every key and value in the database.
func contents(t *testing.T, db *storage.DB) map[string]string {
	t.Helper()
	it, err := db.Pebble().NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]string{}
	for it.First(); it.Valid(); it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	return out
}

// TestAppendWritesOnlyLogKeys pins the property the format exists for: an
// append adds log keys past the partition's last one and changes nothing
// else, so each partition is written as one append-only key range.
func TestAppendWritesOnlyLogKeys(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	id := storage.PartitionID{TopicID: 12, Partition: 3}
	a := newAppender(t, db.DB, id)
	a.add([]int64{5})
	if err := db.PutLeaderEpoch(id, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TruncateHead(id, 1); err != nil { // writes the state key
		t.Fatal(err)
	}
	prefix := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64([]byte{'l'}, id.TopicID), id.Partition)
	for round := range 3 {
		before := contents(t, db.DB)
		bases := a.add([]int64{10, 5}, []int64{7})
		after := contents(t, db.DB)
		for k, v := range before {
			if after[k] != v {
				t.Fatalf("round %d: the append changed key %x", round, k)
			}
		}
		var added []string
		for k := range after {
			if _, ok := before[k]; !ok {
				added = append(added, k)
			}
		}
		slices.Sort(added)
		if len(added) != 2 {
			t.Fatalf("round %d: the append added %d keys, want 2", round, len(added))
		}
		for i, k := range added {
			if want := string(binary.BigEndian.AppendUint64(slices.Clip(prefix), uint64(bases[i]))); k != want {
				t.Fatalf("round %d: the append added key %x, want %x", round, k, want)
			}
		}
	}
}

func TestAppendRefusesGapsAndBadBatches(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	id := storage.PartitionID{TopicID: 13}
	a := newAppender(t, db.DB, id)
	a.add([]int64{1, 2})
	recs := []storage.Record{rec(3, storage.FormatNull, "", storage.FormatJSON, "3")}
	for name, batches := range map[string][][]byte{
		"gap":           {storage.AppendBatch(nil, 3, 0, recs)},
		"overlap":       {storage.AppendBatch(nil, 1, 0, recs)},
		"gap in write":  {storage.AppendBatch(nil, 2, 0, recs), storage.AppendBatch(nil, 4, 0, recs)},
		"corrupt batch": {{1, 2, 3}},
	} {
		if _, err := db.Append(id, a.tail, batches, true); err == nil {
			t.Errorf("%s: Append succeeded", name)
		}
	}
	// Nothing of the refused writes was stored.
	if got, err := db.LoadPartition(id); err != nil || got.Tail != a.tail {
		t.Fatalf("after refused appends: %+v, %v; want tail %+v", got, err, a.tail)
	}
}

// TestLogPrefixAndBytesAcrossRestarts checks the running max and cumulative
// bytes stored with every batch, the batch bytes the iterator hands out, and
// that the retained byte count is the same whether counted live, from the
// batches on disk, or recovered after a restart, across truncations.
func TestLogPrefixAndBytesAcrossRestarts(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	id := storage.PartitionID{TopicID: 14, Partition: 1}
	a := newAppender(t, db.DB, id)
	var maxes []int64
	for _, ts := range []int64{50, 20, 70, 60, 90, 10} { // one batch of one record each
		a.add([]int64{ts})
		maxes = append(maxes, a.max)
	}
	// The prefix is local: the batch bytes are exactly what AppendBatch made.
	want := storage.AppendBatch(nil, 5, 0, []storage.Record{rec(10, storage.FormatText, "k5", storage.FormatJSON, `{"offset":5}`)})
	it, err := db.ReadLog(id, 5, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() || !bytes.Equal(it.Batch(), want) {
		t.Fatal("stored batch differs from the encoded one")
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	start := 0
	for _, cut := range []int{0, 2, 5, 6} {
		if cut > start {
			st, err := db.TruncateHead(id, int64(cut))
			if err != nil {
				t.Fatal(err)
			}
			if want := (storage.PartitionState{LogStart: int64(cut), BytesBefore: a.sumSizes(0, cut), MaxTimeBefore: maxes[cut-1]}); st != want {
				t.Fatalf("TruncateHead(%d) = %+v, want %+v", cut, st, want)
			}
			start = cut
		}
		db.reopen()
		a.db = db.DB
		rec, err := db.LoadPartition(id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.RetainedBytes() != a.sumSizes(start, 6) || rec.Tail != a.tail {
			t.Fatalf("from %d: recovered %+v (retained %d), want retained %d, tail %+v", start, rec, rec.RetainedBytes(), a.sumSizes(start, 6), a.tail)
		}
		it, err := db.ReadLog(id, int64(start), int64(start))
		if err != nil {
			t.Fatal(err)
		}
		i := start
		for it.Next() {
			h, err := storage.DecodeBatchHeader(it.Batch())
			if err != nil || h.BaseOffset != int64(i) || int64(len(it.Batch())) != a.sizes[i] {
				t.Fatalf("batch %d: %+v, %d bytes, %v", i, h, len(it.Batch()), err)
			}
			if it.RunningMaxTime() != maxes[i] || it.CumulativeBytes() != a.sumSizes(0, i+1) {
				t.Fatalf("batch %d: prefix (%d, %d), want (%d, %d)", i, it.RunningMaxTime(), it.CumulativeBytes(), maxes[i], a.sumSizes(0, i+1))
			}
			i++
		}
		if err := it.Close(); err != nil || i != 6 {
			t.Fatalf("from %d: iterated to %d, %v", start, i, err)
		}
	}
}

// TestBatchesLiveInBlobFiles checks that flushed batches of a few records or
// more are written to blob files (so compactions move only keys), that a
// one-record batch stays in its sstable, that both read back, and that
// truncating the log frees the blob files once compacted.
func TestBatchesLiveInBlobFiles(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	big, small := storage.PartitionID{TopicID: 40}, storage.PartitionID{TopicID: 41}
	for _, id := range []storage.PartitionID{big, small} {
		if err := db.PutLeaderEpoch(id, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	ts := make([]int64, 100)
	bigLog, smallLog := newAppender(t, db.DB, big), newAppender(t, db.DB, small)
	bigLog.add(ts, ts)
	smallLog.add([]int64{0})
	p := db.Pebble()
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	bigBytes := bigLog.tail.Bytes
	m := p.Metrics()
	if ref := m.BlobFiles.ReferencedValueSize; ref < uint64(bigBytes) || ref >= uint64(bigBytes+smallLog.tail.Bytes) {
		t.Fatalf("blob files hold %d value bytes, want the big partition's %d and not the one-record batch", ref, bigBytes)
	}
	for _, a := range []*appender{bigLog, smallLog} {
		if got := readAll(t, db.DB, a.id, 0, 0); len(got) != int(a.leo) {
			t.Fatalf("%s: read %d records after flush, want %d", a.id, len(got), a.leo)
		}
	}
	if _, err := db.TruncateHead(big, bigLog.leo); err != nil {
		t.Fatal(err)
	}
	if err := p.Compact(t.Context(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	if m := p.Metrics(); m.BlobFiles.ReferencedValueSize != 0 {
		t.Fatalf("after truncation and compaction, blob files still hold %d referenced bytes", m.BlobFiles.ReferencedValueSize)
	}
}

// TestBlockCacheServesRepeatedReads: Pebble charges memtables against the
// block cache, and a cache no larger than the memtables holds nothing, so
// every read would go to the file system. A repeated read must be all hits.
func TestBlockCacheServesRepeatedReads(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	a := newAppender(t, db.DB, storage.PartitionID{TopicID: 42})
	ts := make([]int64, 100)
	a.add(ts, ts, ts)
	p := db.Pebble()
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	// The memtables are charged in full again once appends resume.
	other := newAppender(t, db.DB, storage.PartitionID{TopicID: 43})
	for range 10 {
		other.add(make([]int64, 5000))
	}
	readAll(t, db.DB, a.id, 0, 0)
	before := p.Metrics().BlockCache
	readAll(t, db.DB, a.id, 0, 150)
	after := p.Metrics().BlockCache
	if after.Misses != before.Misses || after.Hits == before.Hits {
		t.Fatalf("repeated read: %d hits and %d misses (cache holds %d blocks, %d bytes)",
			after.Hits-before.Hits, after.Misses-before.Misses, after.Count, after.Size)
	}
}
