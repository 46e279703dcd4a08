package membership

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/hashicorp/serf/serf"
)

// EventKind is what happened to a broker.
type EventKind int

// Event kinds, one per Serf member event.
const (
	// EventJoin: the broker joined, or came back after failing.
	EventJoin EventKind = iota + 1
	// EventUpdate: the broker's tags changed, e.g. a restart with a new
	// incarnation at the same gossip address.
	EventUpdate
	// EventFail: gossip declared the broker failed (it stopped without
	// leaving). A failed broker is not a removed one.
	EventFail
	// EventLeave: the broker left gracefully.
	EventLeave
	// EventReap: Serf forgot a failed or left broker; it is no longer listed.
	EventReap
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventUpdate:
		return "update"
	case EventFail:
		return "fail"
	case EventLeave:
		return "leave"
	case EventReap:
		return "reap"
	default:
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
}

// Event is one membership change of one broker, as this broker saw it.
type Event struct {
	Kind EventKind
	// Broker is the broker as the event reported it; its Status is failed or
	// left for EventReap.
	Broker Broker
}

// eventKind maps Serf's member event types; other events (user events,
// queries) are not membership's business.
func eventKind(t serf.EventType) (EventKind, bool) {
	switch t {
	case serf.EventMemberJoin:
		return EventJoin, true
	case serf.EventMemberUpdate:
		return EventUpdate, true
	case serf.EventMemberFailed:
		return EventFail, true
	case serf.EventMemberLeave:
		return EventLeave, true
	case serf.EventMemberReap:
		return EventReap, true
	default:
		return 0, false
	}
}

// serfEventBuffer is the capacity of Serf's EventCh. Serf sends on it with
// its member lock held, so drain must keep up; the buffer absorbs bursts.
const serfEventBuffer = 256

// eventQueueMax bounds the events waiting for a slow Config.Events consumer.
const eventQueueMax = 4096

// drain is the one goroutine reading Serf's EventCh. It never blocks on
// anything but that channel and a short mutex, and never calls into Serf or
// memberlist: Serf holds its member lock while it sends.
func (s *Serf) drain() {
	live := make(map[string]bool) // other brokers believed alive; drain's own
	for {
		var e serf.Event
		select {
		case e = <-s.serfEvents:
		case <-s.stop:
			return
		}
		me, ok := e.(serf.MemberEvent)
		if !ok {
			continue
		}
		kind, ok := eventKind(me.Type)
		if !ok {
			continue
		}
		for _, m := range me.Members {
			b, ok := brokerFromMember(m)
			if !ok {
				continue
			}
			if kind == EventJoin || kind == EventUpdate {
				// The merge delegate should have refused a duplicate
				// already; a member event is the second line.
				_ = s.checkClaim(m)
			}
			if m.Name != s.name {
				if kind == EventJoin || kind == EventUpdate {
					live[m.Name] = true
				} else {
					delete(live, m.Name)
				}
				s.livePeers.Store(int32(len(live)))
			}
			if s.events != nil {
				s.events.push(Event{Kind: kind, Broker: b})
			}
		}
	}
}

// eventQueue hands events to a consumer in order without ever making the
// producer wait: when max events are waiting, the oldest is dropped.
type eventQueue struct {
	out chan<- Event
	max int
	log *slog.Logger
	// wake has room for one signal: "the queue may be non-empty".
	wake chan struct{}

	mu struct {
		sync.Mutex
		// waiting holds the events not yet handed to out, oldest first.
		waiting []Event
		// dropped counts events dropped because waiting was full.
		dropped uint64
		// stalled is set by the first drop after a delivery, so a stuck
		// consumer is logged once per stall, not once per event.
		stalled bool
	}
}

func newEventQueue(out chan<- Event, max int, log *slog.Logger) *eventQueue {
	return &eventQueue{out: out, max: max, log: log, wake: make(chan struct{}, 1)}
}

// push queues e, dropping the oldest waiting event if the queue is full.
func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	stalled := false
	if len(q.mu.waiting) >= q.max {
		q.mu.waiting = q.mu.waiting[1:]
		q.mu.dropped++
		stalled = !q.mu.stalled
		q.mu.stalled = true
	}
	q.mu.waiting = append(q.mu.waiting, e)
	dropped := q.mu.dropped
	q.mu.Unlock()
	if stalled {
		q.log.Warn("membership: event consumer is not keeping up; dropping the oldest events",
			"queued", q.max, "dropped_total", dropped)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest waiting event.
func (q *eventQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.mu.waiting) == 0 {
		return Event{}, false
	}
	e := q.mu.waiting[0]
	q.mu.waiting = q.mu.waiting[1:]
	return e, true
}

// dropped is how many events were dropped so far.
func (q *eventQueue) dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.mu.dropped
}

// run delivers queued events to out until stop is closed.
func (q *eventQueue) run(stop <-chan struct{}) {
	for {
		e, ok := q.pop()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-stop:
				return
			}
		}
		select {
		case q.out <- e:
			q.mu.Lock()
			q.mu.stalled = false
			q.mu.Unlock()
		case <-stop:
			return
		}
	}
}
