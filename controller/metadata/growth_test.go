package metadata

import (
	"fmt"
	"slices"
	"testing"
)

// TestExtendReplicasEven grows topics placed by AssignReplicas on a few
// brokers onto more: every partition keeps its replicas as a prefix, the
// added ones are distinct brokers from the list, the brokers that held
// nothing get added replicas within one of each other, replicas per broker
// end within spread of each other, and the result does not depend on the
// order of the brokers.
func TestExtendReplicasEven(t *testing.T) {
	for _, c := range []struct {
		placed, grown []int32
		partitions    int
		from, to      int32
		spread        int
	}{
		{[]int32{1}, []int32{1, 2, 3}, 50, 1, 3, 0},
		{[]int32{1, 2}, []int32{1, 2, 3}, 50, 1, 2, 1},
		// Brokers 1 and 2 hold 48 replicas each before; 3, 4 and 5 get 16.
		{[]int32{1, 2}, []int32{1, 2, 3, 4, 5}, 48, 2, 3, 32},
		{[]int32{1, 2, 3}, []int32{1, 2, 3, 4, 5, 6}, 60, 1, 3, 2},
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, 7, 3, 3, 1},
	} {
		t.Run(fmt.Sprintf("%v->%v/rf=%d->%d", c.placed, c.grown, c.from, c.to), func(t *testing.T) {
			tp := placedTopic(t, c.placed, c.partitions, c.from)
			got, err := ExtendReplicas(tp, c.to, c.grown)
			if err != nil {
				t.Fatal(err)
			}
			load := map[int32]int{}
			for i, r := range got {
				old := tp.Partitions[i].Replicas
				if len(r) != int(c.to) || !slices.Equal(r[:len(old)], old) {
					t.Fatalf("partition %d: %v from %v", i, r, old)
				}
				for j, id := range r {
					if !slices.Contains(c.grown, id) || slices.Contains(r[:j], id) {
						t.Fatalf("partition %d: replicas %v", i, r)
					}
					load[id]++
				}
			}
			spread := func(ids []int32) int {
				lo, hi := len(got), 0
				for _, id := range ids {
					lo, hi = min(lo, load[id]), max(hi, load[id])
				}
				return hi - lo
			}
			var newcomers []int32
			for _, id := range c.grown {
				if !slices.Contains(c.placed, id) {
					newcomers = append(newcomers, id)
				}
			}
			if spread(newcomers) > 1 || spread(c.grown) > c.spread {
				t.Fatalf("replicas per broker %v", load)
			}
			reversed := slices.Clone(c.grown)
			slices.Reverse(reversed)
			again, _ := ExtendReplicas(tp, c.to, reversed)
			if !slices.EqualFunc(got, again, slices.Equal) {
				t.Fatal("the result depends on the order of the brokers")
			}
		})
	}
}

func TestExtendReplicasErrors(t *testing.T) {
	tp := placedTopic(t, []int32{1, 2}, 4, 2)
	if _, err := ExtendReplicas(tp, 1, []int32{1, 2, 3}); err == nil {
		t.Fatal("shrinking: no error")
	}
	if _, err := ExtendReplicas(tp, 4, []int32{1, 2, 3}); err == nil {
		t.Fatal("more replicas than brokers: no error")
	}
}

// placedTopic is a topic of n partitions placed on brokers by
// AssignReplicas, each led by its first replica with every replica in sync.
func placedTopic(t *testing.T, brokers []int32, n int, rf int32) *Topic {
	t.Helper()
	rs, err := AssignReplicas(brokers, n, int(rf), 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	tp := &Topic{Name: "t", ID: 1, ReplicationFactor: rf, Config: map[string]int64{}}
	for _, r := range rs {
		tp.Partitions = append(tp.Partitions, Partition{Replicas: r, Leader: r[0], ISR: slices.Clone(r)})
	}
	return tp
}
