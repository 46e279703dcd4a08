package storage_test

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/storage"
)

// tailLog is the partition the truncation tests cut: four batches at bases
// 0, 3, 5 and 9 (timestamps below), leader epochs 0@0, 1@3, 2@5 and 4@9,
// between neighbours that sort right before and after it.
var (
	tailID      = storage.PartitionID{TopicID: 20, Partition: 1}
	tailBatches = [][]int64{{10, 12, 11}, {20, 5}, {30, 31, 33, 32}, {40}}
	tailEpochs  = []storage.EpochEntry{{Epoch: 0, StartOffset: 0}, {Epoch: 1, StartOffset: 3}, {Epoch: 2, StartOffset: 5}, {Epoch: 4, StartOffset: 9}}
	neighbours  = []storage.PartitionID{{TopicID: 20, Partition: 0}, {TopicID: 20, Partition: 2}, {TopicID: 19, Partition: ^uint32(0)}, {TopicID: 21}}
)

// fillTailLog writes tailLog and its neighbours, and returns the appender of
// tailLog.
func fillTailLog(t *testing.T, db *storage.DB) *appender {
	t.Helper()
	a := newAppender(t, db, tailID)
	for _, b := range tailBatches {
		a.add(b)
	}
	for _, e := range tailEpochs {
		if err := db.PutLeaderEpoch(tailID, e.Epoch, e.StartOffset); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range neighbours {
		na := newAppender(t, db, id)
		na.add([]int64{1, 2})
		na.add([]int64{3})
		for _, e := range []storage.EpochEntry{{Epoch: 0, StartOffset: 0}, {Epoch: 3, StartOffset: 2}, {Epoch: 5, StartOffset: 3}} {
			if err := db.PutLeaderEpoch(id, e.Epoch, e.StartOffset); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.TruncateHead(id, 2); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// tailAt is the tail of tailLog cut to end, a batch base or its end.
func tailAt(a *appender, end int64) storage.Tail {
	tail := storage.Tail{EndOffset: end, MaxTime: -1}
	base := int64(0)
	for i, b := range tailBatches {
		if base >= end {
			break
		}
		tail.Bytes += a.sizes[i]
		tail.MaxTime = max(tail.MaxTime, slices.Max(b))
		base += int64(len(b))
	}
	return tail
}

// othersOf is every key and value in the database but id's.
func othersOf(t *testing.T, db *storage.DB, id storage.PartitionID) map[string]string {
	t.Helper()
	part := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, id.TopicID), id.Partition)
	out := contents(t, db)
	for k := range out {
		if len(k) >= 13 && (k[0] == 'l' || k[0] == 's' || k[0] == 'e') && k[1:13] == string(part) {
			delete(out, k)
		}
	}
	return out
}

func TestTruncateTail(t *testing.T) {
	upTo := func(n int) []storage.EpochEntry { return tailEpochs[:n] }
	tests := []struct {
		name       string
		logStart   int64 // retention first truncates the head to here
		emptyEpoch bool  // epoch 6 begins at the log end, without records
		end        int64
		sync       bool
		wantEnd    int64
		wantEpochs []storage.EpochEntry
		wantErr    error
	}{
		{name: "at a batch boundary", end: 5, sync: true, wantEnd: 5, wantEpochs: upTo(2)},
		{name: "inside a batch", end: 7, sync: true, wantEnd: 5, wantEpochs: upTo(2)},
		{name: "the last record", end: 9, sync: true, wantEnd: 9, wantEpochs: upTo(3)},
		{name: "an epoch starting at the new end goes", end: 4, wantEnd: 3, wantEpochs: upTo(1)},
		{name: "inside the first batch", end: 2, sync: true, wantEnd: 0, wantEpochs: nil},
		{name: "to zero", end: 0, wantEnd: 0, wantEpochs: nil},
		{name: "at the end", end: 10, sync: true, wantEnd: 10, wantEpochs: upTo(4)},
		{name: "past the end", end: 1 << 62, wantEnd: 10, wantEpochs: upTo(4)},
		{name: "at the end, an epoch begun there goes", emptyEpoch: true, end: 10, sync: true, wantEnd: 10, wantEpochs: upTo(4)},
		{name: "past the end, an epoch begun at the end goes", emptyEpoch: true, end: 11, wantEnd: 10, wantEpochs: upTo(4)},
		{name: "inside a batch, an epoch begun at the end goes", emptyEpoch: true, end: 7, wantEnd: 5, wantEpochs: upTo(2)},
		{name: "to the log start", logStart: 5, end: 5, sync: true, wantEnd: 5, wantEpochs: upTo(2)},
		{name: "inside the first retained batch", logStart: 5, end: 8, wantEnd: 5, wantEpochs: upTo(2)},
		{name: "an emptied log at its start", logStart: 10, end: 10, wantEnd: 10, wantEpochs: upTo(4)},
		{name: "below the log start", logStart: 5, end: 4, wantErr: storage.ErrBelowLogStart},
		{name: "below an emptied log", logStart: 10, end: 9, wantErr: storage.ErrBelowLogStart},
		{name: "negative", end: -1, wantErr: storage.ErrBelowLogStart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openMem(t, vfs.NewMem())
			a := fillTailLog(t, db.DB)
			if tt.logStart > 0 {
				if _, err := db.TruncateHead(tailID, tt.logStart); err != nil {
					t.Fatal(err)
				}
			}
			if tt.emptyEpoch {
				if err := db.PutLeaderEpoch(tailID, 6, a.leo); err != nil {
					t.Fatal(err)
				}
			}
			before, others := contents(t, db.DB), othersOf(t, db.DB, tailID)
			want, err := db.LoadPartition(tailID)
			if err != nil {
				t.Fatal(err)
			}
			tail, err := db.TruncateTail(tailID, tt.end, tt.sync)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("TruncateTail(%d) = %v, want %v", tt.end, err, tt.wantErr)
				}
				if !maps.Equal(contents(t, db.DB), before) {
					t.Fatalf("a refused TruncateTail(%d) changed the database", tt.end)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w := tailAt(a, tt.wantEnd); tail != w {
				t.Fatalf("TruncateTail(%d) = %+v, want %+v", tt.end, tail, w)
			}
			if tt.wantEnd == a.leo && !tt.emptyEpoch && !maps.Equal(contents(t, db.DB), before) {
				t.Fatalf("TruncateTail(%d) at or past the end changed the database", tt.end)
			}
			want.Tail, want.LeaderEpoch = tail, -1
			if n := len(tt.wantEpochs); n > 0 {
				want.LeaderEpoch = tt.wantEpochs[n-1].Epoch
			}
			check := func(what string) {
				t.Helper()
				got, err := db.LoadPartition(tailID)
				if err != nil || got != want {
					t.Fatalf("%s: recovered %+v, %v; want %+v", what, got, err, want)
				}
				es, err := db.LeaderEpochs(tailID)
				if err != nil || !slices.Equal(es, tt.wantEpochs) {
					t.Fatalf("%s: epochs %v, %v; want %v", what, es, err, tt.wantEpochs)
				}
				if recs := readAll(t, db.DB, tailID, want.State.LogStart, 0); !equalInts(offsetsOf(recs), span(want.State.LogStart, tt.wantEnd)) {
					t.Fatalf("%s: offsets %v", what, offsetsOf(recs))
				}
				if !maps.Equal(othersOf(t, db.DB, tailID), others) {
					t.Fatalf("%s: other partitions' keys changed", what)
				}
			}
			check("after truncate")
			db.reopen()
			check("after reopen")
			// Appends continue from the returned tail.
			a.db, a.tail, a.leo, a.bytes, a.max = db.DB, tail, tail.EndOffset, tail.Bytes, tail.MaxTime
			a.add([]int64{7, 8})
			if recs := readAll(t, db.DB, tailID, want.State.LogStart, 0); !equalInts(offsetsOf(recs), span(want.State.LogStart, tt.wantEnd+2)) {
				t.Fatalf("append after truncate: offsets %v", offsetsOf(recs))
			}
		})
	}
}

func TestResetLog(t *testing.T) {
	tests := []struct {
		name     string
		id       storage.PartitionID
		logStart int64 // retention first truncates the head to here
		start    int64
		sync     bool
		wantErr  bool
	}{
		{name: "above the end", id: tailID, start: 20, sync: true},
		{name: "inside the log", id: tailID, start: 4},
		{name: "at zero", id: tailID, start: 0, sync: true},
		{name: "after retention, below the log start", id: tailID, logStart: 5, start: 2},
		{name: "a partition never written", id: storage.PartitionID{TopicID: 20, Partition: 9}, start: 7, sync: true},
		{name: "negative", id: tailID, start: -1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openMem(t, vfs.NewMem())
			fillTailLog(t, db.DB)
			if tt.logStart > 0 {
				if _, err := db.TruncateHead(tailID, tt.logStart); err != nil {
					t.Fatal(err)
				}
			}
			before, others := contents(t, db.DB), othersOf(t, db.DB, tt.id)
			st, err := db.ResetLog(tt.id, tt.start, tt.sync)
			if tt.wantErr {
				if err == nil || !maps.Equal(contents(t, db.DB), before) {
					t.Fatalf("ResetLog(%d) = %v and changed the database: want a refusal", tt.start, err)
				}
				return
			}
			wantState := storage.PartitionState{LogStart: tt.start, BytesBefore: 0, MaxTimeBefore: -1}
			if err != nil || st != wantState {
				t.Fatalf("ResetLog(%d) = %+v, %v; want %+v", tt.start, st, err, wantState)
			}
			want := storage.Recovered{State: wantState, Tail: storage.Tail{EndOffset: tt.start, MaxTime: -1}, LeaderEpoch: -1}
			check := func(what string) {
				t.Helper()
				got, err := db.LoadPartition(tt.id)
				if err != nil || got != want {
					t.Fatalf("%s: recovered %+v, %v; want %+v", what, got, err, want)
				}
				if es, err := db.LeaderEpochs(tt.id); err != nil || len(es) != 0 {
					t.Fatalf("%s: epochs %v, %v", what, es, err)
				}
				if recs := readAll(t, db.DB, tt.id, 0, 0); len(recs) != 0 {
					t.Fatalf("%s: %d records left", what, len(recs))
				}
				if _, found, err := db.FindTime(tt.id, 0); found || err != nil {
					t.Fatalf("%s: FindTime found %v, %v", what, found, err)
				}
				if !maps.Equal(othersOf(t, db.DB, tt.id), others) {
					t.Fatalf("%s: other partitions' keys changed", what)
				}
			}
			check("after reset")
			db.reopen()
			check("after reopen")
			// The log continues at the start, its totals counted from there.
			a := newAppender(t, db.DB, tt.id)
			a.tail, a.leo = want.Tail, tt.start
			a.add([]int64{5}, []int64{6, 4})
			got, err := db.LoadPartition(tt.id)
			if err != nil || got.Tail != (storage.Tail{EndOffset: tt.start + 3, Bytes: a.bytes, MaxTime: 6}) || got.RetainedBytes() != a.bytes {
				t.Fatalf("after appending to a reset log: %+v, %v", got, err)
			}
			if recs := readAll(t, db.DB, tt.id, tt.start, 0); !equalInts(offsetsOf(recs), span(tt.start, tt.start+3)) {
				t.Fatalf("after appending to a reset log: offsets %v", offsetsOf(recs))
			}
		})
	}
}

func TestLeaderEpochs(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	fillTailLog(t, db.DB)
	if es, err := db.LeaderEpochs(tailID); err != nil || !slices.Equal(es, tailEpochs) {
		t.Fatalf("epochs %v, %v; want %v", es, err, tailEpochs)
	}
	if es, err := db.LeaderEpochs(storage.PartitionID{TopicID: 20, Partition: 9}); err != nil || len(es) != 0 {
		t.Fatalf("a partition without epochs: %v, %v", es, err)
	}
	// Retention keeps every entry, stale low ones included.
	if _, err := db.TruncateHead(tailID, 9); err != nil {
		t.Fatal(err)
	}
	if es, err := db.LeaderEpochs(tailID); err != nil || !slices.Equal(es, tailEpochs) {
		t.Fatalf("after TruncateHead: epochs %v, %v; want %v", es, err, tailEpochs)
	}
	// A corrupt entry is reported, and stops a tail truncation.
	key := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64([]byte{'e'}, tailID.TopicID), tailID.Partition), 7)
	if err := db.Pebble().Set(key, []byte{1, 2, 3}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LeaderEpochs(tailID); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("corrupt entry: %v", err)
	}
	before := contents(t, db.DB)
	if _, err := db.TruncateTail(tailID, 9, true); !errors.Is(err, storage.ErrCorrupt) || !maps.Equal(contents(t, db.DB), before) {
		t.Fatalf("TruncateTail over a corrupt entry: %v", err)
	}
}
