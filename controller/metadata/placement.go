package metadata

import (
	"fmt"
	"math"
	"slices"
)

// AssignReplicas places partitions startPartition, startPartition+1, … on
// brokers with Kafka's rack-unaware assignment
// (AdminUtils.assignReplicasToBrokersRackUnaware): partition p's first
// replica, its preferred leader, is broker (p+startIndex) mod n, round
// robin; its followers follow the first at distances 1+(shift+j) mod
// (n-1), j = 0…rf-2, and shift grows by one at every partition number
// that is a multiple of n. Leaders and replicas therefore spread evenly,
// and the followers of one broker's partitions spread over the others.
//
// brokers are the live broker ids in any order; they are placed sorted,
// so the same set, start and shift always give the same placement. The
// caller draws startIndex and shift at random (Kafka does) for a new
// topic. To extend a topic, pass its partition count as startPartition and
// the first replica's broker index of partition 0 as startIndex, and the
// leaders continue the topic's round robin.
//
// It fails when replicationFactor is below 1 or above len(brokers), when
// brokers repeat an id, or when a count or start is negative.
func AssignReplicas(brokers []int32, partitions, replicationFactor, startPartition int, startIndex, shift int) ([][]int32, error) {
	n := len(brokers)
	switch {
	case replicationFactor < 1 || replicationFactor > n:
		return nil, fmt.Errorf("%w: replication factor %d with %d broker(s)", ErrInvalid, replicationFactor, n)
	case partitions < 0 || startPartition < 0 || startIndex < 0 || shift < 0:
		return nil, fmt.Errorf("%w: negative partitions, start partition, start index or shift", ErrInvalid)
	case startPartition > math.MaxInt32-partitions:
		return nil, fmt.Errorf("%w: partition numbers beyond int32", ErrInvalid)
	}
	ids := slices.Sorted(slices.Values(brokers))
	if len(slices.Compact(slices.Clone(ids))) != n {
		return nil, fmt.Errorf("%w: broker ids repeat in %v", ErrInvalid, brokers)
	}
	// Only startIndex mod n and shift mod n-1 matter; reducing them first
	// keeps the sums below from overflowing.
	startIndex %= n
	if n > 1 {
		shift %= n - 1
	}
	out := make([][]int32, 0, partitions)
	for p := startPartition; p < startPartition+partitions; p++ {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (p%n + startIndex) % n
		r := make([]int32, 0, replicationFactor)
		r = append(r, ids[first])
		for j := range replicationFactor - 1 {
			r = append(r, ids[replicaIndex(first, shift, j, n)])
		}
		out = append(out, r)
	}
	return out, nil
}

// replicaIndex is Kafka's: follower j of a partition whose first replica is
// broker index first, under shift.
func replicaIndex(first, shift, j, n int) int {
	return (first + 1 + (shift+j)%(n-1)) % n
}
