package peer

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/engine"
)

func TestReplicaRequestRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []engine.ReplicaFetchRequest{
		{Follower: 2, Incarnation: "inc", MaxWait: 500 * time.Millisecond, MaxBytes: 1 << 20},
		{Follower: 3, Incarnation: "5f0c", MaxWait: time.Second, MaxBytes: 4096, Partitions: []engine.ReplicaFetchPartition{
			{TopicID: 1<<63 + 5, Partition: 0, FetchOffset: 42, LeaderEpoch: 3, LastFetchedEpoch: 2, HighWatermark: 40},
			{TopicID: 9, Partition: 7, FetchOffset: 0, LeaderEpoch: 0, LastFetchedEpoch: -1, HighWatermark: 0},
		}},
	}
	for _, want := range tests {
		got, err := DecodeReplicaRequest(EncodeReplicaRequest(want))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(want.Partitions) == 0 {
			want.Partitions = []engine.ReplicaFetchPartition{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip = %+v, want %+v", got, want)
		}
	}
}

func TestReplicaResponseRoundTrip(t *testing.T) {
	t.Parallel()
	want := engine.ReplicaFetchResponse{Partitions: []engine.ReplicaFetchAnswer{
		{TopicID: 1, Partition: 0, HighWatermark: 10, LogStart: 0, LogEnd: 12, DivergingEpoch: 0, DivergingEnd: -1,
			Batches: [][]byte{[]byte("batch-one"), []byte("b2")}},
		{TopicID: 2, Partition: 3, Err: engine.ReplicaFencedEpoch, DivergingEnd: -1},
		{TopicID: 2, Partition: 4, DivergingEpoch: 4, DivergingEnd: 17},
	}}
	got, err := DecodeReplicaResponse(EncodeReplicaResponse(want))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip = %+v, want %+v", got, want)
	}
}

// TestAppendReplicaResponse checks the encoding into a reused buffer, as
// the server's pooled answer buffers use it: what the buffer held before
// (a larger answer) never shows through, and a prefix is kept.
func TestAppendReplicaResponse(t *testing.T) {
	t.Parallel()
	large := engine.ReplicaFetchResponse{Partitions: []engine.ReplicaFetchAnswer{
		{TopicID: 1, DivergingEnd: -1, Batches: [][]byte{bytes.Repeat([]byte{0xAB}, 64<<10)}}}}
	small := engine.ReplicaFetchResponse{Partitions: []engine.ReplicaFetchAnswer{
		{TopicID: 2, Partition: 1, HighWatermark: 3, LogEnd: 4, DivergingEnd: -1, Batches: [][]byte{[]byte("b2")}}}}
	want := EncodeReplicaResponse(small)
	tests := []struct {
		name   string
		prefix []byte
	}{
		{"empty buffer", nil},
		{"buffer that held a larger answer", appendReplicaResponse(nil, large)[:0]},
		{"prefix kept", []byte("head")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := string(tt.prefix)
			got := appendReplicaResponse(tt.prefix, small)
			if string(got[:len(before)]) != before || !bytes.Equal(got[len(before):], want) {
				t.Fatalf("appendReplicaResponse = %x, want %q then %x", got, before, want)
			}
		})
	}
}

func TestReplicaDecodeRefuses(t *testing.T) {
	t.Parallel()
	good := EncodeReplicaRequest(engine.ReplicaFetchRequest{Follower: 1, Incarnation: "x",
		Partitions: []engine.ReplicaFetchPartition{{TopicID: 1, FetchOffset: 1}}})
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(bytes.Clone(good), 0)},
		{"huge count", []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		{"negative offset", EncodeReplicaRequest(engine.ReplicaFetchRequest{Partitions: []engine.ReplicaFetchPartition{{FetchOffset: -1}}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeReplicaRequest(tt.b); !errors.Is(err, engine.ErrInvalidRequest) {
				t.Errorf("DecodeReplicaRequest = %v, want ErrInvalidRequest", err)
			}
		})
	}
	if _, err := DecodeReplicaResponse([]byte{0, 0, 0, 9}); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("DecodeReplicaResponse of a lying count = %v, want ErrBadAnswer", err)
	}
}

func FuzzDecodeReplicaRequest(f *testing.F) {
	f.Add(EncodeReplicaRequest(engine.ReplicaFetchRequest{Follower: 2, Incarnation: "i",
		Partitions: []engine.ReplicaFetchPartition{{TopicID: 1, FetchOffset: 3, LastFetchedEpoch: -1}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReplicaRequest(b)
		if err != nil {
			return
		}
		if again := EncodeReplicaRequest(r); !bytes.Equal(again, b) {
			t.Errorf("re-encoding differs: %x, was %x", again, b)
		}
	})
}

func FuzzDecodeReplicaResponse(f *testing.F) {
	f.Add(EncodeReplicaResponse(engine.ReplicaFetchResponse{Partitions: []engine.ReplicaFetchAnswer{
		{TopicID: 1, LogEnd: 2, DivergingEnd: -1, Batches: [][]byte{[]byte("x")}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReplicaResponse(b)
		if err != nil {
			return
		}
		if again := EncodeReplicaResponse(r); !bytes.Equal(again, b) {
			t.Errorf("re-encoding differs: %x, was %x", again, b)
		}
	})
}
