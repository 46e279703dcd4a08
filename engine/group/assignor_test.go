package group

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
)

func subs(spec map[string][]string) []MemberSubscription {
	var out []MemberSubscription
	for id, topics := range spec {
		out = append(out, MemberSubscription{ID: id, Topics: topics})
	}
	return sortedMembers(out)
}

// render prints an assignment as "m1=a:0,1 b:0; m2=-".
func render(a map[string][]TopicPartition) string {
	ids := make([]string, 0, len(a))
	for id := range a {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += "; "
		}
		s += id + "=" + tps(a[id])
	}
	return s
}

func TestRangeAssignorKafkaExamples(t *testing.T) {
	for _, tc := range []struct {
		members    map[string][]string
		partitions map[string]int32
		want       string
	}{
		// Kafka's RangeAssignor javadoc: C0, C1 on t0, t1 with 3 partitions each.
		{map[string][]string{"C0": {"t0", "t1"}, "C1": {"t0", "t1"}},
			map[string]int32{"t0": 3, "t1": 3},
			"C0=t0:0,1 t1:0,1; C1=t0:2 t1:2"},
		{map[string][]string{"c1": {"t"}, "c2": {"t"}, "c3": {"t"}},
			map[string]int32{"t": 10},
			"c1=t:0,1,2,3; c2=t:4,5,6; c3=t:7,8,9"},
		{map[string][]string{"a": {"x"}, "b": {"x", "y"}},
			map[string]int32{"x": 1, "y": 2, "z": 5},
			"a=x:0; b=y:0,1"},
		{map[string][]string{"a": {"x"}, "b": {"x"}, "c": {"x"}},
			map[string]int32{"x": 2},
			"a=x:0; b=x:1; c=-"},
	} {
		if got := render(RangeAssignor{}.Assign(subs(tc.members), tc.partitions, nil)); got != tc.want {
			t.Errorf("range %v %v:\n got %s\nwant %s", tc.members, tc.partitions, got, tc.want)
		}
	}
}

func TestRoundRobinAssignorKafkaExamples(t *testing.T) {
	for _, tc := range []struct {
		members    map[string][]string
		partitions map[string]int32
		want       string
	}{
		// Kafka's RoundRobinAssignor javadoc, identical subscriptions.
		{map[string][]string{"C0": {"t0", "t1"}, "C1": {"t0", "t1"}},
			map[string]int32{"t0": 3, "t1": 3},
			"C0=t0:0,2 t1:1; C1=t0:1 t1:0,2"},
		// Javadoc, different subscriptions: C0 [t0], C1 [t0, t1], C2 [t0, t1, t2].
		{map[string][]string{"C0": {"t0"}, "C1": {"t0", "t1"}, "C2": {"t0", "t1", "t2"}},
			map[string]int32{"t0": 1, "t1": 2, "t2": 3},
			"C0=t0:0; C1=t1:0; C2=t1:1 t2:0,1,2"},
	} {
		if got := render(RoundRobinAssignor{}.Assign(subs(tc.members), tc.partitions, nil)); got != tc.want {
			t.Errorf("roundrobin %v %v:\n got %s\nwant %s", tc.members, tc.partitions, got, tc.want)
		}
	}
}

func TestNewAssignor(t *testing.T) {
	for name, want := range map[string]string{"": "range", "range": "range", "roundrobin": "roundrobin", "sticky": "sticky"} {
		a, err := NewAssignor(name)
		if err != nil || a.Name() != want {
			t.Errorf("NewAssignor(%q) = %v, %v", name, a, err)
		}
	}
	if _, err := NewAssignor("Range"); err == nil {
		t.Error("NewAssignor(Range) accepted")
	}
}

// randomInput draws members (with identical subscriptions when same is
// true), topics and a previous assignment that may be stale.
func randomInput(rng *rand.Rand, same bool) ([]MemberSubscription, map[string]int32, map[string][]TopicPartition) {
	topics := []string{"a", "b", "c"}
	partitions := map[string]int32{}
	for _, t := range topics {
		partitions[t] = int32(rng.IntN(7))
	}
	var members []MemberSubscription
	all := topics[:1+rng.IntN(3)]
	for i := range 1 + rng.IntN(6) {
		m := MemberSubscription{ID: fmt.Sprintf("m%d", i), Topics: all}
		if !same {
			m.Topics = nil
			for _, t := range topics {
				if rng.IntN(2) == 0 {
					m.Topics = append(m.Topics, t)
				}
			}
		}
		members = append(members, m)
	}
	prev := map[string][]TopicPartition{}
	for i := range 1 + rng.IntN(7) { // some ids are gone, some partitions too
		id := fmt.Sprintf("m%d", i)
		for range rng.IntN(6) {
			tp := TopicPartition{topics[rng.IntN(3)], int32(rng.IntN(8))}
			prev[id] = append(prev[id], tp)
		}
	}
	return members, partitions, prev
}

// TestAssignorConformance checks every assignor against the Assignor
// contract on random inputs.
func TestAssignorConformance(t *testing.T) {
	for _, a := range []Assignor{RangeAssignor{}, RoundRobinAssignor{}, StickyAssignor{}} {
		t.Run(a.Name(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 2000 {
				members, partitions, prev := randomInput(rng, i%2 == 0)
				got := a.Assign(members, partitions, prev)
				checkAssignment(t, members, partitions, got)
				shuffled := slices.Clone(members)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				if again := a.Assign(shuffled, partitions, prev); !reflect.DeepEqual(got, again) {
					t.Fatalf("not deterministic: %s vs %s", render(got), render(again))
				}
			}
		})
	}
}

// checkAssignment: an entry per member, sorted lists, every partition of a
// subscribed topic exactly once, to a subscriber.
func checkAssignment(t *testing.T, members []MemberSubscription, partitions map[string]int32,
	got map[string][]TopicPartition) {
	t.Helper()
	if len(got) != len(members) {
		t.Fatalf("%d entries for %d members: %s", len(got), len(members), render(got))
	}
	owner := map[TopicPartition]string{}
	for _, m := range members {
		tps, ok := got[m.ID]
		if !ok || !slices.IsSortedFunc(tps, compareTP) {
			t.Fatalf("member %s: missing or unsorted %v", m.ID, tps)
		}
		for _, tp := range tps {
			if !slices.Contains(m.Topics, tp.Topic) || tp.Partition >= partitions[tp.Topic] {
				t.Fatalf("member %s got %s it cannot have", m.ID, tp)
			}
			if o, dup := owner[tp]; dup {
				t.Fatalf("%s given to %s and %s", tp, o, m.ID)
			}
			owner[tp] = m.ID
		}
	}
	for _, tp := range allPartitions(members, partitions) {
		if _, ok := owner[tp]; !ok {
			t.Fatalf("%s unassigned: %s", tp, render(got))
		}
	}
}
