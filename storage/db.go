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
	// CacheBytes is the block cache size (default 64 MiB).
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
		o.CacheBytes = 64 << 20
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = 32 << 20
	}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	// These Pebble options were picked by measurement (BenchmarkGrowingLog:
	// 100-byte event-like JSON records in synced 1000-record appends, round
	// robin over 1, 8 or 64 partitions, up to 40M records = 4 GB; and
	// BenchmarkAppendSynced; 2-core AMD EPYC VM, go1.26, Pebble v2.1.7, 2-3
	// runs each; wall-clock rates vary +-15% there because every append waits
	// for an fsync, so CPU per record and bytes compacted decide):
	//
	//   - Tables end at partition boundaries (splitAtPartitions), L0 tables
	//     target 8 MiB (Pebble: 2 MiB) and a file count alone triggers an L0
	//     compaction only past 2000 files (Pebble: 500). A partition's newer
	//     tables then lie above its older ones and L0 stays one sublevel, so
	//     Pebble has nothing to merge; what it does merge is tables of
	//     different partitions, which rewrites the older tables of every
	//     partition in between. Compaction bytes per flushed byte at 40M
	//     records, for 1/8/64 partitions: Pebble's defaults 0.46/0.99/4.1;
	//     split 0/0.35/0.69; split with 2000 files 0/0/0.36; all three 0/0/0.31
	//     (0/0/0 up to 10M); the format-1 layout had 1.6/0.99/1.9. The cost: a
	//     flush writes one table per partition in the memtable, so with
	//     hundreds of busy partitions tables get small and L0 compactions come
	//     back (64 partitions: 0.5 MiB tables).
	//   - No block compression. Snappy shrinks such JSON to 54% on disk but costs
	//     580 vs 420 CPU ns per appended record (-28% without it: flushes are the
	//     broker's main background CPU) and random 1000-record reads run at 1.9M
	//     vs 2.9M records/s. Since an append writes only its partition's newest
	//     keys, log data is flushed once and then moved down the LSM rather than
	//     rewritten, so disk bytes written are the WAL plus one uncompressed copy
	//     (2.0 GB vs 1.6 GB per GB appended). MinLZ under pebble.FormatNewest
	//     saved only 3% CPU over Snappy; FormatNewest itself added CPU (490 ns
	//     uncompressed), so the default format stays.
	//   - 32 MiB memtables, not 64: the test process peaked at 122 MB RSS instead
	//     of 185 MB (up to two memtables live at once, plus the 64 MiB block
	//     cache), with the same append and read rates (AppendSynced batch=1000:
	//     1.59M vs 1.53M records/s; fill 1.8M vs 1.6M records/s). 16 MiB measured
	//     within noise of 32 MiB, with twice the flushes.
	//   - L0 compaction at 4 sublevels (Pebble's default). Per-partition
	//     tables keep L0 at one sublevel anyway; measured before the split, a
	//     threshold of 2 rewrote 1.6 bytes per byte flushed and cut the fill
	//     rate 25%, and 8 saved 127 MB of compaction per GB flushed with 8
	//     partitions but lets reads merge twice as many L0 sublevels. Writes
	//     stop at 24 sublevels rather than 12 to ride out bursts.
	//   - BytesPerSync stays at 512 KiB: 4 MiB measured the same. WALBytesPerSync
	//     stays off: every append syncs the WAL itself.
	popts := &pebble.Options{
		FS:                        o.FS,
		Cache:                     cache,
		MemTableSize:              o.MemTableBytes,
		L0CompactionThreshold:     4,
		L0CompactionFileThreshold: 2000,
		L0StopWritesThreshold:     24,
		Logger:                    pebbleLogger{o.Logger},
	}
	popts.TargetFileSizes[0] = 8 << 20
	popts.Experimental.SpanPolicyFunc = splitAtPartitions
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

// splitAtPartitions is Pebble's span policy: it ends every sstable at the
// boundary of a partition's log, so that a table never holds two partitions'
// logs. A table then covers one stretch of one partition's offsets, and the
// tables flushed later for that partition lie above it, so Pebble can move
// tables down the LSM instead of merging them with their neighbours'. Keys
// before the logs share tables; so do keys after them.
func splitAtPartitions(start []byte) (pebble.SpanPolicy, []byte, error) {
	switch {
	case len(start) == 0 || start[0] < prefixLog:
		return pebble.SpanPolicy{}, []byte{prefixLog}, nil
	case start[0] > prefixLog || len(start) < 13:
		return pebble.SpanPolicy{}, nil, nil
	}
	id := PartitionID{TopicID: binary.BigEndian.Uint64(start[1:]), Partition: binary.BigEndian.Uint32(start[9:])}
	_, hi := partBounds(prefixLog, id)
	return pebble.SpanPolicy{}, hi, nil
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
