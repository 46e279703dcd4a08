package metadata

import (
	"math"
	"reflect"
	"testing"
)

// set is a set of broker ids.
func set(ids ...int32) map[int32]bool {
	m := map[int32]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// part is a partition at partition epoch 5.
func part(replicas []int32, leader, epoch int32, isr []int32) Partition {
	return Partition{Replicas: replicas, Leader: leader, LeaderEpoch: epoch, ISR: isr, PartitionEpoch: 5}
}

func TestElect(t *testing.T) {
	r := []int32{1, 2, 3}
	for _, tc := range []struct {
		name     string
		p        Partition
		live     map[int32]bool
		shutting map[int32]bool
		unclean  bool
		want     Partition
		reason   Reason
		changed  bool
	}{
		{name: "live leader, whole ISR live: nothing", p: part(r, 1, 3, []int32{1, 2, 3}), live: set(1, 2, 3),
			want: part(r, 1, 3, []int32{1, 2, 3})},
		{name: "live leader, a follower died: it leaves the ISR, same epoch", p: part(r, 1, 3, []int32{1, 2, 3}), live: set(1, 2),
			want: part(r, 1, 3, []int32{1, 2}), reason: ReasonShrink, changed: true},
		{name: "live leader, every follower died: the leader stays alone", p: part(r, 2, 0, []int32{3, 2, 1}), live: set(2),
			want: part(r, 2, 0, []int32{2}), reason: ReasonShrink, changed: true},
		{name: "live leader shutting down keeps leading", p: part(r, 1, 3, []int32{1, 2}), live: set(1, 2), shutting: set(1),
			want: part(r, 1, 3, []int32{1, 2})},
		{name: "a dead follower outside the ISR changes nothing", p: part(r, 1, 3, []int32{1, 2}), live: set(1, 2),
			want: part(r, 1, 3, []int32{1, 2})},
		{name: "leader died: first live ISR member in replica order", p: part(r, 1, 3, []int32{3, 1, 2}), live: set(2, 3),
			want: part(r, 2, 4, []int32{3, 2}), reason: ReasonFailover, changed: true},
		{name: "leader died: replica order, not ISR order", p: part([]int32{3, 1, 2}, 3, 0, []int32{2, 1, 3}), live: set(1, 2),
			want: part([]int32{3, 1, 2}, 1, 1, []int32{2, 1}), reason: ReasonFailover, changed: true},
		{name: "leader died: a live replica outside the ISR is not elected", p: part(r, 1, 3, []int32{1, 3}), live: set(2, 3),
			want: part(r, 3, 4, []int32{3}), reason: ReasonFailover, changed: true},
		{name: "leader died: a shutting-down ISR member is skipped, and stays in the ISR", p: part(r, 1, 3, []int32{1, 2, 3}),
			live: set(2, 3), shutting: set(2), want: part(r, 3, 4, []int32{2, 3}), reason: ReasonFailover, changed: true},
		{name: "leader died, no live ISR member: offline, ISR kept", p: part(r, 1, 3, []int32{1, 2}), live: set(3),
			want: part(r, NoLeader, 4, []int32{1, 2}), reason: ReasonOffline, changed: true},
		{name: "leader died, only a shutting-down ISR member: offline", p: part(r, 1, 3, []int32{1, 2}), live: set(2, 3), shutting: set(2),
			want: part(r, NoLeader, 4, []int32{1, 2}), reason: ReasonOffline, changed: true},
		{name: "offline stays offline while nobody in the ISR returns", p: part(r, NoLeader, 4, []int32{1, 2}), live: set(3),
			want: part(r, NoLeader, 4, []int32{1, 2})},
		{name: "offline: an ISR member returns and leads", p: part(r, NoLeader, 4, []int32{1, 2}), live: set(2, 3),
			want: part(r, 2, 5, []int32{2}), reason: ReasonFailover, changed: true},
		{name: "unclean: no live ISR member, the first live replica leads alone", p: part(r, 1, 3, []int32{1}), live: set(2, 3), unclean: true,
			want: part(r, 2, 4, []int32{2}), reason: ReasonUnclean, changed: true},
		{name: "unclean allowed but a live ISR member exists: clean election", p: part(r, 1, 3, []int32{1, 3}), live: set(2, 3), unclean: true,
			want: part(r, 3, 4, []int32{3}), reason: ReasonFailover, changed: true},
		{name: "unclean from offline", p: part(r, NoLeader, 4, []int32{1}), live: set(3), unclean: true,
			want: part(r, 3, 5, []int32{3}), reason: ReasonUnclean, changed: true},
		{name: "unclean skips a shutting-down replica", p: part(r, 1, 3, []int32{1}), live: set(2, 3), shutting: set(2), unclean: true,
			want: part(r, 3, 4, []int32{3}), reason: ReasonUnclean, changed: true},
		{name: "unclean with nobody live: offline", p: part(r, 1, 3, []int32{1}), live: set(), unclean: true,
			want: part(r, NoLeader, 4, []int32{1}), reason: ReasonOffline, changed: true},
		{name: "leader epoch exhausted: no change", p: part(r, 1, math.MaxInt32, []int32{1, 2}), live: set(2),
			want: part(r, 1, math.MaxInt32, []int32{1, 2})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.p.Clone()
			got, reason, changed := Elect(tc.p, Liveness{Live: tc.live, ShuttingDown: tc.shutting}, tc.unclean)
			if !reflect.DeepEqual(got, tc.want) || reason != tc.reason || changed != tc.changed {
				t.Errorf("Elect(%+v) = %+v %q %v, want %+v %q %v", tc.p, got, reason, changed, tc.want, tc.reason, tc.changed)
			}
			if !reflect.DeepEqual(tc.p, before) {
				t.Errorf("Elect changed its argument: %+v, was %+v", tc.p, before)
			}
			if changed && got.PartitionEpoch != tc.p.PartitionEpoch {
				t.Errorf("Elect moved the partition epoch: the state machine does that")
			}
		})
	}
}

func TestPreferred(t *testing.T) {
	r := []int32{1, 2, 3}
	for _, tc := range []struct {
		name     string
		p        Partition
		live     map[int32]bool
		shutting map[int32]bool
		want     Partition
		changed  bool
	}{
		{name: "led by the preferred replica: nothing", p: part(r, 1, 2, []int32{1, 2, 3}), live: set(1, 2, 3),
			want: part(r, 1, 2, []int32{1, 2, 3})},
		{name: "preferred live and in sync: it leads again, same ISR", p: part(r, 2, 2, []int32{2, 3, 1}), live: set(1, 2, 3),
			want: part(r, 1, 3, []int32{2, 3, 1}), changed: true},
		{name: "preferred not in the ISR (catching up)", p: part(r, 2, 2, []int32{2, 3}), live: set(1, 2, 3),
			want: part(r, 2, 2, []int32{2, 3})},
		{name: "preferred not live", p: part(r, 2, 2, []int32{2, 1}), live: set(2, 3),
			want: part(r, 2, 2, []int32{2, 1})},
		{name: "preferred shutting down", p: part(r, 2, 2, []int32{2, 1}), live: set(1, 2), shutting: set(1),
			want: part(r, 2, 2, []int32{2, 1})},
		{name: "offline: failover's business", p: part(r, NoLeader, 2, []int32{1}), live: set(1, 2),
			want: part(r, NoLeader, 2, []int32{1})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := Preferred(tc.p, Liveness{Live: tc.live, ShuttingDown: tc.shutting})
			if !reflect.DeepEqual(got, tc.want) || changed != tc.changed {
				t.Errorf("Preferred(%+v) = %+v %v, want %+v %v", tc.p, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	r := []int32{1, 2, 3}
	for _, tc := range []struct {
		name    string
		p       Partition
		id      int32
		live    map[int32]bool
		want    Partition
		changed bool
	}{
		{name: "it leads: the next live ISR member in replica order takes over", p: part(r, 1, 2, []int32{3, 2, 1}), id: 1, live: set(1, 2, 3),
			want: part(r, 2, 3, []int32{3, 2}), changed: true},
		{name: "it leads: a dead ISR member is skipped and dropped", p: part(r, 1, 2, []int32{1, 2, 3}), id: 1, live: set(1, 3),
			want: part(r, 3, 3, []int32{3}), changed: true},
		{name: "it leads alone in the ISR: it keeps leading", p: part(r, 1, 2, []int32{1}), id: 1, live: set(1, 2, 3),
			want: part(r, 1, 2, []int32{1})},
		{name: "it follows in the ISR: it leaves it", p: part(r, 2, 2, []int32{2, 1, 3}), id: 1, live: set(1, 2, 3),
			want: part(r, 2, 2, []int32{2, 3}), changed: true},
		{name: "it follows outside the ISR: nothing", p: part(r, 2, 2, []int32{2, 3}), id: 1, live: set(1, 2, 3),
			want: part(r, 2, 2, []int32{2, 3})},
		{name: "offline with it in the ISR: kept for the return", p: part(r, NoLeader, 2, []int32{1, 2}), id: 1, live: set(1),
			want: part(r, NoLeader, 2, []int32{1, 2})},
		{name: "not a replica: nothing", p: part([]int32{2, 3}, 2, 2, []int32{2, 3}), id: 1, live: set(1, 2, 3),
			want: part([]int32{2, 3}, 2, 2, []int32{2, 3})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Liveness{Live: tc.live, ShuttingDown: set(tc.id)}
			got, changed := Shutdown(tc.p, tc.id, l)
			if !reflect.DeepEqual(got, tc.want) || changed != tc.changed {
				t.Errorf("Shutdown(%+v, %d) = %+v %v, want %+v %v", tc.p, tc.id, got, changed, tc.want, tc.changed)
			}
		})
	}
}

// TestPlansApply checks that every plan over a state is accepted by the
// state machine, in order, and that a plan made again afterwards is empty:
// the decisions are what the machine allows and they converge.
func TestPlansApply(t *testing.T) {
	s := New()
	for i, id := range []int32{1, 2, 3, 4} {
		mustApply(t, s, uint64(i+1), RegisterBroker{ID: id, HTTPAddr: "b", Incarnation: "i"})
	}
	replicas, err := AssignReplicas([]int32{1, 2, 3, 4}, 12, 3, 0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	var ps []Partition
	for _, r := range replicas {
		ps = append(ps, Partition{Replicas: r, Leader: r[0], ISR: append([]int32(nil), r...)})
	}
	mustApply(t, s, 5, CreateTopic{Topic: Topic{Name: "a", ID: 1, ReplicationFactor: 3, Config: map[string]int64{}, Partitions: ps}})
	mustApply(t, s, 6, CreateTopic{Topic: Topic{Name: "b", ID: 2, ReplicationFactor: 1, Config: map[string]int64{"unclean": 1},
		Partitions: []Partition{{Replicas: []int32{2}, Leader: 2, ISR: []int32{2}}}}})
	unclean := func(t *Topic) bool { return t.Config["unclean"] == 1 }
	steps := []struct {
		name string
		plan func() []Decision
	}{
		{"broker 2 shuts down", func() []Decision { return s.PlanShutdown(2, Liveness{Live: set(1, 2, 3, 4), ShuttingDown: set(2)}) }},
		{"brokers 1 and 2 die", func() []Decision { return s.PlanFailover(Liveness{Live: set(3, 4)}, unclean) }},
		{"broker 3 dies too", func() []Decision { return s.PlanFailover(Liveness{Live: set(4)}, unclean) }},
		{"all return", func() []Decision { return s.PlanFailover(Liveness{Live: set(1, 2, 3, 4)}, unclean) }},
		{"preferred rebalance", func() []Decision { return s.PlanPreferred(Liveness{Live: set(1, 2, 3, 4)}) }},
	}
	for _, step := range steps {
		ds := step.plan()
		for _, d := range ds {
			mustApply(t, s, s.Version+1, d.Change)
		}
		if again := step.plan(); len(again) != 0 {
			t.Fatalf("%s: planned again after applying %d decisions: %+v", step.name, len(ds), again)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	if offline, imbalanced := s.LeadershipCounts(); offline != 0 {
		t.Errorf("after everyone returned: %d offline, %d imbalanced", offline, imbalanced)
	}
}

func mustApply(t *testing.T, s *State, index uint64, c Command) {
	t.Helper()
	if err := s.ApplyCommand(index, c); err != nil {
		t.Fatalf("apply %#v at %d: %v", c, index, err)
	}
}
