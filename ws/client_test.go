package ws_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsFrame is any broker frame, decoded.
type wsFrame struct {
	Type        string           `json:"type"`
	ID          string           `json:"id"`
	Code        string           `json:"code"`
	Message     string           `json:"message"`
	Records     []wsRecord       `json:"records"`
	Generation  int64            `json:"generation"`
	Assignments []wsPartition    `json:"assignments"`
	Offsets     []map[string]any `json:"offsets"`
	Accepted    *int             `json:"accepted"`
	raw         string
}

type wsRecord struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp int64             `json:"timestamp"`
	Key       *string           `json:"key"`
	Value     json.RawMessage   `json:"value"`
	Headers   map[string]string `json:"headers"`
}

type wsPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// wsClient is a test WebSocket client. A goroutine reads frames into a
// channel, so a test can wait for "nothing more" without breaking the
// connection (gorilla read deadlines are permanent).
type wsClient struct {
	t      testing.TB
	conn   *websocket.Conn
	frames chan wsFrame
	err    chan error // the read error that ended the reader
}

// waitFrame bounds every wait for an expected frame.
const waitFrame = 10 * time.Second

// dialWS opens /ws?query on the broker at addr (host:port).
func dialWS(t testing.TB, addr, query string, header http.Header) *wsClient {
	t.Helper()
	conn, resp, err := dialRaw(addr, query, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial /ws?%s: %v (status %d)", query, err, status)
	}
	c := &wsClient{t: t, conn: conn, frames: make(chan wsFrame, 1024), err: make(chan error, 1)}
	go c.read()
	t.Cleanup(func() { conn.Close() })
	return c
}

func dialRaw(addr, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	u := "ws://" + addr + "/ws"
	if query != "" {
		u += "?" + query
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	return d.Dial(u, header)
}

func (c *wsClient) read() {
	defer close(c.frames)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.err <- err
			return
		}
		var f wsFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err <- fmt.Errorf("frame %q is not JSON: %w", data, err)
			return
		}
		f.raw = string(data)
		c.frames <- f
	}
}

func (c *wsClient) send(msg string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		c.t.Fatalf("send %s: %v", msg, err)
	}
}

// next returns the next frame, failing the test after waitFrame.
func (c *wsClient) next() wsFrame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			c.t.Fatalf("connection ended: %v", <-c.err)
		}
		return f
	case <-time.After(waitFrame):
		c.t.Fatal("no frame within", waitFrame)
	}
	return wsFrame{}
}

// expect reads the next frame and checks its type and id.
func (c *wsClient) expect(typ, id string) wsFrame {
	c.t.Helper()
	f := c.next()
	if f.Type != typ || f.ID != id {
		c.t.Fatalf("frame %s, want type %q id %q", f.raw, typ, id)
	}
	return f
}

// records reads frames until n records of id arrived and returns them;
// frames of other ids are handed to other (nil: unexpected).
func (c *wsClient) records(id string, n int) []wsRecord {
	c.t.Helper()
	var out []wsRecord
	for len(out) < n {
		f := c.next()
		if f.Type != "records" || f.ID != id {
			c.t.Fatalf("after %d of %d records: unexpected frame %s", len(out), n, f.raw)
		}
		if len(f.Records) == 0 {
			c.t.Fatalf("empty records frame %s", f.raw)
		}
		out = append(out, f.Records...)
	}
	if len(out) != n {
		c.t.Fatalf("got %d records, want exactly %d", len(out), n)
	}
	return out
}

// quiet checks that no frame arrives for d. There is nothing to be
// notified by when a broker correctly sends nothing, so this is a bounded
// wait.
func (c *wsClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if ok {
			c.t.Fatalf("unexpected frame %s", f.raw)
		}
		c.t.Fatalf("connection ended: %v", <-c.err)
	case <-time.After(d):
	}
}

// closed waits for the connection to end and returns the close error.
func (c *wsClient) closed() *websocket.CloseError {
	c.t.Helper()
	deadline := time.After(waitFrame)
	for {
		select {
		case _, ok := <-c.frames:
			if ok {
				continue
			}
			err := <-c.err
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				c.t.Fatalf("connection ended without a close frame: %v", err)
			}
			return ce
		case <-deadline:
			c.t.Fatal("connection still open")
		}
	}
}

// checkSequence fails unless recs of each partition are consecutive offsets
// starting at from[partition] (default 0), and returns the count per
// partition.
func checkSequence(t testing.TB, recs []wsRecord, from map[int32]int64) map[int32]int {
	t.Helper()
	next := map[int32]int64{}
	for p, o := range from {
		next[p] = o
	}
	count := map[int32]int{}
	for _, r := range recs {
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d (gap or duplicate)", r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
		count[r.Partition]++
	}
	return count
}

// produceBody is a REST produce body of n records with JSON values
// {"i":start+k}, all to partition p (p < 0: no partition given).
func produceBody(n, start, p int) string {
	var b strings.Builder
	b.WriteString(`{"records":[`)
	for k := 0; k < n; k++ {
		if k > 0 {
			b.WriteByte(',')
		}
		if p >= 0 {
			fmt.Fprintf(&b, `{"partition":%d,"value":{"i":%d}}`, p, start+k)
		} else {
			fmt.Fprintf(&b, `{"value":{"i":%d}}`, start+k)
		}
	}
	b.WriteString(`]}`)
	return b.String()
}
