package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/engine/partitioner"
	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// testProduceReadByteExact sends values in every spelling JSON allows and
// checks that the read answer carries them byte for byte. Whole response
// bodies are compared, not decoded values.
func testProduceReadByteExact(t *testing.T, b *brokertest.Broker) {
	// Fixed timestamps lie in the past; unlimited retention keeps the
	// broker's 100ms retention loop from deleting them mid-test.
	createTopic(t, b, `{"name":"exact","config":{"retention.ms":-1}}`)
	values := []string{
		`{"nested": {"a": [1, 2.50, {"b": null}], "deep": [[[{}]]]}, "u": "h\u00e9llo ✓ 😀", "esc": "tab\t\"q\" \\ \/ \ud83d\ude00"}`,
		`1.0`,
		`1e2`,
		`[ 1 ,2 ]`,
		`"  spaced\n  string "`,
		`-0.0e-5`,
		`true`,
		`{}`,
		`"日本語"`,
		`{"dup":1,"dup":2}`,
	}
	var req strings.Builder
	req.WriteString(`{"records":[`)
	for i, v := range values {
		if i > 0 {
			req.WriteString(",\n  ")
		}
		fmt.Fprintf(&req, `{"timestamp":%d, "value" :  %s }`, 1767225600000+int64(i), v)
	}
	// Keys, base64, headers and tombstones.
	req.WriteString(`,{"key":"user-42","value":{"any":"json"},"headers":{"trace":"abc","ü":"✓","nl":"a\nb"},"timestamp":1}`)
	req.WriteString(`,{"key_base64":"AAE=","value_base64":"aGVsbG8=","timestamp":2}`)
	req.WriteString(`,{"value":null,"key":"k\u00e9y","timestamp":3}`)
	req.WriteString(`,{"timestamp":4}`)
	req.WriteString(`,{"key":"","value_base64":"","headers":{},"timestamp":5}`)
	req.WriteString(`,{"key_base64":null,"value":"x","headers":null,"timestamp":6}`)
	req.WriteString(`]}`)

	r := post(t, b, "/topics/exact/records", req.String())
	wantStatus(t, r, http.StatusOK)
	var wantOffsets strings.Builder
	wantOffsets.WriteString(`{"offsets":[`)
	for i := range values {
		fmt.Fprintf(&wantOffsets, `{"partition":0,"offset":%d,"timestamp":%d},`, i, 1767225600000+int64(i))
	}
	for i := range 6 {
		if i > 0 {
			wantOffsets.WriteString(",")
		}
		fmt.Fprintf(&wantOffsets, `{"partition":0,"offset":%d,"timestamp":%d}`, len(values)+i, i+1)
	}
	wantOffsets.WriteString(`]}`)
	if bodyText(r) != wantOffsets.String() {
		t.Fatalf("produce answer\n got %s\nwant %s", r.Body, wantOffsets.String())
	}

	n := len(values) + 6
	var want strings.Builder
	fmt.Fprintf(&want, `{"topic":"exact","partition":0,"log_start_offset":0,"high_watermark":%d,"next_offset":%d,"records":[`, n, n)
	for i, v := range values {
		fmt.Fprintf(&want, `{"offset":%d,"timestamp":%d,"value":%s},`, i, 1767225600000+int64(i), v)
	}
	o := len(values)
	fmt.Fprintf(&want, `{"offset":%d,"timestamp":1,"key":"user-42","value":{"any":"json"},"headers":{"trace":"abc","ü":"✓","nl":"a\nb"}},`, o)
	fmt.Fprintf(&want, `{"offset":%d,"timestamp":2,"key_base64":"AAE=","value_base64":"aGVsbG8="},`, o+1)
	fmt.Fprintf(&want, `{"offset":%d,"timestamp":3,"key":"kéy","value":null},`, o+2)
	fmt.Fprintf(&want, `{"offset":%d,"timestamp":4,"value":null},`, o+3)
	fmt.Fprintf(&want, `{"offset":%d,"timestamp":5,"key":"","value_base64":""},`, o+4)
	fmt.Fprintf(&want, `{"offset":%d,"timestamp":6,"value":"x"}`, o+5)
	want.WriteString(`]}`)
	r = get(t, b, "/topics/exact/partitions/0/records?offset=0")
	wantStatus(t, r, http.StatusOK)
	if bodyText(r) != want.String() {
		t.Fatalf("read answer\n got %s\nwant %s", r.Body, want.String())
	}
	// The per-partition produce path and a read from the middle.
	r = post(t, b, "/topics/exact/partitions/0/records", `{"records":[{"value":  1.50 ,"timestamp":7}]}`)
	wantStatus(t, r, http.StatusOK)
	if bodyText(r) != fmt.Sprintf(`{"offsets":[{"partition":0,"offset":%d,"timestamp":7}]}`, n) {
		t.Fatalf("partition produce answer %s", r.Body)
	}
	r = get(t, b, fmt.Sprintf("/topics/exact/partitions/0/records?offset=%d&max_records=5", n))
	if want := fmt.Sprintf(`{"topic":"exact","partition":0,"log_start_offset":0,"high_watermark":%d,"next_offset":%d,"records":[{"offset":%d,"timestamp":7,"value":1.50}]}`, n+1, n+1, n); bodyText(r) != want {
		t.Fatalf("read answer\n got %s\nwant %s", r.Body, want)
	}
	// latest answers at once with nothing.
	r = get(t, b, "/topics/exact/partitions/0/records?offset=latest")
	if want := fmt.Sprintf(`{"topic":"exact","partition":0,"log_start_offset":0,"high_watermark":%d,"next_offset":%d,"records":[]}`, n+1, n+1); bodyText(r) != want {
		t.Fatalf("latest answer %s", r.Body)
	}
}

func testConsecutiveOffsets(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"consec","partitions":3}`)
	offs := produce(t, b, "/topics/consec/records",
		`{"records":[{"value":0,"partition":1},{"value":1,"partition":2},{"value":2,"partition":1},{"value":3,"partition":1}]}`)
	want := "[1/0 2/0 1/1 1/2]"
	if got := fmtOffsets(offs); got != want {
		t.Fatalf("offsets %s, want %s", got, want)
	}
	offs = produce(t, b, "/topics/consec/records", `{"records":[{"value":4,"partition":1},{"value":5,"partition":1}]}`)
	if got := fmtOffsets(offs); got != "[1/3 1/4]" {
		t.Fatalf("second request offsets %s", got)
	}
	recs := readAll(t, b, "consec", 1)
	for i, r := range recs {
		if r.Offset != int64(i) {
			t.Fatalf("record %d at offset %d", i, r.Offset)
		}
	}
	if fmt.Sprint(rawValues(recs)) != "[0 2 3 4 5]" {
		t.Fatalf("partition 1 holds %v", rawValues(recs))
	}
	// Keys map like Kafka's Java client; keyless records of one request share a partition.
	offs = produce(t, b, "/topics/consec/records", `{"records":[{"key":"user-1","value":1},{"key":"user-2","value":1},{"key_base64":"AAE=","value":1}]}`)
	for i, key := range []string{"user-1", "user-2", "\x00\x01"} {
		if want := partitioner.ForKey([]byte(key), 3); offs[i].Partition != want {
			t.Fatalf("key %q went to %d, want %d", key, offs[i].Partition, want)
		}
	}
	seen := map[int32]bool{}
	for range 3 {
		offs = produce(t, b, "/topics/consec/records", `{"records":[{"value":1},{"value":2},{"value":3}]}`)
		if offs[0].Partition != offs[1].Partition || offs[1].Partition != offs[2].Partition ||
			*offs[1].Offset != *offs[0].Offset+1 || *offs[2].Offset != *offs[0].Offset+2 {
			t.Fatalf("keyless records of one request: %s", fmtOffsets(offs))
		}
		seen[offs[0].Partition] = true
	}
	if len(seen) != 3 {
		t.Fatalf("keyless requests did not rotate over the partitions: %v", seen)
	}
}

func fmtOffsets(offs []producedOffset) string {
	var s []string
	for _, o := range offs {
		if o.Offset == nil {
			s = append(s, fmt.Sprintf("%d/error", o.Partition))
			continue
		}
		s = append(s, fmt.Sprintf("%d/%d", o.Partition, *o.Offset))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func rawValues(recs []rawRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Value))
	}
	return out
}

func testNDJSON(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"ndjson"}`)
	body := "{\"value\":{\"a\": 1}}\n\n{\"key\":\"k\",\"value\":1e2}\r\n{\"value_base64\":\"AAE=\"}"
	r := call(t, b, http.MethodPost, "/topics/ndjson/records", "application/x-ndjson", body)
	wantStatus(t, r, http.StatusOK)
	var out struct{ Offsets []producedOffset }
	decode(t, r, &out)
	if got := fmtOffsets(out.Offsets); got != "[0/0 0/1 0/2]" {
		t.Fatalf("offsets %s", got)
	}
	recs := readAll(t, b, "ndjson", 0)
	if len(recs) != 3 || string(recs[0].Value) != `{"a": 1}` || string(recs[1].Value) != `1e2` || *recs[1].Key != "k" ||
		recs[2].ValueBase64 == nil || *recs[2].ValueBase64 != "AAE=" {
		t.Fatalf("read back %+v", recs)
	}
	// One bad line writes nothing.
	for _, bad := range []string{
		"{\"value\":1}\n{\"value\":}\n",
		"{\"value\":1}\n{\"value\":2} {\"value\":3}\n",
		"{\"value\":1}\n[1]\n",
		"{\"value\":1}\n{\"value\":1,\"value_base64\":\"AA==\"}",
		"\n\n",
	} {
		r := call(t, b, http.MethodPost, "/topics/ndjson/records", "application/x-ndjson", bad)
		wantProblem(t, r, http.StatusBadRequest, "invalid_request")
	}
	if hw := highWatermarks(t, b, "ndjson"); fmt.Sprint(hw) != "[3]" {
		t.Fatalf("bad NDJSON wrote: HW %v", hw)
	}
	// Content types read as JSON or NDJSON.
	for i, tc := range []struct{ ctype, body string }{
		{"application/json; charset=utf-8", `{"records":[{"value":1}]}`},
		{"", `{"records":[{"value":1}]}`},
		{"application/x-www-form-urlencoded", `{"records":[{"value":1}]}`},
		{"application/x-ndjson; charset=utf-8", "{\"value\":1}\n"},
	} {
		r := call(t, b, http.MethodPost, "/topics/ndjson/records", tc.ctype, tc.body)
		wantStatus(t, r, http.StatusOK)
		if want := fmt.Sprintf(`{"offsets":[{"partition":0,"offset":%d,`, 3+i); !strings.HasPrefix(bodyText(r), want) {
			t.Fatalf("Content-Type %q: %s", tc.ctype, r.Body)
		}
	}
}

func testAcksNone(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"acks0"}`)
	r := post(t, b, "/topics/acks0/records?acks=0", `{"records":[{"value":"a"},{"value":"b"}]}`)
	wantStatus(t, r, http.StatusAccepted)
	if bodyText(r) != `{"accepted":2}` {
		t.Fatalf("acks=0 answer %q", r.Body)
	}
	// The background append becomes visible; the long poll is woken by it.
	_, recs := read(t, b, "acks0", 0, "offset=0&timeout_ms=10000")
	if fmt.Sprint(rawValues(recs)) != `["a" "b"]` {
		t.Fatalf("acks=0 records read back as %v", rawValues(recs))
	}
	for _, acks := range []string{"1", "all", "-1"} {
		produce(t, b, "/topics/acks0/records?acks="+acks, `{"records":[{"value":1}]}`)
	}
	// min.insync.replicas above the live replicas refuses acks=all only.
	createTopic(t, b, `{"name":"minisr","config":{"min.insync.replicas":2}}`)
	wantProblem(t, post(t, b, "/topics/minisr/records", `{"records":[{"value":1}]}`), http.StatusServiceUnavailable, "not_enough_replicas")
	wantProblem(t, post(t, b, "/topics/minisr/records?acks=all", `{"records":[{"value":1}]}`), http.StatusServiceUnavailable, "not_enough_replicas")
	if hw := highWatermarks(t, b, "minisr"); fmt.Sprint(hw) != "[0]" {
		t.Fatalf("refused produce wrote: %v", hw)
	}
	produce(t, b, "/topics/minisr/records?acks=1", `{"records":[{"value":1}]}`)
}

func testAutoCreate(t *testing.T, b *brokertest.Broker) {
	wantProblem(t, get(t, b, "/topics/auto-made"), http.StatusNotFound, "topic_not_found")
	offs := produce(t, b, "/topics/auto-made/records", `{"records":[{"value":1}]}`)
	if *offs[0].Offset != 0 {
		t.Fatalf("first offset %d", *offs[0].Offset)
	}
	if d := describeTopic(t, b, "auto-made"); len(d.Partitions) != 1 || d.Partitions[0].HighWatermark != 1 {
		t.Fatalf("auto-created %+v", d)
	}
	// Bad input creates nothing either.
	wantProblem(t, post(t, b, "/topics/auto-bad/records", `{"records":[{"value":1},{"value":2,"partition":1}]}`), http.StatusNotFound, "partition_not_found")
	wantProblem(t, post(t, b, "/topics/auto-bad/records", `{"records":[{"value":1},{"value":}]}`), http.StatusBadRequest, "invalid_request")
	wantProblem(t, get(t, b, "/topics/auto-bad"), http.StatusNotFound, "topic_not_found")
	// Reading never creates.
	wantProblem(t, get(t, b, "/topics/auto-never/partitions/0/records"), http.StatusNotFound, "topic_not_found")
	wantProblem(t, get(t, b, "/topics/auto-never"), http.StatusNotFound, "topic_not_found")
}

func testLongPoll(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"poll"}`)
	type result struct {
		r       response
		err     error
		elapsed time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		r, err := tryCall(b, http.MethodGet, "/topics/poll/partitions/0/records?offset=0&timeout_ms=20000", "", "")
		done <- result{r, err, time.Since(start)}
	}()
	produce(t, b, "/topics/poll/records", `{"records":[{"value":{"woke":true}}]}`)
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("long poll did not return")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	wantStatus(t, res.r, http.StatusOK)
	if !strings.Contains(string(res.r.Body), `"records":[{"offset":0,`) || !strings.Contains(string(res.r.Body), `"value":{"woke":true}`) {
		t.Fatalf("long poll answer %s", res.r.Body)
	}
	if res.elapsed > 10*time.Second {
		t.Fatalf("long poll took %v to see the record", res.elapsed)
	}
	// Idle: answers empty after the timeout.
	start := time.Now()
	rr, recs := read(t, b, "poll", 0, "offset=1&timeout_ms=300")
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond || elapsed > 10*time.Second {
		t.Fatalf("idle long poll returned after %v", elapsed)
	}
	if len(recs) != 0 || rr.NextOffset != 1 || rr.HighWatermark != 1 {
		t.Fatalf("idle long poll %+v", rr)
	}
}

func testOffsetsForTimestamp(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"times","config":{"retention.ms":-1}}`)
	produce(t, b, "/topics/times/records", `{"records":[{"value":0,"timestamp":1000},{"value":1,"timestamp":3000}]}`)
	produce(t, b, "/topics/times/records", `{"records":[{"value":2,"timestamp":2000},{"value":3,"timestamp":5000}]}`)
	tests := []struct{ query, want string }{
		{"", `{"log_start_offset":0,"high_watermark":4,"log_end_offset":4}`},
		{"?timestamp=0", `{"log_start_offset":0,"high_watermark":4,"log_end_offset":4,"offset_for_timestamp":0}`},
		{"?timestamp=1000", `{"log_start_offset":0,"high_watermark":4,"log_end_offset":4,"offset_for_timestamp":0}`},
		{"?timestamp=2500", `{"log_start_offset":0,"high_watermark":4,"log_end_offset":4,"offset_for_timestamp":1}`},
		{"?timestamp=3001", `{"log_start_offset":0,"high_watermark":4,"log_end_offset":4,"offset_for_timestamp":3}`},
		{"?timestamp=5001", `{"log_start_offset":0,"high_watermark":4,"log_end_offset":4}`},
	}
	for _, tt := range tests {
		r := get(t, b, "/topics/times/partitions/0/offsets"+tt.query)
		wantStatus(t, r, http.StatusOK)
		if bodyText(r) != tt.want {
			t.Fatalf("offsets%s = %s, want %s", tt.query, r.Body, tt.want)
		}
	}
	for _, bad := range []string{"?timestamp=-5", "?timestamp=abc", "?timestamp=1.5"} {
		wantProblem(t, get(t, b, "/topics/times/partitions/0/offsets"+bad), http.StatusBadRequest, "invalid_request")
	}
	wantProblem(t, get(t, b, "/topics/times/partitions/1/offsets"), http.StatusNotFound, "partition_not_found")
	wantProblem(t, get(t, b, "/topics/times-nope/partitions/0/offsets?timestamp=1"), http.StatusNotFound, "topic_not_found")
}

// testRetention relies on --retention-check-interval 100ms: old batches go
// at the next tick. Nothing notifies a client of that, so it polls.
func testRetention(t *testing.T, b *brokertest.Broker) {
	createTopic(t, b, `{"name":"retained","config":{"retention.ms":60000}}`)
	now := time.Now().UnixMilli()
	produce(t, b, "/topics/retained/records", `{"records":[{"value":0,"timestamp":1000},{"value":1,"timestamp":2000}]}`)
	produce(t, b, "/topics/retained/records", fmt.Sprintf(`{"records":[{"value":2,"timestamp":%d}]}`, now))
	deadline := time.Now().Add(20 * time.Second)
	var p partitionDesc
	for {
		p = describeTopic(t, b, "retained").Partitions[0]
		if p.LogStartOffset != 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling: nothing announces a retention pass
	}
	if p.LogStartOffset != 2 || p.HighWatermark != 3 || p.LogEndOffset != 3 {
		t.Fatalf("after retention %+v", p)
	}
	for _, off := range []string{"0", "1"} {
		pr := wantProblem(t, get(t, b, "/topics/retained/partitions/0/records?offset="+off), http.StatusRequestedRangeNotSatisfiable, "offset_out_of_range")
		if pr.LogStartOffset == nil || *pr.LogStartOffset != 2 || pr.HighWatermark == nil || *pr.HighWatermark != 3 {
			t.Fatalf("offset %s: problem %+v", off, pr)
		}
	}
	pr := wantProblem(t, get(t, b, "/topics/retained/partitions/0/records?offset=4"), http.StatusRequestedRangeNotSatisfiable, "offset_out_of_range")
	if *pr.LogStartOffset != 2 || *pr.HighWatermark != 3 {
		t.Fatalf("above HW: problem %+v", pr)
	}
	rr, recs := read(t, b, "retained", 0, "offset=earliest")
	if rr.LogStartOffset != 2 || len(recs) != 1 || recs[0].Offset != 2 || string(recs[0].Value) != "2" {
		t.Fatalf("earliest after retention: %+v %v", rr, recs)
	}
	r := get(t, b, "/topics/retained/partitions/0/offsets?timestamp=0")
	if want := `{"log_start_offset":2,"high_watermark":3,"log_end_offset":3,"offset_for_timestamp":2}`; bodyText(r) != want {
		t.Fatalf("offsets after retention: %s", r.Body)
	}
}
