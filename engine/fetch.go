package engine

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Special offsets accepted by Fetch.
const (
	OffsetLatest   int64 = -1 // the high watermark
	OffsetEarliest int64 = -2 // the log start offset
)

// FetchRequest is a stateless read of one partition.
type FetchRequest struct {
	Offset     int64 // an offset, OffsetEarliest or OffsetLatest
	MaxRecords int
	MaxBytes   int
	// Wait is how long to wait for records when none are committed at Offset.
	Wait time.Duration
}

// Fetch reads committed records of one partition, long-polling up to
// req.Wait when there are none yet.
func (e *Engine) Fetch(ctx context.Context, topic string, partition int32, req FetchRequest) (ReadResult, error) {
	p, err := e.Partition(topic, partition)
	if err != nil {
		return ReadResult{}, err
	}
	leader, local, err := p.leader()
	switch {
	case err != nil:
		return ReadResult{}, err
	case !local:
		req.Wait = min(req.Wait, e.cfg.MaxWait)
		res, err := e.env.remote.Fetch(ctx, leader, topic, partition, req)
		if err == nil {
			p.observeLeader(leader, res.Offsets)
		}
		return res, err
	}
	return e.fetchLocal(ctx, p, req, false)
}

// FetchLeader is Fetch as the partition's leader, for another broker: it
// never forwards again (ErrNotLeader).
func (e *Engine) FetchLeader(ctx context.Context, topic string, partition int32, req FetchRequest) (ReadResult, error) {
	p, err := e.Partition(topic, partition)
	if err != nil {
		return ReadResult{}, err
	}
	if !p.Leading() {
		return ReadResult{}, fmt.Errorf("%s/%d: %w", topic, partition, ErrNotLeader)
	}
	return e.fetchLocal(ctx, p, req, false)
}

// FetchLocal reads this broker's own replica (replica=local), bounded by
// its own high watermark; ErrNotAReplica when it holds none.
func (e *Engine) FetchLocal(ctx context.Context, topic string, partition int32, req FetchRequest) (ReadResult, error) {
	p, err := e.Partition(topic, partition)
	if err != nil {
		return ReadResult{}, err
	}
	if !slices.Contains(p.Placement().Replicas, e.cfg.BrokerID) {
		return ReadResult{}, fmt.Errorf("%w: broker %d holds no replica of %s/%d", ErrNotAReplica, e.cfg.BrokerID, topic, partition)
	}
	return e.fetchLocal(ctx, p, req, true)
}

// fetchLocal long-polls this broker's replica of p.
func (e *Engine) fetchLocal(ctx context.Context, p *Partition, req FetchRequest, follower bool) (ReadResult, error) {
	topic := p.topic
	off := p.LocalOffsets()
	from := req.Offset
	switch from {
	case OffsetEarliest:
		from = off.LogStart
	case OffsetLatest:
		from = off.HighWatermark
	}
	if from < 0 {
		return ReadResult{}, fmt.Errorf("%w: offset %d", ErrInvalidRequest, req.Offset)
	}
	wait := min(req.Wait, e.cfg.MaxWait)
	var timer *time.Timer
	for {
		changed := p.localChanged()
		if !follower && !p.Leading() {
			return ReadResult{NextOffset: from}, fmt.Errorf("%s/%d: %w", topic, p.index, ErrNotLeader)
		}
		res, err := p.ReadLocal(from, req.MaxRecords, req.MaxBytes)
		if err != nil || len(res.Records) > 0 || wait <= 0 {
			e.metrics.read(topic, res.Records)
			return res, err
		}
		if p.Closed() {
			return res, fmt.Errorf("%w: topic %q was deleted", ErrTopicNotFound, topic)
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
			e.metrics.waiters(1)
			defer e.metrics.waiters(-1)
		}
		select {
		case <-changed:
		case <-timer.C:
			return res, nil
		case <-ctx.Done():
			return res, nil
		case <-e.closed:
			return res, nil
		}
	}
}

// OffsetsForTimestamp is the answer of the offsets endpoint.
type OffsetsForTimestamp struct {
	Offsets
	// Offset is the first offset whose timestamp is >= the asked time; Found
	// is false when no record is that new.
	Offset int64
	Found  bool
}

// OffsetForTimestamp finds the first committed offset at or after ts.
func (e *Engine) OffsetForTimestamp(topic string, partition int32, ts int64) (OffsetsForTimestamp, error) {
	p, err := e.Partition(topic, partition)
	if err != nil {
		return OffsetsForTimestamp{}, err
	}
	if _, local, err := p.leader(); err != nil {
		return OffsetsForTimestamp{}, err
	} else if !local {
		return p.offsetForTimestampLeader(ts)
	}
	return offsetForTimestampLocal(p, ts)
}

// OffsetForTimestampLeader is OffsetForTimestamp as the partition's leader,
// for another broker: it never forwards again (ErrNotLeader).
func (e *Engine) OffsetForTimestampLeader(topic string, partition int32, ts int64) (OffsetsForTimestamp, error) {
	p, err := e.Partition(topic, partition)
	if err != nil {
		return OffsetsForTimestamp{}, err
	}
	if !p.Leading() {
		return OffsetsForTimestamp{}, fmt.Errorf("%s/%d: %w", topic, partition, ErrNotLeader)
	}
	return offsetForTimestampLocal(p, ts)
}

func offsetForTimestampLocal(p *Partition, ts int64) (OffsetsForTimestamp, error) {
	res := OffsetsForTimestamp{Offsets: p.LocalOffsets()}
	var err error
	res.Offset, res.Found, err = p.offsetForTimestampLocal(ts)
	return res, err
}

// WaitOffsets returns the leader's offsets of a partition once its high
// watermark is above knownHW, or when wait has passed; another broker's
// mirror long-polls it. It never forwards (ErrNotLeader).
func (e *Engine) WaitOffsets(ctx context.Context, topic string, partition int32, knownHW int64, wait time.Duration) (Offsets, error) {
	p, err := e.Partition(topic, partition)
	if err != nil {
		return Offsets{}, err
	}
	timer := time.NewTimer(min(wait, e.cfg.MaxWait))
	defer timer.Stop()
	for {
		changed := p.localChanged()
		if !p.Leading() {
			return Offsets{}, fmt.Errorf("%s/%d: %w", topic, partition, ErrNotLeader)
		}
		off := p.LocalOffsets()
		if off.HighWatermark > knownHW || p.Closed() || wait <= 0 {
			return off, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return p.LocalOffsets(), nil
		case <-ctx.Done():
			return off, ctx.Err()
		case <-e.closed:
			return off, nil
		}
	}
}
