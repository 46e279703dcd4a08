package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsSub is one WebSocket connection carrying one subscription. Only the
// goroutine that owns it reads and writes it.
type wsSub struct {
	conn    *websocket.Conn
	id      string
	credits int // the window; credit is returned once half of it is used
	pending int // records received since the last credit message
	buf     bytes.Buffer
}

// subscribeMsg is the broker's subscribe op (API.md, WebSocket).
type subscribeMsg struct {
	Op        string `json:"op"`
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Partition *int32 `json:"partition,omitempty"`
	Offset    any    `json:"offset"`
	Credits   int    `json:"credits"`
}

// wsURL turns the broker's base URL into its /ws endpoint.
func wsURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + strings.TrimPrefix(base, "https://") + "/ws"
	default:
		return "ws://" + strings.TrimPrefix(base, "http://") + "/ws"
	}
}

var dialer = websocket.Dialer{
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   64 << 10,
	WriteBufferSize:  4 << 10,
}

// dialKey names a failed handshake for the error table.
func dialKey(resp *http.Response, err error) string {
	if resp != nil {
		return fmt.Sprintf("ws handshake %d", resp.StatusCode)
	}
	return "ws " + transportKey(err)
}

// subscribe dials the broker and sends sub. A failure is returned as its
// error-table key and message.
func subscribe(ctx context.Context, base string, sub subscribeMsg) (s *wsSub, key string, err error) {
	conn, resp, err := dialer.DialContext(ctx, wsURL(base), nil)
	if err != nil {
		return nil, dialKey(resp, err), err
	}
	if err := conn.WriteJSON(sub); err != nil {
		conn.Close()
		return nil, "ws " + transportKey(err), err
	}
	return &wsSub{conn: conn, id: sub.ID, credits: sub.Credits}, "", nil
}

// close says goodbye and closes the connection.
func (s *wsSub) close() {
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = s.conn.Close()
}

// next reads one frame and returns its type; the frame's bytes stay valid
// until the next call.
func (s *wsSub) next() (typ string, frame []byte, err error) {
	_, r, err := s.conn.NextReader()
	if err != nil {
		return "", nil, err
	}
	s.buf.Reset()
	if _, err := s.buf.ReadFrom(r); err != nil {
		return "", nil, err
	}
	frame = s.buf.Bytes()
	v, ok, err := field(frame, "type")
	if err != nil || !ok || len(v) < 2 {
		return "", frame, errScan
	}
	return string(v[1 : len(v)-1]), frame, nil
}

// consumed returns n records' worth of credit once half the window is used,
// so the broker never waits for credit while the reader keeps up.
func (s *wsSub) consumed(n int) error {
	s.pending += n
	if s.pending < s.credits/2 {
		return nil
	}
	msg := `{"op":"credit","id":` + strconv.Quote(s.id) + `,"records":` + strconv.Itoa(s.pending) + `}`
	s.pending = 0
	return s.conn.WriteMessage(websocket.TextMessage, []byte(msg))
}

// frameError returns the key and message of an error frame.
func frameError(frame []byte) (key, msg string) {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(frame, &e)
	return "ws " + e.Code, e.Message
}

// runOver reports whether ctx has ended or reached its deadline. The
// handshake's connection gets ctx's deadline, and its timer may fire a moment
// before ctx's own, so ctx.Err() alone can still be nil.
func runOver(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && !time.Now().Before(dl))
}

// readErrKey names a failed read, or "" when the run's end caused it.
func readErrKey(ctx context.Context, err error) string {
	if runOver(ctx) {
		return ""
	}
	if errors.Is(err, errScan) {
		return "ws malformed frame"
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("ws closed %d", ce.Code)
	}
	return "ws " + transportKey(err)
}

// wsOffset turns --offset into the subscribe message's offset.
func wsOffset(spec string, parts []partitionInfo) (any, error) {
	switch {
	case spec == "earliest" || spec == "latest":
		return spec, nil
	case len(parts) != 1:
		return nil, fmt.Errorf("bench: --offset %q with --mode ws needs --partition", spec)
	}
	return startOffset(spec, parts[0])
}

// runWS fans the topic out to --subscribers WebSocket subscribers, each
// reading --records (default: everything from its start to the high
// watermark seen at start), plus --stalled subscribers that never read.
func (o *consumeOptions) runWS(ctx context.Context, c *client, parts []partitionInfo, s *Summary, stdout, stderr io.Writer) error {
	off, err := wsOffset(o.Offset, parts)
	if err != nil {
		return err
	}
	target := o.Records
	if target == 0 {
		for _, p := range parts {
			start, err := startOffset(o.Offset, p)
			if err != nil {
				return err
			}
			target += max(0, p.HighWatermark-start)
		}
	}
	if target == 0 && o.Duration == 0 {
		return fmt.Errorf("bench: topic %s has nothing to read from %s; give --records or --duration", o.Topic, o.Offset)
	}
	sub := subscribeMsg{Op: "subscribe", ID: "bench", Topic: o.Topic, Offset: off, Credits: o.Credits}
	if o.Partition >= 0 {
		p := int32(o.Partition)
		sub.Partition = &p
	}
	return o.measure(ctx, s, stdout, stderr, func(ctx context.Context, rec *Recorder) error {
		stallCtx, stopStalled := context.WithCancel(ctx)
		var stalled sync.WaitGroup
		for range o.Stalled {
			st := sub
			st.Credits = 1 << 30
			stalled.Go(func() { stall(stallCtx, c.base, st, rec) })
		}
		var wg sync.WaitGroup
		for range o.Subscribers {
			wg.Go(func() { readSubscription(ctx, c.base, sub, target, rec) })
		}
		wg.Wait()
		if o.Subscribers == 0 {
			<-ctx.Done() // only stalled subscribers: hold them for --duration
		}
		stopStalled()
		stalled.Wait()
		return nil
	})
}

// readSubscription reads target records (0: until ctx ends) from one
// subscription and counts them.
func readSubscription(ctx context.Context, base string, sub subscribeMsg, target int64, rec *Recorder) {
	s, key, err := subscribe(ctx, base, sub)
	if err != nil {
		if !runOver(ctx) { // not a handshake the run's end cut short
			rec.Fail(key, 0, err.Error())
		}
		return
	}
	defer s.close()
	defer context.AfterFunc(ctx, func() { _ = s.conn.SetReadDeadline(time.Now()) })()
	var got int64
	for target == 0 || got < target {
		typ, frame, err := s.next()
		if err != nil {
			if key := readErrKey(ctx, err); key != "" {
				rec.Fail(key, 0, err.Error())
			}
			return
		}
		switch typ {
		case "records":
			n, err := countArray(frame, "records")
			if err != nil {
				rec.Fail("ws malformed frame", 0, err.Error())
				return
			}
			got += int64(n)
			rec.Delivered(int64(n), int64(len(frame)))
			if err := s.consumed(n); err != nil {
				rec.Fail("ws "+transportKey(err), 0, err.Error())
				return
			}
		case "error":
			key, msg := frameError(frame)
			rec.Fail(key, 0, msg)
			return
		}
	}
}

// stall subscribes and then never reads until ctx ends: the broker must
// bound what it holds for such a reader.
func stall(ctx context.Context, base string, sub subscribeMsg, rec *Recorder) {
	s, key, err := subscribe(ctx, base, sub)
	if err != nil {
		if !runOver(ctx) { // not a handshake the run's end cut short
			rec.Fail(key, 0, err.Error())
		}
		return
	}
	<-ctx.Done()
	_ = s.conn.Close()
}
