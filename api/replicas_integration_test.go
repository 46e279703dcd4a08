package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// replicaWait bounds the waits for replication and ISR changes to show.
const replicaWait = 30 * time.Second

// TestReplicaStatesInACluster runs three brokers with one partition on all
// of them: GET /topics/{t} on the leader shows every replica at the log
// end and in sync, a follower shows what it knows and null for the rest,
// and /metrics on the leader shows the ISR and the followers' lag. Once a
// follower is killed and records arrive, the leader shows it lagging in
// records and time, then out of the ISR and the partition under-replicated.
func TestReplicaStatesInACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three broker processes")
	}
	c := brokertest.StartCluster(t, 3)
	r := c.Call(t, 1, http.MethodPost, "/topics", `{"name":"rs","partitions":1,"replication_factor":3,
		"config":{"min.insync.replicas":1,"replica.lag.time.max.ms":1000}}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	var leader int
	var followers []int
	brokertest.WaitFor(t, replicaWait, "a leader and a full ISR", func() error {
		p, err := partitionAt(c, 1)
		if err != nil {
			return err
		}
		if p.Leader <= 0 || len(p.ISR) != 3 {
			return fmt.Errorf("partition %+v", p)
		}
		leader, followers = int(p.Leader), nil
		for _, id := range p.Replicas {
			if int(id) != leader {
				followers = append(followers, int(id))
			}
		}
		return nil
	})
	r = c.Call(t, leader, http.MethodPost, "/topics/rs/records?acks=all", `{"records":[{"value":1},{"value":2},{"value":3},{"value":4},{"value":5}]}`)
	if r.Status != http.StatusOK {
		t.Fatalf("produce: %s", r)
	}

	// The leader knows every replica: each at the log end, in sync, no lag.
	brokertest.WaitFor(t, replicaWait, "the leader to see every replica caught up", func() error {
		p, err := partitionAt(c, leader)
		if err != nil {
			return err
		}
		for _, rs := range p.ReplicaStates {
			if !rs.InSync || rs.Leader != (int(rs.Broker) == leader) || value(rs.LogEndOffset) != 5 ||
				value(rs.LagRecords) != 0 || value(rs.LagMs) != 0 || (!rs.Leader && rs.LastFetchMs <= 0) {
				return fmt.Errorf("replica states %s", show(p.ReplicaStates))
			}
		}
		if len(p.ReplicaStates) != 3 {
			return fmt.Errorf("replica states %s", show(p.ReplicaStates))
		}
		return nil
	})
	// A follower knows its own log end and who leads; the rest is null.
	f := followers[0]
	brokertest.WaitFor(t, replicaWait, "a follower to show its own replica", func() error {
		p, err := partitionAt(c, f)
		if err != nil {
			return err
		}
		for _, rs := range p.ReplicaStates {
			own := int(rs.Broker) == f
			switch {
			case rs.LagRecords != nil || rs.LagMs != nil || rs.LastFetchMs != 0:
				return fmt.Errorf("follower %d shows lag: %s", f, show(p.ReplicaStates))
			case own && value(rs.LogEndOffset) != 5, !own && rs.LogEndOffset != nil:
				return fmt.Errorf("follower %d: %s", f, show(p.ReplicaStates))
			case rs.Leader != (int(rs.Broker) == leader) || !rs.InSync:
				return fmt.Errorf("follower %d: %s", f, show(p.ReplicaStates))
			}
		}
		return nil
	})
	m := metricsOf(t, c, leader)
	wantMetric(t, m, `fjord_partition_isr_size{partition="0",topic="rs"}`, 3)
	wantMetric(t, m, `fjord_under_replicated_partitions`, 0)
	wantMetric(t, m, `fjord_partition_log_end_offset{partition="0",topic="rs"}`, 5)
	for _, id := range followers {
		wantMetric(t, m, fmt.Sprintf(`fjord_replica_lag_records{partition="0",replica="%d",topic="rs"}`, id), 0)
		wantMetric(t, m, fmt.Sprintf(`fjord_replica_lag_seconds{partition="0",replica="%d",topic="rs"}`, id), 0)
	}
	m = metricsOf(t, c, f)
	wantMetric(t, m, `fjord_partition_log_end_offset{partition="0",topic="rs"}`, 5)
	if _, ok := metric(m, `fjord_partition_isr_size{partition="0",topic="rs"}`); ok {
		t.Errorf("follower %d reports the ISR size of a partition it does not lead", f)
	}

	// A dead follower falls behind, then out of the ISR.
	dead := followers[1]
	c.Kill(t, dead)
	r = c.Call(t, leader, http.MethodPost, "/topics/rs/records?acks=1", `{"records":[{"value":6},{"value":7}]}`)
	if r.Status != http.StatusOK {
		t.Fatalf("produce after the kill: %s", r)
	}
	brokertest.WaitFor(t, replicaWait, fmt.Sprintf("broker %d to drop out of the ISR", dead), func() error {
		p, err := partitionAt(c, leader)
		if err != nil {
			return err
		}
		for _, rs := range p.ReplicaStates {
			if int(rs.Broker) != dead {
				continue
			}
			if rs.InSync || value(rs.LogEndOffset) != 5 || value(rs.LagRecords) != 2 || value(rs.LagMs) < 1000 {
				return fmt.Errorf("replica states %s, isr %v", show(p.ReplicaStates), p.ISR)
			}
			return nil
		}
		return fmt.Errorf("no state for broker %d: %s", dead, show(p.ReplicaStates))
	})
	m = metricsOf(t, c, leader)
	wantMetric(t, m, `fjord_partition_isr_size{partition="0",topic="rs"}`, 2)
	wantMetric(t, m, `fjord_under_replicated_partitions`, 1)
	wantMetric(t, m, fmt.Sprintf(`fjord_replica_lag_records{partition="0",replica="%d",topic="rs"}`, dead), 2)
	if v, _ := metric(m, fmt.Sprintf(`fjord_replica_lag_seconds{partition="0",replica="%d",topic="rs"}`, dead)); v < 1 {
		t.Errorf("dead follower %d lags %v s, want at least 1", dead, v)
	}
}

// partitionAt is partition 0 of topic rs as broker id describes it.
func partitionAt(c *brokertest.Cluster, id int) (partitionDesc, error) {
	r, err := c.Broker(id).TryCall(context.Background(), http.MethodGet, "/topics/rs", "", 10*time.Second)
	if err != nil {
		return partitionDesc{}, err
	}
	var d topicDesc
	if r.Status != http.StatusOK {
		return partitionDesc{}, fmt.Errorf("broker %d: %s", id, r)
	}
	if err := json.Unmarshal(r.Body, &d); err != nil || len(d.Partitions) != 1 {
		return partitionDesc{}, fmt.Errorf("broker %d: %s (%v)", id, r, err)
	}
	return d.Partitions[0], nil
}

// value is *v, or -1 for null.
func value(v *int64) int64 {
	if v == nil {
		return -1
	}
	return *v
}

func show(states []replicaStateDesc) string {
	b, _ := json.Marshal(states)
	return string(b)
}

func metricsOf(t *testing.T, c *brokertest.Cluster, id int) string {
	t.Helper()
	status, body := c.Get(t, id, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("broker %d: GET /metrics: %d", id, status)
	}
	return string(body)
}

// metric finds one series' value in a text exposition.
func metric(exposition, series string) (float64, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(exposition)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

func wantMetric(t *testing.T, exposition, series string, want float64) {
	t.Helper()
	if v, ok := metric(exposition, series); !ok || v != want {
		t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
	}
}
