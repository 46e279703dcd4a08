package ws_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// metric reads one sample of the broker's /metrics; name may carry labels
// exactly as exposed (`x{reason="y"}`). Missing is 0.
func metric(t testing.TB, b *brokertest.Broker, name string) float64 {
	t.Helper()
	status, body := b.Get(t, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

const (
	mib = 1 << 20
	// The broker's defaults: 1 MiB of records frames per connection, answers
	// up to twice that, frames of about 256 KiB.
	queueBudget = 1 * mib
)

// TestStalledReaderBoundedMemory: a subscriber with a 200 MB backlog and
// unlimited credits that stops reading costs the broker a bounded amount
// of memory; the backlog stays in storage, and the subscriber gets every
// record in order once it reads again.
func TestStalledReaderBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 200 MB backlog")
	}
	b := brokertest.Start(t)
	createTopic(t, b, "backlog", 1)
	raw := make([]byte, 96<<10)
	for i := range raw {
		raw[i] = byte(rand.Uint32())
	}
	value := base64.StdEncoding.EncodeToString(raw)
	const perRequest, requests = 40, 52 // 2080 records of 96 KiB: 200 MiB
	var body strings.Builder
	start := time.Now()
	for r := 0; r < requests; r++ {
		body.Reset()
		body.WriteString(`{"records":[`)
		for i := 0; i < perRequest; i++ {
			if i > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"key":"%d","value_base64":"%s"}`, r*perRequest+i, value)
		}
		body.WriteString(`]}`)
		produce(t, b, "backlog", body.String())
	}
	t.Logf("backlog written in %v", time.Since(start))
	heapBefore := metric(t, b, "go_memstats_heap_inuse_bytes")
	rssBefore := metric(t, b, "process_resident_memory_bytes")

	conn, _, err := dialRaw(b.Addr, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage,
		[]byte(`{"op":"subscribe","id":"s","topic":"backlog","offset":"earliest","credits":1000000000}`)); err != nil {
		t.Fatal(err)
	}
	// Watch the broker while the client does not read. There is no event
	// to wait for (the broker is correctly doing nothing), so sample for a
	// few seconds.
	var maxHeap, maxRSS, maxQueued float64
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		maxHeap = max(maxHeap, metric(t, b, "go_memstats_heap_inuse_bytes"))
		maxRSS = max(maxRSS, metric(t, b, "process_resident_memory_bytes"))
		maxQueued = max(maxQueued, metric(t, b, "fjord_ws_queued_bytes"))
		time.Sleep(100 * time.Millisecond) // sampling interval, not synchronization
	}
	t.Logf("backlog 200 MiB; heap in use %.1f -> max %.1f MiB; RSS %.1f -> max %.1f MiB; queued max %.1f MiB",
		heapBefore/mib, maxHeap/mib, rssBefore/mib, maxRSS/mib, maxQueued/mib)
	if maxQueued == 0 {
		t.Fatal("nothing was queued: the subscription did not start")
	}
	if maxQueued > 2*queueBudget+2*mib {
		t.Fatalf("queued %.1f MiB, more than the bound of %d MiB", maxQueued/mib, 2*queueBudget/mib+2)
	}
	if growth := maxHeap - heapBefore; growth > 64*mib {
		t.Fatalf("heap grew by %.1f MiB while a reader stalled (bound 64 MiB)", growth/mib)
	}
	// The connection is intact: reading resumes in order from offset 0.
	next := int64(0)
	for next < 300 {
		_ = conn.SetReadDeadline(time.Now().Add(waitFrame))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d records: %v", next, err)
		}
		var f wsFrame
		if err := json.Unmarshal(data, &f); err != nil || (f.Type != "records" && f.Type != "subscribed") {
			t.Fatalf("frame %.200s: %v", data, err)
		}
		for _, r := range f.Records {
			if r.Offset != next {
				t.Fatalf("offset %d, want %d", r.Offset, next)
			}
			next++
		}
	}
}

// TestOverflowClosesWithReason: a client that keeps sending requests but
// never reads the answers is dropped with 1008 and a reason, which it reads
// once it looks.
func TestOverflowClosesWithReason(t *testing.T) {
	b := brokertest.Start(t)
	conn, _, err := dialRaw(b.Addr, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Each message is answered with an error frame of about its size.
	msg := []byte(`{"op":"` + strings.Repeat("x", 16<<10) + `","id":"o"}`)
	const dropped = `fjord_ws_dropped_connections_total{reason="queue_overflow"}`
	sent := 0
	for ; sent < 20000; sent++ {
		if sent%200 == 0 && metric(t, b, dropped) > 0 {
			break
		}
		_ = conn.SetWriteDeadline(time.Now().Add(waitFrame))
		if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			break // the broker closed the socket
		}
	}
	if metric(t, b, dropped) == 0 {
		t.Fatalf("no overflow after %d messages (%d MiB)", sent, sent*len(msg)/mib)
	}
	frames := 0
	for {
		_ = conn.SetReadDeadline(time.Now().Add(waitFrame))
		_, data, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "write queue overflow") {
				t.Fatalf("close %d %q", ce.Code, ce.Text)
			}
			t.Logf("closed after %d messages sent, %d answers read: %d %q", sent, frames, ce.Code, ce.Text)
			return
		}
		if err != nil {
			t.Fatalf("after %d answers: %v (want a close frame)", frames, err)
		}
		if !bytes.HasPrefix(data, []byte(`{"type":"error","id":"o"`)) {
			t.Fatalf("frame %.100s", data)
		}
		frames++
	}
}
