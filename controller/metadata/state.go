package metadata

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Sentinel errors. Every error Apply, Decode and Restore return wraps one of
// them, and the wrapping message says what was refused and why.
var (
	// ErrMalformed marks an entry that does not decode: not JSON, trailing
	// data, a wrong type, an unknown, duplicate or missing member.
	ErrMalformed = errors.New("metadata: malformed command")
	// ErrUnsupported marks an entry of a command version or op this build
	// does not know: a newer broker wrote it.
	ErrUnsupported = errors.New("metadata: unsupported command")
	// ErrOutOfOrder marks an entry whose index is not after the state's
	// version. It is the only refusal that leaves Version unchanged.
	ErrOutOfOrder = errors.New("metadata: entry out of order")
	// ErrInvalid marks a command whose content breaks a rule: an empty
	// name, a replica that is not a registered broker, a leader outside
	// the ISR, and so on.
	ErrInvalid = errors.New("metadata: invalid command")
	// ErrClusterIDSet marks a SetClusterID naming a cluster other than the
	// one the log already names.
	ErrClusterIDSet = errors.New("metadata: cluster id already set")
	// ErrBrokerNotFound marks a command naming a broker that is not
	// registered.
	ErrBrokerNotFound = errors.New("metadata: broker not found")
	// ErrBrokerInUse marks an UnregisterBroker for a broker that still
	// holds a replica.
	ErrBrokerInUse = errors.New("metadata: broker in use")
	// ErrTopicExists marks a CreateTopic whose name or id is taken.
	ErrTopicExists = errors.New("metadata: topic already exists")
	// ErrTopicNotFound marks a command naming a topic that does not exist,
	// or a topic id that is not the current one of that name (the topic
	// the proposer saw was deleted, perhaps recreated).
	ErrTopicNotFound = errors.New("metadata: topic not found")
	// ErrStaleEpoch marks a ChangePartition proposed against an older
	// partition epoch, or carrying an older leader epoch.
	ErrStaleEpoch = errors.New("metadata: stale epoch")
	// ErrInvariant marks a state that breaks an invariant (see Validate).
	ErrInvariant = errors.New("metadata: invariant violated")
	// ErrSnapshot marks a snapshot Restore refuses.
	ErrSnapshot = errors.New("metadata: bad snapshot")
)

// NoLeader is Partition.Leader of an offline partition.
const NoLeader int32 = -1

// State is the cluster metadata at one point of the log. A State is
// changed only by Apply (or ApplyCommand); readers share Clones, which
// nobody changes.
type State struct {
	// ClusterID names the cluster; empty until SetClusterID.
	ClusterID string
	// Version is the Raft index of the last applied entry. It advances
	// for rejected entries too, so it always says how far the log has
	// been applied.
	Version uint64
	// Brokers are the registered brokers by id.
	Brokers map[int32]*Broker
	// Topics are the topics by name.
	Topics map[string]*Topic
}

// Broker is a registered broker.
type Broker struct {
	ID       int32  `json:"id"`
	HTTPAddr string `json:"http_addr"`
	// Incarnation names the broker's data dir; a new one means an empty
	// disk.
	Incarnation string `json:"incarnation"`
	// Registered is the version at which this incarnation registered.
	Registered uint64 `json:"registered"`
}

// Topic is one topic, its identity, configuration and partitions.
type Topic struct {
	Name string `json:"name"`
	// ID is nonzero and never reused while the topic exists; a topic
	// deleted and created again under its name gets a new one.
	ID                uint64 `json:"id"`
	Internal          bool   `json:"internal"`
	ReplicationFactor int32  `json:"replication_factor"`
	// Config is the full effective configuration, as the proposer
	// resolved it; the state machine does not interpret it.
	Config    map[string]int64 `json:"config"`
	CreatedMs int64            `json:"created_ms"`
	// Partitions are indexed by partition number; they are only ever
	// added.
	Partitions []Partition `json:"partitions"`
}

// Partition is the placement and leadership of one partition.
type Partition struct {
	// Replicas are the brokers holding the partition, distinct; the first
	// is the preferred leader. There are ReplicationFactor of them.
	Replicas []int32 `json:"replicas"`
	// Leader is the broker that appends, or NoLeader when offline.
	Leader int32 `json:"leader"`
	// LeaderEpoch grows with every leader change.
	LeaderEpoch int32 `json:"leader_epoch"`
	// ISR are the replicas in sync with the leader, the leader included.
	ISR []int32 `json:"isr"`
	// PartitionEpoch grows with every leader, ISR or replica change (Kafka's
	// partition epoch); a ChangePartition names the one it was computed
	// from, which fences stale alter-ISR proposals.
	PartitionEpoch int32 `json:"partition_epoch"`
}

// New returns the empty state at version 0, before the first entry.
func New() *State {
	return &State{Brokers: map[int32]*Broker{}, Topics: map[string]*Topic{}}
}

// Clone returns a deep copy of s: changing either afterwards leaves the
// other as it was.
func (s *State) Clone() *State {
	c := &State{ClusterID: s.ClusterID, Version: s.Version,
		Brokers: make(map[int32]*Broker, len(s.Brokers)), Topics: make(map[string]*Topic, len(s.Topics))}
	for id, b := range s.Brokers {
		bc := *b
		c.Brokers[id] = &bc
	}
	for name, t := range s.Topics {
		c.Topics[name] = t.Clone()
	}
	return c
}

// Clone returns a deep copy of t. Nil maps and slices come back empty, not
// nil, as the state machine stores them.
func (t *Topic) Clone() *Topic {
	c := *t
	c.Config = maps.Clone(t.Config)
	if c.Config == nil {
		c.Config = map[string]int64{}
	}
	c.Partitions = make([]Partition, len(t.Partitions))
	for i, p := range t.Partitions {
		c.Partitions[i] = p.Clone()
	}
	return &c
}

// Clone returns a deep copy of p.
func (p Partition) Clone() Partition {
	p.Replicas = cloneIDs(p.Replicas)
	p.ISR = cloneIDs(p.ISR)
	return p
}

// HasReplica reports whether broker id holds a replica of p.
func (p Partition) HasReplica(id int32) bool { return slices.Contains(p.Replicas, id) }

// InISR reports whether broker id is in p's ISR.
func (p Partition) InISR(id int32) bool { return slices.Contains(p.ISR, id) }

// cloneIDs copies ids into a new, never nil, slice.
func cloneIDs(ids []int32) []int32 { return append(make([]int32, 0, len(ids)), ids...) }

// TopicByID returns the topic with id, scanning the topics.
func (s *State) TopicByID(id uint64) (*Topic, bool) {
	if id == 0 {
		return nil, false
	}
	for _, t := range s.Topics {
		if t.ID == id {
			return t, true
		}
	}
	return nil, false
}

// Partition returns partition p of the named topic. The slices it holds
// are the state's: callers must not change them.
func (s *State) Partition(topic string, p int32) (Partition, bool) {
	t, ok := s.Topics[topic]
	if !ok || p < 0 || int(p) >= len(t.Partitions) {
		return Partition{}, false
	}
	return t.Partitions[p], true
}

// BrokerIDs returns the registered brokers' ids, sorted.
func (s *State) BrokerIDs() []int32 {
	return slices.Sorted(maps.Keys(s.Brokers))
}

// TopicNames returns the topics' names, sorted.
func (s *State) TopicNames() []string {
	return slices.Sorted(maps.Keys(s.Topics))
}

// Validate checks the invariants every state the machine produces keeps:
// brokers and topics keyed by their own id and name; broker ids >= 0 with
// an address and an incarnation, registered no later than Version; topic
// ids nonzero and distinct; at least one partition each; replicas
// ReplicationFactor distinct registered brokers; ISR distinct and within
// the replicas; the leader in the ISR unless NoLeader; epochs >= 0. The
// error wraps ErrInvariant.
func (s *State) Validate() error {
	if s.Brokers == nil || s.Topics == nil {
		return fmt.Errorf("%w: nil broker or topic map", ErrInvariant)
	}
	for id, b := range s.Brokers {
		if err := checkBroker(id, b, s.Version); err != nil {
			return fmt.Errorf("%w: %w", ErrInvariant, err)
		}
	}
	ids := make(map[uint64]string, len(s.Topics))
	for _, name := range s.TopicNames() {
		t := s.Topics[name]
		if t == nil || t.Name != name {
			return fmt.Errorf("%w: topic %q stored under another name", ErrInvariant, name)
		}
		if other, dup := ids[t.ID]; dup {
			return fmt.Errorf("%w: topics %q and %q share id %d", ErrInvariant, other, name, t.ID)
		}
		ids[t.ID] = name
		if err := s.checkTopic(t, true); err != nil {
			return fmt.Errorf("%w: %w", ErrInvariant, err)
		}
	}
	return nil
}

func checkBroker(key int32, b *Broker, version uint64) error {
	switch {
	case b == nil || b.ID != key:
		return fmt.Errorf("broker %d stored under another id", key)
	case b.ID < 0:
		return fmt.Errorf("broker id %d is negative", b.ID)
	case b.HTTPAddr == "" || b.Incarnation == "":
		return fmt.Errorf("broker %d has no address or incarnation", b.ID)
	case b.Registered > version:
		return fmt.Errorf("broker %d registered at %d, after version %d", b.ID, b.Registered, version)
	}
	return nil
}

// checkTopic checks one topic's own rules against the registered brokers.
// A topic being created or extended must have a leader for every new
// partition; a stored one may have offline partitions.
func (s *State) checkTopic(t *Topic, allowOffline bool) error {
	switch {
	case t.Name == "":
		return errors.New("empty topic name")
	case t.ID == 0:
		return fmt.Errorf("topic %q: id 0", t.Name)
	case t.ReplicationFactor < 1:
		return fmt.Errorf("topic %q: replication factor %d", t.Name, t.ReplicationFactor)
	case len(t.Partitions) == 0:
		return fmt.Errorf("topic %q: no partitions", t.Name)
	case len(t.Partitions) > maxPartitions:
		return fmt.Errorf("topic %q: %d partitions, more than %d", t.Name, len(t.Partitions), maxPartitions)
	}
	for k := range t.Config {
		if k == "" {
			return fmt.Errorf("topic %q: empty config key", t.Name)
		}
	}
	for i, p := range t.Partitions {
		if err := s.checkPartition(p, t.ReplicationFactor, allowOffline); err != nil {
			return fmt.Errorf("topic %q partition %d: %w", t.Name, i, err)
		}
	}
	return nil
}

// maxPartitions bounds a topic's partition count, so that partition
// numbers fit an int32.
const maxPartitions = 1 << 20

func (s *State) checkPartition(p Partition, rf int32, allowOffline bool) error {
	if len(p.Replicas) != int(rf) {
		return fmt.Errorf("%d replicas %v for replication factor %d", len(p.Replicas), p.Replicas, rf)
	}
	for i, id := range p.Replicas {
		if _, ok := s.Brokers[id]; !ok {
			return fmt.Errorf("replica %d is not a registered broker", id)
		}
		if slices.Contains(p.Replicas[:i], id) {
			return fmt.Errorf("replica %d listed twice in %v", id, p.Replicas)
		}
	}
	if p.LeaderEpoch < 0 || p.PartitionEpoch < 0 {
		return fmt.Errorf("negative epoch (leader epoch %d, partition epoch %d)", p.LeaderEpoch, p.PartitionEpoch)
	}
	return checkLeadership(p.Replicas, p.Leader, p.ISR, allowOffline)
}

// checkLeadership checks a leader and ISR against the replicas: the ISR
// distinct and within the replicas, the leader in it, or NoLeader when
// allowed.
func checkLeadership(replicas []int32, leader int32, isr []int32, allowOffline bool) error {
	for i, id := range isr {
		if !slices.Contains(replicas, id) {
			return fmt.Errorf("ISR member %d is not a replica %v", id, replicas)
		}
		if slices.Contains(isr[:i], id) {
			return fmt.Errorf("ISR member %d listed twice in %v", id, isr)
		}
	}
	switch {
	case leader == NoLeader && allowOffline:
		return nil
	case leader == NoLeader:
		return errors.New("no leader")
	case !slices.Contains(isr, leader):
		return fmt.Errorf("leader %d not in ISR %v", leader, isr)
	}
	return nil
}
