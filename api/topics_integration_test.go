package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

func testTopicAdmin(t *testing.T, b *brokertest.Broker) {
	r := post(t, b, "/topics", `{"name":"admin-orders","partitions":3,"replication_factor":1,
		"config":{"retention.ms":604800000,"retention.bytes":-1,"min.insync.replicas":1,"max.message.bytes":1048576}}`)
	wantStatus(t, r, http.StatusCreated)
	var d topicDesc
	decode(t, r, &d)
	if d.Name != "admin-orders" || d.ReplicationFactor != 1 || len(d.Partitions) != 3 {
		t.Fatalf("created %+v", d)
	}
	for i, p := range d.Partitions {
		if p.Partition != int32(i) || p.Leader != 1 || fmt.Sprint(p.Replicas, p.ISR) != "[1] [1]" ||
			p.LogStartOffset != 0 || p.HighWatermark != 0 || p.LogEndOffset != 0 {
			t.Fatalf("partition %+v", p)
		}
	}
	wantConfig := map[string]int64{"retention.ms": 604800000, "retention.bytes": -1, "min.insync.replicas": 1,
		"max.message.bytes": 1048576, "replica.lag.time.max.ms": 30000, "unclean.leader.election.enable": 0}
	if fmt.Sprint(d.Config) != fmt.Sprint(wantConfig) {
		t.Fatalf("config %v, want %v", d.Config, wantConfig)
	}
	// Defaults: one partition, replication factor min(3, live brokers) = 1.
	createTopic(t, b, `{"name":"admin-defaults"}`)
	if d := describeTopic(t, b, "admin-defaults"); len(d.Partitions) != 1 || d.ReplicationFactor != 1 || d.Config["retention.ms"] != 604800000 {
		t.Fatalf("defaults %+v", d)
	}

	var list struct {
		Topics []struct {
			Name              string `json:"name"`
			Partitions        int    `json:"partitions"`
			ReplicationFactor int32  `json:"replication_factor"`
		} `json:"topics"`
	}
	r = get(t, b, "/topics")
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &list)
	found := map[string]int{}
	for _, tp := range list.Topics {
		found[tp.Name] = tp.Partitions
	}
	if found["admin-orders"] != 3 || found["admin-defaults"] != 1 {
		t.Fatalf("list %s", r.Body)
	}

	r = call(t, b, http.MethodPatch, "/topics/admin-orders", "application/json", `{"partitions":6}`)
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &d)
	if len(d.Partitions) != 6 {
		t.Fatalf("after patch: %d partitions", len(d.Partitions))
	}
	r = call(t, b, http.MethodPatch, "/topics/admin-orders", "application/json", `{"config":{"retention.ms":-1,"max.message.bytes":2048}}`)
	wantStatus(t, r, http.StatusOK)
	if d := describeTopic(t, b, "admin-orders"); d.Config["retention.ms"] != -1 || d.Config["max.message.bytes"] != 2048 || len(d.Partitions) != 6 {
		t.Fatalf("after config patch %+v", d)
	}
	wantProblem(t, call(t, b, http.MethodPatch, "/topics/admin-orders", "application/json", `{"partitions":2}`),
		http.StatusConflict, "partition_decrease_not_allowed")

	// Delete, then recreate at once: empty, from offset 0.
	produce(t, b, "/topics/admin-defaults/records", `{"records":[{"value":"old"},{"value":"old"}]}`)
	r = call(t, b, http.MethodDelete, "/topics/admin-defaults", "", "")
	wantStatus(t, r, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Fatalf("204 with body %q", r.Body)
	}
	wantProblem(t, get(t, b, "/topics/admin-defaults"), http.StatusNotFound, "topic_not_found")
	wantProblem(t, get(t, b, "/topics/admin-defaults/partitions/0/records"), http.StatusNotFound, "topic_not_found")
	createTopic(t, b, `{"name":"admin-defaults"}`)
	if hw := highWatermarks(t, b, "admin-defaults"); fmt.Sprint(hw) != "[0]" {
		t.Fatalf("recreated topic HW %v", hw)
	}
	offs := produce(t, b, "/topics/admin-defaults/records", `{"records":[{"value":"new"}]}`)
	if *offs[0].Offset != 0 {
		t.Fatalf("recreated topic starts at %d", *offs[0].Offset)
	}
	if recs := readAll(t, b, "admin-defaults", 0); len(recs) != 1 || string(recs[0].Value) != `"new"` {
		t.Fatalf("recreated topic holds %v", recs)
	}
}

func testTopicAdminErrors(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"admin-exists"}`)
	tests := []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		status int
		code   string
	}{
		{"exists", "POST", "/topics", "application/json", `{"name":"admin-exists"}`, 409, "topic_exists"},
		{"name dot", "POST", "/topics", "application/json", `{"name":"."}`, 400, "invalid_topic_name"},
		{"name dotdot", "POST", "/topics", "application/json", `{"name":".."}`, 400, "invalid_topic_name"},
		{"name reserved", "POST", "/topics", "application/json", `{"name":"__x"}`, 400, "invalid_topic_name"},
		{"name 250 chars", "POST", "/topics", "application/json", `{"name":"` + strings.Repeat("a", 250) + `"}`, 400, "invalid_topic_name"},
		{"name with space", "POST", "/topics", "application/json", `{"name":"a b"}`, 400, "invalid_topic_name"},
		{"name with slash", "POST", "/topics", "application/json", `{"name":"a/b"}`, 400, "invalid_topic_name"},
		{"empty name", "POST", "/topics", "application/json", `{"name":""}`, 400, "invalid_topic_name"},
		{"no name", "POST", "/topics", "application/json", `{"partitions":1}`, 400, "invalid_topic_name"},
		{"unknown config key", "POST", "/topics", "application/json", `{"name":"admin-x","config":{"cleanup.policy":1}}`, 400, "invalid_request"},
		{"config out of range", "POST", "/topics", "application/json", `{"name":"admin-x","config":{"min.insync.replicas":0}}`, 400, "invalid_request"},
		{"config not a number", "POST", "/topics", "application/json", `{"name":"admin-x","config":{"retention.ms":"1000"}}`, 400, "invalid_request"},
		{"config fraction", "POST", "/topics", "application/json", `{"name":"admin-x","config":{"retention.ms":1.5}}`, 400, "invalid_request"},
		{"unknown field", "POST", "/topics", "application/json", `{"name":"admin-x","colour":"red"}`, 400, "invalid_request"},
		{"partitions as string", "POST", "/topics", "application/json", `{"name":"admin-x","partitions":"3"}`, 400, "invalid_request"},
		{"negative partitions", "POST", "/topics", "application/json", `{"name":"admin-x","partitions":-1}`, 400, "invalid_request"},
		{"too many partitions", "POST", "/topics", "application/json", `{"name":"admin-x","partitions":10001}`, 400, "invalid_request"},
		{"replication above brokers", "POST", "/topics", "application/json", `{"name":"admin-x","replication_factor":2}`, 400, "invalid_request"},
		{"malformed", "POST", "/topics", "application/json", `{"name":"admin-x"`, 400, "invalid_request"},
		{"trailing data", "POST", "/topics", "application/json", `{"name":"admin-x"} {}`, 400, "invalid_request"},
		{"empty body", "POST", "/topics", "application/json", ``, 400, "invalid_request"},
		{"not an object", "POST", "/topics", "application/json", `["admin-x"]`, 400, "invalid_request"},
		{"wrong content type", "POST", "/topics", "text/plain", `{"name":"admin-x"}`, 415, "unsupported_media_type"},
		{"describe missing", "GET", "/topics/admin-nope", "", ``, 404, "topic_not_found"},
		{"delete missing", "DELETE", "/topics/admin-nope", "", ``, 404, "topic_not_found"},
		{"patch missing", "PATCH", "/topics/admin-nope", "application/json", `{"partitions":3}`, 404, "topic_not_found"},
		{"patch nothing", "PATCH", "/topics/admin-exists", "application/json", `{}`, 400, "invalid_request"},
		{"patch unknown key", "PATCH", "/topics/admin-exists", "application/json", `{"config":{"nope":1}}`, 400, "invalid_request"},
		{"patch unknown field", "PATCH", "/topics/admin-exists", "application/json", `{"replicas":3}`, 400, "invalid_request"},
		{"patch decrease", "PATCH", "/topics/admin-exists", "application/json", `{"partitions":0}`, 409, "partition_decrease_not_allowed"},
		{"patch replication above brokers", "PATCH", "/topics/admin-exists", "application/json", `{"replication_factor":2}`, 400, "invalid_request"},
		{"patch replication shrink", "PATCH", "/topics/admin-exists", "application/json", `{"replication_factor":0}`, 400, "invalid_request"},
		{"patch replication and bad config", "PATCH", "/topics/admin-exists", "application/json", `{"replication_factor":1,"config":{"nope":1}}`, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, call(t, b, tt.method, tt.path, tt.ctype, tt.body), tt.status, tt.code)
		})
	}
	wantProblem(t, get(t, b, "/topics/admin-x"), http.StatusNotFound, "topic_not_found")
	if d := describeTopic(t, b, "admin-exists"); len(d.Partitions) != 1 || d.Config["min.insync.replicas"] != 1 || d.ReplicationFactor != 1 {
		t.Fatalf("rejected requests changed the topic: %+v", d)
	}
	// The replication factor it has is a change of nothing.
	wantStatus(t, call(t, b, "PATCH", "/topics/admin-exists", "application/json", `{"replication_factor":1}`), http.StatusOK)
}

// testReplicaStatesAlone checks replica_states on a broker of its own: the
// leader's one replica, in sync, at the log end, with no lag.
func testReplicaStatesAlone(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"replicas-alone","partitions":2}`)
	produce(t, b, "/topics/replicas-alone/partitions/1/records", `{"records":[{"value":1},{"value":2},{"value":3}]}`)
	r := get(t, b, "/topics/replicas-alone")
	wantStatus(t, r, http.StatusOK)
	var raw struct {
		Partitions []struct {
			ReplicaStates json.RawMessage `json:"replica_states"`
		} `json:"partitions"`
	}
	decode(t, r, &raw)
	for i, want := range []string{
		`[{"broker":1,"leader":true,"in_sync":true,"log_end_offset":0,"lag_records":0,"lag_ms":0}]`,
		`[{"broker":1,"leader":true,"in_sync":true,"log_end_offset":3,"lag_records":0,"lag_ms":0}]`,
	} {
		if got := string(raw.Partitions[i].ReplicaStates); got != want {
			t.Errorf("partition %d: replica_states %s, want %s", i, got, want)
		}
	}
	// Create and patch answer with the same description.
	r = call(t, b, http.MethodPatch, "/topics/replicas-alone", "application/json", `{"partitions":3}`)
	wantStatus(t, r, http.StatusOK)
	var d topicDesc
	decode(t, r, &d)
	if len(d.Partitions) != 3 || len(d.Partitions[2].ReplicaStates) != 1 || !d.Partitions[2].ReplicaStates[0].Leader {
		t.Fatalf("after patch: %s", r.Body)
	}
}
