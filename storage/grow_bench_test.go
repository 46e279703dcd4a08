//go:build unix

package storage_test

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/storage"
)

// BenchmarkGrowingLog fills 1, 8, 64 or 1000 partitions (round robin) on a real
// directory with 100-byte records in synced 1000-record appends until they
// hold N records in all, then reads 1000 records from random offsets. It
// reports the append rate over the last 10% of the fill (which must not fall
// as the log grows), CPU per appended record, the random read rate, and what
// Pebble wrote: compaction bytes per flushed byte is the write amplification
// that grows with the data when the layout is wrong. Each iteration is a
// whole fill; run it with -benchtime 1x and pick sizes by name, e.g.
// -bench 'GrowingLog/records=10M/partitions=1$' (40M needs about 4.5 GB of
// temporary disk).
func BenchmarkGrowingLog(b *testing.B) {
	for _, n := range []int{1_000_000, 5_000_000, 10_000_000, 20_000_000, 40_000_000} {
		for _, parts := range []int{1, 8, 64, 1000} {
			b.Run(fmt.Sprintf("records=%dM/partitions=%d", n/1_000_000, parts), func(b *testing.B) {
				for range b.N {
					growLog(b, n, parts)
				}
			})
		}
	}
}

func growLog(b *testing.B, total, parts int) {
	const batch = 1000
	db, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	recs := benchRecords(batch)
	var buf []byte
	tails := make([]storage.Tail, parts)
	for i := range tails {
		tails[i].MaxTime = -1
	}
	start, cpu0 := time.Now(), cpuTime(b)
	var tailStart time.Time
	tail := total - total/10
	for n := 0; n < total; n += batch {
		if n == tail {
			tailStart = time.Now()
		}
		p := (n / batch) % parts
		id := storage.PartitionID{TopicID: 1, Partition: uint32(p)}
		for i := range recs {
			recs[i].Timestamp = 1767225600000 + int64(n+i)
		}
		buf = storage.AppendBatch(buf[:0], tails[p].EndOffset, 0, recs)
		if tails[p], err = db.Append(id, tails[p], [][]byte{buf}, true); err != nil {
			b.Fatal(err)
		}
	}
	end := time.Now()
	// The CPU count includes flushing what the fill left in the memtable.
	if err := db.Pebble().Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(total), "cpu-ns/rec")
	reportPebble(b, db)
	b.ReportMetric(float64(total)/end.Sub(start).Seconds(), "fill-rec/s")
	b.ReportMetric(float64(total-tail)/end.Sub(tailStart).Seconds(), "tail-rec/s")

	rng := rand.New(rand.NewPCG(1, 2))
	var read []storage.Record
	n := 0
	rstart := time.Now()
	for time.Since(rstart) < 3*time.Second {
		id := storage.PartitionID{TopicID: 1, Partition: uint32(rng.IntN(parts))}
		from := rng.Int64N(int64(total / parts))
		it, err := db.ReadLog(id, 0, from)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for got < batch && it.Next() {
			if _, read, err = storage.DecodeBatch(read[:0], it.Batch()); err != nil {
				b.Fatal(err)
			}
			for _, r := range read {
				if r.Offset >= from && got < batch {
					got++
				}
			}
		}
		if err := it.Close(); err != nil {
			b.Fatal(err)
		}
		n += got
	}
	b.ReportMetric(float64(n)/time.Since(rstart).Seconds(), "read-rec/s")
}

// reportPebble reports what Pebble wrote: WAL, flushed and compacted bytes
// (sstables and blob files), bytes moved between levels without rewriting,
// and compaction bytes per flushed byte (the write amplification that grows
// with the data).
func reportPebble(b *testing.B, db *storage.DB) {
	m := db.Pebble().Metrics()
	if testing.Verbose() {
		b.Logf("%s", m)
	}
	var flushed, compacted, moved uint64
	for _, l := range m.Levels {
		// Pebble counts the blob files a flush writes as compacted too.
		flushed += l.TableBytesFlushed + l.BlobBytesFlushed
		compacted += l.TableBytesCompacted + l.BlobBytesCompacted - l.BlobBytesFlushed
		moved += l.TableBytesMoved
	}
	b.ReportMetric(float64(m.WAL.BytesWritten)/(1<<20), "wal-MB")
	b.ReportMetric(float64(flushed)/(1<<20), "flush-MB")
	b.ReportMetric(float64(compacted)/(1<<20), "compact-MB")
	b.ReportMetric(float64(moved)/(1<<20), "moved-MB")
	b.ReportMetric(float64(compacted)/float64(max(flushed, 1)), "compact/flush")
}

// cpuTime is the CPU time (user and system) the process used so far,
// Pebble's background flushes and compactions included.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
