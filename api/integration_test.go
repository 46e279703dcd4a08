package api_test

import (
	"net/http"
	"testing"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// TestBroker runs the REST contract against one real broker process shared
// by its subtests. Each subtest uses its own topics.
func TestBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker process")
	}
	b := brokertest.Start(t, brokertest.WithArgs(
		"--retention-check-interval", "100ms",
		"--max-request-bytes", "1048576",
	))
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *brokertest.Broker)
	}{
		{"health", testHealth},
		{"topic admin", testTopicAdmin},
		{"topic admin errors", testTopicAdminErrors},
		{"replica states", testReplicaStatesAlone},
		{"produce and read byte-exact", testProduceReadByteExact},
		{"consecutive offsets and partitions", testConsecutiveOffsets},
		{"ndjson", testNDJSON},
		{"acks=0", testAcksNone},
		{"auto-create", testAutoCreate},
		{"long poll", testLongPoll},
		{"offsets for timestamp", testOffsetsForTimestamp},
		{"retention", testRetention},
		{"bad produce input", testBadProduce},
		{"bad read input", testBadRead},
		{"request too large", testRequestTooLarge},
		{"unknown route", testUnknownRoute},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, b) })
	}
	if t.Failed() {
		t.Logf("broker logs:\n%s", b.Logs())
	}
}

func testHealth(t *testing.T, b *brokertest.Broker) {
	r := get(t, b, "/healthz")
	wantStatus(t, r, http.StatusOK)
	if bodyText(r) != `{"status":"ok"}` {
		t.Fatalf("healthz body %q", r.Body)
	}
	wantStatus(t, get(t, b, "/readyz"), http.StatusOK)
	var c struct {
		ClusterID    string `json:"cluster_id"`
		ControllerID int32  `json:"controller_id"`
		Brokers      []struct {
			ID       int32  `json:"id"`
			HTTPAddr string `json:"http_addr"`
			Status   string `json:"status"`
		} `json:"brokers"`
	}
	r = get(t, b, "/cluster")
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &c)
	if c.ClusterID == "" || c.ControllerID != 1 || len(c.Brokers) != 1 || c.Brokers[0].ID != 1 ||
		c.Brokers[0].Status != "alive" || c.Brokers[0].HTTPAddr != b.Addr {
		t.Fatalf("cluster %+v", c)
	}
}
