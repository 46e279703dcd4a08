package ws

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/fjord-streaming/fjord/api/wire"
	"github.com/fjord-streaming/fjord/storage"
)

// Groups is the consumer-group coordinator as a group subscription uses it:
// one subscription is one group member. The consumer-group driver implements
// it (an adapter is a few lines). Every method may block on the coordinator
// and honours ctx.
type Groups interface {
	// Join adds a member to group and returns its id and first assignment.
	Join(ctx context.Context, group string, req GroupJoin) (GroupMember, error)
	// Fetch long-polls the member's assigned partitions from its positions:
	// at most maxRecords records and about maxBytes, waiting up to wait for
	// some. It must return early, possibly without records, when the
	// member's generation or assignment changes, and it counts as a
	// heartbeat. The returned records are delivered: the member's positions
	// move past them.
	Fetch(ctx context.Context, group, member string, maxRecords, maxBytes int, wait time.Duration) (GroupFetch, error)
	// Heartbeat keeps the member alive while it fetches nothing (no credits
	// or a full send queue) and returns its current assignment.
	Heartbeat(ctx context.Context, group, member string) (GroupMember, error)
	// Commit commits offsets (the next offset to read) of partitions the
	// member owns and returns the effective committed offsets.
	Commit(ctx context.Context, group, member string, offsets []PartitionOffset) ([]PartitionOffset, error)
	// Leave removes the member now; its partitions go to the others.
	Leave(ctx context.Context, group, member string) error
}

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// PartitionOffset is a committed offset: the next offset the group reads.
type PartitionOffset struct {
	TopicPartition
	Offset int64
}

// Session timeout bounds of group subscriptions (API: session_timeout_ms),
// the same as REST members'.
const (
	defaultSessionTimeout = 30 * time.Second
	minSessionTimeout     = time.Second
	maxSessionTimeout     = 300 * time.Second
)

// GroupJoin is what a group subscription asks for.
type GroupJoin struct {
	Topics          []string
	AutoOffsetReset string // earliest, latest or none
	SessionTimeout  time.Duration
	Assignor        string // "" for the group's (or the default)
}

// GroupMember is a member's id and current assignment.
type GroupMember struct {
	MemberID    string
	Generation  int64
	Assignments []TopicPartition
}

// GroupFetch is the answer of Fetch: the member's current generation and
// assignment, and records of assigned partitions in offset order per
// partition.
type GroupFetch struct {
	Generation  int64
	Assignments []TopicPartition
	Records     []GroupRecord
}

// GroupRecord is one record of a group fetch.
type GroupRecord struct {
	Topic     string
	Partition int32
	Record    storage.Record
}

// Timing of group subscriptions.
const (
	// groupFetchWait is the long poll of one Fetch. Fetch returns earlier on
	// records or on a rebalance during the wait; a change that lands between
	// two fetches is noticed by the next one only when it returns, so the
	// wait also bounds how late an assignment frame can be.
	groupFetchWait = time.Second
	// groupCallTimeout bounds Join, Heartbeat, Commit and Leave.
	groupCallTimeout = 10 * time.Second
)

// groupSub is a group subscription: one member of a consumer group.
// Delivery is at-least-once: a commit covers only records whose frames were
// written to the socket, and a partition that moves to another member is
// read by it from the last commit.
type groupSub struct {
	subBase
	groups Groups
	group  string
	member string
	hb     time.Duration // heartbeat interval while not fetching (no credits)

	// mu guards the fields below; the writer (written positions), the worker
	// (commit) and run share them.
	mu         sync.Mutex
	generation int64
	assigned   []TopicPartition
	written    map[TopicPartition]int64 // next offset after what reached the socket
	sent       bool                     // an assignment frame was queued
}

// newGroupSub joins the group; the member leaves again when the
// subscription ends.
func (c *conn) newGroupSub(m clientMessage) (*groupSub, error) {
	if c.srv.cfg.Groups == nil {
		return nil, errGroupsUnavailable
	}
	if err := c.allow("group", m.Group, "read"); err != nil {
		return nil, err
	}
	for _, t := range m.Topics {
		if err := c.allow("topic", t, "read"); err != nil {
			return nil, err
		}
		if _, err := c.srv.engine.Topic(t); err != nil {
			return nil, err // never create a topic by subscribing
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, groupCallTimeout)
	defer cancel()
	gm, err := c.srv.cfg.Groups.Join(ctx, m.Group, GroupJoin{Topics: m.Topics, AutoOffsetReset: m.AutoOffsetReset,
		SessionTimeout: m.SessionTimeout, Assignor: m.Assignor})
	if err != nil {
		return nil, err
	}
	s := &groupSub{groups: c.srv.cfg.Groups, group: m.Group,
		member: gm.MemberID, hb: min(m.SessionTimeout/3, groupFetchWait), written: map[TopicPartition]int64{}}
	s.generation, s.assigned = gm.Generation, gm.Assignments
	s.init(c, m.ID, m.Credits)
	return s, nil
}

// start queues the first assignment frame right after subscribed.
func (s *groupSub) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = true
	s.c.send(assignmentFrame(s.id, s.generation, s.assigned))
}

func (s *groupSub) run() {
	err := s.deliver()
	ctx, cancel := context.WithTimeout(context.Background(), groupCallTimeout)
	defer cancel()
	if lerr := s.groups.Leave(ctx, s.group, s.member); lerr != nil && err == nil && s.ctx.Err() == nil {
		err = lerr
	}
	if s.ctx.Err() == nil {
		s.c.ended(s, err)
	}
}

// deliver fetches while there are credits, and heartbeats while there are
// none.
func (s *groupSub) deliver() error {
	cfg := &s.c.srv.cfg
	for {
		if s.credits.Load() <= 0 {
			if err := s.idle(); err != nil || s.ctx.Err() != nil {
				return err
			}
			continue
		}
		limit := int(min(s.credits.Load(), int64(cfg.FrameRecords)))
		res, err := s.groups.Fetch(s.ctx, s.group, s.member, limit, cfg.FrameBytes, groupFetchWait)
		if s.ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		s.assign(res.Generation, res.Assignments)
		if len(res.Records) == 0 {
			select {
			case <-s.c.srv.engine.Stopping():
				// Fetch no longer waits: the broker is shutting down and
				// Close is about to end this subscription.
				<-s.ctx.Done()
				return nil
			default:
			}
			continue
		}
		if err := s.push(res.Records); err != nil {
			return nil
		}
	}
}

// idle waits for credits, heartbeating so the member does not expire and
// so that it observes rebalances (which frees partitions for other members)
// as promptly as a fetching member does.
func (s *groupSub) idle() error {
	t := time.NewTimer(s.hb)
	defer t.Stop()
	select {
	case <-s.creditCh:
		return nil
	case <-s.ctx.Done():
		return nil
	case <-t.C:
	}
	ctx, cancel := context.WithTimeout(s.ctx, groupCallTimeout)
	defer cancel()
	gm, err := s.groups.Heartbeat(ctx, s.group, s.member)
	if err != nil {
		return err
	}
	s.assign(gm.Generation, gm.Assignments)
	return nil
}

// assign sends an assignment frame when the generation or the partitions
// changed, and forgets delivered positions of partitions taken away (they
// can no longer be committed by this member).
func (s *groupSub) assign(gen int64, parts []TopicPartition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent && gen == s.generation && slices.Equal(parts, s.assigned) {
		return
	}
	s.generation, s.assigned, s.sent = gen, slices.Clone(parts), true
	for tp := range s.written {
		if !slices.Contains(parts, tp) {
			delete(s.written, tp)
		}
	}
	s.c.send(assignmentFrame(s.id, gen, parts))
}

// push queues one records frame, waiting for room in the send queue. The
// records are already delivered as far as the group is concerned; the
// frame's written callback records what reached the socket for commits.
func (s *groupSub) push(recs []GroupRecord) error {
	bp := getBuf()
	b := recordsHead(*bp, s.id)
	next := make(map[TopicPartition]int64)
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		r := &recs[i]
		b = wire.AppendRecord(b, r.Topic, r.Partition, &r.Record)
		next[TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Record.Offset + 1
	}
	*bp = recordsTail(b)
	n := int64(len(*bp))
	if err := s.c.q.reserve(s.ctx, n); err != nil {
		putBuf(bp)
		return err
	}
	written := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for tp, off := range next {
			if slices.Contains(s.assigned, tp) {
				s.written[tp] = off
			}
		}
	}
	if err := s.c.q.pushReserved(frame{buf: bp, written: written}, n); err != nil {
		putBuf(bp)
		return err
	}
	s.credits.Add(-int64(len(recs)))
	s.c.srv.metrics.recordsSent.Add(float64(len(recs)))
	return nil
}

// commit commits explicit offsets, or the positions after the records
// written to the socket, and answers committed (or error).
func (s *groupSub) commit(offsets []PartitionOffset) {
	if offsets == nil {
		// The client may have read a frame whose written callback has not
		// run yet; wait for it, so the commit covers what it received.
		s.c.writtenSoFar()
		s.mu.Lock()
		for tp, off := range s.written {
			offsets = append(offsets, PartitionOffset{TopicPartition: tp, Offset: off})
		}
		s.mu.Unlock()
		slices.SortFunc(offsets, func(a, b PartitionOffset) int {
			return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
		})
	}
	if len(offsets) == 0 {
		s.c.send(committedFrame(s.id, nil))
		return
	}
	ctx, cancel := context.WithTimeout(s.c.ctx, groupCallTimeout)
	defer cancel()
	res, err := s.groups.Commit(ctx, s.group, s.member, offsets)
	if err != nil {
		s.c.sendError(s.id, err)
		return
	}
	s.c.send(committedFrame(s.id, res))
}
