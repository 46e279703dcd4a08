package group

import (
	"fmt"
	"slices"
	"strings"
)

// Assignor names accepted by NewAssignor and MemberSpec.Assignor.
const (
	AssignorRange      = "range"
	AssignorRoundRobin = "roundrobin"
	AssignorSticky     = "sticky"
	// DefaultAssignor is used when a group is created without naming one.
	DefaultAssignor = AssignorRange
)

// MemberSubscription is one member as an Assignor sees it.
type MemberSubscription struct {
	ID     string
	Topics []string
}

// Assignor computes a group's target assignment. Implementations are pure
// and deterministic: the same input gives the same output.
type Assignor interface {
	// Name is the assignor's name as given to NewAssignor.
	Name() string
	// Assign spreads the partitions of the topics the members subscribe to
	// over those members. members have unique ids (the coordinator passes
	// them sorted by id); partitions maps topic to partition count (topics
	// nobody subscribes to and counts <= 0 are ignored); previous is the last
	// target assignment, used by sticky assignors. The result has an entry,
	// possibly empty, for every member, each sorted by topic and partition;
	// every partition of a subscribed topic goes to exactly one member that
	// subscribes to its topic. Assign must not modify its arguments.
	Assign(members []MemberSubscription, partitions map[string]int32,
		previous map[string][]TopicPartition) map[string][]TopicPartition
}

var (
	_ Assignor = RangeAssignor{}
	_ Assignor = RoundRobinAssignor{}
	_ Assignor = StickyAssignor{}
)

// NewAssignor returns the assignor called name; "" gives DefaultAssignor.
func NewAssignor(name string) (Assignor, error) {
	switch name {
	case "", AssignorRange:
		return RangeAssignor{}, nil
	case AssignorRoundRobin:
		return RoundRobinAssignor{}, nil
	case AssignorSticky:
		return StickyAssignor{}, nil
	}
	return nil, fmt.Errorf("%q: %w", name, ErrUnknownAssignor)
}

// RangeAssignor is Kafka's RangeAssignor: per topic, the members subscribed
// to it, sorted by id, get contiguous ranges of partitions, and the first
// count%members of them one partition more.
type RangeAssignor struct{}

// Name returns "range".
func (RangeAssignor) Name() string { return AssignorRange }

// Assign implements Assignor.
func (RangeAssignor) Assign(members []MemberSubscription, partitions map[string]int32,
	_ map[string][]TopicPartition) map[string][]TopicPartition {
	members = sortedMembers(members)
	out := emptyAssignment(members)
	for _, topic := range subscribedTopics(members, partitions) {
		var subs []string
		for _, m := range members {
			if slices.Contains(m.Topics, topic) {
				subs = append(subs, m.ID)
			}
		}
		n, c := partitions[topic], int32(len(subs))
		per, extra := n/c, n%c
		for i, id := range subs {
			i := int32(i)
			start := per*i + min(i, extra)
			length := per
			if i < extra {
				length++
			}
			for p := start; p < start+length; p++ {
				out[id] = append(out[id], TopicPartition{topic, p})
			}
		}
	}
	return out
}

// RoundRobinAssignor is Kafka's RoundRobinAssignor: all partitions of the
// subscribed topics, sorted by topic and partition, are dealt one at a time
// to the members in id order, going round, and skipping members not
// subscribed to the partition's topic.
type RoundRobinAssignor struct{}

// Name returns "roundrobin".
func (RoundRobinAssignor) Name() string { return AssignorRoundRobin }

// Assign implements Assignor.
func (RoundRobinAssignor) Assign(members []MemberSubscription, partitions map[string]int32,
	_ map[string][]TopicPartition) map[string][]TopicPartition {
	members = sortedMembers(members)
	out := emptyAssignment(members)
	next := 0
	for _, tp := range allPartitions(members, partitions) {
		for !slices.Contains(members[next].Topics, tp.Topic) {
			next = (next + 1) % len(members)
		}
		out[members[next].ID] = append(out[members[next].ID], tp)
		next = (next + 1) % len(members)
	}
	return out
}

// sortedMembers returns a copy of members sorted by id.
func sortedMembers(members []MemberSubscription) []MemberSubscription {
	members = slices.Clone(members)
	slices.SortFunc(members, func(a, b MemberSubscription) int {
		return strings.Compare(a.ID, b.ID)
	})
	return members
}

func emptyAssignment(members []MemberSubscription) map[string][]TopicPartition {
	out := make(map[string][]TopicPartition, len(members))
	for _, m := range members {
		out[m.ID] = []TopicPartition{}
	}
	return out
}

// subscribedTopics lists, sorted, the topics some member subscribes to that
// have at least one partition.
func subscribedTopics(members []MemberSubscription, partitions map[string]int32) []string {
	var topics []string
	for _, m := range members {
		for _, t := range m.Topics {
			if partitions[t] > 0 {
				topics = append(topics, t)
			}
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics)
}

// allPartitions lists the partitions of the subscribed topics, sorted.
func allPartitions(members []MemberSubscription, partitions map[string]int32) []TopicPartition {
	var out []TopicPartition
	for _, t := range subscribedTopics(members, partitions) {
		for p := range partitions[t] {
			out = append(out, TopicPartition{t, p})
		}
	}
	return out
}
