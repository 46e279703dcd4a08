package ws_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

const allowedOrigin = "http://console.example"

// TestWebSocket runs the endpoint's scenarios against one real broker; each
// uses its own topics.
func TestWebSocket(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithArgs("--allowed-origins", allowedOrigin, "--max-request-bytes", "1048576"))
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, b *brokertest.Broker)
	}{
		{"OnePartitionInOrder", testOnePartitionInOrder},
		{"AllPartitionsWithAddedPartition", testAllPartitions},
		{"Credits", testCredits},
		{"ProduceAck", testProduceAck},
		{"QueryStringSubscribe", testQuerySubscribe},
		{"Origin", testOrigin},
		{"MalformedFrames", testMalformedFrames},
		{"MissingTopic", testMissingTopic},
		{"Unsubscribe", testUnsubscribe},
		{"TopicDeleted", testTopicDeleted},
		{"NumericOffset", testNumericOffset},
		{"GroupsUnavailable", testGroupsUnavailable},
		{"FrameTooLarge", testFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, b) })
	}
}

func createTopic(t *testing.T, b *brokertest.Broker, name string, partitions int) {
	t.Helper()
	b.JSON(t, http.MethodPost, "/topics", fmt.Sprintf(`{"name":%q,"partitions":%d}`, name, partitions), http.StatusCreated, nil)
}

func produce(t *testing.T, b *brokertest.Broker, topic, body string) {
	t.Helper()
	b.JSON(t, http.MethodPost, "/topics/"+topic+"/records?acks=1", body, http.StatusOK, nil)
}

func testOnePartitionInOrder(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "inorder", 3)
	produce(t, b, "inorder", produceBody(100, 0, 1))
	produce(t, b, "inorder", produceBody(50, 0, 0))
	c := dialWS(t, b.Addr, "", nil)
	c.send(`{"op":"subscribe","id":"s1","topic":"inorder","partition":1,"offset":"earliest","credits":100000}`)
	c.expect("subscribed", "s1")
	// Live records from two concurrent producers, REST and WebSocket.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10; i++ {
			_, _ = b.Post(t, "/topics/inorder/records?acks=1", produceBody(20, 1000+20*i, 1))
		}
	}()
	p := dialWS(t, b.Addr, "", nil)
	for i := 0; i < 10; i++ {
		p.send(fmt.Sprintf(`{"op":"produce","id":"p%d","topic":"inorder","acks":"1","records":%s}`, i,
			strings.TrimSuffix(strings.TrimPrefix(produceBody(30, 2000+30*i, 1), `{"records":`), "}")))
		p.expect("ack", fmt.Sprintf("p%d", i))
	}
	<-done
	recs := c.records("s1", 100+200+300)
	count := checkSequence(t, recs, nil)
	if count[1] != 600 || len(count) != 1 {
		t.Fatalf("counts per partition %v, want only partition 1 with 600", count)
	}
	for _, r := range recs {
		if r.Topic != "inorder" || r.Timestamp == 0 || len(r.Value) == 0 {
			t.Fatalf("bad record %+v", r)
		}
	}
	c.quiet(200 * time.Millisecond)
}

func testAllPartitions(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "allparts", 2)
	produce(t, b, "allparts", produceBody(10, 0, 0)) // before the subscription: not delivered (latest)
	c := dialWS(t, b.Addr, "", nil)
	c.send(`{"op":"subscribe","id":"all","topic":"allparts","offset":"latest","credits":100000}`)
	c.expect("subscribed", "all")
	produce(t, b, "allparts", produceBody(40, 0, 0))
	produce(t, b, "allparts", produceBody(30, 0, 1))
	recs := c.records("all", 70)
	b.JSON(t, http.MethodPatch, "/topics/allparts", `{"partitions":4}`, http.StatusOK, nil)
	// The new partitions get records right away; the subscription notices
	// them when the metadata changes and reads them from their start.
	produce(t, b, "allparts", produceBody(25, 0, 2))
	produce(t, b, "allparts", produceBody(15, 0, 3))
	produce(t, b, "allparts", produceBody(5, 0, 0))
	recs = append(recs, c.records("all", 45)...)
	count := checkSequence(t, recs, map[int32]int64{0: 10})
	want := map[int32]int{0: 45, 1: 30, 2: 25, 3: 15}
	if !reflect.DeepEqual(count, want) {
		t.Fatalf("records per partition %v, want %v", count, want)
	}
	c.quiet(200 * time.Millisecond)
}

func testCredits(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "credits", 1)
	produce(t, b, "credits", produceBody(20, 0, 0))
	c := dialWS(t, b.Addr, "", nil)
	c.send(`{"op":"subscribe","id":"s","topic":"credits","offset":"earliest","credits":5}`)
	c.expect("subscribed", "s")
	recs := c.records("s", 5)
	c.quiet(500 * time.Millisecond)
	c.send(`{"op":"credit","id":"s","records":10}`)
	recs = append(recs, c.records("s", 10)...)
	c.quiet(500 * time.Millisecond)
	c.send(`{"op":"credit","id":"s","records":1000}`)
	recs = append(recs, c.records("s", 5)...)
	checkSequence(t, recs, nil)
	// Credits left over go to records produced later.
	produce(t, b, "credits", produceBody(3, 20, 0))
	recs = append(recs, c.records("s", 3)...)
	checkSequence(t, recs, nil)
}

func testProduceAck(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "acks", 3)
	records := `[{"key":"user-42","value":{"any":"json"},"headers":{"trace":"abc"}},` +
		`{"key_base64":"AAE=","value_base64":"aGVsbG8=","partition":2,"timestamp":1767225600000},{"value":null,"partition":2}]`
	var rest struct {
		Offsets []map[string]any `json:"offsets"`
	}
	b.JSON(t, http.MethodPost, "/topics/acks/records?acks=1", `{"records":`+records+`}`, http.StatusOK, &rest)
	c := dialWS(t, b.Addr, "", nil)
	for _, acks := range []string{`"1"`, `"all"`, `1`, `-1`} {
		c.send(`{"op":"produce","id":"p","topic":"acks","acks":` + acks + `,"records":` + records + `}`)
		f := c.expect("ack", "p")
		if len(f.Offsets) != 3 {
			t.Fatalf("acks %s: %s", acks, f.raw)
		}
		for i, o := range f.Offsets {
			if !reflect.DeepEqual(keys(o), keys(rest.Offsets[i])) || o["partition"] != rest.Offsets[i]["partition"] {
				t.Fatalf("acks %s entry %d: %v, REST gave %v", acks, i, o, rest.Offsets[i])
			}
		}
		// Same partitions, next offsets: REST wrote partition 2's offsets
		// 0 and 1 (plus one record elsewhere); each produce adds two more.
		if o := f.Offsets[2]["offset"].(float64); int(o) != int(f.Offsets[1]["offset"].(float64))+1 {
			t.Fatalf("records of one partition must get consecutive offsets: %s", f.raw)
		}
		if f.Offsets[1]["timestamp"].(float64) != 1767225600000 {
			t.Fatalf("explicit timestamp lost: %s", f.raw)
		}
	}
	c.send(`{"op":"produce","id":"p0","topic":"acks","acks":"0","records":[{"value":1},{"value":2}]}`)
	if f := c.expect("ack", "p0"); f.Accepted == nil || *f.Accepted != 2 {
		t.Fatalf("acks=0 answer %s, want accepted 2", f.raw)
	}
	c.send(`{"op":"produce","id":"bad","topic":"acks","records":[{"value":1,"value_base64":"AA=="}]}`)
	if f := c.expect("error", "bad"); f.Code != "invalid_request" {
		t.Fatalf("invalid record: %s", f.raw)
	}
	c.send(`{"op":"produce","id":"np","topic":"acks","records":[{"value":1,"partition":7}]}`)
	if f := c.expect("error", "np"); f.Code != "partition_not_found" {
		t.Fatalf("unknown partition: %s", f.raw)
	}
	c.send(`{"op":"produce","id":"bn","topic":"__x","records":[{"value":1}]}`)
	if f := c.expect("error", "bn"); f.Code != "invalid_topic_name" {
		t.Fatalf("reserved name: %s", f.raw)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func testQuerySubscribe(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "query", 2)
	produce(t, b, "query", produceBody(7, 0, 1))
	c := dialWS(t, b.Addr, "topic=query&offset=earliest", nil)
	c.expect("subscribed", "default")
	checkSequence(t, c.records("default", 7), nil)
	p := dialWS(t, b.Addr, "topic=query&partition=0&offset=latest", nil)
	p.expect("subscribed", "default")
	produce(t, b, "query", produceBody(3, 0, 0))
	checkSequence(t, p.records("default", 3), nil)
	// A bad query is refused at the handshake, with problem+json.
	_, resp, err := dialRaw(b.Addr, "topic=query&offset=soon", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad offset in query: %v %v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"invalid_request"`) {
		t.Fatalf("handshake refusal body %s", body)
	}
	// A missing topic is an error frame after the handshake, as for messages.
	m := dialWS(t, b.Addr, "topic=nosuch&offset=earliest", nil)
	if f := m.expect("error", "default"); f.Code != "topic_not_found" {
		t.Fatalf("missing topic in query: %s", f.raw)
	}
}

func testOrigin(t *testing.T, b *brokertest.Broker) {
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"", http.StatusSwitchingProtocols},
		{"http://" + b.Addr, http.StatusSwitchingProtocols},
		{allowedOrigin, http.StatusSwitchingProtocols},
		{"http://evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"http://" + b.Addr + ".evil.example", http.StatusForbidden},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		conn, resp, err := dialRaw(b.Addr, "", h)
		if resp == nil {
			t.Fatalf("origin %q: %v", tc.origin, err)
		}
		if resp.StatusCode != tc.want {
			t.Fatalf("origin %q: status %d, want %d", tc.origin, resp.StatusCode, tc.want)
		}
		if conn != nil {
			conn.Close()
		}
		if tc.want == http.StatusForbidden {
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), `"forbidden"`) {
				t.Fatalf("origin %q: body %s", tc.origin, body)
			}
		}
	}
}

func testMalformedFrames(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "malformed", 1)
	c := dialWS(t, b.Addr, "", nil)
	c.send(`{"op":"subscribe","id":"live","topic":"malformed","offset":"latest"}`)
	c.expect("subscribed", "live")
	for _, tc := range []struct{ msg, id string }{
		{`not json`, ""},
		{`{"op":"subscribe","id":"x","topic":"malformed"`, ""},
		{`{"op":"fly","id":"x"}`, "x"},
		{`{"op":"subscribe","topic":"malformed"}`, ""},
		{`{"op":"subscribe","id":"live","topic":"malformed"}`, "live"}, // duplicate id
		{`{"op":"credit","id":"live","records":0}`, "live"},
		{`{"op":"credit","id":"live","records":-3}`, "live"},
		{`{"op":"credit","id":"nosuch","records":3}`, "nosuch"},
		{`{"op":"subscribe","id":"y","topic":"malformed","colour":"red"}`, "y"},
		{`{"op":"unsubscribe","id":"nosuch"}`, "nosuch"},
		{`{"op":"commit","id":"live"}`, "live"}, // not a group subscription
		{`{"op":"produce","id":"live","topic":"malformed","records":[{"value":1}]}`, "live"},
		{`{"op":"subscribe","id":"z","topic":"malformed","partition":5}`, "z"},
	} {
		c.send(tc.msg)
		f := c.next()
		if f.Type != "error" || f.ID != tc.id {
			t.Fatalf("%s: got %s, want an error frame with id %q", tc.msg, f.raw, tc.id)
		}
		if f.Code != "invalid_request" && !(tc.id == "z" && f.Code == "partition_not_found") {
			t.Fatalf("%s: code %s", tc.msg, f.Code)
		}
		if f.Message == "" {
			t.Fatalf("%s: no message", tc.msg)
		}
	}
	if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if f := c.next(); f.Type != "error" || f.Code != "invalid_request" {
		t.Fatalf("binary message: %s", f.raw)
	}
	// The subscription was untouched by all of it.
	produce(t, b, "malformed", produceBody(4, 0, 0))
	checkSequence(t, c.records("live", 4), nil)
}

func testMissingTopic(t *testing.T, b *brokertest.Broker) {
	c := dialWS(t, b.Addr, "", nil)
	for _, msg := range []string{
		`{"op":"subscribe","id":"m1","topic":"never-created","offset":"earliest"}`,
		`{"op":"subscribe","id":"m2","topic":"never-created","partition":0}`,
	} {
		c.send(msg)
		f := c.next()
		if f.Type != "error" || f.Code != "topic_not_found" {
			t.Fatalf("%s: %s", msg, f.raw)
		}
	}
	if status, body := b.Get(t, "/topics/never-created"); status != http.StatusNotFound {
		t.Fatalf("subscribing created the topic: %d %s", status, body)
	}
}

func testUnsubscribe(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "unsub", 1)
	c := dialWS(t, b.Addr, "", nil)
	c.send(`{"op":"subscribe","id":"u","topic":"unsub","offset":"latest"}`)
	c.expect("subscribed", "u")
	produce(t, b, "unsub", produceBody(2, 0, 0))
	c.records("u", 2)
	c.send(`{"op":"unsubscribe","id":"u"}`)
	c.expect("unsubscribed", "u")
	produce(t, b, "unsub", produceBody(2, 0, 0))
	// The id is free again; a new subscription starts where it is told.
	c.send(`{"op":"subscribe","id":"u","topic":"unsub","offset":"earliest","credits":3}`)
	c.expect("subscribed", "u")
	checkSequence(t, c.records("u", 3), nil)
	c.quiet(200 * time.Millisecond)
}

func testTopicDeleted(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "deleted", 2)
	c := dialWS(t, b.Addr, "", nil)
	c.send(`{"op":"subscribe","id":"d","topic":"deleted"}`)
	c.expect("subscribed", "d")
	if status, body := b.Do(t, http.MethodDelete, "/topics/deleted", "", nil); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}
	if f := c.expect("error", "d"); f.Code != "topic_not_found" {
		t.Fatalf("after delete: %s", f.raw)
	}
	c.send(`{"op":"unsubscribe","id":"d"}`)
	c.expect("error", "d") // the subscription is gone
}

func testNumericOffset(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "numeric", 1)
	produce(t, b, "numeric", produceBody(10, 0, 0))
	c := dialWS(t, b.Addr, "", nil)
	c.send(`{"op":"subscribe","id":"n","topic":"numeric","partition":0,"offset":6}`)
	c.expect("subscribed", "n")
	checkSequence(t, c.records("n", 4), map[int32]int64{0: 6})
	c.send(`{"op":"subscribe","id":"far","topic":"numeric","partition":0,"offset":11}`)
	f := c.expect("error", "far")
	var body struct {
		Code string `json:"code"`
		HW   int64  `json:"high_watermark"`
	}
	if err := json.Unmarshal([]byte(f.raw), &body); err != nil || body.Code != "offset_out_of_range" || body.HW != 10 {
		t.Fatalf("offset past the high watermark: %s", f.raw)
	}
}

func testGroupsUnavailable(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, "grouped", 1)
	c := dialWS(t, b.Addr, "", nil)
	c.send(`{"op":"subscribe","id":"g","group":"billing","topics":["grouped"]}`)
	f := c.next()
	if f.Type == "error" {
		if !strings.Contains(f.Message, "groups are not available") {
			t.Fatalf("group subscription: %s", f.raw)
		}
		return
	}
	// The broker serves groups: the answer is subscribed and an assignment.
	if f.Type != "subscribed" {
		t.Fatalf("group subscription: %s", f.raw)
	}
	c.expect("assignment", "g")
}

// TestShutdownClosesSockets: SIGTERM closes every socket with 1001 and the
// broker exits cleanly.
func TestShutdownClosesSockets(t *testing.T) {
	b := brokertest.Start(t)
	createTopic(t, b, "shut", 1)
	var clients []*wsClient
	for i := 0; i < 3; i++ {
		c := dialWS(t, b.Addr, "topic=shut", nil)
		c.expect("subscribed", "default")
		clients = append(clients, c)
	}
	if err := b.Stop(t); err != nil {
		t.Fatalf("broker exit: %v\n%s", err, b.Logs())
	}
	for _, c := range clients {
		if ce := c.closed(); ce.Code != websocket.CloseGoingAway {
			t.Fatalf("close code %d (%q), want 1001", ce.Code, ce.Text)
		}
	}
}

// TestAuth: with --auth-tokens the handshake needs a token (?token= works
// for browsers), and every subscription and produce is checked against the
// token's ACLs.
func TestAuth(t *testing.T) {
	file := t.TempDir() + "/tokens.json"
	tokens := `[{"token":"admin-secret","acls":[{"resource":"topic","pattern":"*","ops":["read","write","admin"]},` +
		`{"resource":"group","pattern":"*","ops":["read"]}]},` +
		`{"token":"reader","acls":[{"resource":"topic","pattern":"orders","ops":["read"]}]}]`
	if err := os.WriteFile(file, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t, brokertest.WithArgs("--auth-tokens", file))
	admin := http.Header{"Authorization": {"Bearer admin-secret"}}
	for _, name := range []string{"orders", "secret"} {
		req, _ := http.NewRequest(http.MethodPost, b.URL+"/topics", strings.NewReader(`{"name":"`+name+`"}`))
		req.Header = admin.Clone()
		req.Header.Set("Content-Type", "application/json")
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %d", name, resp.StatusCode)
		}
	}
	if _, resp, err := dialRaw(b.Addr, "", nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %v %v", err, resp)
	}
	if _, resp, err := dialRaw(b.Addr, "token=wrong", nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown token: %v %v", err, resp)
	}
	c := dialWS(t, b.Addr, "token=reader", nil)
	c.send(`{"op":"subscribe","id":"ok","topic":"orders"}`)
	c.expect("subscribed", "ok")
	for _, msg := range []string{
		`{"op":"subscribe","id":"no","topic":"secret"}`,
		`{"op":"produce","id":"no","topic":"orders","records":[{"value":1}]}`,
		`{"op":"subscribe","id":"no","group":"g","topics":["orders"]}`,
	} {
		c.send(msg)
		if f := c.expect("error", "no"); f.Code != "forbidden" {
			t.Fatalf("%s: %s", msg, f.raw)
		}
	}
	a := dialWS(t, b.Addr, "", admin)
	a.send(`{"op":"produce","id":"p","topic":"orders","acks":"1","records":[{"value":1}]}`)
	a.expect("ack", "p")
	checkSequence(t, c.records("ok", 1), nil)
}

// testFrameTooLarge: a message above --max-request-bytes closes the socket
// with 1009.
func testFrameTooLarge(t *testing.T, b *brokertest.Broker) {
	c := dialWS(t, b.Addr, "", nil)
	big := `{"op":"produce","id":"big","topic":"x","records":[{"value":"` + strings.Repeat("a", 1<<20) + `"}]}`
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if ce := c.closed(); ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("close %d %q, want 1009", ce.Code, ce.Text)
	}
}
