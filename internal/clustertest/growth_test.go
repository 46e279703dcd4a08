package clustertest

import (
	"fmt"
	"net/http"
	"slices"
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

// testGrowReplication: PATCH replication_factor 1 -> 3, sent to a broker
// that is not the controller, adds two replicas to every partition after
// the one it had (its leader stays); they copy the log and join the ISR,
// and every broker's own copy holds the records the leader has. Shrinking,
// or growing past the brokers there are, is refused and changes nothing.
func testGrowReplication(t *testing.T, c *brokertest.Cluster) {
	want(t, c.Call(t, 1, http.MethodPost, "/topics", `{"name":"grow","partitions":2,"replication_factor":1}`), http.StatusCreated, "create grow")
	before := sameTopic(t, c, "grow", nil)
	for p := range 2 {
		body := fmt.Sprintf(`{"records":[{"value":"p%d-a"},{"value":"p%d-b"}]}`, p, p)
		want(t, c.Call(t, 3, http.MethodPost, fmt.Sprintf("/topics/grow/partitions/%d/records?acks=all", p), body), http.StatusOK, "produce to grow")
	}
	r := c.Call(t, 2, http.MethodPatch, "/topics/grow", `{"replication_factor":3}`)
	want(t, r, http.StatusOK, "PATCH replication_factor 3")
	var d topicDesc
	decode(t, r, &d)
	if d.ReplicationFactor != 3 {
		t.Fatalf("PATCH answered replication factor %d, want 3", d.ReplicationFactor)
	}
	for _, p := range d.Partitions {
		old := partOf(before, p.Partition)
		if len(p.Replicas) != 3 || p.Replicas[0] != old.Replicas[0] || p.Leader != old.Leader {
			t.Fatalf("partition %d: replicas %v led by %d, was %v led by %d", p.Partition, p.Replicas, p.Leader, old.Replicas, old.Leader)
		}
	}
	sameTopic(t, c, "grow", func(d topicDesc) error {
		for _, p := range d.Partitions {
			if len(p.ISR) != 3 {
				return fmt.Errorf("partition %d: ISR %v of replicas %v", p.Partition, p.ISR, p.Replicas)
			}
		}
		return nil
	})
	for p := range 2 {
		for _, id := range c.IDs() {
			path := fmt.Sprintf("/topics/grow/partitions/%d/records?offset=earliest&replica=local", p)
			r := c.Call(t, id, http.MethodGet, path, "")
			want(t, r, http.StatusOK, fmt.Sprintf("local read of grow/%d at broker %d", p, id))
			pg, err := decodePage(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rec := range pg.records {
				got = append(got, rec.value)
			}
			if want := []string{fmt.Sprintf("p%d-a", p), fmt.Sprintf("p%d-b", p)}; !slices.Equal(got, want) {
				t.Fatalf("broker %d's copy of grow/%d holds %v, want %v", id, p, got, want)
			}
		}
	}
	for _, body := range []string{`{"replication_factor":2}`, `{"replication_factor":4}`} {
		r := c.Call(t, 3, http.MethodPatch, "/topics/grow", body)
		if r.Status != http.StatusBadRequest || r.Code() != "invalid_request" {
			t.Fatalf("PATCH %s: %s, want 400 invalid_request", body, r)
		}
	}
	if rf := describe(t, c, 1, "grow").ReplicationFactor; rf != 3 {
		t.Fatalf("refused changes left replication factor %d", rf)
	}
}
