package group

import (
	"context"
	"fmt"
	"slices"

	"github.com/fjord-streaming/fjord/engine"
)

// Commit commits offsets for partitions the member owns (see
// Coordinator.Commit); nil offsets commit the member's positions, that is
// the offsets after the records already delivered to it. It returns the
// effective offsets with the high watermark each was committed at, once
// they are durable in __consumer_offsets. Callers' HighWatermark fields
// are ignored.
func (m *Manager) Commit(ctx context.Context, group, member string, offsets []OffsetCommit) ([]OffsetCommit, error) {
	if err := m.log.ensure(); err != nil {
		return nil, err
	}
	lp := &m.log.parts[m.log.partition(group)]
	lp.mu.RLock()
	defer lp.mu.RUnlock()
	gs, ms, err := m.lockMember(group, member)
	if err != nil {
		return nil, err
	}
	defer gs.mu.Unlock()
	if offsets == nil {
		for tp, pos := range ms.positions {
			if gs.c.Owns(member, tp) {
				offsets = append(offsets, OffsetCommit{TopicPartition: tp, Offset: pos})
			}
		}
		slices.SortFunc(offsets, func(a, b OffsetCommit) int { return compareTP(a.TopicPartition, b.TopicPartition) })
	} else {
		offsets = slices.Clone(offsets)
	}
	for i := range offsets {
		offsets[i].HighWatermark = -1
		if p, err := m.eng.Partition(offsets[i].Topic, offsets[i].Partition); err == nil {
			offsets[i].HighWatermark = p.Offsets().HighWatermark
		}
	}
	now := m.cfg.Now()
	eff, err := gs.c.Commit(member, offsets, now)
	if err != nil {
		return nil, err
	}
	out := make([]OffsetCommit, len(eff))
	for i, e := range eff {
		out[i] = OffsetCommit{TopicPartition: e.TopicPartition, Offset: e.Offset, HighWatermark: offsets[i].HighWatermark}
	}
	if len(out) == 0 {
		return out, nil
	}
	entry := offsetEntry(opCommit, topicIDs(m.eng, offsetTopics(out)...), out)
	if _, err := m.appendLog(ctx, gs.part, gs.term, now, keyedEntry{group, entry}); err != nil {
		return nil, err
	}
	return out, nil
}

// ResetRequest sets an empty group's committed offsets: either Offsets, or
// every partition of Topic to To (engine.OffsetEarliest or
// engine.OffsetLatest) or, when Timestamp is set, to the first offset at or
// after it (the high watermark when none is).
type ResetRequest struct {
	Offsets   []PartitionOffset
	Topic     string
	To        int64
	Timestamp *int64
}

// ResetOffsets sets committed offsets of a group without members, creating
// the group if needed, and returns them once durable. Explicit offsets
// must lie within the retained log (*engine.OffsetOutOfRangeError).
func (m *Manager) ResetOffsets(ctx context.Context, group string, req ResetRequest) ([]PartitionOffset, error) {
	if err := ValidateGroupName(group); err != nil {
		return nil, err
	}
	offs, err := m.resolveReset(req)
	if err != nil {
		return nil, err
	}
	if err := m.log.ensure(); err != nil {
		return nil, err
	}
	lp := &m.log.parts[m.log.partition(group)]
	lp.mu.RLock()
	defer lp.mu.RUnlock()
	gs, err := m.lockGroup(group, true)
	if err != nil {
		return nil, err
	}
	defer gs.mu.Unlock()
	now := m.cfg.Now()
	m.tickLocked(gs, now)
	if err := gs.c.ResetOffsets(offs); err != nil {
		m.dropIfUnused(gs)
		return nil, err
	}
	commits := make([]OffsetCommit, len(offs))
	for i, o := range offs {
		commits[i] = OffsetCommit{TopicPartition: o.TopicPartition, Offset: o.Offset, HighWatermark: -1}
	}
	entry := offsetEntry(opReset, topicIDs(m.eng, offsetTopics(commits)...), commits)
	if _, err := m.appendLog(ctx, gs.part, gs.term, now, keyedEntry{group, entry}); err != nil {
		return nil, err
	}
	return offs, nil
}

// resolveReset turns a reset request into offsets, checked against the logs.
func (m *Manager) resolveReset(req ResetRequest) ([]PartitionOffset, error) {
	if req.Offsets != nil {
		if req.Topic != "" {
			return nil, fmt.Errorf("%w: give either offsets or a topic", ErrInvalidRequest)
		}
		for _, o := range req.Offsets {
			p, err := m.eng.Partition(o.Topic, o.Partition)
			if err != nil {
				return nil, err
			}
			if off := p.Offsets(); o.Offset < off.LogStart || o.Offset > off.HighWatermark {
				return nil, &engine.OffsetOutOfRangeError{Offset: o.Offset, LogStartOffset: off.LogStart, HighWatermark: off.HighWatermark}
			}
		}
		return slices.Clone(req.Offsets), nil
	}
	t, err := m.eng.Topic(req.Topic)
	if err != nil {
		return nil, err
	}
	var out []PartitionOffset
	for _, p := range t.Partitions() {
		off := p.Offsets()
		o := PartitionOffset{TopicPartition: TopicPartition{Topic: req.Topic, Partition: p.Index()}}
		switch {
		case req.Timestamp != nil:
			found, ok, err := p.OffsetForTimestamp(*req.Timestamp)
			if err != nil {
				return nil, err
			}
			o.Offset = off.HighWatermark
			if ok {
				o.Offset = found
			}
		case req.To == engine.OffsetEarliest:
			o.Offset = off.LogStart
		case req.To == engine.OffsetLatest:
			o.Offset = off.HighWatermark
		default:
			return nil, fmt.Errorf("%w: reset target must be earliest, latest or a timestamp", ErrInvalidRequest)
		}
		out = append(out, o)
	}
	return out, nil
}

// DeleteGroup deletes a group without members and its offsets
// (ErrGroupNotEmpty while it has members, ErrGroupNotFound if unknown).
func (m *Manager) DeleteGroup(ctx context.Context, group string) error {
	if err := m.log.ensure(); err != nil {
		return err
	}
	lp := &m.log.parts[m.log.partition(group)]
	lp.mu.RLock()
	defer lp.mu.RUnlock()
	gs, err := m.lockGroup(group, false)
	if err != nil {
		return err
	}
	if gs == nil {
		return fmt.Errorf("group %q: %w", group, ErrGroupNotFound)
	}
	defer gs.mu.Unlock()
	now := m.cfg.Now()
	m.tickLocked(gs, now)
	if gs.c.State() != StateEmpty {
		return fmt.Errorf("delete group %q with %d members: %w", group, gs.c.MemberCount(), ErrGroupNotEmpty)
	}
	if _, err := m.appendLog(ctx, gs.part, gs.term, now, keyedEntry{group, logEntry{Op: opDeleteGroup}}); err != nil {
		return err
	}
	gs.deleted = true
	m.mu.Lock()
	delete(m.groups, group)
	m.mu.Unlock()
	gs.notify()
	return nil
}

// topicChanged tells every group a topic's new partition count.
func (m *Manager) topicChanged(topic string, partitions int32) {
	for _, gs := range m.groupList() {
		gs.mu.Lock()
		if !gs.deleted && gs.c.UpdateTopics(map[string]int32{topic: partitions}) {
			gs.notify()
		}
		gs.mu.Unlock()
	}
}

// topicDeleted drops a deleted topic from every group: offsets, lag
// windows, positions and assignments, and records the drop durably for the
// groups that had offsets of it.
func (m *Manager) topicDeleted(topic string) {
	if topic == OffsetsTopic {
		m.cfg.Logger.Error("the internal topic " + OffsetsTopic + " was deleted: committed offsets are lost at the next restart")
		return
	}
	for _, gs := range m.groupList() {
		if err := m.dropTopic(gs, topic); err != nil {
			m.cfg.Logger.Error("recording topic deletion for group failed", "group", gs.name, "topic", topic, "err", err)
		}
	}
}

func (m *Manager) dropTopic(gs *groupState, topic string) error {
	lp := &m.log.parts[gs.part]
	lp.mu.RLock()
	defer lp.mu.RUnlock()
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if m.currentErr(gs) != nil {
		return nil // deleted, or no longer coordinated here
	}
	had := gs.c.HasOffsets(topic)
	rebalanced := gs.c.DeleteTopic(topic)
	for _, ms := range gs.members {
		for tp := range ms.positions {
			if tp.Topic == topic {
				delete(ms.positions, tp)
			}
		}
	}
	if rebalanced {
		gs.notify()
	}
	if !had {
		return nil
	}
	if _, err := m.eng.Topic(OffsetsTopic); err != nil {
		return err // never created: nothing of this group is durable
	}
	_, err := m.appendLog(context.Background(), gs.part, gs.term, m.cfg.Now(),
		keyedEntry{gs.name, logEntry{Op: opDeleteTopic, Topic: topic}})
	return err
}
