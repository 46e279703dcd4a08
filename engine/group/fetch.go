package group

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// TopicRecord is one record delivered to a member, with its partition.
type TopicRecord struct {
	Topic     string
	Partition int32
	Record    storage.Record
}

// FetchResult is what a member fetch returns: the generation and
// assignment it was handed (so the hand-over rule counts them as seen) and
// records of those partitions.
type FetchResult struct {
	Generation  int32
	Assignments []TopicPartition
	Records     []TopicRecord
}

// fetchPlan is one round of a fetch: where to read, and what to wait on.
type fetchPlan struct {
	gen      int64
	assigned []TopicPartition
	reads    []plannedRead // in the order to read them
	wake     []<-chan struct{}
	// news is true when gen or assigned differ from what the member was
	// last handed: the fetch then answers without waiting.
	news bool
}

type plannedRead struct {
	tp   TopicPartition
	from int64
}

// Fetch returns records of the member's assigned partitions from its
// positions: at most maxRecords, stopping once maxBytes is reached (at
// least one record when any is ready), starting at a different partition
// each call so every partition gets its turn. Without records ready it
// waits up to wait (capped by MaxWait) for any assigned partition's high
// watermark to move, and returns early when the member's generation or
// assignment changes. Positions advance past the delivered records. It
// counts as a heartbeat (a fetch in flight keeps the member alive), and
// the assignment in the result counts as seen by the member. When ctx ends
// during the wait, Fetch returns ctx's error and delivers nothing.
//
// A partition without committed offset starts per the member's auto offset
// reset; with ResetNone that is ErrNoCommittedOffset.
func (m *Manager) Fetch(ctx context.Context, group, member string, maxRecords, maxBytes int, wait time.Duration) (FetchResult, error) {
	gs, ms, err := m.lockMember(group, member)
	if err != nil {
		return FetchResult{}, err
	}
	ms.polls++
	gs.mu.Unlock()
	defer func() {
		gs.mu.Lock()
		ms.polls--
		gs.mu.Unlock()
	}()
	wait = min(wait, m.cfg.MaxWait)
	expired := wait <= 0
	var timer *time.Timer
	var base *fetchPlan
	for {
		plan, err := m.planFetch(gs, member)
		if err != nil {
			return FetchResult{}, err
		}
		if base == nil {
			base = plan
			expired = expired || plan.news
		} else if plan.gen != base.gen || !slices.Equal(plan.assigned, base.assigned) {
			return m.deliver(gs, member, plan, nil)
		}
		recs := m.readPlan(ctx, plan, maxRecords, maxBytes)
		if len(recs) > 0 || expired {
			return m.deliver(gs, member, plan, recs)
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		expired = !m.waitAny(ctx, plan.wake, timer.C)
		if err := ctx.Err(); err != nil {
			// The caller is gone: deliver nothing, so positions stay.
			return FetchResult{}, err
		}
	}
}

// planFetch resolves the member's positions on its assigned partitions and
// takes the channels to wait on before anything is read, so no change is
// missed.
func (m *Manager) planFetch(gs *groupState, member string) (*fetchPlan, error) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	ms, err := m.memberLocked(gs, member, m.cfg.Now())
	if err != nil {
		return nil, err
	}
	a, err := gs.c.Assignment(member)
	if err != nil {
		return nil, err
	}
	plan := &fetchPlan{gen: a.Generation, assigned: a.Partitions,
		news: a.Generation != ms.handedGen || !slices.Equal(a.Partitions, ms.handed)}
	for _, tp := range a.Partitions {
		p, err := m.eng.Partition(tp.Topic, tp.Partition)
		if err != nil {
			continue // deleted meanwhile; the rebalance follows
		}
		plan.wake = append(plan.wake, p.HighWatermarkChanged())
		pos, err := position(gs.c, ms, tp, p.Offsets())
		if err != nil {
			return nil, fmt.Errorf("group %q member %q: %s: %w", gs.name, member, tp, err)
		}
		plan.reads = append(plan.reads, plannedRead{tp: tp, from: pos})
	}
	if n := len(plan.reads); n > 0 {
		start := ms.next % n
		ms.next = start + 1
		plan.reads = append(plan.reads[start:], plan.reads[:start]...)
	}
	plan.wake = append(plan.wake, gs.changed)
	return plan, nil
}

// position returns the member's position on tp, resolving it from the
// committed offset or the reset policy when it has none, and resetting it
// per policy when it lies outside the retained log.
func position(c *Coordinator, ms *memberState, tp TopicPartition, off engine.Offsets) (int64, error) {
	pos, ok := ms.positions[tp]
	if !ok {
		if pos, ok = c.Offset(tp); !ok {
			switch ms.reset {
			case ResetEarliest:
				pos = off.LogStart
			case ResetLatest:
				pos = off.HighWatermark
			default:
				return 0, ErrNoCommittedOffset
			}
		}
	}
	if pos < off.LogStart || pos > off.HighWatermark {
		switch ms.reset {
		case ResetEarliest:
			pos = off.LogStart
		case ResetLatest:
			pos = off.HighWatermark
		default:
			return 0, &engine.OffsetOutOfRangeError{Offset: pos, LogStartOffset: off.LogStart, HighWatermark: off.HighWatermark}
		}
	}
	ms.positions[tp] = pos
	return pos, nil
}

// readPlan reads the planned partitions in order until the limits are
// reached. Partitions that fail (deleted, retention raced) are skipped.
func (m *Manager) readPlan(ctx context.Context, plan *fetchPlan, maxRecords, maxBytes int) []TopicRecord {
	var out []TopicRecord
	size := 0
	for _, r := range plan.reads {
		if len(out) >= maxRecords || (len(out) > 0 && size >= maxBytes) {
			break
		}
		res, err := m.eng.Fetch(ctx, r.tp.Topic, r.tp.Partition, engine.FetchRequest{
			Offset: r.from, MaxRecords: maxRecords - len(out), MaxBytes: max(1, maxBytes-size)})
		if err != nil {
			continue
		}
		for i := range res.Records {
			size += res.Records[i].Size()
			out = append(out, TopicRecord{Topic: r.tp.Topic, Partition: r.tp.Partition, Record: res.Records[i]})
		}
	}
	return out
}

// deliver hands the member its result: records of partitions it still owns
// whose position did not move meanwhile (a seek or a concurrent fetch) are
// kept and advance the position; the current assignment counts as seen.
func (m *Manager) deliver(gs *groupState, member string, plan *fetchPlan, recs []TopicRecord) (FetchResult, error) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	ms, err := m.memberLocked(gs, member, m.cfg.Now())
	if err != nil {
		return FetchResult{}, err
	}
	a, err := gs.c.Assignment(member)
	if err != nil {
		return FetchResult{}, err
	}
	from := make(map[TopicPartition]int64, len(plan.reads))
	for _, r := range plan.reads {
		from[r.tp] = r.from
	}
	kept := recs[:0]
	for _, r := range recs {
		tp := TopicPartition{Topic: r.Topic, Partition: r.Partition}
		if _, owned := slices.BinarySearchFunc(a.Partitions, tp, compareTP); !owned {
			continue
		}
		if pos, ok := ms.positions[tp]; !ok || pos != from[tp] {
			continue
		}
		kept = append(kept, r)
	}
	// Positions move only once every kept record was checked against the
	// position the round read from.
	for _, r := range kept {
		ms.positions[TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Record.Offset + 1
	}
	m.observeLocked(gs, member, ms, a)
	return FetchResult{Generation: int32(a.Generation), Assignments: a.Partitions, Records: kept}, nil
}

// waitAny blocks until one of chs fires (true), or the timer fires, ctx
// ends, the engine stops or the Manager closes (false).
func (m *Manager) waitAny(ctx context.Context, chs []<-chan struct{}, timer <-chan time.Time) bool {
	stops := []reflect.Value{reflect.ValueOf(timer), reflect.ValueOf(ctx.Done()),
		reflect.ValueOf(m.eng.Stopping()), reflect.ValueOf(m.closed)}
	cases := make([]reflect.SelectCase, 0, len(chs)+len(stops))
	for _, ch := range chs {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	for _, ch := range stops {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: ch})
	}
	i, _, _ := reflect.Select(cases)
	return i < len(chs)
}

// SeekRequest moves a member's position on one partition it owns.
type SeekRequest struct {
	Topic     string
	Partition int32
	// Offset is an offset, engine.OffsetEarliest or engine.OffsetLatest;
	// ignored when Timestamp is set.
	Offset int64
	// Timestamp, when set, seeks to the first offset whose timestamp is at
	// least this (Unix ms), or to the high watermark when none is.
	Timestamp *int64
}

// Seek moves the member's position; see SeekOffset.
func (m *Manager) Seek(ctx context.Context, group, member string, req SeekRequest) error {
	_, err := m.SeekOffset(ctx, group, member, req)
	return err
}

// SeekOffset moves the member's position on a partition it owns and
// returns the new position. The next commit of that partition may move the
// committed offset backwards. An explicit offset outside the retained log
// is an *engine.OffsetOutOfRangeError.
func (m *Manager) SeekOffset(ctx context.Context, group, member string, req SeekRequest) (int64, error) {
	gs, ms, err := m.lockMember(group, member)
	if err != nil {
		return 0, err
	}
	defer gs.mu.Unlock()
	tp := TopicPartition{Topic: req.Topic, Partition: req.Partition}
	if !gs.c.Owns(member, tp) {
		// Let the coordinator say why (unknown partition or not owned).
		if err := gs.c.Seek(member, tp); err != nil {
			return 0, err
		}
	}
	p, err := m.eng.Partition(tp.Topic, tp.Partition)
	if err != nil {
		return 0, err
	}
	off := p.Offsets()
	var pos int64
	switch {
	case req.Timestamp != nil:
		found, ok, err := p.OffsetForTimestamp(*req.Timestamp)
		if err != nil {
			return 0, err
		}
		pos = off.HighWatermark
		if ok {
			pos = found
		}
	case req.Offset == engine.OffsetEarliest:
		pos = off.LogStart
	case req.Offset == engine.OffsetLatest:
		pos = off.HighWatermark
	case req.Offset < 0:
		return 0, fmt.Errorf("%w: offset %d", ErrInvalidRequest, req.Offset)
	case req.Offset < off.LogStart || req.Offset > off.HighWatermark:
		return 0, &engine.OffsetOutOfRangeError{Offset: req.Offset, LogStartOffset: off.LogStart, HighWatermark: off.HighWatermark}
	default:
		pos = req.Offset
	}
	if err := gs.c.Seek(member, tp); err != nil {
		return 0, err
	}
	ms.positions[tp] = pos
	gs.notify() // a waiting fetch of the member reads from the new position
	return pos, nil
}
