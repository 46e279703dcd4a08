package engine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fjord-streaming/fjord/storage"
	"github.com/fjord-streaming/fjord/storage/storagetest"
)

// openTestEngine opens a one-broker engine (id 1) on real Pebble over an
// in-memory file system, with a topic "t" of partitions partitions.
func openTestEngine(t *testing.T, partitions int32) *Engine {
	t.Helper()
	e, err := Open(storagetest.OpenMem(t), Config{BrokerID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	if _, err := e.CreateTopic(TopicSpec{Name: "t", Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
	return e
}

// appendN appends n records to p and fails the test on error.
func appendN(t *testing.T, p *Partition, n int) {
	t.Helper()
	recs := make([]storage.Record, n)
	for i := range recs {
		recs[i] = storage.Record{Timestamp: 1, ValueFormat: storage.FormatJSON, Value: []byte("1")}
	}
	if _, err := p.Append(recs); err != nil {
		t.Fatal(err)
	}
}

// place overwrites p's placement and the leader's view of its followers,
// as replication would have left them.
func place(p *Partition, pl Placement, since time.Time, followers map[int32]*followerState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.place, p.leaderSince, p.followers = pl, since, followers
}

func TestReplicasOfALeaderAlone(t *testing.T) {
	e := openTestEngine(t, 1)
	p, err := e.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, p, 3)
	want := []ReplicaState{{Broker: 1, InSync: true, Leader: true, LogEnd: 3}}
	if got := p.Replicas(); !slices.Equal(got, want) {
		t.Fatalf("Replicas() = %+v, want %+v", got, want)
	}
}

// t0 is when broker 1 became leader in the lag tests; they look at t0+10s.
var t0 = time.UnixMilli(1767225600000)

func TestReplicaLag(t *testing.T) {
	e := openTestEngine(t, 1)
	p, _ := e.Partition("t", 0)
	appendN(t, p, 10)
	now := t0.Add(10 * time.Second)
	followers := map[int32]*followerState{
		// 2 fetched at the log end just now.
		2: {leo: 10, lastCaughtUp: now, lastFetch: now, fetchedBefore: true},
		// 3 is 4 records behind and was last caught up 3 s ago.
		3: {leo: 6, lastCaughtUp: now.Add(-3 * time.Second), lastFetch: now.Add(-time.Second), fetchedBefore: true},
		// 5 never caught up since broker 1 took the lead: behind since then.
		5: {leo: 0, lastFetch: now.Add(-2 * time.Second), fetchedBefore: true},
		// 6 caught up before broker 1 took the lead: that does not count.
		6: {leo: 9, lastCaughtUp: t0.Add(-time.Hour), lastFetch: now, fetchedBefore: true},
		// 4 has not fetched at all.
	}
	place(p, Placement{Replicas: []int32{2, 1, 3, 4, 5, 6}, Leader: 1, ISR: []int32{1, 2, 3}}, t0, followers)
	nowMs := now.UnixMilli()
	want := []ReplicaState{
		{Broker: 2, InSync: true, LogEnd: 10, LastFetchMs: nowMs},
		{Broker: 1, InSync: true, Leader: true, LogEnd: 10},
		{Broker: 3, InSync: true, LogEnd: 6, LagRecords: 4, LagMs: 3000, LastFetchMs: nowMs - 1000},
		{Broker: 4, LogEnd: -1, LagRecords: -1, LagMs: 10000},
		{Broker: 5, LogEnd: 0, LagRecords: 10, LagMs: 10000, LastFetchMs: nowMs - 2000},
		{Broker: 6, LogEnd: 9, LagRecords: 1, LagMs: 10000, LastFetchMs: nowMs},
	}
	got := p.replicaView(now).states
	if len(got) != len(want) {
		t.Fatalf("%d replica states, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("replica %d: got %+v, want %+v", want[i].Broker, got[i], want[i])
		}
	}
}

func TestReplicasSeenFromAFollower(t *testing.T) {
	e := openTestEngine(t, 1)
	p, _ := e.Partition("t", 0)
	appendN(t, p, 4)
	// Broker 2 took over; broker 1 keeps its log, which ends at 4.
	place(p, Placement{Replicas: []int32{1, 2, 3}, Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 1}}, time.Time{}, nil)
	want := []ReplicaState{
		{Broker: 1, InSync: true, LogEnd: 4, LagRecords: -1, LagMs: -1},
		{Broker: 2, InSync: true, Leader: true, LogEnd: -1, LagRecords: -1, LagMs: -1},
		{Broker: 3, LogEnd: -1, LagRecords: -1, LagMs: -1},
	}
	if got := p.Replicas(); !slices.Equal(got, want) {
		t.Fatalf("Replicas() = %+v\nwant %+v", got, want)
	}
}

// collectorAt is the partition collector at a fixed time.
type collectorAt struct {
	c   *partitionCollector
	now time.Time
}

func (c collectorAt) Describe(ch chan<- *prometheus.Desc) { c.c.Describe(ch) }
func (c collectorAt) Collect(ch chan<- prometheus.Metric) { c.c.collect(ch, c.now) }

func TestReplicationMetrics(t *testing.T) {
	e := openTestEngine(t, 4)
	parts, now := make([]*Partition, 4), t0.Add(10*time.Second)
	for i := range parts {
		parts[i], _ = e.Partition("t", int32(i))
		appendN(t, parts[i], 5+i)
	}
	// 0: led here, follower 2 in sync, 3 out of the ISR and 2 records behind.
	place(parts[0], Placement{Replicas: []int32{1, 2, 3}, Leader: 1, ISR: []int32{1, 2}}, t0, map[int32]*followerState{
		2: {leo: 5, lastCaughtUp: now, lastFetch: now, fetchedBefore: true},
		3: {leo: 3, lastCaughtUp: now.Add(-1500 * time.Millisecond), lastFetch: now, fetchedBefore: true},
	})
	// 1: led here, fully replicated; follower 3 not heard from yet.
	place(parts[1], Placement{Replicas: []int32{1, 3}, Leader: 1, ISR: []int32{1, 3}}, now.Add(-250*time.Millisecond),
		map[int32]*followerState{})
	// 2: led by broker 2, this broker follows: offsets only.
	place(parts[2], Placement{Replicas: []int32{2, 1}, Leader: 2, ISR: []int32{2}}, time.Time{}, nil)
	// 3: this broker holds no replica: nothing.
	place(parts[3], Placement{Replicas: []int32{2, 3}, Leader: 2, ISR: []int32{2, 3}}, time.Time{}, nil)
	// The HW is what Append left: each partition's own log end.

	want := `
# HELP fjord_partition_high_watermark High watermark of this broker's replica.
# TYPE fjord_partition_high_watermark gauge
fjord_partition_high_watermark{partition="0",topic="t"} 5
fjord_partition_high_watermark{partition="1",topic="t"} 6
fjord_partition_high_watermark{partition="2",topic="t"} 7
# HELP fjord_partition_isr_size In-sync replicas, the leader included (reported by the partition's leader).
# TYPE fjord_partition_isr_size gauge
fjord_partition_isr_size{partition="0",topic="t"} 2
fjord_partition_isr_size{partition="1",topic="t"} 2
# HELP fjord_partition_log_end_offset Log end offset of this broker's replica.
# TYPE fjord_partition_log_end_offset gauge
fjord_partition_log_end_offset{partition="0",topic="t"} 5
fjord_partition_log_end_offset{partition="1",topic="t"} 6
fjord_partition_log_end_offset{partition="2",topic="t"} 7
# HELP fjord_replica_lag_records Records of the leader's log a follower lacks, as the leader sees it from the follower's fetches (absent for a follower not heard from since this broker took the lead).
# TYPE fjord_replica_lag_records gauge
fjord_replica_lag_records{partition="0",replica="2",topic="t"} 0
fjord_replica_lag_records{partition="0",replica="3",topic="t"} 2
# HELP fjord_replica_lag_seconds Time since a follower was last caught up with the leader's log end (0 while caught up), as the leader sees it; replica.lag.time.max.ms is compared with it.
# TYPE fjord_replica_lag_seconds gauge
fjord_replica_lag_seconds{partition="0",replica="2",topic="t"} 0
fjord_replica_lag_seconds{partition="0",replica="3",topic="t"} 1.5
fjord_replica_lag_seconds{partition="1",replica="3",topic="t"} 0.25
# HELP fjord_under_replicated_partitions Partitions this broker leads whose ISR is smaller than their replica list.
# TYPE fjord_under_replicated_partitions gauge
fjord_under_replicated_partitions 1
`
	names := []string{"fjord_partition_high_watermark", "fjord_partition_log_end_offset", "fjord_partition_isr_size",
		"fjord_replica_lag_records", "fjord_replica_lag_seconds", "fjord_under_replicated_partitions"}
	if err := testutil.CollectAndCompare(collectorAt{&partitionCollector{e}, now}, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// The registered collector lints clean and reports the same families.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&partitionCollector{e})
	if n, err := testutil.GatherAndCount(reg, "fjord_under_replicated_partitions"); err != nil || n != 1 {
		t.Fatalf("fjord_under_replicated_partitions: %d series, %v", n, err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}
