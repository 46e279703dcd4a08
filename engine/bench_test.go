package engine_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// benchValue is a 100-byte JSON value.
var benchValue = func() []byte {
	b := []byte(`{"payload":"`)
	for len(b) < 100-2 {
		b = append(b, 'a'+byte(len(b)%26))
	}
	return append(b, `"}`...)
}()

func benchEngine(b *testing.B) *engine.Engine {
	db, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.Open(db, engine.Config{BrokerID: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		e.Close()
		_ = db.Close()
	})
	if _, err := e.CreateTopic(engine.TopicSpec{Name: "bench", Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	return e
}

func benchBatch(n int) []engine.ProduceRecord {
	recs := make([]engine.ProduceRecord, n)
	for i := range recs {
		recs[i] = engine.ProduceRecord{Partition: 0, Record: storage.Record{Timestamp: -1, ValueFormat: storage.FormatJSON, Value: benchValue}}
	}
	return recs
}

// BenchmarkProduce measures durable (acks=1, synced) produce of 100-byte
// records to one partition on a real directory: one producer sending
// batches of 1 or 1000 records, and 16 concurrent producers of single
// records, whose appends share fsyncs (group commit).
func BenchmarkProduce(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			e := benchEngine(b)
			recs := benchBatch(n)
			b.SetBytes(int64(n * len(benchValue)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := e.Produce(ctx, "bench", recs, engine.AcksLeader); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
		})
	}
	b.Run("batch=1/producers=16", func(b *testing.B) {
		e := benchEngine(b)
		b.SetBytes(int64(len(benchValue)))
		b.ReportAllocs()
		b.SetParallelism(8) // 8 x GOMAXPROCS(2) goroutines
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			recs := benchBatch(1)
			for pb.Next() {
				if _, err := e.Produce(ctx, "bench", recs, engine.AcksLeader); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkReadTail reads the newest record of a partition that holds 1 M
// records in flushed tables and then single-record batches, as a subscriber
// woken by a produce does: from the batches the partition keeps in memory,
// and from Pebble (a freshly opened engine keeps none).
func BenchmarkReadTail(b *testing.B) {
	dir := b.TempDir()
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	open := func() *engine.Engine {
		e, err := engine.Open(db, engine.Config{BrokerID: 1})
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	e := open()
	if _, err := e.CreateTopic(engine.TopicSpec{Name: "bench", Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range append(slices.Repeat([]int{1000}, 1000), slices.Repeat([]int{1}, 100)...) {
		if _, err := e.Produce(ctx, "bench", benchBatch(n), engine.AcksLeader); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Pebble().Flush(); err != nil {
		b.Fatal(err)
	}
	read := func(b *testing.B, e *engine.Engine) {
		p, err := e.Partition("bench", 0)
		if err != nil {
			b.Fatal(err)
		}
		last := p.Offsets().HighWatermark - 1
		b.ReportAllocs()
		for b.Loop() {
			if res, err := p.Read(last, 1, 1<<20); err != nil || len(res.Records) != 1 {
				b.Fatalf("read %d: %v, %d records", last, err, len(res.Records))
			}
		}
	}
	b.Run("from=memory", func(b *testing.B) { read(b, e) })
	e.Close()
	e = open()
	defer e.Close()
	b.Run("from=pebble", func(b *testing.B) { read(b, e) })
}
