package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fjord-streaming/fjord/engine/epochs"
	"github.com/fjord-streaming/fjord/storage"
)

// Replica fetch tuning: how long a round may long-poll at the leader, how
// many bytes one partition may bring per round, and the backoff after a
// failed round.
const (
	followerMaxWait    = 500 * time.Millisecond
	followerMaxBytes   = 4 << 20
	followerBackoffMin = 50 * time.Millisecond
	followerBackoffMax = 2 * time.Second
)

// fetchers runs this broker's replica fetch streams: one per leader broker,
// carrying every partition this broker follows from it.
type fetchers struct {
	e        *Engine
	mu       sync.Mutex
	byLeader map[int32]*fetcher
	stopped  bool
}

// fetcher is one stream: a goroutine that fetches its partitions from one
// leader, round after round, until cancelled.
type fetcher struct {
	leader int32
	mu     sync.Mutex
	parts  []*Partition
	kick   chan struct{} // capacity 1: the partitions changed
	cancel context.CancelFunc
}

// update points every fetch stream at the partitions this broker now
// follows, starting and stopping streams as leaders come and go. It runs
// after every metadata change.
func (fs *fetchers) update() {
	e := fs.e
	if e.env.remote == nil {
		return
	}
	want := map[int32][]*Partition{}
	for _, t := range e.topicList() {
		for _, p := range t.Partitions() {
			pl := p.Placement()
			if pl.Leader >= 0 && pl.Leader != e.cfg.BrokerID && contains(pl.Replicas, e.cfg.BrokerID) && !p.Closed() {
				want[pl.Leader] = append(want[pl.Leader], p)
			}
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.stopped {
		return
	}
	if fs.byLeader == nil {
		fs.byLeader = map[int32]*fetcher{}
	}
	for id, f := range fs.byLeader {
		if _, ok := want[id]; !ok {
			f.cancel()
			delete(fs.byLeader, id)
		}
	}
	for id, parts := range want {
		f := fs.byLeader[id]
		if f == nil {
			f = &fetcher{leader: id, kick: make(chan struct{}, 1)}
			var ctx context.Context
			ctx, f.cancel = context.WithCancel(context.Background())
			fs.byLeader[id] = f
			e.bg.Add(1)
			go func() {
				defer e.bg.Done()
				f.run(ctx, e)
			}()
		}
		f.setParts(parts)
	}
}

// stop cancels every stream; the engine's Close waits for them.
func (fs *fetchers) stop() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.stopped = true
	for id, f := range fs.byLeader {
		f.cancel()
		delete(fs.byLeader, id)
	}
}

func (f *fetcher) setParts(parts []*Partition) {
	f.mu.Lock()
	f.parts = parts
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *fetcher) snapshot() []*Partition {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parts
}

// run is the stream's loop. Each round asks for every partition from its
// durable log end, stores what comes back with one WAL sync, and only then
// asks again, so a fetch offset is always durable here.
func (f *fetcher) run(ctx context.Context, e *Engine) {
	ctx, cancel := untilStop(ctx, e.closed)
	defer cancel()
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		if backoff > 0 && !f.pause(ctx, backoff) {
			return
		}
		parts := f.snapshot()
		if len(parts) == 0 {
			backoff = followerBackoffMax
			continue
		}
		req := e.replicaRequest(parts)
		resp, err := e.env.remote.ReplicaFetch(ctx, f.leader, req)
		if err == nil && len(resp.Partitions) != len(parts) {
			err = fmt.Errorf("%w: %d answers for %d partitions", ErrInvalidRequest, len(resp.Partitions), len(parts))
		}
		if err != nil {
			if ctx.Err() == nil {
				e.cfg.Logger.Debug("replica fetch failed", "leader", f.leader, "err", err)
			}
			backoff = min(max(2*backoff, followerBackoffMin), followerBackoffMax)
			continue
		}
		if e.applyReplicaFetch(parts, req, resp) {
			backoff = followerBackoffMin
		} else {
			backoff = 0
		}
	}
}

// pause waits d, or less when the partitions change. It reports false when
// ctx ended.
func (f *fetcher) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-f.kick:
	case <-t.C:
	}
	return true
}

// replicaRequest is the next round's request for parts.
func (e *Engine) replicaRequest(parts []*Partition) ReplicaFetchRequest {
	req := ReplicaFetchRequest{Follower: e.cfg.BrokerID, Incarnation: e.env.incarnation,
		MaxWait: followerMaxWait, MaxBytes: followerMaxBytes, Partitions: make([]ReplicaFetchPartition, len(parts))}
	for i, p := range parts {
		p.mu.Lock()
		leo := p.tail.EndOffset
		// As Kafka's follower: the latest epoch in the cache, which may
		// start at the log end (an epoch this replica led without writing,
		// or whose batches a crash lost before the WAL sync).
		last := int32(-1)
		if e, ok := p.epochs.Latest(); ok {
			last = e.Epoch
		}
		req.Partitions[i] = ReplicaFetchPartition{TopicID: p.id.TopicID, Partition: p.index, FetchOffset: leo,
			LeaderEpoch: p.place.LeaderEpoch, LastFetchedEpoch: last, HighWatermark: p.hw}
		p.mu.Unlock()
	}
	return req
}

// applyReplicaFetch stores one round's answers: truncations at once (each
// synced), appends without a sync and then one WAL sync for all, after
// which the new log ends are published. A round that brings batches for
// one partition only (the common case) syncs that append's own commit
// instead. It reports whether the stream should back off (an answer said
// the metadata here or there is behind).
func (e *Engine) applyReplicaFetch(parts []*Partition, req ReplicaFetchRequest, resp ReplicaFetchResponse) bool {
	writers := 0
	for _, a := range resp.Partitions {
		if len(a.Batches) > 0 {
			writers++
		}
	}
	syncEach := writers == 1
	var done []func(publish bool)
	retry, wrote := false, false
	for i, p := range parts {
		finish, w, r := p.applyReplica(req.Partitions[i], resp.Partitions[i], syncEach)
		done = append(done, finish)
		wrote, retry = wrote || w, retry || r
	}
	publish := true
	if wrote && !syncEach {
		if err := e.db.SyncWAL(); err != nil {
			e.cfg.Logger.Error("replica fetch: sync failed", "err", err)
			publish, retry = false, true
		}
	}
	for _, f := range done {
		f(publish)
	}
	return retry
}

// applyReplica applies one partition's answer as a follower, holding
// writeMu until the returned finish runs: finish(true) publishes what was
// written, finish(false) drops it (the next round writes it again). Its
// append is synced when sync is set. It reports whether anything was
// appended, and whether to back off.
func (p *Partition) applyReplica(fp ReplicaFetchPartition, ans ReplicaFetchAnswer, sync bool) (finish func(bool), wrote, retry bool) {
	p.writeMu.Lock()
	unlock := func(bool) { p.writeMu.Unlock() }
	p.mu.Lock()
	stale := p.closed || p.leadingLocked() || p.place.LeaderEpoch != fp.LeaderEpoch || p.tail.EndOffset != fp.FetchOffset
	tail, logStart := p.tail, p.start.LogStart
	p.mu.Unlock()
	if stale {
		return unlock, false, false
	}
	var err error
	switch {
	case ans.Err == ReplicaOK && ans.DivergingEnd >= 0:
		p.mu.Lock()
		to, _ := epochs.TruncationPoint(p.epochs, tail.EndOffset, ans.DivergingEpoch, ans.DivergingEnd)
		p.mu.Unlock()
		err = p.truncateTail(max(to, logStart))
	case ans.Err == ReplicaOutOfRange && fp.FetchOffset > ans.LogEnd && ans.LogEnd >= logStart:
		err = p.truncateTail(ans.LogEnd)
	case ans.Err == ReplicaOutOfRange:
		err = p.resetLog(ans.LogStart)
	case ans.Err != ReplicaOK:
		return unlock, false, true
	case len(ans.Batches) > 0:
		var next storage.Tail
		if next, err = p.appendReplica(tail, ans.Batches, sync); err == nil {
			return p.publishReplica(next, ans, ans.Batches), true, false
		}
	default:
		return p.publishReplica(tail, ans, nil), false, false
	}
	if err != nil {
		p.env.log.Error("replica fetch: storing failed", "topic", p.topic, "partition", p.index, "err", err)
		return unlock, false, true
	}
	return unlock, false, false
}

// appendReplica writes the leader's batches unchanged after tail, synced
// only when sync is set, recording each new leader epoch a batch carries.
// writeMu must be held.
func (p *Partition) appendReplica(tail storage.Tail, batches [][]byte, sync bool) (storage.Tail, error) {
	next := tail.EndOffset
	for _, b := range batches {
		h, err := storage.CheckBatch(b)
		if err != nil {
			return tail, err
		}
		if h.BaseOffset != next {
			return tail, fmt.Errorf("%w: batch at %d, expected %d", storage.ErrCorrupt, h.BaseOffset, next)
		}
		next = h.NextOffset()
		p.mu.Lock()
		latest, ok := p.epochs.Latest()
		p.mu.Unlock()
		if !ok || h.LeaderEpoch > latest.Epoch {
			if err := p.db.PutLeaderEpoch(p.id, h.LeaderEpoch, h.BaseOffset); err != nil {
				return tail, err
			}
			p.mu.Lock()
			p.epochs.Assign(h.LeaderEpoch, h.BaseOffset)
			p.mu.Unlock()
		}
	}
	return p.db.Append(p.id, tail, batches, sync)
}

// publishReplica returns the finish of a round that wrote up to tail: on
// publish it makes tail the partition's log end, and the leader's HW,
// capped by it, the partition's HW.
func (p *Partition) publishReplica(tail storage.Tail, ans ReplicaFetchAnswer, batches [][]byte) func(bool) {
	return func(publish bool) {
		defer p.writeMu.Unlock()
		if !publish {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			return
		}
		if tail.EndOffset != p.tail.EndOffset {
			p.tail = tail
			added := copyRecent(batches, tail.EndOffset)
			p.remember(added, len(added) == len(batches))
			close(p.leoCh)
			p.leoCh = make(chan struct{})
		}
		p.leaderLogStart = max(p.leaderLogStart, ans.LogStart)
		p.advanceHW(min(ans.HighWatermark, tail.EndOffset))
	}
}

// truncateTail cuts this replica's log back to end (a batch boundary at or
// below it), synced, and drops the leader epochs that start past it.
// writeMu must be held.
func (p *Partition) truncateTail(end int64) error {
	tail, err := p.db.TruncateTail(p.id, end, true)
	if err != nil {
		if errors.Is(err, storage.ErrBelowLogStart) {
			return p.resetLog(end)
		}
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.env.log.Info("replica truncated", "topic", p.topic, "partition", p.index, "from", p.tail.EndOffset, "to", tail.EndOffset)
	p.tail = tail
	p.epochs.TruncateFromEnd(tail.EndOffset)
	p.afterRewriteLocked()
	return nil
}

// resetLog empties this replica's log and starts it at start, where the
// leader's log is. writeMu must be held.
func (p *Partition) resetLog(start int64) error {
	st, err := p.db.ResetLog(p.id, start, true)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.env.log.Info("replica reset", "topic", p.topic, "partition", p.index, "log_start", start)
	p.start = st
	p.tail = storage.Tail{EndOffset: st.LogStart, Bytes: st.BytesBefore, MaxTime: st.MaxTimeBefore}
	p.epochs = epochs.New(nil)
	p.hw = st.LogStart
	p.afterRewriteLocked()
	return nil
}

// afterRewriteLocked follows a rewrite of the log's tail: the kept batches
// go, the HW is capped by the new end, and waiters look again. p.mu must be
// held.
func (p *Partition) afterRewriteLocked() {
	p.forgetRecent()
	p.hw = min(p.hw, p.tail.EndOffset)
	if !p.closed {
		p.wakeLocked()
	}
}
