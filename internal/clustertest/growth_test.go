package clustertest

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/fjord-streaming/fjord/engine/group"
	"github.com/fjord-streaming/fjord/engine/partitioner"
	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// TestOffsetsTopicGrows: a cluster that formed with two brokers keeps
// committed offsets on two; when a third broker joins, the controller
// grows __consumer_offsets to three replicas (a user topic keeps its
// replication factor), the new replicas catch up and join the ISR, the
// new broker's own copy holds the commit, and the commit survives kill -9
// of its coordinator.
func TestOffsetsTopicGrows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	c := brokertest.StartCluster(t, 3, brokertest.WithDeferred(3))
	want(t, c.Call(t, 1, http.MethodPost, "/topics", `{"name":"late","partitions":1}`), http.StatusCreated, "create late")
	want(t, c.Call(t, 1, http.MethodPost, "/topics/late/records?acks=all", `{"records":[{"value":1},{"value":2},{"value":3}]}`),
		http.StatusOK, "produce to late")
	want(t, c.Call(t, 2, http.MethodPut, "/groups/latecomers/offsets", `{"offsets":[{"topic":"late","partition":0,"offset":2}]}`),
		http.StatusOK, "commit offset 2")
	if d := sameTopic(t, c, group.OffsetsTopic, nil); d.ReplicationFactor != 2 {
		t.Fatalf("%s has replication factor %d with two brokers, want 2", group.OffsetsTopic, d.ReplicationFactor)
	}

	c.StartDeferred(t, 3)
	d := sameTopic(t, c, group.OffsetsTopic, func(d topicDesc) error {
		if d.ReplicationFactor != 3 {
			return fmt.Errorf("replication factor %d", d.ReplicationFactor)
		}
		for _, p := range d.Partitions {
			if len(p.Replicas) != 3 || len(p.ISR) != 3 {
				return fmt.Errorf("partition %d: replicas %v, ISR %v", p.Partition, p.Replicas, p.ISR)
			}
		}
		return nil
	})
	if rf := describe(t, c, 3, "late").ReplicationFactor; rf != 2 {
		t.Fatalf("user topic late has replication factor %d after the join, want 2", rf)
	}

	p := int(partitioner.ForKey([]byte("latecomers"), int32(len(d.Partitions))))
	leader := partOf(d, p).Leader
	brokertest.WaitFor(t, settleTimeout, "broker 3's copy of the group's partition to reach the leader's HW", func() error {
		lp := partOf(describe(t, c, leader, group.OffsetsTopic), p)
		path := fmt.Sprintf("/topics/%s/partitions/%d/records?offset=latest&replica=local", group.OffsetsTopic, p)
		r, err := try(c, 3, http.MethodGet, path, "")
		if err != nil {
			return err
		}
		pg, err := decodePage(r.Body)
		switch {
		case r.Status != http.StatusOK || err != nil:
			return fmt.Errorf("local read at broker 3: %s", r)
		case lp.HighWatermark == 0:
			return fmt.Errorf("the leader's HW of partition %d is 0: the commit is not there", p)
		case pg.HW != lp.HighWatermark:
			return fmt.Errorf("broker 3's HW %d, the leader's %d", pg.HW, lp.HighWatermark)
		}
		return nil
	})

	coord := coordinatorOf(t, c, 3, "latecomers")
	via := 3
	if coord == 3 {
		via = 1
	}
	c.Kill(t, coord)
	waitCommitted(t, c, via, "latecomers", "late", 2, coord)
}
