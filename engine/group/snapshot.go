package group

import (
	"maps"
	"slices"
)

// OffsetState is what survives a restart of one partition's committed
// offset: the offset and its lag window. A snapshot record of
// __consumer_offsets holds one per committed partition of a group.
type OffsetState struct {
	PartitionOffset
	Window []WindowEntry // oldest first
}

// OffsetStates returns every committed offset with a copy of its lag
// window, sorted by topic and partition.
func (c *Coordinator) OffsetStates() []OffsetState {
	out := make([]OffsetState, 0, len(c.offsets))
	for _, tp := range c.sortedOffsetKeys() {
		s := OffsetState{PartitionOffset: PartitionOffset{TopicPartition: tp, Offset: c.offsets[tp]}}
		if w, ok := c.windows[tp]; ok {
			s.Window = slices.Clone(w.Entries)
		}
		out = append(out, s)
	}
	return out
}

// RestoreOffsetStates replays a snapshot: every committed offset and lag
// window is replaced by states, unchecked (the log is the truth). A window
// longer than the configured size keeps its newest entries.
func (c *Coordinator) RestoreOffsetStates(states []OffsetState) {
	maps.DeleteFunc(c.offsets, func(TopicPartition, int64) bool { return true })
	maps.DeleteFunc(c.windows, func(TopicPartition, *Window) bool { return true })
	for _, s := range states {
		c.offsets[s.TopicPartition] = s.Offset
		if len(s.Window) == 0 {
			continue
		}
		w := c.window(s.TopicPartition)
		es := s.Window[max(0, len(s.Window)-w.size()):]
		w.Entries = slices.Clone(es)
	}
}

// Owns reports whether member id may consume and commit tp now: tp is in
// its effective assignment, or it is handing tp over and has not yet
// observed the generation that took it away.
func (c *Coordinator) Owns(id string, tp TopicPartition) bool { return c.owns(id, tp) }

// HasOffsets reports whether the group has any committed offset, or, with a
// topic, any committed offset of that topic.
func (c *Coordinator) HasOffsets(topic string) bool {
	for tp := range c.offsets {
		if topic == "" || tp.Topic == topic {
			return true
		}
	}
	return false
}

// MemberCount returns the number of live members.
func (c *Coordinator) MemberCount() int { return len(c.members) }
