package engine

import (
	"context"
	"reflect"
	"time"

	"github.com/fjord-streaming/fjord/engine/epochs"
	"github.com/fjord-streaming/fjord/storage"
)

// ReplicaError is the outcome of one partition of a replica fetch.
type ReplicaError uint8

// Replica fetch outcomes. Every one but ReplicaOK carries no batches.
const (
	ReplicaOK ReplicaError = iota
	// ReplicaNotLeader: this broker does not lead the partition now.
	ReplicaNotLeader
	// ReplicaFencedEpoch: the follower's leader epoch is older than the
	// leader's; it must apply newer metadata first.
	ReplicaFencedEpoch
	// ReplicaUnknownEpoch: the follower's leader epoch is newer than the
	// leader's; this broker has not applied the metadata yet, or was
	// replaced (a zombie).
	ReplicaUnknownEpoch
	// ReplicaNotAReplica: the follower is not one of the partition's
	// replicas.
	ReplicaNotAReplica
	// ReplicaOutOfRange: the fetch offset lies outside the leader's log;
	// LogStart and LogEnd say where the log is.
	ReplicaOutOfRange
	// ReplicaUnknownPartition: no such topic id or partition here.
	ReplicaUnknownPartition
)

// ReplicaFetchRequest is one round of a follower's fetch stream from one
// leader: every partition it follows from that leader.
type ReplicaFetchRequest struct {
	Follower    int32
	Incarnation string
	// MaxWait bounds the long poll when no partition has anything new.
	MaxWait time.Duration
	// MaxBytes bounds each partition's batches (at least one batch is
	// sent when there is one).
	MaxBytes   int32
	Partitions []ReplicaFetchPartition
}

// ReplicaFetchPartition is one partition of a replica fetch.
type ReplicaFetchPartition struct {
	TopicID   uint64
	Partition int32
	// FetchOffset is the follower's durable log end offset.
	FetchOffset int64
	// LeaderEpoch is the leader epoch the follower's metadata names.
	LeaderEpoch int32
	// LastFetchedEpoch is the epoch of the follower's last batch, -1 when
	// its log is empty: the leader checks it for divergence (KIP-595).
	LastFetchedEpoch int32
	// HighWatermark is the follower's, so that a long poll answers as soon
	// as the leader's HW passes it.
	HighWatermark int64
}

// ReplicaFetchResponse answers a ReplicaFetchRequest, partition by partition
// in request order.
type ReplicaFetchResponse struct {
	Partitions []ReplicaFetchAnswer
}

// ReplicaFetchAnswer is the leader's answer for one partition.
type ReplicaFetchAnswer struct {
	TopicID   uint64
	Partition int32
	Err       ReplicaError
	// The leader's offsets after this fetch was counted.
	HighWatermark, LogStart, LogEnd int64
	// DivergingEnd is -1, or the end offset of DivergingEpoch in the
	// leader's log: the follower's log diverges and must be truncated
	// (epochs.TruncationPoint) before it fetches again.
	DivergingEpoch int32
	DivergingEnd   int64
	// Batches are encoded storage batches from FetchOffset, consecutive,
	// exactly as the leader stored them.
	Batches [][]byte
}

// replicaMaxWait bounds a replica fetch's long poll; replicaMaxResponseBytes
// bounds the batches of one answer (partitions past it get theirs in the
// next round).
const (
	replicaMaxWait          = 5 * time.Second
	replicaMaxResponseBytes = 32 << 20
)

// ServeReplicaFetch answers a follower's fetch as the leader of its
// partitions: it records each partition's fetch offset as the follower's
// durable log end (advancing the HW), checks for divergence, and returns
// the batches from there. When no partition has anything new it waits, up
// to req.MaxWait, for an append or an HW change.
func (e *Engine) ServeReplicaFetch(ctx context.Context, req ReplicaFetchRequest) ReplicaFetchResponse {
	parts := e.partitionsByID(req.Partitions)
	deadline := time.Now().Add(min(req.MaxWait, replicaMaxWait))
	resp := ReplicaFetchResponse{Partitions: make([]ReplicaFetchAnswer, len(req.Partitions))}
	for {
		ready := false
		var wait []<-chan struct{}
		for i, fp := range req.Partitions {
			p := parts[i]
			if p == nil {
				resp.Partitions[i] = ReplicaFetchAnswer{TopicID: fp.TopicID, Partition: fp.Partition,
					Err: ReplicaUnknownPartition, DivergingEnd: -1}
				ready = true
				continue
			}
			ans, chans, ok := p.serveReplica(req.Follower, req.Incarnation, fp)
			resp.Partitions[i] = ans
			ready = ready || ok
			wait = append(wait, chans...)
		}
		if ready || !time.Now().Before(deadline) {
			break
		}
		if !waitAny(ctx, wait, time.Until(deadline), e.closed) {
			break
		}
	}
	total := 0
	for i, fp := range req.Partitions {
		if a := &resp.Partitions[i]; a.Err == ReplicaOK && a.DivergingEnd < 0 && fp.FetchOffset < a.LogEnd && total < replicaMaxResponseBytes {
			a.Batches = parts[i].replicaBatches(fp.FetchOffset, a.LogEnd, int(min(req.MaxBytes, replicaMaxResponseBytes-int32(total))))
			for _, b := range a.Batches {
				total += len(b)
			}
		}
	}
	return resp
}

// partitionsByID finds each requested partition; nil where there is none.
func (e *Engine) partitionsByID(req []ReplicaFetchPartition) []*Partition {
	out := make([]*Partition, len(req))
	e.mu.RLock()
	defer e.mu.RUnlock()
	for i, fp := range req {
		if t := e.byID[fp.TopicID]; t != nil {
			out[i], _ = t.Partition(fp.Partition)
		}
	}
	return out
}

// waitAny waits until one of chans is closed, d passes, ctx ends or stop is
// closed. It reports false when ctx ended or stop was closed.
func waitAny(ctx context.Context, chans []<-chan struct{}, d time.Duration, stop <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	cases := make([]reflect.SelectCase, 0, len(chans)+3)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stop)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.C)})
	for _, c := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
	}
	i, _, _ := reflect.Select(cases)
	return i >= 2
}

// followerState is what a leader knows of one follower's replica.
type followerState struct {
	incarnation string
	// leo is the follower's durable log end: its last fetch offset.
	leo int64
	// lastCaughtUp is the last time the follower had everything the leader
	// had (Kafka's lastCaughtUpTimeMs): now when it fetched at the leader's
	// log end, or the previous fetch's time when it fetched at or past the
	// log end the leader had then.
	lastCaughtUp  time.Time
	lastFetch     time.Time
	leoLastFetch  int64
	fetchedBefore bool
}

// serveReplica counts one follower fetch of p and says whether it can be
// answered now (data, an error, a divergence or a newer HW), and what to
// wait on otherwise.
func (p *Partition) serveReplica(follower int32, inc string, fp ReplicaFetchPartition) (ReplicaFetchAnswer, []<-chan struct{}, bool) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	ans := ReplicaFetchAnswer{TopicID: fp.TopicID, Partition: fp.Partition, DivergingEnd: -1,
		HighWatermark: p.hw, LogStart: p.start.LogStart, LogEnd: p.tail.EndOffset}
	leo := p.tail.EndOffset
	switch {
	case p.closed:
		ans.Err = ReplicaUnknownPartition
	case !p.leadingLocked():
		ans.Err = ReplicaNotLeader
	case fp.LeaderEpoch < p.epoch:
		ans.Err = ReplicaFencedEpoch
	case fp.LeaderEpoch > p.epoch:
		ans.Err = ReplicaUnknownEpoch
	case !contains(p.place.Replicas, follower):
		ans.Err = ReplicaNotAReplica
	}
	if ans.Err != ReplicaOK {
		return ans, nil, true
	}
	if div, ep, end := epochs.Divergence(p.epochs, leo, fp.FetchOffset, fp.LastFetchedEpoch); div {
		ans.DivergingEpoch, ans.DivergingEnd = ep, end
		return ans, nil, true
	}
	if fp.FetchOffset < p.start.LogStart || fp.FetchOffset > leo {
		ans.Err = ReplicaOutOfRange
		return ans, nil, true
	}
	p.countFetchLocked(follower, inc, fp.FetchOffset, now)
	ans.HighWatermark = p.hw
	ready := fp.FetchOffset < leo || p.hw > fp.HighWatermark
	return ans, []<-chan struct{}{p.hwCh, p.leoCh}, ready
}

// countFetchLocked records a follower's fetch offset as its durable log end,
// moves the HW, and asks for the follower to join the ISR once it qualifies.
// p.mu must be held and p must be leading.
func (p *Partition) countFetchLocked(follower int32, inc string, offset int64, now time.Time) {
	leo := p.tail.EndOffset
	fs := p.followers[follower]
	if fs == nil || fs.incarnation != inc {
		fs = &followerState{incarnation: inc}
		p.followers[follower] = fs
	}
	switch {
	case offset >= leo:
		fs.lastCaughtUp = now
	case fs.fetchedBefore && offset >= fs.leoLastFetch:
		fs.lastCaughtUp = maxTime(fs.lastCaughtUp, fs.lastFetch)
	}
	fs.leo, fs.leoLastFetch, fs.lastFetch, fs.fetchedBefore = offset, leo, now, true
	p.recomputeHWLocked()
	if !contains(p.place.ISR, follower) && mayJoinISR(offset, p.hw, p.epochStartLocked()) {
		p.proposeISRLocked(append(append([]int32(nil), p.place.ISR...), follower))
	}
}

// recomputeHWLocked moves the leader's HW to what the ISR has. p.mu must be
// held.
func (p *Partition) recomputeHWLocked() {
	if !p.leadingLocked() {
		return
	}
	p.advanceHW(highWatermark(p.hw, p.env.self, p.tail.EndOffset, p.place.ISR, func(id int32) (int64, bool) {
		fs := p.followers[id]
		if fs == nil {
			return 0, false
		}
		return fs.leo, true
	}))
}

// epochStartLocked is where the current leader epoch starts in the log: a
// follower may join the ISR only once it has reached it (KAFKA-7128).
func (p *Partition) epochStartLocked() int64 {
	if e, ok := p.epochs.Latest(); ok && e.Epoch == p.epoch {
		return e.StartOffset
	}
	return p.tail.EndOffset
}

// replicaBatches reads the encoded batches from offset up to end, at most
// about maxBytes of them (at least one).
func (p *Partition) replicaBatches(from, end int64, maxBytes int) [][]byte {
	p.mu.Lock()
	recent, logStart := p.recent, p.start.LogStart
	p.mu.Unlock()
	var out [][]byte
	size := 0
	take := func(base int64, b []byte) bool {
		if base >= end || (size >= maxBytes && len(out) > 0) {
			return false
		}
		out = append(out, b)
		size += len(b)
		return true
	}
	if i := recentIndex(recent, from); i >= 0 {
		for _, b := range recent[i:] {
			if !take(b.base, b.data) {
				break
			}
		}
		return out
	}
	it, err := p.db.ReadLog(p.id, logStart, from)
	if err != nil {
		return nil
	}
	defer it.Close()
	for (size < maxBytes || len(out) == 0) && it.Next() {
		b := it.Batch()
		h, err := storage.DecodeBatchHeader(b)
		if err != nil || !take(h.BaseOffset, append([]byte(nil), b...)) {
			break
		}
	}
	return out
}

func contains(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
