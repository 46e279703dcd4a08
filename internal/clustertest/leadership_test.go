package clustertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// partitionFailoverDeadline is how soon after kill -9 of a partition's
// leader another broker must describe a new leader: Serf's failure
// detection (about 5 s) and a reconcile pass.
const partitionFailoverDeadline = 15 * time.Second

// createLedTopic creates topic name with three partitions of three replicas
// that allows unclean leader election (so that a new leader is elected
// whether or not the followers are in the ISR yet), and returns its
// description and the partition led by broker leader.
func createLedTopic(t *testing.T, c *brokertest.Cluster, name string, leader int) (topicDesc, partitionDesc) {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"partitions":3,"replication_factor":3,"config":{"unclean.leader.election.enable":1}}`, name)
	r := c.Call(t, 1, http.MethodPost, "/topics", body)
	want(t, r, http.StatusCreated, "create "+name)
	d := sameTopic(t, c, name, nil)
	for _, p := range d.Partitions {
		if p.Leader == leader {
			return d, p
		}
	}
	t.Fatalf("%s: no partition led by broker %d: %+v", name, leader, d)
	return d, partitionDesc{}
}

// newLeader waits until broker at describes partition p of topic with a
// leader other than old (and not offline) at a leader epoch above epoch.
func newLeader(t *testing.T, c *brokertest.Cluster, at int, topic string, p, old, epoch int, timeout time.Duration) partitionDesc {
	t.Helper()
	var got partitionDesc
	brokertest.WaitFor(t, timeout, fmt.Sprintf("broker %d to describe a new leader of %s/%d", at, topic, p), func() error {
		r, err := try(c, at, http.MethodGet, "/topics/"+topic, "")
		if err != nil {
			return err
		}
		if r.Status != http.StatusOK {
			return fmt.Errorf("GET /topics/%s at broker %d: %s", topic, at, r)
		}
		var d topicDesc
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return err
		}
		for _, pd := range d.Partitions {
			if pd.Partition != p {
				continue
			}
			if pd.Leader == old || pd.Leader < 0 || pd.LeaderEpoch <= epoch {
				return fmt.Errorf("%s/%d: leader %d at epoch %d, ISR %v", topic, p, pd.Leader, pd.LeaderEpoch, pd.ISR)
			}
			got = pd
			return nil
		}
		return fmt.Errorf("%s has no partition %d", topic, p)
	})
	return got
}

// testPartitionFailover kills -9 broker 3, the leader of a partition with
// three replicas: within 15 s broker 2 describes another leader at a
// higher leader epoch.
func testPartitionFailover(t *testing.T, c *brokertest.Cluster) {
	heal(t, c)
	_, p := createLedTopic(t, c, "partition-failover", 3)
	killed := time.Now()
	c.Kill(t, 3)
	got := newLeader(t, c, 2, "partition-failover", p.Partition, 3, p.LeaderEpoch, partitionFailoverDeadline)
	t.Logf("kill -9 of leader 3 -> broker 2 describes leader %d at epoch %d (was %d), ISR %v: %v",
		got.Leader, got.LeaderEpoch, p.LeaderEpoch, got.ISR, time.Since(killed).Round(time.Millisecond))
	c.Restart(t, 3)
}

// testControlledShutdown stops broker 2, the leader of a partition, with
// SIGTERM: it completes its controlled shutdown through the controller
// before it exits, and the partition has another leader at a higher epoch.
func testControlledShutdown(t *testing.T, c *brokertest.Cluster) {
	heal(t, c)
	_, p := createLedTopic(t, c, "controlled-shutdown", 2)
	if err := c.Stop(t, 2); err != nil {
		t.Fatalf("SIGTERM broker 2: exit %v", err)
	}
	if recs := c.Broker(2).LogRecords("controlled shutdown done"); len(recs) != 1 {
		t.Fatalf("broker 2 logged %d 'controlled shutdown done' lines, want 1:\n%s", len(recs), c.Broker(2).Logs())
	}
	got := newLeader(t, c, 3, "controlled-shutdown", p.Partition, 2, p.LeaderEpoch, settleTimeout)
	t.Logf("after broker 2's controlled shutdown broker 3 describes leader %d at epoch %d (was %d), ISR %v",
		got.Leader, got.LeaderEpoch, p.LeaderEpoch, got.ISR)
	c.Restart(t, 2)
}
