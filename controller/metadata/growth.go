package metadata

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// InternalReplication is the replication factor internal topics
// (__consumer_offsets) grow to while the cluster has that many brokers
// (Kafka's offsets.topic.replication.factor).
const InternalReplication = 3

// GrowReplication raises a topic's replication factor. Every partition
// keeps its replicas in order, so its preferred leader, leader, leader
// epoch and ISR stay as they are, and gets the added replicas after them.
// An added replica starts outside the ISR: it fetches from the leader like
// any follower and joins the ISR once caught up (a ChangePartition from
// the leader). Applied, it bumps every partition's epoch. ID fences the
// topic as in UpdateTopic.
type GrowReplication struct {
	Name              string `json:"name"`
	ID                uint64 `json:"id"`
	ReplicationFactor int32  `json:"replication_factor"`
	// Replicas are the partitions' new replica lists, by partition: each
	// the partition's current replicas followed by the added brokers.
	Replicas [][]int32 `json:"replicas"`
}

func (c GrowReplication) apply(s *State, _ uint64) error {
	cur, err := s.topic(c.Name, c.ID)
	if err != nil {
		return err
	}
	switch {
	case c.ReplicationFactor <= cur.ReplicationFactor:
		return fmt.Errorf("%w: topic %q: replication factor %d does not grow %d", ErrInvalid, c.Name, c.ReplicationFactor, cur.ReplicationFactor)
	case len(c.Replicas) != len(cur.Partitions):
		return fmt.Errorf("%w: topic %q: replicas for %d partitions, it has %d", ErrInvalid, c.Name, len(c.Replicas), len(cur.Partitions))
	}
	next := cur.Clone()
	next.ReplicationFactor = c.ReplicationFactor
	for i := range next.Partitions {
		p := &next.Partitions[i]
		if !slices.Equal(c.Replicas[i][:min(len(p.Replicas), len(c.Replicas[i]))], p.Replicas) {
			return fmt.Errorf("%w: topic %q partition %d: replicas %v do not start with its replicas %v", ErrInvalid, c.Name, i, c.Replicas[i], p.Replicas)
		}
		if p.PartitionEpoch == math.MaxInt32 {
			return fmt.Errorf("%w: topic %q partition %d: partition epoch exhausted", ErrInvalid, c.Name, i)
		}
		p.Replicas = cloneIDs(c.Replicas[i])
		p.PartitionEpoch++
	}
	if err := s.checkTopic(next, true); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	*cur = *next
	return nil
}

// ExtendReplicas returns the replica lists of t's partitions grown to rf
// replicas: each keeps its replicas and adds those brokers, not already
// among them, that hold the fewest of t's replicas so far (counting the
// ones added to earlier partitions), ties going round robin from the
// partition's number, so the added followers spread evenly. brokers are
// the ids to place on, in any order. It fails when rf is below t's
// replication factor or above the number of brokers t's partitions could
// use.
func ExtendReplicas(t *Topic, rf int32, brokers []int32) ([][]int32, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(brokers)))
	if rf < t.ReplicationFactor {
		return nil, fmt.Errorf("%w: topic %q: replication factor %d is below %d", ErrInvalid, t.Name, rf, t.ReplicationFactor)
	}
	load := map[int32]int{}
	for _, p := range t.Partitions {
		for _, id := range p.Replicas {
			load[id]++
		}
	}
	out := make([][]int32, len(t.Partitions))
	for i, p := range t.Partitions {
		r := cloneIDs(p.Replicas)
		var cands []int32
		for _, id := range ids {
			if !slices.Contains(r, id) {
				cands = append(cands, id)
			}
		}
		if len(r)+len(cands) < int(rf) {
			return nil, fmt.Errorf("%w: topic %q partition %d: %d replicas need %d more brokers, %d are free", ErrInvalid, t.Name, i, rf, int(rf)-len(r), len(cands))
		}
		// Round robin: a candidate's place in the rotation that starts at
		// the partition's number.
		turn := func(id int32) int {
			k, _ := slices.BinarySearch(ids, id)
			return (k - i%len(ids) + len(ids)) % len(ids)
		}
		slices.SortFunc(cands, func(a, b int32) int {
			return cmp.Or(cmp.Compare(load[a], load[b]), cmp.Compare(turn(a), turn(b)))
		})
		for _, id := range cands[:int(rf)-len(r)] {
			load[id]++
			r = append(r, id)
		}
		out[i] = r
	}
	return out, nil
}

// PlanInternalGrowth returns, for every internal topic with a replication
// factor below min(InternalReplication, len(live)), the GrowReplication
// that brings it there over the live brokers, in topic name order. The
// offsets topic is created with as many replicas as the cluster had
// brokers then, so a cluster that was started one broker at a time would
// otherwise keep committed offsets on fewer brokers than it has.
func (s *State) PlanInternalGrowth(live []int32) []GrowReplication {
	var ok []int32
	for _, id := range live {
		if _, reg := s.Brokers[id]; reg {
			ok = append(ok, id)
		}
	}
	want := int32(min(InternalReplication, len(slices.Compact(slices.Sorted(slices.Values(ok))))))
	var out []GrowReplication
	for _, name := range s.TopicNames() {
		t := s.Topics[name]
		if !t.Internal || t.ReplicationFactor >= want {
			continue
		}
		replicas, err := ExtendReplicas(t, want, ok)
		if err != nil {
			continue // not reached: want is at most len(ok) and above t's factor
		}
		out = append(out, GrowReplication{Name: t.Name, ID: t.ID, ReplicationFactor: want, Replicas: replicas})
	}
	return out
}
