package metadata

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Apply decodes and applies the log entry at index. It is a deterministic
// function of the state and the entry: every broker applying the same log
// holds the same state.
//
// Version becomes index whether or not the command is accepted. A refused
// or undecodable entry changes nothing else, and the error (wrapping one
// of the package's sentinels) says why; it is the entry's response to its
// proposer. An index not after Version is ErrOutOfOrder and changes
// nothing at all.
func (s *State) Apply(index uint64, cmd []byte) error {
	if err := s.advance(index); err != nil {
		return err
	}
	c, err := Decode(cmd)
	if err != nil {
		return err
	}
	return c.apply(s, index)
}

// ApplyCommand applies an already decoded command at index, with Apply's
// rules. A proposer may check a command against a Clone with it before
// proposing it. c's slices and maps are copied, never kept.
func (s *State) ApplyCommand(index uint64, c Command) error {
	if err := s.advance(index); err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("%w: nil command", ErrInvalid)
	}
	return c.apply(s, index)
}

func (s *State) advance(index uint64) error {
	if index <= s.Version {
		return fmt.Errorf("%w: index %d, version %d", ErrOutOfOrder, index, s.Version)
	}
	s.Version = index
	return nil
}

func (c SetClusterID) apply(s *State, _ uint64) error {
	switch {
	case c.ClusterID == "":
		return fmt.Errorf("%w: empty cluster id", ErrInvalid)
	case s.ClusterID == c.ClusterID:
		return nil
	case s.ClusterID != "":
		return fmt.Errorf("%w: the log names cluster %q, not %q", ErrClusterIDSet, s.ClusterID, c.ClusterID)
	}
	s.ClusterID = c.ClusterID
	return nil
}

func (c RegisterBroker) apply(s *State, index uint64) error {
	switch {
	case c.ID < 0:
		return fmt.Errorf("%w: broker id %d is negative", ErrInvalid, c.ID)
	case c.HTTPAddr == "" || c.Incarnation == "":
		return fmt.Errorf("%w: broker %d: empty address or incarnation", ErrInvalid, c.ID)
	}
	b, ok := s.Brokers[c.ID]
	if !ok {
		s.Brokers[c.ID] = &Broker{ID: c.ID, HTTPAddr: c.HTTPAddr, Incarnation: c.Incarnation, Registered: index}
		return nil
	}
	if b.Incarnation == c.Incarnation {
		b.HTTPAddr = c.HTTPAddr
		return nil
	}
	changes, err := s.dropFromISRs(c.ID)
	if err != nil {
		return fmt.Errorf("%w: broker %d: %w", ErrInvalid, c.ID, err)
	}
	for _, ch := range changes {
		s.Topics[ch.topic].Partitions[ch.partition] = ch.to
	}
	*b = Broker{ID: c.ID, HTTPAddr: c.HTTPAddr, Incarnation: c.Incarnation, Registered: index}
	return nil
}

// partitionChange is a partition's new value, computed before any is
// written so that a refusal changes nothing.
type partitionChange struct {
	topic     string
	partition int
	to        Partition
}

// dropFromISRs computes the changes a wiped broker's return makes: out of
// every ISR with another member, and if it led there, leadership to the
// first remaining ISR member in replica order with the next leader epoch.
// Where it is the ISR's only member it stays (and leads, if it led): the
// data is gone either way, and an ISR is never empty under a leader.
func (s *State) dropFromISRs(id int32) ([]partitionChange, error) {
	var changes []partitionChange
	for _, name := range s.TopicNames() {
		for i, p := range s.Topics[name].Partitions {
			if !p.InISR(id) || len(p.ISR) == 1 {
				continue
			}
			to := p.Clone()
			to.ISR = slices.DeleteFunc(to.ISR, func(m int32) bool { return m == id })
			if p.Leader == id {
				to.Leader = firstInISR(to.Replicas, to.ISR)
				if to.LeaderEpoch == math.MaxInt32 {
					return nil, fmt.Errorf("%s/%d: leader epoch exhausted", name, i)
				}
				to.LeaderEpoch++
			}
			if to.PartitionEpoch == math.MaxInt32 {
				return nil, fmt.Errorf("%s/%d: partition epoch exhausted", name, i)
			}
			to.PartitionEpoch++
			changes = append(changes, partitionChange{topic: name, partition: i, to: to})
		}
	}
	return changes, nil
}

// firstInISR is the first replica, in replica order, that is in isr.
func firstInISR(replicas, isr []int32) int32 {
	for _, r := range replicas {
		if slices.Contains(isr, r) {
			return r
		}
	}
	return NoLeader
}

func (c UnregisterBroker) apply(s *State, _ uint64) error {
	if _, ok := s.Brokers[c.ID]; !ok {
		return fmt.Errorf("%w: %d", ErrBrokerNotFound, c.ID)
	}
	for _, name := range s.TopicNames() {
		for i, p := range s.Topics[name].Partitions {
			if p.HasReplica(c.ID) {
				return fmt.Errorf("%w: broker %d holds a replica of %s/%d", ErrBrokerInUse, c.ID, name, i)
			}
		}
	}
	delete(s.Brokers, c.ID)
	return nil
}

func (c CreateTopic) apply(s *State, _ uint64) error {
	t := c.Topic.Clone()
	if _, ok := s.Topics[t.Name]; ok {
		return fmt.Errorf("%w: %q", ErrTopicExists, t.Name)
	}
	if other, ok := s.TopicByID(t.ID); ok {
		return fmt.Errorf("%w: id %d already names topic %q", ErrTopicExists, t.ID, other.Name)
	}
	if t.CreatedMs < 0 {
		return fmt.Errorf("%w: topic %q: negative creation time", ErrInvalid, t.Name)
	}
	if err := s.checkTopic(t, false); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s.Topics[t.Name] = t
	return nil
}

func (c UpdateTopic) apply(s *State, _ uint64) error {
	cur, err := s.topic(c.Name, c.ID)
	if err != nil {
		return err
	}
	if len(cur.Partitions)+len(c.AddPartitions) > maxPartitions {
		return fmt.Errorf("%w: topic %q: %d partitions, more than %d", ErrInvalid, c.Name, len(cur.Partitions)+len(c.AddPartitions), maxPartitions)
	}
	if _, empty := c.Config[""]; empty {
		return fmt.Errorf("%w: topic %q: empty config key", ErrInvalid, c.Name)
	}
	for i, p := range c.AddPartitions {
		if err := s.checkPartition(p, cur.ReplicationFactor, false); err != nil {
			return fmt.Errorf("%w: topic %q new partition %d: %w", ErrInvalid, c.Name, len(cur.Partitions)+i, err)
		}
	}
	next := *cur
	if c.Config != nil {
		next.Config = maps.Clone(c.Config)
	}
	next.Partitions = slices.Clip(cur.Partitions)
	for _, p := range c.AddPartitions {
		next.Partitions = append(next.Partitions, p.Clone())
	}
	*cur = next
	return nil
}

func (c DeleteTopic) apply(s *State, _ uint64) error {
	if _, err := s.topic(c.Name, c.ID); err != nil {
		return err
	}
	delete(s.Topics, c.Name)
	return nil
}

// topic returns the named topic if id is its id.
func (s *State) topic(name string, id uint64) (*Topic, error) {
	t, ok := s.Topics[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %q", ErrTopicNotFound, name)
	case t.ID != id:
		return nil, fmt.Errorf("%w: %q has id %d, not %d", ErrTopicNotFound, name, t.ID, id)
	}
	return t, nil
}

func (c ChangePartition) apply(s *State, _ uint64) error {
	t, err := s.topic(c.Topic, c.TopicID)
	if err != nil {
		return err
	}
	if c.Partition < 0 || int(c.Partition) >= len(t.Partitions) {
		return fmt.Errorf("%w: %s has no partition %d", ErrInvalid, c.Topic, c.Partition)
	}
	p := &t.Partitions[c.Partition]
	where := fmt.Sprintf("%s/%d", c.Topic, c.Partition)
	switch {
	case c.ExpectPartitionEpoch != p.PartitionEpoch:
		return fmt.Errorf("%w: %s: partition epoch is %d, not %d", ErrStaleEpoch, where, p.PartitionEpoch, c.ExpectPartitionEpoch)
	case c.LeaderEpoch < p.LeaderEpoch:
		return fmt.Errorf("%w: %s: leader epoch %d is below %d", ErrStaleEpoch, where, c.LeaderEpoch, p.LeaderEpoch)
	case c.Leader != p.Leader && c.LeaderEpoch == p.LeaderEpoch:
		return fmt.Errorf("%w: %s: leader %d -> %d needs a leader epoch above %d", ErrInvalid, where, p.Leader, c.Leader, p.LeaderEpoch)
	case p.PartitionEpoch == math.MaxInt32:
		return fmt.Errorf("%w: %s: partition epoch exhausted", ErrInvalid, where)
	}
	if err := checkLeadership(p.Replicas, c.Leader, c.ISR, true); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, where, err)
	}
	p.Leader, p.ISR, p.LeaderEpoch = c.Leader, cloneIDs(c.ISR), c.LeaderEpoch
	p.PartitionEpoch++
	return nil
}
