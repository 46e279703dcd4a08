package controller

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/controller/metadata"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/membership"
)

// testState is three registered brokers and orders/0 with replicas 1,2,3
// led by 1 at leader epoch 4, partition epoch 9, ISR 1,2.
func testState(t *testing.T) *metadata.State {
	t.Helper()
	st := metadata.New()
	for i, id := range []int32{1, 2, 3} {
		if err := st.ApplyCommand(uint64(i+1), metadata.RegisterBroker{ID: id, HTTPAddr: "b", Incarnation: "inc"}); err != nil {
			t.Fatal(err)
		}
	}
	topic := metadata.Topic{Name: "orders", ID: 81, ReplicationFactor: 3, Config: map[string]int64{},
		Partitions: []metadata.Partition{{Replicas: []int32{1, 2, 3}, Leader: 1, LeaderEpoch: 4, ISR: []int32{1, 2}, PartitionEpoch: 9}}}
	if err := st.ApplyCommand(4, metadata.CreateTopic{Topic: topic}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCheckAlterISR(t *testing.T) {
	st := testState(t)
	ok := engine.AlterISR{Topic: "orders", TopicID: 81, Partition: 0, Leader: 1, LeaderEpoch: 4, PartitionEpoch: 9}
	with := func(f func(*engine.AlterISR)) engine.AlterISR {
		r := ok
		f(&r)
		return r
	}
	all := metadata.Liveness{Live: map[int32]bool{1: true, 2: true, 3: true}}
	for _, tc := range []struct {
		name    string
		req     engine.AlterISR
		live    metadata.Liveness
		wantISR []int32 // the committed ISR when the change is accepted
		same    bool
		err     error
	}{
		{name: "shrink", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1} }), live: all, wantISR: []int32{1}},
		{name: "shrink with the follower dead", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1} }),
			live: metadata.Liveness{Live: map[int32]bool{1: true}}, wantISR: []int32{1}},
		{name: "expand with a live broker", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1, 2, 3} }), live: all, wantISR: []int32{1, 2, 3}},
		{name: "unchanged: nothing to commit", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1, 2} }), live: all, same: true},
		{name: "expand with a broker that is not live", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1, 2, 3} }),
			live: metadata.Liveness{Live: map[int32]bool{1: true, 2: true}}, err: engine.ErrInvalidRequest},
		{name: "expand with a broker shutting down", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1, 2, 3} }),
			live: metadata.Liveness{Live: all.Live, ShuttingDown: map[int32]bool{3: true}}, err: engine.ErrInvalidRequest},
		{name: "a member shutting down may stay", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1, 2} }),
			live: metadata.Liveness{Live: all.Live, ShuttingDown: map[int32]bool{2: true}}, same: true},
		{name: "without the leader", req: with(func(r *engine.AlterISR) { r.ISR = []int32{2} }), live: all, err: engine.ErrInvalidRequest},
		{name: "outside the replicas", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1, 4} }), live: all, err: engine.ErrInvalidRequest},
		{name: "twice", req: with(func(r *engine.AlterISR) { r.ISR = []int32{1, 1} }), live: all, err: engine.ErrInvalidRequest},
		{name: "another leader", req: with(func(r *engine.AlterISR) { r.Leader, r.ISR = 2, []int32{2} }), live: all, err: engine.ErrStaleEpoch},
		{name: "an older leader epoch", req: with(func(r *engine.AlterISR) { r.LeaderEpoch, r.ISR = 3, []int32{1} }), live: all, err: engine.ErrStaleEpoch},
		{name: "an older partition epoch", req: with(func(r *engine.AlterISR) { r.PartitionEpoch, r.ISR = 8, []int32{1} }), live: all, err: engine.ErrStaleEpoch},
		{name: "a partition epoch the controller has not applied", req: with(func(r *engine.AlterISR) { r.PartitionEpoch, r.ISR = 10, []int32{1} }),
			live: all, err: engine.ErrLeaderNotAvailable},
		{name: "a leader epoch the controller has not applied", req: with(func(r *engine.AlterISR) { r.LeaderEpoch, r.ISR = 5, []int32{1} }),
			live: all, err: engine.ErrLeaderNotAvailable},
		{name: "a topic recreated under the name", req: with(func(r *engine.AlterISR) { r.TopicID, r.ISR = 82, []int32{1} }), live: all, err: engine.ErrTopicNotFound},
		{name: "no such partition", req: with(func(r *engine.AlterISR) { r.Partition, r.ISR = 1, []int32{1} }), live: all, err: engine.ErrPartitionNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, same, err := checkAlterISR(st, tc.req, tc.live)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if same != tc.same {
				t.Fatalf("same %v, want %v", same, tc.same)
			}
			if err != nil || same {
				return
			}
			want := metadata.ChangePartition{Topic: "orders", TopicID: 81, Partition: 0, Leader: 1, ISR: tc.wantISR, LeaderEpoch: 4, ExpectPartitionEpoch: 9}
			if !reflect.DeepEqual(cmd, want) {
				t.Fatalf("command %+v, want %+v", cmd, want)
			}
			// The state machine accepts what the check lets through.
			if err := st.Clone().ApplyCommand(st.Version+1, cmd); err != nil {
				t.Fatalf("the state machine refuses %+v: %v", cmd, err)
			}
		})
	}
}

func TestLivenessOf(t *testing.T) {
	st := testState(t)
	members := []membership.Broker{
		{ID: 1, Status: membership.StatusAlive, Incarnation: "inc"},
		{ID: 2, Status: membership.StatusSuspect, Incarnation: "inc"},
		{ID: 3, Status: membership.StatusAlive, Incarnation: "wiped"}, // back with an empty disk, not registered yet
		{ID: 4, Status: membership.StatusAlive, Incarnation: "inc"},   // not registered
		{ID: 5, Status: membership.StatusFailed, Incarnation: "inc"},
	}
	l := livenessOf(st, members, map[int32]bool{2: true, 5: true})
	want := metadata.Liveness{Live: map[int32]bool{1: true, 2: true}, ShuttingDown: map[int32]bool{2: true}}
	if !reflect.DeepEqual(l, want) {
		t.Fatalf("liveness %+v, want %+v", l, want)
	}
}

// TestShutdownMarks: a mark lasts until the broker is seen stopped or
// shutdownMarkTTL has passed.
func TestShutdownMarks(t *testing.T) {
	c := &Controller{shutdowns: map[int32]time.Time{}}
	start := time.Unix(1000, 0)
	c.markShutdown(1, start)
	c.markShutdown(2, start)
	alive := func(ids ...int32) []membership.Broker {
		var out []membership.Broker
		for _, id := range []int32{1, 2, 3} {
			b := membership.Broker{ID: id, Status: membership.StatusLeft}
			for _, a := range ids {
				if a == id {
					b.Status = membership.StatusAlive
				}
			}
			out = append(out, b)
		}
		return out
	}
	for _, step := range []struct {
		name    string
		members []membership.Broker
		at      time.Duration
		want    map[int32]bool
	}{
		{"both still up", alive(1, 2, 3), time.Second, map[int32]bool{1: true, 2: true}},
		{"1 left: its mark ends", alive(2, 3), 2 * time.Second, map[int32]bool{2: true}},
		{"1 back: a fresh start", alive(1, 2, 3), 3 * time.Second, map[int32]bool{2: true}},
		{"2 never seen stopping: the mark expires", alive(1, 2, 3), shutdownMarkTTL + time.Second, map[int32]bool{}},
	} {
		c.forgetStopped(step.members)
		if got := c.shuttingDown(start.Add(step.at)); !reflect.DeepEqual(got, step.want) {
			t.Fatalf("%s: shutting down %v, want %v", step.name, got, step.want)
		}
	}
}
