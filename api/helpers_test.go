package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// response is an HTTP answer with its raw body.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	return fmt.Sprintf("%d %s %s", r.Status, r.Header.Get("Content-Type"), trimBody(r.Body))
}

// bodyText is the answer's body without the newline that may end it.
func bodyText(r response) string { return strings.TrimSuffix(string(r.Body), "\n") }

func trimBody(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// call sends one request and returns the whole answer.
func call(t testing.TB, b *brokertest.Broker, method, path, contentType, body string) response {
	t.Helper()
	r, err := tryCall(b, method, path, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryCall is call for goroutines other than the test's: it returns errors.
func tryCall(b *brokertest.Broker, method, path, contentType, body string) (response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.URL+path, r)
	if err != nil {
		return response{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, out}, nil
}

// post sends a JSON body.
func post(t testing.TB, b *brokertest.Broker, path, body string) response {
	t.Helper()
	return call(t, b, http.MethodPost, path, "application/json", body)
}

func get(t testing.TB, b *brokertest.Broker, path string) response {
	t.Helper()
	return call(t, b, http.MethodGet, path, "", "")
}

// problemBody is an RFC 9457 answer.
type problemBody struct {
	Type           string `json:"type"`
	Title          string `json:"title"`
	Status         int    `json:"status"`
	Code           string `json:"code"`
	Detail         string `json:"detail"`
	LogStartOffset *int64 `json:"log_start_offset"`
	HighWatermark  *int64 `json:"high_watermark"`
}

// wantProblem checks that r is a problem+json answer with status and code.
func wantProblem(t testing.TB, r response, status int, code string) problemBody {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d (%s): %s", r.Status, status, code, trimBody(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, trimBody(r.Body))
	}
	var p problemBody
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %s: %v", trimBody(r.Body), err)
	}
	if p.Code != code || p.Status != status || p.Type != "about:blank" || p.Title != http.StatusText(status) || p.Detail == "" {
		t.Fatalf("problem %+v, want status %d code %s", p, status, code)
	}
	wantBrokerHeader(t, r)
	return p
}

func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, trimBody(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); r.Status != http.StatusNoContent && !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	wantBrokerHeader(t, r)
}

func wantBrokerHeader(t testing.TB, r response) {
	t.Helper()
	if h := r.Header.Get("X-Fjord-Broker"); h != "1" {
		t.Fatalf("X-Fjord-Broker %q, want 1", h)
	}
}

func decode(t testing.TB, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", trimBody(r.Body), err)
	}
}

func createTopic(t testing.TB, b *brokertest.Broker, body string) {
	t.Helper()
	wantStatus(t, post(t, b, "/topics", body), http.StatusCreated)
}

type producedOffset struct {
	Partition int32  `json:"partition"`
	Offset    *int64 `json:"offset"`
	Timestamp int64  `json:"timestamp"`
	Error     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// produce posts a produce body and returns the offsets of a 200 answer.
func produce(t testing.TB, b *brokertest.Broker, path, body string) []producedOffset {
	t.Helper()
	r := post(t, b, path, body)
	wantStatus(t, r, http.StatusOK)
	var out struct{ Offsets []producedOffset }
	decode(t, r, &out)
	return out.Offsets
}

// readResponse is a partition read whose records are kept as raw bytes.
type readResponse struct {
	Topic          string            `json:"topic"`
	Partition      int32             `json:"partition"`
	LogStartOffset int64             `json:"log_start_offset"`
	HighWatermark  int64             `json:"high_watermark"`
	NextOffset     int64             `json:"next_offset"`
	Records        []json.RawMessage `json:"records"`
}

// rawRecord is one read record, its value kept as the exact bytes served.
type rawRecord struct {
	Offset      int64             `json:"offset"`
	Timestamp   int64             `json:"timestamp"`
	Key         *string           `json:"key"`
	KeyBase64   *string           `json:"key_base64"`
	Value       json.RawMessage   `json:"value"`
	ValueBase64 *string           `json:"value_base64"`
	Headers     map[string]string `json:"headers"`
}

func read(t testing.TB, b *brokertest.Broker, topic string, partition int32, query string) (readResponse, []rawRecord) {
	t.Helper()
	r := get(t, b, fmt.Sprintf("/topics/%s/partitions/%d/records?%s", topic, partition, query))
	wantStatus(t, r, http.StatusOK)
	var rr readResponse
	decode(t, r, &rr)
	recs := make([]rawRecord, len(rr.Records))
	for i, raw := range rr.Records {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&recs[i]); err != nil {
			t.Fatalf("record %s: %v", raw, err)
		}
	}
	return rr, recs
}

// readAll reads a partition from offset 0 to its high watermark.
func readAll(t testing.TB, b *brokertest.Broker, topic string, partition int32) []rawRecord {
	t.Helper()
	var out []rawRecord
	next := int64(0)
	for {
		rr, recs := read(t, b, topic, partition, fmt.Sprintf("offset=%d&max_records=10000", next))
		out = append(out, recs...)
		if rr.NextOffset >= rr.HighWatermark || len(recs) == 0 {
			return out
		}
		next = rr.NextOffset
	}
}

type partitionDesc struct {
	Partition      int32              `json:"partition"`
	Leader         int32              `json:"leader"`
	LeaderEpoch    int32              `json:"leader_epoch"`
	Replicas       []int32            `json:"replicas"`
	ISR            []int32            `json:"isr"`
	LogStartOffset int64              `json:"log_start_offset"`
	HighWatermark  int64              `json:"high_watermark"`
	LogEndOffset   int64              `json:"log_end_offset"`
	SizeBytes      int64              `json:"size_bytes"`
	ReplicaStates  []replicaStateDesc `json:"replica_states"`
}

// replicaStateDesc is one entry of a partition's replica_states; nil is
// JSON null (not known to the answering broker).
type replicaStateDesc struct {
	Broker       int32  `json:"broker"`
	Leader       bool   `json:"leader"`
	InSync       bool   `json:"in_sync"`
	LogEndOffset *int64 `json:"log_end_offset"`
	LagRecords   *int64 `json:"lag_records"`
	LagMs        *int64 `json:"lag_ms"`
	LastFetchMs  int64  `json:"last_fetch_ms"`
}

type topicDesc struct {
	Name              string           `json:"name"`
	ReplicationFactor int32            `json:"replication_factor"`
	Config            map[string]int64 `json:"config"`
	Partitions        []partitionDesc  `json:"partitions"`
}

func describeTopic(t testing.TB, b *brokertest.Broker, topic string) topicDesc {
	t.Helper()
	r := get(t, b, "/topics/"+topic)
	wantStatus(t, r, http.StatusOK)
	var d topicDesc
	decode(t, r, &d)
	return d
}

// highWatermarks lists the HW of every partition of a topic.
func highWatermarks(t testing.TB, b *brokertest.Broker, topic string) []int64 {
	t.Helper()
	var out []int64
	for _, p := range describeTopic(t, b, topic).Partitions {
		out = append(out, p.HighWatermark)
	}
	return out
}

// rawRequest writes head (request line and headers, without the blank line)
// and then body on a fresh TCP connection, and reads the answer. The body is
// written concurrently, so an answer sent before the body is complete is
// still read.
func rawRequest(t testing.TB, b *brokertest.Broker, head string, body func(w io.Writer)) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", b.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := bufio.NewWriter(conn)
		_, _ = io.WriteString(w, strings.ReplaceAll(head, "\n", "\r\n")+"\r\n\r\n")
		if body != nil {
			body(w)
		}
		_ = w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	conn.Close()
	<-done
	return response{resp.StatusCode, resp.Header, out}
}
