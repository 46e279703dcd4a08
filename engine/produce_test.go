package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/engine/partitioner"
	"github.com/fjord-streaming/fjord/storage"
)

func TestProduceOffsetsInRequestOrder(t *testing.T) {
	clk := newClock()
	v := newEnv(t, withClock(clk))
	v.create("t", 3, nil)
	recs := []engine.ProduceRecord{at(0, `"a"`), at(1, `"b"`), at(0, `"c"`), at(2, `"d"`), at(0, `"e"`), at(1, `"f"`)}
	res := v.produce("t", engine.AcksLeader, recs...)
	want := []struct {
		p   int32
		off int64
	}{{0, 0}, {1, 0}, {0, 1}, {2, 0}, {0, 2}, {1, 1}}
	for i, w := range want {
		if res[i].Partition != w.p || res[i].Offset != w.off || res[i].Timestamp != clk.Now().UnixMilli() {
			t.Fatalf("result %d: %+v, want partition %d offset %d", i, res[i], w.p, w.off)
		}
	}
	res = v.produce("t", engine.AcksAll, at(0, `"g"`), stamped(0, 42, `"h"`))
	if res[0].Offset != 3 || res[1].Offset != 4 || res[1].Timestamp != 42 {
		t.Fatalf("second request: %+v", res)
	}
	got := v.readAll("t", 0, 0)
	if fmt.Sprint(values(got)) != `["a" "c" "e" "g" "h"]` {
		t.Fatalf("partition 0 holds %v", values(got))
	}
	for i, r := range got {
		if r.Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, r.Offset)
		}
	}
	if got[4].Timestamp != 42 {
		t.Fatalf("explicit timestamp read back as %d", got[4].Timestamp)
	}
}

func TestProduceRecordsByteExact(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, nil)
	in := []storage.Record{
		{Timestamp: 5, KeyFormat: storage.FormatText, Key: []byte("ü-key"), ValueFormat: storage.FormatJSON,
			Value: []byte(`{ "n": 1.0, "e": 1e2, "s": "\u00e9\n" }`), Headers: []storage.Header{{Key: "trace", Value: "abc"}, {Key: "b", Value: ""}}},
		{Timestamp: 6, KeyFormat: storage.FormatBytes, Key: []byte{0, 1, 0xff}, ValueFormat: storage.FormatBytes, Value: []byte{0xfe, 0}},
		{Timestamp: 7, ValueFormat: storage.FormatNull},
	}
	var recs []engine.ProduceRecord
	for _, r := range in {
		recs = append(recs, engine.ProduceRecord{Partition: 0, Record: r})
	}
	v.produce("t", engine.AcksLeader, recs...)
	got := v.readAll("t", 0, 0)
	if len(got) != len(in) {
		t.Fatalf("%d records", len(got))
	}
	for i := range in {
		g, w := got[i], in[i]
		if g.Timestamp != w.Timestamp || g.KeyFormat != w.KeyFormat || g.ValueFormat != w.ValueFormat ||
			string(g.Key) != string(w.Key) || string(g.Value) != string(w.Value) || fmt.Sprint(g.Headers) != fmt.Sprint(w.Headers) {
			t.Fatalf("record %d: %+v, want %+v", i, g, w)
		}
	}
	if got[2].Value != nil || got[2].Key != nil {
		t.Fatalf("null record read back as %q/%q", got[2].Key, got[2].Value)
	}
}

func TestPartitionChoice(t *testing.T) {
	v := newEnv(t)
	const n = 4
	v.create("t", n, nil)
	t.Run("key", func(t *testing.T) {
		var recs []engine.ProduceRecord
		for i := range 50 {
			recs = append(recs, keyed(fmt.Sprintf("user-%d", i), `1`))
		}
		bytesKey := value(`1`)
		bytesKey.KeyFormat, bytesKey.Key = storage.FormatBytes, []byte{0, 1, 2}
		recs = append(recs, bytesKey)
		res := v.produce("t", engine.AcksLeader, recs...)
		for i, r := range res {
			if want := partitioner.ForKey(recs[i].Key, n); r.Partition != want {
				t.Fatalf("key %q went to %d, want %d", recs[i].Key, r.Partition, want)
			}
		}
	})
	t.Run("explicit partition wins over key", func(t *testing.T) {
		r := keyed("user-1", `1`)
		other := (partitioner.ForKey([]byte("user-1"), n) + 1) % n
		r.Partition = other
		if res := v.produce("t", engine.AcksLeader, r); res[0].Partition != other {
			t.Fatalf("went to %d, want %d", res[0].Partition, other)
		}
	})
	t.Run("null keys stick per request and rotate", func(t *testing.T) {
		seen := map[int32]int{}
		var prev int32 = -1
		for range 2 * n {
			res := v.produce("t", engine.AcksLeader, value(`1`), value(`2`), value(`3`))
			p := res[0].Partition
			for _, r := range res {
				if r.Partition != p {
					t.Fatalf("keyless records of one request split over %d and %d", p, r.Partition)
				}
			}
			if p == prev {
				t.Fatalf("two requests in a row went to partition %d", p)
			}
			prev = p
			seen[p]++
		}
		for p := range int32(n) {
			if seen[p] != 2 {
				t.Fatalf("rotation uneven: %v", seen)
			}
		}
	})
	t.Run("rotation is per topic", func(t *testing.T) {
		v.create("a", 2, nil)
		v.create("b", 2, nil)
		seen := map[int32]bool{}
		for range 2 {
			seen[v.produce("a", engine.AcksLeader, value(`1`))[0].Partition] = true
			v.produce("b", engine.AcksLeader, value(`1`))
		}
		if len(seen) != 2 {
			t.Fatalf("interleaved requests to another topic kept topic a on %v", seen)
		}
	})
}

func TestProduceAcksNone(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, nil)
	res, err := v.e.Produce(context.Background(), "t", []engine.ProduceRecord{at(0, `"x"`), at(0, `"y"`)}, engine.AcksNone)
	if err != nil || len(res) != 2 || res[0].Offset != -1 {
		t.Fatalf("acks=0: %+v, %v", res, err)
	}
	// The background append becomes visible; a long poll is woken by it.
	got, err := v.e.Fetch(context.Background(), "t", 0, engine.FetchRequest{Offset: 0, MaxRecords: 10, MaxBytes: 1 << 20, Wait: 10 * time.Second})
	if err != nil || len(got.Records) == 0 || string(got.Records[0].Value) != `"x"` {
		t.Fatalf("fetch after acks=0: %+v, %v", got, err)
	}
}

func TestProduceMinInsyncReplicas(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, map[string]int64{"min.insync.replicas": 2})
	_, err := v.e.Produce(context.Background(), "t", []engine.ProduceRecord{value(`1`)}, engine.AcksAll)
	if !errors.Is(err, engine.ErrNotEnoughReplicas) || errors.Is(err, engine.ErrAppendedNotReplicated) {
		t.Fatalf("acks=all: %v, want not enough replicas refused before the append", err)
	}
	if o := v.offsets("t", 0); o.LogEnd != 0 {
		t.Fatalf("a refused produce wrote: %+v", o)
	}
	if res := v.produce("t", engine.AcksLeader, value(`1`)); res[0].Offset != 0 {
		t.Fatalf("acks=1: %+v", res)
	}
}

// TestProduceAcksAllAfterTheAppend fails acks=all produces while the
// records wait in the leader's log for followers (brokers 2 and 3) that
// never fetch: every such failure keeps its own sentinel, which decides the
// API code, and is marked ErrAppendedNotReplicated.
func TestProduceAcksAllAfterTheAppend(t *testing.T) {
	replicated := func(leader int32, epoch int32, isr ...int32) engine.Placement {
		return engine.Placement{Leader: leader, LeaderEpoch: epoch, PartitionEpoch: epoch, Replicas: []int32{1, 2, 3}, ISR: isr}
	}
	tests := []struct {
		name   string
		minISR int64
		// then fails the waiting produce; cancel ends its context.
		then func(v *env, apply func(engine.Placement), cancel context.CancelFunc)
		want error
	}{
		{"the wait times out", 1, func(_ *env, _ func(engine.Placement), cancel context.CancelFunc) { cancel() }, engine.ErrTimeout},
		// Broker 2 stays in the ISR: the HW still waits for it.
		{"the ISR shrinks below min.insync.replicas", 3, func(_ *env, apply func(engine.Placement), _ context.CancelFunc) {
			apply(replicated(1, 1, 1, 2))
		}, engine.ErrNotEnoughReplicas},
		// The HW reaches the record with the leader alone in the ISR, which
		// is still below min.insync.replicas (Kafka's
		// NOT_ENOUGH_REPLICAS_AFTER_APPEND), so it is not acknowledged.
		{"the ISR shrinks to the leader alone", 2, func(_ *env, apply func(engine.Placement), _ context.CancelFunc) {
			apply(replicated(1, 1, 1))
		}, engine.ErrNotEnoughReplicas},
		{"leadership moves", 1, func(_ *env, apply func(engine.Placement), _ context.CancelFunc) {
			apply(replicated(2, 1, 2, 3))
		}, engine.ErrNotLeader},
		{"the broker stops", 1, func(v *env, _ func(engine.Placement), _ context.CancelFunc) { v.e.StopWaiters() }, engine.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t)
			cfg := engine.DefaultTopicConfig()
			cfg.MinInsyncReplicas = tt.minISR
			version := uint64(0)
			apply := func(pl engine.Placement) {
				version++
				md := engine.TopicMetadata{Name: "t", ID: 7, ReplicationFactor: 3, Config: cfg, Partitions: []engine.Placement{pl}}
				if err := v.e.ApplyMetadata(version, []engine.TopicMetadata{md}); err != nil {
					t.Fatal(err)
				}
			}
			apply(replicated(1, 0, 1, 2, 3))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := v.e.Produce(ctx, "t", []engine.ProduceRecord{value(`1`)}, engine.AcksAll)
				done <- err
			}()
			p, err := v.e.Partition("t", 0)
			if err != nil {
				t.Fatal(err)
			}
			// The record is in the leader's log once its log end moves; the
			// HW cannot follow without broker 2.
			for deadline := time.Now().Add(10 * time.Second); p.LocalOffsets().LogEnd < 1; {
				if time.Now().After(deadline) {
					t.Fatal("the record never reached the leader's log")
				}
				runtime.Gosched()
			}
			tt.then(v, apply, cancel)
			err = <-done
			if !errors.Is(err, tt.want) || !errors.Is(err, engine.ErrAppendedNotReplicated) {
				t.Fatalf("produce failed with %v, want %v marked appended", err, tt.want)
			}
		})
	}
}

func TestProduceInvalidWritesNothing(t *testing.T) {
	v := newEnv(t)
	v.create("t", 3, map[string]int64{"max.message.bytes": 10})
	v.produce("t", engine.AcksLeader, at(0, `"seed"`))
	ten := strings.Repeat("x", 10)
	tests := []struct {
		name  string
		recs  []engine.ProduceRecord
		errIs error
	}{
		{"record over max.message.bytes", []engine.ProduceRecord{at(0, `1`), at(1, `2`), at(2, `"`+ten+`"`)}, engine.ErrRecordTooLarge},
		{"key counts", []engine.ProduceRecord{at(1, `1`), keyed(ten, `1`)}, engine.ErrRecordTooLarge},
		{"headers count", []engine.ProduceRecord{{Partition: 1, Record: storage.Record{Timestamp: -1,
			Headers: []storage.Header{{Key: "12345", Value: "678901"}}}}}, engine.ErrRecordTooLarge},
		{"unknown partition", []engine.ProduceRecord{at(0, `1`), at(3, `2`)}, engine.ErrPartitionNotFound},
		{"no records", nil, engine.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.e.Produce(context.Background(), "t", tt.recs, engine.AcksLeader)
			if !errors.Is(err, tt.errIs) {
				t.Fatalf("err %v, want %v", err, tt.errIs)
			}
			for p := range int32(3) {
				want := int64(0)
				if p == 0 {
					want = 1
				}
				if o := v.offsets("t", p); o.LogEnd != want || o.HighWatermark != want {
					t.Fatalf("partition %d moved to %+v", p, o)
				}
			}
		})
	}
	// Exactly max.message.bytes is fine.
	v.produce("t", engine.AcksLeader, at(1, `"`+ten[:8]+`"`))
}

func TestProduceTopicMissing(t *testing.T) {
	t.Run("auto-create off", func(t *testing.T) {
		v := newEnv(t)
		_, err := v.e.Produce(context.Background(), "nope", []engine.ProduceRecord{value(`1`)}, engine.AcksLeader)
		if !errors.Is(err, engine.ErrTopicNotFound) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("auto-create on", func(t *testing.T) {
		v := newEnv(t, autoCreate, func(c *engine.Config) { c.DefaultPartitions = 2 })
		// Many producers race to create the topic; one topic comes out.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := v.e.Produce(context.Background(), "auto", []engine.ProduceRecord{at(1, `1`)}, engine.AcksLeader); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		d, err := v.e.DescribeTopic("auto")
		if err != nil || len(d.Partitions) != 2 || d.Partitions[1].HighWatermark != 8 {
			t.Fatalf("auto-created topic %+v, %v", d, err)
		}
		_, err = v.e.Produce(context.Background(), "__auto", []engine.ProduceRecord{value(`1`)}, engine.AcksLeader)
		if !errors.Is(err, engine.ErrInvalidTopicName) {
			t.Fatalf("auto-create of a reserved name: %v", err)
		}
		// A request that is going to fail creates no topic.
		tooBig := value(`"` + strings.Repeat("x", 1<<20) + `"`)
		for _, tc := range []struct {
			recs  []engine.ProduceRecord
			errIs error
		}{
			{[]engine.ProduceRecord{value(`1`), tooBig}, engine.ErrRecordTooLarge},
			{[]engine.ProduceRecord{value(`1`), at(2, `1`)}, engine.ErrPartitionNotFound},
		} {
			_, err := v.e.Produce(context.Background(), "never", tc.recs, engine.AcksLeader)
			if !errors.Is(err, tc.errIs) {
				t.Fatalf("err %v, want %v", err, tc.errIs)
			}
			if _, err := v.e.Topic("never"); !errors.Is(err, engine.ErrTopicNotFound) {
				t.Fatalf("a failed produce created the topic: %v", err)
			}
		}
	})
}

// TestConcurrentAppends has many goroutines append to one partition at once:
// offsets must be consecutive with no gaps or duplicates, and each request's
// records contiguous, in order, at the offsets the request was told.
func TestConcurrentAppends(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, nil)
	const producers, requests = 8, 30
	type sent struct {
		g, r, n int
		base    int64
	}
	out := make(chan sent, producers*requests)
	var wg sync.WaitGroup
	for g := range producers {
		wg.Go(func() {
			for r := range requests {
				n := 1 + (g+r)%5
				recs := make([]engine.ProduceRecord, n)
				for i := range recs {
					recs[i] = at(0, fmt.Sprintf(`{"g":%d,"r":%d,"i":%d}`, g, r, i))
				}
				res, err := v.e.Produce(context.Background(), "t", recs, engine.AcksLeader)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range res {
					if res[i].Offset != res[0].Offset+int64(i) {
						t.Errorf("request %d/%d: offsets %+v not consecutive", g, r, res)
					}
				}
				out <- sent{g, r, n, res[0].Offset}
			}
		})
	}
	wg.Wait()
	close(out)
	got := v.readAll("t", 0, 0)
	total := 0
	for s := range out {
		total += s.n
		for i := range s.n {
			off := s.base + int64(i)
			if off >= int64(len(got)) {
				t.Fatalf("request %d/%d told offset %d beyond the log (%d records)", s.g, s.r, off, len(got))
			}
			var m struct{ G, R, I int }
			if err := json.Unmarshal(got[off].Value, &m); err != nil {
				t.Fatal(err)
			}
			if m.G != s.g || m.R != s.r || m.I != i {
				t.Fatalf("offset %d holds %s, want record %d of request %d/%d", off, got[off].Value, i, s.g, s.r)
			}
		}
	}
	if len(got) != total {
		t.Fatalf("log holds %d records, %d were produced", len(got), total)
	}
	for i, r := range got {
		if r.Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, r.Offset)
		}
	}
}

func TestPartitionIncrease(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, nil)
	v.produce("t", engine.AcksLeader, at(0, `"p0"`))
	three := int32(3)
	if _, err := v.e.UpdateTopic("t", engine.TopicUpdate{Partitions: &three}); err != nil {
		t.Fatal(err)
	}
	if res := v.produce("t", engine.AcksLeader, at(2, `"p2"`)); res[0].Offset != 0 {
		t.Fatalf("new partition starts at %d", res[0].Offset)
	}
	// Keys spread over the new count.
	res := v.produce("t", engine.AcksLeader, keyed("k1", `1`), keyed("k2", `1`), keyed("k3", `1`))
	for i, k := range []string{"k1", "k2", "k3"} {
		if want := partitioner.ForKey([]byte(k), 3); res[i].Partition != want {
			t.Fatalf("key %s on %d, want %d", k, res[i].Partition, want)
		}
	}
	v.reopen()
	if got := values(v.readAll("t", 0, 0)); len(got) == 0 || got[0] != `"p0"` {
		t.Fatalf("partition 0 lost its data: %v", got)
	}
	if got := values(v.readAll("t", 2, 0)); len(got) == 0 || got[0] != `"p2"` {
		t.Fatalf("partition 2 after reopen: %v", got)
	}
}
