package clustertest

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// TestFormation starts three brokers in join orders other than the shared
// cluster's (3,1,2): each forms one cluster, the same at every broker, with
// broker 1 in control however late it joined.
func TestFormation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	for _, order := range [][]int{{2, 3, 1}, {1, 2, 3}} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			c := brokertest.StartCluster(t, 3, brokertest.WithStartOrder(order...))
			checkFormed(t, c)
		})
	}
}

// TestCluster runs the cluster's behaviour against one three-broker cluster
// formed in the join order 3,1,2 and shared by the subtests, in this order:
// the ones that keep every broker up first, then those that stop brokers.
// Each subtest that stops brokers starts from a whole cluster (heal).
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	c := brokertest.StartCluster(t, 3, brokertest.WithStartOrder(3, 1, 2))
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *brokertest.Cluster)
	}{
		{"formed in join order 3,1,2", checkFormed},
		{"same topic metadata at every broker", testSameTopicMetadata},
		{"topic admin through every broker", testAdminThroughEveryBroker},
		{"produce and read through every broker", testProduceReadEveryBroker},
		{"consumer group through non-coordinators", testGroupThroughNonCoordinator},
		{"replication factor grows", testGrowReplication},
		{"wiped broker has a new incarnation", testWipedIncarnation},
		{"controller failover", testControllerFailover},
		{"minority makes no metadata change", testMinority},
		{"partition leader failover", testPartitionFailover},
		{"controlled shutdown", testControlledShutdown},
		{"committed offsets survive the coordinator", testCoordinatorFailover},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, c) })
	}
}

// checkFormed: every broker is ready, shows the same /cluster with all three
// alive at their addresses and names broker 1 the controller.
func checkFormed(t *testing.T, c *brokertest.Cluster) {
	c.WaitController(t, 1, settleTimeout)
	info := sameCluster(t, c)
	if info.ClusterID == "" || info.MetadataVersion <= 0 || info.ControllerID != 1 {
		t.Fatalf("cluster %+v: want a cluster id, a metadata version and controller 1", info)
	}
	if len(info.Brokers) != 3 {
		t.Fatalf("cluster shows %d brokers, want 3: %+v", len(info.Brokers), info)
	}
	for i, b := range info.Brokers {
		if b.ID != i+1 || b.Status != "alive" || b.HTTPAddr != c.Broker(b.ID).Addr {
			t.Fatalf("broker entry %+v, want id %d alive at %s", b, i+1, c.Broker(i+1).Addr)
		}
	}
	for _, id := range c.IDs() {
		r := c.Call(t, id, http.MethodGet, "/readyz", "")
		want(t, r, http.StatusOK, fmt.Sprintf("readyz at broker %d", id))
		if r.BrokerID() != id {
			t.Fatalf("readyz at broker %d: X-Fjord-Broker %d", id, r.BrokerID())
		}
	}
}

// testSameTopicMetadata: a replicated topic created at broker 2 is described
// identically by every broker, with Kafka's even placement.
func testSameTopicMetadata(t *testing.T, c *brokertest.Cluster) {
	r := c.Call(t, 2, http.MethodPost, "/topics", `{"name":"meta","partitions":6,"replication_factor":3}`)
	want(t, r, http.StatusCreated, "create meta at broker 2")
	d := sameTopic(t, c, "meta", nil)
	if d.ReplicationFactor != 3 || len(d.Partitions) != 6 {
		t.Fatalf("meta: %+v, want 6 partitions of 3 replicas", d)
	}
	leads := map[int]int{}
	for _, p := range d.Partitions {
		if len(p.Replicas) != 3 || len(slices.Compact(slices.Sorted(slices.Values(p.Replicas)))) != 3 {
			t.Fatalf("partition %d replicas %v, want 3 distinct brokers", p.Partition, p.Replicas)
		}
		if p.Leader != p.Replicas[0] || p.LeaderEpoch < 0 {
			t.Fatalf("partition %d: leader %d epoch %d, want the preferred replica %d", p.Partition, p.Leader, p.LeaderEpoch, p.Replicas[0])
		}
		if !slices.Contains(p.ISR, p.Leader) {
			t.Fatalf("partition %d: ISR %v without the leader %d", p.Partition, p.ISR, p.Leader)
		}
		for _, id := range p.ISR {
			if !slices.Contains(p.Replicas, id) {
				t.Fatalf("partition %d: ISR %v outside the replicas %v", p.Partition, p.ISR, p.Replicas)
			}
		}
		leads[p.Leader]++
	}
	for _, id := range c.IDs() {
		if leads[id] != 2 {
			t.Fatalf("leaders per broker %v, want 2 each of 6 partitions", leads)
		}
	}
	sameCluster(t, c)
}

// testAdminThroughEveryBroker: create, patch and delete a topic through each
// broker; every broker sees every step, and a deleted name can be created
// again.
func testAdminThroughEveryBroker(t *testing.T, c *brokertest.Cluster) {
	for _, via := range c.IDs() {
		t.Run(fmt.Sprintf("via broker %d", via), func(t *testing.T) {
			name := fmt.Sprintf("admin-%d", via)
			adminThrough(t, c, via, c.IDs(), name)
			r := c.Call(t, via, http.MethodPost, "/topics", fmt.Sprintf(`{"name":%q}`, name))
			want(t, r, http.StatusCreated, "create "+name+" again after the delete")
			r = c.Call(t, others(c, via)[0], http.MethodPost, "/topics", fmt.Sprintf(`{"name":%q}`, name))
			if r.Status != http.StatusConflict || r.Code() != "topic_exists" {
				t.Fatalf("create %s a second time: %s, want 409 topic_exists", name, r)
			}
			sameTopic(t, c, name, nil)
		})
	}
}
