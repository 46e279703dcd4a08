package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// formatVersion is the on-disk format this code writes and reads (see
// Versioning in the package doc).
const formatVersion = 2

// ErrNewerFormat is returned by Open for a database written by a newer fjord.
var ErrNewerFormat = errors.New("storage: data directory has a newer format")

// ErrOlderFormat is returned by Open for a database written in an older
// format that this fjord no longer reads.
var ErrOlderFormat = errors.New("storage: data directory has an older format")

// Options configure a DB. Zero values mean defaults.
type Options struct {
	// FS is the file system; nil means the OS. Tests use vfs.NewMem().
	FS vfs.FS
	// CacheBytes is the block cache size (default 32 MiB), over and above
	// the memtables that Pebble charges to the same cache.
	CacheBytes int64
	// MemTableBytes is the memtable size (default 32 MiB).
	MemTableBytes uint64
	// Logger receives Pebble's messages at debug level; nil discards them.
	Logger *slog.Logger
	// OnSync, if set, observes the duration of each synced commit.
	OnSync func(time.Duration)
}

// DB is one broker's Pebble database.
type DB struct {
	p      *pebble.DB
	onSync func(time.Duration)
}

// Open opens or creates the database in dir.
func Open(dir string, o Options) (*DB, error) {
	if o.CacheBytes <= 0 {
		o.CacheBytes = 32 << 20
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = 32 << 20
	}
	// Pebble charges memtables (up to MemTableStopWritesThreshold, 2, of
	// them) against the block cache; without room for them on top, two 32 MiB
	// memtables left a 64 MiB cache no room at all and every block read went
	// to the file system.
	cache := pebble.NewCache(o.CacheBytes + 2*int64(o.MemTableBytes))
	defer cache.Unref()
	// These Pebble options were picked by measurement (BenchmarkGrowingLog:
	// 100-byte event-like JSON records in synced 1000-record appends, round
	// robin over 1, 8, 64 or 1000 partitions, up to 40M records = 4 GB; and
	// BenchmarkAppendSynced; 2-core AMD EPYC VM, go1.26, Pebble v2.1.7, 2-3
	// runs each; wall-clock rates vary +-15% there because every append waits
	// for an fsync, so CPU per record and bytes compacted decide):
	//
	//   - Value separation: a log value of 512 bytes or more (a batch of a
	//     few records) is written once to a blob file at flush, and the
	//     sstables hold only keys and references, so compactions rewrite a few
	//     dozen bytes per batch instead of the batch. Appends to many
	//     partitions interleave in the key space, and without it every flush
	//     overlapped every partition's older tables: at 10M records over 1000
	//     partitions Pebble compacted 2.6 bytes per byte flushed, spent 780 CPU
	//     ns per record and filled at 1.0M records/s; with it, 0.001, 380 ns and
	//     2.1-2.3M records/s, the same as one partition, and random 1000-record
	//     reads ran at 6-7M instead of 2.4M records/s (a read loads one value
	//     from a blob file instead of iterating sstable blocks). A reference
	//     depth of 100 rather than Pebble's suggested 10: at 10 compactions
	//     rewrote a third of the values with 1000 partitions, at 100 none.
	//     Retention frees a blob file once nothing references it, and rewrites
	//     one that is 20% garbage after five minutes. Value separation needs
	//     columnar blocks and pebble.FormatValueSeparation.
	//   - 64 MiB L0 tables (Pebble: 2 MiB), so a flush writes one sstable and
	//     one blob file instead of a 2 MiB blob file per split: at 50M records
	//     there were 2,528 blob files and 1,304 sstables, more than Pebble's
	//     1,000-file cache, and random reads spent 11% of their CPU reopening
	//     files (random batch-aligned reads 1.29M vs 1.42-1.57M records/s with
	//     158 blob files; filling 1.03M vs 1.25M records/s). Lower levels
	//     double from there; they hold only keys. The file cache is sized from
	//     the descriptor limit (maxOpenFiles).
	//   - Earlier, without value separation, sstables ended at partition
	//     boundaries (a Pebble span policy) to avoid those rewrites; it worked
	//     for tens of partitions and cost more than it saved for hundreds
	//     (32 KiB tables per flush). With value separation it made no
	//     difference and is gone.
	//   - No block compression. Snappy shrinks such JSON to 54% on disk but costs
	//     580 vs 420 CPU ns per appended record (-28% without it: flushes are the
	//     broker's main background CPU) and random 1000-record reads run at 1.9M
	//     vs 2.9M records/s. Disk bytes written are the WAL plus one
	//     uncompressed copy (2.0 GB vs 1.6 GB per GB appended).
	//   - 32 MiB memtables, not 64: the test process peaked at 122 MB RSS instead
	//     of 185 MB (up to two memtables live at once), with the same append
	//     and read rates (AppendSynced batch=1000:
	//     1.59M vs 1.53M records/s; fill 1.8M vs 1.6M records/s). 16 MiB measured
	//     within noise of 32 MiB, with twice the flushes.
	//   - L0 compaction at 4 sublevels (Pebble's default); measured without
	//     value separation, a threshold of 2 rewrote 1.6 bytes per byte flushed
	//     and cut the fill rate 25%. Writes stop at 24 sublevels rather than 12
	//     to ride out bursts.
	//   - BytesPerSync stays at 512 KiB: 4 MiB measured the same. WALBytesPerSync
	//     stays off: every append syncs the WAL itself.
	popts := &pebble.Options{
		FS:                    o.FS,
		Cache:                 cache,
		MemTableSize:          o.MemTableBytes,
		FormatMajorVersion:    pebble.FormatValueSeparation,
		MaxOpenFiles:          maxOpenFiles(),
		L0CompactionThreshold: 4,
		L0StopWritesThreshold: 24,
		Logger:                pebbleLogger{o.Logger},
	}
	popts.TargetFileSizes[0] = 64 << 20
	popts.Experimental.EnableColumnarBlocks = func() bool { return true }
	popts.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               true,
			MinimumSize:           512,
			MaxBlobReferenceDepth: 100,
			RewriteMinimumAge:     5 * time.Minute,
			TargetGarbageRatio:    0.2,
		}
	}
	for i := range popts.Levels {
		popts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	p, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	db := &DB{p: p, onSync: o.OnSync}
	if err := db.checkFormat(); err != nil {
		_ = p.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) checkFormat() error {
	v, err := db.GetMeta("format")
	if err != nil {
		return err
	}
	if v == nil {
		return db.PutMeta("format", []byte(strconv.Itoa(formatVersion)))
	}
	n, err := strconv.Atoi(string(v))
	switch {
	case err != nil || n > formatVersion:
		return fmt.Errorf("%w: %q (this broker reads format %d)", ErrNewerFormat, v, formatVersion)
	case n < formatVersion:
		return fmt.Errorf("%w: %q (this broker reads format %d and does not migrate older ones; "+
			"remove the data directory or use the fjord that wrote it)", ErrOlderFormat, v, formatVersion)
	}
	return nil
}

// Close flushes and closes the database.
func (db *DB) Close() error { return db.p.Close() }

// Pebble exposes the underlying database for metrics.
func (db *DB) Pebble() *pebble.DB { return db.p }

// PartitionID names one partition of one topic incarnation.
type PartitionID struct {
	TopicID   uint64
	Partition uint32
}

func (id PartitionID) String() string { return fmt.Sprintf("%016x/%d", id.TopicID, id.Partition) }

const (
	prefixLog   = 'l'
	prefixState = 's'
	prefixEpoch = 'e'
	prefixMeta  = 'm'
)

// partKey is prefix + topicID + partition, with room for a suffix.
func partKey(prefix byte, id PartitionID, extra int) []byte {
	k := make([]byte, 13, 13+extra)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], id.TopicID)
	binary.BigEndian.PutUint32(k[9:], id.Partition)
	return k
}

// logKeySize is the size of a log key.
const logKeySize = 1 + 8 + 4 + 8

func logKey(id PartitionID, base int64) []byte {
	k := make([]byte, logKeySize)
	putLogKey(k, id, base)
	return k
}

// putLogKey writes the log key of the batch at base into k[:logKeySize].
func putLogKey(k []byte, id PartitionID, base int64) {
	k[0] = prefixLog
	binary.BigEndian.PutUint64(k[1:], id.TopicID)
	binary.BigEndian.PutUint32(k[9:], id.Partition)
	binary.BigEndian.PutUint64(k[13:], uint64(base))
}

// topicBounds is the key range of every partition of a topic under prefix.
func topicBounds(prefix byte, topicID uint64) (lo, hi []byte) {
	lo = binary.BigEndian.AppendUint64([]byte{prefix}, topicID)
	hi = binary.BigEndian.AppendUint64([]byte{prefix}, topicID+1)
	if topicID == ^uint64(0) {
		hi = []byte{prefix + 1}
	}
	return lo, hi
}

// partBounds is the key range of one partition under prefix.
func partBounds(prefix byte, id PartitionID) (lo, hi []byte) {
	lo = partKey(prefix, id, 0)
	hi = partKey(prefix, PartitionID{id.TopicID, id.Partition + 1}, 0)
	if id.Partition == ^uint32(0) {
		_, hi = topicBounds(prefix, id.TopicID)
	}
	return lo, hi
}

// GetMeta returns the metadata value under name, or nil when absent.
func (db *DB) GetMeta(name string) ([]byte, error) {
	v, closer, err := db.p.Get(append([]byte{prefixMeta}, name...))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: get %s: %w", name, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// PutMeta durably stores a metadata value.
func (db *DB) PutMeta(name string, value []byte) error {
	if err := db.p.Set(append([]byte{prefixMeta}, name...), value, pebble.Sync); err != nil {
		return fmt.Errorf("storage: put %s: %w", name, err)
	}
	return nil
}

// ScanMeta calls fn for every metadata entry whose name starts with prefix,
// in name order. The value is only valid during the call.
func (db *DB) ScanMeta(prefix string, fn func(name string, value []byte) error) error {
	lo := append([]byte{prefixMeta}, prefix...)
	it, err := db.p.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := fn(string(it.Key()[1:]), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// prefixEnd is the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// DeleteTopic removes every key of the topic's partitions and the metadata
// entry metaName, in one synced batch.
func (db *DB) DeleteTopic(topicID uint64, metaName string) error {
	b := db.p.NewBatch()
	defer b.Close()
	for _, p := range []byte{prefixLog, prefixState, prefixEpoch} {
		lo, hi := topicBounds(p, topicID)
		if err := b.DeleteRange(lo, hi, nil); err != nil {
			return err
		}
	}
	if metaName != "" {
		if err := b.Delete(append([]byte{prefixMeta}, metaName...), nil); err != nil {
			return err
		}
	}
	if err := db.commit(b); err != nil {
		return fmt.Errorf("storage: delete topic %016x: %w", topicID, err)
	}
	return nil
}

func (db *DB) commit(b *pebble.Batch) error {
	start := time.Now()
	err := db.p.Apply(b, pebble.Sync)
	if db.onSync != nil {
		db.onSync(time.Since(start))
	}
	return err
}

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l != nil {
		p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	if p.l != nil {
		p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	if p.l != nil {
		p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
	}
	panic(fmt.Sprintf(format, args...))
}

// SyncWAL returns once everything committed so far is durable: writes made
// without sync (a follower's appends to several partitions) become durable
// together with one WAL sync.
func (db *DB) SyncWAL() error {
	if err := db.p.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("storage: sync WAL: %w", err)
	}
	return nil
}
