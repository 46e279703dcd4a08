package peer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

// The replica stream: one connection per follower and leader, opened as an
// HTTP/1.1 upgrade of GET pathReplicaStream (with the cluster secret, like
// every peer call) and then carrying the follower's fetch rounds as
// length-prefixed binary frames in both directions, one answer for each
// request, in order:
//
//	request: length(4) metadataVersion(8) EncodeReplicaRequest
//	answer:  length(4) EncodeReplicaResponse
//
// It spares each round an HTTP request and answer (headers, routing, the
// middleware chain, and the client transport's goroutine hand-offs), and the
// leader writes the batches to the socket from where they are, without
// first copying them into one answer. A broker that does not serve the
// stream (404) is fetched from with POST pathReplicaFetch rounds instead.
const (
	pathReplicaStream = PathPrefix + "replica/stream"
	// replicaProtocol is the Upgrade token of the stream.
	replicaProtocol = "fjord-replica/1"
	// streamRetry is how long a client keeps using rounds with a broker
	// that refused the stream before it tries the stream again.
	streamRetry = time.Minute
)

// errNoStream is a leader that does not serve the stream.
var errNoStream = errors.New("peer: the broker does not serve the replica stream")

// streams holds a Client's idle replica streams, one per leader; a stream
// is taken out for a round and put back after it, so concurrent rounds to
// one leader (briefly, while a fetcher is replaced) each get their own.
type streams struct {
	mu      sync.Mutex
	idle    map[int32]*stream
	refused map[string]time.Time // address -> when it answered 404
	closed  bool
}

// stream is one open replica stream.
type stream struct {
	addr string
	rwc  io.ReadWriteCloser
	hdr  [12]byte
}

func (ss *streams) take(leader int32, addr string) *stream {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.idle[leader]
	delete(ss.idle, leader)
	if s != nil && s.addr != addr { // the leader moved: its old stream is stale
		_ = s.rwc.Close()
		s = nil
	}
	return s
}

func (ss *streams) put(leader int32, s *stream) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed || ss.idle[leader] != nil {
		_ = s.rwc.Close()
		return
	}
	if ss.idle == nil {
		ss.idle = map[int32]*stream{}
	}
	ss.idle[leader] = s
}

// useRounds reports whether addr refused the stream within streamRetry.
func (ss *streams) useRounds(addr string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	t, ok := ss.refused[addr]
	return ok && time.Since(t) < streamRetry
}

func (ss *streams) refuse(addr string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.refused == nil {
		ss.refused = map[string]time.Time{}
	}
	ss.refused[addr] = time.Now()
}

// close closes the idle streams; streams in a round close when they are
// put back.
func (ss *streams) close() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	for id, s := range ss.idle {
		_ = s.rwc.Close()
		delete(ss.idle, id)
	}
}

// ReplicaFetch sends one round of this broker's fetch stream to leader,
// over the replica stream when the leader serves it.
func (c *Client) ReplicaFetch(ctx context.Context, leader int32, req engine.ReplicaFetchRequest) (engine.ReplicaFetchResponse, error) {
	addr := c.addr(leader)
	if addr == "" || c.streams.useRounds(addr) {
		return c.replicaFetchRound(ctx, leader, req)
	}
	name := fmt.Sprintf("%d at %s", leader, addr)
	s := c.streams.take(leader, addr)
	if s == nil {
		var err error
		if s, err = c.openStream(ctx, leader, addr); errors.Is(err, errNoStream) {
			c.streams.refuse(addr)
			return c.replicaFetchRound(ctx, leader, req)
		} else if err != nil {
			return engine.ReplicaFetchResponse{}, err
		}
	}
	b, err := s.round(ctx, c.version(), EncodeReplicaRequest(req))
	if err != nil {
		_ = s.rwc.Close()
		return engine.ReplicaFetchResponse{}, transportError(ctx, name, err)
	}
	out, err := DecodeReplicaResponse(b)
	if err != nil {
		_ = s.rwc.Close()
		c.cfg.Logger.Warn("malformed replica fetch answer", "broker", name, "err", err)
		return engine.ReplicaFetchResponse{}, err
	}
	c.streams.put(leader, s)
	return out, nil
}

// openStream upgrades a GET of pathReplicaStream at leader to a stream.
func (c *Client) openStream(ctx context.Context, leader int32, addr string) (*stream, error) {
	req, name, err := c.newRequest(ctx, leader, http.MethodGet, pathReplicaStream, nil, "", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", replicaProtocol)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, name, err)
	}
	switch resp.StatusCode {
	case http.StatusSwitchingProtocols:
		if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
			return &stream{addr: addr, rwc: rwc}, nil
		}
		resp.Body.Close()
		return nil, fmt.Errorf("%w: broker %s switched protocols without a connection", ErrBadAnswer, name)
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		resp.Body.Close()
		return nil, errNoStream
	}
	return nil, c.failure(ctx, resp, name, -1)
}

// round writes one request frame and reads its answer. ctx ending closes
// the stream, which ends a read or write in progress; after any error the
// stream is of no further use.
func (s *stream) round(ctx context.Context, version uint64, req []byte) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { _ = s.rwc.Close() })
	defer stop()
	binary.BigEndian.PutUint32(s.hdr[:4], uint32(8+len(req)))
	binary.BigEndian.PutUint64(s.hdr[4:], version)
	bufs := net.Buffers{s.hdr[:], req}
	_, err := bufs.WriteTo(s.rwc)
	var b []byte
	if err == nil {
		b, err = readFrame(s.rwc, s.hdr[:4], maxReplicaAnswer)
	}
	if !stop() && err == nil {
		err = ctx.Err() // the stream was closed under the round: it is gone
	}
	return b, err
}

// readFrame reads one length-prefixed frame of at most limit bytes into a
// new buffer; hdr is 4 bytes of scratch.
func readFrame(r io.Reader, hdr []byte, limit int) ([]byte, error) {
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:4]))
	if n > limit {
		return nil, fmt.Errorf("%w: frame of %d bytes is over %d", ErrBadAnswer, n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// streamConns tracks a Server's open replica streams so that Close can end
// them: a hijacked connection is no longer the HTTP server's to close.
type streamConns struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

func (sc *streamConns) add(conn net.Conn) (context.Context, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return nil, false
	}
	if sc.conns == nil {
		sc.conns = map[net.Conn]struct{}{}
		sc.ctx, sc.cancel = context.WithCancel(context.Background())
	}
	sc.conns[conn] = struct{}{}
	sc.wg.Add(1)
	return sc.ctx, true
}

func (sc *streamConns) remove(conn net.Conn) {
	sc.mu.Lock()
	delete(sc.conns, conn)
	sc.mu.Unlock()
	_ = conn.Close()
	sc.wg.Done()
}

// Close ends every replica stream, refuses new ones, and waits until their
// rounds have returned or ctx ends. Call it before the engine closes.
func (s *Server) Close(ctx context.Context) error {
	sc := &s.streams
	sc.mu.Lock()
	sc.closed = true
	if sc.cancel != nil {
		sc.cancel()
	}
	for conn := range sc.conns {
		_ = conn.Close()
	}
	sc.mu.Unlock()
	done := make(chan struct{})
	go func() {
		sc.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("peer: replica streams still open: %w", ctx.Err())
	}
}

// replicaStream answers GET pathReplicaStream: it takes the connection
// over and serves the follower's rounds on it until either side closes it.
func (s *Server) replicaStream(c echo.Context) error {
	r := c.Request()
	if !strings.EqualFold(r.Header.Get("Upgrade"), replicaProtocol) {
		return s.fail(c, problem.New(http.StatusBadRequest, problem.InvalidRequest, "the replica stream needs Upgrade: "+replicaProtocol))
	}
	conn, brw, err := c.Response().Hijack()
	if err != nil {
		return s.fail(c, fmt.Errorf("replica stream: %w", err))
	}
	ctx, ok := s.streams.add(conn)
	if !ok {
		_ = conn.Close()
		return nil
	}
	defer s.streams.remove(conn)
	c.Response().Status = http.StatusSwitchingProtocols // for the request metrics
	_ = conn.SetDeadline(time.Time{})                   // the HTTP server's read and write timeouts are for requests
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + replicaProtocol + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		return nil
	}
	from := r.Header.Get(HeaderForwardedBy)
	if err := s.serveStream(ctx, conn, brw.Reader); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Debug("replica stream ended", "from", from, "err", err)
	}
	return nil
}

// serveStream serves rounds read from rd, answering on conn, until an
// error; it returns nil when the follower closed the stream.
func (s *Server) serveStream(ctx context.Context, conn net.Conn, rd *bufio.Reader) error {
	var hdr [4]byte
	var meta []byte
	for {
		b, err := readFrame(rd, hdr[:], 8+maxReplicaRequest)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(b) < 8 {
			return fmt.Errorf("%w: replica stream frame of %d bytes", engine.ErrInvalidRequest, len(b))
		}
		req, err := DecodeReplicaRequest(b[8:])
		if err != nil {
			return err
		}
		if v := binary.BigEndian.Uint64(b[:8]); v > 0 {
			wctx, cancel := context.WithTimeout(ctx, versionWait)
			_ = s.eng.WaitVersion(wctx, v) // past the bound: serve with what is here
			cancel()
		}
		resp := s.eng.ServeReplicaFetch(ctx, req)
		var bufs net.Buffers
		bufs, meta = replicaAnswerBuffers(meta[:0], resp)
		if _, err := bufs.WriteTo(conn); err != nil {
			return err
		}
		if cap(meta) > maxPooledAnswer {
			meta = nil
		}
	}
}

// replicaAnswerBuffers is the answer frame of resp (length prefix and
// EncodeReplicaResponse's encoding) as buffers to write in one go: the
// fixed fields are encoded into meta, which it returns grown, and the
// batches are written from where they are.
func replicaAnswerBuffers(meta []byte, resp engine.ReplicaFetchResponse) (net.Buffers, []byte) {
	// ends[i] is where the i-th piece of meta ends; a batch follows each.
	var ends []int
	size := 0                                     // of the batches
	meta = binary.BigEndian.AppendUint32(meta, 0) // the frame length, set below
	meta = binary.BigEndian.AppendUint32(meta, uint32(len(resp.Partitions)))
	for _, a := range resp.Partitions {
		meta = appendAnswerHead(meta, a)
		for _, bt := range a.Batches {
			meta = binary.BigEndian.AppendUint32(meta, uint32(len(bt)))
			ends = append(ends, len(meta))
			size += len(bt)
		}
	}
	binary.BigEndian.PutUint32(meta[:4], uint32(len(meta)-4+size))
	bufs := make(net.Buffers, 0, 2*len(ends)+1)
	start, i := 0, 0
	for _, a := range resp.Partitions {
		for _, bt := range a.Batches {
			bufs = append(bufs, meta[start:ends[i]], bt)
			start = ends[i]
			i++
		}
	}
	if start < len(meta) {
		bufs = append(bufs, meta[start:])
	}
	return bufs, meta
}
