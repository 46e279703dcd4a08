package metadata

import (
	"fmt"

	"github.com/go-json-experiment/json"
)

// snapshotVersion is the snapshot format MarshalBinary writes and Restore
// reads.
const snapshotVersion = 1

// snapshotV1 is the version 1 snapshot: brokers sorted by id, topics by
// name, so that equal states encode to equal bytes.
type snapshotV1 struct {
	V         int      `json:"v"`
	ClusterID string   `json:"cluster_id"`
	Version   uint64   `json:"version"`
	Brokers   []Broker `json:"brokers"`
	Topics    []*Topic `json:"topics"`
}

// MarshalBinary encodes the state as a snapshot (see the package doc).
// Equal states give equal bytes.
func (s *State) MarshalBinary() ([]byte, error) {
	snap := snapshotV1{V: snapshotVersion, ClusterID: s.ClusterID, Version: s.Version,
		Brokers: make([]Broker, 0, len(s.Brokers)), Topics: make([]*Topic, 0, len(s.Topics))}
	for _, id := range s.BrokerIDs() {
		snap.Brokers = append(snap.Brokers, *s.Brokers[id])
	}
	for _, name := range s.TopicNames() {
		snap.Topics = append(snap.Topics, s.Topics[name])
	}
	b, err := json.Marshal(snap, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("metadata: encode snapshot: %w", err)
	}
	return b, nil
}

// Restore decodes a snapshot MarshalBinary wrote. It is as strict as
// Decode, refuses duplicate brokers or topics, and checks the result with
// Validate; every error wraps ErrSnapshot.
func Restore(b []byte) (*State, error) {
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if head.V != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d (this broker reads %d)", ErrSnapshot, head.V, snapshotVersion)
	}
	var snap snapshotV1
	if err := unmarshalStrict(b, &snap); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	s := New()
	s.ClusterID, s.Version = snap.ClusterID, snap.Version
	for _, br := range snap.Brokers {
		if _, dup := s.Brokers[br.ID]; dup {
			return nil, fmt.Errorf("%w: broker %d twice", ErrSnapshot, br.ID)
		}
		s.Brokers[br.ID] = &br
	}
	for _, t := range snap.Topics {
		if t == nil {
			return nil, fmt.Errorf("%w: null topic", ErrSnapshot)
		}
		if _, dup := s.Topics[t.Name]; dup {
			return nil, fmt.Errorf("%w: topic %q twice", ErrSnapshot, t.Name)
		}
		s.Topics[t.Name] = t
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	return s, nil
}
