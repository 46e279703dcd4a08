package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fjord-streaming/fjord/api"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/membership"
	"github.com/fjord-streaming/fjord/storage/storagetest"
)

// TestProduceAppendedMember produces acks=all in process to broker 1, which
// leads topic t's partition 0 alone and partition 1 with followers 2 and 3
// that never fetch, and topic few's partition 0 with an ISR below its
// min.insync.replicas. A failure after the leader stored the records says
// "appended":true, in a problem and in a 207 entry; a refusal before the
// append does not.
func TestProduceAppendedMember(t *testing.T) {
	eng, err := engine.Open(storagetest.OpenMem(t), engine.Config{BrokerID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	alone := engine.Placement{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}
	followed := engine.Placement{Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	few := engine.DefaultTopicConfig()
	few.MinInsyncReplicas = 2
	if err := eng.ApplyMetadata(1, []engine.TopicMetadata{
		{Name: "t", ID: 1, ReplicationFactor: 3, Config: engine.DefaultTopicConfig(), Partitions: []engine.Placement{alone, followed}},
		{Name: "few", ID: 2, ReplicationFactor: 1, Config: few, Partitions: []engine.Placement{alone}},
	}); err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Config{}, eng, membership.NewLocal(1, "127.0.0.1:8080")).Handler()

	type errorEntry struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Appended *bool  `json:"appended"`
	}
	type answer struct {
		Code     string `json:"code"`
		Appended *bool  `json:"appended"`
		Offsets  []struct {
			Partition int32       `json:"partition"`
			Offset    *int64      `json:"offset"`
			Error     *errorEntry `json:"error"`
		} `json:"offsets"`
	}
	yes := func(b *bool) bool { return b != nil && *b }
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		check  func(t *testing.T, a answer)
	}{
		{"acks=all wait times out", "/topics/t/partitions/1/records?acks=all&timeout_ms=20", `{"records":[{"value":1}]}`,
			http.StatusGatewayTimeout, func(t *testing.T, a answer) {
				if a.Code != "request_timeout" || !yes(a.Appended) {
					t.Fatalf("code %s appended %v, want request_timeout appended", a.Code, a.Appended)
				}
			}},
		{"refused before the append", "/topics/few/records?acks=all", `{"records":[{"value":1}]}`,
			http.StatusServiceUnavailable, func(t *testing.T, a answer) {
				if a.Code != "not_enough_replicas" || a.Appended != nil {
					t.Fatalf("code %s appended %v, want not_enough_replicas without appended", a.Code, a.Appended)
				}
			}},
		{"207 with one partition timed out", "/topics/t/records?acks=all&timeout_ms=20", `{"records":[{"value":1,"partition":0},{"value":2,"partition":1}]}`,
			http.StatusMultiStatus, func(t *testing.T, a answer) {
				if len(a.Offsets) != 2 || a.Offsets[0].Error != nil || a.Offsets[0].Offset == nil {
					t.Fatalf("offsets %+v, want partition 0 written", a.Offsets)
				}
				if e := a.Offsets[1].Error; e == nil || e.Code != "request_timeout" || !yes(e.Appended) || e.Message == "" {
					t.Fatalf("partition 1 error %+v, want request_timeout appended", e)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var a answer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
			tt.check(t, a)
		})
	}
}
