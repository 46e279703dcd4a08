package engine

import (
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/fjord-streaming/fjord/engine/partitioner"
)

var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

// ValidateTopicName checks a user-supplied topic name: `[A-Za-z0-9._-]{1,249}`,
// not "." or "..", and not starting with "__" (reserved for internal topics).
func ValidateTopicName(name string) error {
	if !topicNameRE.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("%w: %q must match [A-Za-z0-9._-]{1,249} and not be \".\" or \"..\"", ErrInvalidTopicName, name)
	}
	if IsInternalTopic(name) {
		return fmt.Errorf("%w: %q: names starting with \"__\" are reserved", ErrInvalidTopicName, name)
	}
	return nil
}

// userTopic refuses writes and changes to the broker's internal topics
// (names starting with "__", such as __consumer_offsets); they stay readable.
func userTopic(name string) error {
	if IsInternalTopic(name) {
		return fmt.Errorf("%w: %q is internal to the broker: it can be read but not written, changed or deleted", ErrInvalidTopicName, name)
	}
	return nil
}

// IsInternalTopic reports whether name belongs to the broker (starts with "__").
func IsInternalTopic(name string) bool { return len(name) >= 2 && name[:2] == "__" }

// topicMeta is a topic's persisted definition.
type topicMeta struct {
	Name              string      `json:"name"`
	ID                uint64      `json:"id"`
	Partitions        int32       `json:"partitions"`
	ReplicationFactor int32       `json:"replication_factor"`
	Config            TopicConfig `json:"config"`
	CreatedMs         int64       `json:"created_ms"`
	// Placements are the partitions' placements as last applied from the
	// metadata log; absent in topics written before clustering, whose
	// partitions live on this broker alone.
	Placements []Placement `json:"placements,omitempty"`
}

// metadata returns m as the metadata log would describe it, filling the
// placements of a topic written before clustering with this broker.
func (m topicMeta) metadata(self int32) TopicMetadata {
	md := TopicMetadata{Name: m.Name, ID: m.ID, ReplicationFactor: m.ReplicationFactor, Config: m.Config,
		CreatedMs: m.CreatedMs, Partitions: m.Placements}
	if len(md.Partitions) != int(m.Partitions) {
		md.Partitions = make([]Placement, m.Partitions)
		for i := range md.Partitions {
			md.Partitions[i] = Placement{Replicas: []int32{self}, Leader: self, ISR: []int32{self}}
		}
	}
	return md
}

func metaOf(md TopicMetadata) topicMeta {
	return topicMeta{Name: md.Name, ID: md.ID, Partitions: int32(len(md.Partitions)), ReplicationFactor: md.ReplicationFactor,
		Config: md.Config, CreatedMs: md.CreatedMs, Placements: md.Partitions}
}

// Topic is one topic incarnation: a fixed id and a growing set of partitions.
type Topic struct {
	// sticky rotates keyless produce requests over this topic's partitions.
	sticky *partitioner.Sticky
	// name and id never change: a topic recreated under the same name is a
	// new Topic.
	name string
	id   uint64
	// mu guards meta and parts.
	mu    sync.RWMutex
	meta  topicMeta
	parts []*Partition
}

func newTopic(m topicMeta, parts []*Partition) *Topic {
	return &Topic{sticky: partitioner.NewSticky(), name: m.Name, id: m.ID, meta: m, parts: parts}
}

// Name is the topic's name.
func (t *Topic) Name() string { return t.name }

// ID is the topic's incarnation id.
func (t *Topic) ID() uint64 { return t.id }

// Partition returns partition i, or ErrPartitionNotFound.
func (t *Topic) Partition(i int32) (*Partition, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if i < 0 || int(i) >= len(t.parts) {
		return nil, fmt.Errorf("%w: %s has no partition %d", ErrPartitionNotFound, t.name, i)
	}
	return t.parts[i], nil
}

// Partitions returns the current partitions.
func (t *Topic) Partitions() []*Partition {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]*Partition(nil), t.parts...)
}

// Config returns the effective configuration.
func (t *Topic) Config() TopicConfig {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.meta.Config
}

// TopicInfo describes a topic for the API.
type TopicInfo struct {
	Name              string
	ReplicationFactor int32
	Internal          bool
	Config            TopicConfig
	Partitions        []PartitionInfo
}

// PartitionInfo describes one partition's placement and offsets.
type PartitionInfo struct {
	Partition int32
	Leader    int32
	Replicas  []int32
	ISR       []int32
	// Offsets are the leader's; LeaderEpoch is the metadata log's.
	Offsets
}

// info describes the topic. With leaderOffsets, the offsets of partitions
// led elsewhere are asked of their leaders (concurrently); without, only
// the partitions this broker leads carry offsets.
func (t *Topic) info(leaderOffsets bool) TopicInfo {
	t.mu.RLock()
	ti := TopicInfo{Name: t.meta.Name, ReplicationFactor: t.meta.ReplicationFactor,
		Internal: IsInternalTopic(t.meta.Name), Config: t.meta.Config}
	parts := append([]*Partition(nil), t.parts...)
	t.mu.RUnlock()
	ti.Partitions = make([]PartitionInfo, len(parts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	deadline := time.Now().Add(describeWait)
	for i, p := range parts {
		pl := p.Placement()
		pi := &ti.Partitions[i]
		*pi = PartitionInfo{Partition: p.index, Leader: pl.Leader, Replicas: pl.Replicas, ISR: pl.ISR}
		if p.Leading() {
			pi.Offsets = p.LocalOffsets()
		} else if leaderOffsets && pl.Leader >= 0 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				pi.Offsets = offsetsBefore(p, deadline)
			}()
		}
	}
	wg.Wait()
	for i := range ti.Partitions {
		ti.Partitions[i].LeaderEpoch = parts[i].Placement().LeaderEpoch
	}
	return ti
}

// describeWait bounds how long a description waits for its leaders'
// offsets, all partitions together, before it shows this broker's own
// replicas' (a leader that is paused or unreachable must not hold up a
// metadata answer for remoteCallTimeout, nor for that per partition).
const describeWait = 2 * time.Second

// offsetsBefore is p.Offsets, or this broker's own replica's offsets when
// the leader has not answered by deadline. The leader call ends by itself,
// bounded by remoteCallTimeout.
func offsetsBefore(p *Partition, deadline time.Time) Offsets {
	d := time.Until(deadline)
	if d <= 0 {
		return p.LocalOffsets()
	}
	ch := make(chan Offsets, 1)
	go func() { ch <- p.Offsets() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case o := <-ch:
		return o
	case <-t.C:
		return p.LocalOffsets()
	}
}

func metaName(name string) string { return "topic/" + name }

// openPartitions opens partitions [from, len(places)) of topic name, whose
// id is id.
func (e *Engine) openPartitions(name string, id uint64, from int32, places []Placement) ([]*Partition, error) {
	var parts []*Partition
	for i := from; i < int32(len(places)); i++ {
		p, err := openPartition(e.env, name, id, i, places[i])
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}
