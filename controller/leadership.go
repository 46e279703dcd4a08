package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/fjord-streaming/fjord/controller/metadata"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/membership"
)

// Partition leadership at the controller: failover and ISR cleanup on
// every reconcile pass, the preferred-leader rebalance every
// Config.RebalanceInterval, and controlled shutdown on a broker's request.
// The decisions are package metadata's pure plans (PlanFailover,
// PlanPreferred, PlanShutdown); this file tells them who is live, proposes
// what they decide and counts the elections.

// uncleanKey is the engine's topic configuration key that allows unclean
// leader election (value 1).
const uncleanKey = "unclean.leader.election.enable"

// shutdownMarkTTL bounds how long a broker counts as shutting down after it
// asked, when the controller never sees it stop: longer than a broker's
// graceful shutdown.
const shutdownMarkTTL = 2 * time.Minute

// maxShutdownRounds bounds the planning rounds of one controlled shutdown:
// a round is planned again only when a change was refused as stale (an
// alter-ISR or a failover got there first).
const maxShutdownRounds = 5

func allowsUnclean(t *metadata.Topic) bool { return t.Config[uncleanKey] == 1 }

// liveness is who may hold leadership now (livenessOf).
func (c *Controller) liveness(st *metadata.State) metadata.Liveness {
	return livenessOf(st, c.members.Brokers(), c.shuttingDown(time.Now()))
}

// livenessOf is who may hold leadership: the registered brokers the gossip
// lists as live (alive or only suspected) under the incarnation the log
// registered; a broker back with a wiped disk is not, until its new
// registration took it out of the ISRs. Of those, shutting are in a
// controlled shutdown.
func livenessOf(st *metadata.State, members []membership.Broker, shutting map[int32]bool) metadata.Liveness {
	l := metadata.Liveness{Live: map[int32]bool{}, ShuttingDown: map[int32]bool{}}
	for _, b := range members {
		if reg, ok := st.Brokers[b.ID]; ok && b.Live() && reg.Incarnation == b.Incarnation {
			l.Live[b.ID] = true
		}
	}
	for id := range shutting {
		if l.Live[id] {
			l.ShuttingDown[id] = true
		}
	}
	return l
}

// reconcileLeadership runs the failover plan (leaders that are not live,
// offline partitions, followers that are not live) on every reconcile
// pass, and the preferred-leader rebalance once per RebalanceInterval (the
// first one interval after this broker became the controller). Until the
// gossip has joined, every other broker would look dead: nothing is
// decided.
func (c *Controller) reconcileLeadership(now time.Time) {
	if !c.members.Joined() {
		return
	}
	st := c.fsm.current()
	l := c.liveness(st)
	if ds := st.PlanFailover(l, allowsUnclean); len(ds) > 0 {
		if _, _, err := c.proposeAll(ds); err != nil {
			c.cfg.Logger.Warn("failover", "partitions", len(ds), "err", err)
			return
		}
		st = c.fsm.current()
	}
	if c.lastRebalance.IsZero() {
		c.lastRebalance = now
	}
	if now.Sub(c.lastRebalance) < c.cfg.RebalanceInterval {
		return
	}
	c.lastRebalance = now
	if ds := st.PlanPreferred(l); len(ds) > 0 {
		if _, _, err := c.proposeAll(ds); err != nil {
			c.cfg.Logger.Warn("preferred-leader rebalance", "partitions", len(ds), "err", err)
		}
	}
}

// proposeAll proposes the decisions' changes, pipelined: every one is
// handed to Raft before any is waited for, so that Raft writes and commits
// them in batches (up to MaxAppendEntries an append) and the state machine
// applies them in batches (fsm.ApplyBatch). A pass over thousands of
// partitions costs a few log writes, not one round trip each; Apply itself
// blocks only while Raft's intake is full.
//
// It returns the index of the last committed change and how many changes
// the state machine refused as stale (another change to the partition got
// there first; the next pass plans again from the new state). Another
// refusal, or a lost leadership, is the error; the changes committed
// before it count.
func (c *Controller) proposeAll(ds []metadata.Decision) (last uint64, stale int, err error) {
	if c.raftState() != raft.Leader {
		return 0, 0, errNotController
	}
	cmds := make([][]byte, len(ds))
	for i, d := range ds {
		if cmds[i], err = metadata.Encode(d.Change); err != nil {
			return 0, 0, err
		}
	}
	futures := make([]raft.ApplyFuture, len(ds))
	for i, b := range cmds {
		futures[i] = c.raft.Apply(b, proposeTimeout)
	}
	elected := map[metadata.Reason]int{}
	for i, f := range futures {
		index, ferr := result(f)
		d := ds[i]
		switch {
		case errors.Is(ferr, metadata.ErrStaleEpoch):
			stale++
			continue
		case ferr != nil:
			if err == nil {
				err = fmt.Errorf("%s/%d: %w", d.Change.Topic, d.Change.Partition, ferr)
			}
			continue
		}
		last = max(last, index)
		if d.Elected() {
			elected[d.Reason]++
			c.metrics.elections.WithLabelValues(string(d.Reason)).Inc()
		}
		c.cfg.Logger.Debug("partition leadership changed", "topic", d.Change.Topic, "partition", d.Change.Partition,
			"reason", d.Reason, "leader", d.Change.Leader, "leader_epoch", d.Change.LeaderEpoch, "isr", d.Change.ISR)
	}
	if len(ds) > stale {
		c.cfg.Logger.Info("partition leadership changed", "changes", len(ds)-stale, "elections", elected, "stale", stale, "version", last)
	}
	return last, stale, err
}

// ControlledShutdown moves this broker's leaderships to other in-sync
// replicas and takes it out of the ISRs it follows in, before it stops
// (SIGTERM); see ControlledShutdownLocal. It goes through the controller
// (forwarded when this broker is not it) and returns once this broker has
// applied the changes, so that it no longer leads, or when ctx ends. A
// broker with no other live broker has nowhere to move leadership and
// returns at once.
func (c *Controller) ControlledShutdown(ctx context.Context) error {
	if c.raft == nil {
		return nil
	}
	others := false
	for id := range c.liveness(c.fsm.current()).Live {
		others = others || id != c.cfg.ID
	}
	if !others {
		return nil
	}
	id := c.cfg.ID
	v, err := c.route(ctx, func(ctx context.Context) (uint64, error) { return c.ControlledShutdownLocal(ctx, id) },
		func(ctx context.Context, to int32) (uint64, error) { return c.fwd.ControlledShutdown(ctx, to, id) })
	if err != nil {
		return fmt.Errorf("controller: controlled shutdown: %w", err)
	}
	return c.waitApplied(ctx, v)
}

// ControlledShutdownLocal does broker id's controlled shutdown as the
// controller (metadata.Shutdown on every partition): leadership where it
// leads moves to the next live in-sync replica, and it leaves the ISRs
// where it follows and others remain. It returns once the changes are
// committed, with the version of the last. Until the controller sees the
// broker stop (not live in the gossip) and so start afresh when it returns,
// or shutdownMarkTTL has passed, the broker counts as shutting down: it is
// not elected, not rebalanced to, and not added to ISRs. The mark is this
// controller's memory: a new controller starts without it. It never
// forwards.
func (c *Controller) ControlledShutdownLocal(ctx context.Context, id int32) (uint64, error) {
	if !c.IsController() {
		return 0, errNotController
	}
	if _, ok := c.fsm.current().Brokers[id]; !ok {
		return 0, fmt.Errorf("%w: controlled shutdown: broker %d is not registered", engine.ErrInvalidRequest, id)
	}
	c.markShutdown(id, time.Now())
	c.cfg.Logger.Info("controlled shutdown", "broker", id)
	for range maxShutdownRounds {
		st := c.fsm.current()
		ds := st.PlanShutdown(id, c.liveness(st))
		if len(ds) == 0 {
			return st.Version, nil
		}
		last, stale, err := c.proposeAll(ds)
		if err != nil || stale == 0 {
			return last, engineError(err)
		}
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("%w: controlled shutdown of broker %d: %w", engine.ErrTimeout, id, err)
		}
	}
	return c.fsm.current().Version, nil
}

// markShutdown records that broker id is shutting down.
func (c *Controller) markShutdown(id int32, now time.Time) {
	c.shutdownMu.Lock()
	defer c.shutdownMu.Unlock()
	c.shutdowns[id] = now
}

// shuttingDown are the brokers marked shutting down; marks older than
// shutdownMarkTTL end here.
func (c *Controller) shuttingDown(now time.Time) map[int32]bool {
	c.shutdownMu.Lock()
	defer c.shutdownMu.Unlock()
	out := map[int32]bool{}
	for id, since := range c.shutdowns {
		if now.Sub(since) > shutdownMarkTTL {
			delete(c.shutdowns, id)
			continue
		}
		out[id] = true
	}
	return out
}

// forgetStopped ends the shutdown marks of brokers that are not live in
// members: they stopped, and come back starting afresh.
func (c *Controller) forgetStopped(members []membership.Broker) {
	live := map[int32]bool{}
	for _, b := range members {
		live[b.ID] = b.Live()
	}
	c.shutdownMu.Lock()
	defer c.shutdownMu.Unlock()
	for id := range c.shutdowns {
		if !live[id] {
			delete(c.shutdowns, id)
		}
	}
}

// waitApplied waits until this broker has applied metadata version v.
func (c *Controller) waitApplied(ctx context.Context, v uint64) error {
	for {
		applied := c.fsm.applied()
		if c.MetadataVersion() >= v {
			return nil
		}
		select {
		case <-applied:
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting to apply metadata version %d: %w", engine.ErrTimeout, v, ctx.Err())
		}
	}
}
