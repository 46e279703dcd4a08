package limit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/internal/brokertest"
)

func get(t *testing.T, b *brokertest.Broker, path, token string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestRateLimit(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	acl := `"acls":[{"resource":"cluster","pattern":"*","ops":["read"]}]`
	if err := os.WriteFile(tokens, []byte(`[{"token":"tok-a",`+acl+`},{"token":"tok-b",`+acl+`}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	// 0.2/s: the bucket does not refill noticeably during the test.
	b := brokertest.Start(t, brokertest.WithArgs("--rate-limit", "0.2", "--rate-burst", "3", "--auth-tokens", tokens))
	for i := range 3 {
		if status, _, body := get(t, b, "/cluster", "tok-a"); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, hdr, body := get(t, b, "/cluster", "tok-a")
	var d problem.Details
	_ = json.Unmarshal(body, &d)
	if status != http.StatusTooManyRequests || d.Code != "too_many_requests" || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("4th request: %d %s", status, body)
	}
	if ra := hdr.Get("Retry-After"); ra != "5" && ra != "4" {
		t.Fatalf("Retry-After %q, want about 5 (seconds for one request at 0.2/s)", ra)
	}
	// Buckets are per token: tok-b still has its burst.
	if status, _, body := get(t, b, "/cluster", "tok-b"); status != 200 {
		t.Fatalf("tok-b: %d %s", status, body)
	}
	// Requests without a known token share their IP's bucket, and probes are exempt.
	for range 3 {
		get(t, b, "/cluster", "")
	}
	if status, _, _ := get(t, b, "/cluster", "bogus"); status != http.StatusTooManyRequests {
		t.Fatalf("unknown tokens are not limited by IP: %d", status)
	}
	for range 5 {
		if status, _, _ := get(t, b, "/healthz", ""); status != 200 {
			t.Fatalf("/healthz limited: %d", status)
		}
	}
}

// dial opens a raw TCP connection to the broker.
func dial(t *testing.T, b *brokertest.Broker) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", b.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports how long the broker took to close c while the client
// trickles a byte of filler every 100 ms; it fails the test after limit.
func closedWithin(t *testing.T, c net.Conn, filler string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan time.Duration, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(limit))
		_, err := io.Copy(io.Discard, c) // until the broker closes
		if errors.Is(err, os.ErrDeadlineExceeded) {
			done <- -1
			return
		}
		done <- time.Since(start)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case d := <-done:
			if d < 0 {
				t.Fatalf("the broker kept a slow connection open for %v", limit)
			}
			return d
		case <-tick.C:
			_, _ = c.Write([]byte(filler))
		}
	}
}

func TestSlowClientsAreDropped(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithArgs("--read-header-timeout", "700ms", "--body-read-timeout", "1s"))
	b.JSON(t, "POST", "/topics", `{"name":"orders"}`, 201, nil)

	t.Run("slowloris", func(t *testing.T) {
		c := dial(t, b)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n", b.Addr)
		// A normal client is served meanwhile.
		b.JSON(t, "GET", "/healthz", "", 200, nil)
		if d := closedWithin(t, c, "X", 5*time.Second); d > 3*time.Second {
			t.Fatalf("closed after %v, want about 700ms", d)
		}
	})

	t.Run("slow body", func(t *testing.T) {
		c := dial(t, b)
		fmt.Fprintf(c, "POST /topics/orders/records HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"records\":[", b.Addr)
		b.JSON(t, "POST", "/topics/orders/records", `{"records":[{"value":1}]}`, 200, nil)
		if d := closedWithin(t, c, " ", 6*time.Second); d > 4*time.Second {
			t.Fatalf("closed after %v, want about 1s", d)
		}
		// Nothing of the cut-off body was written.
		var res struct {
			HighWatermark int64 `json:"high_watermark"`
		}
		b.JSON(t, "GET", "/topics/orders/partitions/0/records", "", 200, &res)
		if res.HighWatermark != 1 {
			t.Fatalf("high watermark %d, want 1", res.HighWatermark)
		}
	})
}

// metric reads one unlabelled sample from /metrics.
func metric(t *testing.T, b *brokertest.Broker, name string) string {
	t.Helper()
	_, body := b.Get(t, "/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func TestLongPollCap(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithArgs("--max-long-polls", "1"))
	b.JSON(t, "POST", "/topics", `{"name":"orders"}`, 201, nil)
	first := make(chan int, 1)
	go func() {
		status, _ := b.Get(t, "/topics/orders/partitions/0/records?timeout_ms=20000")
		first <- status
	}()
	// Wait until the first long poll holds the only slot.
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, b, "fjord_http_long_polls") != "1" {
		if time.Now().After(deadline) {
			t.Fatal("the first long poll never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	var res struct {
		Records []json.RawMessage `json:"records"`
	}
	b.JSON(t, "GET", "/topics/orders/partitions/0/records?timeout_ms=20000", "", 200, &res)
	if d := time.Since(start); d > 5*time.Second || len(res.Records) != 0 {
		t.Fatalf("the capped long poll took %v and got %d records; want an immediate empty answer", d, len(res.Records))
	}
	if v := metric(t, b, "fjord_http_long_polls_capped_total"); v != "1" {
		t.Fatalf("capped counter %q, want 1", v)
	}
	// The first one is still waiting, and a record wakes it.
	b.JSON(t, "POST", "/topics/orders/records", `{"records":[{"value":1}]}`, 200, nil)
	if status := <-first; status != 200 {
		t.Fatalf("first long poll: %d", status)
	}
}

func TestMaxConnections(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithArgs("--max-connections", "2"))
	// Two idle connections take both slots once accepted; prove they are by
	// completing a request on each and keeping them open.
	var conns []net.Conn
	for range 2 {
		c := dial(t, b)
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", b.Addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	client := &http.Client{Timeout: 700 * time.Millisecond}
	if resp, err := client.Get(b.URL + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a third connection was served while two were open")
	}
	// Closing one frees its slot.
	conns[0].Close()
	b.JSON(t, "GET", "/healthz", "", 200, nil)
}
