// Package raftstore keeps the metadata log's Raft log and stable store in
// the broker's Pebble database, under the 'r' key prefix that storage
// reserves for it:
//
//	'r' 'l' index(8, big-endian)  -> one log entry (below)
//	'r' 's' key                   -> a stable-store value
//
// A log entry is version(1)=1 index(8) term(8) type(1) appendedAt(8, Unix
// ns) dataLen(uvarint) data extLen(uvarint) extensions. Writes are committed
// with pebble.Sync: Raft counts an entry as stored once StoreLogs returns.
package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"

	"github.com/fjord-streaming/fjord/storage"
)

// ErrCorrupt marks a log entry that does not decode.
var ErrCorrupt = errors.New("raftstore: corrupt log entry")

// errNotFound is Get's error for a missing key. Raft recognizes it by its
// text, "not found", and nothing else.
var errNotFound = errors.New("not found")

// Store is a raft.LogStore and raft.StableStore on Pebble.
type Store struct{ p *pebble.DB }

var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
)

// New returns the store of db's metadata log.
func New(db *storage.DB) *Store { return &Store{p: db.Pebble()} }

var (
	logPrefix    = []byte{'r', 'l'}
	stablePrefix = []byte{'r', 's'}
)

func logKey(i uint64) []byte {
	k := make([]byte, 10)
	copy(k, logPrefix)
	binary.BigEndian.PutUint64(k[2:], i)
	return k
}

func stableKey(k []byte) []byte { return append(append([]byte(nil), stablePrefix...), k...) }

// FirstIndex is the first stored index, 0 when the log is empty.
func (s *Store) FirstIndex() (uint64, error) { return s.edge(true) }

// LastIndex is the last stored index, 0 when the log is empty.
func (s *Store) LastIndex() (uint64, error) { return s.edge(false) }

func (s *Store) edge(first bool) (uint64, error) {
	it, err := s.p.NewIter(&pebble.IterOptions{LowerBound: logKey(0), UpperBound: []byte{'r', 'm'}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	ok := it.First()
	if !first {
		ok = it.Last()
	}
	if !ok {
		return 0, it.Error()
	}
	return binary.BigEndian.Uint64(it.Key()[2:]), nil
}

// GetLog reads entry index into out.
func (s *Store) GetLog(index uint64, out *raft.Log) error {
	v, closer, err := s.p.Get(logKey(index))
	if errors.Is(err, pebble.ErrNotFound) {
		return raft.ErrLogNotFound
	} else if err != nil {
		return err
	}
	defer closer.Close()
	return decode(v, out)
}

// StoreLog stores one entry.
func (s *Store) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// StoreLogs stores entries durably in one synced commit.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	b := s.p.NewBatch()
	defer b.Close()
	for _, l := range logs {
		if err := b.Set(logKey(l.Index), encode(l), nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

// DeleteRange removes entries min through max, inclusive.
func (s *Store) DeleteRange(min, max uint64) error {
	hi := logKey(max + 1)
	if max == ^uint64(0) {
		hi = []byte{'r', 'm'}
	}
	return s.p.DeleteRange(logKey(min), hi, pebble.Sync)
}

// Set stores a stable value.
func (s *Store) Set(key, val []byte) error { return s.p.Set(stableKey(key), val, pebble.Sync) }

// Get reads a stable value; a missing key is an error, as Raft expects.
func (s *Store) Get(key []byte) ([]byte, error) {
	v, closer, err := s.p.Get(stableKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetUint64 stores a stable integer.
func (s *Store) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 reads a stable integer; missing is 0. A failed read is an
// error, not 0: Raft would take it for term 0 and could vote twice in a term.
func (s *Store) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if errors.Is(err, errNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raftstore: stable value %q is %d bytes", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

const version = 1

func encode(l *raft.Log) []byte {
	b := make([]byte, 0, 26+len(l.Data)+len(l.Extensions)+20)
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, l.Index)
	b = binary.BigEndian.AppendUint64(b, l.Term)
	b = append(b, byte(l.Type))
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = binary.AppendUvarint(b, uint64(len(l.Data)))
	b = append(b, l.Data...)
	b = binary.AppendUvarint(b, uint64(len(l.Extensions)))
	return append(b, l.Extensions...)
}

func decode(b []byte, out *raft.Log) error {
	if len(b) < 26 || b[0] != version {
		return ErrCorrupt
	}
	out.Index = binary.BigEndian.Uint64(b[1:])
	out.Term = binary.BigEndian.Uint64(b[9:])
	out.Type = raft.LogType(b[17])
	out.AppendedAt = time.Time{}
	if at := int64(binary.BigEndian.Uint64(b[18:])); at != 0 {
		out.AppendedAt = time.Unix(0, at)
	}
	rest := b[26:]
	var err error
	if out.Data, rest, err = field(rest); err != nil {
		return err
	}
	if out.Extensions, rest, err = field(rest); err != nil {
		return err
	}
	if len(rest) != 0 {
		return ErrCorrupt
	}
	return nil
}

func field(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, ErrCorrupt
	}
	if n == 0 {
		return nil, b[k:], nil
	}
	return append([]byte(nil), b[k:k+int(n)]...), b[k+int(n):], nil
}
