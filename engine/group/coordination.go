package group

// A group's coordinator is the leader of the group's partition of
// __consumer_offsets, and leadership moves (failover, controlled handoff,
// rebalance). This file keeps, per partition, whether this broker
// coordinates its groups:
//
//	not coordinating --elect--> loading --loaded--> coordinating
//	      ^                        |                     |
//	      +--------- resign -------+---------------------+
//
// elect: the engine reports that this broker started leading the partition
// (OnLeadershipChanged), NewManager finds it leading, or a request finds it
// leading at a leader epoch that was not loaded (a report still to come, or
// one the engine cannot give: its first metadata after a restart is compared
// with nothing). A partition without records is coordinated at once.
// Otherwise a goroutine of the Manager reads it from its log start to the log
// end it had at that moment, once the high watermark got there (a new
// leader's HW lags its log end until the followers fetch; ReadLocal stops at
// the HW), and only then are its groups served.
//
// resign: the engine reports that leadership moved away, or a request finds
// it moved. The partition's groups (members, positions, offsets) are dropped
// at once, so stale state is never served; long polls of their members wake
// and fail.
//
// While loading, requests for the partition's groups fail with
// ErrCoordinatorLoading; while not coordinating, with ErrNotCoordinator.
// Both are 503 leader_not_available in the API, which clients retry; the
// router (api/route.go) sends the retry to the new leader.
//
// Every transition starts a new term of the partition. Groups remember the
// term they were loaded or created in; a load of an older term is discarded,
// and every write to __consumer_offsets checks its term just before it is
// made, so state of an earlier term is never written into a later one.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fjord-streaming/fjord/engine"
)

// coordError is a sentinel of this file: its own text, and the engine error
// the API classifies it by.
type coordError struct {
	msg   string
	cause error
}

func (e *coordError) Error() string { return e.msg }
func (e *coordError) Unwrap() error { return e.cause }

var (
	// ErrNotCoordinator: the request reached a broker that does not (or no
	// longer) lead the group's partition of __consumer_offsets. It wraps
	// engine.ErrNotLeader: 503 leader_not_available, retried at the new
	// coordinator.
	ErrNotCoordinator error = &coordError{"group: this broker is not the group's coordinator", engine.ErrNotLeader}
	// ErrCoordinatorLoading: this broker has just become the group's
	// coordinator and is still loading the groups of its partition of
	// __consumer_offsets. It wraps engine.ErrLeaderNotAvailable: 503
	// leader_not_available, retried shortly.
	ErrCoordinatorLoading error = &coordError{"group: the coordinator is still loading the group", engine.ErrLeaderNotAvailable}

	// errNoOffsetsTopic: __consumer_offsets does not exist here, so no
	// group has durable state or members.
	errNoOffsetsTopic = errors.New("group: " + OffsetsTopic + " does not exist")
)

// loadRetryDelay is the pause before a failed load is tried again.
const loadRetryDelay = time.Second

// coordState is whether this broker coordinates one partition's groups.
type coordState uint8

const (
	notCoordinating coordState = iota
	loadingGroups
	coordinating
)

// coordPartition is the coordination of one partition of __consumer_offsets.
type coordPartition struct {
	state coordState
	// term grows with every transition.
	term uint64
	// part and epoch are the partition (of one incarnation of the topic)
	// and the leader epoch the state is for, while loading or coordinating.
	part  *engine.Partition
	epoch int32
	// cancel ends the load in flight; nil when there is none.
	cancel context.CancelFunc
	// ready is closed once the term's groups are loaded.
	ready chan struct{}
}

// leadershipChanged is the engine's OnLeadershipChanged hook. It runs under
// the engine's metadata lock, so it only changes state under m.mu and leaves
// the load to a goroutine.
func (m *Manager) leadershipChanged(topic string, partition int32, leading bool) {
	if topic != OffsetsTopic {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if partition < 0 || int(partition) >= len(m.coord) {
		return
	}
	if !leading {
		m.resignLocked(partition)
		return
	}
	part, err := m.offsetsPartition(partition)
	if err != nil {
		return
	}
	if pl := part.Placement(); pl.Leader == m.eng.BrokerID() && !part.Closed() {
		if term, load := m.electLocked(partition, part, pl.LeaderEpoch); load {
			m.spawnLoadLocked(partition, part, term)
		}
	}
}

// offsetsPartition returns partition p of __consumer_offsets. A topic
// created again has new partitions.
func (m *Manager) offsetsPartition(p int32) (*engine.Partition, error) {
	t, err := m.eng.Topic(OffsetsTopic)
	if err != nil {
		return nil, err
	}
	return t.Partition(p)
}

// gateLocked returns the term in which this broker coordinates partition
// p's groups, or why it does not: ErrNotCoordinator, ErrCoordinatorLoading
// or errNoOffsetsTopic. It follows the partition's placement on the way:
// leadership that moved away resigns, leadership at an epoch not loaded yet
// elects. m.mu must be held.
func (m *Manager) gateLocked(p int32) (uint64, error) {
	cp := &m.coord[p]
	part, err := m.offsetsPartition(p)
	switch {
	case errors.Is(err, engine.ErrTopicNotFound):
		m.resignLocked(p)
		return 0, errNoOffsetsTopic
	case err != nil:
		return 0, err
	}
	pl := part.Placement()
	if pl.Leader != m.eng.BrokerID() || part.Closed() {
		m.resignLocked(p)
		return 0, ErrNotCoordinator
	}
	if cp.state == notCoordinating || cp.epoch != pl.LeaderEpoch || cp.part != part {
		if term, load := m.electLocked(p, part, pl.LeaderEpoch); load {
			m.spawnLoadLocked(p, part, term)
		}
	}
	if cp.state != coordinating {
		return 0, ErrCoordinatorLoading
	}
	return cp.term, nil
}

// currentErr is nil while gs is its group's state on this broker, in the
// current term of its partition; otherwise it is the error to answer
// (ErrMemberNotFound when the group was deleted or replaced). gs.mu must be
// held.
func (m *Manager) currentErr(gs *groupState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := &m.coord[gs.part]
	if !gs.deleted && m.groups[gs.name] == gs && cp.state == coordinating && cp.term == gs.term {
		return nil
	}
	if _, err := m.gateLocked(gs.part); errors.Is(err, errNoOffsetsTopic) {
		return ErrNotCoordinator
	} else if err != nil {
		return err
	}
	return ErrMemberNotFound
}

// checkTermLocked refuses a write of state from another term than the
// partition's current one. m.mu must be held.
func (m *Manager) checkTermLocked(p int32, term uint64) error {
	cur, err := m.gateLocked(p)
	if errors.Is(err, errNoOffsetsTopic) {
		err = ErrNotCoordinator
	}
	if err == nil && cur != term {
		err = ErrNotCoordinator // lost and regained meanwhile: reloaded
	}
	if err != nil {
		return fmt.Errorf("write %s/%d: %w", OffsetsTopic, p, err)
	}
	return nil
}

// electLocked makes this broker the coordinator of partition p's groups at
// the given leader epoch of part, unless it already is (or is
// loading them), which makes repeated reports harmless. It returns the new
// term and whether a load must run; a partition without records is
// coordinated at once. m.mu must be held.
func (m *Manager) electLocked(p int32, part *engine.Partition, epoch int32) (term uint64, load bool) {
	cp := &m.coord[p]
	if cp.state != notCoordinating && cp.epoch == epoch && cp.part == part {
		return cp.term, false
	}
	m.resignLocked(p)
	cp.term++
	cp.state, cp.part, cp.epoch, cp.ready = loadingGroups, part, epoch, make(chan struct{})
	if off := part.LocalOffsets(); off.LogEnd <= off.LogStart {
		m.installLocked(p, nil, 0)
		return cp.term, false
	}
	return cp.term, true
}

// resignLocked stops coordinating partition p's groups: a load in flight is
// cancelled and the groups are dropped; a goroutine then wakes their long
// polls. m.mu must be held.
func (m *Manager) resignLocked(p int32) {
	cp := &m.coord[p]
	if cp.state == notCoordinating {
		return
	}
	if cp.cancel != nil {
		cp.cancel()
		cp.cancel = nil
	}
	cp.term++
	cp.state, cp.part = notCoordinating, nil
	var dropped []*groupState
	for name, gs := range m.groups {
		if gs.part == p {
			dropped = append(dropped, gs)
			delete(m.groups, name)
		}
	}
	m.log.parts[p].since.Store(0)
	m.cfg.Logger.Info("no longer coordinating consumer groups", "partition", p, "groups_dropped", len(dropped))
	if len(dropped) > 0 {
		m.goLocked(func() {
			for _, gs := range dropped {
				gs.mu.Lock()
				gs.deleted = true
				gs.notify()
				gs.mu.Unlock()
			}
		})
	}
}

// spawnLoadLocked starts the load of partition p for term. m.mu must be
// held.
func (m *Manager) spawnLoadLocked(p int32, part *engine.Partition, term uint64) {
	ctx, cancel := context.WithCancel(m.ctx)
	m.coord[p].cancel = cancel
	if !m.goLocked(func() {
		defer cancel()
		m.runLoad(ctx, p, part, term)
	}) {
		cancel()
	}
}

// goLocked runs fn on a goroutine Close waits for, unless the Manager is
// closed. m.mu must be held.
func (m *Manager) goLocked(fn func()) bool {
	if m.stopped {
		return false
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn()
	}()
	return true
}

// runLoad loads partition p for term, trying again after failures, until
// it succeeds or ctx ends (a transition or Close).
func (m *Manager) runLoad(ctx context.Context, p int32, part *engine.Partition, term uint64) {
	for {
		err := m.loadPartition(ctx, p, part, term)
		if err == nil || ctx.Err() != nil {
			return
		}
		m.cfg.Logger.Warn("loading consumer groups failed, retrying", "partition", p, "err", err)
		t := time.NewTimer(loadRetryDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// loadPartition reads partition p's groups from its log start to the log
// end it has now, once its high watermark reached that end, and serves
// them if term is still current.
func (m *Manager) loadPartition(ctx context.Context, p int32, part *engine.Partition, term uint64) error {
	lp := &m.log.parts[p]
	// Writers of an earlier term that passed their term check before the
	// transition finish first, so their records are part of what is read.
	// Later writers fail their check.
	lp.mu.Lock()
	end := part.LocalOffsets().LogEnd
	lp.mu.Unlock()
	if err := m.waitHighWatermark(ctx, part, end); err != nil {
		return err
	}
	ids, counts := topicIDs(m.eng), m.topicCounts()
	groups := make(map[string]*groupState)
	skipped := 0
	start, err := m.log.read(part, end, func(rr replayRecord) {
		if rr.entry.Op == opDeleteGroup {
			delete(groups, rr.group)
			return
		}
		gs, ok := groups[rr.group]
		if !ok {
			var err error
			if gs, err = m.newGroup(rr.group, counts, term); err != nil {
				return
			}
			groups[rr.group] = gs
		}
		rr.apply(gs.c, ids)
	}, func(offset int64, err error) {
		skipped++
		m.cfg.Logger.Warn("skipping undecodable consumer offsets record", "partition", p, "offset", offset, "err", err)
	})
	if err != nil {
		return fmt.Errorf("group: load %s/%d: %w", OffsetsTopic, p, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cp := &m.coord[p]; cp.term != term || cp.state != loadingGroups {
		return nil // superseded
	}
	m.installLocked(p, groups, end-start)
	if len(groups) > 0 || skipped > 0 {
		m.cfg.Logger.Info("consumer groups loaded", "partition", p, "leader_epoch", m.coord[p].epoch,
			"groups", len(groups), "records", end-start, "skipped_records", skipped)
	}
	return nil
}

// waitHighWatermark waits until part's HW reaches end, for at most
// LoadTimeout; leadership moving away ends it.
func (m *Manager) waitHighWatermark(ctx context.Context, part *engine.Partition, end int64) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.LoadTimeout)
	defer cancel()
	for waited := false; ; waited = true {
		ch := part.HighWatermarkChanged()
		off := part.LocalOffsets()
		switch {
		case off.HighWatermark >= end:
			return nil
		case part.Closed() || !part.Leading():
			return fmt.Errorf("%s/%d: %w", OffsetsTopic, part.Index(), ErrNotCoordinator)
		}
		if !waited {
			m.cfg.Logger.Info("consumer groups wait for the followers before loading", "partition", part.Index(),
				"high_watermark", off.HighWatermark, "log_end", end)
			if m.onLoadWait != nil {
				m.onLoadWait(part.Index())
			}
		}
		select {
		case <-ch:
		case <-m.eng.Stopping():
			return engine.ErrClosed
		case <-ctx.Done():
			return fmt.Errorf("%w: the high watermark of %s/%d stayed at %d, below the log end %d it had when this broker became its leader",
				engine.ErrTimeout, OffsetsTopic, part.Index(), off.HighWatermark, end)
		}
	}
}

// installLocked serves groups as partition p's, in its current term;
// records is how many records were read. m.mu must be held.
func (m *Manager) installLocked(p int32, groups map[string]*groupState, records int64) {
	cp := &m.coord[p]
	counts := m.topicCounts()
	for name, gs := range groups {
		gs.c.UpdateTopics(counts) // topics changed during the load, or a replayed delete_topic zeroed a count
		m.groups[name] = gs
	}
	cp.state, cp.cancel = coordinating, nil
	close(cp.ready)
	m.log.parts[p].since.Store(records)
	m.log.wrote(p, 0)
}

// loadLed loads, at NewManager, the groups of the partitions this broker
// leads. One whose HW is at its log end (always so for a broker of its own)
// is loaded before NewManager returns; the others load in the background.
func (m *Manager) loadLed() error {
	t, err := m.eng.Topic(OffsetsTopic)
	if errors.Is(err, engine.ErrTopicNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	for _, part := range t.Partitions() {
		p := part.Index()
		pl := part.Placement()
		if int(p) >= len(m.coord) || pl.Leader != m.eng.BrokerID() || part.Closed() {
			// Another broker leads this partition and coordinates its
			// groups; requests for them are forwarded there.
			continue
		}
		m.mu.Lock()
		term, load := m.electLocked(p, part, pl.LeaderEpoch)
		off := part.LocalOffsets()
		now := load && off.HighWatermark >= off.LogEnd
		if load && !now {
			m.spawnLoadLocked(p, part, term)
		}
		m.mu.Unlock()
		if now {
			if err := m.loadPartition(m.ctx, p, part, term); err != nil {
				return err
			}
		}
	}
	return nil
}
