package engine

import (
	"context"
	"errors"
	"slices"
	"time"
)

// alterISRTimeout bounds one AlterISR call to the controller.
const alterISRTimeout = 10 * time.Second

// isrCheckInterval is how often leaders look for followers that fell out of
// sync.
const isrCheckInterval = time.Second

// proposeISRLocked asks the controller to change p's ISR to isr, unless a
// proposal is in flight or there is no controller. The change counts once
// the metadata log applies it (setPlacement); until then the leader keeps
// the ISR it has. p.mu must be held and p must be leading.
func (p *Partition) proposeISRLocked(isr []int32) {
	changer := p.env.isr
	if p.altering || changer == nil || p.closed {
		return
	}
	req := AlterISR{Topic: p.topic, TopicID: p.id.TopicID, Partition: p.index, Leader: p.env.self,
		LeaderEpoch: p.epoch, PartitionEpoch: p.place.PartitionEpoch, ISR: isr}
	p.altering = true
	p.env.bg.Add(1)
	go func() {
		defer p.env.bg.Done()
		timed, cancelTimer := context.WithTimeout(context.Background(), alterISRTimeout)
		defer cancelTimer()
		ctx, cancel := untilStop(timed, p.env.stop)
		defer cancel()
		_, err := changer.AlterISR(ctx, req)
		p.mu.Lock()
		p.altering = false
		p.mu.Unlock()
		if err != nil && !errors.Is(err, context.Canceled) {
			p.env.log.Info("alter ISR refused or failed", "topic", p.topic, "partition", p.index,
				"isr", isr, "leader_epoch", req.LeaderEpoch, "partition_epoch", req.PartitionEpoch, "err", err)
		}
	}()
}

// checkISR removes from p's ISR the followers that have not caught up with
// the leader's log end within lag (replica.lag.time.max.ms), as the leader.
func (p *Partition) checkISR(lag time.Duration, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leadingLocked() || p.closed || len(p.place.ISR) <= 1 {
		return
	}
	keep := outOfSync(p.place.ISR, p.env.self, p.tail.EndOffset, p.followers, p.leaderSince, lag, now)
	if len(keep) < len(p.place.ISR) {
		p.proposeISRLocked(keep)
	}
}

// outOfSync returns isr without the followers that are out of sync: not at
// the leader's log end leo, and last caught up (or, never seen since this
// broker became leader at since, since then) more than lag ago.
func outOfSync(isr []int32, self int32, leo int64, followers map[int32]*followerState, since time.Time, lag time.Duration, now time.Time) []int32 {
	return slices.DeleteFunc(slices.Clone(isr), func(id int32) bool {
		return id != self && behindFor(followers[id], leo, since, now) > lag
	})
}

// behindFor is how long a follower has been behind the leader's log end
// leo: 0 when it has fetched from there, otherwise since it last caught up,
// counted from since (when this broker became leader) at the earliest; a
// follower not heard from (fs nil) is behind since then.
func behindFor(fs *followerState, leo int64, since, now time.Time) time.Duration {
	switch {
	case fs == nil:
		return now.Sub(since)
	case fs.leo >= leo:
		return 0
	}
	return now.Sub(maxTime(fs.lastCaughtUp, since))
}

// maxTime is the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// checkISRs runs checkISR on every partition this broker leads.
func (e *Engine) checkISRs() {
	now := time.Now()
	for _, t := range e.topicList() {
		lag := time.Duration(t.Config().ReplicaLagTimeMaxMs) * time.Millisecond
		for _, p := range t.Partitions() {
			p.checkISR(lag, now)
		}
	}
}

// untilStop returns a context that ends with parent, with cancel, or when
// stop closes, whichever comes first; its goroutine ends with the context.
func untilStop(parent context.Context, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// mayJoinISR is the rule for a follower outside the ISR to rejoin it
// (KAFKA-7128): its durable log end must have reached the leader's HW, and
// the start of the leader's current epoch, so that it holds every record
// the current leader may have committed and none it would have to truncate.
func mayJoinISR(followerLEO, hw, epochStart int64) bool {
	return followerLEO >= hw && followerLEO >= epochStart
}
