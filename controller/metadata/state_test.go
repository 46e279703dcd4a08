package metadata

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sample is a state with a little of everything, built through Apply.
func sample(t testing.TB) *State {
	t.Helper()
	s := New()
	cmds := []Command{
		RegisterBroker{ID: 1, HTTPAddr: "b1:8080", Incarnation: "one"},
		RegisterBroker{ID: 2, HTTPAddr: "b2:8080", Incarnation: "two"},
		RegisterBroker{ID: 3, HTTPAddr: "b3:8080", Incarnation: "three"},
		SetClusterID{ClusterID: "prod"},
		CreateTopic{Topic: Topic{Name: "orders", ID: 81, ReplicationFactor: 2, Config: map[string]int64{"retention.ms": 1000}, CreatedMs: 5,
			Partitions: []Partition{
				{Replicas: []int32{1, 2}, Leader: 1, ISR: []int32{1, 2}},
				{Replicas: []int32{2, 3}, Leader: 2, ISR: []int32{2}},
			}}},
		CreateTopic{Topic: Topic{Name: "__offsets", ID: 2, Internal: true, ReplicationFactor: 1,
			Partitions: []Partition{{Replicas: []int32{3}, Leader: 3, ISR: []int32{3}}}}},
		ChangePartition{Topic: "orders", TopicID: 81, Partition: 1, Leader: NoLeader, ISR: []int32{2}, LeaderEpoch: 1},
	}
	for i, c := range cmds {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(uint64(i+1), b); err != nil {
			t.Fatalf("%s: %v", c.Op(), err)
		}
	}
	return s
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	cmds := []Command{
		SetClusterID{ClusterID: "c"},
		RegisterBroker{ID: 3, HTTPAddr: "h:1", Incarnation: "i"},
		UnregisterBroker{ID: 3},
		CreateTopic{Topic: Topic{Name: "t", ID: 1 << 63, ReplicationFactor: 1, Config: map[string]int64{"a": -1},
			Partitions: []Partition{{Replicas: []int32{1}, Leader: 1, LeaderEpoch: 2, ISR: []int32{1}, PartitionEpoch: 3}}}},
		UpdateTopic{Name: "t", ID: 9, Config: nil, AddPartitions: []Partition{}},
		UpdateTopic{Name: "t", ID: 9, Config: map[string]int64{}, AddPartitions: []Partition{}},
		DeleteTopic{Name: "t", ID: 9},
		ChangePartition{Topic: "t", TopicID: 9, Partition: 2, Leader: NoLeader, ISR: []int32{}, LeaderEpoch: 4, ExpectPartitionEpoch: 5},
		GrowReplication{Name: "t", ID: 9, ReplicationFactor: 3, Replicas: [][]int32{{1, 2, 3}, {2, 3, 1}}},
	}
	for _, c := range cmds {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip of %s: got %#v, want %#v", b, got, c)
		}
	}
	if _, err := Encode(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode(nil) = %v", err)
	}
}

// TestCloneIndependent changes every part of a clone and checks that the
// original did not move, and the other way round.
func TestCloneIndependent(t *testing.T) {
	s := sample(t)
	orig, _ := s.MarshalBinary()
	c := s.Clone()
	if !reflect.DeepEqual(c, s) {
		t.Fatal("clone differs")
	}
	c.ClusterID, c.Version = "other", 99
	c.Brokers[1].HTTPAddr = "moved"
	c.Brokers[9] = &Broker{ID: 9}
	tp := c.Topics["orders"]
	tp.Config["retention.ms"] = 1
	tp.Partitions[0].Replicas[0] = 3
	tp.Partitions[0].ISR[1] = 3
	tp.Partitions[0].Leader = 3
	tp.Partitions = append(tp.Partitions, Partition{})
	delete(c.Topics, "__offsets")
	if now, _ := s.MarshalBinary(); !bytes.Equal(now, orig) {
		t.Fatalf("changing the clone changed the original:\n%s\n%s", orig, now)
	}

	c = s.Clone()
	frozen, _ := c.MarshalBinary()
	if err := s.ApplyCommand(s.Version+1, RegisterBroker{ID: 2, HTTPAddr: "b2:8080", Incarnation: "wiped"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyCommand(s.Version+1, UpdateTopic{Name: "orders", ID: 81, Config: map[string]int64{"x": 1},
		AddPartitions: []Partition{{Replicas: []int32{3, 1}, Leader: 3, ISR: []int32{3}}}}); err != nil {
		t.Fatal(err)
	}
	if now, _ := c.MarshalBinary(); !bytes.Equal(now, frozen) {
		t.Fatalf("applying to the original changed the clone:\n%s\n%s", frozen, now)
	}
}

// TestApplyCommandCopies checks that the state keeps none of a command's
// slices or maps.
func TestApplyCommandCopies(t *testing.T) {
	s := sample(t)
	replicas, isr, cfg := []int32{1, 3}, []int32{1, 3}, map[string]int64{"k": 1}
	if err := s.ApplyCommand(s.Version+1, CreateTopic{Topic: Topic{Name: "n", ID: 5, ReplicationFactor: 2, Config: cfg,
		Partitions: []Partition{{Replicas: replicas, Leader: 1, ISR: isr}}}}); err != nil {
		t.Fatal(err)
	}
	change := []int32{1}
	if err := s.ApplyCommand(s.Version+1, ChangePartition{Topic: "orders", TopicID: 81, Leader: 1, ISR: change}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.MarshalBinary()
	replicas[0], isr[0], cfg["k"], change[0] = 9, 9, 9, 9
	if after, _ := s.MarshalBinary(); !bytes.Equal(before, after) {
		t.Fatal("the state aliases a command's slices or maps")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := sample(t)
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, s) {
		t.Fatalf("restored state differs")
	}
	empty, _ := New().MarshalBinary()
	if r, err := Restore(empty); err != nil || !reflect.DeepEqual(r, New()) {
		t.Fatalf("empty state: %v", err)
	}
}

func TestRestoreRefuses(t *testing.T) {
	good, _ := sample(t).MarshalBinary()
	g := string(good)
	for _, c := range []struct{ name, snap string }{
		{"not json", "snapshot"},
		{"trailing data", g + "{}"},
		{"version 2", strings.Replace(g, `{"v":1`, `{"v":2`, 1)},
		{"unknown member", strings.Replace(g, `"cluster_id"`, `"rack":"r","cluster_id"`, 1)},
		{"missing member", strings.Replace(g, `"cluster_id":"prod",`, ``, 1)},
		{"null topic", strings.Replace(g, `"topics":[`, `"topics":[null,`, 1)},
		{"duplicate broker", strings.Replace(g, `"brokers":[`, `"brokers":[{"id":1,"http_addr":"x","incarnation":"y","registered":1},`, 1)},
		{"leader outside ISR", strings.Replace(g, `"leader":1,"leader_epoch":0,"isr":[1,2]`, `"leader":1,"leader_epoch":0,"isr":[2]`, 1)},
		{"unregistered replica", strings.Replace(g, `"replicas":[3]`, `"replicas":[4]`, 1)},
		{"registered after version", strings.Replace(g, `"version":7`, `"version":2`, 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.snap == g {
				t.Fatal("test did not change the snapshot")
			}
			if _, err := Restore([]byte(c.snap)); !errors.Is(err, ErrSnapshot) {
				t.Fatalf("Restore = %v, want ErrSnapshot", err)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	s := sample(t)
	if tp, ok := s.TopicByID(81); !ok || tp.Name != "orders" {
		t.Fatalf("TopicByID(81) = %v, %t", tp, ok)
	}
	if _, ok := s.TopicByID(0); ok {
		t.Fatal("TopicByID(0) found a topic")
	}
	if p, ok := s.Partition("orders", 1); !ok || p.Leader != NoLeader || !p.InISR(2) || !p.HasReplica(3) || p.InISR(3) {
		t.Fatalf("Partition(orders, 1) = %+v, %t", p, ok)
	}
	if _, ok := s.Partition("orders", 2); ok {
		t.Fatal("Partition(orders, 2) exists")
	}
	if got := s.BrokerIDs(); !reflect.DeepEqual(got, []int32{1, 2, 3}) {
		t.Fatalf("BrokerIDs = %v", got)
	}
	if got := s.TopicNames(); !reflect.DeepEqual(got, []string{"__offsets", "orders"}) {
		t.Fatalf("TopicNames = %v", got)
	}
}

// TestEpochExhausted: an epoch that cannot grow refuses the change that
// would bump it, as a whole.
func TestEpochExhausted(t *testing.T) {
	s := sample(t)
	const top = 1<<31 - 1
	if err := s.ApplyCommand(s.Version+1, CreateTopic{Topic: Topic{Name: "old", ID: 9, ReplicationFactor: 2, Partitions: []Partition{
		{Replicas: []int32{1, 3}, Leader: 1, ISR: []int32{1, 3}, PartitionEpoch: top},
		{Replicas: []int32{3, 1}, Leader: 3, ISR: []int32{3, 1}, LeaderEpoch: top},
	}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyCommand(s.Version+1, ChangePartition{Topic: "old", TopicID: 9, Leader: 1, ISR: []int32{1}, ExpectPartitionEpoch: top}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("change at the last partition epoch: %v", err)
	}
	before := s.Clone()
	err := s.ApplyCommand(s.Version+1, RegisterBroker{ID: 3, HTTPAddr: "b3:8080", Incarnation: "wiped"})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("wiped leader at the last leader epoch: %v", err)
	}
	checkEntry(t, before, s, s.Version, err)
}
