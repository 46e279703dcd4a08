package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fjord-streaming/fjord/engine/partitioner"
	"github.com/fjord-streaming/fjord/storage"
)

// Acks is how much durability a producer waits for.
type Acks int8

// The acks levels of the produce API.
const (
	AcksNone   Acks = 0  // answer once validated
	AcksLeader Acks = 1  // answer once the leader stored the records durably
	AcksAll    Acks = -1 // answer once every in-sync replica has them
)

// ProduceRecord is one record to append. Partition -1 lets the partitioner
// choose; Timestamp -1 takes the broker's clock.
type ProduceRecord struct {
	Partition int32
	storage.Record
}

// ProduceResult is the outcome for one record, in request order.
type ProduceResult struct {
	Partition int32
	Offset    int64 // -1 when not known (acks=0) or on error
	Timestamp int64
	Err       error
}

func isErr(err, target error) bool { return errors.Is(err, target) }

// producerTopic finds the topic, creating it while auto-create is on. The
// records are first checked against the defaults a new topic would get, so
// that a request that is going to fail creates nothing.
func (e *Engine) producerTopic(name string, recs []ProduceRecord) (*Topic, error) {
	t, err := e.Topic(name)
	if err == nil || !e.cfg.AutoCreateTopics {
		return t, err
	}
	if err := ValidateTopicName(name); err != nil {
		return nil, err
	}
	if err := checkRecords(name, recs, e.cfg.DefaultPartitions, e.cfg.DefaultTopicConfig); err != nil {
		return nil, err
	}
	return e.EnsureTopic(TopicSpec{Name: name})
}

// checkRecords checks records against a topic's partition count and
// max.message.bytes.
func checkRecords(topic string, recs []ProduceRecord, partitions int32, cfg TopicConfig) error {
	for i := range recs {
		r := &recs[i]
		if size := recordBytes(&r.Record); cfg.MaxMessageBytes >= 0 && int64(size) > cfg.MaxMessageBytes {
			return fmt.Errorf("%w: record %d is %d bytes, max.message.bytes of %s is %d", ErrRecordTooLarge, i, size, topic, cfg.MaxMessageBytes)
		}
		if r.Partition >= partitions {
			return fmt.Errorf("%w: record %d: %s has no partition %d", ErrPartitionNotFound, i, topic, r.Partition)
		}
	}
	return nil
}

// Produce validates records, assigns partitions and appends them. Invalid
// input (a record over max.message.bytes, an unknown partition) fails the
// whole request and writes nothing. With AcksNone it returns once validated
// and appends in the background. Per-partition failures are reported in the
// results; the error is non-nil only when nothing was written.
func (e *Engine) Produce(ctx context.Context, topic string, recs []ProduceRecord, acks Acks) ([]ProduceResult, error) {
	if err := userTopic(topic); err != nil {
		return nil, err
	}
	return e.produce(ctx, topic, recs, acks)
}

// ProduceInternal is Produce for the broker's own internal topics (such as
// __consumer_offsets), which clients may read but never write.
func (e *Engine) ProduceInternal(ctx context.Context, topic string, recs []ProduceRecord, acks Acks) ([]ProduceResult, error) {
	return e.produce(ctx, topic, recs, acks)
}

func (e *Engine) produce(ctx context.Context, topic string, recs []ProduceRecord, acks Acks) ([]ProduceResult, error) {
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: no records", ErrInvalidRequest)
	}
	t, err := e.producerTopic(topic, recs)
	if err != nil {
		return nil, err
	}
	parts := t.Partitions()
	cfg := t.Config()
	n := int32(len(parts))
	if err := checkRecords(topic, recs, n, cfg); err != nil {
		return nil, err
	}
	stickyPart := int32(-1)
	now := e.cfg.Now().UnixMilli()
	results := make([]ProduceResult, len(recs))
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Partition >= 0: // explicit, checked above
		case r.KeyFormat != storage.FormatNull:
			r.Partition = partitioner.ForKey(r.Key, n)
		default:
			if stickyPart < 0 {
				stickyPart = t.sticky.Next(n)
			}
			r.Partition = stickyPart
		}
		if r.Timestamp < 0 {
			r.Timestamp = now
		}
		results[i] = ProduceResult{Partition: r.Partition, Offset: -1, Timestamp: r.Timestamp}
	}
	groups := groupByPartition(recs)
	if acks == AcksNone {
		// The caller owns results; the background append fills its own copy.
		bgResults := append([]ProduceResult(nil), results...)
		e.bg.Add(1)
		go func() {
			defer e.bg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), remoteCallTimeout)
			defer cancel()
			if err := e.appendGroups(ctx, t.Name(), cfg, parts, groups, AcksLeader, bgResults); err != nil {
				e.cfg.Logger.Warn("acks=0 append failed", "topic", t.Name(), "err", err)
			}
		}()
		return results, nil
	}
	return results, e.appendGroups(ctx, t.Name(), cfg, parts, groups, acks, results)
}

// partitionGroup is the records of one request bound for one partition.
type partitionGroup struct {
	partition int32
	index     []int // positions in the request
	records   []storage.Record
}

func groupByPartition(recs []ProduceRecord) []*partitionGroup {
	// Sized in a first pass: a request's records are copied once, with no
	// slice growth (the common case is a single partition).
	counts := map[int32]int{}
	var order []int32
	for i := range recs {
		p := recs[i].Partition
		if counts[p] == 0 {
			order = append(order, p)
		}
		counts[p]++
	}
	groups := make([]*partitionGroup, len(order))
	byPart := make(map[int32]*partitionGroup, len(order))
	for i, p := range order {
		g := &partitionGroup{partition: p, index: make([]int, 0, counts[p]), records: make([]storage.Record, 0, counts[p])}
		groups[i], byPart[p] = g, g
	}
	for i := range recs {
		g := byPart[recs[i].Partition]
		g.index = append(g.index, i)
		g.records = append(g.records, recs[i].Record)
	}
	return groups
}

// appendGroups appends each group to its partition, concurrently when there
// are several, and fills results. It fails only when every group failed.
func (e *Engine) appendGroups(ctx context.Context, topic string, cfg TopicConfig, parts []*Partition, groups []*partitionGroup, acks Acks, results []ProduceResult) error {
	errs := make([]error, len(groups))
	do := func(i int) {
		g := groups[i]
		start := time.Now()
		// ctx bounds waits for replicas and for other brokers; a local
		// append is bounded by one storage commit and is not abandoned
		// half-way.
		base, err := e.appendPartition(ctx, parts[g.partition], cfg, g.records, acks)
		errs[i] = err
		for j, idx := range g.index {
			if err != nil {
				results[idx].Err = err
			} else {
				results[idx].Offset = base + int64(j)
			}
		}
		if err == nil {
			e.metrics.produced(topic, g.records, time.Since(start))
		}
	}
	if len(groups) == 1 {
		do(0)
	} else {
		var wg sync.WaitGroup
		for i := range groups {
			wg.Add(1)
			go func() { defer wg.Done(); do(i) }()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errs[0]
}

// recordBytes is the size max.message.bytes limits: key, value and headers.
func recordBytes(r *storage.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// appendPartition appends records to p: here when this broker leads it,
// otherwise at its leader.
func (e *Engine) appendPartition(ctx context.Context, p *Partition, cfg TopicConfig, recs []storage.Record, acks Acks) (int64, error) {
	leader, local, err := p.leader()
	if err != nil {
		return 0, err
	}
	if !local {
		timeout := remoteCallTimeout
		if d, ok := ctx.Deadline(); ok {
			timeout = time.Until(d)
			timeout -= forwardMargin(timeout)
		}
		return e.env.remote.Append(ctx, leader, p.topic, p.index, recs, acks, timeout)
	}
	return p.appendLeader(ctx, cfg, recs, acks)
}

// forwardMargin is how much sooner than the caller's deadline, of which
// remaining is left, a forwarded append stops waiting at the leader: the
// leader's own timeout answer, which says the records were appended
// (ErrAppendedNotReplicated), must get back before the caller's context
// ends, or the caller only knows that the call timed out.
func forwardMargin(remaining time.Duration) time.Duration {
	return min(remaining/20, 100*time.Millisecond)
}

// appendLeader appends as the leader: acks=all needs min.insync.replicas
// in-sync replicas, counting the leader, or nothing is written, and then
// waits until the HW passes the records (every ISR member has them
// durably), until ctx ends (ErrTimeout: the records stay and may yet
// commit), or until the ISR falls below min.insync.replicas or leadership
// moves meanwhile (the records may or may not survive). Every failure after
// the append is marked ErrAppendedNotReplicated, except the topic's
// deletion, which takes the records with it.
func (p *Partition) appendLeader(ctx context.Context, cfg TopicConfig, recs []storage.Record, acks Acks) (int64, error) {
	if acks == AcksAll {
		if err := p.checkInsync(cfg); err != nil {
			return 0, err
		}
	}
	base, err := p.Append(recs)
	if err != nil || acks != AcksAll {
		return base, err
	}
	return base, p.waitCommitted(ctx, cfg, base+int64(len(recs)))
}

// checkInsync refuses acks=all while the ISR is below min.insync.replicas.
func (p *Partition) checkInsync(cfg TopicConfig) error {
	if isr := int64(len(p.Placement().ISR)); isr < cfg.MinInsyncReplicas {
		return fmt.Errorf("%w: %s/%d has %d in-sync replica(s), min.insync.replicas is %d",
			ErrNotEnoughReplicas, p.topic, p.index, isr, cfg.MinInsyncReplicas)
	}
	return nil
}

// checkInsyncAfterAppend is checkInsync for records already in the log:
// its error is marked appended.
func (p *Partition) checkInsyncAfterAppend(cfg TopicConfig) error {
	if err := p.checkInsync(cfg); err != nil {
		return MarkAppended(fmt.Errorf("%w, after the append (the leader stored the records)", err))
	}
	return nil
}

// waitCommitted waits until p's HW reaches end, as appendLeader says.
func (p *Partition) waitCommitted(ctx context.Context, cfg TopicConfig, end int64) error {
	for {
		p.mu.Lock()
		hw, leading, closed := p.hw, p.leadingLocked(), p.closed
		var w *hwWaiter
		if hw < end && leading && !closed {
			w = p.acks.add(end)
		}
		p.mu.Unlock()
		switch {
		case hw >= end:
			// As Kafka: the HW alone is not enough when the ISR it was
			// computed over is below min.insync.replicas (an ISR shrunk to
			// the leader lets the HW pass every record it has).
			return p.checkInsyncAfterAppend(cfg)
		case closed:
			return fmt.Errorf("%s/%d: %w", p.topic, p.index, ErrTopicNotFound)
		case !leading:
			return MarkAppended(fmt.Errorf("%w: %s/%d: leadership moved before the records were replicated", ErrNotLeader, p.topic, p.index))
		}
		if err := p.checkInsyncAfterAppend(cfg); err != nil {
			p.dropWaiter(w)
			return err
		}
		select {
		case <-w.ch:
		case <-p.env.stop:
			p.dropWaiter(w)
			return MarkAppended(fmt.Errorf("%w: %s/%d: the broker stopped before the records were replicated", ErrClosed, p.topic, p.index))
		case <-ctx.Done():
			p.dropWaiter(w)
			return MarkAppended(fmt.Errorf("%w: %s/%d: the in-sync replicas did not acknowledge offset %d in time", ErrTimeout, p.topic, p.index, end-1))
		}
	}
}

// dropWaiter forgets w, an acks=all request that stopped waiting.
func (p *Partition) dropWaiter(w *hwWaiter) {
	p.mu.Lock()
	p.acks.remove(w)
	p.mu.Unlock()
}

// AppendLeader appends records that another broker forwarded to this one
// as the partition's leader. It never forwards again: a broker that does
// not lead the partition answers ErrNotLeader.
func (e *Engine) AppendLeader(ctx context.Context, topic string, partition int32, recs []storage.Record, acks Acks, timeout time.Duration) (int64, error) {
	t, err := e.Topic(topic)
	if err != nil {
		return 0, err
	}
	p, err := t.Partition(partition)
	if err != nil {
		return 0, err
	}
	if !p.Leading() {
		return 0, fmt.Errorf("%s/%d: %w", topic, partition, ErrNotLeader)
	}
	start := time.Now()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	base, err := p.appendLeader(ctx, t.Config(), recs, acks)
	if err == nil {
		e.metrics.produced(topic, recs, time.Since(start))
	}
	return base, err
}
