package peer

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/fjord-streaming/fjord/engine"
)

// TestReplicaAnswerBuffers checks that the stream's answer frame, written
// from buffers, is the length prefix and EncodeReplicaResponse's encoding,
// also when meta is reused from a larger answer.
func TestReplicaAnswerBuffers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp engine.ReplicaFetchResponse
	}{
		{"no partitions", engine.ReplicaFetchResponse{}},
		{"no batches", engine.ReplicaFetchResponse{Partitions: []engine.ReplicaFetchAnswer{
			{TopicID: 1, HighWatermark: 5, LogEnd: 5, DivergingEnd: -1},
			{TopicID: 2, Partition: 1, Err: engine.ReplicaFencedEpoch, DivergingEnd: -1}}}},
		{"batches in several partitions", engine.ReplicaFetchResponse{Partitions: []engine.ReplicaFetchAnswer{
			{TopicID: 1, HighWatermark: 10, LogEnd: 12, DivergingEnd: -1, Batches: [][]byte{[]byte("batch-one"), []byte("b2")}},
			{TopicID: 2, Partition: 3, DivergingEnd: -1},
			{TopicID: 2, Partition: 4, DivergingEpoch: 4, DivergingEnd: 17, Batches: [][]byte{bytes.Repeat([]byte{7}, 100<<10)}}}}},
		{"an empty batch", engine.ReplicaFetchResponse{Partitions: []engine.ReplicaFetchAnswer{
			{TopicID: 1, DivergingEnd: -1, Batches: [][]byte{{}}}}}},
	}
	meta := bytes.Repeat([]byte{0xEE}, 4096)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bufs [][]byte
			bufs, meta = replicaAnswerBuffers(meta[:0], tt.resp)
			got := bytes.Join(bufs, nil)
			body := EncodeReplicaResponse(tt.resp)
			want := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
			want = append(want, body...)
			if !bytes.Equal(got, want) {
				t.Fatalf("frame = %x\nwant    %x", got, want)
			}
		})
	}
}
