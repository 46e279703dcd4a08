package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// formatVersion is the on-disk format this code writes and reads.
const formatVersion = "1"

// ErrNewerFormat is returned by Open for a database written by a newer fjord.
var ErrNewerFormat = errors.New("storage: data directory has a newer format")

// Options configure a DB. Zero values mean defaults.
type Options struct {
	// FS is the file system; nil means the OS. Tests use vfs.NewMem().
	FS vfs.FS
	// CacheBytes is the block cache size (default 64 MiB).
	CacheBytes int64
	// MemTableBytes is the memtable size (default 64 MiB).
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
		o.MemTableBytes = 64 << 20
	}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	popts := &pebble.Options{
		FS:                    o.FS,
		Cache:                 cache,
		MemTableSize:          o.MemTableBytes,
		L0CompactionThreshold: 4,
		L0StopWritesThreshold: 24,
		Logger:                pebbleLogger{o.Logger},
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
		return db.PutMeta("format", []byte(formatVersion))
	}
	if string(v) != formatVersion {
		return fmt.Errorf("%w: %q (this broker reads %q)", ErrNewerFormat, v, formatVersion)
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
	prefixTime  = 'x'
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

func logKey(id PartitionID, base int64) []byte {
	return binary.BigEndian.AppendUint64(partKey(prefixLog, id, 8), uint64(base))
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
	for _, p := range []byte{prefixLog, prefixState, prefixEpoch, prefixTime} {
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
