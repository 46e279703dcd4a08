package ws

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"

	"github.com/fjord-streaming/fjord/api/wire"
	"github.com/fjord-streaming/fjord/engine"
)

// subscription is a log or group subscription of one connection.
type subscription interface {
	base() *subBase
	// start runs on the reader before the subscription's goroutine starts,
	// right after the subscribed frame was queued.
	start()
	// run delivers records until the subscription's context ends or the
	// subscription fails (then it reports through conn.ended).
	run()
}

// subBase is what every subscription has: an id, credits and a lifetime.
type subBase struct {
	id       string
	c        *conn
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{} // closed when run returned
	credits  atomic.Int64
	creditCh chan struct{} // capacity 1: credits were added
}

// init sets up a subscription of c with its starting credits.
func (b *subBase) init(c *conn, id string, credits int64) {
	b.id, b.c, b.done, b.creditCh = id, c, make(chan struct{}), make(chan struct{}, 1)
	b.ctx, b.cancel = context.WithCancel(c.ctx)
	b.credits.Store(credits)
}

func (b *subBase) base() *subBase { return b }

// addCredits grants n more records; the total saturates at maxCredit.
func (b *subBase) addCredits(n int64) {
	for {
		old := b.credits.Load()
		if b.credits.CompareAndSwap(old, min(old+n, maxCredit)) {
			break
		}
	}
	select {
	case b.creditCh <- struct{}{}:
	default:
	}
}

// waitCredits blocks until the subscription has credits; false when it
// ends first.
func (b *subBase) waitCredits() bool {
	for b.credits.Load() <= 0 {
		select {
		case <-b.creditCh:
		case <-b.ctx.Done():
			return false
		}
	}
	return true
}

// stop ends the subscription and waits for its goroutine.
func (b *subBase) stop() {
	b.cancel()
	<-b.done
}

// cursor is the position of a log subscription in one partition.
type cursor struct {
	p    *engine.Partition
	next int64 // the next offset to deliver
}

// logSub delivers one partition, or every partition of a topic, from a
// starting position: records of a partition in offset order, without gaps
// or duplicates. It sleeps on the partitions' high-watermark channels, so
// records go out as soon as they are committed.
type logSub struct {
	subBase
	topic *engine.Topic
	all   bool // every partition, including partitions added later
	parts []cursor
	rr    int // the partition the next read starts with, for fairness
}

// newLogSub resolves the topic and the starting offsets. It never creates
// the topic.
func (c *conn) newLogSub(m clientMessage) (*logSub, error) {
	if err := c.allow("topic", m.Topic, "read"); err != nil {
		return nil, err
	}
	t, err := c.srv.engine.Topic(m.Topic)
	if err != nil {
		return nil, err
	}
	s := &logSub{topic: t, all: m.Partition == noPartition}
	parts := t.Partitions()
	if !s.all {
		p, err := t.Partition(m.Partition)
		if err != nil {
			return nil, err
		}
		parts = []*engine.Partition{p}
	}
	for _, p := range parts {
		next, err := startOffset(p, m.Offset)
		if err != nil {
			return nil, err
		}
		s.parts = append(s.parts, cursor{p: p, next: next})
	}
	s.init(c, m.ID, m.Credits)
	return s, nil
}

// startOffset resolves earliest, latest or a number against p.
func startOffset(p *engine.Partition, offset int64) (int64, error) {
	o := p.Offsets()
	switch offset {
	case engine.OffsetEarliest:
		return o.LogStart, nil
	case engine.OffsetLatest:
		return o.HighWatermark, nil
	}
	if offset < o.LogStart || offset > o.HighWatermark {
		return 0, fmt.Errorf("%s/%d: %w", p.Topic(), p.Index(),
			&engine.OffsetOutOfRangeError{Offset: offset, LogStartOffset: o.LogStart, HighWatermark: o.HighWatermark})
	}
	return offset, nil
}

func (s *logSub) start() {}

func (s *logSub) run() {
	err := s.deliver()
	if s.ctx.Err() == nil {
		s.c.ended(s, err)
	}
}

// deliver loops: wait for credits, wait for committed records, wait for
// room in the send queue, read and queue one frame.
func (s *logSub) deliver() error {
	cfg := &s.c.srv.cfg
	var meta <-chan struct{}
	for {
		if !s.waitCredits() {
			return nil
		}
		if s.all {
			meta = s.c.srv.meta.changed()
			s.addPartitions()
		}
		// Take the channels before looking at the high watermarks, so an
		// advance in between wakes the wait below.
		watch, ready, err := s.poll()
		if err != nil {
			return err
		}
		if !ready {
			if !waitAny(s.ctx, meta, watch) {
				return nil
			}
			continue
		}
		reserve := int64(cfg.FrameBytes)
		if err := s.c.q.reserve(s.ctx, reserve); err != nil {
			return nil
		}
		bp, n, err := s.read(min(s.credits.Load(), int64(cfg.FrameRecords)), cfg.FrameBytes)
		if err != nil || n == 0 {
			s.c.q.release(reserve)
			putBuf(bp)
			if err != nil {
				return err
			}
			continue
		}
		if err := s.c.q.pushReserved(frame{buf: bp}, reserve); err != nil {
			putBuf(bp)
			return nil
		}
		s.credits.Add(-int64(n))
		s.c.srv.metrics.recordsSent.Add(float64(n))
	}
}

// addPartitions appends cursors for partitions added to the topic since the
// subscription started. They start at their log start: everything in a new
// partition is new to the subscriber.
func (s *logSub) addPartitions() {
	ps := s.topic.Partitions()
	for i := len(s.parts); i < len(ps); i++ {
		s.parts = append(s.parts, cursor{p: ps[i], next: ps[i].Offsets().LogStart})
	}
}

// poll returns the partitions' high-watermark channels and whether any
// partition has records past the subscription's position. A closed
// partition means the topic was deleted.
func (s *logSub) poll() ([]<-chan struct{}, bool, error) {
	watch := make([]<-chan struct{}, 0, len(s.parts))
	ready := false
	for i := range s.parts {
		cur := &s.parts[i]
		watch = append(watch, cur.p.HighWatermarkChanged())
		if cur.p.Closed() {
			return nil, false, fmt.Errorf("%w: topic %q was deleted", engine.ErrTopicNotFound, s.topic.Name())
		}
		if cur.p.Offsets().HighWatermark > cur.next {
			ready = true
		}
	}
	return watch, ready, nil
}

// read builds one records frame of at most maxRecords records and about
// maxBytes, taking partitions in turn from s.rr, and advances the cursors.
func (s *logSub) read(maxRecords int64, maxBytes int) (*[]byte, int, error) {
	bp := getBuf()
	b := recordsHead(*bp, s.id)
	head := len(b)
	n := 0
	var enc wire.Encoder
	for i := 0; i < len(s.parts) && int64(n) < maxRecords && len(b)-head < maxBytes; i++ {
		cur := &s.parts[(s.rr+i)%len(s.parts)]
		if cur.p.Offsets().HighWatermark <= cur.next {
			continue
		}
		res, err := cur.p.Read(cur.next, int(maxRecords)-n, maxBytes-(len(b)-head))
		if err != nil {
			*bp = b
			return bp, 0, s.readError(cur, err)
		}
		for j := range res.Records {
			if n > 0 {
				b = append(b, ',')
			}
			b = enc.AppendRecord(b, s.topic.Name(), cur.p.Index(), &res.Records[j])
			n++
		}
		cur.next = res.NextOffset
	}
	s.rr++
	*bp = recordsTail(b)
	return bp, n, nil
}

// readError explains a failed read. Retention that passed the position
// ends the subscription: continuing would leave a gap.
func (s *logSub) readError(cur *cursor, err error) error {
	if cur.p.Closed() {
		return fmt.Errorf("%w: topic %q was deleted", engine.ErrTopicNotFound, s.topic.Name())
	}
	if errors.Is(err, engine.ErrOffsetOutOfRangeMarker) {
		return fmt.Errorf("%s/%d: records from offset %d were deleted by retention before delivery: %w",
			s.topic.Name(), cur.p.Index(), cur.next, err)
	}
	return fmt.Errorf("read %s/%d: %w", s.topic.Name(), cur.p.Index(), err)
}

// waitAny waits until ctx ends (false), extra is closed, or one of chans
// is closed. extra may be nil.
func waitAny(ctx context.Context, extra <-chan struct{}, chans []<-chan struct{}) bool {
	if len(chans) == 1 {
		select {
		case <-ctx.Done():
			return false
		case <-extra:
		case <-chans[0]:
		}
		return true
	}
	cases := make([]reflect.SelectCase, 0, len(chans)+2)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(extra)})
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen != 0
}
