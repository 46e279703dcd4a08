package engine_test

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// openTruncateEngine is a real engine on Pebble in memory.
func openTruncateEngine(t *testing.T) *engine.Engine {
	t.Helper()
	db, err := storage.Open("db", storage.Options{FS: vfs.NewMem(), CacheBytes: 1 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(db, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(); _ = db.Close() })
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
