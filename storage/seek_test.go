package storage_test

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/storage"
)

// TestReadLogAcrossTheSeekWindow reads from offsets that lie further into a
// batch than ReadLog's first, narrowed seek looks (1<<16 records), next to
// ones it finds at once; every read must start at its own offset.
func TestReadLogAcrossTheSeekWindow(t *testing.T) {
	const window = 1 << 16
	db := openMem(t, vfs.NewMem())
	id := storage.PartitionID{TopicID: 1}
	a := newAppender(t, db.DB, id)
	a.add(make([]int64, 10))
	long := a.add(make([]int64, window+100))[0]
	a.add(make([]int64, 3), make([]int64, 5))
	a.add(make([]int64, 2*window))
	a.add(make([]int64, 7))
	for _, logStart := range []int64{0, long} { // log starts lie on batch boundaries
		for _, from := range []int64{0, 9, long, long + 1, long + window - 1, long + window, long + window + 99,
			long + window + 100, a.leo - 2*window - 8, a.leo - 8, a.leo - window, a.leo - 1} {
			if from < logStart {
				continue
			}
			recs := firstBatch(t, db.DB, id, logStart, from)
			if first, end := recs[0].Offset, recs[len(recs)-1].Offset+1; from < first || from >= end {
				t.Fatalf("logStart %d, from %d: batch [%d, %d)", logStart, from, first, end)
			}
		}
	}
}

// firstBatch returns the records of the first batch ReadLog yields.
func firstBatch(t *testing.T, db *storage.DB, id storage.PartitionID, logStart, from int64) []storage.Record {
	t.Helper()
	it, err := db.ReadLog(id, logStart, from)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if !it.Next() {
		t.Fatalf("logStart %d, from %d: no batch (%v)", logStart, from, it.Err())
	}
	_, recs, err := storage.DecodeBatch(nil, append([]byte(nil), it.Batch()...))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
