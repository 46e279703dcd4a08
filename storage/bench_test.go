package storage_test

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/storage"
)

// benchRecords returns n records with a 100-byte JSON value and no key.
func benchRecords(n int) []storage.Record {
	value := []byte(`{"payload":"` + string(make100()) + `"}`)
	recs := make([]storage.Record, n)
	for i := range recs {
		recs[i] = storage.Record{Timestamp: 1767225600000 + int64(i), ValueFormat: storage.FormatJSON, Value: value}
	}
	return recs
}

// make100 returns filler so that the whole value is 100 bytes.
func make100() []byte {
	b := make([]byte, 100-len(`{"payload":""}`))
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
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
			var leo, size int64
			b.SetBytes(int64(n * 100))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				buf = storage.AppendBatch(buf[:0], leo, 0, recs)
				size += int64(len(buf))
				w := storage.Write{Batches: [][]byte{buf}, State: storage.PartitionState{Bytes: size}}
				if err := db.Append(id, &w, true); err != nil {
					b.Fatal(err)
				}
				leo += int64(n)
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
	var size int64
	for leo := int64(0); leo < total; leo += 100 {
		batch := storage.AppendBatch(nil, leo, 0, recs)
		size += int64(len(batch))
		if err := db.Append(id, &storage.Write{Batches: [][]byte{batch}}, false); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
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
