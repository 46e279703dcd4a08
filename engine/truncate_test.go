package engine_test

import (
	"context"
	"testing"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
	"github.com/fjord-streaming/fjord/storage/storagetest"
)

// openTruncateEngine is a real engine on Pebble in memory.
func openTruncateEngine(t *testing.T) *engine.Engine {
	t.Helper()
	eng, err := engine.Open(storagetest.OpenMem(t), engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	return eng
}

func TestDeleteRecordsBefore(t *testing.T) {
	eng := openTruncateEngine(t)
	if _, err := eng.CreateTopic(engine.TopicSpec{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	// Three appends of 2 records: batches [0,2) [2,4) [4,6).
	for range 3 {
		recs := []engine.ProduceRecord{{Partition: 0, Record: storage.Record{Timestamp: -1}}, {Partition: 0, Record: storage.Record{Timestamp: -1}}}
		if _, err := eng.Produce(context.Background(), "t", recs, engine.AcksAll); err != nil {
			t.Fatal(err)
		}
	}
	p, err := eng.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		before, want int64
	}{
		{0, 0}, // nothing below 0
		{3, 2}, // the batch holding 2 and 3 straddles 3: it stays
		{4, 4},
		{99, 6}, // never past the high watermark
	} {
		got, err := p.DeleteRecordsBefore(tc.before)
		if err != nil || got != tc.want || p.Offsets().LogStart != tc.want {
			t.Fatalf("DeleteRecordsBefore(%d) = %d, %v; log start %d; want %d", tc.before, got, err, p.Offsets().LogStart, tc.want)
		}
	}
	if _, err := p.Read(5, 10, 1<<20); err == nil {
		t.Fatal("read below the new log start succeeded")
	}
}

func TestOnTopicChanged(t *testing.T) {
	eng := openTruncateEngine(t)
	var got []string
	eng.OnTopicChanged(func(topic string, partitions int32) {
		got = append(got, topic+":"+string(rune('0'+partitions)))
	})
	if _, err := eng.CreateTopic(engine.TopicSpec{Name: "t", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	n := int32(5)
	if _, err := eng.UpdateTopic("t", engine.TopicUpdate{Partitions: &n}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "t:2" || got[1] != "t:5" {
		t.Fatalf("hook calls %v, want t:2 then t:5", got)
	}
}

// heldBytes sums the encoded batches a partition holds on disk from its log
// start: what Offsets().Bytes must equal.
func (v *env) heldBytes(topic string, partition int32) int64 {
	v.t.Helper()
	tp, err := v.e.Topic(topic)
	if err != nil {
		v.t.Fatal(err)
	}
	o := v.offsets(topic, partition)
	it, err := v.db.ReadLog(storage.PartitionID{TopicID: tp.ID(), Partition: uint32(partition)}, o.LogStart, o.LogStart)
	if err != nil {
		v.t.Fatal(err)
	}
	var held int64
	for it.Next() {
		held += int64(len(it.Batch()))
	}
	if err := it.Close(); err != nil {
		v.t.Fatal(err)
	}
	return held
}

// TestTruncationKeepsTimeLookupsAndBytes truncates the head with
// DeleteRecordsBefore and checks time lookups, offsets and the byte count,
// live and after restarts, down to an emptied log that takes appends again.
func TestTruncationKeepsTimeLookupsAndBytes(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, nil)
	// Batches [0,2) [2,3) [3,5) [5,7) with timestamps that go back and forth.
	v.produce("t", engine.AcksLeader, stamped(0, 100, `0`), stamped(0, 300, `1`))
	v.produce("t", engine.AcksLeader, stamped(0, 200, `2`))
	v.produce("t", engine.AcksLeader, stamped(0, 500, `3`), stamped(0, 400, `4`))
	v.produce("t", engine.AcksLeader, stamped(0, 250, `5`), stamped(0, 600, `6`))
	type lookup struct {
		ts     int64
		offset int64
		found  bool
	}
	check := func(what string, want engine.Offsets, lookups []lookup) {
		t.Helper()
		o := v.offsets("t", 0)
		if o.LogStart != want.LogStart || o.LogEnd != want.LogEnd || o.HighWatermark != want.LogEnd {
			t.Fatalf("%s: offsets %+v, want start %d end %d", what, o, want.LogStart, want.LogEnd)
		}
		if held := v.heldBytes("t", 0); o.Bytes != held || (want.Bytes >= 0 && o.Bytes != want.Bytes) {
			t.Fatalf("%s: %d bytes counted, %d held, want %d", what, o.Bytes, held, want.Bytes)
		}
		for _, l := range lookups {
			r, err := v.e.OffsetForTimestamp("t", 0, l.ts)
			if err != nil || r.Found != l.found || (l.found && r.Offset != l.offset) {
				t.Fatalf("%s: OffsetForTimestamp(%d) = %+v, %v; want %d, %v", what, l.ts, r, err, l.offset, l.found)
			}
		}
	}
	all := []lookup{{0, 0, true}, {250, 1, true}, {301, 3, true}, {550, 6, true}, {601, 0, false}}
	check("full log", engine.Offsets{LogEnd: 7, Bytes: -1}, all)
	total := v.offsets("t", 0).Bytes
	p, err := v.e.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.DeleteRecordsBefore(3); err != nil || got != 3 {
		t.Fatalf("DeleteRecordsBefore(3) = %d, %v", got, err)
	}
	// Timestamps before the log start find the log start.
	head := []lookup{{0, 3, true}, {250, 3, true}, {500, 3, true}, {501, 6, true}, {601, 0, false}}
	check("after truncation", engine.Offsets{LogStart: 3, LogEnd: 7, Bytes: -1}, head)
	kept := v.offsets("t", 0).Bytes
	if kept >= total {
		t.Fatalf("truncation kept %d of %d bytes", kept, total)
	}
	v.reopen()
	check("after truncation and restart", engine.Offsets{LogStart: 3, LogEnd: 7, Bytes: kept}, head)

	if p, err = v.e.Partition("t", 0); err != nil {
		t.Fatal(err)
	}
	if got, err := p.DeleteRecordsBefore(99); err != nil || got != 7 {
		t.Fatalf("DeleteRecordsBefore(99) = %d, %v", got, err)
	}
	none := []lookup{{0, 0, false}}
	check("emptied", engine.Offsets{LogStart: 7, LogEnd: 7, Bytes: 0}, none)
	v.reopen()
	check("emptied and restarted", engine.Offsets{LogStart: 7, LogEnd: 7, Bytes: 0}, none)
	if res := v.produce("t", engine.AcksLeader, stamped(0, 50, `7`)); res[0].Offset != 7 {
		t.Fatalf("append to an emptied log at %d, want 7", res[0].Offset)
	}
	again := []lookup{{0, 7, true}, {50, 7, true}, {51, 0, false}}
	check("appended after emptying", engine.Offsets{LogStart: 7, LogEnd: 8, Bytes: -1}, again)
	one := v.offsets("t", 0).Bytes
	v.reopen()
	check("appended after emptying, restarted", engine.Offsets{LogStart: 7, LogEnd: 8, Bytes: one}, again)
}
