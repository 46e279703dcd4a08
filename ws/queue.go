package ws

import (
	"context"
	"errors"
	"sync"
)

// errQueueClosed is returned to a waiting subscription when its connection
// closes.
var errQueueClosed = errors.New("ws: connection closed")

// errQueueOverflow means the client stopped reading while the broker had
// answers to send: the connection is dropped.
var errQueueOverflow = errors.New("ws: write queue overflow")

// frame is one text message waiting to be written.
type frame struct {
	buf *[]byte // the message, a pooled buffer the writer returns
	// written, when set, runs on the writer goroutine once the message is
	// on the socket (group subscriptions count what was delivered).
	written func()
}

// sendQueue is one connection's bounded queue of outgoing frames.
//
// Records frames are pulled from storage only when there is room: a
// subscription reserves bytes before it reads (reserve), so records never
// wait in memory beyond the budget; they wait in the log instead. Answers to
// client messages (acks, errors, subscribed, ...) are queued without
// waiting, and a client that keeps asking without reading them pushes the
// queue past its limit, which drops the connection. So a connection holds
// at most limit bytes plus one frame, whatever the client does.
type sendQueue struct {
	budget int64 // records frames wait while queued+reserved+n would pass it
	limit  int64 // answers fail with errQueueOverflow while queued passes it
	gauge  func(delta int64)

	// mu guards the fields below.
	mu       sync.Mutex
	frames   []frame
	queued   int64 // bytes of frames not yet written (including the writer's)
	reserved int64 // bytes promised to subscriptions reading records
	closed   bool
	room     chan struct{} // closed and replaced when bytes leave the queue and waiting is set
	waiting  bool          // someone waits on room
	ready    chan struct{} // capacity 1: a frame was added
}

func newSendQueue(budget, limit int64, gauge func(int64)) *sendQueue {
	return &sendQueue{budget: budget, limit: limit, gauge: gauge,
		room: make(chan struct{}), ready: make(chan struct{}, 1)}
}

// reserve waits until n bytes fit into the budget (or the queue is empty,
// so that one frame larger than the budget still goes) and promises them to
// the caller, who then pushes a frame with pushReserved or gives them back
// with release.
func (q *sendQueue) reserve(ctx context.Context, n int64) error {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return errQueueClosed
		}
		if used := q.queued + q.reserved; used+n <= q.budget || used == 0 {
			q.reserved += n
			q.mu.Unlock()
			return nil
		}
		room := q.room
		q.waiting = true
		q.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives back a reservation that was not used.
func (q *sendQueue) release(n int64) {
	q.mu.Lock()
	q.reserved -= n
	q.signalRoomLocked()
	q.mu.Unlock()
}

// pushReserved queues a records frame in place of a reservation of n bytes.
// The frame may be larger than n (one record can exceed a frame's target
// size); it is queued anyway.
func (q *sendQueue) pushReserved(f frame, n int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reserved -= n
	if q.closed {
		return errQueueClosed
	}
	q.addLocked(f)
	return nil
}

// push queues an answer. It fails with errQueueOverflow when the bytes
// already queued pass the limit: the client does not read.
func (q *sendQueue) push(f frame) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errQueueClosed
	}
	if q.queued > q.limit {
		return errQueueOverflow
	}
	q.addLocked(f)
	return nil
}

func (q *sendQueue) addLocked(f frame) {
	n := int64(len(*f.buf))
	q.frames = append(q.frames, f)
	q.queued += n
	q.gauge(n)
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take hands every queued frame to the writer. Their bytes stay counted
// until the writer calls written.
func (q *sendQueue) take(dst []frame) []frame {
	q.mu.Lock()
	defer q.mu.Unlock()
	dst = append(dst, q.frames...)
	clear(q.frames)
	q.frames = q.frames[:0]
	return dst
}

// done tells the queue that n bytes were written (or dropped).
func (q *sendQueue) done(n int64) {
	q.mu.Lock()
	q.queued -= n
	q.gauge(-n)
	q.signalRoomLocked()
	q.mu.Unlock()
}

// close wakes every waiter and refuses further frames. Frames still queued
// are dropped with drain.
func (q *sendQueue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		q.waiting = true
		q.signalRoomLocked()
	}
	q.mu.Unlock()
}

// drain drops what is still queued (after close) and returns the buffers.
func (q *sendQueue) drain() {
	q.mu.Lock()
	frames := q.frames
	q.frames = nil
	q.mu.Unlock()
	for _, f := range frames {
		q.done(int64(len(*f.buf)))
		putBuf(f.buf)
	}
}

func (q *sendQueue) signalRoomLocked() {
	if q.waiting {
		q.waiting = false
		close(q.room)
		q.room = make(chan struct{})
	}
}

// bufPool holds frame buffers. Buffers that grew past maxPooledBuf are left
// to the garbage collector so one huge frame does not pin memory.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledBuf = 2 << 20

func getBuf() *[]byte {
	bp := bufPool.Get().(*[]byte)
	*bp = (*bp)[:0]
	return bp
}

func putBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledBuf {
		bufPool.Put(bp)
	}
}
