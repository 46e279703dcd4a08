package engine

import (
	"context"
	"errors"
	"time"

	"github.com/fjord-streaming/fjord/storage"
)

// ErrNotLeader is returned when a partition operation that only its leader
// may do reaches a broker that does not lead it (a stale route). It maps to
// the API's leader_not_available: the client or the forwarding broker retries
// with fresh metadata.
var ErrNotLeader = errors.New("engine: broker is not the partition's leader")

// Placement is where one partition lives, as the metadata log says.
type Placement struct {
	// Replicas are the brokers holding the partition; the first is the
	// preferred leader.
	Replicas []int32
	// Leader is the broker that appends, or -1 when the partition is offline.
	Leader      int32
	LeaderEpoch int32
	// ISR are the replicas in sync with the leader (the leader included).
	ISR []int32
	// PartitionEpoch grows with every leader, ISR or replica change; a leader's
	// request to change the ISR names the one it saw (AlterISR).
	PartitionEpoch int32
}

// AlterISR is a partition leader's request to the controller to change the
// partition's ISR (Kafka's AlterPartition). It counts only once committed
// to the metadata log; until then the leader keeps the ISR it has.
type AlterISR struct {
	Topic     string
	TopicID   uint64
	Partition int32
	// Leader and LeaderEpoch are the proposer's: a leader that was replaced
	// is refused (ErrStaleEpoch).
	Leader      int32
	LeaderEpoch int32
	// PartitionEpoch is the partition epoch the proposal was computed from.
	PartitionEpoch int32
	// ISR is the proposed ISR, the leader included.
	ISR []int32
}

// ISRChanger is where a leader sends AlterISR: the controller, directly or
// forwarded. It returns the metadata version the change was committed at.
type ISRChanger interface {
	AlterISR(ctx context.Context, req AlterISR) (uint64, error)
}

// TopicMetadata is one topic as the metadata log says: its identity,
// configuration and the placement of every partition.
type TopicMetadata struct {
	Name              string
	ID                uint64
	ReplicationFactor int32
	Config            TopicConfig
	CreatedMs         int64
	Partitions        []Placement
}

// Admin decides topic changes for the whole cluster: in a cluster the
// controller does (directly on the controller, forwarded elsewhere). Each
// method returns the metadata version at which the change was applied; the
// engine waits until it has applied that version itself before answering,
// so a client that created a topic through any broker can use it there at
// once. Errors wrap the engine's sentinel errors (ErrTopicExists, …) so the
// API maps them as for a local change. Specs and updates reach it resolved
// and validated (ResolveTopicSpec); the Admin validates again against its
// own, authoritative metadata.
type Admin interface {
	CreateTopic(ctx context.Context, spec TopicSpec) (uint64, error)
	UpdateTopic(ctx context.Context, name string, u TopicUpdate) (uint64, error)
	DeleteTopic(ctx context.Context, name string) (uint64, error)
	// LiveBrokers is how many brokers placement may use now.
	LiveBrokers() int32
}

// Remote reaches partitions led by other brokers. Records and offsets cross
// it unchanged: an append carries storage batch bytes, a fetch returns
// records that own their bytes. Errors wrap the engine's sentinels.
type Remote interface {
	// Append appends records to the partition at its leader with the given
	// acks and returns the first offset; timeout bounds the leader's wait for
	// its replicas (acks=all).
	Append(ctx context.Context, leader int32, topic string, partition int32, records []storage.Record, acks Acks, timeout time.Duration) (int64, error)
	// Fetch reads the partition at its leader, long-polling there.
	Fetch(ctx context.Context, leader int32, topic string, partition int32, req FetchRequest) (ReadResult, error)
	// Offsets returns the leader's offsets of the partition once its high
	// watermark is above knownHW, or when wait has passed.
	Offsets(ctx context.Context, leader int32, topic string, partition int32, knownHW int64, wait time.Duration) (Offsets, error)
	// OffsetForTimestamp asks the leader for the first offset at or after ts.
	OffsetForTimestamp(ctx context.Context, leader int32, topic string, partition int32, ts int64) (OffsetsForTimestamp, error)
	// ReplicaFetch is one round of this broker's fetch stream from leader
	// (replica.go): the leader's ServeReplicaFetch, answered in order.
	ReplicaFetch(ctx context.Context, leader int32, req ReplicaFetchRequest) (ReplicaFetchResponse, error)
}
