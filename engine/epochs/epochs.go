// Package epochs is a partition's leader-epoch cache and the rules that use
// it to find where a follower's log diverges from its leader's (Kafka's
// KIP-101 and KIP-279, with the check carried in the fetch as in KIP-595).
//
// Every leader epoch has one leader, which records (epoch, its log end)
// before it appends and stamps each batch it writes with the epoch; a
// follower records an epoch when it stores the first batch of it. So two
// replicas holding a record of the same epoch at the same offset hold the
// same record and the same log below it, and comparing epochs is enough to
// compare logs. A follower's fetch carries its fetch offset and the epoch of
// its last record; the leader answers a fetch that its own log contradicts
// with a diverging epoch (Divergence), and the follower truncates its log to
// the point the answer allows (TruncationPoint) and fetches again. It never
// truncates to its high watermark, which may lag behind records the leader
// has (KIP-101's first scenario), and it steps back one epoch per round
// when its epochs and the leader's interleave (KIP-279).
//
// Epoch -1 stands for "no epoch": the records below a cache's first entry,
// whose epoch is unknown (the cache's EpochAt answers -1 for them), and an
// empty log's last fetched epoch. Like any epoch its end is the next
// entry's start: the first entry's, or the log end of an empty cache.
//
// The package is pure: no I/O, no goroutines, no locks. storage keeps the
// entries on disk; the engine keeps the two in step and serializes access.
package epochs

import (
	"cmp"
	"slices"
	"sort"
)

// Entry is one leader epoch and the first offset written in it. A
// storage.EpochEntry has the same fields and converts with Entry(e), or
// EntriesOf for a slice.
type Entry struct {
	Epoch       int32
	StartOffset int64
}

// EntriesOf converts entries of any type with Entry's fields (such as
// storage.EpochEntry) into Entries.
func EntriesOf[E ~struct {
	Epoch       int32
	StartOffset int64
}](es []E) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry(e)
	}
	return out
}

// Cache is a partition's leader-epoch cache: (epoch, start offset) pairs,
// epochs strictly increasing, start offsets non-decreasing. Two epochs may
// start at one offset when the older one has no records (a leader replaced
// before it appended).
type Cache struct {
	entries []Entry
}

// New builds a cache from entries as storage lists them (sorted by epoch;
// they are sorted here anyway). Each is assigned in epoch order, so an entry
// that Assign refuses (a negative epoch or start, or a start below the
// previous entry's) is left out: the cache always holds its invariants.
func New(entries []Entry) *Cache {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b Entry) int { return cmp.Compare(a.Epoch, b.Epoch) })
	c := &Cache{entries: make([]Entry, 0, len(sorted))}
	for _, e := range sorted {
		c.Assign(e.Epoch, e.StartOffset)
	}
	return c
}

// Entries returns a copy of the entries, in epoch order.
func (c *Cache) Entries() []Entry { return slices.Clone(c.entries) }

// Latest is the entry of the largest epoch, false when the cache is empty.
func (c *Cache) Latest() (Entry, bool) {
	if len(c.entries) == 0 {
		return Entry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// Assign records that epoch starts at start: a new leader at its log end,
// or a follower storing the first batch of a new epoch. It reports whether
// the entry was added. An epoch not above the latest is ignored (the usual
// case: a follower sees many batches of one epoch). A start below the latest
// entry's start, or a negative epoch or start, is a programming error (the
// log would have had to be truncated first, which drops that entry): it
// changes nothing and reports false.
func (c *Cache) Assign(epoch int32, start int64) bool {
	if epoch < 0 || start < 0 {
		return false
	}
	if l, ok := c.Latest(); ok && (epoch <= l.Epoch || start < l.StartOffset) {
		return false
	}
	c.entries = append(c.entries, Entry{Epoch: epoch, StartOffset: start})
	return true
}

// EndOffsetFor is the answer to "where does requested end in your log?"
// (KIP-279) from a replica whose log ends at leo: the largest epoch at or
// below requested that the cache has, and that epoch's end offset: the next
// entry's start, or leo when it is the latest. With no epoch at or below
// requested (requested is older than every entry, or -1, or the cache is
// empty) it answers epoch -1 and the end of the unknown-epoch records: the
// first entry's start offset, or leo for an empty cache.
func (c *Cache) EndOffsetFor(requested int32, leo int64) (epoch int32, end int64) {
	// i is the number of entries at or below requested.
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].Epoch > requested })
	switch {
	case i == len(c.entries) && i > 0:
		return c.entries[i-1].Epoch, leo
	case i == len(c.entries):
		return -1, leo
	case i == 0:
		return -1, c.entries[0].StartOffset
	default:
		return c.entries[i-1].Epoch, c.entries[i].StartOffset
	}
}

// TruncateFromEnd removes the entries starting at or above offset: the
// epochs a follower's tail truncation to offset leaves without records.
func (c *Cache) TruncateFromEnd(offset int64) {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset >= offset })
	c.entries = c.entries[:i]
}

// EpochAt is the epoch of the record at offset: that of the latest entry
// starting at or below it, or -1 when none does.
func (c *Cache) EpochAt(offset int64) int32 {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset > offset })
	if i == 0 {
		return -1
	}
	return c.entries[i-1].Epoch
}

// Divergence is the leader's check of a follower's fetch (KIP-595): the
// follower fetches at fetchOffset (its log end), and lastFetchedEpoch is
// the epoch of the last record it has, or -1 for an empty log. The fetch
// diverges when the leader's largest epoch at or below lastFetchedEpoch is
// another, older epoch (the follower's last epoch never reached the
// leader's log), or when that epoch ends in the leader's log below
// fetchOffset (the follower has records of it that the leader has not). It
// then returns that epoch and end, which the follower passes to
// TruncationPoint; otherwise false, -1, -1.
//
// Two answers do not diverge: lastFetchedEpoch -1 (there is no record to
// check), and a leader without any epoch at or below lastFetchedEpoch whose
// first entry starts at or above fetchOffset: the leader's records below its
// first entry are of unknown epoch, and the follower's are all below it
// (Kafka accepts the same fetch). When the first entry starts below
// fetchOffset, the answer is (-1, its start).
//
// The follower's epoch entries must describe its records: one that starts
// at its log end (it led an epoch and never wrote to it) is dropped before
// it fetches as a follower (Cache.TruncateFromEnd(leo)), or a batch of an
// older epoch stored there would be taken for the dropped epoch's. Sending
// the cache's latest epoch instead, as Kafka does, also works: such a fetch
// diverges once and the truncation drops the entry.
//
// Divergence does not look at the leader's log start: a fetch below it is
// out of range, which the caller checks.
func Divergence(leader *Cache, leaderLEO, fetchOffset int64, lastFetchedEpoch int32) (diverging bool, epoch int32, end int64) {
	if lastFetchedEpoch < 0 {
		return false, -1, -1
	}
	epoch, end = leader.EndOffsetFor(lastFetchedEpoch, leaderLEO)
	if end < fetchOffset || (epoch >= 0 && epoch != lastFetchedEpoch) {
		return true, epoch, end
	}
	return false, -1, -1
}

// TruncationPoint is the follower's answer to a divergence: the offset to
// truncate its own log to (at or below followerLEO), and whether that is
// known to end the truncation. It follows Kafka's
// AbstractFetcherThread.getOffsetTruncationState, with leaderEpoch and
// leaderEnd from Divergence:
//
//   - The follower has leaderEpoch: its records of it match the leader's up
//     to where either log's epoch ends, so truncate to min(leaderEnd, the
//     follower's end of it), done.
//   - Its largest epoch at or below leaderEpoch is an older one: every record
//     from that epoch's end on is of an epoch the leader never had, so
//     truncate to that end (capped at followerLEO), not done: the next fetch
//     carries the older epoch and the leader checks it (KIP-279 steps back
//     one epoch per round).
//   - It has no epoch at or below leaderEpoch: every record from its first
//     entry on is of an epoch the leader never had, so truncate to the
//     least of that entry's start, leaderEnd and followerLEO, done (Kafka's
//     answer too: its cache answers such a request with the first entry's
//     start).
//   - leaderEpoch is -1: the leader has no epoch at or below the follower's
//     last one, and its records from leaderEnd (its first entry's start) on
//     are all of later epochs, while those below are of unknown epoch; so
//     truncate to min(leaderEnd, followerLEO), done.
//
// The result may lie below the follower's log start; the caller then
// empties its log instead (storage's ResetLog).
//
// It never truncates to the follower's high watermark: that is what lost
// acknowledged records before KIP-101.
func TruncationPoint(follower *Cache, followerLEO int64, leaderEpoch int32, leaderEnd int64) (truncateTo int64, done bool) {
	if leaderEpoch < 0 {
		return min(leaderEnd, followerLEO), true
	}
	epoch, end := follower.EndOffsetFor(leaderEpoch, followerLEO)
	if epoch == leaderEpoch || epoch < 0 {
		return min(leaderEnd, end, followerLEO), true
	}
	return min(end, followerLEO), false
}
