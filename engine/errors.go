package engine

import (
	"errors"
	"fmt"
)

// Sentinel errors of the engine. The api and ws packages map them to stable
// API codes in one table; wrap them with %w to add context.
var (
	ErrTopicNotFound          = errors.New("engine: topic not found")
	ErrPartitionNotFound      = errors.New("engine: partition not found")
	ErrTopicExists            = errors.New("engine: topic already exists")
	ErrInvalidTopicName       = errors.New("engine: invalid topic name")
	ErrInvalidRequest         = errors.New("engine: invalid request")
	ErrPartitionDecrease      = errors.New("engine: partition count cannot decrease")
	ErrRecordTooLarge         = errors.New("engine: record too large")
	ErrNotEnoughReplicas      = errors.New("engine: not enough in-sync replicas")
	ErrLeaderNotAvailable     = errors.New("engine: leader not available")
	ErrTimeout                = errors.New("engine: request timed out")
	ErrNotAReplica            = errors.New("engine: broker holds no replica of the partition")
	ErrOffsetOutOfRangeMarker = errors.New("engine: offset out of range")
	ErrClosed                 = errors.New("engine: closed")
	// ErrStaleEpoch refuses a request made under a leader or partition
	// epoch that has since been replaced (zombie fencing).
	ErrStaleEpoch = errors.New("engine: stale epoch")
)

// OffsetOutOfRangeError says where a partition's readable range lies. It
// matches ErrOffsetOutOfRangeMarker with errors.Is.
type OffsetOutOfRangeError struct {
	Offset         int64
	LogStartOffset int64
	HighWatermark  int64
}

func (e *OffsetOutOfRangeError) Error() string {
	return fmt.Sprintf("offset %d is outside the readable range [%d, %d]", e.Offset, e.LogStartOffset, e.HighWatermark)
}

// Is makes errors.Is(err, ErrOffsetOutOfRangeMarker) true.
func (e *OffsetOutOfRangeError) Is(target error) bool { return target == ErrOffsetOutOfRangeMarker }
