package peer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/api/peer"
	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// rawCall sends one HTTP request and returns status, headers and body.
func rawCall(t *testing.T, method, url string, header http.Header, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func decodeProblem(t *testing.T, h http.Header, body []byte) problem.Details {
	t.Helper()
	ctype := h.Get("Content-Type")
	if ctype != "application/problem+json" {
		t.Fatalf("content type %q, want problem+json; body %s", ctype, body)
	}
	var d problem.Details
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	return d
}

var peerRoutes = []struct{ method, path string }{
	{http.MethodPost, "/internal/v1/partitions/append?topic=orders&partition=0&acks=1"},
	{http.MethodGet, "/internal/v1/partitions/fetch?topic=orders&partition=0&offset=0&max_records=1&max_bytes=1"},
	{http.MethodGet, "/internal/v1/partitions/offsets?topic=orders&partition=0&known_hw=-1"},
	{http.MethodGet, "/internal/v1/partitions/offsets-for-timestamp?topic=orders&partition=0&timestamp=0"},
	{http.MethodPost, "/internal/v1/admin/topics"},
	{http.MethodPatch, "/internal/v1/admin/topics?topic=orders"},
	{http.MethodDelete, "/internal/v1/admin/topics?topic=orders"},
}

func TestWrongSecretIsRefused(t *testing.T) {
	b2 := startBroker(t, 2)
	placeTopics(t, 1, map[string][]int32{"orders": {2}}, b2.eng)
	headers := []struct {
		name string
		h    http.Header
	}{
		{"no secret", http.Header{}},
		{"wrong secret", http.Header{peer.HeaderSecret: {"nope"}, peer.HeaderForwardedBy: {"1"}}},
		{"secret prefix", http.Header{peer.HeaderSecret: {testSecret[:3]}}},
	}
	for _, r := range peerRoutes {
		for _, h := range headers {
			t.Run(r.method+" "+r.path+" "+h.name, func(t *testing.T) {
				status, hdr, body := rawCall(t, r.method, "http://"+b2.addr+r.path, h.h, nil)
				d := decodeProblem(t, hdr, body)
				if status != 401 || d.Status != 401 || d.Code != problem.Unauthorized {
					t.Fatalf("answer %d %+v, want 401 unauthorized", status, d)
				}
			})
		}
	}
	if calls := b2.admin.Calls(); len(calls) != 0 {
		t.Fatalf("refused requests reached the controller: %+v", calls)
	}
	// A client with the wrong secret gets an internal error, not the
	// client-facing 401.
	c := newClient(t, 1, "nope", b2)
	_, err := c.Fetch(ctxT(t), 2, "orders", 0, engine.FetchRequest{})
	if d := problem.From(err); err == nil || d.Status != 500 {
		t.Fatalf("fetch with a wrong secret: %v renders %+v, want 500", err, d)
	}
	// A broker with no secret accepts any.
	open := startBroker(t, 3, withSecret(""))
	placeTopics(t, 1, map[string][]int32{"orders": {3}}, open.eng)
	if _, err := newClient(t, 1, "whatever", open).Fetch(ctxT(t), 3, "orders", 0, engine.FetchRequest{}); err != nil {
		t.Fatalf("broker without a secret refused: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	b2 := startBroker(t, 2)
	placeTopics(t, 1, map[string][]int32{"orders": {2}}, b2.eng)
	good := storage.AppendBatch(nil, 0, 0, oddRecords())
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-1] ^= 1
	tests := []struct {
		name   string
		method string
		path   string
		ctype  string
		body   []byte
		status int
		code   string
	}{
		{"no topic", "GET", "partitions/fetch?partition=0&offset=0&max_records=1&max_bytes=1", "", nil, 400, problem.InvalidRequest},
		{"topic too long", "GET", "partitions/fetch?topic=" + strings.Repeat("a", 250) + "&partition=0&offset=0&max_records=1&max_bytes=1", "", nil, 400, problem.InvalidRequest},
		{"negative partition", "GET", "partitions/fetch?topic=orders&partition=-1&offset=0&max_records=1&max_bytes=1", "", nil, 400, problem.InvalidRequest},
		{"partition over int32", "GET", "partitions/fetch?topic=orders&partition=2147483648&offset=0&max_records=1&max_bytes=1", "", nil, 400, problem.InvalidRequest},
		{"offset not a number", "GET", "partitions/fetch?topic=orders&partition=0&offset=x&max_records=1&max_bytes=1", "", nil, 400, problem.InvalidRequest},
		{"offset -3", "GET", "partitions/fetch?topic=orders&partition=0&offset=-3&max_records=1&max_bytes=1", "", nil, 400, problem.InvalidRequest},
		{"no max_records", "GET", "partitions/fetch?topic=orders&partition=0&offset=0&max_bytes=1", "", nil, 400, problem.InvalidRequest},
		{"wait overflows", "GET", "partitions/fetch?topic=orders&partition=0&offset=0&max_records=1&max_bytes=1&wait_ms=99999999999999", "", nil, 400, problem.InvalidRequest},
		{"negative wait", "GET", "partitions/offsets?topic=orders&partition=0&known_hw=0&wait_ms=-1", "", nil, 400, problem.InvalidRequest},
		{"no known_hw", "GET", "partitions/offsets?topic=orders&partition=0", "", nil, 400, problem.InvalidRequest},
		{"no timestamp", "GET", "partitions/offsets-for-timestamp?topic=orders&partition=0", "", nil, 400, problem.InvalidRequest},
		{"acks 2", "POST", "partitions/append?topic=orders&partition=0&acks=2", peer.MediaBatch, good, 400, problem.InvalidRequest},
		{"append JSON", "POST", "partitions/append?topic=orders&partition=0&acks=1", "application/json", []byte(`{}`), 415, problem.UnsupportedMediaType},
		{"append empty body", "POST", "partitions/append?topic=orders&partition=0&acks=1", peer.MediaBatch, nil, 400, problem.InvalidRequest},
		{"append corrupt batch", "POST", "partitions/append?topic=orders&partition=0&acks=1", peer.MediaBatch, corrupt, 400, problem.InvalidRequest},
		{"append trailing bytes", "POST", "partitions/append?topic=orders&partition=0&acks=1", peer.MediaBatch, append(append([]byte(nil), good...), 0), 400, problem.InvalidRequest},
		{"append base offset 7", "POST", "partitions/append?topic=orders&partition=0&acks=1", peer.MediaBatch, storage.AppendBatch(nil, 7, 0, oddRecords()), 400, problem.InvalidRequest},
		{"append too large", "POST", "partitions/append?topic=orders&partition=0&acks=1", peer.MediaBatch, make([]byte, peer.MaxAppendBytes+1), 413, problem.RequestTooLarge},
		{"create not JSON", "POST", "admin/topics", "application/json", []byte(`{"name":`), 400, problem.InvalidRequest},
		{"create too large", "POST", "admin/topics", "application/json", bytes.Repeat([]byte(" "), peer.MaxAdminBytes+1), 413, problem.RequestTooLarge},
		{"update without topic", "PATCH", "admin/topics", "application/json", []byte(`{}`), 400, problem.InvalidRequest},
		{"update bad partitions", "PATCH", "admin/topics?topic=orders", "application/json", []byte(`{"partitions":"x"}`), 400, problem.InvalidRequest},
		{"unknown route", "GET", "nothing", "", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{peer.HeaderSecret: {testSecret}}
			if tt.ctype != "" {
				h.Set("Content-Type", tt.ctype)
			}
			status, hdr, body := rawCall(t, tt.method, "http://"+b2.addr+peer.PathPrefix+tt.path, h, tt.body)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, body, tt.status)
			}
			if tt.code == "" {
				return
			}
			if d := decodeProblem(t, hdr, body); d.Code != tt.code || d.Status != tt.status {
				t.Fatalf("problem %+v, want %d %s", d, tt.status, tt.code)
			}
		})
	}
	// Nothing was written, and the broker still serves.
	off, err := newClient(t, 1, testSecret, b2).Offsets(ctxT(t), 2, "orders", 0, -1, 0)
	if err != nil || off.LogEnd != 0 {
		t.Fatalf("after bad input: offsets %+v, %v; want an empty log", off, err)
	}
}

func TestAdminRoundTrip(t *testing.T) {
	ctl := startBroker(t, 1)
	c := newClient(t, 2, testSecret, ctl)
	ctx := ctxT(t)

	spec := engine.TopicSpec{Name: "orders", Partitions: 3, ReplicationFactor: 1, Config: map[string]int64{"retention.ms": 1000}}
	v, err := c.CreateTopic(ctx, 1, spec)
	if err != nil {
		t.Fatal(err)
	}
	if v == 0 || v != uint64(ctl.eng.MetadataVersion()) {
		t.Fatalf("create answered version %d, the controller is at %d", v, ctl.eng.MetadataVersion())
	}
	if _, err := c.CreateTopic(ctx, 1, spec); !errors.Is(err, engine.ErrTopicExists) || problem.From(err).Code != problem.TopicExists {
		t.Fatalf("second create: %v, want topic exists", err)
	}
	parts := int32(5)
	v2, err := c.UpdateTopic(ctx, 1, "orders", engine.TopicUpdate{Partitions: &parts, Config: map[string]int64{"retention.bytes": 1 << 20}})
	if err != nil || v2 <= v {
		t.Fatalf("update: version %d, %v; want above %d", v2, err, v)
	}
	fewer := int32(1)
	if _, err := c.UpdateTopic(ctx, 1, "orders", engine.TopicUpdate{Partitions: &fewer}); !errors.Is(err, engine.ErrPartitionDecrease) {
		t.Fatalf("decrease: %v, want partition decrease", err)
	}
	if _, err := c.UpdateTopic(ctx, 1, "orders", engine.TopicUpdate{Config: map[string]int64{"nope": 1}}); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatalf("bad config: %v, want invalid request", err)
	}
	internal := engine.TopicSpec{Name: "__consumer_offsets", Partitions: 1, Internal: true}
	if _, err := c.CreateTopic(ctx, 1, internal); err != nil {
		t.Fatalf("internal create: %v", err)
	}
	v3, err := c.DeleteTopic(ctx, 1, "orders")
	if err != nil || v3 <= v2 {
		t.Fatalf("delete: version %d, %v; want above %d", v3, err, v2)
	}
	if _, err := c.DeleteTopic(ctx, 1, "orders"); !errors.Is(err, engine.ErrTopicNotFound) {
		t.Fatalf("second delete: %v, want topic not found", err)
	}
	want := []adminCall{
		{Op: "create", Spec: spec},
		{Op: "create", Spec: spec},
		{Op: "update", Name: "orders", Update: engine.TopicUpdate{Partitions: &parts, Config: map[string]int64{"retention.bytes": 1 << 20}}},
		{Op: "update", Name: "orders", Update: engine.TopicUpdate{Partitions: &fewer}},
		{Op: "update", Name: "orders", Update: engine.TopicUpdate{Config: map[string]int64{"nope": 1}}},
		{Op: "create", Spec: internal},
		{Op: "delete", Name: "orders"},
		{Op: "delete", Name: "orders"},
	}
	if got := ctl.admin.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("controller saw\n%+v\nwant\n%+v", got, want)
	}

	// A broker that takes no topic changes says so.
	other := startBroker(t, 3, withoutAdmin())
	_, err = newClient(t, 2, testSecret, other).CreateTopic(ctx, 3, spec)
	if !errors.Is(err, engine.ErrLeaderNotAvailable) {
		t.Fatalf("create at a non-controller: %v, want leader not available", err)
	}
}

// TestEngineThroughRemote runs two real engines: broker 1 serves a
// partition that broker 2 leads, through the Client as its Remote.
func TestEngineThroughRemote(t *testing.T) {
	b1, b2 := startBroker(t, 1), startBroker(t, 2)
	c := newClient(t, 1, testSecret, b1, b2)
	b1.eng.SetCluster(nil, c)
	placeTopics(t, 1, map[string][]int32{"orders": {2}}, b1.eng, b2.eng)
	ctx := ctxT(t)

	// Produce gives records with a negative timestamp the broker's clock:
	// the last odd record is left out.
	odd := oddRecords()[:4]
	recs := make([]engine.ProduceRecord, 0, len(odd))
	for _, r := range odd {
		recs = append(recs, engine.ProduceRecord{Partition: 0, Record: r})
	}
	res, err := b1.eng.Produce(ctx, "orders", recs, engine.AcksLeader)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.Offset != int64(i) {
			t.Fatalf("record %d: offset %d, %v", i, r.Offset, r.Err)
		}
	}
	p2, err := b2.eng.Partition("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if off := p2.LocalOffsets(); off.LogEnd != 4 {
		t.Fatalf("leader's log end %d, want 4", off.LogEnd)
	}
	read, err := b1.eng.Fetch(ctx, "orders", 0, engine.FetchRequest{Offset: 0, MaxRecords: 10, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if want := withOffsets(odd, 0); !reflect.DeepEqual(read.Records, want) || read.Broker != 2 {
		t.Fatalf("read through broker 1 from broker %d:\n%+v\nwant\n%+v", read.Broker, read.Records, want)
	}
	_, err = b1.eng.Fetch(ctx, "orders", 0, engine.FetchRequest{Offset: 50, MaxRecords: 1, MaxBytes: 1})
	var oor *engine.OffsetOutOfRangeError
	if !errors.As(err, &oor) || oor.HighWatermark != 4 || oor.Offset != 50 {
		t.Fatalf("out of range through broker 1: %v", err)
	}
	ts, err := b1.eng.OffsetForTimestamp("orders", 0, 1767225600000)
	if err != nil || !ts.Found || ts.Offset != 0 {
		t.Fatalf("offset for timestamp through broker 1: %+v, %v", ts, err)
	}
}

// TestDescribeWithPausedLeader: a leader that takes connections but never
// answers (a stopped process) holds a topic description up for about 2 s
// in all, not 2 s for every group of partitions asked at once; the
// partitions it leads show this broker's own offsets.
func TestDescribeWithPausedLeader(t *testing.T) {
	b1 := startBroker(t, 1)
	paused, err := net.Listen("tcp", "127.0.0.1:0") // never accepts: the backlog takes the calls
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = paused.Close() })
	c := peer.NewClient(peer.ClientConfig{Self: 1, Secret: testSecret,
		Resolver: resolver{1: b1.addr, 2: paused.Addr().String()}})
	t.Cleanup(c.Close)
	b1.eng.SetCluster(nil, c)
	leaders := make([]int32, 40) // 16 leader calls run at once
	for i := range leaders {
		leaders[i] = 2
	}
	placeTopics(t, 1, map[string][]int32{"orders": leaders}, b1.eng)

	start := time.Now()
	ti, err := b1.eng.DescribeTopic("orders")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > 3500*time.Millisecond {
		t.Fatalf("described in %v, want about 2 s however many partitions the paused leader has", took)
	}
	for _, p := range ti.Partitions {
		if p.Leader != 2 || p.LogEnd != 0 || p.HighWatermark != 0 {
			t.Fatalf("partition %d: %+v, want leader 2 and this broker's empty replica", p.Partition, p)
		}
	}
}
