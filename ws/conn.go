package ws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fjord-streaming/fjord/api/problem"
)

// conn is one WebSocket connection. Its goroutines:
//
//   - the reader (the HTTP handler's goroutine): reads and dispatches client
//     messages, handles credit and unsubscribe itself;
//   - the writer: the only goroutine that writes data frames; it drains the
//     send queue and pings;
//   - the worker: runs produce and commit requests one at a time, in the
//     order they arrived, so a slow acks=all never stalls the reader;
//   - one goroutine per subscription.
//
// The reader starts the others and, when the connection ends, cancels ctx
// and waits for all of them before it closes the socket.
type conn struct {
	srv       *Server
	ws        *websocket.Conn
	principal any // from Authorizer.Authorize
	ctx       context.Context
	cancel    context.CancelFunc
	q         *sendQueue
	jobs      chan func()
	wg        sync.WaitGroup // writer, worker and subscriptions
	closeOnce sync.Once
	closeMsg  []byte      // set by closeWith before ctx is cancelled
	kill      *time.Timer // set by closeWith: closes the socket after closeGrace
	// writing is held by the writer from a frame's write until its written
	// callback has run, so that a commit (writtenSoFar) never misses a frame
	// the client may already have received.
	writing sync.Mutex

	// mu guards subs. The reader adds and removes subscriptions; a
	// subscription that ends by itself removes itself.
	mu   sync.Mutex
	subs map[string]subscription
}

func newConn(s *Server, ws *websocket.Conn, principal any) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{srv: s, ws: ws, principal: principal, ctx: ctx, cancel: cancel,
		jobs: make(chan func()), subs: make(map[string]subscription)}
	c.q = newSendQueue(s.cfg.WriteQueueBytes, 2*s.cfg.WriteQueueBytes, func(d int64) { s.metrics.queuedBytes.Add(float64(d)) })
	return c
}

// serve runs the connection until it closes, then waits for every goroutine
// it started. initial is the query-string subscription, if any.
func (c *conn) serve(initial *clientMessage) {
	cfg := &c.srv.cfg
	c.wg.Add(2)
	go c.writeLoop()
	go c.workLoop()
	c.ws.SetReadLimit(cfg.MaxFrameBytes)
	_ = c.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	c.ws.SetPongHandler(func(string) error {
		if c.ctx.Err() != nil {
			return nil // closing: keep the short deadline of writeClose
		}
		return c.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	})
	if initial != nil {
		c.handle(*initial)
	}
	err := c.readLoop()
	c.closeAfterRead(err)
	// A no-op now, but it orders this goroutine after whichever closeWith
	// ran (the Once), so c.kill below is set.
	c.closeWith(websocket.CloseNormalClosure, "")
	c.stopSubscriptions()
	c.wg.Wait()
	c.q.drain()
	c.kill.Stop()
	_ = c.ws.Close()
}

func (c *conn) readLoop() error {
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		if typ != websocket.TextMessage {
			c.sendError("", errInvalid("binary messages are not supported: send JSON text messages"))
			continue
		}
		m, err := decodeClientMessage(data)
		if err != nil {
			c.sendError(m.ID, err)
			continue
		}
		c.handle(m)
	}
}

// closeAfterRead closes the connection after the reader failed, with the
// close code that fits; it does nothing when the broker closed first.
func (c *conn) closeAfterRead(err error) {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case c.ctx.Err() != nil:
	case errors.As(err, &ce):
		c.closeWith(ce.Code, "") // the client closed; gorilla has answered it
	case errors.Is(err, websocket.ErrReadLimit):
		c.srv.metrics.dropped.WithLabelValues("frame_too_large").Inc()
		c.closeWith(websocket.CloseMessageTooBig, "") // gorilla has sent 1009
	case errors.As(err, &ne) && ne.Timeout():
		c.srv.metrics.dropped.WithLabelValues("pong_timeout").Inc()
		c.closeWith(websocket.CloseGoingAway, "no pong within the read deadline")
	default:
		c.closeWith(websocket.CloseProtocolError, "")
	}
}

// closeGrace is how long a closing connection may take: to finish the
// frame being written, write the close frame, and get the client's close
// frame back. Then the socket is closed regardless.
const closeGrace = 2 * time.Second

// closeWith starts closing the connection once: it records the close frame
// (code and reason), cancels every goroutine and stops the send queue. The
// writer writes the close frame right after the frame it is writing, if
// any, so a client that still reads gets the reason; the socket is closed
// after closeGrace in any case. closeWith never blocks.
func (c *conn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeMsg = websocket.FormatCloseMessage(code, reason)
		c.kill = time.AfterFunc(closeGrace, func() { _ = c.ws.NetConn().Close() })
		c.cancel()
		c.q.close()
	})
}

// writeClose sends the close frame when the writer ends, and lets the
// reader wait a moment for the client's answer.
func (c *conn) writeClose() {
	err := c.ws.WriteControl(websocket.CloseMessage, c.closeMsg, time.Now().Add(closeGrace))
	if err != nil {
		_ = c.ws.NetConn().Close()
		return
	}
	_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(closeGrace))
}

// writeLoop writes queued frames and pings until the connection closes.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	defer c.writeClose()
	cfg := &c.srv.cfg
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	var batch []frame
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.drop("write_timeout", err)
				return
			}
		case <-c.q.ready:
			batch = c.q.take(batch[:0])
			for i, f := range batch {
				err := c.ctx.Err()
				c.writing.Lock()
				if err == nil {
					_ = c.ws.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
					err = c.ws.WriteMessage(websocket.TextMessage, *f.buf)
				}
				c.q.done(int64(len(*f.buf)))
				if err == nil && f.written != nil {
					f.written()
				}
				c.writing.Unlock()
				putBuf(f.buf)
				batch[i] = frame{}
				if err != nil {
					for _, rest := range batch[i+1:] {
						c.q.done(int64(len(*rest.buf)))
						putBuf(rest.buf)
					}
					c.drop("write_timeout", err)
					return
				}
			}
		}
	}
}

// writtenSoFar returns once the writer has recorded every frame whose
// write has finished: the client can have read a frame only after that.
func (c *conn) writtenSoFar() {
	c.writing.Lock()
	defer c.writing.Unlock()
}

// drop ends a connection whose socket failed.
func (c *conn) drop(reason string, err error) {
	if c.ctx.Err() == nil {
		c.srv.metrics.dropped.WithLabelValues(reason).Inc()
		c.srv.cfg.Logger.Debug("websocket dropped", "reason", reason, "err", err)
	}
	c.closeWith(websocket.CloseGoingAway, "write failed")
}

// workLoop runs produce and commit requests in arrival order.
func (c *conn) workLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case job := <-c.jobs:
			job()
		}
	}
}

// enqueueJob hands job to the worker, waiting while it is busy: a client
// that sends requests faster than they complete is slowed down by TCP.
func (c *conn) enqueueJob(job func()) {
	select {
	case c.jobs <- job:
	case <-c.ctx.Done():
	}
}

// send queues an answer. A client that does not read its answers overflows
// the queue and is dropped with 1008.
func (c *conn) send(bp *[]byte) {
	err := c.q.push(frame{buf: bp})
	if err == nil {
		return
	}
	putBuf(bp)
	if errors.Is(err, errQueueOverflow) {
		c.srv.metrics.dropped.WithLabelValues("queue_overflow").Inc()
		c.closeWith(websocket.ClosePolicyViolation, "write queue overflow: the client does not read")
	}
}

func (c *conn) sendError(id string, err error) {
	if status, _ := problem.Classify(err); status >= http.StatusInternalServerError {
		c.srv.cfg.Logger.Error("websocket request failed", "id", id, "err", err)
	}
	c.send(errorFrame(id, err))
}

// handle runs one valid client message.
func (c *conn) handle(m clientMessage) {
	switch m.Op {
	case opSubscribe:
		c.subscribe(m)
	case opCredit:
		s := c.subscription(m.ID)
		if s == nil {
			c.sendError(m.ID, errNoSubscription(m.ID))
			return
		}
		s.base().addCredits(m.Records)
	case opUnsubscribe:
		c.unsubscribe(m.ID)
	case opCommit:
		gs, ok := c.subscription(m.ID).(*groupSub)
		if !ok {
			c.sendError(m.ID, errInvalid("%q is not a group subscription", m.ID))
			return
		}
		c.enqueueJob(func() { gs.commit(m.Offsets) })
	case opProduce:
		if c.subscription(m.ID) != nil {
			c.sendError(m.ID, errInvalid("id %q is in use by a subscription", m.ID))
			return
		}
		c.enqueueJob(func() { c.produce(m) })
	}
}

func errNoSubscription(id string) error {
	return errInvalid("there is no subscription %q", id)
}

func (c *conn) subscription(id string) subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subs[id]
}

// subscribe creates a subscription, answers subscribed, and starts it.
func (c *conn) subscribe(m clientMessage) {
	if c.subscription(m.ID) != nil {
		c.sendError(m.ID, errInvalid("id %q is already in use by a subscription", m.ID))
		return
	}
	var s subscription
	var err error
	if m.Group != "" {
		s, err = c.newGroupSub(m)
	} else {
		s, err = c.newLogSub(m)
	}
	if err != nil {
		c.sendError(m.ID, err)
		return
	}
	b := s.base()
	c.mu.Lock()
	c.subs[m.ID] = s
	c.mu.Unlock()
	c.srv.metrics.subscriptions.Inc()
	c.send(statusFrame(typeSubscribed, m.ID))
	s.start()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(b.done)
		defer c.srv.metrics.subscriptions.Dec()
		s.run()
	}()
}

// unsubscribe stops a subscription and waits for it, so that nothing of it
// follows the unsubscribed frame.
func (c *conn) unsubscribe(id string) {
	c.mu.Lock()
	s := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if s == nil {
		c.sendError(id, errNoSubscription(id))
		return
	}
	s.base().stop()
	c.send(statusFrame(typeUnsubscribed, id))
}

// ended removes a subscription that stopped by itself, after sending err.
func (c *conn) ended(s subscription, err error) {
	id := s.base().id
	c.mu.Lock()
	mine := c.subs[id] == s
	if mine {
		delete(c.subs, id)
	}
	c.mu.Unlock()
	if mine && err != nil {
		c.sendError(id, err)
	}
}

func (c *conn) stopSubscriptions() {
	c.mu.Lock()
	subs := c.subs
	c.subs = map[string]subscription{}
	c.mu.Unlock()
	for _, s := range subs {
		s.base().stop()
	}
}

// allow asks the Authorizer, if any.
func (c *conn) allow(resource, name, op string) error {
	if c.srv.cfg.Authorizer == nil {
		return nil
	}
	if err := c.srv.cfg.Authorizer.Allow(c.principal, resource, name, op); err != nil {
		return fmt.Errorf("%s %s %q: %w", op, resource, name, err)
	}
	return nil
}
