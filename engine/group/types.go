package group

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Sentinel errors. Callers match them with errors.Is; the coordinator wraps
// them with the member or partition concerned.
var (
	// ErrMemberNotFound: the member never joined, left, or expired.
	ErrMemberNotFound = errors.New("group: member not found")
	// ErrMemberExists: Join with an id that is already a member.
	ErrMemberExists = errors.New("group: member already exists")
	// ErrInvalidMemberID: Join with an empty member id.
	ErrInvalidMemberID = errors.New("group: invalid member id")
	// ErrNoTopics: Join without any topic to subscribe to.
	ErrNoTopics = errors.New("group: no topics subscribed")
	// ErrInvalidSessionTimeout: a session timeout outside
	// [MinSessionTimeout, MaxSessionTimeout].
	ErrInvalidSessionTimeout = errors.New("group: session timeout out of range")
	// ErrUnknownAssignor: an assignor name other than range, roundrobin, sticky.
	ErrUnknownAssignor = errors.New("group: unknown assignor")
	// ErrAssignorMismatch: Join naming an assignor other than the one the
	// non-empty group uses.
	ErrAssignorMismatch = errors.New("group: assignor differs from the group's")
	// ErrInvalidGeneration: Observe of a generation the group has not reached.
	ErrInvalidGeneration = errors.New("group: invalid generation")
	// ErrGroupNotEmpty: an operation that needs a group without members.
	ErrGroupNotEmpty = errors.New("group: group not empty")
	// ErrNotOwner: a commit or seek of a partition the member does not own.
	ErrNotOwner = errors.New("group: partition not owned by member")
	// ErrUnknownPartition: a partition of a topic the coordinator does not
	// know, or beyond the topic's partition count.
	ErrUnknownPartition = errors.New("group: unknown partition")
	// ErrInvalidOffset: a negative offset.
	ErrInvalidOffset = errors.New("group: invalid offset")
	// ErrDuplicatePartition: one request naming the same partition twice.
	ErrDuplicatePartition = errors.New("group: duplicate partition in request")
	// ErrInvalidConfig: a Config that fails Validate.
	ErrInvalidConfig = errors.New("group: invalid config")
)

// TopicPartition names one partition of one topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String formats tp as "topic/partition".
func (tp TopicPartition) String() string {
	return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition)
}

// compareTP orders partitions by topic, then partition number.
func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

func sortTPs(tps []TopicPartition) { slices.SortFunc(tps, compareTP) }

// Assignment is what a member is told: the group generation and the
// partitions it may consume, sorted by topic and partition.
type Assignment struct {
	Generation int64
	Partitions []TopicPartition
}

// PartitionOffset is a committed offset of one partition: the next offset
// the group will read.
type PartitionOffset struct {
	TopicPartition
	Offset int64
}

// OffsetCommit is one partition of a commit. HighWatermark is the
// partition's high watermark when the commit is made; it gives the lag
// recorded in the partition's lag window (a negative value records nothing).
type OffsetCommit struct {
	TopicPartition
	Offset        int64
	HighWatermark int64
}

// State is the group state reported by Describe and the REST API.
type State string

// Group states.
const (
	// StateEmpty: the group has no members (it may still have offsets).
	StateEmpty State = "empty"
	// StateRebalancing: some partition waits to move because its previous
	// owner has not yet observed the generation that took it away.
	StateRebalancing State = "rebalancing"
	// StateStable: every member holds its whole target assignment.
	StateStable State = "stable"
)
