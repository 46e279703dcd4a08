// Package storage owns fjord's on-disk format: one Pebble database per broker
// holding every partition log, the partition state, the leader-epoch cache
// and the broker's topic metadata.
//
// # Key layout
//
// Keys sort so that one partition's log is one contiguous range, and an
// append writes only log keys past the partition's last one: nothing else
// changes per append. Log values of 512 bytes or more (every batch of a few
// records) are separated into Pebble blob files when flushed, so Pebble's
// compactions rewrite only keys and value references, however many
// partitions interleave: the cost of an append does not grow with the log
// or with the number of partitions (see Open for the measurements).
// Integers are big-endian so that byte order is numeric order.
//
//	'l' topicID(8) partition(4) baseOffset(8)  -> log value: prefix + one record batch (below)
//	's' topicID(8) partition(4)                -> partition state (below); written only when
//	                                              the head is truncated, absent until then
//	'e' topicID(8) partition(4) epoch(4)       -> start offset(8) of that leader epoch
//	'm' name                                    -> broker metadata (topic definitions, format version)
//	'r' 'l' index(8)                            -> a metadata Raft log entry (controller/raftstore)
//	'r' 's' key                                 -> a Raft stable-store value (term, vote)
//
// Topics get a fresh random 64-bit id at creation, so a deleted and recreated
// topic never sees old keys; deleting a topic is one DeleteRange per prefix.
//
// # Log values
//
// A log value is a fixed local prefix followed by the encoded batch:
//
//	runningMaxTime(8) cumulativeBytes(8) batch
//
// runningMaxTime is the largest record timestamp of the partition from
// offset 0 through this batch; cumulativeBytes is the encoded size of every
// batch from offset 0 through this one. Both count batches that retention
// has since dropped, so they never go down, except by replica truncation: a
// truncated tail takes its batches' totals with it, and after ResetLog they
// count from the reset. The prefix is this broker's
// bookkeeping: replication ships the batch bytes alone and the receiver
// computes its own prefix.
//
// The last log value gives the log end offset, the running maximum
// timestamp and the cumulative byte count; a timestamp lookup binary-searches
// the log keys by offset and reads runningMaxTime from the prefix (O(log n)
// seeks, no separate time index).
//
// # Partition state
//
//	logStart(8) bytesBefore(8) maxTimeBefore(8)
//
// logStart is the first retained offset (a batch base or the log end);
// bytesBefore and maxTimeBefore are the cumulativeBytes and runningMaxTime of
// the batch just below logStart (0 and -1 when there is none). A missing
// state means logStart 0 with nothing before it. The retained byte count is
// the last batch's cumulativeBytes minus bytesBefore; for an empty log
// (everything dropped) the end of the log is logStart and its totals are
// bytesBefore and maxTimeBefore.
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
// The 'm' key "format" names the layout of keys, log values and state; the
// batch magic byte names the batch encoding, which is also what replication
// ships. Format 2 is the layout above. Format 1 (no log value prefix, the
// partition state rewritten on every append, an 'x' time index) had no users
// and is not migrated: a broker refuses to open a database whose format is
// older or newer than the one it knows. A future format change either
// migrates on open under a bumped "format" key or keeps reading the old
// layout; a batch encoding change adds a new magic and keeps reading the old.
//
// # Leader epochs and replica truncation
//
// The 'e' keys are the partition's leader-epoch cache: epoch -> the first
// offset written in it, epochs ascending in key order and start offsets
// non-decreasing with them. PutLeaderEpoch adds an entry (a new leader at
// its log end, a follower seeing a batch of a new epoch); LeaderEpochs
// lists them; engine/epochs decides with them where a follower's log
// diverges from its leader's. Three writes shorten a log:
//
//   - TruncateHead (retention) drops batches below a new log start and
//     rewrites the state key; it keeps every epoch entry, since stale low
//     entries change no answer about a retained offset.
//   - TruncateTail (a diverged follower) drops every batch holding an offset
//     at or above a given end, a straddling batch whole, and every epoch
//     entry starting at or above the new end, in one batch. The state key is
//     untouched, so it never goes below the log start (ErrBelowLogStart).
//   - ResetLog (a follower whose log lies outside its leader's) deletes the
//     partition's log and epoch keys and writes the state
//     {startOffset, 0, -1}: an empty log at startOffset whose byte count and
//     running maximum start over from there.
//
// Each is one atomic Pebble batch, so a crash leaves the log, the state and
// the epoch entries consistent with one another.
//
// # Durability
//
// Appends are committed with pebble.Sync; Pebble's commit pipeline shares one
// WAL fsync among concurrent commits. Callers must not expose an appended
// offset to readers before Append returns, because Pebble makes a write
// visible to iterators before its WAL sync completes.
package storage
