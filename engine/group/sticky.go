package group

import (
	"cmp"
	"slices"
	"strings"
)

// StickyAssignor balances partitions while keeping as many as possible with
// their previous owner, the goal of Kafka's StickyAssignor.
//
// It keeps every previous assignment that is still valid (the partition
// exists, the member still subscribes to its topic, no other member kept it
// first), gives each unowned partition to the eligible member with the fewest
// partitions, then moves single partitions from the fullest member to an
// eligible emptiest one while they differ by two or more. Among members with
// the same subscriptions the counts therefore differ by at most one; with
// identical subscriptions the number of moved partitions is the minimum.
type StickyAssignor struct{}

// Name returns "sticky".
func (StickyAssignor) Name() string { return AssignorSticky }

// Assign implements Assignor.
func (StickyAssignor) Assign(members []MemberSubscription, partitions map[string]int32,
	previous map[string][]TopicPartition) map[string][]TopicPartition {
	s := newSticky(sortedMembers(members), partitions, previous)
	s.assignUnowned(allPartitions(s.members, partitions))
	for s.moveOne() {
	}
	out := make(map[string][]TopicPartition, len(s.members))
	for _, m := range s.members {
		tps := slices.Clone(s.owned[m.ID])
		if tps == nil {
			tps = []TopicPartition{}
		}
		sortTPs(tps)
		out[m.ID] = tps
	}
	return out
}

// sticky is the working state of one StickyAssignor.Assign call.
type sticky struct {
	members []MemberSubscription // sorted by id
	subs    map[string]map[string]bool
	prev    map[string]map[TopicPartition]bool
	owner   map[TopicPartition]string
	owned   map[string][]TopicPartition
}

func newSticky(members []MemberSubscription, partitions map[string]int32,
	previous map[string][]TopicPartition) *sticky {
	s := &sticky{
		members: members,
		subs:    make(map[string]map[string]bool, len(members)),
		prev:    make(map[string]map[TopicPartition]bool, len(members)),
		owner:   make(map[TopicPartition]string),
		owned:   make(map[string][]TopicPartition, len(members)),
	}
	for _, m := range members {
		s.subs[m.ID] = make(map[string]bool, len(m.Topics))
		for _, t := range m.Topics {
			s.subs[m.ID][t] = true
		}
	}
	for _, m := range members {
		prev := slices.Clone(previous[m.ID])
		sortTPs(prev)
		s.prev[m.ID] = make(map[TopicPartition]bool, len(prev))
		for _, tp := range prev {
			s.prev[m.ID][tp] = true
			exists := tp.Partition >= 0 && tp.Partition < partitions[tp.Topic]
			if _, taken := s.owner[tp]; exists && !taken && s.subs[m.ID][tp.Topic] {
				s.give(tp, m.ID)
			}
		}
	}
	return s
}

func (s *sticky) give(tp TopicPartition, id string) {
	s.owner[tp] = id
	s.owned[id] = append(s.owned[id], tp)
}

func (s *sticky) take(tp TopicPartition, id string) {
	s.owned[id] = slices.DeleteFunc(s.owned[id], func(x TopicPartition) bool { return x == tp })
	delete(s.owner, tp)
}

// assignUnowned gives each partition nobody kept to the eligible member with
// the fewest partitions (ties: lowest id).
func (s *sticky) assignUnowned(all []TopicPartition) {
	for _, tp := range all {
		if _, ok := s.owner[tp]; ok {
			continue
		}
		best := ""
		for _, m := range s.members {
			if s.subs[m.ID][tp.Topic] && (best == "" || len(s.owned[m.ID]) < len(s.owned[best])) {
				best = m.ID
			}
		}
		if best != "" {
			s.give(tp, best)
		}
	}
}

// moveOne moves one partition from a member to an eligible one with at least
// two partitions fewer, trying the fullest donors and the emptiest receivers
// first. It reports whether it moved anything. Every move lowers the sum of
// squared counts, so repeating it terminates.
func (s *sticky) moveOne() bool {
	byCount := func(desc bool) []string {
		ids := make([]string, len(s.members))
		for i, m := range s.members {
			ids[i] = m.ID
		}
		slices.SortStableFunc(ids, func(a, b string) int {
			c := cmp.Compare(len(s.owned[a]), len(s.owned[b]))
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		return ids
	}
	receivers := byCount(false)
	for _, d := range byCount(true) {
		for _, r := range receivers {
			if len(s.owned[r])+2 > len(s.owned[d]) {
				break
			}
			if tp, ok := s.pick(d, r); ok {
				s.take(tp, d)
				s.give(tp, r)
				return true
			}
		}
	}
	return false
}

// pick chooses the partition donor d gives to receiver r: one r subscribes
// to, preferring partitions d did not own before, then the last in order.
func (s *sticky) pick(d, r string) (TopicPartition, bool) {
	var best TopicPartition
	found, bestPrev := false, false
	for _, tp := range s.owned[d] {
		if !s.subs[r][tp.Topic] {
			continue
		}
		isPrev := s.prev[d][tp]
		better := !found ||
			(bestPrev && !isPrev) ||
			(bestPrev == isPrev && compareTP(tp, best) > 0)
		if better {
			best, bestPrev, found = tp, isPrev, true
		}
	}
	return best, found
}
