package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// testBadProduce sends every kind of bad produce request and checks the
// problem answer, and that nothing was written.
func testBadProduce(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"bad","partitions":2,"config":{"max.message.bytes":100}}`)
	produce(t, b, "/topics/bad/records", `{"records":[{"value":"seed","partition":0}]}`)
	big := strings.Repeat("x", 101)
	json := "application/json"
	tests := []struct {
		name   string
		path   string
		ctype  string
		body   string
		status int
		code   string
	}{
		{"malformed JSON", "/topics/bad/records", json, `{"records":[{"value":1}`, 400, "invalid_request"},
		{"malformed value", "/topics/bad/records", json, `{"records":[{"value":{"a":}}]}`, 400, "invalid_request"},
		{"trailing data", "/topics/bad/records", json, `{"records":[{"value":1}]} x`, 400, "invalid_request"},
		{"trailing object", "/topics/bad/records", json, `{"records":[{"value":1}]}{}`, 400, "invalid_request"},
		{"one invalid record", "/topics/bad/records", json, `{"records":[{"value":1},{"value":2,"colour":1}]}`, 400, "invalid_request"},
		{"value and value_base64", "/topics/bad/records", json, `{"records":[{"value":1},{"value":1,"value_base64":"AA=="}]}`, 400, "invalid_request"},
		{"null value and value_base64", "/topics/bad/records", json, `{"records":[{"value":null,"value_base64":"AA=="}]}`, 400, "invalid_request"},
		{"key and key_base64", "/topics/bad/records", json, `{"records":[{"key":"a","key_base64":"AA=="}]}`, 400, "invalid_request"},
		{"bad base64 value", "/topics/bad/records", json, `{"records":[{"value":1},{"value_base64":"!!!"}]}`, 400, "invalid_request"},
		{"bad base64 key", "/topics/bad/records", json, `{"records":[{"key_base64":"AAE"}]}`, 400, "invalid_request"},
		{"key not a string", "/topics/bad/records", json, `{"records":[{"key":1}]}`, 400, "invalid_request"},
		{"header not a string", "/topics/bad/records", json, `{"records":[{"headers":{"a":1}}]}`, 400, "invalid_request"},
		{"headers not an object", "/topics/bad/records", json, `{"records":[{"headers":["a"]}]}`, 400, "invalid_request"},
		{"negative partition", "/topics/bad/records", json, `{"records":[{"partition":-1}]}`, 400, "invalid_request"},
		{"partition as string", "/topics/bad/records", json, `{"records":[{"partition":"1"}]}`, 400, "invalid_request"},
		{"fractional partition", "/topics/bad/records", json, `{"records":[{"partition":1.5}]}`, 400, "invalid_request"},
		{"negative timestamp", "/topics/bad/records", json, `{"records":[{"timestamp":-1}]}`, 400, "invalid_request"},
		{"unknown partition", "/topics/bad/records", json, `{"records":[{"value":1,"partition":0},{"value":1,"partition":2}]}`, 404, "partition_not_found"},
		{"no records", "/topics/bad/records", json, `{"records":[]}`, 400, "invalid_request"},
		{"no records field", "/topics/bad/records", json, `{}`, 400, "invalid_request"},
		{"unknown body field", "/topics/bad/records", json, `{"records":[{"value":1}],"acks":1}`, 400, "invalid_request"},
		{"array body", "/topics/bad/records", json, `[{"value":1}]`, 400, "invalid_request"},
		{"empty body", "/topics/bad/records", json, ``, 400, "invalid_request"},
		{"record not an object", "/topics/bad/records", json, `{"records":[1]}`, 400, "invalid_request"},
		{"record too large", "/topics/bad/records", json, `{"records":[{"value":"` + big + `"}]}`, 413, "record_too_large"},
		{"one record too large", "/topics/bad/records", json, `{"records":[{"value":1,"partition":1},{"value_base64":"` + strings.Repeat("AAAA", 34) + `"}]}`, 413, "record_too_large"},
		{"bad acks", "/topics/bad/records?acks=2", json, `{"records":[{"value":1}]}`, 400, "invalid_request"},
		{"negative timeout", "/topics/bad/records?timeout_ms=-1", json, `{"records":[{"value":1}]}`, 400, "invalid_request"},
		{"bad timeout", "/topics/bad/records?timeout_ms=soon", json, `{"records":[{"value":1}]}`, 400, "invalid_request"},
		{"wrong content type", "/topics/bad/records", "text/plain", `{"records":[{"value":1}]}`, 415, "unsupported_media_type"},
		{"xml content type", "/topics/bad/records", "application/xml", `{"records":[{"value":1}]}`, 415, "unsupported_media_type"},
		{"ndjson to a JSON-only body", "/topics/bad/records", "multipart/form-data; boundary=x", `{"records":[{"value":1}]}`, 415, "unsupported_media_type"},
		{"path partition negative", "/topics/bad/partitions/-1/records", json, `{"records":[{"value":1}]}`, 400, "invalid_request"},
		{"path partition not a number", "/topics/bad/partitions/abc/records", json, `{"records":[{"value":1}]}`, 400, "invalid_request"},
		{"path partition missing", "/topics/bad/partitions/7/records", json, `{"records":[{"value":1}]}`, 404, "partition_not_found"},
		{"record partition differs from path", "/topics/bad/partitions/0/records", json, `{"records":[{"value":1},{"value":1,"partition":1}]}`, 400, "invalid_request"},
		{"reserved topic name", "/topics/__bad/records", json, `{"records":[{"value":1}]}`, 400, "invalid_topic_name"},
		{"invalid topic name", "/topics/bad!name/records", json, `{"records":[{"value":1}]}`, 400, "invalid_topic_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, call(t, b, http.MethodPost, tt.path, tt.ctype, tt.body), tt.status, tt.code)
		})
	}
	if hw := highWatermarks(t, b, "bad"); fmt.Sprint(hw) != "[1 0]" {
		t.Fatalf("bad input changed the log: HW %v", hw)
	}
	wantProblem(t, get(t, b, "/topics/__bad"), http.StatusNotFound, "topic_not_found")
	// Exactly max.message.bytes is fine, and the broker still serves.
	produce(t, b, "/topics/bad/records", `{"records":[{"value":"`+big[:98]+`","partition":1}]}`)
	if hw := highWatermarks(t, b, "bad"); fmt.Sprint(hw) != "[1 1]" {
		t.Fatalf("HW after a good produce: %v", hw)
	}
}

func testBadRead(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"badread"}`)
	produce(t, b, "/topics/badread/records", `{"records":[{"value":1},{"value":2}]}`)
	tests := []struct {
		name   string
		path   string
		status int
		code   string
	}{
		{"negative offset", "/topics/badread/partitions/0/records?offset=-1", 400, "invalid_request"},
		{"non-numeric offset", "/topics/badread/partitions/0/records?offset=first", 400, "invalid_request"},
		{"fractional offset", "/topics/badread/partitions/0/records?offset=1.0", 400, "invalid_request"},
		{"huge max_records", "/topics/badread/partitions/0/records?max_records=1000000000", 400, "invalid_request"},
		{"zero max_records", "/topics/badread/partitions/0/records?max_records=0", 400, "invalid_request"},
		{"negative max_records", "/topics/badread/partitions/0/records?max_records=-5", 400, "invalid_request"},
		{"zero max_bytes", "/topics/badread/partitions/0/records?max_bytes=0", 400, "invalid_request"},
		{"huge max_bytes", "/topics/badread/partitions/0/records?max_bytes=99999999999", 400, "invalid_request"},
		{"timeout above 60s", "/topics/badread/partitions/0/records?timeout_ms=60001", 400, "invalid_request"},
		{"negative timeout", "/topics/badread/partitions/0/records?timeout_ms=-1", 400, "invalid_request"},
		{"bad replica", "/topics/badread/partitions/0/records?replica=follower", 400, "invalid_request"},
		{"negative partition", "/topics/badread/partitions/-1/records", 400, "invalid_request"},
		{"non-numeric partition", "/topics/badread/partitions/one/records", 400, "invalid_request"},
		{"partition overflow", "/topics/badread/partitions/99999999999/records", 400, "invalid_request"},
		{"missing partition", "/topics/badread/partitions/1/records", 404, "partition_not_found"},
		{"missing topic", "/topics/badread-nope/partitions/0/records", 404, "topic_not_found"},
		{"offset above HW", "/topics/badread/partitions/0/records?offset=3", 416, "offset_out_of_range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wantProblem(t, get(t, b, tt.path), tt.status, tt.code)
			if tt.code == "offset_out_of_range" && (p.LogStartOffset == nil || *p.LogStartOffset != 0 || p.HighWatermark == nil || *p.HighWatermark != 2) {
				t.Fatalf("problem %+v lacks the readable range", p)
			}
		})
	}
	// Limits that are fine: one record even when larger than max_bytes.
	rr, recs := read(t, b, "badread", 0, "offset=0&max_bytes=1&max_records=10000&timeout_ms=60000&replica=leader")
	if len(recs) != 1 || rr.NextOffset != 1 {
		t.Fatalf("max_bytes=1 read %+v", rr)
	}
	if _, recs := read(t, b, "badread", 0, "offset=2"); len(recs) != 0 {
		t.Fatalf("read at the HW returned %d records", len(recs))
	}
}

// testRequestTooLarge sends bodies above --max-request-bytes (1 MiB here),
// once announced by Content-Length and once chunked.
func testRequestTooLarge(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"huge","config":{"max.message.bytes":4194304}}`)
	const limit = 1 << 20
	// The client sends the whole announced body, as clients do; the answer
	// may come before it is all sent.
	declared := func(w io.Writer) {
		_, _ = io.WriteString(w, `{"records":[{"value":"`)
		filler := strings.Repeat("x", 64<<10)
		for range 2 * limit / len(filler) {
			if _, err := io.WriteString(w, filler); err != nil {
				return
			}
		}
	}
	r := rawRequest(t, b, fmt.Sprintf("POST /topics/huge/records HTTP/1.1\nHost: %s\nContent-Type: application/json\nContent-Length: %d", b.Addr, 2*limit), declared)
	wantProblem(t, r, http.StatusRequestEntityTooLarge, "request_too_large")

	chunked := func(w io.Writer) {
		chunk := strings.Repeat("x", 64<<10)
		first := `{"records":[{"value":"`
		fmt.Fprintf(w, "%x\r\n%s\r\n", len(first), first)
		for range 2 * limit / len(chunk) {
			if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
				return
			}
		}
		last := `"}]}`
		fmt.Fprintf(w, "%x\r\n%s\r\n0\r\n\r\n", len(last), last)
	}
	r = rawRequest(t, b, fmt.Sprintf("POST /topics/huge/records HTTP/1.1\nHost: %s\nContent-Type: application/json\nTransfer-Encoding: chunked", b.Addr), chunked)
	wantProblem(t, r, http.StatusRequestEntityTooLarge, "request_too_large")
	r = rawRequest(t, b, fmt.Sprintf("POST /topics/huge/records HTTP/1.1\nHost: %s\nContent-Type: application/x-ndjson\nTransfer-Encoding: chunked", b.Addr), chunked)
	wantProblem(t, r, http.StatusRequestEntityTooLarge, "request_too_large")
	// Topic admin bodies have the same cap.
	r = rawRequest(t, b, fmt.Sprintf("POST /topics HTTP/1.1\nHost: %s\nContent-Type: application/json\nContent-Length: %d", b.Addr, 2*limit), declared)
	wantProblem(t, r, http.StatusRequestEntityTooLarge, "request_too_large")
	if hw := highWatermarks(t, b, "huge"); fmt.Sprint(hw) != "[0]" {
		t.Fatalf("a refused body wrote: %v", hw)
	}
	// Just under the limit is accepted.
	value := strings.Repeat("y", limit-100)
	produce(t, b, "/topics/huge/records", `{"records":[{"value":"`+value+`"}]}`)
}

func testUnknownRoute(t *testing.T, b *brokertest.Broker) {
	wantProblem(t, get(t, b, "/nope"), http.StatusNotFound, "not_found")
	wantProblem(t, get(t, b, "/topics/x/partitions/0/nope"), http.StatusNotFound, "not_found")
	wantProblem(t, call(t, b, http.MethodPut, "/topics", "application/json", `{}`), http.StatusMethodNotAllowed, "method_not_allowed")
	wantProblem(t, call(t, b, http.MethodDelete, "/topics/x/partitions/0/records", "", ""), http.StatusMethodNotAllowed, "method_not_allowed")
}
