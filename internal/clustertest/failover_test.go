package clustertest

import (
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// failoverDeadline is how soon after kill -9 of the controller broker 2
// must control the cluster.
const failoverDeadline = 15 * time.Second

// minorityDeadline is how soon after two of three brokers die the survivor
// must refuse admin requests with 503 leader_not_available.
const minorityDeadline = 20 * time.Second

// failoverRuns is FJORD_FAILOVER_RUNS, default 1: how many times the
// failover subtest kills and restarts the controller.
func failoverRuns(t *testing.T) int {
	s := os.Getenv("FJORD_FAILOVER_RUNS")
	if s == "" {
		return 1
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("FJORD_FAILOVER_RUNS=%q: want a positive number", s)
	}
	return n
}

// testControllerFailover kills -9 the controller (broker 1), measures the
// time to the first successful admin call through another broker, checks
// broker 2 controls within 15 s and admin works through both survivors,
// then restarts broker 1 and checks it takes control back. It repeats
// FJORD_FAILOVER_RUNS times and logs min, median and max.
func testControllerFailover(t *testing.T, c *brokertest.Cluster) {
	runs := failoverRuns(t)
	var failover, takeback []time.Duration
	for i := range runs {
		heal(t, c)
		via := []int{3, 2}[i%2] // the first run goes through a forwarding broker
		killed := time.Now()
		c.Kill(t, 1)
		took := firstAdmin(t, c, via, fmt.Sprintf("failover-%d", i), killed)
		failover = append(failover, took)
		left := failoverDeadline - time.Since(killed)
		if left <= 0 {
			t.Fatalf("run %d: first admin call through broker %d took %v, more than %v", i, via, took, failoverDeadline)
		}
		c.WaitController(t, 2, left)
		for _, id := range []int{2, 3} {
			adminThrough(t, c, id, []int{2, 3}, fmt.Sprintf("failover-%d-via-%d", i, id))
		}
		restarted := time.Now()
		c.Restart(t, 1)
		c.WaitController(t, 1, settleTimeout)
		takeback = append(takeback, time.Since(restarted))
		r := c.Call(t, 1, http.MethodDelete, fmt.Sprintf("/topics/failover-%d", i), "")
		want(t, r, http.StatusNoContent, "delete through broker 1 after it took control back")
		t.Logf("run %d: kill -9 of controller 1 -> first admin call through broker %d: %v; restart of broker 1 -> in control: %v",
			i, via, took, takeback[i])
	}
	lo, p50, hi := durations(failover)
	t.Logf("controller failover over %d runs (kill -9 -> first successful admin call through another broker): min %v, p50 %v, max %v",
		runs, lo.Round(time.Millisecond), p50.Round(time.Millisecond), hi.Round(time.Millisecond))
	lo, p50, hi = durations(takeback)
	t.Logf("broker 1 taking control back over %d runs (restart -> controller everywhere): min %v, p50 %v, max %v",
		runs, lo.Round(time.Millisecond), p50.Round(time.Millisecond), hi.Round(time.Millisecond))
}

// firstAdmin creates topic name through broker via, retrying every
// PollPeriod until an attempt succeeds, and returns the time since since.
// A 409 topic_exists counts as success: an earlier attempt was committed
// but its answer did not arrive in time.
func firstAdmin(t *testing.T, c *brokertest.Cluster, via int, name string, since time.Time) time.Duration {
	t.Helper()
	seen := map[string]int{}
	var took time.Duration
	body := fmt.Sprintf(`{"name":%q,"partitions":1,"replication_factor":1}`, name)
	brokertest.WaitFor(t, settleTimeout, "an admin call through broker "+strconv.Itoa(via)+" to succeed", func() error {
		r, err := try(c, via, http.MethodPost, "/topics", body)
		switch {
		case err != nil:
			seen["error"]++
			return err
		case r.Status == http.StatusCreated || (r.Status == http.StatusConflict && r.Code() == "topic_exists"):
			took = time.Since(since)
			return nil
		}
		seen[fmt.Sprintf("%d %s", r.Status, r.Code())]++
		return fmt.Errorf("create %s through broker %d: %s", name, via, r)
	})
	t.Logf("answers before the first success: %v", summary(seen))
	return took
}

// summary lists counts of answers in a stable order.
func summary(seen map[string]int) string {
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf("[%s] x%d ", k, seen[k])
	}
	return s
}

// testMinority kills brokers 1 and 2: broker 3 alone must refuse topic
// create, patch and delete with 503 leader_not_available within 20 s, name
// no controller, keep its metadata and metadata version unchanged, and
// still serve reads of metadata. When 1 and 2 return, admin works again and
// nothing attempted meanwhile exists.
func testMinority(t *testing.T, c *brokertest.Cluster) {
	heal(t, c)
	before := describe(t, c, 3, "meta").metadata()
	killed := time.Now()
	c.Kill(t, 1)
	c.Kill(t, 2)
	version := c.Info(t, 3).MetadataVersion
	seen := map[string]int{}
	brokertest.WaitFor(t, minorityDeadline, "broker 3 alone to answer 503 leader_not_available to POST /topics", func() error {
		r, err := try(c, 3, http.MethodPost, "/topics", `{"name":"minority"}`)
		if err != nil {
			seen["error"]++
			return err
		}
		if r.Status == http.StatusCreated {
			t.Fatalf("a minority of one created a topic: %s", r)
		}
		seen[fmt.Sprintf("%d %s", r.Status, r.Code())]++
		if r.Status == http.StatusServiceUnavailable && r.Code() == "leader_not_available" {
			return nil
		}
		return fmt.Errorf("POST /topics at broker 3: %s", r)
	})
	t.Logf("broker 3 refused admin %v after the kills; answers: %v", time.Since(killed).Round(time.Millisecond), summary(seen))
	// Each refusal takes the controller wait of an admin call (a few
	// seconds): send them together.
	reqs := []struct{ method, path, body string }{
		{http.MethodPatch, "/topics/meta", `{"partitions":7}`},
		{http.MethodPatch, "/topics/meta", `{"config":{"retention.ms":1000}}`},
		{http.MethodDelete, "/topics/meta", ""},
	}
	answers := make([]brokertest.Response, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() { answers[i], errs[i] = try(c, 3, req.method, req.path, req.body) })
	}
	wg.Wait()
	for i, req := range reqs {
		if r := answers[i]; errs[i] != nil || r.Status != http.StatusServiceUnavailable || r.Code() != "leader_not_available" {
			t.Errorf("%s %s %s at the minority: %s %v, want 503 leader_not_available", req.method, req.path, req.body, r, errs[i])
		}
	}
	brokertest.WaitFor(t, settleTimeout, "broker 3 to name no controller", func() error {
		if info := c.Info(t, 3); info.ControllerID != -1 {
			return fmt.Errorf("broker 3 names controller %d: %+v", info.ControllerID, info)
		}
		return nil
	})
	if got := describe(t, c, 3, "meta").metadata(); !reflect.DeepEqual(got, before) {
		t.Errorf("the minority's metadata of meta changed:\n got %+v\nwant %+v", got, before)
	}
	if v := c.Info(t, 3).MetadataVersion; v != version {
		t.Errorf("the minority's metadata version moved from %d to %d", version, v)
	}

	c.Restart(t, 1, 2)
	c.WaitFormed(t, settleTimeout)
	c.WaitController(t, 1, settleTimeout)
	r := c.Call(t, 3, http.MethodPost, "/topics", `{"name":"after-minority"}`)
	want(t, r, http.StatusCreated, "create through broker 3 once the majority is back")
	sameTopic(t, c, "after-minority", nil)
	goneEverywhere(t, c, "minority")
	if got := sameTopic(t, c, "meta", nil); got.ReplicationFactor != 3 || len(got.Partitions) != 6 || got.Config["retention.ms"] == 1000 {
		t.Errorf("meta after the minority: %+v, want 6 partitions and its old config", got)
	}
}
