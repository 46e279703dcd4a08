package clustertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// testCoordinatorFailover: offsets committed through the group's
// coordinator survive kill -9 of that coordinator's broker: the new leader
// of the group's __consumer_offsets partition rebuilds the group from its
// replica and answers with the same committed offset.
func testCoordinatorFailover(t *testing.T, c *brokertest.Cluster) {
	// The previous subtest may have just restarted a broker: placement
	// counts it once the controller sees it live again.
	c.WaitFormed(t, settleTimeout)
	brokertest.WaitFor(t, settleTimeout, "create gfo with three replicas", func() error {
		r, err := try(c, 1, http.MethodPost, "/topics", `{"name":"gfo","partitions":1,"replication_factor":3}`)
		if err != nil {
			return err
		}
		if r.Status != http.StatusCreated {
			return fmt.Errorf("create gfo: %s", r)
		}
		return nil
	})
	want(t, c.Call(t, 1, http.MethodPost, "/topics/gfo/records?acks=all", `{"records":[{"value":1},{"value":2},{"value":3},{"value":4},{"value":5}]}`),
		http.StatusOK, "produce to gfo")
	want(t, c.Call(t, 2, http.MethodPut, "/groups/billing-fo/offsets", `{"offsets":[{"topic":"gfo","partition":0,"offset":3}]}`),
		http.StatusOK, "commit offset 3")
	coord := coordinatorOf(t, c, 1, "billing-fo")
	other := coord%3 + 1
	c.Kill(t, coord)
	t.Cleanup(func() { c.Restart(t, coord); c.WaitFormed(t, settleTimeout) })
	waitCommitted(t, c, other, "billing-fo", "gfo", 3, coord)
}

// waitCommitted waits until broker via answers GET /groups/{group} with
// one committed offset, topic's partition 0 at offset, and not as broker
// killed (whose answer would only be proxied from it).
func waitCommitted(t *testing.T, c *brokertest.Cluster, via int, group, topic string, offset int64, killed int) {
	t.Helper()
	what := fmt.Sprintf("broker %d to answer for group %s after kill -9 of broker %d", via, group, killed)
	brokertest.WaitFor(t, 30*time.Second, what, func() error {
		r, err := try(c, via, http.MethodGet, "/groups/"+group, "")
		if err != nil {
			return err
		}
		if r.Status != http.StatusOK {
			return fmt.Errorf("GET /groups/%s: %s", group, r)
		}
		var g struct {
			Offsets []struct {
				Topic     string `json:"topic"`
				Partition int    `json:"partition"`
				Committed int64  `json:"committed_offset"`
			} `json:"offsets"`
		}
		if err := json.Unmarshal(r.Body, &g); err != nil {
			return err
		}
		if len(g.Offsets) != 1 || g.Offsets[0].Topic != topic || g.Offsets[0].Partition != 0 || g.Offsets[0].Committed != offset {
			return fmt.Errorf("offsets %+v, want %s/0 committed at %d (answered by %s)", g.Offsets, topic, offset, r.Header.Get("X-Fjord-Broker"))
		}
		if r.Header.Get("X-Fjord-Broker") == strconv.Itoa(killed) {
			return fmt.Errorf("answered by the killed broker %d", killed)
		}
		return nil
	})
}

// coordinatorOf is the broker that coordinates group, as broker via says.
func coordinatorOf(t *testing.T, c *brokertest.Cluster, via int, group string) int {
	t.Helper()
	r := c.Call(t, via, http.MethodGet, "/groups/"+group, "")
	want(t, r, http.StatusOK, "describe group "+group)
	coord, err := strconv.Atoi(r.Header.Get("X-Fjord-Broker"))
	if err != nil {
		t.Fatalf("X-Fjord-Broker %q: %v", r.Header.Get("X-Fjord-Broker"), err)
	}
	return coord
}
