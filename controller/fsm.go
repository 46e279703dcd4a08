package controller

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/fjord-streaming/fjord/controller/metadata"
	"github.com/fjord-streaming/fjord/engine"
)

// fsm applies the committed metadata log to this broker: the pure state
// machine of package metadata first, then the engine, which opens, places
// and deletes partitions to match. Readers get immutable snapshots of the
// state (current).
type fsm struct {
	eng *engine.Engine
	log *slog.Logger

	// mu guards state; published is replaced, never changed, after every
	// apply, so readers hold it without a lock.
	mu        sync.Mutex
	state     *metadata.State
	published *metadata.State
	// changed is closed and replaced after every apply.
	changed chan struct{}
	// replaying is true while Raft replays the entries the broker had
	// stored when it started: the engine already holds metadata of a later
	// state, and the states in between would delete the topics created
	// after them. The engine gets the state once the entry at replayUntil,
	// the last command stored at start, is applied.
	replaying   atomic.Bool
	replayUntil uint64
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(eng *engine.Engine, log *slog.Logger) *fsm {
	s := metadata.New()
	return &fsm{eng: eng, log: log, state: s, published: s.Clone(), changed: make(chan struct{})}
}

// current is the metadata as last applied. Callers must not change it.
func (f *fsm) current() *metadata.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.published
}

// applied returns a channel closed at the next apply.
func (f *fsm) applied() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// Apply applies one committed entry. A command the state machine rejects
// (a stale proposal, a name taken meanwhile) changes nothing; its error is
// the entry's response, which the proposer reads.
func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in order, as Apply does, and then
// publishes the state and hands it to the engine once for the batch: a
// failover of thousands of partitions (one entry each) reaches the engine
// in a few steps rather than thousands of whole-state copies. Raft sends
// commands and configuration entries; only commands change the state.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	commands := 0
	f.mu.Lock()
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		commands++
		if err := f.state.Apply(l.Index, l.Data); err != nil {
			out[i] = err
		}
		if l.Index >= f.replayUntil {
			f.replaying.Store(false)
		}
	}
	if commands == 0 {
		f.mu.Unlock()
		return out
	}
	f.publishLocked()
	st := f.published
	f.mu.Unlock()
	f.toEngine(st)
	return out
}

// publishLocked replaces the published snapshot. f.mu must be held.
func (f *fsm) publishLocked() {
	f.published = f.state.Clone()
	close(f.changed)
	f.changed = make(chan struct{})
}

// toEngine hands the state to the engine. Until the log names the cluster
// (its first entries import the topics of a broker that ran alone before),
// the engine keeps what it has.
func (f *fsm) toEngine(st *metadata.State) {
	if st.ClusterID == "" || f.replaying.Load() {
		return
	}
	f.eng.SetClusterID(st.ClusterID)
	if err := f.eng.ApplyMetadata(st.Version, engineTopics(st)); err != nil {
		f.log.Error("applying metadata to the engine", "version", st.Version, "err", err)
	}
}

// engineTopics converts the state's topics for the engine, sorted by name.
func engineTopics(st *metadata.State) []engine.TopicMetadata {
	out := make([]engine.TopicMetadata, 0, len(st.Topics))
	for _, t := range st.Topics {
		out = append(out, engineTopic(t))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func engineTopic(t *metadata.Topic) engine.TopicMetadata {
	cfg, err := engine.TopicConfig{}.Apply(t.Config)
	if err != nil {
		// The proposer validated the keys; a key this broker does not know
		// (a newer broker wrote it) keeps the defaults for the rest.
		cfg, _ = engine.DefaultTopicConfig().Apply(knownKeys(t.Config))
	}
	md := engine.TopicMetadata{Name: t.Name, ID: t.ID, ReplicationFactor: t.ReplicationFactor, Config: cfg,
		CreatedMs: t.CreatedMs, Partitions: make([]engine.Placement, len(t.Partitions))}
	for i, p := range t.Partitions {
		md.Partitions[i] = engine.Placement{Replicas: p.Replicas, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, ISR: p.ISR,
			PartitionEpoch: p.PartitionEpoch}
	}
	return md
}

func knownKeys(cfg map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, k := range engine.ConfigKeys() {
		if v, ok := cfg[k]; ok {
			out[k] = v
		}
	}
	return out
}

// Snapshot captures the state for Raft's log compaction.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	st := f.current()
	b, err := st.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("controller: snapshot: %w", err)
	}
	return snapshot(b), nil
}

// Restore replaces the state with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("controller: restore: %w", err)
	}
	st, err := metadata.Restore(b)
	if err != nil {
		return fmt.Errorf("controller: restore: %w", err)
	}
	f.mu.Lock()
	f.state = st
	if st.Version >= f.replayUntil {
		f.replaying.Store(false)
	}
	f.publishLocked()
	pub := f.published
	f.mu.Unlock()
	f.toEngine(pub)
	return nil
}

// snapshot is an encoded state.
type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s snapshot) Release() {}

// lastCommand is the index of the last command entry in logs, 0 when there
// is none: where a restarted broker's replay ends.
func lastCommand(logs raft.LogStore) (uint64, error) {
	first, err := logs.FirstIndex()
	if err != nil {
		return 0, err
	}
	last, err := logs.LastIndex()
	if err != nil {
		return 0, err
	}
	for i := last; i >= first && i > 0; i-- {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			return 0, err
		}
		if l.Type == raft.LogCommand {
			return i, nil
		}
	}
	return 0, nil
}
