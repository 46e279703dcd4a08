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
	// ErrAppendedNotReplicated marks an acks=all failure that came after the
	// leader had appended the records to its log (Kafka's
	// NOT_ENOUGH_REPLICAS_AFTER_APPEND): the ISR fell below
	// min.insync.replicas while the records waited (ErrNotEnoughReplicas),
	// the wait ran out (ErrTimeout), or leadership moved or the broker
	// stopped first (ErrNotLeader, ErrClosed). The records stay in the
	// leader's log and may yet commit, or be truncated by a new leader, so a
	// retry may store them twice. It is a mark, not a kind of failure: an
	// error carrying it still matches its own sentinel, which decides the
	// API code. Add it with MarkAppended and test for it with errors.Is.
	ErrAppendedNotReplicated = errors.New("engine: appended to the leader's log but not replicated")
)

// MarkAppended returns err marked with ErrAppendedNotReplicated: its text
// and the sentinels it matches stay the same. MarkAppended(nil) is nil.
func MarkAppended(err error) error {
	if err == nil {
		return nil
	}
	return &appendedError{err: err}
}

// appendedError is the mark MarkAppended puts on an error.
type appendedError struct{ err error }

func (e *appendedError) Error() string { return e.err.Error() }

// Unwrap gives the marked error, so that its sentinels still match.
func (e *appendedError) Unwrap() error { return e.err }

// Is makes errors.Is(err, ErrAppendedNotReplicated) true.
func (e *appendedError) Is(target error) bool { return target == ErrAppendedNotReplicated }

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
