package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// tokenFile holds the API.md example plus tokens for the other decisions.
const tokenFile = `[
 {"token":"admin-secret","acls":[{"resource":"topic","pattern":"*","ops":["read","write","admin"]},
                                 {"resource":"group","pattern":"*","ops":["read"]},
                                 {"resource":"cluster","pattern":"*","ops":["read","admin"]}]},
 {"token":"reader","acls":[{"resource":"topic","pattern":"orders","ops":["read"]}]},
 {"token":"writer","acls":[{"resource":"topic","pattern":"orders*","ops":["write"]}]},
 {"token":"ops","acls":[{"resource":"cluster","pattern":"*","ops":["read"]}]},
 {"token":"consumer","acls":[{"resource":"topic","pattern":"orders","ops":["read"]},
                             {"resource":"group","pattern":"billing*","ops":["read"]}]},
 {"token":"none"}
]`

func writeTokens(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "tokens.json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// call sends a request with an optional bearer token and returns status,
// headers and body.
func call(t *testing.T, b *brokertest.Broker, token, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func mustCall(t *testing.T, b *brokertest.Broker, token, method, path, body string, want int) []byte {
	t.Helper()
	status, _, out := call(t, b, token, method, path, body)
	if status != want {
		t.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, token, status, want, out)
	}
	return out
}

func startWithTokens(t *testing.T, content string, args ...string) (*brokertest.Broker, string) {
	t.Helper()
	path := writeTokens(t, t.TempDir(), content)
	b := brokertest.Start(t, brokertest.WithArgs(append([]string{"--auth-tokens", path}, args...)...))
	return b, path
}

type aclCase struct {
	token, method, path, body string
	want                      int
}

func runACLCases(t *testing.T, b *brokertest.Broker, cases []aclCase) {
	t.Helper()
	for _, tc := range cases {
		status, hdr, out := call(t, b, tc.token, tc.method, tc.path, tc.body)
		if status != tc.want {
			t.Errorf("%s %s as %q: status %d, want %d: %s", tc.method, tc.path, tc.token, status, tc.want, out)
			continue
		}
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden:
			var d problem.Details
			if err := json.Unmarshal(out, &d); err != nil || hdr.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s as %q: not problem+json: %s", tc.method, tc.path, tc.token, out)
			}
			want := map[int]string{401: "unauthorized", 403: "forbidden"}[status]
			if d.Code != want {
				t.Errorf("%s %s as %q: code %q, want %q", tc.method, tc.path, tc.token, d.Code, want)
			}
			if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: 401 without WWW-Authenticate: Bearer", tc.method, tc.path)
			}
		}
	}
}

func TestACLDecisions(t *testing.T) {
	b, _ := startWithTokens(t, tokenFile)
	for _, name := range []string{"orders", "orders.eu", "payments"} {
		mustCall(t, b, "admin-secret", "POST", "/topics", `{"name":"`+name+`"}`, 201)
	}
	mustCall(t, b, "admin-secret", "POST", "/topics/orders/records", `{"records":[{"value":1}]}`, 200)

	runACLCases(t, b, []aclCase{
		// Open endpoints need no token, even a wrong one.
		{"", "GET", "/healthz", "", 200},
		{"", "GET", "/readyz", "", 200},
		{"bogus", "GET", "/healthz", "", 200},
		{"", "GET", "/", "", 200},
		// Missing or unknown token.
		{"", "GET", "/topics", "", 401},
		{"bogus", "GET", "/topics", "", 401},
		{"admin-secre", "GET", "/cluster", "", 401},
		{"", "GET", "/topics/orders/partitions/0/records", "", 401},
		{"", "POST", "/topics/orders/records", `{"records":[{"value":1}]}`, 401},
		{"", "GET", "/ws", "", 401},
		// Cluster read: /cluster and /metrics.
		{"ops", "GET", "/cluster", "", 200},
		{"ops", "GET", "/metrics", "", 200},
		{"admin-secret", "GET", "/cluster", "", 200},
		{"reader", "GET", "/cluster", "", 403},
		{"reader", "GET", "/metrics", "", 403},
		{"none", "GET", "/cluster", "", 403},
		// Topic admin: create, patch, delete.
		{"reader", "POST", "/topics", `{"name":"new"}`, 403},
		{"writer", "POST", "/topics", `{"name":"orders.new"}`, 403},
		{"ops", "POST", "/topics", `{"name":"new"}`, 403},
		{"admin-secret", "POST", "/topics", `{"name":"new"}`, 201},
		{"reader", "PATCH", "/topics/orders", `{"partitions":2}`, 403},
		{"admin-secret", "PATCH", "/topics/orders", `{"partitions":2}`, 200},
		{"reader", "DELETE", "/topics/new", "", 403},
		{"writer", "DELETE", "/topics/orders.eu", "", 403},
		{"admin-secret", "DELETE", "/topics/new", "", 204},
		// Describe: any op on the topic.
		{"reader", "GET", "/topics/orders", "", 200},
		{"writer", "GET", "/topics/orders.eu", "", 200},
		{"reader", "GET", "/topics/payments", "", 403},
		{"none", "GET", "/topics/orders", "", 403},
		// Produce: topic write, by exact name or prefix.
		{"writer", "POST", "/topics/orders/records", `{"records":[{"value":2}]}`, 200},
		{"writer", "POST", "/topics/orders.eu/records", `{"records":[{"value":2}]}`, 200},
		{"writer", "POST", "/topics/orders/partitions/0/records", `{"records":[{"value":3}]}`, 200},
		{"writer", "POST", "/topics/payments/records", `{"records":[{"value":2}]}`, 403},
		{"reader", "POST", "/topics/orders/records", `{"records":[{"value":2}]}`, 403},
		{"admin-secret", "POST", "/topics/payments/records", `{"records":[{"value":2}]}`, 200},
		// Read: topic read; write does not imply read.
		{"reader", "GET", "/topics/orders/partitions/0/records", "", 200},
		{"reader", "GET", "/topics/orders/partitions/0/offsets", "", 200},
		{"reader", "GET", "/topics/payments/partitions/0/records", "", 403},
		{"reader", "GET", "/topics/orders.eu/partitions/0/records", "", 403},
		{"writer", "GET", "/topics/orders/partitions/0/records", "", 403},
		{"admin-secret", "GET", "/topics/payments/partitions/0/records", "", 200},
		// Unknown routes reveal nothing either way.
		{"", "GET", "/nowhere", "", 404},
	})

	// Lists show what the token can see.
	for token, want := range map[string]string{
		"reader": "orders", "writer": "orders,orders.eu", "none": "",
		"admin-secret": "orders,orders.eu,payments",
	} {
		var list struct {
			Topics []struct{ Name string } `json:"topics"`
		}
		if err := json.Unmarshal(mustCall(t, b, token, "GET", "/topics", "", 200), &list); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tp := range list.Topics {
			names = append(names, tp.Name)
		}
		if got := strings.Join(names, ","); got != want {
			t.Errorf("GET /topics as %q lists %q, want %q", token, got, want)
		}
	}
	if strings.Contains(b.Logs(), "admin-secret") || strings.Contains(b.Logs(), "reader\"") {
		t.Error("the broker logged a token")
	}
}

// TestGroupACLs covers the consumer-group routes, REST and WebSocket.
func TestGroupACLs(t *testing.T) {
	b, _ := startWithTokens(t, tokenFile)
	mustCall(t, b, "admin-secret", "POST", "/topics", `{"name":"orders"}`, 201)
	mustCall(t, b, "admin-secret", "POST", "/topics", `{"name":"payments"}`, 201)
	join := `{"topics":["orders"],"auto_offset_reset":"earliest"}`
	runACLCases(t, b, []aclCase{
		{"reader", "POST", "/groups/billing/members", join, 403},
		{"consumer", "POST", "/groups/other/members", join, 403},
		{"consumer", "POST", "/groups/billing/members", `{"topics":["orders","payments"]}`, 403},
		{"", "GET", "/groups", "", 401},
		{"reader", "GET", "/groups/billing", "", 403},
		{"reader", "GET", "/groups/billing/lag", "", 403},
	})
	var m struct {
		MemberID string `json:"member_id"`
	}
	if err := json.Unmarshal(mustCall(t, b, "consumer", "POST", "/groups/billing/members", join, 201), &m); err != nil {
		t.Fatal(err)
	}
	member := "/groups/billing/members/" + m.MemberID
	mustCall(t, b, "admin-secret", "POST", "/groups/other/members", join, 201)
	// Lists show the groups the token can see.
	for _, path := range []string{"/groups", "/lag"} {
		for token, want := range map[string]string{"consumer": "billing", "admin-secret": "billing,other", "reader": ""} {
			var list struct {
				Groups []struct{ Group string } `json:"groups"`
			}
			if err := json.Unmarshal(mustCall(t, b, token, "GET", path, "", 200), &list); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, g := range list.Groups {
				names = append(names, g.Group)
			}
			slices.Sort(names)
			if got := strings.Join(names, ","); got != want {
				t.Errorf("GET %s as %q lists %q, want %q", path, token, got, want)
			}
		}
	}
	// WebSocket group subscriptions need group read and topic read.
	c, _, err := websocket.DefaultDialer.Dial("ws://"+b.Addr+"/ws?token=consumer", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expectFrame(t, c, `{"op":"subscribe","id":"g1","group":"other","topics":["orders"]}`, "g1", "error", "forbidden")
	expectFrame(t, c, `{"op":"subscribe","id":"g2","group":"billing","topics":["payments"]}`, "g2", "error", "forbidden")
	expectFrame(t, c, `{"op":"subscribe","id":"g3","group":"billing-ws","topics":["orders"]}`, "g3", "subscribed", "")
	runACLCases(t, b, []aclCase{
		{"consumer", "POST", member + "/heartbeat", "", 200},
		{"consumer", "GET", member + "/records?timeout_ms=0", "", 200},
		{"consumer", "POST", member + "/commit", "", 200},
		{"reader", "POST", member + "/commit", "", 403},
		{"reader", "POST", member + "/heartbeat", "", 403},
		{"consumer", "GET", "/groups/billing", "", 200},
		{"consumer", "GET", "/groups/billing/lag", "", 200},
		{"consumer", "PUT", "/groups/billing/offsets", `{"topic":"orders","to":"earliest"}`, 403},
		{"consumer", "DELETE", "/groups/billing", "", 403},
		{"consumer", "DELETE", member, "", 204},
		{"admin-secret", "PUT", "/groups/billing/offsets", `{"topic":"orders","to":"earliest"}`, 200},
		{"admin-secret", "DELETE", "/groups/billing", "", 204},
	})
}

func TestWebSocketAuth(t *testing.T) {
	b, _ := startWithTokens(t, tokenFile)
	mustCall(t, b, "admin-secret", "POST", "/topics", `{"name":"orders"}`, 201)
	mustCall(t, b, "admin-secret", "POST", "/topics", `{"name":"payments"}`, 201)
	wsURL := "ws://" + b.Addr + "/ws"

	for _, u := range []string{wsURL, wsURL + "?token=bogus"} {
		_, resp, err := websocket.DefaultDialer.Dial(u, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("handshake %s: err %v, status %v; want 401", u, err, resp)
		}
	}
	// ?token= and the Authorization header both authenticate.
	hdr := http.Header{"Authorization": {"Bearer reader"}}
	for _, dial := range []struct {
		url string
		hdr http.Header
	}{{wsURL + "?token=reader", nil}, {wsURL, hdr}} {
		c, _, err := websocket.DefaultDialer.Dial(dial.url, dial.hdr)
		if err != nil {
			t.Fatalf("handshake %s: %v", dial.url, err)
		}
		expectFrame(t, c, `{"op":"subscribe","id":"s1","topic":"orders","offset":"earliest"}`, "s1", "subscribed", "")
		expectFrame(t, c, `{"op":"subscribe","id":"s2","topic":"payments","offset":"earliest"}`, "s2", "error", "forbidden")
		expectFrame(t, c, `{"op":"produce","id":"p1","topic":"orders","records":[{"value":1}]}`, "p1", "error", "forbidden")
		c.Close()
	}
	// A subscription at connect is checked too.
	c, _, err := websocket.DefaultDialer.Dial(wsURL+"?token=reader&topic=payments", nil)
	if err == nil {
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil || !strings.Contains(string(msg), `"forbidden"`) {
			t.Fatalf("query subscription to payments: %s, %v; want a forbidden error frame", msg, err)
		}
	}
}

// expectFrame sends msg and reads frames until one about id arrives; it must
// be of type typ (and code, for errors).
func expectFrame(t *testing.T, c *websocket.Conn, msg, id, typ, code string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s %s: %v", typ, id, err)
		}
		var f struct{ Type, ID, Code string }
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		if f.ID != id || (f.Type != typ && f.Type != "error") {
			continue
		}
		if f.Type != typ || f.Code != code {
			t.Fatalf("after %s: got %s, want type %q code %q", msg, data, typ, code)
		}
		return
	}
}

func TestReloadOnSIGHUP(t *testing.T) {
	b, path := startWithTokens(t, `[{"token":"old-token","acls":[{"resource":"cluster","pattern":"*","ops":["read"]},
		{"resource":"topic","pattern":"*","ops":["read","admin"]}]}]`)
	mustCall(t, b, "old-token", "GET", "/cluster", "", 200)
	mustCall(t, b, "new-token", "GET", "/cluster", "", 401)
	mustCall(t, b, "old-token", "POST", "/topics", `{"name":"orders"}`, 201)
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+b.Addr+"/ws?token=old-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	expectFrame(t, ws, `{"op":"subscribe","id":"s1","topic":"orders"}`, "s1", "subscribed", "")

	writeTokens(t, filepath.Dir(path), `[{"token":"new-token","acls":[{"resource":"cluster","pattern":"*","ops":["read"]}]}]`)
	b.Signal(syscall.SIGHUP)
	waitLog(t, b, "token file reloaded", 1)
	mustCall(t, b, "new-token", "GET", "/cluster", "", 200)
	mustCall(t, b, "old-token", "GET", "/cluster", "", 401)
	// A socket opened with the removed token can start nothing new.
	expectFrame(t, ws, `{"op":"subscribe","id":"s2","topic":"orders"}`, "s2", "error", "unauthorized")

	// A broken file keeps the tokens in force.
	writeTokens(t, filepath.Dir(path), `[{"token":"broken-token","acls":[{"resource":"cluster","pattern":"a*b","ops":["read"]}]}]`)
	b.Signal(syscall.SIGHUP)
	waitLog(t, b, "token file reload failed", 1)
	mustCall(t, b, "new-token", "GET", "/cluster", "", 200)
	mustCall(t, b, "broken-token", "GET", "/cluster", "", 401)
	if strings.Contains(b.Logs(), "broken-token") || strings.Contains(b.Logs(), "new-token") {
		t.Error("the broker logged a token")
	}
	// A missing file too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	b.Signal(syscall.SIGHUP)
	waitLog(t, b, "token file reload failed", 2)
	mustCall(t, b, "new-token", "GET", "/cluster", "", 200)
}

// waitLog polls the broker's log until msg appeared n times: the reload
// happens in the broker, and its log is all there is to be told by.
func waitLog(t *testing.T, b *brokertest.Broker, msg string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(b.Logs(), msg) >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log %q did not appear %d times:\n%s", msg, n, b.Logs())
}

func TestBadTokenFileRefusesToStart(t *testing.T) {
	path := writeTokens(t, t.TempDir(), `[{"token":"t","acls":[{"resource":"topic","pattern":"*","ops":["delete"]}]}]`)
	out, err := runBinary(t, "serve", "--http-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--auth-tokens", path)
	if err == nil || !strings.Contains(out, `op "delete"`) {
		t.Fatalf("broker with a bad token file: %v\n%s", err, out)
	}
}

// runBinary runs the fjord binary to completion (within 30 s).
func runBinary(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, brokertest.Binary(t), args...).CombinedOutput()
	return string(out), err
}
