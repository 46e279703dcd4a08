package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fjord-streaming/fjord/controller/metadata"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/membership"
	"github.com/fjord-streaming/fjord/storage/storagetest"
)

// fakeMembers is a gossip view the test sets.
type fakeMembers struct {
	mu      sync.Mutex // guards brokers
	brokers map[int32]membership.Broker
}

func (m *fakeMembers) Self() membership.Broker { return m.get(1) }
func (m *fakeMembers) Joined() bool            { return true }

func (m *fakeMembers) get(id int32) membership.Broker {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.brokers[id]
}

func (m *fakeMembers) Brokers() []membership.Broker {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []membership.Broker
	for _, b := range m.brokers {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b membership.Broker) int { return int(a.ID - b.ID) })
	return out
}

func (m *fakeMembers) set(id int32, status string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.brokers[id] = membership.Broker{ID: id, HTTPAddr: fmt.Sprintf("127.0.0.1:%d", id), Status: status, Incarnation: fmt.Sprintf("inc-%d", id)}
}

// noForwarder fails every call: the test's broker is the controller.
type noForwarder struct{}

var errForwarded = errors.New("forwarded")

func (noForwarder) CreateTopic(context.Context, int32, engine.TopicSpec) (uint64, error) {
	return 0, errForwarded
}
func (noForwarder) UpdateTopic(context.Context, int32, string, engine.TopicUpdate) (uint64, error) {
	return 0, errForwarded
}
func (noForwarder) DeleteTopic(context.Context, int32, string) (uint64, error) {
	return 0, errForwarded
}
func (noForwarder) AlterISR(context.Context, int32, engine.AlterISR) (uint64, error) {
	return 0, errForwarded
}
func (noForwarder) ControlledShutdown(context.Context, int32, int32) (uint64, error) {
	return 0, errForwarded
}

// startController runs broker 1 as the controller of a one-voter metadata
// log over an in-memory Pebble, with brokers 2 and 3 registered as
// non-voters (they do not run: the controller only needs their gossip).
func startController(t *testing.T) (*Controller, *fakeMembers, *prometheus.Registry) {
	t.Helper()
	db := storagetest.OpenMem(t)
	eng, err := engine.Open(db, engine.Config{BrokerID: 1})
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMembers{brokers: map[int32]membership.Broker{}}
	for _, id := range []int32{1, 2, 3} {
		m.set(id, membership.StatusAlive)
	}
	reg := prometheus.NewRegistry()
	c, err := New(Config{ID: 1, Advertise: "127.0.0.1:1", DataDir: t.TempDir(), Alone: true, Fast: true, MaxVoters: 1,
		RebalanceInterval: time.Millisecond, Registerer: reg}, db, eng, m, noForwarder{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		eng.Close()
	})
	waitState(t, c, "brokers 1-3 registered", func(st *metadata.State) error {
		if st.ClusterID == "" || len(st.Brokers) != 3 {
			return fmt.Errorf("cluster %q, brokers %v", st.ClusterID, st.BrokerIDs())
		}
		return nil
	})
	return c, m, reg
}

// waitState waits, applied entry by applied entry, until cond holds for the
// controller's metadata, kicking a reconcile pass at every step.
func waitState(t *testing.T, c *Controller, what string, cond func(*metadata.State) error) *metadata.State {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		applied := c.Applied()
		st := c.Metadata()
		err := cond(st)
		if err == nil {
			return st
		}
		c.Kick()
		select {
		case <-applied:
		case <-deadline:
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
}

// waitPass waits for the end of a reconcile pass that began after the
// call, or of the one under way: the pass that committed what the test saw
// has counted it.
func waitPass(t *testing.T, c *Controller) {
	t.Helper()
	passed := c.reconciled()
	c.Kick()
	select {
	case <-passed:
	case <-time.After(20 * time.Second):
		t.Fatal("no reconcile pass")
	}
}

// partitionsOf returns topic's partitions in st.
func partitionsOf(st *metadata.State, topic string) []metadata.Partition {
	if tp, ok := st.Topics[topic]; ok {
		return tp.Partitions
	}
	return nil
}

// TestLeadershipAtTheController plays a story against a real Raft node:
// ISRs grow through AlterISR, a broker fails and its leadership fails over
// while the others' ISRs shrink, it returns and takes its leadership back
// through the preferred-leader rebalance, controlled shutdowns move
// leadership away and keep the brokers out of ISRs, and with nobody in
// sync left the partitions go offline.
func TestLeadershipAtTheController(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Raft node")
	}
	c, members, reg := startController(t)
	s := &story{t: t, c: c, members: members, ctx: context.Background()}
	if _, err := c.CreateTopicLocal(s.ctx, engine.TopicSpec{Name: "orders", Partitions: 3, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int32{1, 2, 3} {
		s.grow(id)
	}
	for i, p := range s.partitions() {
		if len(p.ISR) != 3 {
			t.Fatalf("orders/%d: ISR %v after growing", i, p.ISR)
		}
		if p.Leader == 2 {
			s.led2 = i
		}
	}
	s.failBroker2()
	s.returnBroker2()
	s.shutDownBroker3()
	s.shutDownSelf()

	// Broker 2 fails too: nobody in sync is left, the partitions go
	// offline, and the gauge says so.
	members.set(2, membership.StatusFailed)
	waitState(t, c, "orders offline", func(st *metadata.State) error {
		for i, p := range partitionsOf(st, "orders") {
			if p.Leader != metadata.NoLeader || !slices.Equal(p.ISR, []int32{2}) {
				return fmt.Errorf("orders/%d: %+v", i, p)
			}
		}
		return nil
	})
	if got := gaugeValue(t, reg, "fjord_controller_offline_partitions"); got != 3 {
		t.Errorf("offline partitions gauge %v, want 3", got)
	}
}

// story is the state TestLeadershipAtTheController's steps share.
type story struct {
	t       *testing.T
	c       *Controller
	members *fakeMembers
	ctx     context.Context
	led2    int // the partition broker 2 leads at first
}

func (s *story) partitions() []metadata.Partition { return partitionsOf(s.c.Metadata(), "orders") }

// grow adds broker add to every ISR of orders it is missing from, as the
// leaders' AlterISR would once it caught up; the same request again is
// stale.
func (s *story) grow(add int32) {
	s.t.Helper()
	tp := s.c.Metadata().Topics["orders"]
	for i, p := range tp.Partitions {
		if !p.HasReplica(add) || p.InISR(add) || p.Leader == metadata.NoLeader {
			continue
		}
		req := engine.AlterISR{Topic: "orders", TopicID: tp.ID, Partition: int32(i), Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
			PartitionEpoch: p.PartitionEpoch, ISR: append(slices.Clone(p.ISR), add)}
		if _, err := s.c.AlterISR(s.ctx, req); err != nil {
			s.t.Fatalf("alter ISR %+v: %v", req, err)
		}
		if _, err := s.c.AlterISR(s.ctx, req); !errors.Is(err, engine.ErrStaleEpoch) {
			s.t.Fatalf("alter ISR %+v again: %v, want a stale epoch", req, err)
		}
	}
}

// failBroker2: its partition fails over with the next epoch; the other
// ISRs lose it at the same epoch.
func (s *story) failBroker2() {
	t := s.t
	before := s.partitions()
	s.members.set(2, membership.StatusFailed)
	st := waitState(t, s.c, "failover from broker 2", func(st *metadata.State) error {
		for i, p := range partitionsOf(st, "orders") {
			if p.Leader == 2 || p.InISR(2) {
				return fmt.Errorf("orders/%d: %+v", i, p)
			}
		}
		return nil
	})
	for i, p := range partitionsOf(st, "orders") {
		want := before[i].LeaderEpoch
		if i == s.led2 {
			want++
		}
		if p.LeaderEpoch != want || p.Leader == metadata.NoLeader {
			t.Errorf("orders/%d after the failover: %+v, want leader epoch %d", i, p, want)
		}
	}
	waitPass(t, s.c)
	if got := counterValue(t, s.c.metrics.elections.WithLabelValues("failover")); got != 1 {
		t.Errorf("failover elections %v, want 1", got)
	}
}

// returnBroker2: an ISR change that adds it is accepted again, and the
// rebalance hands its partition back.
func (s *story) returnBroker2() {
	t := s.t
	s.members.set(2, membership.StatusAlive)
	s.grow(2)
	waitState(t, s.c, "broker 2 to lead its partition again", func(st *metadata.State) error {
		if p := partitionsOf(st, "orders")[s.led2]; p.Leader != 2 {
			return fmt.Errorf("orders/%d: %+v", s.led2, p)
		}
		return nil
	})
	waitPass(t, s.c)
	if got := counterValue(t, s.c.metrics.elections.WithLabelValues("preferred")); got != 1 {
		t.Errorf("preferred elections %v, want 1", got)
	}
}

// shutDownBroker3: once the call returns it leads nothing and follows in
// no ISR, and cannot be added back.
func (s *story) shutDownBroker3() {
	t := s.t
	if _, err := s.c.ControlledShutdownLocal(s.ctx, 3); err != nil {
		t.Fatal(err)
	}
	st := s.c.Metadata()
	for i, p := range partitionsOf(st, "orders") {
		if p.Leader == 3 || p.InISR(3) || len(p.ISR) != 2 {
			t.Errorf("orders/%d after broker 3's controlled shutdown: %+v", i, p)
		}
	}
	tp := st.Topics["orders"]
	p := tp.Partitions[0]
	req := engine.AlterISR{Topic: "orders", TopicID: tp.ID, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
		ISR: append(slices.Clone(p.ISR), 3)}
	if _, err := s.c.AlterISR(s.ctx, req); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Errorf("adding broker 3 while it shuts down: %v, want invalid_request", err)
	}
}

// shutDownSelf: this broker's own controlled shutdown (through route, and
// applied here when it returns) leaves broker 2 leading everything alone.
func (s *story) shutDownSelf() {
	t := s.t
	if err := s.c.ControlledShutdown(s.ctx); err != nil {
		t.Fatal(err)
	}
	for i, p := range s.partitions() {
		if p.Leader != 2 || !slices.Equal(p.ISR, []int32{2}) {
			t.Errorf("orders/%d after broker 1's controlled shutdown: %+v, want led by 2 alone", i, p)
		}
	}
	if got := counterValue(t, s.c.metrics.elections.WithLabelValues("shutdown")); got < 2 {
		t.Errorf("shutdown elections %v, want at least 2", got)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
