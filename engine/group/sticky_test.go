package group

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestStickyBalance: members with the same subscriptions end within one
// partition of each other.
func TestStickyBalance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		members, partitions, prev := randomInput(rng, rng.IntN(2) == 0)
		got := StickyAssignor{}.Assign(members, partitions, prev)
		bySubs := map[string][]int{}
		for _, m := range members {
			key := strings.Join(m.Topics, ",")
			bySubs[key] = append(bySubs[key], len(got[m.ID]))
		}
		for key, counts := range bySubs {
			if slices.Max(counts)-slices.Min(counts) > 1 {
				t.Fatalf("subscription %q unbalanced %v: %s", key, counts, render(got))
			}
		}
	}
}

// TestStickyMinimalMoves: with identical subscriptions, the assignor keeps
// the most previous assignments any balanced assignment could keep: the
// members with the most valid previous partitions get the larger quotas.
func TestStickyMinimalMoves(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		members, partitions, prev := randomInput(rng, true)
		got := StickyAssignor{}.Assign(members, partitions, prev)
		valid := validPrevious(members, partitions, prev)
		total := len(allPartitions(members, partitions))
		counts := make([]int, 0, len(members))
		for _, m := range members {
			counts = append(counts, len(valid[m.ID]))
		}
		sort.Sort(sort.Reverse(sort.IntSlice(counts)))
		best := 0
		for i, c := range counts {
			quota := total / len(members)
			if i < total%len(members) {
				quota++
			}
			best += min(c, quota)
		}
		kept := 0
		for _, m := range members {
			for _, tp := range got[m.ID] {
				if valid[m.ID][tp] {
					kept++
				}
			}
		}
		if kept != best {
			t.Fatalf("kept %d previous partitions, could keep %d\nprev %v\ngot %s", kept, best, prev, render(got))
		}
	}
}

// validPrevious mirrors the assignor's rule for which previous assignments
// count: existing, subscribed, first claimant (members in id order) wins.
func validPrevious(members []MemberSubscription, partitions map[string]int32,
	prev map[string][]TopicPartition) map[string]map[TopicPartition]bool {
	taken := map[TopicPartition]bool{}
	out := map[string]map[TopicPartition]bool{}
	for _, m := range members {
		out[m.ID] = map[TopicPartition]bool{}
		tps := slices.Clone(prev[m.ID])
		sortTPs(tps)
		for _, tp := range tps {
			if tp.Partition < partitions[tp.Topic] && slices.Contains(m.Topics, tp.Topic) && !taken[tp] {
				taken[tp], out[m.ID][tp] = true, true
			}
		}
	}
	return out
}

// TestStickyKeepsBalancedAssignment: a valid, balanced previous assignment
// comes back unchanged.
func TestStickyKeepsBalancedAssignment(t *testing.T) {
	members := subs(map[string][]string{"a": {"t"}, "b": {"t"}, "c": {"t"}})
	prev := map[string][]TopicPartition{
		"a": {{"t", 5}, {"t", 0}}, "b": {{"t", 3}, {"t", 1}}, "c": {{"t", 2}, {"t", 4}},
	}
	got := StickyAssignor{}.Assign(members, map[string]int32{"t": 6}, prev)
	if r := render(got); r != "a=t:0,5; b=t:1,3; c=t:2,4" {
		t.Fatalf("got %s", r)
	}
}
