package group

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Commit records committed offsets for partitions the member owns: its
// effective assignment, plus partitions it is handing over but has not yet
// been told to drop (so an old owner's last commit counts). Other partitions
// fail with ErrNotOwner, unknown ones with ErrUnknownPartition. Either every
// partition is accepted or nothing changes.
//
// A committed offset never moves backwards by a plain commit: an offset
// lower than the current one is accepted only if the member did a Seek on
// that partition since its last commit of it; otherwise the current offset
// is kept. The returned offsets are the effective ones, in request order;
// they are what the driver writes to __consumer_offsets. Each commit also
// enters the partition's lag window and counts as a heartbeat.
func (c *Coordinator) Commit(id string, offsets []OffsetCommit, now time.Time) ([]PartitionOffset, error) {
	m, err := c.member(id)
	if err != nil {
		return nil, err
	}
	seen := make(map[TopicPartition]bool, len(offsets))
	for _, o := range offsets {
		if err := c.checkOffset(o.TopicPartition, o.Offset, seen); err != nil {
			return nil, fmt.Errorf("commit %s: %w", o.TopicPartition, err)
		}
		if !c.owns(id, o.TopicPartition) {
			return nil, fmt.Errorf("commit %s by member %q: %w", o.TopicPartition, id, ErrNotOwner)
		}
	}
	m.touch(now)
	out := make([]PartitionOffset, 0, len(offsets))
	for _, o := range offsets {
		tp, off := o.TopicPartition, o.Offset
		if cur, ok := c.offsets[tp]; ok && cur > off && !m.seeks[tp] {
			off = cur
		}
		delete(m.seeks, tp)
		c.offsets[tp] = off
		if o.HighWatermark >= 0 {
			c.window(tp).Add(WindowEntry{Offset: off, Lag: Lag(off, o.HighWatermark), Time: now})
		}
		out = append(out, PartitionOffset{TopicPartition: tp, Offset: off})
	}
	return out, nil
}

// checkOffset validates one partition and offset of a request; seen
// collects the partitions already named by it.
func (c *Coordinator) checkOffset(tp TopicPartition, offset int64, seen map[TopicPartition]bool) error {
	switch {
	case seen[tp]:
		return ErrDuplicatePartition
	case offset < 0:
		return ErrInvalidOffset
	case tp.Partition < 0 || tp.Partition >= c.topics[tp.Topic]:
		return ErrUnknownPartition
	}
	seen[tp] = true
	return nil
}

// Seek records that the member moved its position on tp explicitly, so its
// next commit of tp may move the committed offset backwards. The member must
// own tp.
func (c *Coordinator) Seek(id string, tp TopicPartition) error {
	m, err := c.member(id)
	if err != nil {
		return err
	}
	if err := c.checkOffset(tp, 0, map[TopicPartition]bool{}); err != nil {
		return fmt.Errorf("seek %s: %w", tp, err)
	}
	if !c.owns(id, tp) {
		return fmt.Errorf("seek %s by member %q: %w", tp, id, ErrNotOwner)
	}
	m.seeks[tp] = true
	return nil
}

// ResetOffsets sets committed offsets as given, backwards included, and
// clears those partitions' lag windows. Only an empty group may be reset
// (ErrGroupNotEmpty otherwise). Either every offset is set or none.
func (c *Coordinator) ResetOffsets(offsets []PartitionOffset) error {
	if len(c.members) > 0 {
		return fmt.Errorf("reset offsets of %q: %w", c.group, ErrGroupNotEmpty)
	}
	seen := make(map[TopicPartition]bool, len(offsets))
	for _, o := range offsets {
		if err := c.checkOffset(o.TopicPartition, o.Offset, seen); err != nil {
			return fmt.Errorf("reset %s: %w", o.TopicPartition, err)
		}
	}
	c.RestoreReset(offsets)
	return nil
}

// RestoreReset replays a reset from __consumer_offsets: the offsets are set
// as given, unchecked, and their lag windows cleared.
func (c *Coordinator) RestoreReset(offsets []PartitionOffset) {
	for _, o := range offsets {
		c.offsets[o.TopicPartition] = o.Offset
		delete(c.windows, o.TopicPartition)
	}
}

// RestoreOffset loads one committed offset while replaying
// __consumer_offsets: it is set as given, unchecked (the log is the truth),
// and enters the lag window at time at when o.HighWatermark >= 0.
func (c *Coordinator) RestoreOffset(o OffsetCommit, at time.Time) {
	c.offsets[o.TopicPartition] = o.Offset
	if o.HighWatermark >= 0 {
		c.window(o.TopicPartition).Add(WindowEntry{Offset: o.Offset, Lag: Lag(o.Offset, o.HighWatermark), Time: at})
	}
}

// DeleteTopic forgets a deleted topic: its committed offsets, lag windows
// and seeks are dropped and its partition count becomes 0, which rebalances
// when a member subscribes to it. It reports whether it rebalanced.
func (c *Coordinator) DeleteTopic(topic string) bool {
	drop := func(tp TopicPartition) bool { return tp.Topic == topic }
	maps.DeleteFunc(c.offsets, func(tp TopicPartition, _ int64) bool { return drop(tp) })
	maps.DeleteFunc(c.windows, func(tp TopicPartition, _ *Window) bool { return drop(tp) })
	for _, m := range c.members {
		maps.DeleteFunc(m.seeks, func(tp TopicPartition, _ bool) bool { return drop(tp) })
	}
	return c.UpdateTopics(map[string]int32{topic: 0})
}

// Offset returns the committed offset of tp, if any.
func (c *Coordinator) Offset(tp TopicPartition) (int64, bool) {
	off, ok := c.offsets[tp]
	return off, ok
}

// Offsets returns every committed offset, sorted by topic and partition.
func (c *Coordinator) Offsets() []PartitionOffset {
	out := make([]PartitionOffset, 0, len(c.offsets))
	for _, tp := range c.sortedOffsetKeys() {
		out = append(out, PartitionOffset{TopicPartition: tp, Offset: c.offsets[tp]})
	}
	return out
}

func (c *Coordinator) sortedOffsetKeys() []TopicPartition {
	return slices.SortedFunc(maps.Keys(c.offsets), compareTP)
}

// window returns tp's lag window, creating it.
func (c *Coordinator) window(tp TopicPartition) *Window {
	w, ok := c.windows[tp]
	if !ok {
		w = &Window{Size: c.cfg.LagWindowSize, MinDistance: c.cfg.LagMinDistance}
		c.windows[tp] = w
	}
	return w
}
