package engine

import (
	"context"
	"fmt"
	"time"
)

// While another broker leads a partition, readers here (WebSocket
// subscriptions, group members whose coordinator is this broker) still use
// the Partition as if it were local: its offsets and high-watermark channel
// follow the leader's, and reads go to the leader. The mirror keeps the
// leader's offsets. It is filled by one watcher goroutine per partition,
// which long-polls the leader for the next high watermark (a stream of
// changes, not a polling loop) and runs only while someone holds a channel
// from HighWatermarkChanged that has not fired yet: once a change fires and
// nobody asks again within the next long poll, the watcher ends.
const (
	// mirrorWait is how long one long poll of the leader waits.
	mirrorWait = 20 * time.Second
	// remoteCallTimeout bounds a call to the leader that has no context
	// of its own (Offsets, Read without a wait).
	remoteCallTimeout = 10 * time.Second
	// mirrorBackoff is the pause after a failed long poll.
	mirrorBackoff = 250 * time.Millisecond
)

// mirror is the leader's view of a partition led elsewhere. Its fields are
// guarded by the partition's mu.
type mirror struct {
	off   Offsets
	known bool
	// changed is closed when the leader's HW moves past off or the leader
	// changes; handedOut says whether anyone took it since it was made.
	changed   chan struct{}
	handedOut bool
	watching  bool
}

// leaderMoved wakes everyone following the old leader. p.mu must be held.
func (m *mirror) leaderMoved() {
	m.known = false
	m.fire()
}

// fire closes changed and makes a new one. p.mu must be held.
func (m *mirror) fire() {
	if m.changed != nil {
		close(m.changed)
	}
	m.changed = make(chan struct{})
	m.handedOut = false
}

// watchLeaderLocked returns the channel that fires when the leader's HW
// moves, starting the watcher if it is not running. p.mu must be held.
func (p *Partition) watchLeaderLocked() <-chan struct{} {
	m := &p.mirror
	m.handedOut = true
	if !m.watching {
		m.watching = true
		p.env.bg.Add(1)
		go p.watchLeader()
	}
	return m.changed
}

// watchLeader long-polls the leader for HW changes while anyone waits.
func (p *Partition) watchLeader() {
	defer p.env.bg.Done()
	ctx, cancel := untilStop(context.Background(), p.env.stop)
	defer cancel()
	for {
		p.mu.Lock()
		m := &p.mirror
		leader := p.place.Leader
		if !m.handedOut || p.closed || p.leadingLocked() || leader < 0 {
			m.watching = false
			p.mu.Unlock()
			return
		}
		known := int64(-1)
		if m.known {
			known = m.off.HighWatermark
		}
		p.mu.Unlock()
		off, err := p.env.remote.Offsets(ctx, leader, p.topic, p.index, known, mirrorWait)
		if ctx.Err() != nil {
			p.mu.Lock()
			p.mirror.watching = false
			p.mu.Unlock()
			return
		}
		if err != nil {
			select {
			case <-time.After(mirrorBackoff):
			case <-ctx.Done():
			}
			continue
		}
		p.observeLeader(leader, off)
	}
}

// observeLeader records offsets the leader reported, firing the channel
// when its HW moved.
func (p *Partition) observeLeader(leader int32, off Offsets) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.place.Leader != leader {
		return // a stale answer from the previous leader
	}
	m := &p.mirror
	moved := !m.known || off.HighWatermark != m.off.HighWatermark || off.LogStart != m.off.LogStart
	m.off, m.known = off, true
	if moved {
		m.fire()
	}
}

// leaderOffsets returns the leader's offsets: those the watcher keeps when
// it runs, otherwise fresh from the leader. When the leader cannot be
// reached, the last known offsets are returned.
func (p *Partition) leaderOffsets() Offsets {
	p.mu.Lock()
	m := &p.mirror
	if m.watching && m.known {
		defer p.mu.Unlock()
		return m.off
	}
	leader, last := p.place.Leader, m.off
	p.mu.Unlock()
	if leader < 0 {
		return last
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteCallTimeout)
	defer cancel()
	off, err := p.env.remote.Offsets(ctx, leader, p.topic, p.index, -1, 0)
	if err != nil {
		return last
	}
	p.observeLeader(leader, off)
	return off
}

// readLeader reads at the leader without waiting.
func (p *Partition) readLeader(from int64, maxRecords, maxBytes int) (ReadResult, error) {
	leader, _, err := p.leader()
	if err != nil {
		return ReadResult{NextOffset: from}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteCallTimeout)
	defer cancel()
	res, err := p.env.remote.Fetch(ctx, leader, p.topic, p.index, FetchRequest{Offset: from, MaxRecords: maxRecords, MaxBytes: maxBytes})
	if err != nil {
		return res, fmt.Errorf("read %s/%d at broker %d: %w", p.topic, p.index, leader, err)
	}
	p.observeLeader(leader, res.Offsets)
	return res, nil
}

// offsetForTimestampLeader asks the leader for the first offset at or after ts.
func (p *Partition) offsetForTimestampLeader(ts int64) (OffsetsForTimestamp, error) {
	leader, _, err := p.leader()
	if err != nil {
		return OffsetsForTimestamp{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteCallTimeout)
	defer cancel()
	return p.env.remote.OffsetForTimestamp(ctx, leader, p.topic, p.index, ts)
}
