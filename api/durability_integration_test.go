package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// acked is one record a producer got an acknowledgement for.
type acked struct {
	partition int32
	offset    int64
	value     string
}

// TestKillAndRestart kills a broker (kill -9) while several producers stream
// to it with acks=1, restarts it and checks that every acknowledged record
// is there byte for byte at its acknowledged offset, with consecutive
// offsets. Then a SIGTERM exits 0 and a restart keeps everything. The broker
// runs with --auto-create-topics=false.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker process")
	}
	b := brokertest.Start(t, brokertest.WithArgs("--auto-create-topics=false"))
	wantProblem(t, post(t, b, "/topics/crash/records", `{"records":[{"value":1}]}`), http.StatusNotFound, "topic_not_found")
	wantProblem(t, get(t, b, "/topics/crash"), http.StatusNotFound, "topic_not_found")
	createTopic(t, b, `{"name":"crash","partitions":3}`)

	const producers, killAfter = 6, 300
	start := time.Now()
	var (
		mu      sync.Mutex
		acks    []acked
		count   atomic.Int64
		enough  = make(chan struct{})
		once    sync.Once
		wg      sync.WaitGroup
		errsMu  sync.Mutex
		badErrs []string
	)
	for w := range producers {
		wg.Go(func() {
			for n := 0; ; n++ {
				var body strings.Builder
				var vals []string
				body.WriteString(`{"records":[`)
				for i := range 1 + (w+n)%4 {
					v := fmt.Sprintf(`{"w": %d, "n":%d,"i" : %d, "pad":"  %s  "}`, w, n, i, strings.Repeat("z", (w*7+n)%50))
					if i > 0 {
						body.WriteString(",")
					}
					fmt.Fprintf(&body, `{"key":"w%d-%d","value":%s}`, w, n%10, v)
					vals = append(vals, v)
				}
				body.WriteString(`]}`)
				r, err := tryCall(b, http.MethodPost, "/topics/crash/records?acks=1", "application/json", body.String())
				if err != nil {
					return // the broker is gone
				}
				if r.Status != http.StatusOK {
					errsMu.Lock()
					badErrs = append(badErrs, r.String())
					errsMu.Unlock()
					return
				}
				var out struct{ Offsets []producedOffset }
				if err := json.Unmarshal(r.Body, &out); err != nil || len(out.Offsets) != len(vals) {
					errsMu.Lock()
					badErrs = append(badErrs, fmt.Sprintf("answer %s: %v", r.Body, err))
					errsMu.Unlock()
					return
				}
				mu.Lock()
				for i, o := range out.Offsets {
					acks = append(acks, acked{o.Partition, *o.Offset, vals[i]})
				}
				mu.Unlock()
				if count.Add(1) == killAfter {
					once.Do(func() { close(enough) })
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatalf("producers acknowledged only %d requests", count.Load())
	}
	b.Kill(t)
	wg.Wait()
	if len(badErrs) > 0 {
		t.Fatalf("produce failed before the kill: %v", badErrs)
	}
	t.Logf("%d records acknowledged in %d requests before kill -9 (%v)", len(acks), count.Load(), time.Since(start))

	b.Restart(t)
	before := checkAcked(t, b, acks)
	if err := b.Stop(t); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, b.Logs())
	}
	b.Restart(t)
	after := checkAcked(t, b, acks)
	t.Logf("restarted twice and checked (%v)", time.Since(start))
	for p := range before {
		if fmt.Sprint(rawValues(before[p])) != fmt.Sprint(rawValues(after[p])) {
			t.Fatalf("partition %d changed across a graceful restart", p)
		}
	}
}

// checkAcked reads every partition of "crash" and checks the acknowledged
// records; it returns what it read.
func checkAcked(t *testing.T, b *brokertest.Broker, acks []acked) map[int32][]rawRecord {
	t.Helper()
	logs := map[int32][]rawRecord{}
	for p := range int32(3) {
		recs := readAll(t, b, "crash", p)
		for i, r := range recs {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: record %d has offset %d", p, i, r.Offset)
			}
		}
		logs[p] = recs
	}
	for _, a := range acks {
		recs := logs[a.partition]
		if a.offset >= int64(len(recs)) {
			t.Fatalf("acknowledged record %d/%d lost: the partition ends at %d", a.partition, a.offset, len(recs))
		}
		if got := string(recs[a.offset].Value); got != a.value {
			t.Fatalf("record %d/%d is %s, acknowledged %s", a.partition, a.offset, got, a.value)
		}
	}
	return logs
}

// TestGracefulStopAndEnv starts a broker configured only through FJORD_*
// environment variables, checks they took effect, and that SIGTERM answers
// a pending long poll and exits 0 with the data kept.
func TestGracefulStopAndEnv(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker process")
	}
	b := brokertest.Start(t, brokertest.WithEnv("FJORD_AUTO_CREATE_TOPICS=false", "FJORD_DEFAULT_PARTITIONS=3", "FJORD_ID=1"))
	wantProblem(t, post(t, b, "/topics/env/records", `{"records":[{"value":1}]}`), http.StatusNotFound, "topic_not_found")
	createTopic(t, b, `{"name":"env"}`)
	if d := describeTopic(t, b, "env"); len(d.Partitions) != 3 {
		t.Fatalf("FJORD_DEFAULT_PARTITIONS=3 gave %d partitions", len(d.Partitions))
	}
	produce(t, b, "/topics/env/records", `{"records":[{"value":{"kept": 1.0},"partition":2}]}`)

	// A long poll pending at shutdown is answered, and the broker exits 0.
	type result struct {
		r   response
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := tryCall(b, http.MethodGet, "/topics/env/partitions/2/records?offset=1&timeout_ms=20000", "", "")
		done <- result{r, err}
	}()
	waitForPoll(t, b)
	if err := b.Stop(t); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, b.Logs())
	}
	res := <-done
	if res.err != nil || res.r.Status != http.StatusOK {
		t.Fatalf("long poll at shutdown: %v %v", res.r, res.err)
	}
	b.Restart(t)
	if recs := readAll(t, b, "env", 2); len(recs) != 1 || string(recs[0].Value) != `{"kept": 1.0}` {
		t.Fatalf("after restart: %v", rawValues(recs))
	}
}

// waitForPoll waits until the broker counts a long poll waiting, so that a
// shutdown really meets a pending one. The metrics are polled: nothing
// announces a request's arrival to a client.
func waitForPoll(t *testing.T, b *brokertest.Broker) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r := get(t, b, "/metrics")
		if strings.Contains(string(r.Body), "\nfjord_fetch_waiting 1\n") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the long poll never started waiting")
}
