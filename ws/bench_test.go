package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
	"github.com/fjord-streaming/fjord/ws"
)

// BenchmarkFanOut: one topic, 100 WebSocket subscribers, records produced
// in batches of 100 and delivered to every subscriber. records/s counts
// deliveries (records x subscribers); MB/s is delivered record values.
func BenchmarkFanOut(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("subscribers=100/value=%dB", size), func(b *testing.B) {
			benchFanOut(b, 100, size)
		})
	}
}

func benchFanOut(b *testing.B, subscribers, valueSize int) {
	p := startInProcess(b, ws.Config{}, false)
	if _, err := p.engine.CreateTopic(engine.TopicSpec{Name: "fan", Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	want := b.N
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, subscribers)
	for i := range conns {
		conn, _, err := dialRaw(p.addr, "topic=fan&offset=latest&credits=1000000000000", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		if _, data, err := conn.ReadMessage(); err != nil || !bytes.Contains(data, []byte(`"subscribed"`)) {
			b.Fatalf("subscribe: %s %v", data, err)
		}
		conns[i] = conn
	}
	errs := make(chan error, subscribers)
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := 0
			for got < want {
				_, data, err := conn.ReadMessage()
				if err != nil {
					errs <- err
					return
				}
				got += bytes.Count(data, []byte(`"offset":`))
			}
		}()
	}
	value := []byte(`"` + strings.Repeat("v", valueSize-2) + `"`)
	batch := make([]engine.ProduceRecord, 0, 100)
	b.SetBytes(int64(valueSize * subscribers))
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < want; sent += len(batch) {
		batch = batch[:0]
		for k := 0; k < min(100, want-sent); k++ {
			batch = append(batch, engine.ProduceRecord{Partition: 0, Record: storage.Record{
				Timestamp: -1, ValueFormat: storage.FormatJSON, Value: value}})
		}
		if _, err := p.engine.Produce(context.Background(), "fan", batch, engine.AcksLeader); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(want*subscribers)/elapsed.Seconds(), "records/s")
}

// BenchmarkEndToEndLatency: produce one record via REST with acks=1 and
// time until a WebSocket subscriber receives it, one at a time. Reports the
// median and the 99th percentile.
func BenchmarkEndToEndLatency(b *testing.B) {
	p := startInProcess(b, ws.Config{}, false)
	if _, err := p.engine.CreateTopic(engine.TopicSpec{Name: "lat", Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	conn, _, err := dialRaw(p.addr, "topic=lat&offset=latest&credits=1000000000000", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, _, err := conn.ReadMessage(); err != nil {
		b.Fatal(err)
	}
	received := make(chan time.Time, 1)
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				close(received)
				return
			}
			received <- time.Now()
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	url := p.http.URL + "/topics/lat/records?acks=1"
	body := `{"records":[{"key":"k","value":{"n":1}}]}`
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		resp, err := client.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("produce: %d", resp.StatusCode)
		}
		select {
		case at, ok := <-received:
			if !ok {
				b.Fatal("socket closed")
			}
			lat = append(lat, at.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatal("record not received")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
}
