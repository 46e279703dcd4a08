package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

type fetchResult struct {
	res     engine.ReadResult
	err     error
	elapsed time.Duration
}

// fetchAsync runs Fetch in a goroutine and delivers its outcome.
func (v *env) fetchAsync(ctx context.Context, topic string, partition int32, req engine.FetchRequest) <-chan fetchResult {
	ch := make(chan fetchResult, 1)
	go func() {
		start := time.Now()
		res, err := v.e.Fetch(ctx, topic, partition, req)
		ch <- fetchResult{res, err, time.Since(start)}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan fetchResult) fetchResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("fetch did not return")
		return fetchResult{}
	}
}

func TestFetchLongPoll(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, nil)
	long := engine.FetchRequest{Offset: 0, MaxRecords: 10, MaxBytes: 1 << 20, Wait: 10 * time.Second}

	t.Run("woken by a produce", func(t *testing.T) {
		ch := v.fetchAsync(context.Background(), "t", 0, long)
		v.produce("t", engine.AcksLeader, at(0, `"wake"`))
		r := wait(t, ch)
		if r.err != nil || len(r.res.Records) != 1 || string(r.res.Records[0].Value) != `"wake"` || r.res.NextOffset != 1 {
			t.Fatalf("fetch: %+v, %v", r.res, r.err)
		}
		if r.elapsed > 5*time.Second {
			t.Fatalf("long poll took %v to see the record", r.elapsed)
		}
	})
	t.Run("times out when idle", func(t *testing.T) {
		r := wait(t, v.fetchAsync(context.Background(), "t", 0, engine.FetchRequest{Offset: 1, MaxRecords: 10, MaxBytes: 100, Wait: 50 * time.Millisecond}))
		if r.err != nil || len(r.res.Records) != 0 || r.res.NextOffset != 1 || r.res.HighWatermark != 1 {
			t.Fatalf("idle fetch: %+v, %v", r.res, r.err)
		}
		if r.elapsed < 50*time.Millisecond {
			t.Fatalf("idle fetch returned after %v, before its wait", r.elapsed)
		}
	})
	t.Run("latest waits for the next record", func(t *testing.T) {
		ch := v.fetchAsync(context.Background(), "t", 0, engine.FetchRequest{Offset: 1, MaxRecords: 10, MaxBytes: 100, Wait: 10 * time.Second})
		v.produce("t", engine.AcksLeader, at(0, `"next"`))
		if r := wait(t, ch); r.err != nil || len(r.res.Records) != 1 || r.res.Records[0].Offset != 1 {
			t.Fatalf("fetch: %+v, %v", r.res, r.err)
		}
	})
	t.Run("context cancel ends the wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ch := v.fetchAsync(ctx, "t", 0, engine.FetchRequest{Offset: engine.OffsetLatest, MaxRecords: 10, MaxBytes: 100, Wait: time.Minute})
		cancel()
		if r := wait(t, ch); r.err != nil || len(r.res.Records) != 0 {
			t.Fatalf("cancelled fetch: %+v, %v", r.res, r.err)
		}
	})
	t.Run("topic deleted while waiting", func(t *testing.T) {
		v.create("doomed", 1, nil)
		ch := v.fetchAsync(context.Background(), "doomed", 0, engine.FetchRequest{Offset: 0, MaxRecords: 10, MaxBytes: 100, Wait: time.Minute})
		if err := v.e.DeleteTopic("doomed"); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, ch); !errors.Is(r.err, engine.ErrTopicNotFound) {
			t.Fatalf("fetch on a deleted topic: %+v, %v", r.res, r.err)
		}
	})
	t.Run("StopWaiters answers every poll", func(t *testing.T) {
		ch := v.fetchAsync(context.Background(), "t", 0, engine.FetchRequest{Offset: engine.OffsetLatest, MaxRecords: 10, MaxBytes: 100, Wait: time.Minute})
		v.e.StopWaiters()
		if r := wait(t, ch); r.err != nil || len(r.res.Records) != 0 {
			t.Fatalf("fetch at shutdown: %+v, %v", r.res, r.err)
		}
		select {
		case <-v.e.Stopping():
		default:
			t.Fatal("Stopping not closed")
		}
	})
}

func TestFetchLimitsAndSpecialOffsets(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, nil)
	for i := range 5 {
		v.produce("t", engine.AcksLeader, at(0, fmt.Sprintf(`"%d-aaaaaaaaaaaaaaaaaaaa"`, i)), at(0, fmt.Sprintf(`"%d-b"`, i)))
	}
	fetch := func(req engine.FetchRequest) engine.ReadResult {
		t.Helper()
		res, err := v.e.Fetch(context.Background(), "t", 0, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := fetch(engine.FetchRequest{Offset: engine.OffsetEarliest, MaxRecords: 3, MaxBytes: 1 << 20})
	if len(res.Records) != 3 || res.Records[0].Offset != 0 || res.NextOffset != 3 || res.HighWatermark != 10 {
		t.Fatalf("earliest, 3 records: %+v", res)
	}
	res = fetch(engine.FetchRequest{Offset: 3, MaxRecords: 100, MaxBytes: 1})
	if len(res.Records) != 1 || res.Records[0].Offset != 3 || res.NextOffset != 4 {
		t.Fatalf("max_bytes 1 must still give one record: %+v", res)
	}
	res = fetch(engine.FetchRequest{Offset: 3, MaxRecords: 100, MaxBytes: 0})
	if len(res.Records) != 1 || res.Records[0].Offset != 3 {
		t.Fatalf("max_bytes 0 must still give one record: %+v", res)
	}
	res = fetch(engine.FetchRequest{Offset: 3, MaxRecords: 100, MaxBytes: 100})
	if n := len(res.Records); n < 1 || n >= 7 || res.NextOffset != 3+int64(n) {
		t.Fatalf("max_bytes 100: %d records, next %d", n, res.NextOffset)
	}
	res = fetch(engine.FetchRequest{Offset: 7, MaxRecords: 100, MaxBytes: 1 << 20})
	if len(res.Records) != 3 || res.Records[0].Offset != 7 || res.NextOffset != 10 {
		t.Fatalf("from the middle of a batch: %+v", res)
	}
	res = fetch(engine.FetchRequest{Offset: engine.OffsetLatest, MaxRecords: 100, MaxBytes: 1 << 20})
	if len(res.Records) != 0 || res.NextOffset != 10 {
		t.Fatalf("latest: %+v", res)
	}
	res = fetch(engine.FetchRequest{Offset: 10, MaxRecords: 100, MaxBytes: 1 << 20})
	if len(res.Records) != 0 || res.NextOffset != 10 {
		t.Fatalf("at the HW: %+v", res)
	}
	for _, bad := range []int64{11, 1 << 62} {
		_, err := v.e.Fetch(context.Background(), "t", 0, engine.FetchRequest{Offset: bad, MaxRecords: 1, MaxBytes: 1})
		var oor *engine.OffsetOutOfRangeError
		if !errors.As(err, &oor) || !errors.Is(err, engine.ErrOffsetOutOfRangeMarker) {
			t.Fatalf("offset %d: %v", bad, err)
		}
		if oor.Offset != bad || oor.LogStartOffset != 0 || oor.HighWatermark != 10 {
			t.Fatalf("offset %d: %+v", bad, oor)
		}
	}
	if _, err := v.e.Fetch(context.Background(), "t", 0, engine.FetchRequest{Offset: -5, MaxRecords: 1, MaxBytes: 1}); !errors.Is(err, engine.ErrInvalidRequest) {
		t.Fatalf("offset -5: %v", err)
	}
	if _, err := v.e.Fetch(context.Background(), "t", 1, engine.FetchRequest{}); !errors.Is(err, engine.ErrPartitionNotFound) {
		t.Fatalf("partition 1: %v", err)
	}
	if _, err := v.e.Fetch(context.Background(), "nope", 0, engine.FetchRequest{}); !errors.Is(err, engine.ErrTopicNotFound) {
		t.Fatalf("missing topic: %v", err)
	}
}

func TestRetentionByTime(t *testing.T) {
	clk := newClock()
	v := newEnv(t, withClock(clk))
	v.create("t", 1, map[string]int64{"retention.ms": 1500})
	t0 := clk.Now().UnixMilli()
	for i := range 4 { // batches stamped t0, t0+1000, t0+2000, t0+3000
		v.produce("t", engine.AcksLeader, at(0, fmt.Sprintf(`%d`, 2*i)), at(0, fmt.Sprintf(`%d`, 2*i+1)))
		clk.Add(time.Second)
	}
	// now = t0+4000: batches whose newest record is older than t0+2500 go.
	v.e.ApplyRetention()
	o := v.offsets("t", 0)
	if o.LogStart != 6 || o.HighWatermark != 8 || o.LogEnd != 8 {
		t.Fatalf("after retention: %+v", o)
	}
	if got := values(v.readAll("t", 0, engine.OffsetEarliest)); fmt.Sprint(got) != "[6 7]" {
		t.Fatalf("retained %v", got)
	}
	_, err := v.e.Fetch(context.Background(), "t", 0, engine.FetchRequest{Offset: 5, MaxRecords: 1, MaxBytes: 1})
	var oor *engine.OffsetOutOfRangeError
	if !errors.As(err, &oor) || oor.Offset != 5 || oor.LogStartOffset != 6 || oor.HighWatermark != 8 {
		t.Fatalf("read below log start: %v", err)
	}
	// A timestamp before the log start finds the log start.
	r, err := v.e.OffsetForTimestamp("t", 0, t0)
	if err != nil || !r.Found || r.Offset != 6 || r.LogStart != 6 {
		t.Fatalf("OffsetForTimestamp after retention: %+v, %v", r, err)
	}
	// Retention survives a restart, and appends continue at the LEO.
	v.reopen()
	if o := v.offsets("t", 0); o.LogStart != 6 || o.HighWatermark != 8 {
		t.Fatalf("after reopen: %+v", o)
	}
	if res := v.produce("t", engine.AcksLeader, at(0, `8`)); res[0].Offset != 8 {
		t.Fatalf("append after retention at %d", res[0].Offset)
	}
	// Everything old goes, but never past the HW.
	clk.Add(time.Hour)
	v.e.ApplyRetention()
	if o := v.offsets("t", 0); o.LogStart != 9 || o.HighWatermark != 9 {
		t.Fatalf("after dropping all: %+v", o)
	}
	if res, err := v.e.Fetch(context.Background(), "t", 0, engine.FetchRequest{Offset: engine.OffsetEarliest, MaxRecords: 1, MaxBytes: 1}); err != nil || len(res.Records) != 0 || res.NextOffset != 9 {
		t.Fatalf("earliest on an emptied log: %+v, %v", res, err)
	}
}

func TestRetentionByBytes(t *testing.T) {
	clk := newClock()
	v := newEnv(t, withClock(clk))
	v.create("t", 1, map[string]int64{"retention.ms": -1})
	for i := range 5 {
		v.produce("t", engine.AcksLeader, at(0, fmt.Sprintf(`"rec-%d"`, i)))
	}
	total := v.offsets("t", 0).Bytes
	per := total / 5
	if per*5 != total {
		t.Fatalf("batches differ in size: %d bytes for 5", total)
	}
	// Unlimited retention keeps everything.
	v.e.ApplyRetention()
	if o := v.offsets("t", 0); o.LogStart != 0 {
		t.Fatalf("unlimited retention dropped data: %+v", o)
	}
	if _, err := v.e.UpdateTopic("t", engine.TopicUpdate{Config: map[string]int64{"retention.bytes": 2*per + per/2}}); err != nil {
		t.Fatal(err)
	}
	v.e.ApplyRetention()
	o := v.offsets("t", 0)
	if o.LogStart != 3 || o.HighWatermark != 5 || o.Bytes != 2*per {
		t.Fatalf("after byte retention: %+v (batch %d bytes)", o, per)
	}
	if got := values(v.readAll("t", 0, 3)); fmt.Sprint(got) != `["rec-3" "rec-4"]` {
		t.Fatalf("retained %v", got)
	}
	if _, err := v.e.UpdateTopic("t", engine.TopicUpdate{Config: map[string]int64{"retention.bytes": 0}}); err != nil {
		t.Fatal(err)
	}
	v.e.ApplyRetention()
	if o := v.offsets("t", 0); o.LogStart != 5 || o.HighWatermark != 5 || o.Bytes != 0 {
		t.Fatalf("retention.bytes 0: %+v", o)
	}
}

func TestOffsetForTimestamp(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, nil)
	v.produce("t", engine.AcksLeader, stamped(0, 100, `0`), stamped(0, 300, `1`))
	v.produce("t", engine.AcksLeader, stamped(0, 200, `2`))
	v.produce("t", engine.AcksLeader, stamped(0, 500, `3`), stamped(0, 400, `4`))
	tests := []struct {
		ts     int64
		offset int64
		found  bool
	}{
		{0, 0, true}, {100, 0, true}, {101, 1, true}, {150, 1, true}, {300, 1, true},
		{301, 3, true}, {450, 3, true}, {500, 3, true}, {501, 0, false},
	}
	for _, tt := range tests {
		r, err := v.e.OffsetForTimestamp("t", 0, tt.ts)
		if err != nil || r.Found != tt.found || (tt.found && r.Offset != tt.offset) {
			t.Errorf("OffsetForTimestamp(%d) = %+v, %v; want %d, %v", tt.ts, r, err, tt.offset, tt.found)
		}
		if r.HighWatermark != 5 || r.LogEnd != 5 {
			t.Errorf("OffsetForTimestamp(%d) offsets %+v", tt.ts, r.Offsets)
		}
	}
	if _, err := v.e.OffsetForTimestamp("t", 1, 0); !errors.Is(err, engine.ErrPartitionNotFound) {
		t.Fatalf("missing partition: %v", err)
	}
}

// TestRetentionDuringAppends runs retention while producers append: the
// partition's byte count must stay equal to the bytes of the batches it
// holds, in memory and on disk, and offsets stay consecutive.
func TestRetentionDuringAppends(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, map[string]int64{"retention.ms": -1, "retention.bytes": 2000})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				v.produce("t", engine.AcksLeader, at(0, fmt.Sprintf(`"%d-%d"`, g, i)))
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			v.e.ApplyRetention()
		}
	}
	v.e.ApplyRetention()
	topic, err := v.e.Topic("t")
	if err != nil {
		t.Fatal(err)
	}
	o := v.offsets("t", 0)
	if o.LogEnd != 200 || o.HighWatermark != 200 {
		t.Fatalf("offsets %+v", o)
	}
	id := storage.PartitionID{TopicID: topic.ID(), Partition: 0}
	it, err := v.db.ReadLog(id, o.LogStart, o.LogStart)
	if err != nil {
		t.Fatal(err)
	}
	var held int64
	next := o.LogStart
	for it.Next() {
		h, err := storage.DecodeBatchHeader(it.Batch())
		if err != nil || h.BaseOffset != next {
			t.Fatalf("batch at %d after %d: %v", h.BaseOffset, next, err)
		}
		next = h.NextOffset()
		held += int64(len(it.Batch()))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if next != 200 || held != o.Bytes || held > 2000 {
		t.Fatalf("partition counts %d bytes, holds %d up to offset %d", o.Bytes, held, next)
	}
	v.reopen()
	if o2 := v.offsets("t", 0); o2.Bytes != held || o2.LogStart != o.LogStart {
		t.Fatalf("after reopen: %+v, want %d bytes from %d", o2, held, o.LogStart)
	}
}
