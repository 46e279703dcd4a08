// Package engine is the only package that knows log semantics: topics,
// partitions, offsets, the partitioner, produce and fetch, retention.
//
// A Partition owns its log: log start offset, log end offset (LEO), high
// watermark (HW) and leader epoch. Offsets are assigned by the leader only,
// consecutive and in request order. Appends to one partition are serialized
// and coalesced into one synced storage commit (group commit); reads are
// concurrent. Readers only ever see records below the HW, and the HW moves
// only after the synced commit returned, so a record a reader saw survives a
// crash. Long-poll waiters sleep on a channel that is closed when the HW
// advances; nothing polls. Each partition keeps copies of its newest
// batches in memory (at most 64 batches and 1 MiB a partition, 16 MiB for
// the engine), so readers at the tail and fetching followers get them
// without opening a storage iterator.
//
// The HW is kept apart from the LEO and every batch carries its leader epoch
// so that replication can raise the HW from follower progress later without
// changing the partition API.
package engine
