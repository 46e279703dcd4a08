package engine

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/fjord-streaming/fjord/storage"
)

// Engine holds a broker's topics and partitions and serves produce, fetch
// and topic administration. Create it with Open, start background work with
// Run, and stop with Close.
type Engine struct {
	cfg     Config
	db      *storage.DB
	metrics *metrics
	// recent bounds the newest batches all partitions keep in memory.
	recent *recentBudget

	clusterID string
	// env is shared by every partition.
	env *partitionEnv
	// admin decides topic changes; nil makes this engine a one-broker
	// cluster that decides them itself (SetCluster).
	admin Admin

	// adminMu serializes applying topic changes.
	adminMu sync.Mutex
	// mu guards topics, version, versionCh, onDelete and onChange.
	mu     sync.RWMutex
	topics map[string]*Topic
	// byID indexes topics by id, for the replica fetch path (addTopic).
	byID    map[uint64]*Topic
	version int64
	// versionCh is closed and replaced whenever version changes.
	versionCh chan struct{}
	// fetchers are the follower's replica fetch streams (follower.go).
	fetchers *fetchers
	// onLead are the OnLeadershipChanged hooks; led is what this broker
	// led after the last metadata change (leadership.go), under adminMu.
	onLead   []func(topic string, partition int32, leading bool)
	led      map[partitionKey]bool
	onDelete []func(topic string)
	onChange []func(topic string, partitions int32)

	// bg tracks background appends (acks=0) and loops.
	bg     sync.WaitGroup
	closed chan struct{}
	once   sync.Once
}

// Open loads every topic from db.
func Open(db *storage.DB, cfg Config) (*Engine, error) {
	cfg.EnsureDefaults()
	e := &Engine{cfg: cfg, db: db, recent: newRecentBudget(recentBudgetBytes), topics: map[string]*Topic{},
		byID:   map[uint64]*Topic{},
		closed: make(chan struct{}), versionCh: make(chan struct{})}
	e.env = &partitionEnv{self: cfg.BrokerID, db: db, budget: e.recent, stop: e.closed, bg: &e.bg, log: cfg.Logger}
	e.fetchers = &fetchers{e: e}
	e.metrics = newMetrics(cfg.Registerer, e)
	hwStart, err := loadCheckpoint(db)
	if err != nil {
		return nil, err
	}
	e.env.hwStart = hwStart
	id, err := db.GetMeta("cluster_id")
	if err != nil {
		return nil, err
	}
	if id == nil {
		var b [16]byte
		for i := range b {
			b[i] = byte(rand.Uint32())
		}
		id = []byte(hex.EncodeToString(b[:]))
		if err := db.PutMeta("cluster_id", id); err != nil {
			return nil, err
		}
	}
	e.clusterID = string(id)
	if v, err := db.GetMeta("metadata_version"); err != nil {
		return nil, err
	} else if v != nil {
		e.version, _ = strconv.ParseInt(string(v), 10, 64)
	}
	err = db.ScanMeta("topic/", func(name string, value []byte) error {
		var m topicMeta
		if err := json.Unmarshal(value, &m); err != nil {
			return fmt.Errorf("%w: %s: %v", storage.ErrCorrupt, name, err)
		}
		md := m.metadata(cfg.BrokerID)
		parts, err := e.openPartitions(m.Name, m.ID, 0, md.Partitions)
		if err != nil {
			return err
		}
		e.addTopic(newTopic(metaOf(md), parts))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine: load topics: %w", err)
	}
	return e, nil
}

// ClusterID is the id made when the data directory was formatted, or the
// cluster's once SetClusterID was called.
func (e *Engine) ClusterID() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.clusterID
}

// SetClusterID takes the id of the cluster this broker belongs to.
func (e *Engine) SetClusterID(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clusterID = id
}

// SetCluster makes the engine a member of a cluster: admin decides topic
// changes, and remote reaches partitions led by other brokers. Call it
// before serving.
func (e *Engine) SetCluster(admin Admin, remote Remote) {
	e.admin = admin
	e.env.remote = remote
}

// SetReplication makes the engine replicate: leaders send ISR changes to
// isr, and followers fetch from their leaders, presenting incarnation. Call
// it with SetCluster, before any metadata is applied.
func (e *Engine) SetReplication(isr ISRChanger, incarnation string) {
	e.env.isr = isr
	e.env.incarnation = incarnation
}

// BrokerID is this broker's id.
func (e *Engine) BrokerID() int32 { return e.cfg.BrokerID }

// MetadataVersion increases with every topic change: in a cluster it is the
// index of the metadata log entry applied last.
func (e *Engine) MetadataVersion() int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.version
}

// OnTopicDeleted registers fn to run after a topic is deleted (for example
// to drop group offsets).
func (e *Engine) OnTopicDeleted(fn func(topic string)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onDelete = append(e.onDelete, fn)
}

// OnTopicChanged registers fn to run after a topic is created or updated,
// with its partition count (for example so consumer groups follow added
// partitions). Hooks run one at a time, under topic administration: they
// must not create, update or delete topics.
func (e *Engine) OnTopicChanged(fn func(topic string, partitions int32)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onChange = append(e.onChange, fn)
}

// topicChanged runs the OnTopicChanged hooks. adminMu must be held.
func (e *Engine) topicChanged(topic string, partitions int32) {
	e.mu.RLock()
	hooks := append([]func(string, int32){}, e.onChange...)
	e.mu.RUnlock()
	for _, h := range hooks {
		h(topic, partitions)
	}
}

// Run runs background work (retention) until ctx ends or Close is called.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.RetentionInterval)
	defer t.Stop()
	isr := time.NewTicker(isrCheckInterval)
	defer isr.Stop()
	cp := time.NewTicker(checkpointInterval)
	defer cp.Stop()
	defer e.saveCheckpoint()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.closed:
			return
		case <-t.C:
			e.ApplyRetention()
		case <-isr.C:
			e.checkISRs()
		case <-cp.C:
			e.saveCheckpoint()
		}
	}
}

// ApplyRetention runs one retention pass over every partition.
func (e *Engine) ApplyRetention() {
	now := e.cfg.Now().UnixMilli()
	for _, t := range e.topicList() {
		cfg := t.Config()
		for _, p := range t.Partitions() {
			if _, err := p.applyRetention(cfg, now); err != nil && !isErr(err, ErrNotLeader) {
				e.cfg.Logger.Error("retention failed", "topic", t.Name(), "partition", p.index, "err", err)
			}
		}
	}
}

// StopWaiters makes every long poll, current and future, answer at once;
// call it first when shutting down.
func (e *Engine) StopWaiters() { e.once.Do(func() { close(e.closed) }) }

// Stopping is closed once StopWaiters was called.
func (e *Engine) Stopping() <-chan struct{} { return e.closed }

// Close stops waiters and waits for background appends (acks=0). It does
// not close the storage.
func (e *Engine) Close() {
	e.StopWaiters()
	e.fetchers.stop()
	e.bg.Wait()
	e.saveCheckpoint()
}

func (e *Engine) topicList() []*Topic {
	e.mu.RLock()
	defer e.mu.RUnlock()
	ts := make([]*Topic, 0, len(e.topics))
	for _, t := range e.topics {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

// Topic returns the named topic or ErrTopicNotFound.
func (e *Engine) Topic(name string) (*Topic, error) {
	e.mu.RLock()
	t := e.topics[name]
	e.mu.RUnlock()
	if t == nil {
		return nil, fmt.Errorf("%w: topic %q does not exist", ErrTopicNotFound, name)
	}
	return t, nil
}

// Partition returns one partition of a topic.
func (e *Engine) Partition(topic string, partition int32) (*Partition, error) {
	t, err := e.Topic(topic)
	if err != nil {
		return nil, err
	}
	return t.Partition(partition)
}

// Topics describes every topic, sorted by name.
func (e *Engine) Topics(includeInternal bool) []TopicInfo {
	var out []TopicInfo
	for _, t := range e.topicList() {
		if includeInternal || !IsInternalTopic(t.name) {
			out = append(out, t.info(false))
		}
	}
	return out
}

// DescribeTopic describes one topic.
func (e *Engine) DescribeTopic(name string) (TopicInfo, error) {
	t, err := e.Topic(name)
	if err != nil {
		return TopicInfo{}, err
	}
	return t.info(true), nil
}
