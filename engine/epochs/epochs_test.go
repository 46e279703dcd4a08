package epochs_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fjord-streaming/fjord/engine/epochs"
	"github.com/fjord-streaming/fjord/storage"
)

// The conversion from storage's entries compiles: the fields are the same.
var _ = epochs.EntriesOf([]storage.EpochEntry{{Epoch: 1, StartOffset: 2}})

// e is an entry, for short tables.
func e(epoch int32, start int64) epochs.Entry { return epochs.Entry{Epoch: epoch, StartOffset: start} }

func TestNewAndAssign(t *testing.T) {
	in := []epochs.Entry{e(3, 5), e(1, 2), e(2, 1), e(4, 5)}
	c := epochs.New(in)
	// Sorted by epoch; 2@1 starts below 1@2 and is left out.
	if got, want := c.Entries(), []epochs.Entry{e(1, 2), e(3, 5), e(4, 5)}; !slices.Equal(got, want) {
		t.Fatalf("New(%v) = %v, want %v", in, got, want)
	}
	in[0] = e(9, 9)
	c.Entries()[0] = e(9, 9)
	if got := c.Entries()[0]; got != e(1, 2) {
		t.Fatalf("the cache shares memory with its input or output: %v", got)
	}

	c = epochs.New(nil)
	if _, ok := c.Latest(); ok {
		t.Fatal("an empty cache has a latest entry")
	}
	steps := []struct {
		epoch int32
		start int64
		ok    bool
	}{
		{0, 0, true},
		{0, 3, false},  // not a new epoch
		{1, 3, true},   // a new epoch at a later offset
		{1, 5, false},  // not a new epoch
		{2, 2, false},  // below the latest start: a programming error
		{2, 3, true},   // epoch 1 had no records
		{-1, 4, false}, // no epoch
		{3, -1, false},
		{5, 10, true},
		{4, 11, false}, // an older epoch
	}
	var want []epochs.Entry
	for _, s := range steps {
		if got := c.Assign(s.epoch, s.start); got != s.ok {
			t.Fatalf("Assign(%d, %d) = %v, want %v", s.epoch, s.start, got, s.ok)
		}
		if s.ok {
			want = append(want, e(s.epoch, s.start))
		}
		if got := c.Entries(); !slices.Equal(got, want) {
			t.Fatalf("after Assign(%d, %d): %v, want %v", s.epoch, s.start, got, want)
		}
	}
	if l, ok := c.Latest(); !ok || l != e(5, 10) {
		t.Fatalf("Latest = %v, %v", l, ok)
	}
}

func TestEndOffsetForAndEpochAt(t *testing.T) {
	full := []epochs.Entry{e(0, 0), e(2, 5), e(3, 5), e(5, 9)} // epoch 2 has no records
	late := []epochs.Entry{e(2, 4), e(4, 6)}                   // offsets below 4 have no known epoch
	tests := []struct {
		name      string
		entries   []epochs.Entry
		requested int32
		wantEpoch int32
		wantEnd   int64
	}{
		{"no epoch", full, -1, -1, 0},
		{"the first epoch", full, 0, 0, 5},
		{"an epoch it never had", full, 1, 0, 5},
		{"an epoch without records", full, 2, 2, 5},
		{"ends at the next start", full, 3, 3, 9},
		{"between epochs", full, 4, 3, 9},
		{"the latest ends at the LEO", full, 5, 5, 12},
		{"above the latest", full, 9, 5, 12},
		{"older than every epoch", late, 1, -1, 4},
		{"older than every epoch, no epoch asked", late, -1, -1, 4},
		{"the first of a late cache", late, 3, 2, 6},
		{"empty", nil, 3, -1, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, end := epochs.New(tt.entries).EndOffsetFor(tt.requested, 12)
			if ep != tt.wantEpoch || end != tt.wantEnd {
				t.Fatalf("EndOffsetFor(%d) = %d, %d; want %d, %d", tt.requested, ep, end, tt.wantEpoch, tt.wantEnd)
			}
		})
	}
	at := []struct {
		entries []epochs.Entry
		offset  int64
		want    int32
	}{
		{full, 0, 0}, {full, 4, 0}, {full, 5, 3}, {full, 8, 3}, {full, 9, 5}, {full, 1 << 40, 5},
		{late, 0, -1}, {late, 3, -1}, {late, 4, 2}, {late, 6, 4}, {nil, 0, -1},
	}
	for _, tt := range at {
		if got := epochs.New(tt.entries).EpochAt(tt.offset); got != tt.want {
			t.Errorf("%v: EpochAt(%d) = %d, want %d", tt.entries, tt.offset, got, tt.want)
		}
	}
}

func TestTruncateFromEnd(t *testing.T) {
	full := []epochs.Entry{e(0, 0), e(2, 5), e(3, 5), e(5, 9)}
	tests := []struct {
		offset int64
		want   []epochs.Entry
	}{
		{100, full},
		{10, full},
		{9, full[:3]},
		{6, full[:3]},
		{5, full[:1]},
		{1, full[:1]},
		{0, nil},
	}
	for _, tt := range tests {
		c := epochs.New(full)
		c.TruncateFromEnd(tt.offset)
		if got := c.Entries(); !slices.Equal(got, tt.want) {
			t.Errorf("TruncateFromEnd(%d) = %v, want %v", tt.offset, got, tt.want)
		}
		// The truncated cache takes a new epoch where its log now ends.
		if l, ok := c.Latest(); ok && !c.Assign(l.Epoch+1, max(l.StartOffset, tt.offset)) {
			t.Errorf("after TruncateFromEnd(%d): Assign refused", tt.offset)
		}
	}
}

func TestDivergence(t *testing.T) {
	full := []epochs.Entry{e(0, 0), e(2, 5), e(3, 5), e(5, 9)} // LEO 12 below
	late := []epochs.Entry{e(2, 4)}                            // LEO 8 below
	tests := []struct {
		name      string
		leader    []epochs.Entry
		leo       int64
		fetch     int64
		last      int32
		diverging bool
		epoch     int32
		end       int64
	}{
		{"an empty follower", full, 12, 0, -1, false, -1, -1},
		{"no epoch is never checked", full, 12, 100, -1, false, -1, -1},
		{"caught up", full, 12, 12, 5, false, -1, -1},
		{"behind in the latest epoch", full, 12, 10, 5, false, -1, -1},
		{"ahead in the latest epoch", full, 12, 13, 5, true, 5, 12},
		{"at the end of an older epoch", full, 12, 9, 3, false, -1, -1},
		{"past the end of an older epoch", full, 12, 10, 3, true, 3, 9},
		{"an epoch the leader never had", full, 12, 7, 4, true, 3, 9},
		{"an epoch the leader never had, before its first", full, 12, 5, 1, true, 0, 5},
		{"above the leader's latest", full, 12, 12, 7, true, 5, 12},
		{"older than the leader's epochs, below their start", late, 8, 4, 1, false, -1, -1},
		{"older than the leader's epochs, past their start", late, 8, 6, 1, true, -1, 4},
		{"a leader without epochs, behind it", nil, 3, 3, 0, false, -1, -1},
		{"a leader without epochs, past it", nil, 3, 5, 0, true, -1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			div, ep, end := epochs.Divergence(epochs.New(tt.leader), tt.leo, tt.fetch, tt.last)
			if div != tt.diverging || ep != tt.epoch || end != tt.end {
				t.Fatalf("Divergence(fetch %d, last epoch %d) = %v, %d, %d; want %v, %d, %d",
					tt.fetch, tt.last, div, ep, end, tt.diverging, tt.epoch, tt.end)
			}
		})
	}
}

func TestTruncationPoint(t *testing.T) {
	f := []epochs.Entry{e(0, 0), e(2, 5), e(4, 8)} // LEO 10
	late := []epochs.Entry{e(3, 4)}                // LEO 7
	tests := []struct {
		name        string
		follower    []epochs.Entry
		leo         int64
		leaderEpoch int32
		leaderEnd   int64
		to          int64
		done        bool
	}{
		{"same epoch, the leader's ends first", f, 10, 4, 9, 9, true},
		{"same epoch, the follower's ends first", f, 10, 4, 12, 10, true},
		{"same older epoch, the leader's ends first", f, 10, 2, 6, 6, true},
		{"same older epoch, the follower's ends first", f, 10, 2, 9, 8, true},
		{"the follower lacks the leader's epoch", f, 10, 3, 9, 8, false},
		{"steps back to its own end, not the leader's", f, 10, 1, 4, 5, false},
		{"above the follower's latest", f, 10, 5, 12, 10, false},
		{"the leader has no epoch so old", f, 10, -1, 3, 3, true},
		{"the leader has no epoch so old, nor records past the follower's", f, 10, -1, 20, 10, true},
		{"the follower has no epoch so old", late, 7, 2, 6, 4, true},
		{"the follower has no epoch so old, the leader ends first", late, 7, 2, 2, 2, true},
		{"a follower without epochs", nil, 5, 2, 3, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, done := epochs.TruncationPoint(epochs.New(tt.follower), tt.leo, tt.leaderEpoch, tt.leaderEnd)
			if to != tt.to || done != tt.done {
				t.Fatalf("TruncationPoint(%d, %d) = %d, %v; want %d, %v", tt.leaderEpoch, tt.leaderEnd, to, done, tt.to, tt.done)
			}
		})
	}
}

// replica is a modelled replica: the epoch of the record at each offset
// from 0 (-1 for a record of unknown epoch), and its leader-epoch cache.
type replica struct {
	log   []int32
	cache *epochs.Cache
}

// newReplica builds a replica from a log written one character per offset,
// a digit for an epoch and '.' for an unknown one, with the cache it would
// have recorded; begun are epochs it began at its log end as leader and
// never wrote to.
func newReplica(t *testing.T, log string, begun ...int32) *replica {
	t.Helper()
	r := &replica{cache: epochs.New(nil)}
	for _, ch := range log {
		ep := int32(-1)
		if ch != '.' {
			ep = ch - '0'
		}
		r.append(t, ep)
	}
	for _, ep := range begun {
		if !r.cache.Assign(ep, r.leo()) {
			t.Fatalf("%s: cannot begin epoch %d", log, ep)
		}
	}
	return r
}

func (r *replica) leo() int64 { return int64(len(r.log)) }

// append stores one record of epoch ep as a follower does: a batch of a new
// epoch records it. A batch of an epoch older than the latest would be
// taken for the latest epoch's, which the protocol must never let happen.
func (r *replica) append(t *testing.T, ep int32) {
	t.Helper()
	if l, ok := r.cache.Latest(); ok && ep < l.Epoch && ep >= 0 {
		t.Fatalf("a record of epoch %d stored at %d after epoch %d began at %d", ep, r.leo(), l.Epoch, l.StartOffset)
	}
	if ep >= 0 {
		r.cache.Assign(ep, r.leo())
	}
	r.log = append(r.log, ep)
}

func (r *replica) truncate(to int64) {
	r.log = r.log[:to]
	r.cache.TruncateFromEnd(to)
}

// checkCache asserts that the cache gives every record its epoch.
func (r *replica) checkCache(t *testing.T, what string) {
	t.Helper()
	for o, ep := range r.log {
		if got := r.cache.EpochAt(int64(o)); got != ep {
			t.Fatalf("%s: log %v, cache %v: EpochAt(%d) = %d, want %d", what, r.log, r.cache.Entries(), o, got, ep)
		}
	}
}

// agreed is how many offsets from 0 two logs agree on; an unknown epoch
// agrees with any.
func agreed(a, b []int32) int64 {
	n := 0
	for n < len(a) && n < len(b) && (a[n] == b[n] || a[n] < 0 || b[n] < 0) {
		n++
	}
	return int64(n)
}

// fetchMode is what a follower sends as its last fetched epoch.
type fetchMode int

const (
	// lastRecord sends the epoch of its last record, after dropping the
	// entries at its log end, which describe no record.
	lastRecord fetchMode = iota
	// latestEpoch sends its cache's latest epoch, as Kafka does.
	latestEpoch
)

func (m fetchMode) String() string { return [...]string{"last record", "latest epoch"}[m] }

// round is one divergence answered and the truncation that followed.
type round struct {
	epoch int32
	end   int64
	to    int64
	done  bool
}

// reconcile plays fetch rounds until the leader sees no divergence: the
// leader checks the fetch (Divergence), the follower truncates where the
// answer says (TruncationPoint, then its log and cache). It asserts that no
// round truncates a record the two logs agree on, and that the follower
// ends as a prefix of the leader's log.
func reconcile(t *testing.T, leader, f *replica, mode fetchMode) []round {
	t.Helper()
	agree := agreed(leader.log, f.log)
	if mode == lastRecord {
		f.cache.TruncateFromEnd(f.leo())
	}
	var rounds []round
	for {
		last := int32(-1)
		switch l, ok := f.cache.Latest(); {
		case mode == latestEpoch && ok:
			last = l.Epoch
		case mode == lastRecord && f.leo() > 0:
			last = f.cache.EpochAt(f.leo() - 1)
		}
		div, ep, end := epochs.Divergence(leader.cache, leader.leo(), f.leo(), last)
		if !div {
			break
		}
		to, done := epochs.TruncationPoint(f.cache, f.leo(), ep, end)
		rounds = append(rounds, round{ep, end, to, done})
		if to < agree || to > f.leo() {
			t.Fatalf("round %d: truncation to %d of follower %v, which agrees with leader %v up to %d",
				len(rounds), to, f.log, leader.log, agree)
		}
		f.truncate(to)
		if len(rounds) > len(f.cache.Entries())+len(leader.cache.Entries())+2 {
			t.Fatalf("no end after %d rounds: %v", len(rounds), rounds)
		}
	}
	if n := agreed(leader.log, f.log); n != f.leo() {
		t.Fatalf("reconciled follower %v is no prefix of leader %v", f.log, leader.log)
	}
	if f.leo() != agree {
		t.Fatalf("reconciled follower ends at %d, the logs agree up to %d", f.leo(), agree)
	}
	return rounds
}

// replicate copies the leader's records from the follower's end up to
// upTo, as fetches do.
func replicate(t *testing.T, leader, f *replica, upTo int64) {
	t.Helper()
	for o := f.leo(); o < upTo; o++ {
		f.append(t, leader.log[o])
	}
	f.checkCache(t, "after replication")
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name          string
		leader        string
		leaderBegun   []int32
		follower      string
		followerBegun []int32
		rounds        []round
		modeOverrides map[fetchMode][]round
	}{
		{
			// The follower restarts with a record past its HW; its leader
			// has it too, so it keeps it (truncating to the HW lost it).
			name: "KIP-101 scenario 1: the leader has the records past the HW", leader: "00", follower: "00",
		},
		{
			// The follower that kept them becomes leader; the old leader
			// restarts as follower and keeps them too.
			name: "KIP-101 scenario 1 after failover", leader: "00", leaderBegun: []int32{1}, follower: "00",
		},
		{
			// Both crash; the replica without the last record comes back
			// first and leads epoch 1 from offset 1.
			name: "KIP-101 scenario 2: diverged after both crashed", leader: "01", follower: "00",
			rounds: []round{{epoch: 0, end: 1, to: 1, done: true}},
		},
		{
			name: "KIP-101 scenario 2, a longer divergent suffix", leader: "0001111", follower: "000000",
			rounds: []round{{epoch: 0, end: 3, to: 3, done: true}},
		},
		{
			// Two brokers took turns, each missing the other's epochs:
			// the follower steps back one epoch per round.
			name: "KIP-279: back-to-back leader changes", leader: "00113355", follower: "002244",
			rounds: []round{{epoch: 3, end: 6, to: 4}, {epoch: 1, end: 4, to: 2}},
		},
		{
			name: "KIP-279: three rounds", leader: "0011335577", follower: "00224466",
			rounds: []round{{epoch: 5, end: 8, to: 6}, {epoch: 3, end: 6, to: 4}, {epoch: 1, end: 4, to: 2}},
		},
		{
			name: "no divergence: the follower is behind", leader: "001122", leaderBegun: []int32{3}, follower: "0011",
		},
		{
			name: "an empty follower", leader: "0011", follower: "",
		},
		{
			name: "ahead of the leader in its epoch: truncates to its LEO", leader: "0011", follower: "001111",
			rounds: []round{{epoch: 1, end: 4, to: 4, done: true}},
		},
		{
			name: "ahead of the leader in an epoch it ended", leader: "0011", leaderBegun: []int32{2}, follower: "001111",
			rounds: []round{{epoch: 1, end: 4, to: 4, done: true}},
		},
		{
			name: "the follower's last epoch never reached the leader", leader: "00111", follower: "0012",
			rounds: []round{{epoch: 1, end: 5, to: 3, done: true}},
		},
		{
			// It led epoch 2 and wrote nothing; the leader has more of epoch 1.
			name: "a follower that began an epoch and never wrote to it", leader: "00111", leaderBegun: []int32{3},
			follower: "0011", followerBegun: []int32{2},
			modeOverrides: map[fetchMode][]round{latestEpoch: {{epoch: 1, end: 5, to: 4, done: true}}},
		},
		{
			name: "a leader without epochs", leader: "", follower: "00",
			rounds: []round{{epoch: -1, end: 0, to: 0, done: true}},
		},
		{
			name: "records older than the leader's first epoch", leader: "...33", follower: "000",
		},
		{
			name: "records older than the leader's first epoch, past its start", leader: "...33", follower: "00000",
			rounds: []round{{epoch: -1, end: 3, to: 3, done: true}},
		},
	}
	for _, tt := range tests {
		for _, mode := range []fetchMode{lastRecord, latestEpoch} {
			t.Run(fmt.Sprintf("%s/%s", tt.name, mode), func(t *testing.T) {
				leader := newReplica(t, tt.leader, tt.leaderBegun...)
				f := newReplica(t, tt.follower, tt.followerBegun...)
				want := tt.rounds
				if r, ok := tt.modeOverrides[mode]; ok {
					want = r
				}
				if got := reconcile(t, leader, f, mode); !slices.Equal(got, want) {
					t.Fatalf("rounds %+v, want %+v", got, want)
				}
				replicate(t, leader, f, leader.leo())
				if agreed(leader.log, f.log) != leader.leo() || f.leo() != leader.leo() {
					t.Fatalf("follower %v, leader %v", f.log, leader.log)
				}
			})
		}
	}
}

// TestRandomHistories plays random histories of three replicas (elections,
// unclean ones included, appends, partial replication, crashes that lose an
// unsynced tail) and reconciles a follower with the leader at every fetch:
// no fetch loses a record the two logs agree on, every follower ends as a
// prefix of its leader, and every cache gives each record its epoch.
func TestRandomHistories(t *testing.T) {
	for _, mode := range []fetchMode{lastRecord, latestEpoch} {
		t.Run(mode.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(101, uint64(mode)))
			for range 500 {
				reps := []*replica{newReplica(t, "", 0), newReplica(t, ""), newReplica(t, "")}
				leader, epoch := 0, int32(0)
				elect := func() {
					leader, epoch = rng.IntN(len(reps)), epoch+1
					if !reps[leader].cache.Assign(epoch, reps[leader].leo()) {
						t.Fatalf("replica %d cannot begin epoch %d: %v", leader, epoch, reps[leader].cache.Entries())
					}
				}
				for range 40 {
					l := reps[leader]
					switch rng.IntN(5) {
					case 0:
						elect()
					case 1, 2:
						for range rng.IntN(3) {
							l.append(t, epoch)
						}
					case 3:
						f := reps[(leader+1+rng.IntN(len(reps)-1))%len(reps)]
						reconcile(t, l, f, mode)
						replicate(t, l, f, f.leo()+rng.Int64N(l.leo()-f.leo()+1))
					case 4:
						// A crash loses an unsynced tail; an epoch entry
						// synced at the new end may survive it. A leader
						// restarts into a new election.
						i := rng.IntN(len(reps))
						r := reps[i]
						to := rng.Int64N(r.leo() + 1)
						r.log = r.log[:to]
						r.cache.TruncateFromEnd(to + 1)
						if i == leader {
							elect()
						}
					}
				}
				for i, f := range reps {
					if i != leader {
						reconcile(t, reps[leader], f, mode)
						replicate(t, reps[leader], f, reps[leader].leo())
						if !slices.Equal(f.log, reps[leader].log) {
							t.Fatalf("replica %d ends with %v, leader %v", i, f.log, reps[leader].log)
						}
					}
				}
			}
		})
	}
}
