package engine

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/fjord-streaming/fjord/engine/epochs"
	"github.com/fjord-streaming/fjord/storage"
)

// maxBatchBytes is where one append is split into several storage batches.
const maxBatchBytes = 1 << 20

// Partition owns one partition's log: its log start offset, log end offset
// (LEO), high watermark (HW) and leader epoch. Appends are serialized and
// coalesced (group commit); reads are concurrent and never block appends.
//
// The HW is kept apart from the LEO: on the leader it is the smallest
// durable LEO over the ISR (highWatermark), so with the leader alone in the
// ISR it follows the LEO once a synced commit returned; on a follower it is
// the leader's HW, capped by its own LEO (replica.go, follower.go).
type Partition struct {
	topic string
	index int32
	id    storage.PartitionID
	db    *storage.DB
	env   *partitionEnv
	// mirror follows the leader's offsets while another broker leads
	// (mirror.go).
	mirror mirror

	// writeMu is held by the one goroutine writing to storage (the group
	// commit leader or retention), so on-disk state is written in order.
	writeMu sync.Mutex
	// buf is the encoding buffer; guarded by writeMu.
	buf []byte

	// mu guards the fields below.
	mu       sync.Mutex
	queue    []*appendReq
	flushing bool
	tail     storage.Tail           // the LEO, cumulative bytes and running max timestamp
	start    storage.PartitionState // the log start and the bytes below it
	hw       int64
	// epoch is the leader epoch the metadata names (the one this broker
	// stamps on batches while it leads); epochs is the leader-epoch cache.
	epoch  int32
	epochs *epochs.Cache
	hwCh   chan struct{} // closed and replaced whenever hw advances, leadership moves or the partition closes
	acks   hwWaiters     // acks=all requests waiting for hw (hwwait.go), woken with hwCh's rules
	leoCh  chan struct{} // closed and replaced whenever the LEO moves, leadership moves or the partition closes
	closed bool
	// followers are the leader's view of its followers (replica.go), nil
	// while another broker leads; leaderSince is when this broker last
	// became leader; altering is set while an AlterISR is in flight.
	followers   map[int32]*followerState
	leaderSince time.Time
	altering    bool
	// leaderLogStart is the leader's log start as its last fetch answer
	// said, while another broker leads: retention here follows it.
	leaderLogStart int64
	// place is the partition's placement as the metadata log says.
	place Placement
	// recent is the run of newest batches kept in memory (recent.go),
	// recentBytes its size, taken from budget.
	recent      []recentBatch
	recentBytes int
	budget      *recentBudget
}

type appendReq struct {
	records []storage.Record
	base    int64
	err     error
	done    chan struct{} // closed once the request is written or failed
	lead    chan struct{} // signalled when this request's goroutine leads the next round
}

// partitionEnv is what every partition of an engine shares.
type partitionEnv struct {
	self   int32
	db     *storage.DB
	budget *recentBudget
	// remote reaches other brokers; nil on an engine of its own.
	remote Remote
	// isr takes leaders' AlterISR proposals; nil on an engine of its own.
	isr ISRChanger
	log *slog.Logger
	// incarnation is this broker's, sent with every replica fetch.
	incarnation string
	// hwStart is the HW each partition starts from (checkpoint.go).
	hwStart hwCheckpoint
	// stop ends the partitions' background work; bg counts it.
	stop <-chan struct{}
	bg   *sync.WaitGroup
}

func openPartition(env *partitionEnv, topic string, topicID uint64, index int32, place Placement) (*Partition, error) {
	p := &Partition{
		topic: topic, index: index, db: env.db, budget: env.budget, env: env,
		id:   storage.PartitionID{TopicID: topicID, Partition: uint32(index)},
		hwCh: make(chan struct{}), leoCh: make(chan struct{}),
	}
	p.mirror.changed = make(chan struct{})
	rec, err := env.db.LoadPartition(p.id)
	if err != nil {
		return nil, err
	}
	es, err := env.db.LeaderEpochs(p.id)
	if err != nil {
		return nil, err
	}
	p.epochs = epochs.New(epochEntries(es))
	p.tail, p.start, p.epoch = rec.Tail, rec.State, rec.LeaderEpoch
	p.hw = env.hwStart.at(p.id, rec)
	if err := p.setPlacement(place); err != nil {
		return nil, err
	}
	return p, nil
}

// setPlacement takes the partition's placement from the metadata log. A
// broker that becomes leader records the new leader epoch, starting at its
// log end, before it accepts an append. Waiters wake whenever leadership
// moves, so that they look again at who serves them.
func (p *Partition) setPlacement(pl Placement) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	old, leo := p.place, p.tail.EndOffset
	latest, known := p.epochs.Latest()
	p.mu.Unlock()
	lead := pl.Leader == p.env.self
	newEpoch := lead && (!known || pl.LeaderEpoch > latest.Epoch)
	if newEpoch {
		if err := p.db.PutLeaderEpoch(p.id, pl.LeaderEpoch, leo); err != nil {
			return fmt.Errorf("%s/%d: record leader epoch %d: %w", p.topic, p.index, pl.LeaderEpoch, err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if newEpoch {
		p.epochs.Assign(pl.LeaderEpoch, leo)
	}
	p.place = clonePlacement(pl)
	p.epoch = pl.LeaderEpoch
	switch {
	case !lead:
		p.followers = nil
	case old.Leader != pl.Leader || old.LeaderEpoch != pl.LeaderEpoch || p.followers == nil:
		p.followers = map[int32]*followerState{}
		p.leaderSince = time.Now()
	}
	if (old.Leader != pl.Leader || !slices.Equal(old.ISR, pl.ISR)) && !p.closed {
		p.wakeLocked()
	}
	if old.Leader != pl.Leader && !p.closed {
		p.mirror.leaderMoved()
	}
	p.recomputeHWLocked()
	return nil
}

// wakeLocked wakes everyone waiting on the HW or the LEO. p.mu must be held
// and p open.
func (p *Partition) wakeLocked() {
	close(p.hwCh)
	p.hwCh = make(chan struct{})
	p.acks.wakeAll()
	close(p.leoCh)
	p.leoCh = make(chan struct{})
}

// epochEntries converts the leader-epoch entries storage keeps.
func epochEntries(es []storage.EpochEntry) []epochs.Entry {
	out := make([]epochs.Entry, len(es))
	for i, e := range es {
		out[i] = epochs.Entry{Epoch: e.Epoch, StartOffset: e.StartOffset}
	}
	return out
}

func clonePlacement(pl Placement) Placement {
	pl.Replicas = append([]int32(nil), pl.Replicas...)
	pl.ISR = append([]int32(nil), pl.ISR...)
	return pl
}

// Placement returns the partition's placement as the metadata log says.
func (p *Partition) Placement() Placement {
	p.mu.Lock()
	defer p.mu.Unlock()
	return clonePlacement(p.place)
}

// Leading reports whether this broker is the partition's leader.
func (p *Partition) Leading() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leadingLocked()
}

func (p *Partition) leadingLocked() bool { return p.place.Leader == p.env.self }

// leader returns the partition's leader, or ErrLeaderNotAvailable when it
// is offline.
func (p *Partition) leader() (id int32, local bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.leadingLocked():
		return p.env.self, true, nil
	case p.place.Leader < 0 || p.env.remote == nil:
		return -1, false, fmt.Errorf("%w: %s/%d has no leader", ErrLeaderNotAvailable, p.topic, p.index)
	}
	return p.place.Leader, false, nil
}

// Offsets is a consistent snapshot of a partition's offsets.
type Offsets struct {
	LogStart      int64
	HighWatermark int64
	LogEnd        int64
	LeaderEpoch   int32
	Bytes         int64
}

// Index is the partition number.
func (p *Partition) Index() int32 { return p.index }

// Topic is the partition's topic name.
func (p *Partition) Topic() string { return p.topic }

// Offsets returns the current offsets of the partition's leader: this
// broker's own when it leads, otherwise the leader's (mirror.go).
func (p *Partition) Offsets() Offsets {
	p.mu.Lock()
	if p.leadingLocked() || p.env.remote == nil {
		defer p.mu.Unlock()
		return p.offsetsLocked()
	}
	p.mu.Unlock()
	return p.leaderOffsets()
}

// LocalOffsets returns the offsets of this broker's own replica.
func (p *Partition) LocalOffsets() Offsets {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.offsetsLocked()
}

// offsetsLocked is Offsets with p.mu held.
func (p *Partition) offsetsLocked() Offsets {
	return Offsets{LogStart: p.start.LogStart, HighWatermark: p.hw, LogEnd: p.tail.EndOffset, LeaderEpoch: p.epoch,
		Bytes: p.tail.Bytes - p.start.BytesBefore}
}

// HighWatermarkChanged returns a channel closed the next time the HW
// advances, the leader changes or the partition closes. Waiters take it,
// check the HW, then wait. While another broker leads, the channel follows
// the leader's HW.
func (p *Partition) HighWatermarkChanged() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leadingLocked() || p.env.remote == nil || p.closed {
		return p.hwCh
	}
	return p.watchLeaderLocked()
}

// localChanged is HighWatermarkChanged of this broker's own replica.
func (p *Partition) localChanged() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hwCh
}

// Closed reports whether the partition was closed (its topic deleted).
func (p *Partition) Closed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *Partition) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.hwCh)
		p.acks.wakeAll()
		close(p.leoCh)
		p.mirror.fire()
		p.forgetRecent()
	}
}

// Append stores records durably with consecutive offsets and returns the
// first one. Concurrent appends share one synced commit: the first caller
// leads a round that writes everything queued; whoever queued during it leads
// the next round. Records' Offset fields are ignored; their timestamps must
// be set. The wait is bounded by one storage commit, so it takes no context.
func (p *Partition) Append(records []storage.Record) (int64, error) {
	req := &appendReq{records: records, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, fmt.Errorf("%s/%d: %w", p.topic, p.index, ErrTopicNotFound)
	}
	if !p.leadingLocked() {
		p.mu.Unlock()
		return 0, fmt.Errorf("%s/%d: %w", p.topic, p.index, ErrNotLeader)
	}
	p.queue = append(p.queue, req)
	leader := !p.flushing
	p.flushing = true
	p.mu.Unlock()
	if !leader {
		select {
		case <-req.done:
			return req.base, req.err
		case <-req.lead:
		}
	}
	p.flushRound()
	<-req.done
	return req.base, req.err
}

// flushRound writes every queued request in one synced storage commit, then
// hands the lead to the first request queued meanwhile, if any.
func (p *Partition) flushRound() {
	p.writeMu.Lock()
	p.mu.Lock()
	reqs := p.queue
	p.queue = nil
	tail, epoch, closed := p.tail, p.epoch, p.closed
	p.mu.Unlock()

	var err error
	var added []recentBatch
	var batches [][]byte
	if closed {
		err = ErrTopicNotFound
	} else {
		batches = p.encode(reqs, tail.EndOffset, epoch)
		if tail, err = p.db.Append(p.id, tail, batches, true); err == nil {
			added = copyRecent(batches, tail.EndOffset)
		}
	}

	// The new tail is published before writeMu is released, so that
	// retention, which runs under writeMu, never starts from a snapshot that
	// misses this write.
	p.mu.Lock()
	if err == nil {
		p.tail = tail
		if !p.closed {
			p.remember(added, len(added) == len(batches))
			close(p.leoCh)
			p.leoCh = make(chan struct{})
		}
		p.recomputeHWLocked()
	}
	for _, r := range reqs {
		if err != nil {
			r.err = fmt.Errorf("append %s/%d: %w", p.topic, p.index, err)
		}
		close(r.done)
	}
	if len(p.queue) > 0 {
		p.queue[0].lead <- struct{}{}
	} else {
		p.flushing = false
	}
	p.mu.Unlock()
	p.writeMu.Unlock()
}

// encode assigns consecutive offsets from leo to the requests' records and
// encodes them as storage batches of at most about maxBatchBytes, in p.buf.
// writeMu must be held.
func (p *Partition) encode(reqs []*appendReq, leo int64, epoch int32) [][]byte {
	p.buf = p.buf[:0]
	var ends []int
	for _, r := range reqs {
		r.base = leo
		for recs := r.records; len(recs) > 0; {
			n := chunk(recs)
			p.buf = storage.AppendBatch(p.buf, leo, epoch, recs[:n])
			ends = append(ends, len(p.buf))
			leo += int64(n)
			recs = recs[n:]
		}
	}
	batches := make([][]byte, 0, len(ends))
	start := 0
	for _, end := range ends {
		batches = append(batches, p.buf[start:end])
		start = end
	}
	return batches
}

// advanceHW moves the HW forward and wakes waiters. p.mu must be held.
func (p *Partition) advanceHW(hw int64) {
	if hw > p.hw {
		p.hw = hw
		if !p.closed {
			close(p.hwCh)
			p.hwCh = make(chan struct{})
			p.acks.wake(hw)
		}
	}
}

// chunk is how many leading records fit in one storage batch (at least one).
func chunk(recs []storage.Record) int {
	size := 0
	for i := range recs {
		size += recs[i].Size()
		if size > maxBatchBytes && i > 0 {
			return i
		}
	}
	return len(recs)
}

// applyRetention drops whole batches from the head while the oldest batch's
// max timestamp is older than retention.ms or the partition holds more than
// retention.bytes; never past the HW. It reports the new log start.
func (p *Partition) applyRetention(cfg TopicConfig, nowMs int64) (int64, error) {
	if !p.Leading() {
		// A follower's log starts where its leader's does.
		p.writeMu.Lock()
		defer p.writeMu.Unlock()
		p.mu.Lock()
		leaderStart := p.leaderLogStart
		p.mu.Unlock()
		return p.dropHead(func(h storage.BatchHeader, _ int64) bool { return h.NextOffset() <= leaderStart })
	}
	if cfg.RetentionMs < 0 && cfg.RetentionBytes < 0 {
		return p.LocalOffsets().LogStart, nil
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	return p.dropHead(func(h storage.BatchHeader, retained int64) bool {
		old := cfg.RetentionMs >= 0 && h.MaxTimestamp < nowMs-cfg.RetentionMs
		big := cfg.RetentionBytes >= 0 && retained > cfg.RetentionBytes
		return old || big
	})
}
