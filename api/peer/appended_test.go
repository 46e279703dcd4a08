package peer_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

// TestAppendedThroughRemote produces acks=all through broker 1 to a
// partition that broker 2 leads, with followers 3 and 4 that never fetch:
// a failure after broker 2 stored the records reaches broker 1's caller
// marked engine.ErrAppendedNotReplicated, so that broker 1 renders
// "appended":true as broker 2 did; a refusal before the append does not.
func TestAppendedThroughRemote(t *testing.T) {
	placed := func(leader int32, epoch int32, isr ...int32) engine.Placement {
		return engine.Placement{Leader: leader, LeaderEpoch: epoch, PartitionEpoch: epoch, Replicas: []int32{2, 3, 4}, ISR: isr}
	}
	tests := []struct {
		name   string
		minISR int64
		// then fails the produce waiting at broker 2 (nil: broker 1's
		// deadline ends the wait).
		then     *engine.Placement
		code     string
		appended bool
	}{
		{"refused before the append", 4, nil, problem.NotEnoughReplicas, false},
		{"the wait times out", 1, nil, problem.RequestTimeout, true},
		{"the ISR shrinks below min.insync.replicas", 3, new(placed(2, 1, 2, 3)), problem.NotEnoughReplicas, true},
		{"leadership moves", 1, new(placed(3, 1, 3, 4)), problem.LeaderNotAvailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b1, b2 := startBroker(t, 1), startBroker(t, 2)
			b1.eng.SetCluster(nil, newClient(t, 1, testSecret, b1, b2))
			cfg := engine.DefaultTopicConfig()
			cfg.MinInsyncReplicas = tt.minISR
			apply := func(version uint64, pl engine.Placement, engines ...*engine.Engine) {
				md := engine.TopicMetadata{Name: "orders", ID: 9, ReplicationFactor: 3, Config: cfg, Partitions: []engine.Placement{pl}}
				for _, e := range engines {
					if err := e.ApplyMetadata(version, []engine.TopicMetadata{md}); err != nil {
						t.Fatal(err)
					}
				}
			}
			apply(1, placed(2, 0, 2, 3, 4), b1.eng, b2.eng)
			ctx, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
			if tt.then != nil {
				ctx, cancel = context.WithCancel(ctxT(t))
			}
			defer cancel()
			done := make(chan error, 1)
			go func() {
				recs := []engine.ProduceRecord{{Partition: 0, Record: oddRecords()[0]}}
				_, err := b1.eng.Produce(ctx, "orders", recs, engine.AcksAll)
				done <- err
			}()
			p2, err := b2.eng.Partition("orders", 0)
			if err != nil {
				t.Fatal(err)
			}
			if tt.then != nil {
				// Broker 2 changes its placement once the record is in its
				// log; its HW cannot follow without brokers 3 and 4.
				for p2.LocalOffsets().LogEnd < 1 {
					if ctx.Err() != nil {
						t.Fatal("the record never reached the leader's log")
					}
					runtime.Gosched()
				}
				apply(2, *tt.then, b2.eng)
			}
			err = <-done
			if d := problem.From(err); d.Code != tt.code || d.Appended != tt.appended {
				t.Fatalf("broker 1 renders %d %s appended=%v (%v), want %s appended=%v", d.Status, d.Code, d.Appended, err, tt.code, tt.appended)
			}
			if errors.Is(err, engine.ErrAppendedNotReplicated) != tt.appended {
				t.Fatalf("error %v: marked %v, want %v", err, !tt.appended, tt.appended)
			}
			want := int64(0)
			if tt.appended {
				want = 1
			}
			if end := p2.LocalOffsets().LogEnd; end != want {
				t.Fatalf("leader's log end %d, want %d", end, want)
			}
		})
	}
}
