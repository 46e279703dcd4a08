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

	// adminMu serializes topic administration (create, patch, delete).
	adminMu sync.Mutex
	// mu guards topics, version, onDelete and onChange.
	mu       sync.RWMutex
	topics   map[string]*Topic
	version  int64
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
	e := &Engine{cfg: cfg, db: db, recent: newRecentBudget(recentBudgetBytes), topics: map[string]*Topic{}, closed: make(chan struct{})}
	e.metrics = newMetrics(cfg.Registerer, e)
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
		parts, err := e.openPartitions(m.Name, m.ID, 0, m.Partitions)
		if err != nil {
			return err
		}
		e.topics[m.Name] = newTopic(m, parts)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine: load topics: %w", err)
	}
	return e, nil
}

// ClusterID is the id made when the data directory was formatted.
func (e *Engine) ClusterID() string { return e.clusterID }

// BrokerID is this broker's id.
func (e *Engine) BrokerID() int32 { return e.cfg.BrokerID }

// MetadataVersion increases with every topic change.
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
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.closed:
			return
		case <-t.C:
			e.ApplyRetention()
		}
	}
}

// ApplyRetention runs one retention pass over every partition.
func (e *Engine) ApplyRetention() {
	now := e.cfg.Now().UnixMilli()
	for _, t := range e.topicList() {
		cfg := t.Config()
		for _, p := range t.Partitions() {
			if _, err := p.applyRetention(cfg, now); err != nil {
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
	e.bg.Wait()
}

func (e *Engine) topicList() []*Topic {
	e.mu.RLock()
	defer e.mu.RUnlock()
	ts := make([]*Topic, 0, len(e.topics))
	for _, t := range e.topics {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].meta.Name < ts[j].meta.Name })
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
		if includeInternal || !IsInternalTopic(t.meta.Name) {
			out = append(out, t.info(e.cfg.BrokerID))
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
	return t.info(e.cfg.BrokerID), nil
}

// TopicSpec is a topic to create. Zero Partitions and ReplicationFactor take defaults.
type TopicSpec struct {
	Name              string
	Partitions        int32
	ReplicationFactor int32
	Config            map[string]int64
	// Internal allows a reserved "__" name; only the broker itself sets it.
	Internal bool
}

// liveBrokers is the number of brokers placement may use.
func (e *Engine) liveBrokers() int32 { return 1 }

// CreateTopic creates a topic with a fresh id.
func (e *Engine) CreateTopic(spec TopicSpec) (TopicInfo, error) {
	if spec.Internal {
		if !IsInternalTopic(spec.Name) {
			return TopicInfo{}, fmt.Errorf("%w: internal topic %q must start with \"__\"", ErrInvalidTopicName, spec.Name)
		}
	} else if err := ValidateTopicName(spec.Name); err != nil {
		return TopicInfo{}, err
	}
	if spec.Partitions == 0 {
		spec.Partitions = e.cfg.DefaultPartitions
	}
	if spec.Partitions < 1 || spec.Partitions > 10000 {
		return TopicInfo{}, fmt.Errorf("%w: partitions must be between 1 and 10000", ErrInvalidRequest)
	}
	live := e.liveBrokers()
	if spec.ReplicationFactor == 0 {
		spec.ReplicationFactor = min(3, live)
	}
	if spec.ReplicationFactor < 1 || spec.ReplicationFactor > live {
		return TopicInfo{}, fmt.Errorf("%w: replication_factor %d must be between 1 and the %d live broker(s)", ErrInvalidRequest, spec.ReplicationFactor, live)
	}
	cfg, err := e.cfg.DefaultTopicConfig.Apply(spec.Config)
	if err != nil {
		return TopicInfo{}, err
	}
	e.adminMu.Lock()
	defer e.adminMu.Unlock()
	if _, err := e.Topic(spec.Name); err == nil {
		return TopicInfo{}, fmt.Errorf("%w: topic %q already exists", ErrTopicExists, spec.Name)
	}
	m := topicMeta{Name: spec.Name, ID: rand.Uint64(), Partitions: spec.Partitions,
		ReplicationFactor: spec.ReplicationFactor, Config: cfg, CreatedMs: e.cfg.Now().UnixMilli()}
	parts, err := e.openPartitions(m.Name, m.ID, 0, m.Partitions)
	if err != nil {
		return TopicInfo{}, err
	}
	t := newTopic(m, parts)
	if err := e.saveTopic(m); err != nil {
		return TopicInfo{}, err
	}
	e.mu.Lock()
	e.topics[m.Name] = t
	e.mu.Unlock()
	e.cfg.Logger.Info("topic created", "topic", m.Name, "partitions", m.Partitions)
	e.topicChanged(m.Name, m.Partitions)
	return t.info(e.cfg.BrokerID), nil
}

// saveTopic persists m and bumps the metadata version. adminMu must be held.
func (e *Engine) saveTopic(m topicMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := e.db.PutMeta(metaName(m.Name), b); err != nil {
		return err
	}
	return e.bumpVersion()
}

func (e *Engine) bumpVersion() error {
	e.mu.Lock()
	e.version++
	v := e.version
	e.mu.Unlock()
	return e.db.PutMeta("metadata_version", []byte(strconv.FormatInt(v, 10)))
}

// TopicUpdate changes a topic: more partitions and/or config keys.
type TopicUpdate struct {
	Partitions *int32
	Config     map[string]int64
}

// UpdateTopic applies u. Fewer partitions is ErrPartitionDecrease.
func (e *Engine) UpdateTopic(name string, u TopicUpdate) (TopicInfo, error) {
	if err := userTopic(name); err != nil {
		return TopicInfo{}, err
	}
	e.adminMu.Lock()
	defer e.adminMu.Unlock()
	t, err := e.Topic(name)
	if err != nil {
		return TopicInfo{}, err
	}
	t.mu.RLock()
	m := t.meta
	t.mu.RUnlock()
	if u.Config != nil {
		if m.Config, err = m.Config.Apply(u.Config); err != nil {
			return TopicInfo{}, err
		}
	}
	var added []*Partition
	if u.Partitions != nil {
		n := *u.Partitions
		switch {
		case n < m.Partitions:
			return TopicInfo{}, fmt.Errorf("%w: %s has %d partitions, asked for %d", ErrPartitionDecrease, name, m.Partitions, n)
		case n > 10000:
			return TopicInfo{}, fmt.Errorf("%w: partitions must be at most 10000", ErrInvalidRequest)
		}
		if added, err = e.openPartitions(m.Name, m.ID, m.Partitions, n); err != nil {
			return TopicInfo{}, err
		}
		m.Partitions = n
	}
	if err := e.saveTopic(m); err != nil {
		return TopicInfo{}, err
	}
	t.mu.Lock()
	t.meta = m
	t.parts = append(t.parts, added...)
	t.mu.Unlock()
	e.topicChanged(m.Name, m.Partitions)
	return t.info(e.cfg.BrokerID), nil
}

// DeleteTopic removes a topic and its data, then runs the OnTopicDeleted hooks.
func (e *Engine) DeleteTopic(name string) error {
	if err := userTopic(name); err != nil {
		return err
	}
	e.adminMu.Lock()
	defer e.adminMu.Unlock()
	t, err := e.Topic(name)
	if err != nil {
		return err
	}
	e.mu.Lock()
	delete(e.topics, name)
	hooks := append([]func(string){}, e.onDelete...)
	e.mu.Unlock()
	for _, p := range t.Partitions() {
		p.close()
	}
	// Wait for in-flight appends to finish before the range deletion.
	for _, p := range t.Partitions() {
		p.writeMu.Lock()
		p.writeMu.Unlock() //nolint:staticcheck // a barrier
	}
	if err := e.db.DeleteTopic(t.meta.ID, metaName(name)); err != nil {
		return err
	}
	if err := e.bumpVersion(); err != nil {
		return err
	}
	e.metrics.dropTopic(name)
	for _, h := range hooks {
		h(name)
	}
	e.cfg.Logger.Info("topic deleted", "topic", name)
	return nil
}

// EnsureTopic returns the named topic, creating it with spec when missing.
func (e *Engine) EnsureTopic(spec TopicSpec) (*Topic, error) {
	if t, err := e.Topic(spec.Name); err == nil {
		return t, nil
	}
	if _, err := e.CreateTopic(spec); err != nil && !isErr(err, ErrTopicExists) {
		return nil, err
	}
	return e.Topic(spec.Name)
}
