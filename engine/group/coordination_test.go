package group

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/engine"
)

// self and other are the broker ids of the coordination tests: the engine
// is broker self; other is a broker that exists only in the metadata.
const (
	self  int32 = 1
	other int32 = 2
)

// placeOffsets applies metadata in which leader leads every partition of
// __consumer_offsets, replicated on both brokers with the given ISR, at
// leader epoch epoch; every other topic keeps its placement. Leadership
// hooks run before it returns.
func (e *env) placeOffsets(t *testing.T, leader, epoch int32, isr ...int32) {
	t.Helper()
	var mds []engine.TopicMetadata
	for _, ti := range e.eng.Topics(true) {
		tp, err := e.eng.Topic(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		md := tp.Metadata()
		if md.Name == OffsetsTopic {
			for i := range md.Partitions {
				pl := &md.Partitions[i]
				pl.Replicas, pl.Leader, pl.LeaderEpoch, pl.ISR = []int32{self, other}, leader, epoch, isr
				pl.PartitionEpoch++
			}
		}
		mds = append(mds, md)
	}
	if err := e.eng.ApplyMetadata(uint64(e.eng.MetadataVersion()+1), mds); err != nil {
		t.Fatal(err)
	}
}

func topicID(t *testing.T, e *env, name string) uint64 {
	t.Helper()
	tp, err := e.eng.Topic(name)
	if err != nil {
		t.Fatal(err)
	}
	return tp.ID()
}

// coordination returns partition p's coordination state and the channel
// closed once its current term is loaded.
func (e *env) coordination(p int32) (coordState, <-chan struct{}) {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	return e.m.coord[p].state, e.m.coord[p].ready
}

// waitLoaded waits until the groups of partition p are served.
func (e *env) waitLoaded(t *testing.T, p int32) {
	t.Helper()
	_, ready := e.coordination(p)
	if ready == nil {
		t.Fatalf("partition %d was never elected", p)
	}
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("partition %d of %s not loaded in 10s", p, OffsetsTopic)
	}
}

// groupCall is one Manager call for group "g" that a coordinator serves.
type groupCall struct {
	name string
	call func(e *env, member string) error
}

// groupCalls are the calls checked while this broker does not serve "g".
var groupCalls = []groupCall{
	{"join", func(e *env, _ string) error {
		_, err := e.m.Join(context.Background(), "g", JoinRequest{Topics: []string{"orders"}})
		return err
	}},
	{"heartbeat", func(e *env, id string) error { _, err := e.m.Heartbeat(context.Background(), "g", id); return err }},
	{"fetch", func(e *env, id string) error {
		_, err := e.m.Fetch(context.Background(), "g", id, 10, 1<<20, 0)
		return err
	}},
	{"commit", func(e *env, id string) error { _, err := e.m.Commit(context.Background(), "g", id, nil); return err }},
	{"seek", func(e *env, id string) error {
		return e.m.Seek(context.Background(), "g", id, SeekRequest{Topic: "orders", Offset: engine.OffsetEarliest})
	}},
	{"leave", func(e *env, id string) error { return e.m.Leave(context.Background(), "g", id) }},
	{"describe", func(e *env, _ string) error { _, err := e.m.Describe("g"); return err }},
	{"lag", func(e *env, _ string) error { _, err := e.m.Lag("g"); return err }},
	{"reset", func(e *env, _ string) error {
		_, err := e.m.ResetOffsets(context.Background(), "g", ResetRequest{Topic: "orders", To: engine.OffsetEarliest})
		return err
	}},
	{"delete", func(e *env, _ string) error { return e.m.DeleteGroup(context.Background(), "g") }},
}

// checkRefused expects every group call to fail with want, which the API
// answers with 503 leader_not_available.
func checkRefused(t *testing.T, e *env, member string, want error) {
	t.Helper()
	for _, c := range groupCalls {
		err := c.call(e, member)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", c.name, err, want)
		}
		if !errors.Is(err, engine.ErrNotLeader) && !errors.Is(err, engine.ErrLeaderNotAvailable) {
			t.Errorf("%s: %v is not retriable (leader_not_available)", c.name, err)
		}
	}
	if l := e.m.List(); len(l) != 0 {
		t.Errorf("list while not serving: %+v", l)
	}
}

// TestManagerFollowsOffsetsLeadership moves the leadership of
// __consumer_offsets away and back: leaving drops the groups and refuses
// their requests, coming back reloads the committed offsets, and a report
// of the leadership already loaded changes nothing.
func TestManagerFollowsOffsetsLeadership(t *testing.T) {
	e := newBrokerEnv(t, ManagerConfig{OffsetsPartitions: 1}, self)
	e.createTopic(t, "orders", 1)
	e.produce(t, "orders", 1, 10)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	e.drain(t, "g", a.MemberID)
	e.commit(t, "g", a.MemberID, nil)

	// The first metadata of a one-broker cluster reports the leadership
	// NewManager already loaded: the member stays.
	e.placeOffsets(t, self, 0, self)
	if _, err := e.m.Heartbeat(context.Background(), "g", a.MemberID); err != nil {
		t.Fatalf("heartbeat after the same leadership was reported: %v", err)
	}

	member := a.MemberID
	for i, step := range []struct {
		commit int // records to produce, deliver and commit before leaving
		want   int64
	}{
		{commit: 0, want: 10},
		{commit: 3, want: 13},
		{commit: 1, want: 14},
	} {
		if step.commit > 0 {
			e.produce(t, "orders", 1, step.commit)
			e.drain(t, "g", member)
			e.commit(t, "g", member, nil)
		}
		polled := make(chan error, 1)
		go func() {
			_, err := e.m.Fetch(context.Background(), "g", member, 10, 1<<20, time.Minute)
			polled <- err
		}()

		epoch := int32(2*i + 1)
		e.placeOffsets(t, other, epoch, other)
		if st, _ := e.coordination(0); st != notCoordinating {
			t.Fatalf("step %d: state %d after leadership moved away", i, st)
		}
		if id, err := e.m.Coordinator("g"); err != nil || id != other {
			t.Fatalf("step %d: coordinator %d, %v", i, id, err)
		}
		select {
		case err := <-polled:
			if !errors.Is(err, ErrNotCoordinator) {
				t.Fatalf("step %d: long poll ended with %v, want ErrNotCoordinator", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("step %d: the long poll did not end when leadership moved", i)
		}
		checkRefused(t, e, member, ErrNotCoordinator)

		e.placeOffsets(t, self, epoch+1, self)
		e.waitLoaded(t, 0)
		if got, want := e.committed(t, "g"), map[string]int64{"orders/0": step.want}; !maps.Equal(got, want) {
			t.Fatalf("step %d: offsets after reload %v, want %v", i, got, want)
		}
		if _, err := e.m.Heartbeat(context.Background(), "g", member); !errors.Is(err, ErrMemberNotFound) {
			t.Fatalf("step %d: member of the previous term: %v", i, err)
		}
		m := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
		if recs := e.drain(t, "g", m.MemberID); len(recs) != 0 {
			t.Fatalf("step %d: redelivered %d records below the committed offset", i, len(recs))
		}
		member = m.MemberID
	}
}

// TestManagerLoadWaitsForHighWatermark: a new leader whose HW lags its log
// end answers ErrCoordinatorLoading until the HW reaches the log end it had
// when it was elected, then serves what the whole log says.
func TestManagerLoadWaitsForHighWatermark(t *testing.T) {
	e := newBrokerEnv(t, ManagerConfig{OffsetsPartitions: 1, CommitTimeout: 20 * time.Millisecond}, self)
	e.createTopic(t, "orders", 1)
	e.produce(t, "orders", 1, 10)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	e.drain(t, "g", a.MemberID)
	e.commit(t, "g", a.MemberID, nil)

	// The ISR grows by a follower that never fetches: acks=all cannot
	// complete, and the commit times out after its record was appended.
	e.placeOffsets(t, self, 0, self, other)
	e.produce(t, "orders", 1, 2)
	e.drain(t, "g", a.MemberID)
	if _, err := e.m.Commit(context.Background(), "g", a.MemberID, nil); !errors.Is(err, engine.ErrTimeout) {
		t.Fatalf("commit without the follower: %v, want ErrTimeout", err)
	}
	part, err := e.eng.Partition(OffsetsTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if off := part.LocalOffsets(); off.HighWatermark >= off.LogEnd {
		t.Fatalf("offsets %+v: the timed-out commit should be above the HW", off)
	}

	waiting := make(chan int32, 1)
	e.m.onLoadWait = func(p int32) { waiting <- p }
	e.placeOffsets(t, other, 1, other, self)
	e.placeOffsets(t, self, 2, self, other)
	select {
	case <-waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the load did not wait for the high watermark")
	}
	if st, _ := e.coordination(0); st != loadingGroups {
		t.Fatalf("state %d while the HW is below the log end, want loading", st)
	}
	checkRefused(t, e, a.MemberID, ErrCoordinatorLoading)

	// The follower fetches at the log end: the HW reaches it, the load ends.
	off := part.LocalOffsets()
	resp := e.eng.ServeReplicaFetch(context.Background(), engine.ReplicaFetchRequest{Follower: other,
		Partitions: []engine.ReplicaFetchPartition{{TopicID: topicID(t, e, OffsetsTopic), FetchOffset: off.LogEnd,
			LeaderEpoch: 2, LastFetchedEpoch: 0, HighWatermark: -1}}})
	if a := resp.Partitions[0]; a.Err != engine.ReplicaOK || a.HighWatermark != off.LogEnd {
		t.Fatalf("follower fetch at %d: %+v", off.LogEnd, a)
	}
	e.waitLoaded(t, 0)
	if got, want := e.committed(t, "g"), map[string]int64{"orders/0": 12}; !maps.Equal(got, want) {
		t.Fatalf("offsets after the load %v, want %v", got, want)
	}
}

// TestManagerCloseStopsLoad: Close ends a load that waits for the HW.
func TestManagerCloseStopsLoad(t *testing.T) {
	e := newBrokerEnv(t, ManagerConfig{OffsetsPartitions: 1, CommitTimeout: 20 * time.Millisecond}, self)
	e.createTopic(t, "orders", 1)
	if _, err := e.m.ResetOffsets(context.Background(), "g", ResetRequest{Topic: "orders", To: engine.OffsetEarliest}); err != nil {
		t.Fatal(err)
	}
	e.placeOffsets(t, self, 0, self, other)
	if _, err := e.m.ResetOffsets(context.Background(), "g", ResetRequest{Topic: "orders", To: engine.OffsetLatest}); !errors.Is(err, engine.ErrTimeout) {
		t.Fatalf("reset without the follower: %v, want ErrTimeout", err)
	}
	e.placeOffsets(t, other, 1, other, self)
	e.placeOffsets(t, self, 2, self, other)
	if st, _ := e.coordination(0); st != loadingGroups {
		t.Fatalf("state %d, want loading", st)
	}
	closed := make(chan struct{})
	go func() { e.m.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the load")
	}
}
