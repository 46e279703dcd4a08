package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gorilla/websocket"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// operation is one documented method on one path.
type operation struct {
	method, path string
	key          string // method and path with parameters blanked: "GET /topics/{}"
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

// contractCall says how the contract test calls an operation it knows:
// the body to send and the status a correct broker answers. Operations it
// does not know are called with a body built from their schema and only
// checked against the document.
type contractCall struct {
	body   func(f *fixtures) string
	query  url.Values
	status int
}

var contractCalls = map[string]contractCall{
	"GET /healthz":      {status: 200},
	"GET /readyz":       {status: 200},
	"GET /cluster":      {status: 200},
	"GET /metrics":      {status: 200},
	"GET /openapi.json": {status: 200},
	"GET /docs":         {status: 302},
	"POST /topics": {status: 201, body: func(f *fixtures) string {
		return `{"name":"` + f.topic + `","partitions":2,"config":{"retention.ms":-1}}`
	}},
	"GET /topics":       {status: 200},
	"GET /topics/{}":    {status: 200},
	"PATCH /topics/{}":  {status: 200, body: func(*fixtures) string { return `{"partitions":3}` }},
	"DELETE /topics/{}": {status: 204},
	"POST /topics/{}/records": {status: 200, body: func(*fixtures) string {
		return `{"records":[{"key":"user-42","value":{"any":"json"},"headers":{"trace":"abc"}},
			{"key_base64":"AAE=","value_base64":"aGVsbG8=","partition":1,"timestamp":1767225600000},
			{"value":null,"partition":0}]}`
	}},
	"POST /topics/{}/partitions/{}/records": {status: 200, body: func(*fixtures) string {
		return `{"records":[{"key":"k","value":"text","headers":{"h":"v"}}]}`
	}},
	"GET /topics/{}/partitions/{}/records": {status: 200, query: url.Values{"offset": {"0"}}},
	"GET /topics/{}/partitions/{}/offsets": {status: 200, query: url.Values{"timestamp": {"1"}}},
	"GET /ws":                              {status: http.StatusSwitchingProtocols},

	"POST /groups/{}/members": {status: 201, body: func(f *fixtures) string {
		return `{"topics":["` + f.topic + `"],"auto_offset_reset":"earliest","session_timeout_ms":30000}`
	}},
	"GET /groups/{}/members/{}/records":    {status: 200, query: url.Values{"timeout_ms": {"0"}}},
	"POST /groups/{}/members/{}/heartbeat": {status: 200},
	"POST /groups/{}/members/{}/commit":    {status: 200},
	"POST /groups/{}/members/{}/seek": {status: 200, body: func(f *fixtures) string {
		return `{"topic":"` + f.topic + `","partition":0,"offset":"earliest"}`
	}},
	"DELETE /groups/{}/members/{}": {status: 204},
	"GET /groups":                  {status: 200},
	"GET /groups/{}":               {status: 200},
	"GET /groups/{}/lag":           {status: 200},
	"GET /lag":                     {status: 200},
	"PUT /groups/{}/offsets": {status: 200, body: func(f *fixtures) string {
		return `{"topic":"` + f.topic + `","to":"earliest"}`
	}},
	"DELETE /groups/{}": {status: 204},
}

// phase orders the calls so that each finds the state it needs: the topic
// first, records before reads, a group member before its calls, members
// gone before group resets and deletes, the topic deleted last.
func phase(o operation) int {
	m, p := o.method, strings.TrimPrefix(o.key, o.method+" ")
	switch {
	case m == "POST" && p == "/topics":
		return 0
	case strings.HasPrefix(p, "/topics/") && m != "GET" && m != "DELETE":
		return 1
	case m == "POST" && p == "/groups/{}/members":
		return 3
	case m == "GET" && p == "/groups/{}/members/{}/records":
		return 4
	case strings.HasPrefix(p, "/groups/{}/members/{}") && m != "DELETE":
		return 5
	case m == "DELETE" && p == "/groups/{}/members/{}":
		return 7
	case m == "PUT" && p == "/groups/{}/offsets":
		return 8
	case m == "DELETE" && p == "/topics/{}":
		return 10
	case m == "DELETE":
		return 9
	case strings.HasPrefix(p, "/groups") || p == "/lag":
		return 6
	case m == "GET":
		return 2
	}
	return 6
}

// fixtures are the values path parameters take; member is learned from
// the answer that created it.
type fixtures struct {
	topic, group, member string
}

func (f *fixtures) pathParam(name string) (string, error) {
	switch name {
	case "topic", "t":
		return f.topic, nil
	case "partition", "p":
		return "0", nil
	case "group", "g", "group_id":
		return f.group, nil
	case "member", "m", "member_id":
		if f.member == "" {
			return "", fmt.Errorf("no member created yet for {%s}", name)
		}
		return f.member, nil
	}
	return "", fmt.Errorf("contract_test.go has no value for path parameter {%s}", name)
}

// TestContract calls every operation of the document once against a real
// broker and checks that each answer's status is documented for it and its
// body matches the documented schema (kin-openapi's openapi3filter). The
// request is checked against the document too.
func TestContract(t *testing.T) {
	doc := loadDocument(t)
	b := brokertest.Start(t)
	f := &fixtures{topic: "contract-orders", group: "contract-group"}
	var ops []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{method: method, path: path, item: item, op: op,
				key: method + " " + paramRE.ReplaceAllString(path, "{}")})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if pi, pj := phase(ops[i]), phase(ops[j]); pi != pj {
			return pi < pj
		}
		return ops[i].key < ops[j].key
	})
	client := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, o := range ops {
		t.Run(o.key, func(t *testing.T) {
			call, known := contractCalls[o.key]
			if !known {
				t.Logf("%s is not in contractCalls: called with a body built from its schema; only checked against the document", o.key)
			}
			if o.path == "/ws" {
				checkWebSocket(t, doc, o, b.Addr, f)
				return
			}
			req, params := buildRequest(t, b.URL, o, f, call)
			validateRequest(t, doc, o, req, params)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			validateResponse(t, doc, o, req, params, resp, body)
			if known && resp.StatusCode != call.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, call.status, body)
			}
			var created struct {
				MemberID string `json:"member_id"`
			}
			if json.Unmarshal(body, &created) == nil && created.MemberID != "" {
				f.member = created.MemberID
			}
		})
	}
}

// buildRequest fills path parameters from the fixtures, sets timeout_ms to
// 0 where the document allows it (no long poll in a contract test), sets
// required query parameters from their default, example or first enum value,
// and sends the known body or one built from the schema.
func buildRequest(t *testing.T, base string, o operation, f *fixtures, call contractCall) (*http.Request, map[string]string) {
	t.Helper()
	path, params, q := o.path, map[string]string{}, url.Values{}
	for _, pr := range append(append(openapi3.Parameters{}, o.item.Parameters...), o.op.Parameters...) {
		p := pr.Value
		switch p.In {
		case openapi3.ParameterInPath:
			v, err := f.pathParam(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			params[p.Name] = v
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
		case openapi3.ParameterInQuery:
			s := p.Schema.Value
			switch {
			case p.Name == "timeout_ms" && s.Min != nil && *s.Min == 0:
				q.Set(p.Name, "0")
			case p.Required:
				v := sample(s)
				if v == nil {
					t.Fatalf("no value for required query parameter %s", p.Name)
				}
				q.Set(p.Name, fmt.Sprint(v))
			}
		}
	}
	for k, v := range call.query {
		q[k] = v
	}
	var body io.Reader
	ctype := ""
	switch {
	case call.body != nil:
		body, ctype = strings.NewReader(call.body(f)), "application/json"
	case o.op.RequestBody != nil && o.op.RequestBody.Value.Required:
		mt := o.op.RequestBody.Value.Content.Get("application/json")
		if mt == nil {
			t.Fatalf("required body without application/json: add %s to contractCalls", o.key)
		}
		raw, err := json.Marshal(sample(mt.Schema.Value))
		if err != nil {
			t.Fatal(err)
		}
		body, ctype = bytes.NewReader(raw), "application/json"
	}
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(o.method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req, params
}

// sample builds a value a schema accepts from its example, default, enum
// and required properties.
func sample(s *openapi3.Schema) any {
	switch {
	case s == nil:
		return nil
	case s.Example != nil:
		return s.Example
	case s.Default != nil:
		return s.Default
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	switch {
	case s.Type.Is(openapi3.TypeObject):
		out := map[string]any{}
		for _, name := range s.Required {
			if p := s.Properties[name]; p != nil {
				out[name] = sample(p.Value)
			}
		}
		return out
	case s.Type.Is(openapi3.TypeArray):
		return []any{}
	case s.Type.Is(openapi3.TypeString):
		return "contract"
	case s.Type.Is(openapi3.TypeInteger), s.Type.Is(openapi3.TypeNumber):
		if s.Min != nil {
			return *s.Min
		}
		return 0
	case s.Type.Is(openapi3.TypeBoolean):
		return false
	}
	return nil
}

func route(doc *openapi3.T, o operation) *routers.Route {
	return &routers.Route{Spec: doc, Path: o.path, PathItem: o.item, Method: o.method, Operation: o.op}
}

func validateRequest(t *testing.T, doc *openapi3.T, o operation, req *http.Request, params map[string]string) {
	t.Helper()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route(doc, o),
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
			SkipSettingDefaults: true}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		t.Errorf("the test's request does not match the document: %v", err)
	}
}

// validateResponse fails on a status the operation does not document, and
// on a content type or body that does not match the documented one.
func validateResponse(t *testing.T, doc *openapi3.T, o operation, req *http.Request, params map[string]string,
	resp *http.Response, body []byte) {
	t.Helper()
	if o.op.Responses.Status(resp.StatusCode) == nil {
		t.Errorf("status %d is not documented for %s (documented: %v): %s",
			resp.StatusCode, o.key, keys(o.op.Responses.Map()), body)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route(doc, o)},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%d %s does not match the document: %v\nbody: %.2000s", resp.StatusCode, resp.Header.Get("Content-Type"), err, body)
	}
}

// checkWebSocket opens a real WebSocket (101), then makes the handshakes
// the document says are refused: a plain GET (400) and a foreign Origin
// (403). Each status must be documented, each problem body valid.
func checkWebSocket(t *testing.T, doc *openapi3.T, o operation, addr string, f *fixtures) {
	u := "ws://" + addr + "/ws?" + url.Values{"topic": {f.topic}, "offset": {"earliest"}}.Encode()
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var frame struct{ Type, ID string }
	if err := conn.ReadJSON(&frame); err != nil || frame.ID != "default" {
		t.Errorf("first frame %+v, %v: want one about subscription default", frame, err)
	}
	conn.Close()
	if o.op.Responses.Status(resp.StatusCode) == nil {
		t.Errorf("handshake status %d is not documented", resp.StatusCode)
	}

	for _, tc := range []struct {
		name   string
		header http.Header
		dial   bool
		want   int
	}{
		{"plain GET", nil, false, http.StatusBadRequest},
		{"foreign origin", http.Header{"Origin": {"http://evil.example"}}, true, http.StatusForbidden},
	} {
		var (
			resp *http.Response
			err  error
		)
		httpURL := "http://" + addr + "/ws?" + url.Values{"topic": {f.topic}}.Encode()
		if tc.dial {
			var c *websocket.Conn
			c, resp, err = websocket.DefaultDialer.Dial(u, tc.header)
			if err == nil {
				c.Close()
				t.Errorf("%s: handshake accepted", tc.name)
				continue
			}
		} else {
			resp, err = http.Get(httpURL)
		}
		if resp == nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.want, body)
		}
		req, _ := http.NewRequest(http.MethodGet, httpURL, nil)
		validateResponse(t, doc, o, req, nil, resp, body)
	}
}
