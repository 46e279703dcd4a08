package metadata

import (
	"math"
	"slices"
)

// Liveness is what the controller knows of the brokers when it decides
// leadership. Live holds the brokers that are members now: alive (or only
// suspected) in the gossip, under the incarnation the log registered.
// ShuttingDown holds those of them in a controlled shutdown: they stay in
// the ISRs they are in, but are neither elected nor handed leadership.
type Liveness struct {
	Live         map[int32]bool
	ShuttingDown map[int32]bool
}

// eligible reports whether broker id may become a leader.
func (l Liveness) eligible(id int32) bool { return l.Live[id] && !l.ShuttingDown[id] }

// Reason says why the controller changes a partition's leader or ISR. It
// labels the leader-election metric.
type Reason string

// Reasons of a Decision.
const (
	// ReasonFailover: the leader is not live (or there was none) and a
	// live ISR member takes over.
	ReasonFailover Reason = "failover"
	// ReasonUnclean: no ISR member is live and the topic allows an unclean
	// election; a live replica outside the ISR takes over, alone in it.
	ReasonUnclean Reason = "unclean"
	// ReasonOffline: the leader is not live and no ISR member is; the
	// partition has no leader until one returns.
	ReasonOffline Reason = "offline"
	// ReasonShrink: the leader is live and followers that are not leave
	// the ISR.
	ReasonShrink Reason = "isr_shrink"
	// ReasonPreferred: the preferred replica (the first) takes leadership
	// back.
	ReasonPreferred Reason = "preferred"
	// ReasonShutdown: a broker in controlled shutdown hands its
	// leaderships on and leaves the ISRs it follows in.
	ReasonShutdown Reason = "shutdown"
)

// Decision is one change the controller proposes: the partition as it is,
// the ChangePartition that makes it what the decision wants, and why.
type Decision struct {
	From   Partition
	Change ChangePartition
	Reason Reason
}

// Elected reports whether the decision gives the partition a new leader
// (not a shrink, not going offline): what the leader-election metric counts.
func (d Decision) Elected() bool {
	return d.Change.Leader != NoLeader && d.Change.Leader != d.From.Leader
}

// Elect decides p's leadership given who is live (Kafka's offline
// partition election, KRaft's ISR handling of fenced brokers):
//
//   - a live leader keeps leading; followers that are not live leave the
//     ISR (ReasonShrink), so acks=all can go on with the others;
//   - otherwise (the leader is not live, or there is none) the first
//     replica in replica order that is live, not shutting down and in the
//     ISR leads with the next leader epoch, and the ISR keeps its live
//     members (ReasonFailover);
//   - with no such replica and unclean allowed, the first replica that is
//     live and not shutting down leads alone in the ISR (ReasonUnclean):
//     records the old ISR had and it lacks are lost;
//   - otherwise the partition goes offline, NoLeader with the next leader
//     epoch, and keeps its ISR as it was (ReasonOffline), so that an ISR
//     member that returns is elected.
//
// changed is false when p stays as it is (an offline partition that still
// has nobody to elect, or epochs at their maximum).
func Elect(p Partition, l Liveness, unclean bool) (to Partition, reason Reason, changed bool) {
	if exhausted(p) {
		return p, "", false
	}
	if p.Leader != NoLeader && l.Live[p.Leader] {
		isr := keepLive(p.ISR, p.Leader, l)
		if len(isr) == len(p.ISR) {
			return p, "", false
		}
		return lead(p, p.Leader, isr, p.LeaderEpoch), ReasonShrink, true
	}
	if id, ok := first(p.Replicas, func(id int32) bool { return l.eligible(id) && p.InISR(id) }); ok {
		return lead(p, id, keepLive(p.ISR, id, l), p.LeaderEpoch+1), ReasonFailover, true
	}
	if unclean {
		if id, ok := first(p.Replicas, l.eligible); ok {
			return lead(p, id, []int32{id}, p.LeaderEpoch+1), ReasonUnclean, true
		}
	}
	if p.Leader == NoLeader {
		return p, "", false
	}
	return lead(p, NoLeader, p.ISR, p.LeaderEpoch+1), ReasonOffline, true
}

// Preferred decides p's preferred-leader rebalance: when p has a leader
// that is not its first replica, and the first replica is live, not
// shutting down and in the ISR, it leads again with the next leader epoch
// and the same ISR. Like Kafka's preferred election, the switch is direct:
// the ISR member has every record the old leader acknowledged to acks=all.
func Preferred(p Partition, l Liveness) (to Partition, changed bool) {
	if len(p.Replicas) == 0 || p.Leader == NoLeader || exhausted(p) {
		return p, false
	}
	pref := p.Replicas[0]
	if p.Leader == pref || !l.eligible(pref) || !p.InISR(pref) {
		return p, false
	}
	return lead(p, pref, p.ISR, p.LeaderEpoch+1), true
}

// Shutdown decides what broker id's controlled shutdown does to p. Where id
// leads, the first other replica in replica order that is live, not
// shutting down and in the ISR leads with the next leader epoch, and id
// (with any member that is not live) leaves the ISR; with no such replica
// id keeps leading, as the partition would otherwise go offline before it
// must. Where id follows in an ISR that has a leader and other members, it
// leaves the ISR. Elsewhere nothing changes (an offline partition keeps
// its ISR for the members' return).
func Shutdown(p Partition, id int32, l Liveness) (to Partition, changed bool) {
	if exhausted(p) {
		return p, false
	}
	switch {
	case p.Leader == id:
		next, ok := first(p.Replicas, func(r int32) bool { return r != id && l.eligible(r) && p.InISR(r) })
		if !ok {
			return p, false
		}
		isr := keepLive(slices.DeleteFunc(slices.Clone(p.ISR), func(m int32) bool { return m == id }), next, l)
		return lead(p, next, isr, p.LeaderEpoch+1), true
	case p.Leader != NoLeader && p.InISR(id) && len(p.ISR) > 1:
		isr := slices.DeleteFunc(slices.Clone(p.ISR), func(m int32) bool { return m == id })
		return lead(p, p.Leader, isr, p.LeaderEpoch), true
	}
	return p, false
}

// PlanFailover applies Elect to every partition, topics by name and
// partitions in order; unclean reports whether a topic allows unclean
// leader election (its configuration, which the state machine does not
// interpret).
func (s *State) PlanFailover(l Liveness, unclean func(*Topic) bool) []Decision {
	return s.plan(func(t *Topic, p Partition) (Partition, Reason, bool) {
		return Elect(p, l, unclean != nil && unclean(t))
	})
}

// PlanPreferred applies Preferred to every partition.
func (s *State) PlanPreferred(l Liveness) []Decision {
	return s.plan(func(_ *Topic, p Partition) (Partition, Reason, bool) {
		to, ok := Preferred(p, l)
		return to, ReasonPreferred, ok
	})
}

// PlanShutdown applies Shutdown of broker id to every partition.
func (s *State) PlanShutdown(id int32, l Liveness) []Decision {
	return s.plan(func(_ *Topic, p Partition) (Partition, Reason, bool) {
		to, ok := Shutdown(p, id, l)
		return to, ReasonShutdown, ok
	})
}

// plan collects decide's changes over every partition, topics by name.
func (s *State) plan(decide func(*Topic, Partition) (Partition, Reason, bool)) []Decision {
	var out []Decision
	for _, name := range s.TopicNames() {
		t := s.Topics[name]
		for i, p := range t.Partitions {
			to, reason, ok := decide(t, p)
			if !ok {
				continue
			}
			out = append(out, Decision{From: p, Reason: reason, Change: ChangePartition{
				Topic: t.Name, TopicID: t.ID, Partition: int32(i), Leader: to.Leader, ISR: to.ISR,
				LeaderEpoch: to.LeaderEpoch, ExpectPartitionEpoch: p.PartitionEpoch}})
		}
	}
	return out
}

// LeadershipCounts counts the partitions that have no leader (offline), and
// those led by a broker other than their first replica (imbalanced;
// offline partitions are not counted there).
func (s *State) LeadershipCounts() (offline, imbalanced int) {
	for _, t := range s.Topics {
		for _, p := range t.Partitions {
			switch {
			case p.Leader == NoLeader:
				offline++
			case len(p.Replicas) > 0 && p.Leader != p.Replicas[0]:
				imbalanced++
			}
		}
	}
	return offline, imbalanced
}

// lead is p with the given leader, ISR and leader epoch.
func lead(p Partition, leader int32, isr []int32, epoch int32) Partition {
	to := p.Clone()
	to.Leader, to.ISR, to.LeaderEpoch = leader, cloneIDs(isr), epoch
	return to
}

// keepLive is isr without its members that are not live; keep stays.
func keepLive(isr []int32, keep int32, l Liveness) []int32 {
	return slices.DeleteFunc(cloneIDs(isr), func(id int32) bool { return id != keep && !l.Live[id] })
}

// first is the first id of ids for which ok holds.
func first(ids []int32, ok func(int32) bool) (int32, bool) {
	for _, id := range ids {
		if ok(id) {
			return id, true
		}
	}
	return NoLeader, false
}

// exhausted reports whether p's epochs leave no room for another change;
// the state machine would refuse it.
func exhausted(p Partition) bool {
	return p.LeaderEpoch == math.MaxInt32 || p.PartitionEpoch == math.MaxInt32
}
