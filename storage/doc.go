// Package storage owns fjord's on-disk format: one Pebble database per broker
// holding every partition log, the partition state, the leader-epoch cache,
// the time index and the broker's topic metadata.
//
// # Key layout
//
// Keys sort so that one partition's log is one contiguous, append-only range.
// Integers are big-endian so that byte order is numeric order.
//
//	'l' topicID(8) partition(4) baseOffset(8)  -> one record batch (below)
//	's' topicID(8) partition(4)                -> partition state: log start offset, retained bytes
//	'e' topicID(8) partition(4) epoch(4)       -> start offset of that leader epoch
//	'x' topicID(8) partition(4) maxTime(8)     -> base offset of the first batch whose running
//	                                              maximum timestamp reached maxTime (time index)
//	'm' name                                    -> broker metadata (topic definitions, format version)
//	'r' ...                                     -> reserved for the metadata Raft log
//
// Topics get a fresh random 64-bit id at creation, so a deleted and recreated
// topic never sees old keys; deleting a topic is one DeleteRange per prefix.
//
// # Batch layout
//
// A batch holds the records of one append to one partition:
//
//	magic(1)=1 crc32c(4) baseOffset(8) count(4) firstTimestamp(8) maxTimestamp(8) leaderEpoch(4)
//	record*count
//
// The CRC32C (Castagnoli) covers every byte after the crc field. Each record is
//
//	bodyLen(uvarint) timestampDelta(varint, from firstTimestamp) formats(1: key<<4|value)
//	keyLen(uvarint) key valueLen(uvarint) value headerCount(uvarint) (keyLen key valueLen value)*
//
// Offsets within a batch are consecutive from baseOffset. Values are stored as
// the exact bytes the producer sent, so a JSON value is written back verbatim.
//
// # Versioning
//
// The batch magic byte and the 'm' key "format" name the on-disk version. A
// broker refuses to open a database whose format is newer than it knows; a
// future format change adds a new magic and keeps reading the old one, or
// migrates on open under a bumped "format" key.
//
// # Durability
//
// Appends are committed with pebble.Sync; Pebble's commit pipeline shares one
// WAL fsync among concurrent commits. Callers must not expose an appended
// offset to readers before Append returns, because Pebble makes a write
// visible to iterators before its WAL sync completes.
package storage
