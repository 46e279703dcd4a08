package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// Bounds of the waits; generous for 2 loaded cores, far below the test
// timeout.
const (
	settleTimeout = 30 * time.Second // metadata to reach every broker, a controller to settle
	// requestTimeout bounds one request inside a polling loop; above the
	// 5 s an admin request waits for a controller before it answers 503.
	requestTimeout = 10 * time.Second
)

// topicDesc is GET /topics/{t}.
type topicDesc struct {
	Name              string           `json:"name"`
	ReplicationFactor int              `json:"replication_factor"`
	Config            map[string]int64 `json:"config"`
	Partitions        []partitionDesc  `json:"partitions"`
}

// partitionDesc is one partition of topicDesc.
type partitionDesc struct {
	Partition      int   `json:"partition"`
	Leader         int   `json:"leader"`
	LeaderEpoch    int   `json:"leader_epoch"`
	Replicas       []int `json:"replicas"`
	ISR            []int `json:"isr"`
	LogStartOffset int64 `json:"log_start_offset"`
	HighWatermark  int64 `json:"high_watermark"`
	LogEndOffset   int64 `json:"log_end_offset"`
}

// metadata is the part of a description that comes from the metadata log
// and so must be identical at every broker (offsets are the leader's and
// move).
func (d topicDesc) metadata() topicDesc {
	m := topicDesc{Name: d.Name, ReplicationFactor: d.ReplicationFactor, Config: d.Config}
	for _, p := range d.Partitions {
		m.Partitions = append(m.Partitions, partitionDesc{Partition: p.Partition, Leader: p.Leader,
			LeaderEpoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR})
	}
	return m
}

// leaderOf returns the leader of partition p.
func (d topicDesc) leaderOf(t testing.TB, p int) int {
	t.Helper()
	for _, pd := range d.Partitions {
		if pd.Partition == p {
			return pd.Leader
		}
	}
	t.Fatalf("topic %s has no partition %d: %+v", d.Name, p, d)
	return -1
}

// try sends one request inside a polling loop.
func try(c *brokertest.Cluster, id int, method, path, body string) (brokertest.Response, error) {
	return c.Broker(id).TryCall(context.Background(), method, path, body, requestTimeout)
}

// want fails the test unless r has status want, and checks that the answer
// names a broker.
func want(t testing.TB, r brokertest.Response, status int, what string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %s, want status %d", what, r, status)
	}
	if r.BrokerID() <= 0 {
		t.Fatalf("%s: no X-Fjord-Broker header on the answer (%v)", what, r.Header)
	}
}

// decode unmarshals r's body.
func decode(t testing.TB, r brokertest.Response, out any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, out); err != nil {
		t.Fatalf("decoding %s: %v", r, err)
	}
}

// describe returns GET /topics/{name} at broker id.
func describe(t testing.TB, c *brokertest.Cluster, id int, name string) topicDesc {
	t.Helper()
	r := c.Call(t, id, http.MethodGet, "/topics/"+name, "")
	want(t, r, http.StatusOK, fmt.Sprintf("GET /topics/%s at broker %d", name, id))
	var d topicDesc
	decode(t, r, &d)
	return d
}

// sameTopic waits until every running broker describes topic name with the
// same metadata and returns it; check, when not nil, must also hold.
func sameTopic(t testing.TB, c *brokertest.Cluster, name string, check func(topicDesc) error) topicDesc {
	t.Helper()
	var agreed topicDesc
	brokertest.WaitFor(t, settleTimeout, "every broker to agree on topic "+name, func() error {
		var first *topicDesc
		for _, id := range c.Running() {
			r, err := try(c, id, http.MethodGet, "/topics/"+name, "")
			if err != nil {
				return err
			}
			if r.Status != http.StatusOK {
				return fmt.Errorf("broker %d: %s", id, r)
			}
			var d topicDesc
			if err := json.Unmarshal(r.Body, &d); err != nil {
				return err
			}
			m := d.metadata()
			if first == nil {
				first = &m
			} else if !reflect.DeepEqual(*first, m) {
				return fmt.Errorf("broker %d describes %+v, broker %d %+v", id, m, c.Running()[0], *first)
			}
		}
		if check != nil {
			if err := check(*first); err != nil {
				return err
			}
		}
		agreed = *first
		return nil
	})
	return agreed
}

// goneEverywhere waits until every running broker answers 404
// topic_not_found for topic name.
func goneEverywhere(t testing.TB, c *brokertest.Cluster, name string) {
	t.Helper()
	brokertest.WaitFor(t, settleTimeout, "topic "+name+" to be gone at every broker", func() error {
		for _, id := range c.Running() {
			r, err := try(c, id, http.MethodGet, "/topics/"+name, "")
			if err != nil {
				return err
			}
			if r.Status != http.StatusNotFound || r.Code() != "topic_not_found" {
				return fmt.Errorf("broker %d: %s", id, r)
			}
		}
		return nil
	})
}

// sameCluster waits until every running broker's /cluster is identical
// (brokers, controller, metadata version) and returns it.
func sameCluster(t testing.TB, c *brokertest.Cluster) brokertest.ClusterInfo {
	t.Helper()
	var agreed brokertest.ClusterInfo
	brokertest.WaitFor(t, settleTimeout, "every broker to show the same /cluster", func() error {
		var first *brokertest.ClusterInfo
		for _, id := range c.Running() {
			r, err := try(c, id, http.MethodGet, "/cluster", "")
			if err != nil {
				return err
			}
			if r.Status != http.StatusOK || r.BrokerID() != id {
				return fmt.Errorf("broker %d: %s (X-Fjord-Broker %q)", id, r, r.Header.Get("X-Fjord-Broker"))
			}
			var info brokertest.ClusterInfo
			if err := json.Unmarshal(r.Body, &info); err != nil {
				return err
			}
			slices.SortFunc(info.Brokers, func(a, b brokertest.ClusterBroker) int { return a.ID - b.ID })
			if first == nil {
				first = &info
			} else if !reflect.DeepEqual(*first, info) {
				return fmt.Errorf("broker %d shows %+v, broker %d %+v", id, info, c.Running()[0], *first)
			}
		}
		agreed = *first
		return nil
	})
	return agreed
}

// heal restarts every broker an earlier subtest left stopped and waits until
// the cluster is whole again with broker 1 in control, so one failed
// subtest does not fail the next ones.
func heal(t testing.TB, c *brokertest.Cluster) {
	t.Helper()
	var stopped []int
	for _, id := range c.IDs() {
		if c.Broker(id).Exited() {
			stopped = append(stopped, id)
		}
	}
	if len(stopped) > 0 {
		c.Restart(t, stopped...)
	}
	c.WaitFormed(t, settleTimeout)
	c.WaitController(t, 1, settleTimeout)
}

// others returns the ids of c other than those given.
func others(c *brokertest.Cluster, not ...int) []int {
	var out []int
	for _, id := range c.IDs() {
		if !slices.Contains(not, id) {
			out = append(out, id)
		}
	}
	return out
}

// adminThrough creates topic name at broker via, patches its partitions and
// config through the next brokers in ids, checks every running broker
// agrees after each step, then deletes it through via and checks it is gone
// everywhere.
func adminThrough(t testing.TB, c *brokertest.Cluster, via int, ids []int, name string) {
	t.Helper()
	next := func(k int) int { return ids[(slices.Index(ids, via)+k)%len(ids)] }
	r := c.Call(t, via, http.MethodPost, "/topics", fmt.Sprintf(`{"name":%q,"partitions":1,"replication_factor":1}`, name))
	want(t, r, http.StatusCreated, fmt.Sprintf("create %s at broker %d", name, via))
	sameTopic(t, c, name, func(d topicDesc) error {
		if len(d.Partitions) != 1 {
			return fmt.Errorf("%d partitions, want 1", len(d.Partitions))
		}
		return nil
	})

	r = c.Call(t, next(1), http.MethodPatch, "/topics/"+name, `{"partitions":2}`)
	want(t, r, http.StatusOK, fmt.Sprintf("add a partition to %s at broker %d", name, next(1)))
	sameTopic(t, c, name, func(d topicDesc) error {
		if len(d.Partitions) != 2 {
			return fmt.Errorf("%d partitions, want 2", len(d.Partitions))
		}
		return nil
	})

	r = c.Call(t, next(2), http.MethodPatch, "/topics/"+name, `{"config":{"retention.ms":3600000}}`)
	want(t, r, http.StatusOK, fmt.Sprintf("change the config of %s at broker %d", name, next(2)))
	sameTopic(t, c, name, func(d topicDesc) error {
		if d.Config["retention.ms"] != 3600000 {
			return fmt.Errorf("retention.ms %d, want 3600000", d.Config["retention.ms"])
		}
		return nil
	})

	r = c.Call(t, via, http.MethodDelete, "/topics/"+name, "")
	want(t, r, http.StatusNoContent, fmt.Sprintf("delete %s at broker %d", name, via))
	goneEverywhere(t, c, name)
}

// durations summarizes measured times: min, median and max.
func durations(ds []time.Duration) (lo, p50, hi time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}
