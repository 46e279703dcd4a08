package storage_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/storage"
)

// benchRecords returns n records with distinct 100-byte JSON values shaped
// like application events: repeated field names and small vocabularies that
// block compression finds, and a random session id that it cannot compress.
func benchRecords(n int) []storage.Record {
	actions := []string{"view", "click", "add_to_cart", "purchase", "search"}
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	recs := make([]storage.Record, n)
	for i := range recs {
		v := fmt.Appendf(make([]byte, 0, 100), `{"id":%d,"user":"user-%04d","action":"%s","session":"`,
			i, rng.IntN(10_000), actions[rng.IntN(len(actions))])
		for len(v) < 98 {
			v = append(v, "0123456789abcdef"[rng.IntN(16)])
		}
		v = append(v, `"}`...)
		recs[i] = storage.Record{Timestamp: 1767225600000 + int64(i), ValueFormat: storage.FormatJSON, Value: v}
	}
	return recs
}

var batchSizes = []int{1, 100, 1000}

// BenchmarkAppendSynced measures durable appends (pebble.Sync) of 100-byte
// records on a real directory, one batch per commit, including encoding.
func BenchmarkAppendSynced(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			db, err := storage.Open(b.TempDir(), storage.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			recs := benchRecords(n)
			id := storage.PartitionID{TopicID: 1}
			var buf []byte
			batches := make([][]byte, 1)
			tail := storage.Tail{MaxTime: -1}
			b.SetBytes(int64(n * 100))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				buf = storage.AppendBatch(buf[:0], tail.EndOffset, 0, recs)
				batches[0] = buf
				if tail, err = db.Append(id, tail, batches, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func BenchmarkEncodeBatch(b *testing.B) {
	for _, n := range batchSizes {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			recs := benchRecords(n)
			buf := storage.AppendBatch(nil, 0, 0, recs)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for range b.N {
				buf = storage.AppendBatch(buf[:0], 0, 0, recs)
			}
		})
	}
}

func BenchmarkDecodeBatch(b *testing.B) {
	for _, n := range batchSizes {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			buf := storage.AppendBatch(nil, 0, 0, benchRecords(n))
			var recs []storage.Record
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for range b.N {
				var err error
				if _, recs, err = storage.DecodeBatch(recs[:0], buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadLog reads a 100,000-record partition (batches of 100) from
// the start: iterate and decode every batch.
func BenchmarkReadLog(b *testing.B) {
	db, err := storage.Open("db", storage.Options{FS: vfs.NewMem()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	id := storage.PartitionID{TopicID: 1}
	recs := benchRecords(100)
	const total = 100_000
	tail := storage.Tail{MaxTime: -1}
	for tail.EndOffset < total {
		batch := storage.AppendBatch(nil, tail.EndOffset, 0, recs)
		if tail, err = db.Append(id, tail, [][]byte{batch}, false); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(tail.Bytes)
	b.ReportAllocs()
	b.ResetTimer()
	var out []storage.Record
	for range b.N {
		it, err := db.ReadLog(id, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			if _, out, err = storage.DecodeBatch(out[:0], it.Batch()); err != nil {
				b.Fatal(err)
			}
			n += len(out)
		}
		if err := it.Close(); err != nil || n != total {
			b.Fatalf("read %d records: %v", n, err)
		}
	}
	b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkFindTime looks up random timestamps in a 1,000,000-record
// partition of 10,000 batches: a binary search over the log keys.
func BenchmarkFindTime(b *testing.B) {
	db, err := storage.Open("db", storage.Options{FS: vfs.NewMem()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	id := storage.PartitionID{TopicID: 1}
	recs := benchRecords(100)
	tail := storage.Tail{MaxTime: -1}
	for tail.EndOffset < 1_000_000 {
		for i := range recs {
			recs[i].Timestamp = 1767225600000 + tail.EndOffset + int64(i)
		}
		batch := storage.AppendBatch(nil, tail.EndOffset, 0, recs)
		if tail, err = db.Append(id, tail, [][]byte{batch}, false); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		off := rng.Int64N(tail.EndOffset)
		base, found, err := db.FindTime(id, 1767225600000+off)
		if err != nil || !found || base != off/100*100 {
			b.Fatalf("FindTime for offset %d: %d, %v, %v", off, base, found, err)
		}
	}
}
