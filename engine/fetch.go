package engine

import (
	"context"
	"fmt"
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
	off := p.Offsets()
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
		changed := p.HighWatermarkChanged()
		res, err := p.Read(from, req.MaxRecords, req.MaxBytes)
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
	res := OffsetsForTimestamp{Offsets: p.Offsets()}
	res.Offset, res.Found, err = p.OffsetForTimestamp(ts)
	return res, err
}
